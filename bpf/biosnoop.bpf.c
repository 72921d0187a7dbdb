// SPDX-License-Identifier: GPL-2.0
/* iotrace biosnoop (and heatmap): one event per completed request. */
#include "block.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(u32));
	__uint(value_size, sizeof(u32));
} events SEC(".maps");

static __always_inline void rq_issued(struct block_req *r)
{
}

static __always_inline void rq_done(void *ctx, struct block_req *r, u64 now, s32 error)
{
	struct block_event e = {
		.ts_ns = now,
		.lat_ns = now - r->issue_ns,
		.queue_ns = r->insert_ns ? r->issue_ns - r->insert_ns : 0,
		.sector = r->sector,
		.dev = r->dev,
		.bytes = r->bytes,
		.pid = r->pid,
		.error = error,
	};

	__builtin_memcpy(e.comm, r->comm, sizeof(e.comm));
	__builtin_memcpy(e.rwbs, r->rwbs, sizeof(e.rwbs));
	if (bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &e, sizeof(e)))
		block_drop(BLOCK_EVENT_FAILED);
}

char LICENSE[] SEC("license") = "GPL";
