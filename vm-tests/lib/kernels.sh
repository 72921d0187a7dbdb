# shellcheck shell=bash
# vm-tests/lib/kernels.sh - kernel inventory and preparation.
#
# Two sources:
#  * Debian kernels (cloud-amd64 flavour by default), fetched with apt through a private
#    APT_CONFIG under $CACHE/apt: nothing in /etc/apt or /var/lib/apt is read-modified.
#  * Local kernels: every vmlinuz-X with config-X beside it in $KERNELS_DIR.
#
# prepare_kernel LABEL fills $CACHE/kernels/<label>/<id>/ with:
#   boot      the file given to qemu -kernel (ELF vmlinux when it has a PVH entry, else bzImage)
#   release   uname -r of the kernel
#   config    its .config (copied into the guest as /boot/config-<release>)
#   mods.cpio the kernel modules the guest needs (see GUEST_MODULES), deps first, uncompressed
#   mods.list modules in load order;  origin  where it came from
# and prints that directory. Kernel dirs are immutable once complete (.done stamp).

# label | apt suites tried in order (first that has the meta package wins)
DEBIAN_KERNELS=(
  "5.10|bullseye-security bullseye"
  "6.1|bookworm-security bookworm"
  "6.12|trixie-security trixie"
  "sid|sid"
)
DEBIAN_SUITES="bullseye bullseye-security bookworm bookworm-security trixie trixie-security sid"
# host_mirror SUFFIX: the first URI of the host's apt sources (one-line .list or deb822
# .sources) whose path ends in SUFFIX ("/debian", "/debian-security"): the mirror this host is
# configured to reach, whatever it is (a snapshot, a proxy), never one named here.
host_mirror() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    sed -n -e 's/^deb\(-src\)\{0,1\}[[:space:]]\{1,\}\(\[[^]]*\][[:space:]]\{1,\}\)\{0,1\}\([^[:space:]]*\).*/\3/p' \
      -e 's/^URIs:[[:space:]]*//p' "$f" | tr ' ' '\n'
  done | sed 's:/*$::' | grep -m 1 -E "$1\$" || true # none: empty (set -e and pipefail are on)
}
DEBIAN_MIRROR=${IOTRACE_VM_DEBIAN_MIRROR:-$(host_mirror /debian)}
# A host without the security suite in its sources: its mirror's sibling, as Debian lays them out.
DEBIAN_SECURITY_MIRROR=${IOTRACE_VM_DEBIAN_SECURITY_MIRROR:-$(host_mirror /debian-security)}
if [ -z "$DEBIAN_SECURITY_MIRROR" ] && [ -n "$DEBIAN_MIRROR" ]; then
  DEBIAN_SECURITY_MIRROR=${DEBIAN_MIRROR}-security
fi
DEBIAN_KEYRING=${IOTRACE_VM_DEBIAN_KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}
FLAVOUR=${IOTRACE_VM_FLAVOUR:-cloud-amd64}
# modules to load in the guest when they are not built in (their depends= are added first).
# cloud-amd64: virtio_pci/ext4 are built in or modules depending on the release, virtio_blk is =m.
GUEST_MODULES=${IOTRACE_VM_MODULES:-"virtio_pci virtio_blk crc32c_generic ext4"}

APT_DIR=

# ------------------------------------------------------------------ inventory
debian_labels() { local s; for s in "${DEBIAN_KERNELS[@]}"; do echo "${s%%|*}"; done; }
local_labels() {
  local f v
  [ -n "$KERNELS_DIR" ] && [ -d "$KERNELS_DIR" ] || return 0
  for f in "$KERNELS_DIR"/vmlinuz-*; do
    [ -f "$f" ] || continue
    v=${f##*/vmlinuz-}
    [ -f "$KERNELS_DIR/config-$v" ] && echo "$v"
  done | sort -V
}
is_debian_label() { local l; for l in $(debian_labels); do [ "$l" = "$1" ] && return 0; done; return 1; }

# ------------------------------------------------------------------ private apt
apt_setup() {
  APT_DIR=$CACHE/apt
  local a=$APT_DIR s
  [ -n "$DEBIAN_MIRROR" ] && [ -n "$DEBIAN_SECURITY_MIRROR" ] || {
    echo "vm-tests: no Debian mirror (.../debian and .../debian-security) in the host's apt sources:" \
      "set IOTRACE_VM_DEBIAN_MIRROR and IOTRACE_VM_DEBIAN_SECURITY_MIRROR" >&2
    return 1
  }
  mkdir -p "$a"/lists/partial "$a"/archives/partial "$a"/etc/sources.list.d "$a"/etc/preferences.d "$a"/state
  touch "$a"/state/status
  {
    for s in $DEBIAN_SUITES; do
      case $s in
        *-security) echo "deb [signed-by=$DEBIAN_KEYRING] $DEBIAN_SECURITY_MIRROR $s main" ;;
        *)          echo "deb [signed-by=$DEBIAN_KEYRING] $DEBIAN_MIRROR $s main" ;;
      esac
    done
  } > "$a"/etc/sources.list
  cat > "$a"/apt.conf <<EOC
Dir::Etc::SourceList "$a/etc/sources.list";
Dir::Etc::SourceParts "$a/etc/sources.list.d";
Dir::Etc::Preferences "$a/etc/preferences";
Dir::Etc::PreferencesParts "$a/etc/preferences.d";
Dir::State "$a/state";
Dir::State::Lists "$a/lists";
Dir::State::status "$a/state/status";
Dir::Cache "$a";
Dir::Cache::Archives "$a/archives";
APT::Architecture "amd64";
APT::Architectures { "amd64"; };
APT::Sandbox::User "root";
Acquire::Languages "none";
Acquire::Retries "3";
// Snapshot mirrors serve Release files past their Valid-Until date.
Acquire::Check-Valid-Until "false";
Acquire::IndexTargets::deb::DEP-11::DefaultEnabled "false";
Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled "false";
Acquire::IndexTargets::deb::DEP-11-icons-small::DefaultEnabled "false";
Acquire::IndexTargets::deb::DEP-11-icons-hidpi::DefaultEnabled "false";
Acquire::IndexTargets::deb::CNF::DefaultEnabled "false";
Acquire::IndexTargets::deb::Contents-deb::DefaultEnabled "false";
EOC
}
# the -o options come last, so they beat /etc/apt/apt.conf.d (e.g. docker-clean disabling pkgcache)
papt_get()   { APT_CONFIG=$APT_DIR/apt.conf apt-get -q -o Dir::Cache::pkgcache="$APT_DIR/pkgcache.bin" -o Dir::Cache::srcpkgcache= "$@" </dev/null; }
papt_cache() { APT_CONFIG=$APT_DIR/apt.conf apt-cache -o Dir::Cache::pkgcache="$APT_DIR/pkgcache.bin" -o Dir::Cache::srcpkgcache= "$@" </dev/null; }

# refresh the private lists at most once a day (or with --refresh); stale lists are used
# (with a warning) when the mirror cannot be reached
apt_refresh() {
  local stamp=$APT_DIR/last-update age=999999
  [ -f "$stamp" ] && age=$(( $(date +%s) - $(stat -c %Y "$stamp") ))
  if [ "$REFRESH" = 1 ] || [ "$age" -ge 86400 ] || ! ls "$APT_DIR"/lists/*_Packages* >/dev/null 2>&1; then
    log "apt update (private lists in $APT_DIR; last update ${age}s ago)"
    if papt_get update > "$APT_DIR/update.log" 2>&1 && ! grep -q '^[WE]: ' "$APT_DIR/update.log"; then
      touch "$stamp"
    elif ls "$APT_DIR"/lists/*_Packages* >/dev/null 2>&1; then
      # lists are there (errors are often just one suite, e.g. a security mirror hiccup);
      # the stamp is not touched, so the next run tries again
      warn "apt update had errors, continuing with the existing lists:"; grep '^[WE]: ' "$APT_DIR/update.log" | head -5 >&2 || true
    else
      sed 's/^/    /' "$APT_DIR/update.log" | tail -20 >&2; return 1
    fi
  fi
}

# debian_resolve LABEL -> "meta=version suite" for the first suite of LABEL carrying the meta package
debian_resolve() {
  local label=$1 spec suites s ver meta=linux-image-$FLAVOUR
  for spec in "${DEBIAN_KERNELS[@]}"; do [ "${spec%%|*}" = "$label" ] && suites=${spec#*|}; done
  for s in $suites; do
    ver=$(papt_cache madison "$meta" 2>/dev/null |
          awk -F' *[|] *' -v s="$s" '{ split($3, u, " "); split(u[2], v, "/"); if (v[1] == s) { print $2; exit } }')
    if [ -n "$ver" ]; then echo "$meta=$ver $s"; return 0; fi
  done
  return 1
}

# versioned kernel packages a meta package pulls in (the image, and on some releases separate
# modules packages), recursively, as name=version
debian_closure() {
  local pv=$1 d
  echo "$pv"
  papt_cache show "$pv" 2>/dev/null | sed -n 's/^\(Pre-\)\{0,1\}Depends: //p' | tr ',' '\n' | tr -d ' ' |
    sed -n 's/^\(linux-\(image\|binary\|modules\)-[0-9][^(|]*\)(=\([^)]*\))$/\1=\3/p' | sort -u |
    while read -r d; do debian_closure "$d"; done
}

# ------------------------------------------------------------------ preparation
# build_mods_cpio TREE RELEASE OUTDIR: pick GUEST_MODULES (+ their deps) from an extracted tree
build_mods_cpio() {
  local tree=$1 rel=$2 out=$3 md st f n m
  md=$tree/lib/modules/$rel; [ -d "$md" ] || md=$tree/usr/lib/modules/$rel
  st=$out/mods.stage; rm -rf "$st"; mkdir -p "$st/lib/iotvm-modules"
  : > "$out/mods.list"
  declare -A idx=() seen=()
  if [ -d "$md" ]; then
    while read -r f; do n=${f##*/}; n=${n%%.ko*}; idx[${n//-/_}]=$f; done < <(find "$md" -name '*.ko*')
  fi
  _add_mod() {
    local m=${1//-/_} d
    [ -z "${seen[$m]:-}" ] || return 0
    seen[$m]=1
    if [ -z "${idx[$m]:-}" ]; then
      if grep -qE "/${m//_/[-_]}\.ko" "$md/modules.builtin" 2>/dev/null; then echo "module $m: built in"
      else echo "module $m: not available (built in without modules.builtin, or absent)"; fi
      return 0
    fi
    unpack_any "${idx[$m]}" > "$st/lib/iotvm-modules/$m.ko"
    # modinfo fields: depends=a,b and softdep=pre: x y
    for d in $(tr '\0' '\n' < "$st/lib/iotvm-modules/$m.ko" | sed -n 's/^depends=//p; s/^softdep=pre: *//p' | tr ', ' '\n\n'); do
      _add_mod "$d"
    done
    echo "$m" >> "$out/mods.list"; echo "module $m: $(basename "${idx[$m]}")"
  }
  for m in $GUEST_MODULES; do _add_mod "$m"; done
  cp "$out/mods.list" "$st/lib/iotvm-modules/order"
  (cd "$st" && find . | LC_ALL=C sort | cpio -o -H newc --quiet) > "$out/mods.cpio"
  rm -rf "$st"
  echo "$GUEST_MODULES" > "$out/mods.want"
}

# finish_kernel_dir DIR BZIMAGE: boot file selection (PVH ELF if possible)
finish_kernel_dir() {
  local kd=$1 img=$2
  if extract_vmlinux "$img" "$kd/vmlinux.tmp" && has_pvh_entry "$kd/vmlinux.tmp"; then
    mv "$kd/vmlinux.tmp" "$kd/boot"; echo pvh > "$kd/boot.kind"
  else
    rm -f "$kd/vmlinux.tmp"; cp "$img" "$kd/boot"; echo bzimage > "$kd/boot.kind"
  fi
}

# prepare_debian LABEL: the newest kernel of LABEL's suites; when that cannot be had (mirror
# down, sid in flux) the newest kernel cached earlier for LABEL is used, with a warning
prepare_debian() {
  local kd
  if kd=$(prepare_debian_latest "$1"); then echo "$kd"; return 0; fi
  kd=$(ls -td "$CACHE/kernels/$1"/*/.done 2>/dev/null | head -1)
  [ -n "$kd" ] || return 1
  kd=${kd%/.done}
  warn "$1: falling back to the cached kernel $(cat "$kd/release") ($(cat "$kd/origin"))"
  mkdir -p "$RESULTS/kernels/$1" && echo "latest $1 kernel unavailable, used the cached one" > "$RESULTS/kernels/$1/note"
  echo "$kd"
}

prepare_debian_latest() {
  local label=$1 res pv suite pkgs p rel kd tree img f
  res=$(debian_resolve "$label") || { echo "linux-image-$FLAVOUR not found in the suites for $label" >&2; return 1; }
  pv=${res% *}; suite=${res#* }
  kd=$CACHE/kernels/$label/${pv#*=}
  if [ -f "$kd/.done" ] && [ "$(cat "$kd/mods.want" 2>/dev/null)" = "$GUEST_MODULES" ]; then echo "$kd"; return 0; fi
  pkgs=$(debian_closure "$pv" | grep -v "^linux-image-$FLAVOUR=" | sort -u | tr '\n' ' ')
  pkgs=${pkgs% }
  [ -n "$pkgs" ] || { echo "could not resolve the packages of $pv" >&2; return 1; }
  log "$label: $pv ($suite) -> $pkgs"
  mkdir -p "$CACHE/debs"
  for p in $pkgs; do
    [ -f "$CACHE/debs/$(deb_name "$p")" ] && continue
    (cd "$CACHE/debs" && papt_get download "$p") >&2 || { echo "apt-get download $p failed" >&2; return 1; }
  done
  rm -rf "$kd"; mkdir -p "$kd"; tree=$kd/tree
  for p in $pkgs; do dpkg-deb -x "$CACHE/debs/$(deb_name "$p")" "$tree"; done
  # the kernel lives in /boot (<= trixie) or, merged-/usr style, in /usr/lib/modules/<release>/
  rel=""; img=""
  for f in "$tree"/lib/modules/* "$tree"/usr/lib/modules/*; do [ -d "$f" ] && { rel=${f##*/}; break; }; done
  for f in "$tree/boot/vmlinuz-$rel" "$tree/usr/lib/modules/$rel/vmlinuz" "$tree/lib/modules/$rel/vmlinuz"; do
    [ -f "$f" ] && { img=$f; break; }
  done
  [ -n "$rel" ] && [ -n "$img" ] || { echo "no vmlinuz or modules dir in $pkgs" >&2; return 1; }
  echo "$rel" > "$kd/release"
  : > "$kd/config"
  for f in "$tree/boot/config-$rel" "$tree/usr/lib/modules/$rel/config" "$tree/lib/modules/$rel/config"; do
    [ -f "$f" ] && { cp "$f" "$kd/config"; break; }
  done
  finish_kernel_dir "$kd" "$img"
  build_mods_cpio "$tree" "$rel" "$kd" > "$kd/mods.log"
  echo "debian $pv ($suite): $pkgs" > "$kd/origin"
  rm -rf "$tree"
  # the .debs are not needed any more (a changed GUEST_MODULES list downloads them again)
  for p in $pkgs; do rm -f "$CACHE/debs/$(deb_name "$p")"; done
  touch "$kd/.done"
  # drop older versions of this label; keep the current one
  for p in "$CACHE/kernels/$label"/*; do [ "$p" = "$kd" ] || rm -rf "$p"; done
  echo "$kd"
}
# apt-get download names files name_version_arch.deb with ':' in versions escaped as %3a
deb_name() { local v=${1#*=}; echo "${1%%=*}_${v//:/%3a}_amd64.deb"; }

prepare_local() {
  local label=$1 img=$KERNELS_DIR/vmlinuz-$1 sum kd rel o
  sum=$(cksum < "$img" | awk '{print $1}')
  kd=$CACHE/kernels/$label/local-$sum
  if [ -f "$kd/.done" ]; then echo "$kd"; return 0; fi
  rm -rf "$kd"; mkdir -p "$kd"
  rel=$(bzimage_release "$img") || rel=$label
  echo "$rel" > "$kd/release"
  cp "$KERNELS_DIR/config-$label" "$kd/config"
  # local kernels get no modules: what the guest needs must be built in (kernel-config.fragment)
  for o in BLK_DEV_INITRD DEVTMPFS SERIAL_8250_CONSOLE VIRTIO_PCI VIRTIO_BLK EXT4_FS BPF_SYSCALL; do
    grep -qx "CONFIG_$o=y" "$kd/config" || warn "$label: config-$label lacks CONFIG_$o=y (see vm-tests/kernel-config.fragment)"
  done
  finish_kernel_dir "$kd" "$img"
  # local kernels are expected to have everything built in (see kernel-config.fragment)
  : > "$kd/mods.list"; echo "$GUEST_MODULES" > "$kd/mods.want"
  (cd "$kd" && mkdir -p m/lib/iotvm-modules && : > m/lib/iotvm-modules/order &&
     cd m && find . | cpio -o -H newc --quiet > ../mods.cpio) && rm -rf "$kd/m"
  echo "local $img (cksum $sum)" > "$kd/origin"
  touch "$kd/.done"
  for sum in "$CACHE/kernels/$label"/*; do [ "$sum" = "$kd" ] || rm -rf "$sum"; done
  echo "$kd"
}

# prepare_kernel LABEL -> prints the kernel dir; errors on stderr
prepare_kernel() {
  if is_debian_label "$1"; then prepare_debian "$1"; else prepare_local "$1"; fi
}
