#!/usr/bin/env python3
"""empty_raw_tp.py - the floor of any syscall tracer, for scripts/bench.

    empty_raw_tp.py [--probe] TRACEPOINT...

Loads a BPF program that does nothing (r0 = 0; exit), attaches it to the raw
tracepoints named (sys_enter, sys_exit), prints "attached" and keeps it
attached until SIGINT or SIGTERM (exit 0); with --probe it exits at once.
What a workload then loses is what having any BPF program on those
tracepoints costs: the syscall slow path and the program dispatch, before
the program does any work. Needs root, x86_64 and Linux 4.17+ (raw_tp).
Only the standard library: bpf(2) through ctypes.
"""

import ctypes
import signal
import struct
import sys

SYS_BPF = 321  # x86_64
BPF_PROG_LOAD, BPF_RAW_TRACEPOINT_OPEN = 5, 17
BPF_PROG_TYPE_RAW_TRACEPOINT = 17
EMPTY = struct.pack("<BBhi", 0xB7, 0, 0, 0) + struct.pack("<BBhi", 0x95, 0, 0, 0)  # r0 = 0; exit
NAME = b"bench_empty"

libc = ctypes.CDLL(None, use_errno=True)
keep = []  # buffers the kernel reads from must outlive the calls


def buffer(data: bytes) -> int:
    keep.append(ctypes.create_string_buffer(data, len(data) + 1))
    return ctypes.addressof(keep[-1])


def bpf(cmd: int, attr: bytes, what: str) -> int:
    attr_buf = ctypes.create_string_buffer(attr, 128)
    fd = libc.syscall(ctypes.c_long(SYS_BPF), ctypes.c_long(cmd), attr_buf, ctypes.c_uint(128))
    if fd < 0:
        err = ctypes.get_errno()
        sys.exit(f"empty_raw_tp: {what}: {ctypes.cast(libc.strerror(err), ctypes.c_char_p).value.decode()}")
    return fd


def main(args: list) -> None:
    probe = args[:1] == ["--probe"]
    tracepoints = args[1:] if probe else args
    if not tracepoints:
        sys.exit("usage: empty_raw_tp.py [--probe] TRACEPOINT...")
    libc.strerror.restype = ctypes.c_void_p
    # prog_type, insn_cnt, insns, license, log_level, log_size, log_buf, kern_version, prog_flags, prog_name
    prog = bpf(BPF_PROG_LOAD, struct.pack("<IIQQIIQII16s", BPF_PROG_TYPE_RAW_TRACEPOINT, len(EMPTY) // 8,
                                          buffer(EMPTY), buffer(b"GPL"), 0, 0, 0, 0, 0, NAME), "loading")
    for tp in tracepoints:
        keep.append(bpf(BPF_RAW_TRACEPOINT_OPEN, struct.pack("<QI", buffer(tp.encode()), prog), f"attaching to {tp}"))
    print("attached", flush=True)
    if probe:
        return
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: sys.exit(0))
    while True:
        signal.pause()


if __name__ == "__main__":
    main(sys.argv[1:])
