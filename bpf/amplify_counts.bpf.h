/* SPDX-License-Identifier: GPL-2.0 */
/*
 * amplify: the rows (struct amp_key -> struct amp_counts) and the counters
 * of what could not be counted, shared by amplify.bpf.c and
 * amplify_legacy.bpf.c (src/amplify reads both objects' alike).
 */
#ifndef IOTRACE_AMPLIFY_COUNTS_BPF_H
#define IOTRACE_AMPLIFY_COUNTS_BPF_H

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct amp_key);
	__type(value, struct amp_counts);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, AMP_DROP_NR);
	__type(key, u32);
	__type(value, u64);
} amp_drops SEC(".maps");

/* bytes and ops more on one side of c */
static __always_inline void counts_add(struct amp_counts *c, bool write, u64 bytes, u64 ops)
{
	if (write) {
		__sync_fetch_and_add(&c->write_bytes, bytes);
		__sync_fetch_and_add(&c->write_ops, ops);
	} else {
		__sync_fetch_and_add(&c->read_bytes, bytes);
		__sync_fetch_and_add(&c->read_ops, ops);
	}
}

#ifndef IOTRACE_LEGACY
static const struct amp_counts zero_counts;
#endif

/* The value of k in `map`, created zeroed if absent; NULL if the map is full. */
static __always_inline struct amp_counts *counts_of(void *map, const void *k)
{
#ifdef IOTRACE_LEGACY
	struct amp_counts zero_counts = {}; /* no global data before 5.2 */
#endif
	return map_find_or_create(map, k, &zero_counts);
}

static __always_inline void add(struct amp_key *k, bool write, u64 bytes, u64 ops)
{
	struct amp_counts *c = counts_of(&counts, k);

	if (!c) {
		count_in(&amp_drops, AMP_MAP_FULL, 1);
		return;
	}
	counts_add(c, write, bytes, ops);
}

#endif /* IOTRACE_AMPLIFY_COUNTS_BPF_H */
