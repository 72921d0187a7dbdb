// SPDX-License-Identifier: GPL-2.0
/*
 * iotrace amplify: the page-cache and device layers of I/O amplification,
 * counted per file (dev, inode) and per process (comm) in one hash map.
 *
 * Device: every completed read or write request (raw_tp block_rq_complete,
 * where /proc/diskstats accounts it), its bytes split over its bios and each
 * bio charged to what its first page belongs to: the file of its page-cache
 * mapping (whoever submits it: a writing process, a flusher kworker, jbd2
 * writing ordered data), the file of a direct I/O (bi_end_io is iomap's, so
 * bi_private is the struct iomap_dio and its kiocb names the file), the
 * block device's own mapping (metadata through buffer heads), jbd2
 * (journal), or nothing known (unattributed). The sum over rows of a disk is
 * what diskstats counts for it.
 *
 * Page cache: folios added to a file's mapping outside a write syscall
 * (misses and read-ahead), folios dirtied.
 *
 * Who a row is charged to: the submitter's comm (block_bio_queue runs in
 * its context), except for writes of a file's pages (write-back), which go
 * to the process that last dirtied a page of that file, and the journal
 * written while a process is in an fsync on that file system (ext4), which
 * goes to that process.
 */
#include "compat.bpf.h"
#include "bits.bpf.h"
#include "amplify.h"
#include "request.bpf.h"
#include "amplify_counts.bpf.h"
#include "amplify_writes.bpf.h"

DECLARE_CONFIG(struct amp_config)

/* ---------------------------------------------------------------- kernel types (CO-RE) */

struct bvec_iter {
	unsigned long long bi_sector;
	unsigned int bi_size;
	unsigned int bi_idx;
} __attribute__((preserve_access_index));

struct bio_vec {
	struct page *bv_page;
} __attribute__((preserve_access_index));

struct block_device {
	u32 bd_dev;
	struct gendisk *bd_disk;
} __attribute__((preserve_access_index));

struct bio {
	struct bio *bi_next;
	struct block_device *bi_bdev; /* 5.12+ */
	unsigned int bi_opf;
	struct bvec_iter bi_iter;
	void *bi_end_io;
	void *bi_private;
	struct bio_vec *bi_io_vec;
} __attribute__((preserve_access_index));

struct super_block {
	u32 s_dev;
	struct block_device *s_bdev;
} __attribute__((preserve_access_index));

struct inode {
	unsigned short i_mode;
	u32 i_rdev;
	unsigned long i_ino;
	struct super_block *i_sb;
} __attribute__((preserve_access_index));

struct address_space {
	struct inode *host;
} __attribute__((preserve_access_index));

struct page {
	unsigned long compound_head; /* bit 0: a tail page, the rest its head */
	struct address_space *mapping;
} __attribute__((preserve_access_index));

/* compound_head's name in later kernels (7.x): bit 0 still marks a tail
 * page, but the rest may encode its head differently. */
struct page___info {
	unsigned long compound_info;
} __attribute__((preserve_access_index));

/* The order of a large folio: in the low byte of _flags_1 (6.6+), in
 * _folio_order before (5.16+, 1eb6bb64f5ae "mm: add folio_order"...). */
struct folio {
	unsigned long index;
	unsigned long _flags_1;
} __attribute__((preserve_access_index));

/* before folios (5.16) */
struct page___index {
	unsigned long index;
} __attribute__((preserve_access_index));

struct folio___order {
	unsigned char _folio_order;
} __attribute__((preserve_access_index));

struct file {
	struct inode *f_inode;
} __attribute__((preserve_access_index));

struct kiocb {
	struct file *ki_filp;
} __attribute__((preserve_access_index));

struct iomap_dio {
	struct kiocb *iocb;
} __attribute__((preserve_access_index));

struct task_struct {
	unsigned int flags;
} __attribute__((preserve_access_index));

struct pt_regs {
	unsigned long orig_ax;
} __attribute__((preserve_access_index));

enum pageflags {
	PG_head,
};

#define PF_KTHREAD 0x00200000 /* unchanged since 2.6 */
#define S_IFMT 00170000
#define S_IFREG 0100000
#define S_IFBLK 0060000
#define PAGE_SHIFT 12
#define PAGE_MAPPING_FLAGS 3UL /* anon and movable pages tag ->mapping */

/* ---------------------------------------------------------------- maps */

/* Who queued a bio, looked up at its completion. */
struct owner {
	char comm[AMP_COMM_LEN];
	u32 tgid;
	u32 tid;
	u64 queued_ns; /* --events: when it was queued, and where */
	u64 sector;
	u8 kthread;
	u8 journal;
	/* journal: the process in an fsync meanwhile, charged instead */
	char cause[AMP_COMM_LEN];
	/* named, so that `= {}` zeroes it: before 6.x (privileged uninitialised
	 * stack reads) the verifier refuses a map value with holes */
	u8 _pad[6];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, u64);
	__type(value, struct owner);
} owners SEC(".maps");

/* (s_dev, inode) -> comm of the process that last dirtied one of its folios. */
struct file_id {
	u32 dev;
	u32 _pad;
	u64 ino;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct file_id);
	__type(value, struct owner);
} dirtiers SEC(".maps");

/* Block device (partition) dev -> the process in an fsync of a file system
 * on it: the journal jbd2 writes meanwhile is charged to it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, u32);
	__type(value, struct owner);
} syncers SEC(".maps");

/* 1 between user space's two readings of /proc/diskstats: completions are
 * counted then only, so that each disk's rows and its diskstats change cover
 * the same time (attaching and detaching take milliseconds, in which other
 * processes' I/O completes too). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u32);
} counting SEC(".maps");

/* Requests in flight, by struct request address. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, u64);
	__type(value, struct amp_issued);
} issued SEC(".maps");

/* Disk -> requests whose end no program saw, found when their address was
 * issued again for a new request (while `counting`). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, u32);
	__type(value, struct amp_counts);
} unseen SEC(".maps");

/* Empty REQ_PREFLUSH writes (the cache flush of an fsync or a journal
 * commit) queued while `counting`, by bio address, until their end: blk-mq
 * issues a flush request in their place, so `issued` never has them, yet
 * diskstats counts each as a write. What is left when tracing stops, or
 * when another bio is queued at the address, ended unseen. 5.12+ (bi_bdev). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, u64);
	__type(value, struct amp_issued);
} flushes SEC(".maps");

/* 1 while amp_rq_complete runs on this CPU (amp_rq_complete_again). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u32);
} completing SEC(".maps");

/* --events (sized by user space: one page without) */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} events SEC(".maps");

/* ---------------------------------------------------------------- helpers */

/* --events: one event of row k */
static __always_inline void emit(const struct amp_key *k, bool write, u64 bytes, u64 offset, const struct owner *o,
				 u64 lat_ns, s32 ret)
{
	struct amp_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		count_in(&amp_drops, AMP_EVENTS_LOST, 1);
		return;
	}
	e->ts_ns = bpf_ktime_get_ns();
	e->lat_ns = lat_ns;
	e->offset = offset;
	e->ino = k->ino;
	e->fs_dev = k->fs_dev;
	e->disk = k->disk;
	e->pid = o ? o->tgid : 0;
	e->tid = o ? o->tid : 0;
	e->bytes = bytes;
	e->ret = ret;
	e->layer = k->layer;
	e->kind = k->kind;
	e->write = write;
	__builtin_memset(e->_pad, 0, sizeof(e->_pad));
	if (o)
		__builtin_memcpy(e->comm, o->comm, sizeof(e->comm));
	else
		__builtin_memset(e->comm, 0, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
}

static __always_inline void current_owner(struct owner *o)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();

	u64 id = bpf_get_current_pid_tgid();

	bpf_get_current_comm(o->comm, sizeof(o->comm));
	o->tgid = id >> 32;
	o->tid = (u32)id;
	o->kthread = !!(BPF_CORE_READ(t, flags) & PF_KTHREAD);
	/* jbd2's threads are named jbd2/DEVICE */
	o->journal = o->kthread && o->comm[0] == 'j' && o->comm[1] == 'b' && o->comm[2] == 'd' && o->comm[3] == '2' &&
		     o->comm[4] == '/';
}

/* Fill k's kind and file from the inode whose pages (or direct I/O) moved. */
static __always_inline void charge_inode(struct amp_key *k, struct inode *host, bool journal)
{
	u16 mode = BPF_CORE_READ(host, i_mode) & S_IFMT;

	if (mode == S_IFREG) {
		k->kind = AMP_FILE;
		k->fs_dev = BPF_CORE_READ(host, i_sb, s_dev);
		k->ino = BPF_CORE_READ(host, i_ino);
	} else if (journal) {
		k->kind = AMP_JOURNAL;
	} else {
		/* the block device's own mapping; directories of file systems with their own */
		k->kind = AMP_METADATA;
		k->fs_dev = mode == S_IFBLK ? BPF_CORE_READ(host, i_rdev) : BPF_CORE_READ(host, i_sb, s_dev);
	}
}

/* The mapping of a page-cache page (its folio's: the head page's), or NULL
 * for anonymous and other pages. */
static __always_inline struct address_space *page_mapping(struct page *p)
{
	unsigned long head, m;

	if (bpf_core_field_exists(p->compound_head)) {
		head = BPF_CORE_READ(p, compound_head);
		if (head & 1)
			p = (struct page *)(head - 1);
	} else if (BPF_CORE_READ((struct page___info *)p, compound_info) & 1) {
		/* A tail page whose head is not decoded: its bytes go
		 * unattributed. A page-cache bio names its folio's head page. */
		return NULL;
	}
	m = (unsigned long)BPF_CORE_READ(p, mapping);
	return m & PAGE_MAPPING_FLAGS ? NULL : (struct address_space *)m;
}

/* The folio's first byte in its file. */
static __always_inline u64 folio_offset(struct folio *f)
{
	if (bpf_core_field_exists(f->index))
		return (u64)BPF_CORE_READ(f, index) << PAGE_SHIFT;
	return (u64)BPF_CORE_READ((struct page___index *)f, index) << PAGE_SHIFT;
}

static __always_inline u64 folio_bytes(struct folio *f)
{
	u64 flags = 0;
	u32 order = 0;

	/* page->flags is the first word of struct page/folio in every kernel */
	bpf_probe_read_kernel(&flags, sizeof(flags), f);
	if (!(flags & (1ULL << (bpf_core_enum_value(enum pageflags, PG_head) & 63))))
		return 1 << PAGE_SHIFT;
	if (bpf_core_field_exists(f->_flags_1))
		order = BPF_CORE_READ(f, _flags_1) & 0xff;
	else if (bpf_core_field_exists(((struct folio___order *)f)->_folio_order))
		order = BPF_CORE_READ((struct folio___order *)f, _folio_order);
	return 1ULL << ((PAGE_SHIFT + order) & 63);
}

/* ---------------------------------------------------------------- device layer */

/* A request's end nobody saw: one more unseen on its disk, if it was
 * followed while counting. */
static __always_inline void unseen_end(const struct amp_issued *i)
{
	struct amp_counts *c;

	if (i->counted && (c = counts_of(&unseen, &i->disk)))
		counts_add(c, i->write, i->bytes, 1);
}

/* Follow an empty REQ_PREFLUSH write (`flushes`) to its end. */
static __always_inline void flush_queued(u64 addr)
{
	struct bio *bio = (struct bio *)addr;
	struct amp_issued f = { .write = 1, .counted = 1 }, *old;
	u32 opf, z = 0, *on;

	if (!bpf_core_field_exists(bio->bi_bdev))
		return;
	old = bpf_map_lookup_elem(&flushes, &addr);
	if (old) {
		/* the bio was freed, so it ended: unseen */
		unseen_end(old);
		bpf_map_delete_elem(&flushes, &addr);
	}
	opf = BPF_CORE_READ(bio, bi_opf);
	on = bpf_map_lookup_elem(&counting, &z);
	if ((opf & REQ_OP_MASK) != REQ_OP_WRITE || BPF_CORE_READ(bio, bi_iter.bi_size) || !on || !*on ||
	    !(opf & (1U << (bpf_core_enum_value(enum req_flag_bits, __REQ_PREFLUSH) & 31))) ||
	    !BPF_CORE_READ(bio, bi_bdev, bd_disk, queue, mq_ops))
		return;
	f.disk = disk_dev(BPF_CORE_READ(bio, bi_bdev, bd_disk));
	bpf_map_update_elem(&flushes, &addr, &f, BPF_ANY);
}

/* A bio was queued: who did it (and, --events, when and where). */
static __always_inline int bio_queued(u64 bio)
{
	struct owner o = {}, *s;
	u32 dev;

	flush_queued(bio);
	current_owner(&o);
	if (get_config()->events) {
		o.queued_ns = bpf_ktime_get_ns();
		o.sector = BPF_CORE_READ((struct bio *)bio, bi_iter.bi_sector);
	}
	if (o.journal && bpf_core_field_exists(((struct bio *)bio)->bi_bdev)) {
		dev = BPF_CORE_READ((struct bio *)bio, bi_bdev, bd_dev);
		s = bpf_map_lookup_elem(&syncers, &dev);
		if (s)
			__builtin_memcpy(o.cause, s->comm, sizeof(o.cause));
	}
	bpf_map_update_elem(&owners, &bio, &o, BPF_ANY);
	return 0;
}

SEC("raw_tp/block_bio_queue")
int amp_bio_queue(u64 *ctx)
{
	const volatile struct amp_config *cfg = get_config();

	return cfg ? bio_queued(last_arg(ctx, cfg->bio_arg)) : 0;
}

/* A read or write request went to its driver. */
static __always_inline int rq_issued(u64 addr)
{
	struct request *rq = (struct request *)addr;
	u32 op = BPF_CORE_READ(rq, cmd_flags) & REQ_OP_MASK, z = 0, *on;
	struct amp_issued i = {}, *old;

	if (op != REQ_OP_READ && op != REQ_OP_WRITE)
		return 0;
	i.start_ns = BPF_CORE_READ(rq, start_time_ns);
	old = bpf_map_lookup_elem(&issued, &addr);
	on = bpf_map_lookup_elem(&counting, &z);
	/* Another request at this address (not this one requeued): that one's
	 * end was never seen (blk-mq reuses request addresses at once). */
	if (old && old->start_ns != i.start_ns)
		unseen_end(old);
	i.counted = on && *on;
	i.disk = rq_dev(rq);
	i.bytes = BPF_CORE_READ(rq, __data_len);
	i.write = op == REQ_OP_WRITE;
	if (bpf_map_update_elem(&issued, &addr, &i, BPF_ANY))
		count_in(&amp_drops, AMP_ISSUED_FULL, 1);
	return 0;
}

SEC("raw_tp/block_rq_issue")
int amp_rq_issue(u64 *ctx)
{
	const volatile struct amp_config *cfg = get_config();

	return cfg ? rq_issued(last_arg(ctx, cfg->rq_arg)) : 0;
}

/* An fsync on ext4 (ext4_sync_file_enter(struct file *, int datasync)):
 * the journal commits it waits for are its doing. */
SEC("raw_tp/ext4_sync_file_enter")
int amp_sync_enter(u64 *ctx)
{
	struct file *f = (struct file *)ctx[0];
	u32 dev = BPF_CORE_READ(f, f_inode, i_sb, s_bdev, bd_dev);
	struct owner o = {};

	current_owner(&o);
	o.journal = 0;
	bpf_map_update_elem(&syncers, &dev, &o, BPF_ANY);
	return 0;
}

/* ext4_sync_file_exit(struct inode *, int ret) */
SEC("raw_tp/ext4_sync_file_exit")
int amp_sync_exit(u64 *ctx)
{
	struct inode *inode = (struct inode *)ctx[0];
	u32 dev = BPF_CORE_READ(inode, i_sb, s_bdev, bd_dev);
	struct owner *o = bpf_map_lookup_elem(&syncers, &dev);

	/* not when another process's fsync has begun since */
	if (o && o->tgid == bpf_get_current_pid_tgid() >> 32)
		bpf_map_delete_elem(&syncers, &dev);
	return 0;
}

/* Charge `bytes` of the bio at `addr` (one of a request on `disk`) to its
 * row; `how`: bit 0 write, bit 1 the request's op is counted here, bit 2 the
 * bio is done with (its owner entry goes), bit 3 the request failed. A global function: verified once, not per bio of
 * the caller's loop. */
GLOBAL_FN int amp_bio(u64 addr, u32 disk, u32 bytes, u32 how)
{
	const volatile struct amp_config *cfg = get_config();
	struct bio *bio = (struct bio *)addr, *parent;
	struct amp_key k = { .disk = disk, .layer = AMP_DEVICE, .kind = AMP_UNATTRIBUTED };
	struct owner *o, *d, *submitter;
	struct address_space *mapping;
	struct bio_vec *vec;
	u64 parent_addr;
	u32 idx;
	void *end_io;
	bool journal, dio;

	if (!cfg)
		return 0;
	end_io = BPF_CORE_READ(bio, bi_end_io);
	if (cfg->chain_end_io && (u64)end_io == cfg->chain_end_io) {
		/* split off a bio that was queued (and traced) whole: never queued
		 * itself, so an entry at its address would be another bio's */
		parent = BPF_CORE_READ(bio, bi_private);
		parent_addr = (u64)parent;
		o = bpf_map_lookup_elem(&owners, &parent_addr);
		end_io = BPF_CORE_READ(parent, bi_end_io);
		if (cfg->dio_end_io && (u64)end_io == cfg->dio_end_io)
			bio = parent;
	} else {
		o = bpf_map_lookup_elem(&owners, &addr);
	}
	submitter = o;
	journal = o && o->journal;
	dio = cfg->dio_end_io && (u64)end_io == cfg->dio_end_io;
	if (dio) {
		/* first: a direct I/O's pages may be another file's (a loop
		 * device's reads and writes of its backing file carry the pages of
		 * the file system above it) */
		struct iomap_dio *iod = BPF_CORE_READ(bio, bi_private);

		charge_inode(&k, BPF_CORE_READ(iod, iocb, ki_filp, f_inode), journal);
	} else {
		/* the kernel's bio_vec, not this file's one-field view of it; no
		 * bytes: the end of a flush sequence, the bio's iterator is spent */
		idx = bytes ? BPF_CORE_READ(bio, bi_iter.bi_idx) : 0;
		vec = (void *)BPF_CORE_READ(bio, bi_io_vec) + idx * bpf_core_type_size(struct bio_vec);
		mapping = page_mapping(BPF_CORE_READ(vec, bv_page));
		if (mapping)
			charge_inode(&k, BPF_CORE_READ(mapping, host), journal);
		else if (journal)
			k.kind = AMP_JOURNAL; /* jbd2's copies of buffers it had to escape */
	}
	/* written-back pages are the data of who dirtied them, whoever writes
	 * them back (a flusher, sync, a memory-starved allocator) */
	if (k.kind == AMP_FILE && (how & 1) && !dio) {
		struct file_id f = { .dev = k.fs_dev, .ino = k.ino };

		d = bpf_map_lookup_elem(&dirtiers, &f);
		if (d)
			o = d;
	}
	if (cfg->events) {
		/* the submitter (of the whole, for a split bio), not who the row is
		 * charged to */
		struct owner *q = submitter;

		emit(&k, how & 1, bytes, q ? q->sector << 9 : 0, q, q ? bpf_ktime_get_ns() - q->queued_ns : 0,
		     how & 8 ? -5 /* EIO */ : 0);
	}
	if (o)
		__builtin_memcpy(k.comm, k.kind == AMP_JOURNAL && o->cause[0] ? o->cause : o->comm, sizeof(k.comm));
	add(&k, how & 1, bytes, (how >> 1) & 1);
	if (how & 4)
		bpf_map_delete_elem(&owners, &addr);
	return 0;
}

/* The request at addr ends. Its `issued` entry goes; if that entry is an
 * earlier request's (an empty flush, never issued, can take the address of
 * one whose end no program saw), that one ended unseen. */
static __always_inline void issued_ends(u64 addr)
{
	struct amp_issued *i = bpf_map_lookup_elem(&issued, &addr);

	if (!i)
		return;
	if (i->start_ns != BPF_CORE_READ((struct request *)addr, start_time_ns))
		unseen_end(i);
	bpf_map_delete_elem(&issued, &addr);
}

/* Part of the request at addr completed (the data of a flush sequence,
 * whose end comes later with no bytes): if that end is missed, only what
 * is left of it is unseen. */
static __always_inline void issued_part(u64 addr, u32 done)
{
	struct amp_issued *i = bpf_map_lookup_elem(&issued, &addr);

	if (i && i->start_ns == BPF_CORE_READ((struct request *)addr, start_time_ns))
		i->bytes = i->bytes > done ? i->bytes - done : 0;
}

#define MAX_BIOS 256

/* block_rq_complete(struct request *rq, blk_status_t error, unsigned int
 * nr_bytes): nr_bytes of rq's bios, from its first, completed. The request
 * counts as one operation where diskstats counts it: at its end (no bytes
 * left after these), unless it is in a flush sequence, which ends it again
 * with no bytes (an empty write with REQ_PREFLUSH only ends that way). */
static __always_inline int rq_complete(u64 *ctx)
{
	const volatile struct amp_config *cfg = get_config();
	struct request *rq = (struct request *)ctx[0];
	u32 left = ctx[2], op = BPF_CORE_READ(rq, cmd_flags) & REQ_OP_MASK, disk, how, zero = 0, *on;
	struct bio *bio;
	bool ends;

	if (!cfg)
		return 0;
	ends = left >= BPF_CORE_READ(rq, __data_len) && !(BPF_CORE_READ(rq, rq_flags) & cfg->rqf_flush_seq);
	bio = BPF_CORE_READ(rq, bio);
	if (!left && bio)
		bpf_map_delete_elem(&flushes, &bio); /* if an empty flush, it ends */
	if ((op != REQ_OP_READ && op != REQ_OP_WRITE) || (!left && !ends))
		return 0;
	if (ends)
		issued_ends((u64)rq);
	else
		issued_part((u64)rq, left);
	on = bpf_map_lookup_elem(&counting, &zero);
	if (!on || !*on)
		return 0;
	disk = rq_dev(rq);
	/* a blk_status_t, not an errno: any failure is reported as EIO */
	how = (op == REQ_OP_WRITE) | ends << 1 | !!(u8)ctx[1] << 3;
	if (!left && bio) {
		amp_bio((u64)bio, disk, 0, how | 4);
		return 0;
	}
	for (int i = 0; i < MAX_BIOS && bio && left; i++) {
		u32 size = BPF_CORE_READ(bio, bi_iter.bi_size), n = size < left ? size : left;

		/* a bio of a flush sequence is ended with its request's last end */
		amp_bio((u64)bio, disk, n, how | (n == size && ends) << 2);
		how &= ~2U; /* the op goes to the first bio's row */
		left -= n;
		bio = BPF_CORE_READ(bio, bi_next);
	}
	if (left || (how & 2)) {
		struct amp_key k = { .disk = disk, .layer = AMP_DEVICE, .kind = AMP_UNATTRIBUTED };

		if (left)
			count_in(&amp_drops, AMP_LONG_CHAIN, 1);
		add(&k, op == REQ_OP_WRITE, left, (how >> 1) & 1);
	}
	return 0;
}

SEC("raw_tp/block_rq_complete")
int amp_rq_complete(u64 *ctx)
{
	u32 zero = 0, *busy = bpf_map_lookup_elem(&completing, &zero);

	if (busy)
		*busy = 1;
	rq_complete(ctx);
	if (busy)
		*busy = 0;
	return 0;
}

/* The same tracepoint again, for the completions the kernel skips
 * amp_rq_complete for: those that come while it runs on their CPU (an
 * interrupt ending requests, or a task that preempted it), which it does
 * not run a program within itself for. Those alone find `completing` set:
 * the others were counted before this program ran. As block.bpf.h's
 * raw_rq_complete_again does for the block tools. */
SEC("raw_tp/block_rq_complete")
int amp_rq_complete_again(u64 *ctx)
{
	u32 zero = 0, *busy = bpf_map_lookup_elem(&completing, &zero);

	if (busy && *busy)
		rq_complete(ctx);
	return 0;
}

/* ---------------------------------------------------------------- page-cache layer */

/* Syscalls whose page-cache insertions are the pages they write into, not
 * misses (x86-64 numbers; 32-bit syscalls are not told apart); before 5.15,
 * writes the VFS hooks saw (amplify_writes.bpf.h), if attached. */
static __always_inline bool in_write_syscall(void)
{
	struct pt_regs *regs;
	long nr;

	if (!bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_task_pt_regs))
		return in_vfs_write();
	regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	nr = BPF_CORE_READ(regs, orig_ax);
	return nr == 1 || nr == 18 || nr == 20 || nr == 296 || nr == 328; /* write pwrite64 writev pwritev pwritev2 */
}

static __always_inline void fs_add(struct folio *folio, struct address_space *mapping, bool write)
{
	struct amp_key k = { .layer = AMP_FS };
	struct owner o = {};

	if (!mapping)
		return;
	charge_inode(&k, BPF_CORE_READ(mapping, host), false);
	current_owner(&o);
	if (write && k.kind == AMP_FILE && !o.kthread) {
		struct file_id f = { .dev = k.fs_dev, .ino = k.ino };

		bpf_map_update_elem(&dirtiers, &f, &o, BPF_ANY);
	}
	__builtin_memcpy(k.comm, o.comm, sizeof(k.comm));
	add(&k, write, folio_bytes(folio), 1);
	if (get_config()->events)
		emit(&k, write, folio_bytes(folio), folio_offset(folio), &o, 0, 0);
}

/* mm_filemap_add_to_page_cache(struct folio *) (struct page * before 5.16:
 * its mapping is at the same place) */
SEC("raw_tp/mm_filemap_add_to_page_cache")
int amp_page_cache_add(u64 *ctx)
{
	struct page *p = (struct page *)ctx[0];

	if (!in_write_syscall())
		fs_add((struct folio *)p, BPF_CORE_READ(p, mapping), false);
	return 0;
}

/* writeback_dirty_folio(struct folio *, struct address_space *) (5.17+) */
SEC("raw_tp/writeback_dirty_folio")
int amp_dirty_folio(u64 *ctx)
{
	fs_add((struct folio *)ctx[0], (struct address_space *)ctx[1], true);
	return 0;
}

/* writeback_dirty_page(struct page *, struct address_space *) before it */
SEC("raw_tp/writeback_dirty_page")
int amp_dirty_page(u64 *ctx)
{
	fs_add((struct folio *)ctx[0], (struct address_space *)ctx[1], true);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
