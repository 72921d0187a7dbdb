#!/bin/sh
# Install what building and testing iotrace needs on Debian/Ubuntu, then build
# the shipped binary: target/x86_64-unknown-linux-musl/release/iotrace, static
# against musl. Run as root. Idempotent.
#   scripts/setup.sh               build dependencies + test tools, then build
#   SKIP_BUILD=1 scripts/setup.sh  install only
set -eu
cd "$(dirname "$0")/.."
TARGET=x86_64-unknown-linux-musl
BIN=target/$TARGET/release/iotrace

fail() {
    echo "setup: $*" >&2
    exit 1
}

# clang/llvm: BPF objects, and libclang for bindgen (build host);
# musl-tools: the binary's C compiler (scripts/musl/cc); autoconf .. gawk, make,
# pkg-config: libbpf-sys builds zlib, elfutils' libelf and libbpf from the
# sources it vendors; linux-libc-dev: kernel uapi headers;
# fio, bpftrace, strace, dd, gcc, sqlite3, git, postgresql (pgbench): the test workloads and comparisons;
# qemu, busybox-static, cpio, e2fsprogs, xz, zstd: vm-tests/ kernel matrix;
# chromium-headless-shell, libxml2-utils, python3: the heat map rendering test.
. scripts/install-packages.sh
install_packages setup clang llvm musl-tools autoconf automake autopoint flex bison gawk make pkg-config \
    linux-libc-dev gcc libc6-dev \
    fio bpftrace strace util-linux coreutils jq sqlite3 git postgresql \
    qemu-system-x86 busybox-static cpio e2fsprogs xz-utils zstd debian-archive-keyring \
    chromium-headless-shell libxml2-utils python3 ||
    fail "installing Debian packages failed (apt-get's message is above)"

command -v cargo >/dev/null || fail "cargo not found: install Rust with rustup first (https://rustup.rs)"
# The Rust standard library for the musl target: rustup's component, or a
# toolchain that has it already.
if ! [ -d "$(rustc --print sysroot)/lib/rustlib/$TARGET" ]; then
    command -v rustup >/dev/null || fail "this Rust has no standard library for $TARGET and there is no rustup to add it"
    echo "setup: rustup target add $TARGET"
    rustup target add "$TARGET" || fail "rustup could not add the $TARGET standard library (its message is above)"
fi

[ -n "${SKIP_BUILD:-}" ] && exit 0
start=$(date +%s)
cargo build --release --locked ||
    fail "cargo build failed (its message is above; the C libraries are built by scripts/musl/cc, see docs/musl.md)"
echo "setup: built $BIN ($(stat -c %s "$BIN") bytes) in $(( $(date +%s) - start )) s"
