/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Block-layer tools (biosnoop, biolatency, biopattern): following each
 * request from the bio that started it to its completion. Shared by the
 * tools' X.bpf.c, which implement the two hooks below. Each X.bpf.c is built
 * twice (build.rs): X.bpf.o attaches raw_tp with CO-RE (kernels with BTF),
 * X_legacy.bpf.o perf-event tracepoints only (4.14+, no BTF).
 *
 * Tracepoints used: block_bio_queue (in the submitter's context),
 * block_rq_insert (into an I/O scheduler; skipped when a request is issued
 * directly), block_rq_issue (to the driver), block_rq_complete. Not kprobes:
 * blk_account_io_*() were renamed and then inlined (5.17), and kprobes may
 * not exist at all (this project's build host has none).
 */
#ifndef IOTRACE_BLOCK_BPF_H
#define IOTRACE_BLOCK_BPF_H

#include "compat.bpf.h"
#include "bits.bpf.h"
#include "block.h"

DECLARE_CONFIG(struct block_config)

/* ---------------------------------------------------------------- tool hooks */

/* r was issued to the driver (once per request, not again after a requeue). */
static __always_inline void rq_issued(struct block_req *r);
/* r completed at `now`; only called for requests passing the filters. */
static __always_inline void rq_done(void *ctx, struct block_req *r, u64 now, s32 error);

/* ---------------------------------------------------------------- maps */

/* Who queued the bio starting at a place on a disk. Bios merged into a
 * request that starts elsewhere are never looked up: LRU ages them out. */
struct submitter {
	u32 pid;
	char comm[BLOCK_COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct block_pos);
	__type(value, struct submitter);
} submitters SEC(".maps");

/* Partition dev -> its disk's dev, filled by user space: a bio names the
 * partition it was submitted to (5.12+), a request its disk. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, u32);
	__type(value, u32);
} partitions SEC(".maps");

/* Requests in flight. Entries whose completion never comes (a request merged
 * into another in the scheduler, a completion the kernel did not let us see)
 * are expired by user space (src/block/mod.rs: Session::expire). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct block_rq_key);
	__type(value, struct block_req);
} reqs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, BLOCK_DROP_NR);
	__type(key, u32);
	__type(value, u64);
} block_drops SEC(".maps");

/* ---------------------------------------------------------------- helpers */

static __always_inline void block_drop(u32 why)
{
	count_in(&block_drops, why, 1);
}

static __always_inline bool disk_wanted(u32 dev)
{
	const volatile struct block_config *cfg = get_config();

	return cfg && (!cfg->dev || cfg->dev == dev);
}

/* Who submitted the request starting at pos: the process that queued its
 * first bio, or (a bio split off by the block layer is not traced again) the
 * current one. */
static __always_inline void set_submitter(struct block_req *r, const struct block_pos *pos)
{
	const volatile struct block_config *cfg = get_config();
	struct submitter *s = bpf_map_lookup_elem(&submitters, pos);

	if (s) {
		r->pid = s->pid;
		__builtin_memcpy(r->comm, s->comm, sizeof(r->comm));
		bpf_map_delete_elem(&submitters, pos);
	} else {
		r->pid = bpf_get_current_pid_tgid() >> 32;
		bpf_get_current_comm(r->comm, sizeof(r->comm));
	}
	r->wanted = cfg && (!cfg->pid || cfg->pid == r->pid) && (!cfg->filter_comm || comm_eq(r->comm, cfg->comm));
}

/* ---------------------------------------------------------------- a request's life */

static __always_inline void bio_queued(u32 dev, u64 sector)
{
	struct block_pos pos = { .sector = sector };
	struct submitter s = {};
	u32 *disk = bpf_map_lookup_elem(&partitions, &dev);

	pos.dev = disk ? *disk : dev;
	if (!disk_wanted(pos.dev))
		return;
	s.pid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(s.comm, sizeof(s.comm));
	bpf_map_update_elem(&submitters, &pos, &s, BPF_ANY);
}

static __always_inline void rq_inserted(const struct block_rq_key *k)
{
	struct block_req r = {};

	if (!disk_wanted(k->pos.dev) || bpf_map_lookup_elem(&reqs, k))
		return; /* filtered out, or inserted again after a requeue */
	r.insert_ns = bpf_ktime_get_ns();
	set_submitter(&r, &k->pos);
	if (bpf_map_update_elem(&reqs, k, &r, BPF_NOEXIST))
		block_drop(BLOCK_REQS_FULL);
}

/* The request at k was issued; its size and rwbs are filled by `fill`'s caller. */
static __always_inline struct block_req *rq_issuing(const struct block_rq_key *k)
{
	struct block_req *r, fresh = {};

	if (!disk_wanted(k->pos.dev))
		return NULL;
	r = bpf_map_lookup_elem(&reqs, k);
	if (r && r->issue_ns) {
		r->issue_ns = bpf_ktime_get_ns(); /* issued again after a requeue */
		return NULL;
	}
	if (!r) {
		set_submitter(&fresh, &k->pos);
		if (bpf_map_update_elem(&reqs, k, &fresh, BPF_NOEXIST)) {
			block_drop(BLOCK_REQS_FULL);
			return NULL;
		}
		r = bpf_map_lookup_elem(&reqs, k);
		if (!r)
			return NULL;
	}
	r->dev = k->pos.dev;
	r->sector = k->pos.sector;
	return r;
}

static __always_inline void rq_issue_done(struct block_req *r)
{
	r->rwbs[BLOCK_RWBS_LEN - 1] = 0;
	r->issue_ns = bpf_ktime_get_ns();
	rq_issued(r);
}

/* `first`: the first program on the completion, which alone reports one
 * whose request was not seen (raw_rq_complete_again). */
static __always_inline void rq_completed(void *ctx, const struct block_rq_key *k, s32 error, bool first)
{
	struct block_req *r;

	if (!disk_wanted(k->pos.dev))
		return;
	r = bpf_map_lookup_elem(&reqs, k);
	if (!r || !r->issue_ns) {
		if (first)
			block_drop(BLOCK_UNMATCHED);
		return;
	}
	if (r->wanted)
		rq_done(ctx, r, bpf_ktime_get_ns(), error);
	bpf_map_delete_elem(&reqs, k);
}

/* ---------------------------------------------------------------- perf-event tracepoints */

static __always_inline const volatile struct block_tp *tp_layout(u32 id)
{
	const volatile struct block_config *cfg = get_config();

	return cfg && id < BLOCK_TP_NR ? &cfg->tp[id] : NULL;
}

/* Requests are known by their place here: the records name no request. */
static __always_inline bool tp_key(void *ctx, const volatile struct block_tp *tp, struct block_rq_key *k)
{
	if (!tp)
		return false;
	k->rq = 0;
	k->pos.dev = tp_read(ctx, &tp->dev);
	k->pos._pad = 0;
	k->pos.sector = tp_read(ctx, &tp->sector);
	return true;
}

/* In both flavours: bio_queue's record has what is needed, and a nested run
 * the kernel skips costs only the submitter (the current task stands in). */
SEC("tracepoint/block/block_bio_queue")
int tp_bio_queue(void *ctx)
{
	const volatile struct block_tp *tp = tp_layout(BLOCK_TP_BIO_QUEUE);

	if (tp)
		bio_queued(tp_read(ctx, &tp->dev), tp_read(ctx, &tp->sector));
	return 0;
}

#ifdef IOTRACE_LEGACY
/*
 * A perf-event tracepoint program does not run while another BPF program of
 * that kind runs on the same CPU (bpf_prog_active): a completion interrupting
 * one is missed (its request expires), which the kernel counts as
 * recursion_misses (6.x; src/block/mod.rs reports them). The raw_tp flavour
 * has no such shared guard.
 */
SEC("tracepoint/block/block_rq_insert")
int tp_rq_insert(void *ctx)
{
	struct block_rq_key k;

	if (tp_key(ctx, tp_layout(BLOCK_TP_RQ_INSERT), &k))
		rq_inserted(&k);
	return 0;
}

SEC("tracepoint/block/block_rq_issue")
int tp_rq_issue(void *ctx)
{
	const volatile struct block_tp *tp = tp_layout(BLOCK_TP_RQ_ISSUE);
	struct block_rq_key k;
	struct block_req *r;

	if (!tp_key(ctx, tp, &k) || !(r = rq_issuing(&k)))
		return 0;
	r->nr_sector = tp_read(ctx, &tp->nr_sector);
	r->bytes = tp_read(ctx, &tp->bytes);
	bpf_probe_read(r->rwbs, sizeof(r->rwbs), ctx + tp->rwbs.offset);
	rq_issue_done(r);
	return 0;
}

SEC("tracepoint/block/block_rq_complete")
int tp_rq_complete(void *ctx)
{
	const volatile struct block_tp *tp = tp_layout(BLOCK_TP_RQ_COMPLETE);
	struct block_rq_key k;

	if (tp_key(ctx, tp, &k))
		rq_completed(ctx, &k, (s32)tp_read(ctx, &tp->error), true);
	return 0;
}

#else /* raw_tp + CO-RE */
#include "request.bpf.h"

static __always_inline bool flag(u32 flags, u32 bit)
{
	return flags & (1U << (bit & 31));
}

/* blk_fill_rwbs(), so that user space decodes both flavours alike: the
 * letters packed into a little-endian u64 (indexing a stack array by a
 * variable is more than old verifiers accept). */
static __always_inline u64 rwbs_of(u32 flags)
{
	u64 rwbs = 0;
	u32 at = 0;
#define PUT(c) (rwbs |= (u64)(c) << at, at += 8)

	if (flag(flags, bpf_core_enum_value(enum req_flag_bits, __REQ_PREFLUSH)))
		PUT('F');
	switch (flags & REQ_OP_MASK) {
	case REQ_OP_WRITE:
		PUT('W');
		break;
	case REQ_OP_DISCARD:
		PUT('D');
		break;
	case REQ_OP_SECURE_ERASE:
		PUT('D');
		PUT('E');
		break;
	case REQ_OP_FLUSH:
		PUT('F');
		break;
	case REQ_OP_READ:
		PUT('R');
		break;
	default:
		PUT('N');
	}
	if (flag(flags, bpf_core_enum_value(enum req_flag_bits, __REQ_FUA)))
		PUT('F');
	if (flag(flags, bpf_core_enum_value(enum req_flag_bits, __REQ_RAHEAD)))
		PUT('A');
	if (flag(flags, bpf_core_enum_value(enum req_flag_bits, __REQ_SYNC)))
		PUT('S');
	if (flag(flags, bpf_core_enum_value(enum req_flag_bits, __REQ_META)))
		PUT('M');
#undef PUT
	return rwbs;
}

/* Requests are known by their pointer: exact, whatever their place. */
static __always_inline void raw_key(struct request *rq, struct block_rq_key *k)
{
	k->rq = (u64)rq;
	k->pos.dev = rq_dev(rq);
	k->pos._pad = 0;
	k->pos.sector = BPF_CORE_READ(rq, __sector);
}

SEC("raw_tp/block_rq_insert")
int raw_rq_insert(u64 *ctx)
{
	struct block_rq_key k;

	raw_key((struct request *)last_arg(ctx, get_config()->insert_rq_arg), &k);
	rq_inserted(&k);
	return 0;
}

SEC("raw_tp/block_rq_issue")
int raw_rq_issue(u64 *ctx)
{
	struct request *rq = (struct request *)last_arg(ctx, get_config()->issue_rq_arg);
	struct block_rq_key k;
	struct block_req *r;
	u64 rwbs;

	raw_key(rq, &k);
	if (!(r = rq_issuing(&k)))
		return 0;
	r->bytes = BPF_CORE_READ(rq, __data_len);
	r->nr_sector = r->bytes >> 9;
	rwbs = rwbs_of(BPF_CORE_READ(rq, cmd_flags));
	__builtin_memcpy(r->rwbs, &rwbs, sizeof(rwbs));
	rq_issue_done(r);
	return 0;
}

/* block_rq_complete(struct request *rq, blk_status_t error, unsigned int
 * nr_bytes): a block status, not an errno; any failure is reported as EIO. */
static __always_inline void raw_completed(u64 *ctx, bool first)
{
	struct block_rq_key k;

	raw_key((struct request *)ctx[0], &k);
	rq_completed(ctx, &k, (u8)ctx[1] ? -5 /* EIO */ : 0, first);
}

SEC("raw_tp/block_rq_complete")
int raw_rq_complete(u64 *ctx)
{
	raw_completed(ctx, true);
	return 0;
}

/* The same completion again, from a second program: the kernel skips a
 * program that a completion interrupts on its CPU (an interrupt ending a
 * batch of requests while it runs: 16 requests of a loop device at queue
 * depth 16 went unseen), not another one. Whichever runs first takes the
 * request out of `reqs`; the other then finds nothing to do. */
SEC("raw_tp/block_rq_complete")
int raw_rq_complete_again(u64 *ctx)
{
	raw_completed(ctx, false);
	return 0;
}
#endif

#endif /* IOTRACE_BLOCK_BPF_H */
