# shellcheck shell=bash
# vm-tests/lib/common.sh - logging, small helpers, host tool installation.
# Sourced by vm-tests/run; expects `set -euo pipefail` and the globals set there.

log()  { printf '[%(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
warn() { log "WARN: $*"; }
die()  { log "ERROR: $*"; exit 2; }

now_ns() { date +%s%N; }
secs_since() { awk -v a="$1" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }'; }

# is_static_elf FILE: an ELF without a PT_INTERP program header
is_elf() { [ "$(head -c4 "$1" 2>/dev/null | od -An -tx1 | tr -d ' \n')" = 7f454c46 ]; }
is_static_elf() { is_elf "$1" && ! readelf -lW "$1" 2>/dev/null | grep -q 'Requesting program interpreter'; }

# run as root, or through sudo when available
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo -n "$@"; else "$@"; fi; }

# ensure_host_tools [need_gcc]: installs what is missing through the system apt (the only place
# the runner touches system package state; kernels come through a private apt config, see kernels.sh)
ensure_host_tools() {
  local need_gcc=${1:-0} pkgs=()
  command -v qemu-system-x86_64 >/dev/null || pkgs+=(qemu-system-x86)
  if ! is_static_elf /bin/busybox; then pkgs+=(busybox-static); fi
  command -v cpio       >/dev/null || pkgs+=(cpio)
  command -v mkfs.ext4  >/dev/null || pkgs+=(e2fsprogs)
  command -v xz         >/dev/null || pkgs+=(xz-utils)
  command -v zstd       >/dev/null || pkgs+=(zstd)
  command -v readelf    >/dev/null || pkgs+=(binutils)
  command -v flock      >/dev/null || pkgs+=(util-linux)
  command -v dpkg-deb   >/dev/null || pkgs+=(dpkg)
  [ -f "$DEBIAN_KEYRING" ]         || pkgs+=(debian-archive-keyring)
  if [ "$need_gcc" = 1 ]; then
    command -v gcc >/dev/null || pkgs+=(gcc)
    # gcc -static needs libc.a
    [ -n "$(gcc -print-file-name=libc.a 2>/dev/null | grep /)" ] || pkgs+=(libc6-dev)
  fi
  [ ${#pkgs[@]} -gt 0 ] || return 0
  command -v apt-get >/dev/null || die "missing host tools (${pkgs[*]}) and no apt-get to install them"
  log "installing host tools: ${pkgs[*]}"
  local inst=(env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${pkgs[@]}")
  if ! as_root "${inst[@]}" </dev/null >&2; then
    # fresh CI images often have no package lists yet
    as_root apt-get update -q </dev/null >&2 || true
    as_root "${inst[@]}" </dev/null >&2 || die "apt-get install ${pkgs[*]} failed"
  fi
  is_static_elf /bin/busybox || die "/bin/busybox is not a static binary (install busybox-static)"
}

# decompress by magic (kernel modules, bzImage payloads)
unpack_any() {
  case "$1" in
    *.xz)  xz -dc "$1" ;;
    *.zst) zstd -dcq "$1" ;;
    *.gz)  gzip -dc "$1" ;;
    *)     cat "$1" ;;
  esac
}

# extract_vmlinux BZIMAGE OUT: find the compressed payload of a bzImage and write the ELF
# vmlinux. Returns non-zero if no payload decompresses to an ELF.
extract_vmlinux() {
  local img=$1 out=$2 tmp=$2.tmp spec magic tool pos
  for spec in '\x28\xb5\x2f\xfd:zstd -dcq' '\xfd7zXZ\x00:xz -dcq' '\x02\x21\x4c\x18:lz4 -dcq' \
              '\x1f\x8b\x08:gzip -dcq' '\x5d\x00\x00:xz --format=lzma -dcq' '\x42\x5a\x68:bzip2 -dcq'; do
    magic=${spec%%:*}; tool=${spec#*:}
    command -v "${tool%% *}" >/dev/null || continue
    for pos in $(LC_ALL=C grep -aboP "$magic" "$img" 2>/dev/null | cut -d: -f1 | head -5); do
      tail -c+$((pos + 1)) "$img" | $tool > "$tmp" 2>/dev/null || true
      if is_elf "$tmp"; then mv "$tmp" "$out"; return 0; fi
    done
  done
  rm -f "$tmp"; return 1
}

# has_pvh_entry ELF: the kernel can be booted directly by QEMU (-kernel vmlinux) through its
# PVH entry point (XEN_ELFNOTE_PHYS32_ENTRY note, CONFIG_PVH=y, Linux >= 5.0). This skips the
# in-guest decompressor, which costs 1-10 s under TCG.
has_pvh_entry() { readelf -nW "$1" 2>/dev/null | grep -q 'type: (0x00000012)\|XEN_ELFNOTE_PHYS32_ENTRY'; }

# kernel release string stored in a bzImage setup header (offset 0x20E -> pointer - 0x200)
bzimage_release() {
  local off
  off=$(od -An -j $((0x20E)) -N2 -tu2 "$1" | tr -d ' ')
  [ -n "$off" ] && [ "$off" -gt 0 ] || return 1
  dd if="$1" bs=1 skip=$((off + 0x200)) count=128 2>/dev/null | tr '\0' '\n' | head -1 | awk '{print $1}'
}
