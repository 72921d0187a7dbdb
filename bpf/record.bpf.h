/* SPDX-License-Identifier: GPL-2.0 */
/*
 * iotrace record: the accounting shared by record.bpf.c (CO-RE identity,
 * kernels with BTF) and record_legacy.bpf.c (fd-table identity, 4.14+).
 *
 * The including file implements the identity hooks declared below, then
 * attaches io_enter()/io_exit() to syscall entry and exit.
 */
#ifndef IOTRACE_RECORD_BPF_H
#define IOTRACE_RECORD_BPF_H

#include "compat.bpf.h"
#include "bits.bpf.h"
#include "record.h"

/* x86-64 open flags (uapi asm-generic/fcntl.h) */
#define O_APPEND 02000
#define O_DSYNC 010000
#define O_DIRECT 040000
#define __O_SYNC 04000000
#define RWF_APPEND 0x10 /* pwritev2 flag: append whatever the offset */
#define PROT_READ 0x1
#define PROT_WRITE 0x2
#define PROT_EXEC 0x4
#define MAP_SHARED 0x01
#define MAP_SHARED_VALIDATE 0x03
#define MAP_TYPE 0x0f
#define MAP_ANONYMOUS 0x20
#ifndef MAX_IOVECS
#define MAX_IOVECS 1024 /* UIO_MAXIOV: every iovec a syscall accepts */
#endif

DECLARE_CONFIG(struct record_config)

/* ---------------------------------------------------------------- identity hooks */

/* What names the file behind an fd for the rest of the syscall (modern: the
 * struct file pointer, legacy: the fd); 0 if there is none. */
static __always_inline u64 file_ref(u32 fd);
/* Where an I/O on `ref` without an offset starts: the file position, or for
 * an appending write the end of the file. */
static __always_inline u64 file_pos(u64 ref, bool append);
/* Was `ref` opened O_APPEND (every write goes to the end, whatever its offset)? */
static __always_inline bool file_appends(u64 ref);
/* Per-open-file state of `ref`, its identity resolved on first sight; NULL
 * for files that are not counted. `sync`: for an fsync or fdatasync, which
 * count on directories too (databases sync the directory of a file they
 * created or renamed). */
static __always_inline struct open_file *file_state(u64 ref, bool sync);
/* The name of the process doing the I/O, into comm (RECORD_COMM_LEN). */
static __always_inline void current_comm(char *comm);
/* Changes when the current process execs (0 where that cannot be read). */
static __always_inline u32 current_exec_id(void);
/* `ref` was closed successfully. */
static __always_inline void file_closed(u64 ref, struct open_file *of);

/* ---------------------------------------------------------------- maps */

/* The result maps are allocated at run time (BPF_F_NO_PREALLOC) where that is
 * safe: their sizes are limits for large workloads, and preallocating them
 * would take hundreds of MB. Entries are created once per file, syscall and
 * bucket, so the allocation stays off the hot path. Before 6.1 user space
 * switches them to smaller preallocated maps (src/record/mod.rs:
 * size_result_maps, and probe.rs: runtime_alloc_maps). */

/* Processes to trace, unless trace_all: bit (tgid % 64) of word tgid / 64.
 * An array, so that the filter every syscall of every process passes is an
 * inlined address computation, not a hash lookup. User space sizes it to
 * /proc/sys/kernel/pid_max and sets the first bits before attaching; after
 * that only fork and exec set bits, each its own task's, so two updates of
 * one bit never race and an atomic add sets a bit (atomic or is 5.12+). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 65536); /* PID_MAX_LIMIT / 64 */
	__type(key, u32);
	__type(value, u64);
} traced SEC(".maps");

#define INFL_POS 1    /* I/O at the file position: advance it */
#define INFL_POS_IN 2 /* a copy's in-file at its file position */
/* An mmap's sharing and protection, carried to its exit with its length in
 * `req`: its arguments are gone there for the per-syscall strategies. */
#define INFL_MAP_SHARED 4
#define INFL_PROT_READ 8
#define INFL_PROT_WRITE 16
#define INFL_PROT_EXEC 32

/* A syscall between its entry and exit, per thread. */
struct inflight {
	u64 ts;
	u64 ref;    /* file_ref() (a copy's out-file: two_files()) */
	u64 ref_in; /* a copy's in-file */
	u64 off;    /* offset of the I/O (a copy's out-file) */
	u64 off_in;
	u64 req;    /* bytes requested */
	u32 kind;
	u32 flags;  /* INFL_* */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, u32);
	__type(value, struct inflight);
} inflight SEC(".maps");

/*
 * Histograms are kept inline in the values of syscall_stats, so that a read
 * or write costs one lookup there. Not in the legacy object: before 4.18
 * (d71962f3e627 "bpf: allow map helpers access to map values directly") a
 * new value can only come from the stack, and 512 bytes of it are all there
 * is. Its syscall_stats holds the counters in front of the inline
 * histograms alone (user space reads the shorter values), and every
 * histogram is sparse.
 */
#ifdef IOTRACE_LEGACY
#define INLINE_HISTS 0
#define VALUE_UP_TO(type, first_hist) __uint(value_size, __builtin_offsetof(type, first_hist))
#else
#define INLINE_HISTS 1
#define VALUE_UP_TO(type, first_hist) __type(value, type)
#endif
/* An inline histogram where there are any, else NULL (the sparse map). */
#define INLINE(slots) (INLINE_HISTS ? (slots) : NULL)

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 131072);
	__type(key, struct file_key);
	__type(value, struct file_stats);
} file_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 262144);
	__type(key, struct stat_key);
	VALUE_UP_TO(struct syscall_stats, request);
} syscall_stats SEC(".maps");

/* Sparse histograms: only non-empty buckets exist. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 1048576);
	__type(key, struct hist_key);
	__type(value, u64);
} hists SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 65536);
	__type(key, struct errno_key);
	__type(value, u64);
} errnos SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 131072);
	__type(key, struct user_key);
	__type(value, struct file_user);
} users SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 131072);
	__type(key, struct file_key);
	__type(value, struct open_counts);
} file_opens SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 131072);
	__type(key, struct file_key);
	__type(value, struct map_counts);
} file_maps SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, DROP_NR);
	__type(key, u32);
	__type(value, u64);
} drops SEC(".maps");

/* ---------------------------------------------------------------- helpers */

/* `n` updates lost, for reason `why`. */
static __always_inline void drop(u32 why, u64 n)
{
	count_in(&drops, why, n);
}

static __always_inline bool is_traced(u32 tgid)
{
	const volatile struct record_config *cfg = get_config();
	u32 word = tgid / 64;
	u64 *bits;

	if (!cfg || tgid == cfg->self_tgid)
		return false;
	if (cfg->trace_all)
		return true;
	bits = bpf_map_lookup_elem(&traced, &word);
	return bits && (*bits >> (tgid % 64)) & 1;
}

static __always_inline void set_traced(u32 tgid)
{
	u32 word = tgid / 64;
	u64 bit = 1ULL << (tgid % 64), *bits = bpf_map_lookup_elem(&traced, &word);

	if (bits && !(*bits & bit))
		__sync_fetch_and_add(bits, bit);
}

#if INLINE_HISTS
/* A zeroed syscall_stats to create values from: too big for the stack. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct syscall_stats);
} zero_stats SEC(".maps");
#endif

/* Find or create a value from `zero`; NULL (and a counted drop) if the map
 * is full. */
static __always_inline void *lookup_or_init(void *map, const void *key, const void *zero)
{
	void *v = map_find_or_create(map, key, zero);

	if (!v)
		drop(DROP_FILES, 1);
	return v;
}

/* Add n (wrapping: a completed_hist delta may be -1) to `slot` of the
 * sparse histogram `hist` of `file`. */
static __always_inline void hist_count_sparse(const struct file_key *file, u32 hist, u32 slot, u64 n)
{
	struct hist_key k = { .file = *file, .hist = hist, .slot = slot };
	u64 zero = 0, *c = lookup_or_init(&hists, &k, &zero);

	if (c)
		__sync_fetch_and_add(c, n);
}

static __always_inline void hist_add(const struct file_key *file, u32 hist, u64 value)
{
	hist_count_sparse(file, hist, log2_slot(value), 1);
}

/* The histogram slot of a size. In the CO-RE object behind a global
 * function, whose result the verifier takes as any number: indexing an
 * inline histogram by a slot it can trace back to the syscall's return
 * value would make that value precise, and states that differ in it would
 * no longer be pruned (raw_sys_exit: 23k states and 0.9 s to verify, 7.8k
 * and 0.35 s with this). */
#if INLINE_HISTS
__noinline u32 opaque_slot(u64 value)
{
	return log2_slot(value);
}
#define SIZE_SLOT opaque_slot
#else
#define SIZE_SLOT log2_slot
#endif

/* Add n to `slot` of an inline histogram (`slots`, RECORD_INLINE_SLOTS
 * long), or, past its last slot or without one (INLINE), of the sparse one
 * `hist` of `file`. */
SUBPROG void hist_count(u64 *slots, const struct file_key *file, u32 hist, u32 slot, u64 n)
{
	if (slots && slot < RECORD_INLINE_SLOTS)
		__sync_fetch_and_add(&slots[slot], n);
	else
		hist_count_sparse(file, hist, slot, n);
}

/* The io_kinds of a class (record.h: RECORD_KINDS) as a bit mask: a
 * constant wherever `cls` is one, so a class test is a shift and an and. */
#define KIND_CLASS_READ 1
#define KIND_CLASS_WRITE 2
#define KIND_CLASS_SYNC 3
#define KIND_CLASS_CLOSE 4
#define KIND_CLASS_OTHER 5
#define KIND_CLASS_BATCH 6
#define KIND_IF_CLASS(kind, name, class, via) | (KIND_CLASS_##class == cls ? 1ull << kind : 0)
_Static_assert(IO_NR_KINDS <= 64, "io_kind masks are 64-bit");

static __always_inline bool of_class(u32 kind, const u32 cls)
{
	return kind < IO_NR_KINDS && ((0 RECORD_KINDS(KIND_IF_CLASS)) >> kind) & 1;
}

static __always_inline bool is_read(u32 kind)
{
	return of_class(kind, KIND_CLASS_READ);
}

static __always_inline bool is_write(u32 kind)
{
	return of_class(kind, KIND_CLASS_WRITE);
}

/* fsync, fdatasync and their AIO and io_uring forms */
static __always_inline bool is_sync(u32 kind)
{
	return of_class(kind, KIND_CLASS_SYNC);
}

/* Does a syscall of `kind` take an explicit offset, its fourth argument
 * (pos_low and pos_high, the fourth and fifth, from a 32-bit caller)? */
static __always_inline bool positional(u32 kind)
{
	return kind == IO_PREAD64 || kind == IO_PWRITE64 || kind == IO_PREADV || kind == IO_PWRITEV ||
	       kind == IO_PREADV2 || kind == IO_PWRITEV2;
}

/* Does a syscall of `kind` move bytes from one file to another? It is
 * accounted as `kind` on its out-file and as `kind - 1` on its in-file
 * (record.h: RECORD_SYSCALLS). A mask, not `kind == A || ...`: clang merges
 * account_done()'s two io_done_on() calls under such a test into one with
 * selected arguments, which the legacy programs' constant kind no longer
 * folds away, and they overflow the 512-byte stack. */
static __always_inline bool two_files(u32 kind)
{
	const u64 mask = 1ull << IO_SENDFILE_OUT | 1ull << IO_COPY_FILE_RANGE_OUT | 1ull << IO_SPLICE_OUT;

	return kind < 64 && (mask >> kind) & 1;
}

/* A sequential run of `len` bytes ended, last extended by a call of
 * `kind`, whose counters are `sc`. */
static __always_inline void run_ended(const struct file_key *key, struct syscall_stats *sc, u32 kind, u64 len)
{
	hist_count(INLINE(sc->seq), key, is_read(kind) ? HIST_SEQ_READ : HIST_SEQ_WRITE, SIZE_SLOT(len), 1);
}

/* The sequential runs of `of` end (its struct file is gone or reused). */
static __always_inline void flush_runs(struct open_file *of)
{
	struct stat_key sk = { .file = of->key, .kind = of->read_kind };
	struct syscall_stats *sc;

	if (of->read_run && (sc = bpf_map_lookup_elem(&syscall_stats, &sk)))
		run_ended(&of->key, sc, sk.kind, of->read_run);
	sk.kind = of->write_kind;
	if (of->write_run && (sc = bpf_map_lookup_elem(&syscall_stats, &sk)))
		run_ended(&of->key, sc, sk.kind, of->write_run);
	of->read_run = of->write_run = 0;
}

/* Count an open, with open(2) `flags`, in a file's open_counts. */
static __always_inline void count_open_in(struct open_counts *c, u32 flags)
{
	__sync_fetch_and_add(&c->n[OPENS_ALL], 1);
	if (flags & O_DIRECT)
		__sync_fetch_and_add(&c->n[OPENS_DIRECT], 1);
	if (flags & __O_SYNC)
		__sync_fetch_and_add(&c->n[OPENS_SYNC], 1);
	else if (flags & O_DSYNC)
		__sync_fetch_and_add(&c->n[OPENS_DSYNC], 1);
	if (flags & O_APPEND)
		__sync_fetch_and_add(&c->n[OPENS_APPEND], 1);
}

/* Count an open of the file `key` (on the stack before 4.18: d71962f3e627). */
static __always_inline void count_open(const struct file_key *key, u32 flags)
{
	struct open_counts zero = {}, *c = lookup_or_init(&file_opens, key, &zero);

	if (c)
		count_open_in(c, flags);
}

/* Count a successful mmap, as view_args() described it in `in`, of the
 * file whose state is `of`. */
static __always_inline void count_map(const struct open_file *of, const struct inflight *in)
{
	struct map_counts zero = {}, *c;
	struct file_key key = of->key; /* map keys live on the stack before 4.18 */

	/* 1 or 0, added to both sides: constant indices, which clang cannot
	 * turn into one computed from the flag's bit (4.14 to 5.4 cannot bound
	 * that). */
	u64 shared = (in->flags & INFL_MAP_SHARED) ? 1 : 0;

	c = lookup_or_init(&file_maps, &key, &zero);
	if (!c)
		return;
	__sync_fetch_and_add(&c->n[MAPS_SHARED], shared);
	__sync_fetch_and_add(&c->n[MAPS_PRIVATE], 1 - shared);
	__sync_fetch_and_add(&c->n[MAPS_SHARED_BYTES], shared * in->req);
	__sync_fetch_and_add(&c->n[MAPS_PRIVATE_BYTES], (1 - shared) * in->req);
	if (in->flags & INFL_PROT_READ)
		__sync_fetch_and_add(&c->n[MAPS_READ], 1);
	if (in->flags & INFL_PROT_WRITE)
		__sync_fetch_and_add(&c->n[MAPS_WRITE], 1);
	if (in->flags & INFL_PROT_EXEC)
		__sync_fetch_and_add(&c->n[MAPS_EXEC], 1);
}

/* Extend or restart a sequential run, by a call of `kind` (counters `sc`). */
static __always_inline void run_step(const struct file_key *key, struct syscall_stats *sc, u32 kind, u64 *next,
				     u64 *run, u64 off, u64 n)
{
	if (*run && off == *next) {
		*run += n;
	} else {
		if (*run)
			run_ended(key, sc, kind, *run);
		*run = n;
	}
	*next = off + n;
	/* Not atomic: a larger end from another CPU at the same moment can be lost. */
	if (*next > sc->end)
		sc->end = *next;
}

/* Bytes written to the file so far: the sum over its writing syscalls
 * (at fsync, rarely, instead of one more lookup at every write). */
static __always_inline u64 written_bytes(const struct file_key *file)
{
	struct stat_key sk = { .file = *file };
	struct syscall_stats *sc;
	u64 total = 0;

#pragma unroll
	for (u32 kind = 0; kind < IO_NR_KINDS; kind++) {
		sk.kind = kind;
		if (is_write(kind) && (sc = bpf_map_lookup_elem(&syscall_stats, &sk)))
			total += sc->bytes;
	}
	return total;
}

/* One completed syscall on one file. */
struct io_done {
	u64 off;
	u64 req;
	u64 start; /* entry time; 0: seen at its exit alone, now */
	s64 ret;
	u32 kind;
};

/* Send the call_event of `d` on the file of `inode`, completed `now`, if
 * the object has a `calls` ring (not the legacy one). A call, not inlined:
 * its temporaries in account() took the exit programs' call chain to 544
 * bytes of stack, past the 512 that 5.10 to 6.1 allow. */
SUBPROG void call_sent(const struct io_done *d, u64 inode, u64 now);

/* Count one completed syscall on the file whose state is `of`: one lookup
 * for a read or write. */
SUBPROG void account(struct open_file *of, const struct io_done *d)
{
	u32 kind = d->kind;
	u64 off = d->off, now = bpf_ktime_get_ns();
	u64 start = d->start ? d->start : now;
	s64 ret = d->ret;
	struct syscall_stats *sc;
	u32 tgid = bpf_get_current_pid_tgid() >> 32;
	u32 req_slot = 0, done_slot;
	u64 zero = 0, *n;
#if INLINE_HISTS
	u32 z = 0;
	const void *init = bpf_map_lookup_elem(&zero_stats, &z);

	/* Never NULL; checked once here, so that the verifier does not follow
	 * a NULL and a non-NULL `init` through all that comes next. */
	if (!init)
		return;
#else
	u64 init[__builtin_offsetof(struct syscall_stats, request) / 8] = {}; /* see INLINE_HISTS */

	_Static_assert(sizeof(init) >= sizeof(struct file_stats) && sizeof(init) >= sizeof(struct file_user),
		       "init creates file_stats and file_user values too");
#endif

	u32 exec = current_exec_id();

	const volatile struct record_config *cfg = get_config();

	if (cfg && cfg->call_events && (is_read(kind) || is_write(kind) || is_sync(kind)))
		call_sent(d, of->inode, now);
	if (of->last_tgid != tgid || of->last_exec != exec || (cfg && cfg->user_bytes)) {
		struct user_key uk = { .file = of->key, .tgid = tgid, .exec = exec };
		/* Looked up first: a process reopening many files pays a lookup
		 * for each, not the bucket lock of an update. */
		struct file_user *u = lookup_or_init(&users, &uk, init);

		/* The name it had at its first I/O on the file, written into the
		 * zeroes it was created from: a file_user on the stack would cost
		 * the exit programs' call chain its size. */
		if (u && !u->comm[0])
			current_comm(u->comm);
		if (u && cfg && cfg->user_bytes && (is_read(kind) || is_write(kind))) {
			bool rd = is_read(kind);

			__sync_fetch_and_add(rd ? &u->read_ops : &u->write_ops, 1);
			if (ret > 0)
				__sync_fetch_and_add(rd ? &u->read_bytes : &u->write_bytes, ret);
		}
		of->last_tgid = tgid;
		of->last_exec = exec;
	}

	struct stat_key sk = { .file = of->key, .kind = kind };
	sc = lookup_or_init(&syscall_stats, &sk, init);
	if (!sc)
		return;
	__sync_fetch_and_add(&sc->calls, 1);
	if (is_read(kind) || is_write(kind) || of_class(kind, KIND_CLASS_OTHER)) {
		req_slot = SIZE_SLOT(d->req);
		hist_count(INLINE(sc->request), &of->key, HIST_REQUEST + kind * 2, req_slot, 1);
	}
	if (ret < 0) {
		struct errno_key ek = { .file = of->key, .kind = kind, .err = -ret };

		__sync_fetch_and_add(&sc->errors, 1);
		n = lookup_or_init(&errnos, &ek, &zero);
		if (n)
			__sync_fetch_and_add(n, 1);
		/* completed_hist counts successful calls only (record.h) */
		if (is_read(kind) || is_write(kind))
			hist_count(INLINE(sc->completed), &of->key, HIST_COMPLETED + kind * 2, req_slot, -1);
		return;
	}
	if (kind == IO_CLOSE || of_class(kind, KIND_CLASS_OTHER))
		return;
	if (is_sync(kind)) {
		struct file_stats *fs;
		struct file_key fk = of->key; /* map keys live on the stack before 4.18 */
		u64 written = written_bytes(&of->key), unsynced;

		/* `init` is zeroes, as many as a file_stats needs too */
		fs = lookup_or_init(&file_stats, &fk, init);
		if (!fs)
			return;
		unsynced = written - fs->synced_bytes;
		hist_add(&of->key, HIST_FSYNC_LATENCY, now - start);
		hist_add(&of->key, HIST_FSYNC_BETWEEN, unsynced);
		__sync_fetch_and_add(&fs->fsync_calls, 1);
		__sync_fetch_and_add(&fs->fsync_bytes, unsynced);
		fs->synced_bytes = written;
		fs->last_fsync_ns = now;
		return;
	}
	__sync_fetch_and_add(&sc->bytes, ret);
	/* Most calls complete in their request's slot, and cost nothing here (record.h). */
	done_slot = ret == d->req ? req_slot : SIZE_SLOT(ret);
	if (done_slot != req_slot) {
		hist_count(INLINE(sc->completed), &of->key, HIST_COMPLETED + kind * 2, req_slot, -1);
		hist_count(INLINE(sc->completed), &of->key, HIST_COMPLETED + kind * 2, done_slot, 1);
	}
	if (!sc->first_ns)
		sc->first_ns = start;
	sc->last_ns = now;
	if (is_read(kind)) {
		of->read_kind = kind;
		if (ret > 0)
			run_step(&of->key, sc, kind, &of->read_next, &of->read_run, off, ret);
	} else if (is_write(kind)) {
		if (of->wrote && off == of->last_write_off)
			__sync_fetch_and_add(&sc->rewrites, 1);
		of->wrote = 1;
		of->last_write_off = off;
		of->write_kind = kind;
		if (ret > 0)
			run_step(&of->key, sc, kind, &of->write_next, &of->write_run, off, ret);
	}
}

/* Bytes an iovec array asks for; the first MAX_IOVECS entries are summed.
 * `ia32`: a 32-bit syscall's struct compat_iovec {u32 base; u32 len;}. */
static __always_inline u64 iov_len(u64 uiov, u64 i, bool ia32)
{
	u64 len = 0;

	if (probe_read_user(&len, ia32 ? 4 : 8, (void *)(uiov + i * (ia32 ? 8 : 16) + (ia32 ? 4 : 8))))
		return (u64)-1;
	return len;
}

static __always_inline u64 iov_total_loop(u64 uiov, u64 cnt, bool ia32)
{
	u64 total = 0, len;

#ifdef IOTRACE_LEGACY
#pragma unroll
#endif
	for (int i = 0; i < MAX_IOVECS; i++) {
		if (i >= cnt || (len = iov_len(uiov, i, ia32)) == (u64)-1)
			break;
		total += len;
	}
	return total;
}

#ifdef IOTRACE_LEGACY
#define iov_total iov_total_loop
#else
static __always_inline u64 iov_total(u64 uiov, u64 cnt, bool ia32)
{
	u64 total = 0, len;
	int *i;

	if (!HAVE_NUM_ITER)
		return iov_total_loop(uiov, cnt, ia32);
	struct num_iter it = {};
	num_iter_new(&it, 0, cnt < MAX_IOVECS ? cnt : MAX_IOVECS);
	while ((i = num_iter_next(&it))) {
		if ((len = iov_len(uiov, *i, ia32)) == (u64)-1)
			break;
		total += len;
	}
	num_iter_destroy(&it);
	return total;
}
#endif

/* ---------------------------------------------------------------- syscalls */

/* close (its fd is gone at the exit) and fsync/fdatasync (their latency)
 * need their entry even where reads and writes are accounted at exit. */
static __always_inline bool needs_entry(u32 kind)
{
	return kind == IO_CLOSE || kind == IO_FSYNC || kind == IO_FDATASYNC;
}

/* The syscall being recorded or accounted, per CPU: its arguments and what
 * they say. In a map, not on the stack: view_args() and account_done() are
 * global functions, which cannot take pointers before 5.12, and the stack is
 * 512 bytes for the whole call chain.
 * One view for the entry programs and one for the exit programs: the kernel
 * never runs one program twice at once on a CPU (it skips the second run),
 * but where programs run preemptibly (sid's 7.2 skipped runs of the syscall
 * programs, which only a run preempted on the same CPU explains) another
 * task's entry program may run while an exit program is preempted mid-call.
 * The per-syscall programs of the fentry strategy share their side's view. */
#define VIEW_EXIT 0
#define VIEW_ENTER 1
/* call_view.abi: how its arguments are laid out. */
#define ABI_IA32 1  /* a 32-bit syscall (record.bpf.c: syscall_of()): 32-bit pointers */
#define ABI_OFF32 2 /* ... whose offset pointer is to a 32-bit compat_off_t (sendfile) */

struct call_view {
	struct inflight in;
	u64 args[6];
	u32 abi; /* ABI_*; 0: x86-64's */
	u32 _pad;
};

/* The view's ABI_*: a constant 0 in the legacy object, which sees 64-bit
 * syscalls only, so that its probe reads keep constant sizes (4.14). */
#ifdef IOTRACE_LEGACY
#define VIEW_ABI(v) 0
#else
#define VIEW_ABI(v) ((v)->abi)
#endif

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2); /* VIEW_EXIT, VIEW_ENTER */
	__type(key, u32);
	__type(value, struct call_view);
} call_views SEC(".maps");

/* This CPU's view of the exit programs (and of what they call). */
static __always_inline struct call_view *exit_view(void)
{
	u32 side = VIEW_EXIT;

	return bpf_map_lookup_elem(&call_views, &side);
}

/* The offset of one end of a copy: *uoff where the caller passed a pointer
 * (the kernel then moves *uoff, not the file position), else the file
 * position, which the copy advances: `flag` is then set in *flags. */
static __always_inline u64 copy_off(u64 uoff, bool off32, u64 ref, bool append, u64 done, u32 *flags, u32 flag)
{
	s64 pos = 0;

	if (uoff && !probe_read_user(&pos, off32 ? 4 : 8, (void *)uoff))
		return pos - done;
	*flags |= flag;
	return file_pos(ref, !done && append) - done;
}

/* Fill this CPU's view's record from its arguments (read, write, their p*,
 * *v, p*v and p*v2 forms, the copies; fsync and close only have the fd). A
 * global function: verified once, not for every kind and state of its
 * callers. `done`: bytes already transferred,
 * for a call seen at its exit, where file positions (and a copy's
 * *off_in, *off_out) have moved past them; 0 at entry. */
GLOBAL_FN int view_args(u32 kind, u64 done, u32 side)
{
	struct call_view *v = bpf_map_lookup_elem(&call_views, &side);
	struct inflight *in;
	const u64 *a;

	if (!v)
		return 0;
	in = &v->in;
	a = v->args;
	bool vectored = kind == IO_READV || kind == IO_WRITEV || kind == IO_PREADV || kind == IO_PWRITEV ||
			kind == IO_PREADV2 || kind == IO_PWRITEV2;
	bool at_pos = kind == IO_READ || kind == IO_WRITE || kind == IO_READV || kind == IO_WRITEV ||
		      ((kind == IO_PREADV2 || kind == IO_PWRITEV2) && (s64)a[3] == -1);
	bool writes = kind == IO_WRITE || kind == IO_WRITEV || kind == IO_PWRITEV2;

	if (kind == IO_SUBMIT || kind == IO_GETEVENTS || kind == IO_PGETEVENTS) {
		/* io_submit(ctx, nr, iocbpp); io_[p]getevents(ctx, min_nr, nr, events, ...) */
		in->off = kind == IO_SUBMIT ? a[2] : a[3];
		return 0;
	}
	if (kind == IO_MMAP) {
		/* mmap(addr, len, prot, flags, fd, off): an anonymous one ignores its fd */
		u32 type = a[3] & MAP_TYPE;

		in->ref = a[3] & MAP_ANONYMOUS ? 0 : file_ref(a[4]);
		in->req = a[1];
		in->flags = (type == MAP_SHARED || type == MAP_SHARED_VALIDATE ? INFL_MAP_SHARED : 0) |
			    (a[2] & PROT_READ ? INFL_PROT_READ : 0) | (a[2] & PROT_WRITE ? INFL_PROT_WRITE : 0) |
			    (a[2] & PROT_EXEC ? INFL_PROT_EXEC : 0);
		return 0;
	}
	in->ref = file_ref(a[0]);
	/* One loop for every vectored call: verifying it costs per call site. */
	in->req = vectored ? iov_total(a[1], a[2], VIEW_ABI(v) & ABI_IA32) : a[2];
	if (positional(kind))
		in->off = a[3];
	if (at_pos) {
		/* At the end of the file for an appending write (at entry). */
		in->off = file_pos(in->ref, !done && writes && file_appends(in->ref)) - done;
		in->flags = INFL_POS;
	}
	if (two_files(kind)) {
		/* sendfile(out_fd, in_fd, loff_t *off_in, count); copy_file_range
		 * and splice(in_fd, loff_t *off_in, out_fd, loff_t *off_out, len, flags) */
		bool sf = kind == IO_SENDFILE_OUT;

		in->ref = file_ref(sf ? a[0] : a[2]);
		in->ref_in = file_ref(sf ? a[1] : a[0]);
		in->req = sf ? a[3] : a[4];
		in->off_in = copy_off(sf ? a[2] : a[1], VIEW_ABI(v) & ABI_OFF32, in->ref_in, false, done, &in->flags,
				      INFL_POS_IN);
		in->off = copy_off(sf ? 0 : a[3], false, in->ref, file_appends(in->ref), done, &in->flags, INFL_POS);
	}
	/* Linux appends positional writes to O_APPEND files and, with RWF_APPEND,
	 * pwritev2 to any file: the offset argument is ignored (pwrite(2) BUGS).
	 * After the write, the end of the file is its end. */
	if ((kind == IO_PWRITE64 || kind == IO_PWRITEV || kind == IO_PWRITEV2) &&
	    ((kind == IO_PWRITEV2 && (a[5] & RWF_APPEND)) || file_appends(in->ref))) {
		in->off = file_pos(in->ref, true) - done;
		in->flags = INFL_POS;
	}
	return 0;
}

/* Is this entry recorded? Asked before the arguments are read: every
 * process's syscalls pass here. */
static __always_inline bool enter_wanted(u32 kind)
{
	const volatile struct record_config *cfg = get_config();

	return cfg && !(cfg->exit_args && !needs_entry(kind)) && is_traced(bpf_get_current_pid_tgid() >> 32);
}

/* Record an entry that enter_wanted(). */
static __always_inline int io_enter(u32 kind, const u64 *a, u32 abi)
{
	u32 tid = (u32)bpf_get_current_pid_tgid(), side = VIEW_ENTER;
	struct call_view *v = bpf_map_lookup_elem(&call_views, &side);
	struct inflight in;

	if (!v)
		return 0;
	__builtin_memcpy(v->args, a, sizeof(v->args));
	v->abi = abi;
	__builtin_memset(&v->in, 0, sizeof(v->in));
	v->in.ts = bpf_ktime_get_ns();
	v->in.kind = kind;
	view_args(kind, 0, VIEW_ENTER);
	in = v->in; /* map values come from the stack before 4.18 (d71962f3e627) */
	if (bpf_map_update_elem(&inflight, &tid, &in, BPF_ANY))
		drop(DROP_INFLIGHT, 1);
	return 0;
}

/* Account one side of a finished syscall; `at_pos`: it moved the file position. */
static __always_inline void io_done_on(u64 ref, u32 kind, u64 off, bool at_pos, const struct inflight *c, s64 ret)
{
	struct io_done d = { .off = off, .req = c->req, .start = c->ts, .ret = ret, .kind = kind };
	struct open_file *of;

	if (!ref || !(of = file_state(ref, is_sync(kind))))
		return;
	account(of, &d);
	if (at_pos && ret > 0)
		of->pos = off + ret;
	if (kind == IO_CLOSE && ret == 0)
		file_closed(ref, of);
}

/* Account the side `kind` of this CPU's finished syscall: its own kind, or
 * for a copy's in-file the kind before it (two_files()). A global function, so that the
 * verifier checks account() once rather than for every kind and state the
 * exit programs reach it with. The legacy object inlines it, and `kind` is
 * a constant in its per-syscall programs, so that the compiler drops every
 * branch of other syscalls from them: they must stay within 4.14's limits. */
GLOBAL_FN int account_done(u32 kind, s64 ret)
{
	struct call_view *v = exit_view();
	struct inflight *in;

	if (!v)
		return 0;
	in = &v->in;
	if (two_files(kind + 1))
		io_done_on(in->ref_in, kind, in->off_in, in->flags & INFL_POS_IN, in, ret);
	else
		io_done_on(in->ref, kind, in->off, in->flags & INFL_POS, in, ret);
	return 0;
}

/* Count this CPU's successful mmap in its file's file_maps entry. Apart
 * from account_done(): count_map()'s value on the stack would take the exit
 * programs' deepest call chain past 512 bytes on 5.10 to 6.1. */
GLOBAL_FN int map_done(void)
{
	struct call_view *v = exit_view();
	struct open_file *of;

	if (v && v->in.ref && (of = file_state(v->in.ref, false)))
		count_map(of, &v->in);
	return 0;
}

/* ---------------------------------------------------------------- Linux AIO */

/* uapi linux/aio_abi.h */
#define IOCB_CMD_PREAD 0
#define IOCB_CMD_PWRITE 1
#define IOCB_CMD_FSYNC 2
#define IOCB_CMD_FDSYNC 3
#define IOCB_CMD_PREADV 7
#define IOCB_CMD_PWRITEV 8

struct iocb_user {
	u64 data;
	u32 key, rw_flags;
	u16 opcode;
	u16 reqprio;
	u32 fildes;
	u64 buf;
	u64 nbytes;
	s64 offset;
	u64 reserved2;
	u32 flags;
	u32 resfd;
};

struct io_event_user {
	u64 data;
	u64 obj; /* the iocb's user address */
	s64 res;
	s64 res2;
};

/* An iocb submitted and not reaped yet: (tgid, its user address, its
 * aio_data), which its event repeats. The kernel copies an iocb at
 * submission, so a program may reuse its memory at once: aio_data tells
 * such submissions apart where the program sets it (fio, libaio users). */
struct aio_key {
	u32 tgid;
	u32 _pad;
	u64 iocb;
	u64 data;
};

struct aio_op {
	u64 ref;
	struct file_key file; /* who ref was at submission: it must still be at completion */
	u64 off;
	u64 req;
	u64 ts;
	u32 kind;
	u32 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct aio_key);
	__type(value, struct aio_op);
} aio_ops SEC(".maps");

/* `name`: a map helper's key or value, `ptr`, where the kernel takes it from:
 * only the stack before 4.18 (d71962f3e627), so the legacy object copies it
 * there; the CO-RE one passes the map memory itself and keeps its stack for
 * the deepest call chains. */
#ifdef IOTRACE_LEGACY
#define MAP_ARG(type, name, ptr)                                               \
	type name##_on_stack = *(ptr);                                         \
	type *name = &name##_on_stack
#else
#define MAP_ARG(type, name, ptr) type *name = (ptr)
#endif

/* What aio_submitted() and aio_reaped() work on, per CPU: off the stack,
 * which the call chain down to take_path() shares (512 bytes in all before
 * 6.x counts global functions apart; 5.10 to 6.12 refused it, EACCES). */
struct aio_work {
	struct iocb_user cb;
	struct io_event_user ev;
	struct aio_key k;
	struct aio_op op;
	struct io_done d;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct aio_work);
} aio_work SEC(".maps");

/* One iocb that io_submit accepted (at `uiocb`): remembered until reaped.
 * A 32-bit caller's iocb has the same layout, its iovecs do not. */
GLOBAL_FN int aio_submitted(u64 uiocb, u64 ts, u32 ia32)
{
	u32 zero = 0;
	struct aio_work *w = bpf_map_lookup_elem(&aio_work, &zero);
	struct iocb_user *cb;
	struct aio_op *op;
	struct open_file *of;

	if (!w)
		return 0;
	cb = &w->cb;
	op = &w->op;
	if (probe_read_user(cb, sizeof(*cb), (void *)uiocb))
		return 0;
	if (cb->opcode == IOCB_CMD_PREAD)
		op->kind = IO_AIO_PREAD;
	else if (cb->opcode == IOCB_CMD_PWRITE)
		op->kind = IO_AIO_PWRITE;
	else if (cb->opcode == IOCB_CMD_PREADV)
		op->kind = IO_AIO_PREADV;
	else if (cb->opcode == IOCB_CMD_PWRITEV)
		op->kind = IO_AIO_PWRITEV;
	else if (cb->opcode == IOCB_CMD_FSYNC)
		op->kind = IO_AIO_FSYNC;
	else if (cb->opcode == IOCB_CMD_FDSYNC)
		op->kind = IO_AIO_FDSYNC;
	else
		return 0; /* poll, noop: no file data */
	op->ts = ts;
	op->ref = file_ref(cb->fildes);
	/* Named now, while the fd is the caller's: it may be closed before the reap. */
	if (!op->ref || !(of = file_state(op->ref, is_sync(op->kind))))
		return 0;
	op->file = of->key;
	op->off = cb->offset;
	op->req = op->kind == IO_AIO_PREADV || op->kind == IO_AIO_PWRITEV ? iov_total(cb->buf, cb->nbytes, ia32)
									     : cb->nbytes;
	w->k.tgid = bpf_get_current_pid_tgid() >> 32;
	w->k.iocb = uiocb;
	w->k.data = cb->data;
	MAP_ARG(struct aio_key, key, &w->k);
	MAP_ARG(struct aio_op, value, op);
	if (bpf_map_update_elem(&aio_ops, key, value, BPF_ANY))
		drop(DROP_INFLIGHT, 1);
	return 0;
}

/* One event io_getevents returned (at `uevent`): its iocb completed. */
GLOBAL_FN int aio_reaped(u64 uevent)
{
	u32 zero = 0;
	struct aio_work *w = bpf_map_lookup_elem(&aio_work, &zero);
	struct aio_op *op;
	struct open_file *of;

	if (!w || probe_read_user(&w->ev, sizeof(w->ev), (void *)uevent))
		return 0;
	w->k.tgid = bpf_get_current_pid_tgid() >> 32;
	w->k.iocb = w->ev.obj;
	w->k.data = w->ev.data;
	MAP_ARG(struct aio_key, key, &w->k);
	op = bpf_map_lookup_elem(&aio_ops, key);
	if (!op)
		return 0;
	w->d.off = op->off;
	w->d.req = op->req;
	w->d.start = op->ts;
	w->d.ret = w->ev.res;
	w->d.kind = op->kind;
	of = file_state(op->ref, is_sync(op->kind));
	if (of && of->key.id == op->file.id && of->key.mntns == op->file.mntns)
		account(of, &w->d);
	bpf_map_delete_elem(&aio_ops, key);
	return 0;
}

#ifndef IOTRACE_LEGACY
/* iocbs of one io_submit, events of one io_getevents, followed; more are
 * counted as drops (DROP_INFLIGHT). */
#define AIO_BATCH_MAX 256

/* Item i of an AIO batch at `arr`: an io_submit's iocb pointer (32 bits
 * wide for an `ia32` caller), or an event (the same layout for both). */
static __always_inline void aio_item(u32 kind, u64 arr, u64 i, u64 now, bool ia32)
{
	u64 p = 0;

	if (kind != IO_SUBMIT)
		aio_reaped(arr + i * sizeof(struct io_event_user));
	else if (!probe_read_user(&p, ia32 ? 4 : 8, (void *)(arr + i * (ia32 ? 4 : 8))))
		aio_submitted(p, now, ia32);
}

/* The iocbs an io_submit accepted, or the events an io_[p]getevents returned:
 * `n` of them, their array at this CPU's view's in.off. A global function,
 * verified once rather than inside every exit program. (An open-coded
 * iterator loaded on 6.18 but then accounted nothing: a bounded loop.) */
GLOBAL_FN int aio_batch(u32 kind, s64 n)
{
	struct call_view *v = exit_view();
	u64 arr, now = bpf_ktime_get_ns();

	if (!v || n <= 0)
		return 0;
	arr = v->in.off;
	if (n > AIO_BATCH_MAX)
		drop(DROP_INFLIGHT, n - AIO_BATCH_MAX);
	for (int i = 0; i < AIO_BATCH_MAX && i < n; i++)
		aio_item(kind, arr, i, now, v->abi & ABI_IA32);
	return 0;
}

/* The exit program of `kind` is done: aio_batch() walked its batch. */
static __always_inline int aio_steps_from(void *ctx, u32 kind)
{
	return 0;
}
#else
/*
 * 4.14 has no loops (bounded loops are 5.3: 2589726d12a1), and one item
 * inlined with account() fills a good part of a program's 4096
 * instructions. So a batch is walked one item per program: the exit program
 * notes it (aio_batch()) and tail-calls a step program, which handles item
 * i and tail-calls itself for the next. A run allows 32 tail calls
 * (MAX_TAIL_CALL_CNT): items past the 32nd are counted as drops
 * (DROP_INFLIGHT).
 */
enum aio_step { AIO_STEP_SUBMIT, AIO_STEP_REAP };

struct aio_walk {
	u64 arr; /* the iocb pointers or events */
	u64 n;
	u64 i; /* the next item */
	u64 now;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct aio_walk);
} aio_walks SEC(".maps");

SEC("tracepoint") int aio_submit_step(void *ctx);
SEC("tracepoint") int aio_reap_step(void *ctx);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 2);
	__uint(key_size, sizeof(u32));
	__array(values, int(void *));
} aio_steps SEC(".maps") = {
	.values = { [AIO_STEP_SUBMIT] = (void *)&aio_submit_step, [AIO_STEP_REAP] = (void *)&aio_reap_step },
};

/* Note this CPU's batch: `n` items at its view's in.off. */
static __always_inline int aio_batch(u32 kind, s64 n)
{
	u32 zero = 0;
	struct call_view *v = exit_view();
	struct aio_walk *b = bpf_map_lookup_elem(&aio_walks, &zero);

	if (!v || !b)
		return 0;
	b->arr = v->in.off;
	b->n = n > 0 ? n : 0;
	b->i = 0;
	b->now = bpf_ktime_get_ns();
	return 0;
}

/* Item i of this CPU's batch, then the next one's program. */
static __always_inline int aio_step(void *ctx, enum aio_step step)
{
	u32 zero = 0;
	struct aio_walk *b = bpf_map_lookup_elem(&aio_walks, &zero);
	u64 p = 0, i;

	if (!b || b->i >= b->n)
		return 0;
	i = b->i++;
	if (step == AIO_STEP_REAP)
		aio_reaped(b->arr + i * sizeof(struct io_event_user));
	else if (!probe_read_user(&p, sizeof(p), (void *)(b->arr + i * sizeof(p))))
		aio_submitted(p, b->now, 0);
	if (b->i < b->n) {
		bpf_tail_call(ctx, &aio_steps, step);
		/* only reached when the run is out of tail calls */
		drop(DROP_INFLIGHT, b->n - b->i);
	}
	return 0;
}

SEC("tracepoint") int aio_submit_step(void *ctx) { return aio_step(ctx, AIO_STEP_SUBMIT); }
SEC("tracepoint") int aio_reap_step(void *ctx) { return aio_step(ctx, AIO_STEP_REAP); }

/* The exit program of `kind` is done: walk its batch, if it has one. */
static __always_inline int aio_steps_from(void *ctx, u32 kind)
{
	if (kind == IO_SUBMIT || kind == IO_GETEVENTS || kind == IO_PGETEVENTS)
		bpf_tail_call(ctx, &aio_steps, kind == IO_SUBMIT ? AIO_STEP_SUBMIT : AIO_STEP_REAP);
	return 0;
}
#endif /* !IOTRACE_LEGACY */

/* Account a finished syscall: from what its entry recorded, or, for a read
 * or write seen at its exit alone (`from_args`), from its arguments. The
 * latter needs no entry program work and no inflight entry, the costliest
 * part of tracing the short syscalls of a page-cache loop; its time is the
 * exit's. Where the view holds the arguments anyway (`args`), a read or
 * write whose entry was not recorded (in flight when the recording or its
 * process's tracing began) is accounted so too, its latency unknown.
 * Only for objects whose file_pos() reads the kernel's file position (not
 * the legacy one, which tracks positions). */
static __always_inline int io_exit_from(s64 ret, u32 kind, struct call_view *v, bool from_args, bool args)
{
	struct inflight *in;
	u32 tid;

	if (!from_args) {
		tid = (u32)bpf_get_current_pid_tgid();
		in = bpf_map_lookup_elem(&inflight, &tid);
		if (in) {
			v->in = *in;
			bpf_map_delete_elem(&inflight, &tid);
		} else if (args && !needs_entry(kind)) {
			from_args = true;
		} else {
			return 0;
		}
	}
	if (from_args) {
		__builtin_memset(&v->in, 0, sizeof(v->in)); /* ts 0: account() takes the time once */
		v->in.kind = kind;
		view_args(kind, ret > 0 ? ret : 0, VIEW_EXIT);
	}
	if (kind == IO_SUBMIT || kind == IO_GETEVENTS || kind == IO_PGETEVENTS) {
		aio_batch(kind, ret);
		return 0;
	}
	if (two_files(kind))
		account_done(kind - 1, ret);
	account_done(kind, ret);
	if (kind == IO_MMAP && ret >= 0)
		map_done();
	return 0;
}

/* The exit of a 64-bit syscall of `kind` whose entry was recorded. */
static __always_inline int io_exit(s64 ret, u32 kind)
{
	struct call_view *v = exit_view();

	if (!v)
		return 0;
	v->abi = 0;
	return io_exit_from(ret, kind, v, false, false);
}

/* ---------------------------------------------------------------- tracepoints */

/* syscalls:sys_enter_* / sys_exit_* records (kernel/trace/trace_syscalls.c):
 * an 8-byte common header, the syscall number, then 8-byte arguments or the
 * return value at offset 16, on every kernel since syscall tracepoints exist. */
struct sys_enter_args {
	u64 common;
	s32 nr;
	u32 _pad;
	u64 args[6];
};

struct sys_exit_args {
	u64 common;
	s32 nr;
	u32 _pad;
	s64 ret;
};

#define SYSCALL_TP(name, kind)                                                 \
	SEC("tracepoint/syscalls/sys_enter_" #name)                           \
	int tp_enter_##name(struct sys_enter_args *ctx)                        \
	{                                                                      \
		u64 a[6];                                                      \
									       \
		if (!enter_wanted(kind))                                       \
			return 0;                                              \
		/* A record holds only the syscall's own arguments, and	       \
		 * attaching fails (EACCES) if the program reads past it:      \
		 * read them as memory, unused ones are never looked at. */    \
		probe_read_kernel(a, sizeof(a), ctx->args);                    \
		return io_enter(kind, a, 0);                                   \
	}                                                                      \
	SEC("tracepoint/syscalls/sys_exit_" #name)                            \
	int tp_exit_##name(struct sys_exit_args *ctx)                          \
	{                                                                      \
		io_exit(ctx->ret, kind);                                       \
		return aio_steps_from(ctx, kind);                              \
	}

#define ALL_SYSCALL_TPS RECORD_SYSCALLS(SYSCALL_TP) RECORD_AIO_SYSCALLS(SYSCALL_TP)

/* ---------------------------------------------------------------- processes */

/* At exec: a process that becomes one of the -c comms is traced. */
static __always_inline int on_exec(void)
{
	const volatile struct record_config *cfg = get_config();
	u32 tgid = bpf_get_current_pid_tgid() >> 32;
	char comm[RECORD_COMM_LEN];

	if (!cfg || !cfg->n_comms)
		return 0;
	bpf_get_current_comm(comm, sizeof(comm));
#pragma unroll
	for (int i = 0; i < RECORD_MAX_COMMS; i++) {
		if (i < cfg->n_comms && comm_eq(comm, cfg->comms[i])) {
			set_traced(tgid);
			break;
		}
	}
	return 0;
}

/* At fork (current is the parent): children of traced processes are
 * traced, and so is the command iotrace starts (before its first syscall). */
static __always_inline bool on_fork(u32 child_tgid)
{
	const volatile struct record_config *cfg = get_config();
	u32 ptgid = bpf_get_current_pid_tgid() >> 32;

	if (!cfg || child_tgid == ptgid)
		return false;
	if (cfg->trace_command && ptgid == cfg->self_tgid) {
		set_traced(child_tgid);
		return true;
	}
	if (!cfg->follow_children || !is_traced(ptgid))
		return false;
	if (!cfg->trace_all)
		set_traced(child_tgid);
	return true;
}

#endif /* IOTRACE_RECORD_BPF_H */
