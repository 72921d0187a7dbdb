#!/bin/sh
# Install what building and testing iotrace needs on Debian/Ubuntu, then build
# the static binary. Run as root. Idempotent.
#   scripts/setup.sh           build dependencies + test tools, then build
#   SKIP_BUILD=1 scripts/setup.sh   install only
set -eu
cd "$(dirname "$0")/.."

# clang/llvm: BPF objects; libelf/zlib static archives: fully static libbpf;
# fio, bpftrace, strace, dd, gcc, sqlite3, git: the test workloads and comparisons;
# qemu, busybox-static, cpio, e2fsprogs, xz, zstd: vm-tests/ kernel matrix;
# chromium-headless-shell, libxml2-utils, python3: the heat map rendering test.
. scripts/install-packages.sh
install_packages setup clang llvm libelf-dev zlib1g-dev pkg-config make gcc libc6-dev \
    fio bpftrace strace util-linux coreutils jq sqlite3 git \
    qemu-system-x86 busybox-static cpio e2fsprogs xz-utils zstd debian-archive-keyring \
    chromium-headless-shell libxml2-utils python3
command -v cargo >/dev/null || { echo "setup: cargo not found: install Rust (rustup) first" >&2; exit 1; }

[ -n "${SKIP_BUILD:-}" ] && exit 0
start=$(date +%s)
cargo build --release --locked
echo "setup: built target/x86_64-unknown-linux-gnu/release/iotrace in $(( $(date +%s) - start )) s"
