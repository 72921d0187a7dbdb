/* SPDX-License-Identifier: GPL-2.0 */
/* Small helpers shared by every iotrace BPF object (after compat.bpf.h). */
#ifndef IOTRACE_BITS_BPF_H
#define IOTRACE_BITS_BPF_H

#include "tracepoint.h"

#define TASK_COMM_LEN 16

/* Histogram slot of v: 0 holds zero, slot k >= 1 holds [2^(k-1), 2^k)
 * (src/hist.rs decodes it): the number of bits up to v's highest one.
 * Without branches: a verifier that followed one path per slot through the
 * record programs of the legacy object, where every call is inlined, went
 * past its 1M instructions (E2BIG) once a call took three slots. */
static __always_inline u32 log2_slot(u64 v)
{
	v |= v >> 1;
	v |= v >> 2;
	v |= v >> 4;
	v |= v >> 8;
	v |= v >> 16;
	v |= v >> 32;
	/* population count of v, now 2^slot - 1 */
	v -= (v >> 1) & 0x5555555555555555ULL;
	v = (v & 0x3333333333333333ULL) + ((v >> 2) & 0x3333333333333333ULL);
	v = (v + (v >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
	return (v * 0x0101010101010101ULL) >> 56;
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

/* One unsigned integer field of the tracepoint record at ctx (little
 * endian); 0 where the field is absent (size 0). */
static __always_inline u64 tp_read(void *ctx, const volatile struct tp_field *f)
{
	u64 v = 0;
	u16 off = f->offset, size = f->size;

	if (size == 8)
		bpf_probe_read(&v, 8, ctx + off);
	else if (size == 4)
		bpf_probe_read(&v, 4, ctx + off);
	else if (size == 2)
		bpf_probe_read(&v, 2, ctx + off);
	else if (size == 1)
		bpf_probe_read(&v, 1, ctx + off);
	return v;
}

#endif /* IOTRACE_BITS_BPF_H */
