/* SPDX-License-Identifier: GPL-2.0 */
/* Block-layer tools: structs shared by block.bpf.h's users and src/block/ (bindgen). */
#ifndef IOTRACE_BLOCK_H
#define IOTRACE_BLOCK_H

#include <linux/types.h>
#include "tracepoint.h"

#define BLOCK_COMM_LEN 16
/* rwbs as the tracepoints fill it (blk_fill_rwbs): op letters and flags.
 * The field is 8 bytes before 6.x and 10 after; at most 7 are ever used. */
#define BLOCK_RWBS_LEN 8

/* The fields read from the block tracepoints. Their offsets moved between
 * kernels (ioprio was inserted before rwbs and rwbs grew from 8 to 10 bytes
 * in 6.x), so user space reads them from tracefs `format` files. */
struct block_tp {
	struct tp_field dev;
	struct tp_field sector;
	struct tp_field nr_sector;
	struct tp_field bytes; /* block_rq_issue only */
	struct tp_field error; /* block_rq_complete only */
	struct tp_field rwbs;
};

enum block_tp_id {
	BLOCK_TP_BIO_QUEUE,
	BLOCK_TP_RQ_INSERT,
	BLOCK_TP_RQ_ISSUE,
	BLOCK_TP_RQ_COMPLETE,
	BLOCK_TP_NR,
};

struct block_config {
	struct block_tp tp[BLOCK_TP_NR];
	/* raw_tp: which raw argument is the struct request (block_rq_insert and
	 * block_rq_issue lost their request_queue argument in 5.11). */
	__u8 insert_rq_arg;
	__u8 issue_rq_arg;
	__u32 dev;  /* only this disk (kernel dev_t: major << 20 | minor); 0: all */
	__u32 pid;  /* only I/O submitted by this process; 0: all */
	__u8 filter_comm;
	char comm[BLOCK_COMM_LEN];
	/* biolatency: what a histogram is per, and its unit. */
	__u8 per_disk;
	__u8 per_flags;
	__u8 per_size;
	__u8 queued;   /* latency from insertion, not issue (-Q) */
	__u8 millis;
};

/* A place on a disk: (disk dev, sector). */
struct block_pos {
	__u32 dev;
	__u32 _pad;
	__u64 sector;
};

/* A request: its struct request pointer where that is known (raw_tp), else
 * its place (the tracepoint records name no request). */
struct block_rq_key {
	__u64 rq;
	struct block_pos pos;
};

/* A request between its insertion or issue and its completion (the `reqs`
 * map; user space expires the ones whose completion never comes). */
struct block_req {
	__u64 insert_ns; /* 0: issued without passing an I/O scheduler */
	__u64 issue_ns;  /* 0: inserted, not issued yet */
	__u64 sector;
	__u32 dev;
	__u32 bytes;
	__u32 nr_sector;
	__u32 pid;       /* submitter (see block.bpf.h: submitters) */
	__u32 depth;     /* biopattern: in flight on the disk at issue, this one included */
	__u8 sequential; /* biopattern: starts where the disk's previous request ended */
	__u8 wanted;     /* submitter passes the pid/comm filter */
	char comm[BLOCK_COMM_LEN];
	char rwbs[BLOCK_RWBS_LEN];
};

/* Counters of what could not be tracked, in the `block_drops` array. */
enum block_drop {
	BLOCK_UNMATCHED, /* completion of a request issued before tracing started */
	BLOCK_REQS_FULL, /* too many requests in flight to track one more */
	BLOCK_MAP_FULL,  /* a result map is full */
	BLOCK_EVENT_FAILED, /* an event could not be sent */
	BLOCK_DROP_NR,
};

/* biosnoop/heatmap: one completed request. */
struct block_event {
	__u64 ts_ns;    /* completion, bpf_ktime_get_ns */
	__u64 lat_ns;   /* issue -> completion */
	__u64 queue_ns; /* insertion -> issue; 0 if it was issued directly */
	__u64 sector;
	__u32 dev;
	__u32 bytes;
	__u32 pid;
	__s32 error;
	char comm[BLOCK_COMM_LEN];
	char rwbs[BLOCK_RWBS_LEN];
};

/* biolatency: one histogram slot (log2 of µs or ms). */
struct lat_key {
	__u32 dev;       /* 0 unless per_disk */
	__u32 size_slot; /* log2 slot of the request's bytes, 0 unless per_size */
	char rwbs[BLOCK_RWBS_LEN]; /* empty unless per_flags */
	__u32 slot;
	__u32 _pad;
};

/* biopattern: per disk and rwbs (user space sorts rwbs into reads, writes
 * and others: src/block/rwbs.rs). */
struct pattern_key {
	__u32 dev;
	char rwbs[BLOCK_RWBS_LEN];
	__u32 _pad;
};

struct pattern_stats {
	__u64 count;
	__u64 bytes;
	__u64 sequential; /* started where the previous request on the disk ended */
	__u64 lat_sum_ns;
	__u64 depth_sum;  /* requests in flight on the disk at issue, this one included */
	__u64 depth_max;
};

/* biopattern's latency histogram: log2 buckets of ns, each split in
 * PATTERN_SUBSLOTS linear parts, fine enough for percentiles (<= 12.5 %). */
#define PATTERN_SUBSLOT_BITS 3
#define PATTERN_SUBSLOTS (1 << PATTERN_SUBSLOT_BITS)

struct pattern_lat_key {
	struct pattern_key disk;
	__u32 bucket;
};

#endif
