// SPDX-License-Identifier: GPL-2.0
/* iotrace biopattern: per-disk access pattern (sequential share, sizes,
 * queue depth, latency percentiles), counted in the kernel. */
#include "block.bpf.h"

/* Requests in flight per disk (dev -> count). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, u32);
	__type(value, u64);
} in_flight SEC(".maps");

/* Where the disk's last issued request ended (dev -> sector). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, u32);
	__type(value, u64);
} last_end SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct pattern_key);
	__type(value, struct pattern_stats);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct pattern_lat_key);
	__type(value, u64);
} lats SEC(".maps");

/* Log-linear bucket of v: log2 buckets split in PATTERN_SUBSLOTS linear
 * parts; values below PATTERN_SUBSLOTS get a bucket each (src/block/biopattern.rs
 * decodes it). */
static __always_inline u32 loglin_bucket(u64 v)
{
	u32 k;

	if (v < PATTERN_SUBSLOTS)
		return v;
	k = log2_slot(v) - 1; /* floor(log2(v)) >= PATTERN_SUBSLOT_BITS */
	return (k - PATTERN_SUBSLOT_BITS + 1) * PATTERN_SUBSLOTS +
	       ((v >> (k - PATTERN_SUBSLOT_BITS)) & (PATTERN_SUBSLOTS - 1));
}

static __always_inline void rq_issued(struct block_req *r)
{
	u64 zero = 0, *n, *end;

	/* Atomic adds keep the count exact; the value read back (no fetching
	 * add before 5.12) may already include a concurrent issue on another
	 * CPU, never a request that is not in flight. */
	n = map_find_or_create(&in_flight, &r->dev, &zero);
	if (n) {
		__sync_fetch_and_add(n, 1);
		r->depth = *n;
	}
	end = bpf_map_lookup_elem(&last_end, &r->dev);
	r->sequential = end && *end == r->sector;
	zero = r->sector + r->nr_sector;
	bpf_map_update_elem(&last_end, &r->dev, &zero, BPF_ANY);
}

static __always_inline void rq_done(void *ctx, struct block_req *r, u64 now, s32 error)
{
	struct pattern_lat_key lk = {};
	struct pattern_stats *s, fresh = {};
	u64 zero = 0, *n, lat = now - r->issue_ns;

	n = bpf_map_lookup_elem(&in_flight, &r->dev);
	if (n)
		__sync_fetch_and_add(n, -1);
	lk.disk.dev = r->dev;
	__builtin_memcpy(lk.disk.rwbs, r->rwbs, sizeof(lk.disk.rwbs));
	s = map_find_or_create(&stats, &lk.disk, &fresh);
	if (!s) {
		block_drop(BLOCK_MAP_FULL);
		return;
	}
	__sync_fetch_and_add(&s->count, 1);
	__sync_fetch_and_add(&s->bytes, r->bytes);
	__sync_fetch_and_add(&s->sequential, r->sequential);
	__sync_fetch_and_add(&s->lat_sum_ns, lat);
	__sync_fetch_and_add(&s->depth_sum, r->depth);
	if (r->depth > s->depth_max)
		s->depth_max = r->depth;
	lk.bucket = loglin_bucket(lat);
	n = map_find_or_create(&lats, &lk, &zero);
	if (n)
		__sync_fetch_and_add(n, 1);
	else
		block_drop(BLOCK_MAP_FULL);
}

char LICENSE[] SEC("license") = "GPL";
