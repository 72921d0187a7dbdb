/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel's struct request as the raw_tp block programs read it (CO-RE):
 * block.bpf.h's tools and amplify.bpf.c.
 */
#ifndef IOTRACE_REQUEST_BPF_H
#define IOTRACE_REQUEST_BPF_H

#include <bpf/bpf_core_read.h>

/* Just the kernel fields read; CO-RE finds them in the running kernel. */
struct request_queue;

struct gendisk {
	int major;
	int first_minor;
	struct request_queue *queue;
} __attribute__((preserve_access_index));

struct request_queue {
	struct gendisk *disk; /* 5.15+ */
	const void *mq_ops;   /* NULL: a bio-based device (device mapper, md) */
} __attribute__((preserve_access_index));

struct bio;

struct request {
	struct request_queue *q;
	struct bio *bio; /* amplify: the bios still to complete, chained by bi_next */
	unsigned int cmd_flags;
	unsigned int rq_flags;
	unsigned int __data_len;
	unsigned long long __sector;
	/* amplify: set when the request is allocated, kept over a requeue */
	unsigned long long start_time_ns;
} __attribute__((preserve_access_index));

/* Before 6.0 (f3fa33acca9f "block: remove the ->rq_disk field in struct
 * request") the disk was in the request. */
struct request___rq_disk {
	struct gendisk *rq_disk;
} __attribute__((preserve_access_index));

/* Flag bits of cmd_flags, renumbered over the years: CO-RE reads their
 * values from the kernel's enum. */
enum req_flag_bits {
	__REQ_SYNC,
	__REQ_META,
	__REQ_FUA,
	__REQ_PREFLUSH,
	__REQ_RAHEAD,
};

/* REQ_OP_BITS and these operation numbers are the same since 4.10
 * (ef295ecf090d "block: better op and flags encoding"). */
#define REQ_OP_MASK 0xff
#define REQ_OP_READ 0
#define REQ_OP_WRITE 1
#define REQ_OP_FLUSH 2
#define REQ_OP_DISCARD 3
#define REQ_OP_SECURE_ERASE 5

/* The last of a raw tracepoint's one or two arguments, `second` from user
 * space (src/block/session.rs: last_arg): block_bio_queue, block_rq_insert
 * and block_rq_issue lost their request_queue in 5.11 (e8a676d61c07,
 * a54895fa057c). `second` is a constant of the configuration, so the
 * verifier drops the read of an argument the tracepoint does not have; two
 * loads, as the compiler would rather add second * 8 to ctx, which the
 * verifier refuses (a modified ctx pointer). */
static __always_inline u64 last_arg(u64 *ctx, bool second)
{
	u64 arg;

	if (second) {
		arg = ctx[1];
		barrier_var(arg);
	} else {
		arg = ctx[0];
	}
	return arg;
}

/* A disk's dev_t as the kernel has it (major << 20 | minor); 0 for none. */
static __always_inline u32 disk_dev(struct gendisk *disk)
{
	if (!disk)
		return 0;
	return ((u32)BPF_CORE_READ(disk, major) << 20) | BPF_CORE_READ(disk, first_minor);
}

static __always_inline u32 rq_dev(struct request *rq)
{
	if (bpf_core_field_exists(((struct request___rq_disk *)rq)->rq_disk))
		return disk_dev(BPF_CORE_READ((struct request___rq_disk *)rq, rq_disk));
	return disk_dev(BPF_CORE_READ(rq, q, disk));
}

#endif /* IOTRACE_REQUEST_BPF_H */
