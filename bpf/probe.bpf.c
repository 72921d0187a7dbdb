// SPDX-License-Identifier: GPL-2.0
/*
 * Attach-kind probes for `iotrace doctor` and strategy selection: one trivial
 * program per attach kind. Each is loaded and attached on its own and must
 * then count at least one hit, so "works" means the kernel really ran it
 * (on some hosts fentry loads but attaching fails with EPERM).
 */
#include "compat.bpf.h"
#include "probe.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, PROBE_NR_SLOTS);
	__type(key, u32);
	__type(value, u64);
} hits SEC(".maps");

static __always_inline int hit(u32 slot)
{
	u64 *n = bpf_map_lookup_elem(&hits, &slot);

	if (n)
		__sync_fetch_and_add(n, 1);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_getpid")
int probe_tracepoint(void *ctx) { return hit(PROBE_TRACEPOINT); }

SEC("raw_tp/sys_enter")
int probe_raw_tp(void *ctx) { return hit(PROBE_RAW_TP); }

SEC("tp_btf/sys_enter")
int probe_tp_btf(void *ctx) { return hit(PROBE_TP_BTF); }

/* vfs_read: present in every supported kernel, hit by reading /proc. */
SEC("fentry/vfs_read")
int probe_fentry(void *ctx) { return hit(PROBE_FENTRY); }

SEC("kprobe/vfs_read")
int probe_kprobe(void *ctx) { return hit(PROBE_KPROBE); }

char LICENSE[] SEC("license") = "GPL";
