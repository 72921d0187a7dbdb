#!/bin/sh
# The whole test suite, as root on the host kernel: Rust unit and integration
# tests (real BPF programs, real workloads), then the QEMU kernel matrix.
#   scripts/test.sh            everything
#   SKIP_VM=1 scripts/test.sh  host tests only
set -eu
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "test.sh: run as root (the tests load BPF programs)" >&2; exit 1; }
SKIP_BUILD=1 scripts/setup.sh
cargo build --release --locked
# One test binary at a time shares the kernel's tracepoints; threads inside one are fine.
cargo test --release --locked -- --test-threads=2
if [ -z "${SKIP_VM:-}" ] && [ -x vm-tests/run ]; then
    vm-tests/run
fi
