// SPDX-License-Identifier: GPL-2.0
/*
 * iotrace record: exact per-file I/O profiles, aggregated in the kernel.
 *
 * Identity comes from the kernel's struct file behind each fd (CO-RE reads of
 * task->files->fdt->fd[fd]), not from tracking opens: files opened before
 * recording started, inherited over fork, dup'ed or passed over sockets are
 * all attributed by construction, and so is a process that exits a
 * microsecond after its write. Only S_ISREG inodes are counted.
 *
 * Entry points (chosen by src/record/strategy.rs): raw_tp sys_enter/sys_exit
 * (one program each, dispatch on the syscall number), or one perf-event
 * tracepoint per syscall. Both funnel into io_enter()/io_exit().
 */
#include "compat.bpf.h"
#include <asm/unistd.h>
#include <bpf/bpf_core_read.h>
#include "record.h"

/* Just the kernel fields we read; CO-RE finds them by name in the running
 * kernel's BTF, wherever they are. */
struct qstr {
	const unsigned char *name;
} __attribute__((preserve_access_index));

struct super_block {
	unsigned int s_dev;
} __attribute__((preserve_access_index));

struct inode {
	unsigned short i_mode;
	unsigned long i_ino;
	struct super_block *i_sb;
	unsigned int i_nlink;
	long long i_size;
} __attribute__((preserve_access_index));

struct dentry {
	struct dentry *d_parent;
	struct qstr d_name;
} __attribute__((preserve_access_index));

struct vfsmount {
	struct dentry *mnt_root;
} __attribute__((preserve_access_index));

struct mount {
	struct mount *mnt_parent;
	struct dentry *mnt_mountpoint;
	struct vfsmount mnt;
} __attribute__((preserve_access_index));

struct path {
	struct vfsmount *mnt;
	struct dentry *dentry;
} __attribute__((preserve_access_index));

struct file {
	struct path f_path;
	struct inode *f_inode;
	unsigned int f_flags;
	long long f_pos;
} __attribute__((preserve_access_index));

struct fdtable {
	unsigned int max_fds;
	struct file **fd;
} __attribute__((preserve_access_index));

struct files_struct {
	struct fdtable *fdt;
} __attribute__((preserve_access_index));

struct ns_common {
	unsigned int inum;
} __attribute__((preserve_access_index));

struct mnt_namespace {
	struct ns_common ns;
} __attribute__((preserve_access_index));

struct nsproxy {
	struct mnt_namespace *mnt_ns;
} __attribute__((preserve_access_index));

struct task_struct {
	int pid;
	int tgid;
	struct files_struct *files;
	struct nsproxy *nsproxy;
} __attribute__((preserve_access_index));

#define S_IFMT 0170000
#define S_IFREG 0100000
#define O_APPEND 02000
#define MAX_IOVECS 64
#define MAX_PATH_DEPTH 48

DECLARE_CONFIG(struct record_config)

/* Processes to trace (tgid -> 1), unless trace_all. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, u32);
	__type(value, u8);
} traced SEC(".maps");

/* A syscall between its entry and exit, per thread. */
struct inflight {
	u64 ts;
	u64 file;      /* struct file * (the out-file for sendfile) */
	u64 file_in;   /* sendfile's in-file */
	u64 off;       /* offset of the I/O (out-file for sendfile) */
	u64 off_in;
	u64 req;       /* bytes requested */
	u32 kind;
	u32 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, u32);
	__type(value, struct inflight);
} inflight SEC(".maps");

/* Per struct file: identity cache and sequential-run state. LRU: entries of
 * files closed behind our back (exit, exec, close_range) age out. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, u64);
	__type(value, struct open_file);
} files SEC(".maps");

/* file_key -> 1 once its path was sent. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 131072);
	__type(key, struct file_key);
	__type(value, u8);
} seen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 131072);
	__type(key, struct file_key);
	__type(value, struct file_stats);
} file_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 262144);
	__type(key, struct stat_key);
	__type(value, struct syscall_stats);
} syscall_stats SEC(".maps");

/* Sparse histograms: only non-empty buckets exist. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1048576);
	__type(key, struct hist_key);
	__type(value, u64);
} hists SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct errno_key);
	__type(value, u64);
} errnos SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 131072);
	__type(key, struct user_key);
	__type(value, struct file_user);
} users SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, DROP_NR);
	__type(key, u32);
	__type(value, u64);
} drops SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22);
} events SEC(".maps");

static __always_inline void drop(u32 why)
{
	u64 *n = bpf_map_lookup_elem(&drops, &why);

	if (n)
		*n += 1;
}

static __always_inline bool is_traced(u32 tgid)
{
	const volatile struct record_config *cfg = get_config();

	if (!cfg || tgid == cfg->self_tgid)
		return false;
	return cfg->trace_all || bpf_map_lookup_elem(&traced, &tgid);
}

/* Find or create a zeroed value; NULL (and a counted drop) if the map is full. */
static __always_inline void *lookup_or_init(void *map, const void *key, const void *zero)
{
	void *v = bpf_map_lookup_elem(map, key);

	if (v)
		return v;
	bpf_map_update_elem(map, key, zero, BPF_NOEXIST);
	v = bpf_map_lookup_elem(map, key);
	if (!v)
		drop(DROP_FILES);
	return v;
}

static __always_inline u32 log2_slot(u64 v)
{
	u32 slot = 0;

	/* slot 0: zero; slot k: [2^(k-1), 2^k) */
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

static __always_inline void hist_add(const struct file_key *file, u32 hist, u64 value)
{
	struct hist_key k = { .file = *file, .hist = hist, .slot = log2_slot(value) };
	u64 zero = 0, *n = lookup_or_init(&hists, &k, &zero);

	if (n)
		__sync_fetch_and_add(n, 1);
}

static __always_inline struct file *fd_file(u32 fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds;
	struct file *f = NULL;

	if (!fdt || fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	fds = BPF_CORE_READ(fdt, fd);
	probe_read_kernel(&f, sizeof(f), &fds[fd]);
	return f;
}

/* The path of f as seen from its mount namespace's root, leaf component
 * first, each NUL-terminated (user space reverses them).
 *
 * A global function: the verifier checks it once on its own (5.6+, 51c39bb1d5d1
 * "bpf: Introduce function-by-function verification") instead of once per
 * state of every caller, which would exceed its budget. Hence only scalar
 * arguments: kernel pointers travel as u64 and are read with CO-RE. */
__noinline int send_path(u64 file, u64 ino, u32 dev, u32 mntns, u64 inode_ptr)
{
	struct file_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	struct file *f = (struct file *)file;
	struct inode *inode = (struct inode *)inode_ptr;
	struct dentry *d, *parent, *root;
	struct mount *mnt, *mparent;
	u32 pos = 0;

	if (!e) {
		drop(DROP_EVENTS);
		return 0;
	}
	e->key.ino = ino;
	e->key.dev = dev;
	e->key.mntns = mntns;
	e->tgid = bpf_get_current_pid_tgid() >> 32;
	e->flags = BPF_CORE_READ(inode, i_nlink) == 0 ? FILE_EVENT_UNLINKED : 0;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	d = BPF_CORE_READ(f, f_path.dentry);
	/* container_of(vfsmount, struct mount, mnt), with a CO-RE offset */
	mnt = (void *)BPF_CORE_READ(f, f_path.mnt) - bpf_core_field_offset(struct mount, mnt);
	for (int i = 0; i < MAX_PATH_DEPTH; i++) {
		root = BPF_CORE_READ(mnt, mnt.mnt_root);
		if (d == root) {
			/* Top of this mount: continue from where it is mounted. */
			mparent = BPF_CORE_READ(mnt, mnt_parent);
			if (mparent == mnt)
				break;
			d = BPF_CORE_READ(mnt, mnt_mountpoint);
			mnt = mparent;
			continue;
		}
		parent = BPF_CORE_READ(d, d_parent);
		if (parent == d)
			break;
		if (pos >= RECORD_PATH_MAX) {
			e->flags |= FILE_EVENT_TRUNCATED;
			break;
		}
		/* The mask lets the verifier forget pos' exact value, so states of
		 * different iterations prune (else the walk exceeds its budget). */
		long n = bpf_probe_read_kernel_str(&e->path[pos & (RECORD_PATH_MAX - 1)], RECORD_NAME_MAX + 1,
						   BPF_CORE_READ(d, d_name.name));
		if (n <= 0)
			break;
		pos += n;
		d = parent;
	}
	e->path_len = pos;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

/* The open_file for f, resolving and caching its identity on first sight. */
static __always_inline struct open_file *open_file(struct file *f)
{
	u64 fkey = (u64)f;
	struct inode *inode = BPF_CORE_READ(f, f_inode);
	struct open_file *of = bpf_map_lookup_elem(&files, &fkey);
	struct task_struct *task;
	struct open_file fresh = {};
	u8 one = 1;

	/* A struct file freed and reused for another inode must not inherit state. */
	if (of && of->inode == (u64)inode)
		return of;
	fresh.inode = (u64)inode;
	fresh.regular = (BPF_CORE_READ(inode, i_mode) & S_IFMT) == S_IFREG;
	if (fresh.regular) {
		task = (struct task_struct *)bpf_get_current_task();
		fresh.key.ino = BPF_CORE_READ(inode, i_ino);
		fresh.key.dev = BPF_CORE_READ(inode, i_sb, s_dev);
		fresh.key.mntns = BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum);
		if (!bpf_map_update_elem(&seen, &fresh.key, &one, BPF_NOEXIST))
			send_path((u64)f, fresh.key.ino, fresh.key.dev, fresh.key.mntns, (u64)inode);
	}
	bpf_map_update_elem(&files, &fkey, &fresh, BPF_ANY);
	return bpf_map_lookup_elem(&files, &fkey);
}

static __always_inline bool is_read(u32 kind)
{
	return kind <= IO_PREADV2 || kind == IO_SENDFILE_IN;
}

static __always_inline bool is_write(u32 kind)
{
	return (kind >= IO_WRITE && kind <= IO_PWRITEV2) || kind == IO_SENDFILE_OUT;
}

static __always_inline void flush_runs(struct open_file *of)
{
	if (of->read_run)
		hist_add(&of->key, HIST_SEQ_READ, of->read_run);
	if (of->write_run)
		hist_add(&of->key, HIST_SEQ_WRITE, of->write_run);
	of->read_run = of->write_run = 0;
}

/* Extend or restart a sequential run. */
static __always_inline void run_step(const struct file_key *key, u32 hist, u64 *next, u64 *run, u64 off, u64 n)
{
	if (*run && off == *next) {
		*run += n;
	} else {
		if (*run)
			hist_add(key, hist, *run);
		*run = n;
	}
	*next = off + n;
}

/* One completed syscall on one file (BPF functions take at most 5 arguments). */
struct io_done {
	struct file *f;
	u64 off;
	u64 req;
	u64 start;
	s64 ret;
	u32 kind;
};

static __noinline void account(const struct io_done *d)
{
	struct file *f = d->f;
	u32 kind = d->kind;
	u64 off = d->off, req = d->req, start = d->start;
	s64 ret = d->ret;
	struct file_stats zs = {}, *fs;
	struct syscall_stats zc = {}, *sc;
	struct open_file *of;
	u64 now = bpf_ktime_get_ns();
	u32 tgid = bpf_get_current_pid_tgid() >> 32;
	u64 zero = 0, *n;

	if (!f || !(of = open_file(f)) || !of->regular)
		return;
	if (of->last_tgid != tgid) {
		struct user_key uk = { .file = of->key, .tgid = tgid };
		struct file_user u = {};

		bpf_get_current_comm(u.comm, sizeof(u.comm));
		bpf_map_update_elem(&users, &uk, &u, BPF_ANY);
		of->last_tgid = tgid;
	}

	struct stat_key sk = { .file = of->key, .kind = kind };
	sc = lookup_or_init(&syscall_stats, &sk, &zc);
	if (!sc)
		return;
	__sync_fetch_and_add(&sc->calls, 1);
	if (kind <= IO_SENDFILE_OUT)
		hist_add(&of->key, HIST_REQUEST + kind * 2, req);
	if (ret < 0) {
		struct errno_key ek = { .file = of->key, .kind = kind, .err = -ret };

		__sync_fetch_and_add(&sc->errors, 1);
		n = lookup_or_init(&errnos, &ek, &zero);
		if (n)
			__sync_fetch_and_add(n, 1);
		return;
	}
	fs = lookup_or_init(&file_stats, &of->key, &zs);
	if (!fs)
		return;
	if (kind == IO_CLOSE) {
		u64 fkey = (u64)f;

		flush_runs(of);
		bpf_map_delete_elem(&files, &fkey);
		return;
	}
	if (kind == IO_FSYNC || kind == IO_FDATASYNC) {
		u64 unsynced = fs->unsynced_bytes;

		hist_add(&of->key, HIST_FSYNC_LATENCY, now - start);
		hist_add(&of->key, HIST_FSYNC_BETWEEN, unsynced);
		__sync_fetch_and_add(&fs->fsync_calls, 1);
		__sync_fetch_and_add(&fs->fsync_bytes, unsynced);
		__sync_fetch_and_sub(&fs->unsynced_bytes, unsynced);
		fs->last_fsync_ns = now;
		return;
	}
	__sync_fetch_and_add(&sc->bytes, ret);
	hist_add(&of->key, HIST_COMPLETED + kind * 2, ret);
	if (is_read(kind)) {
		__sync_fetch_and_add(&fs->read_bytes, ret);
		if (!fs->first_read_ns)
			fs->first_read_ns = start;
		fs->last_read_ns = now;
		if (ret > 0)
			run_step(&of->key, HIST_SEQ_READ, &of->read_next, &of->read_run, off, ret);
	} else if (is_write(kind)) {
		__sync_fetch_and_add(&fs->write_bytes, ret);
		__sync_fetch_and_add(&fs->unsynced_bytes, ret);
		if (!fs->first_write_ns)
			fs->first_write_ns = start;
		fs->last_write_ns = now;
		if (of->wrote && off == of->last_write_off)
			__sync_fetch_and_add(&fs->rewrites, 1);
		of->wrote = 1;
		of->last_write_off = off;
		if (ret > 0)
			run_step(&of->key, HIST_SEQ_WRITE, &of->write_next, &of->write_run, off, ret);
	}
}

struct iovec_user {
	u64 base;
	u64 len;
};

static __always_inline u64 iov_total(u64 uiov, u64 cnt)
{
	struct iovec_user iov;
	u64 total = 0;

	for (int i = 0; i < MAX_IOVECS; i++) {
		if (i >= cnt)
			break;
		if (probe_read_user(&iov, sizeof(iov), (void *)(uiov + i * sizeof(iov))))
			break;
		total += iov.len;
	}
	return total;
}

/* Where an fd-position I/O starts: f_pos, or the end of file for O_APPEND writes. */
static __always_inline u64 cur_pos(struct file *f, bool write)
{
	if (!f)
		return 0;
	if (write && (BPF_CORE_READ(f, f_flags) & O_APPEND))
		return BPF_CORE_READ(f, f_inode, i_size);
	return BPF_CORE_READ(f, f_pos);
}

static __always_inline int io_enter(u32 kind, const u64 *a)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 tid = (u32)id;
	struct inflight in = { .ts = bpf_ktime_get_ns(), .kind = kind };
	struct file *f;

	if (!is_traced(id >> 32))
		return 0;
	if (kind == IO_SENDFILE_OUT) {
		/* sendfile(out_fd, in_fd, loff_t *offset, count) */
		struct file *fin = fd_file(a[1]);
		s64 pos;

		f = fd_file(a[0]);
		in.file_in = (u64)fin;
		in.req = a[3];
		if (a[2] && !probe_read_user(&pos, sizeof(pos), (void *)a[2]))
			in.off_in = pos;
		else
			in.off_in = cur_pos(fin, false);
		in.off = cur_pos(f, true);
	} else {
		f = fd_file(a[0]);
		switch (kind) {
		case IO_READ:
		case IO_WRITE:
			in.req = a[2];
			in.off = cur_pos(f, kind == IO_WRITE);
			break;
		case IO_PREAD64:
		case IO_PWRITE64:
			in.req = a[2];
			in.off = a[3];
			break;
		case IO_READV:
		case IO_WRITEV:
			in.req = iov_total(a[1], a[2]);
			in.off = cur_pos(f, kind == IO_WRITEV);
			break;
		case IO_PREADV:
		case IO_PWRITEV:
			in.req = iov_total(a[1], a[2]);
			in.off = a[3];
			break;
		case IO_PREADV2:
		case IO_PWRITEV2:
			/* offset -1: the file position, as readv/writev */
			in.req = iov_total(a[1], a[2]);
			in.off = (s64)a[3] == -1 ? cur_pos(f, kind == IO_PWRITEV2) : a[3];
			break;
		}
	}
	in.file = (u64)f;
	if (bpf_map_update_elem(&inflight, &tid, &in, BPF_ANY))
		drop(DROP_INFLIGHT);
	return 0;
}

static __always_inline int io_exit(s64 ret)
{
	u32 tid = (u32)bpf_get_current_pid_tgid();
	struct inflight *in = bpf_map_lookup_elem(&inflight, &tid);
	struct inflight c;

	if (!in)
		return 0;
	c = *in;
	bpf_map_delete_elem(&inflight, &tid);
	if (c.kind == IO_SENDFILE_OUT) {
		struct io_done in_side = {
			.f = (struct file *)c.file_in, .off = c.off_in, .req = c.req,
			.start = c.ts, .ret = ret, .kind = IO_SENDFILE_IN,
		};
		account(&in_side);
	}
	struct io_done d = {
		.f = (struct file *)c.file, .off = c.off, .req = c.req, .start = c.ts, .ret = ret, .kind = c.kind,
	};
	account(&d);
	return 0;
}

/* ---------------------------------------------------------------- raw_tp */

static __always_inline int kind_of(long nr)
{
	switch (nr) {
	case __NR_read: return IO_READ;
	case __NR_readv: return IO_READV;
	case __NR_pread64: return IO_PREAD64;
	case __NR_preadv: return IO_PREADV;
	case __NR_preadv2: return IO_PREADV2;
	case __NR_write: return IO_WRITE;
	case __NR_writev: return IO_WRITEV;
	case __NR_pwrite64: return IO_PWRITE64;
	case __NR_pwritev: return IO_PWRITEV;
	case __NR_pwritev2: return IO_PWRITEV2;
	case __NR_sendfile: return IO_SENDFILE_OUT;
	case __NR_fsync: return IO_FSYNC;
	case __NR_fdatasync: return IO_FDATASYNC;
	case __NR_close: return IO_CLOSE;
	}
	return -1;
}

/* x86_64 pt_regs as in the uapi <asm/ptrace.h>: stable ABI, no BTF needed. */
struct regs {
	u64 r15, r14, r13, r12, bp, bx, r11, r10, r9, r8, ax, cx, dx, si, di, orig_ax;
};

SEC("raw_tp/sys_enter")
int raw_sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	int kind = kind_of(ctx->args[1]);
	struct regs r;
	u64 a[4];

	if (kind < 0)
		return 0;
	if (probe_read_kernel(&r, sizeof(r), (void *)ctx->args[0]))
		return 0;
	/* syscall arguments: di, si, dx, r10, r8, r9 */
	a[0] = r.di;
	a[1] = r.si;
	a[2] = r.dx;
	a[3] = r.r10;
	return io_enter(kind, a);
}

SEC("raw_tp/sys_exit")
int raw_sys_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct regs *r = (struct regs *)ctx->args[0];
	long nr = 0;

	probe_read_kernel(&nr, sizeof(nr), &r->orig_ax);
	if (kind_of(nr) < 0)
		return 0;
	return io_exit(ctx->args[1]);
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
		u64 a[4] = { ctx->args[0], ctx->args[1], ctx->args[2], ctx->args[3] }; \
		return io_enter(kind, a);                                      \
	}                                                                      \
	SEC("tracepoint/syscalls/sys_exit_" #name)                            \
	int tp_exit_##name(struct sys_exit_args *ctx)                          \
	{                                                                      \
		return io_exit(ctx->ret);                                      \
	}

SYSCALL_TP(read, IO_READ)
SYSCALL_TP(readv, IO_READV)
SYSCALL_TP(pread64, IO_PREAD64)
SYSCALL_TP(preadv, IO_PREADV)
SYSCALL_TP(preadv2, IO_PREADV2)
SYSCALL_TP(write, IO_WRITE)
SYSCALL_TP(writev, IO_WRITEV)
SYSCALL_TP(pwrite64, IO_PWRITE64)
SYSCALL_TP(pwritev, IO_PWRITEV)
SYSCALL_TP(pwritev2, IO_PWRITEV2)
SYSCALL_TP(sendfile64, IO_SENDFILE_OUT)
SYSCALL_TP(fsync, IO_FSYNC)
SYSCALL_TP(fdatasync, IO_FDATASYNC)
SYSCALL_TP(close, IO_CLOSE)

/* ---------------------------------------------------------------- processes */

/* sched_process_fork(parent, child): children of traced processes are traced. */
SEC("raw_tp/sched_process_fork")
int raw_fork(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *child = (struct task_struct *)ctx->args[1];
	const volatile struct record_config *cfg = get_config();
	u32 ptgid = bpf_get_current_pid_tgid() >> 32;
	u32 ctgid = BPF_CORE_READ(child, tgid);
	u8 one = 1;

	if (!cfg || cfg->trace_all || !cfg->follow_children || ctgid == ptgid)
		return 0;
	if (bpf_map_lookup_elem(&traced, &ptgid))
		bpf_map_update_elem(&traced, &ctgid, &one, BPF_ANY);
	return 0;
}

static __always_inline bool comm_eq(const char *a, const volatile char *b)
{
#pragma unroll
	for (int j = 0; j < RECORD_COMM_LEN; j++) {
		if (a[j] != b[j])
			return false;
		if (!a[j])
			return true;
	}
	return true;
}

/* sched_process_exec: a process that becomes one of the -c comms is traced. */
SEC("raw_tp/sched_process_exec")
int raw_exec(struct bpf_raw_tracepoint_args *ctx)
{
	const volatile struct record_config *cfg = get_config();
	u32 tgid = bpf_get_current_pid_tgid() >> 32;
	char comm[RECORD_COMM_LEN];
	u8 one = 1;

	if (!cfg || !cfg->n_comms)
		return 0;
	bpf_get_current_comm(comm, sizeof(comm));
#pragma unroll
	for (int i = 0; i < RECORD_MAX_COMMS; i++) {
		if (i < cfg->n_comms && comm_eq(comm, cfg->comms[i])) {
			bpf_map_update_elem(&traced, &tgid, &one, BPF_ANY);
			break;
		}
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
