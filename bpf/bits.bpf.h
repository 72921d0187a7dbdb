/* SPDX-License-Identifier: GPL-2.0 */
/* Small helpers shared by every iotrace BPF object (after compat.bpf.h). */
#ifndef IOTRACE_BITS_BPF_H
#define IOTRACE_BITS_BPF_H

#define TASK_COMM_LEN 16

/* Histogram slot of v: 0 holds zero, slot k >= 1 holds [2^(k-1), 2^k)
 * (src/hist.rs decodes it). Unrolled: no loops before 5.3. */
static __always_inline u32 log2_slot(u64 v)
{
	u32 slot = 0;

	if (!v)
		return 0;
#pragma unroll
	for (int shift = 32; shift > 0; shift >>= 1) {
		if (v >> shift) {
			v >>= shift;
			slot += shift;
		}
	}
	return slot + 1;
}

/* Task comms: equal up to the first NUL. */
static __always_inline bool comm_eq(const char *a, const volatile char *b)
{
#pragma unroll
	for (int j = 0; j < TASK_COMM_LEN; j++) {
		if (a[j] != b[j])
			return false;
		if (!a[j])
			return true;
	}
	return true;
}

/* The value of key, created from *init if absent; NULL if the map is full. */
static __always_inline void *map_find_or_create(void *map, const void *key, const void *init)
{
	void *v = bpf_map_lookup_elem(map, key);

	if (v)
		return v;
	bpf_map_update_elem(map, key, init, BPF_NOEXIST);
	return bpf_map_lookup_elem(map, key);
}

/* `n` more in slot `slot` of a per-CPU u64 array (counters of what was lost). */
static __always_inline void count_in(void *array, u32 slot, u64 n)
{
	u64 *c = bpf_map_lookup_elem(array, &slot);

	if (c)
		*c += n;
}

#endif /* IOTRACE_BITS_BPF_H */
