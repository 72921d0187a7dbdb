# shellcheck shell=bash
# vm-tests/lib/payload.sh - guest payload: initramfs pieces and the test disk.
#
# initrd of a guest = base.cpio (same for every kernel) + the kernel's mods.cpio + a tiny
# per-kernel cpio with /boot/config-<release>; the kernel unpacks concatenated newc archives.
# base.cpio:  /init (guest/init), busybox + applet links, /usr/bin/iotrace,
#             /vm-tests/suite.sh, /vm-tests/bin/<workload> for each vm-tests/guest/*.c

# compile_workloads OUTDIR: gcc -static every vm-tests/guest/*.c (only when the source changed)
compile_workloads() {
  local out=$1 c n
  mkdir -p "$out"
  for c in "$VMT_DIR"/guest/*.c; do
    [ -f "$c" ] || continue
    n=$(basename "$c" .c)
    if [ ! -x "$out/$n" ] || [ "$c" -nt "$out/$n" ]; then
      log "compiling workload $n"
      gcc -static -O2 -Wall -o "$out/$n" "$c" || die "gcc -static $c failed"
    fi
  done
}
have_workloads() { compgen -G "$VMT_DIR/guest/*.c" >/dev/null; }

# build_base_cpio BINARY OUT
build_base_cpio() {
  local bin=$1 out=$2 st a
  st=$(mktemp -d "$RESULTS/base.XXXXXX")
  mkdir -p "$st"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,mnt,tmp,run,boot,etc,lib,vm-tests/bin}
  cp /bin/busybox "$st/bin/busybox"
  for a in $(/bin/busybox --list-full); do
    [ "$a" = bin/busybox ] || [ -e "$st/$a" ] || ln -s /bin/busybox "$st/$a"
  done
  # the kernel needs /dev/console before /init runs (it mounts devtmpfs over /dev itself)
  mknod "$st/dev/console" c 5 1 2>/dev/null || true
  mknod "$st/dev/null" c 1 3 2>/dev/null || true
  install -m 755 "$VMT_DIR/guest/init" "$st/init"
  install -m 755 "$VMT_DIR/guest/suite.sh" "$st/vm-tests/suite.sh"
  install -m 755 "$bin" "$st/usr/bin/iotrace"
  if [ -d "$RESULTS/build/workloads" ]; then
    cp -a "$RESULTS/build/workloads/." "$st/vm-tests/bin/"
  fi
  echo "root:x:0:0:root:/root:/bin/sh" > "$st/etc/passwd"
  (cd "$st" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) > "$out"
  rm -rf "$st"
}

# build_initrd KERNELDIR BASE OUT
build_initrd() {
  local kd=$1 base=$2 out=$3 st rel
  rel=$(cat "$kd/release")
  st=$(mktemp -d "$RESULTS/kcpio.XXXXXX")
  mkdir -p "$st/boot"
  # like a normal host: /boot/config-$(uname -r), e.g. for libbpf's kconfig externs
  [ -s "$kd/config" ] && cp "$kd/config" "$st/boot/config-$rel"
  (cd "$st" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) > "$st.cpio"
  cat "$base" "$kd/mods.cpio" "$st.cpio" > "$out"
  rm -rf "$st" "$st.cpio"
}

# make_disk OUT SIZE_MB: empty ext4 image with a feature set every kernel >= 4.14 mounts
# (a private mke2fs.conf, so newer host defaults such as orphan_file never leak in)
make_disk() {
  local out=$1 size=$2 conf=$RESULTS/build/mke2fs.conf
  cat > "$conf" <<'EOC'
[defaults]
	base_features = sparse_super,large_file,filetype,resize_inode,dir_index,ext_attr
	blocksize = 4096
	inode_size = 256
	inode_ratio = 16384
[fs_types]
	ext4 = {
		features = has_journal,extent,huge_file,flex_bg,metadata_csum,64bit,dir_nlink,extra_isize
	}
	small = {
		inode_ratio = 16384
	}
	floppy = {
		inode_ratio = 16384
	}
EOC
  rm -f "$out"; truncate -s "${size}M" "$out"
  MKE2FS_CONFIG=$conf mkfs.ext4 -q -F -L iotvm -E lazy_itable_init=0,lazy_journal_init=0 "$out"
}
