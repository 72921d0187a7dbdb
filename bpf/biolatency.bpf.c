// SPDX-License-Identifier: GPL-2.0
/* iotrace biolatency: log2 histograms of request latency, in the kernel. */
#include "block.bpf.h"

/* Sparse: one entry per non-empty (disk, flags, size, slot). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct lat_key);
	__type(value, u64);
} hists SEC(".maps");

static __always_inline void rq_issued(struct block_req *r)
{
}

static __always_inline void rq_done(void *ctx, struct block_req *r, u64 now, s32 error)
{
	const volatile struct block_config *cfg = get_config();
	struct lat_key k = {};
	u64 zero = 0, *n, from;

	if (!cfg)
		return;
	from = cfg->queued && r->insert_ns ? r->insert_ns : r->issue_ns;
	k.slot = log2_slot(cfg->millis ? (now - from) / 1000000 : (now - from) / 1000);
	if (cfg->per_disk)
		k.dev = r->dev;
	if (cfg->per_size)
		k.size_slot = log2_slot(r->bytes);
	if (cfg->per_flags)
		__builtin_memcpy(k.rwbs, r->rwbs, sizeof(k.rwbs));
	n = map_find_or_create(&hists, &k, &zero);
	if (n)
		__sync_fetch_and_add(n, 1);
	else
		block_drop(BLOCK_MAP_FULL);
}

char LICENSE[] SEC("license") = "GPL";
