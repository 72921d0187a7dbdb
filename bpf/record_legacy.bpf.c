// SPDX-License-Identifier: GPL-2.0
/*
 * iotrace record for kernels without BTF (4.14 .. 5.x), also forced on any
 * kernel by --strategy legacy. Same accounting as record.bpf.c
 * (record.bpf.h); what differs is how a file is known.
 *
 * Without BTF the kernel's struct file cannot be read at verifiable offsets,
 * so identity is tracked per (tgid, fd) from the syscalls that create, copy
 * and destroy fds. Each open gets an id and sends its path argument to user
 * space, which resolves it to (mount namespace, dev, inode) while the fd is
 * still open (src/record/legacy.rs); fds open before recording are seeded
 * from /proc. The file position is tracked from the I/O syscalls and lseek.
 *
 * Only perf-event tracepoints (4.7+), the perf buffer, bpf_probe_read and
 * inlined code: no raw_tp (4.17), global data (5.2), loops (5.3), ring
 * buffer (5.8) or BPF-to-BPF calls (4.16).
 */
#define MAX_IOVECS 16 /* unrolled: keeps programs far below 4096 instructions */
#include "compat.bpf.h"
#include "record.bpf.h"

#define AT_FDCWD -100
#define O_WRONLY 01
#define O_CREAT 0100
#define O_TRUNC 01000
#define F_DUPFD 0
#define F_DUPFD_CLOEXEC 1030
#define MAX_ANCESTORS 4

/* (tgid, fd) -> id of the open behind it, or NO_OPEN for an fd known to be
 * no file we count (closed, a pipe, a socket): that stops the search in the
 * ancestors (fd_open_id), whose fd of that number is another file. dup and
 * fork copy the id, so that all fds of one open file description share its
 * state, as in the kernel. LRU: fds closed behind our back (exit, exec with
 * O_CLOEXEC) age out. */
#define NO_OPEN 0
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct fd_key);
	__type(value, u64);
} fds SEC(".maps");

/* open id -> its state (position, sequential runs). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, u64);
	__type(value, struct open_file);
} opens SEC(".maps");

/* tgid -> open id of its working directory (a chdir or fchdir seen, or
 * inherited at fork), so that a relative open names its base without /proc. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, u32);
	__type(value, u64);
} cwds SEC(".maps");

/* A process' parent and when it forked it: the fds a child inherited are the
 * parent's that were opened before then. */
struct parent {
	u32 tgid;
	u32 _pad;
	u64 fork_ns;
};

/* child tgid -> its parent, to find fds a child inherited at fork. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, u32);
	__type(value, struct parent);
} parents SEC(".maps");

/* An fd-creating syscall between entry and exit, per thread. */
struct fd_op {
	u64 name;  /* user pointer to the path (opens), or to an int[2] (pipes) */
	s32 dirfd;
	u32 flags;
	s32 oldfd; /* dups */
	u32 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, u32);
	__type(value, struct fd_op);
} fd_ops SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(u32));
	__uint(value_size, sizeof(u32));
} events SEC(".maps");

/* An open_event is too big for the 512-byte stack next to everything else. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct open_event);
} scratch SEC(".maps");

static __always_inline struct fd_key fd_key_of(u32 fd)
{
	struct fd_key k = { .tgid = bpf_get_current_pid_tgid() >> 32, .fd = fd };

	return k;
}

/* fd + 1, so that fd 0 is not "no file". */
static __always_inline u64 file_ref(u32 fd)
{
	return (u64)fd + 1;
}

/* Open ids are their time and CPU (new_id(); seeds from /proc are times
 * before recording started): when an id was opened. */
static __always_inline u64 opened_at(u64 id)
{
	return id >> 8;
}

static __always_inline void forget_fd(u32 fd)
{
	struct fd_key k = fd_key_of(fd);
	u64 none = NO_OPEN;

	bpf_map_update_elem(&fds, &k, &none, BPF_ANY);
}

/* The open behind fd in this process, else in the nearest ancestor that had
 * it when this process (or the ancestor in between) was forked: then
 * remembered here too. NULL if it is no file we count. */
static __always_inline u64 *fd_open_id(u32 fd)
{
	struct fd_key k = fd_key_of(fd);
	u64 *id = bpf_map_lookup_elem(&fds, &k);
	struct fd_key up = k;
	struct parent *parent;
	u64 before = ~0ULL;

	if (id)
		return *id == NO_OPEN ? NULL : id;
#pragma unroll
	for (int i = 0; i < MAX_ANCESTORS; i++) {
		parent = bpf_map_lookup_elem(&parents, &up.tgid);
		if (!parent)
			return NULL;
		if (parent->fork_ns < before)
			before = parent->fork_ns;
		up.tgid = parent->tgid;
		id = bpf_map_lookup_elem(&fds, &up);
		if (id) {
			u64 copy = *id;

			/* Opened after the fork: not what this process has under that number. */
			if (copy == NO_OPEN || opened_at(copy) >= before)
				return NULL;
			bpf_map_update_elem(&fds, &k, &copy, BPF_ANY);
			return bpf_map_lookup_elem(&fds, &k);
		}
	}
	return NULL;
}

/* Every open has a state, also of a directory, device or pipe: user space
 * tells them apart when it names the open (src/record/legacy.rs). */
static __always_inline struct open_file *file_state(u64 ref, bool sync)
{
	u64 *id = fd_open_id(ref - 1);
	u64 key;

	if (!id)
		return NULL;
	key = *id; /* map keys live on the stack before 4.18 */
	return bpf_map_lookup_elem(&opens, &key);
}

/* Without BTF the task struct is out of reach: a comm that changes at exec
 * is missed for files the process already used (they keep the old comm). */
static __always_inline u32 current_exec_id(void)
{
	return 0;
}

static __always_inline void current_comm(char *comm)
{
	bpf_get_current_comm(comm, RECORD_COMM_LEN);
}

/* No ring buffer before 5.8: record_config.call_events stays 0 here. */
SUBPROG void call_sent(const struct io_done *d, u64 inode, u64 now)
{
}

static __always_inline bool file_appends(u64 ref)
{
	struct open_file *of = file_state(ref, false);

	return of && of->append;
}

/* Appends continue where the last write ended: the file size is unknown here. */
static __always_inline u64 file_pos(u64 ref, bool append)
{
	struct open_file *of = file_state(ref, false);

	if (!of)
		return 0;
	return append ? of->write_next : of->pos;
}

/* Only the fd goes: other fds may share the open (runs end at the next
 * non-contiguous I/O or with the recording). */
static __always_inline void file_closed(u64 ref, struct open_file *of)
{
	forget_fd(ref - 1);
}

/* ---------------------------------------------------------------- the I/O */

ALL_SYSCALL_TPS

SEC("tracepoint/syscalls/sys_exit_lseek")
int tp_exit_lseek(struct sys_exit_args *ctx)
{
	struct fd_op *op;
	struct open_file *of;
	u32 tid = bpf_get_current_pid_tgid();

	op = bpf_map_lookup_elem(&fd_ops, &tid);
	if (!op)
		return 0;
	if (ctx->ret >= 0 && (of = file_state(file_ref(op->oldfd), false)))
		of->pos = ctx->ret;
	bpf_map_delete_elem(&fd_ops, &tid);
	return 0;
}

/* ---------------------------------------------------------------- fd lifecycle */

static __always_inline int remember(u64 name, s32 dirfd, u32 flags, s32 oldfd)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 tid = id;
	struct fd_op op = { .name = name, .dirfd = dirfd, .flags = flags, .oldfd = oldfd };

	if (!is_traced(id >> 32))
		return 0;
	bpf_map_update_elem(&fd_ops, &tid, &op, BPF_ANY);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_lseek")
int tp_enter_lseek(struct sys_enter_args *ctx)
{
	return remember(0, 0, 0, ctx->args[0]);
}

SEC("tracepoint/syscalls/sys_enter_open")
int tp_enter_open(struct sys_enter_args *ctx)
{
	return remember(ctx->args[0], AT_FDCWD, ctx->args[1], -1);
}

SEC("tracepoint/syscalls/sys_enter_openat")
int tp_enter_openat(struct sys_enter_args *ctx)
{
	return remember(ctx->args[1], ctx->args[0], ctx->args[2], -1);
}

SEC("tracepoint/syscalls/sys_enter_creat")
int tp_enter_creat(struct sys_enter_args *ctx)
{
	return remember(ctx->args[0], AT_FDCWD, O_CREAT | O_WRONLY | O_TRUNC, -1);
}

/* openat2(dfd, filename, struct open_how *how, size): how->flags is first. */
SEC("tracepoint/syscalls/sys_enter_openat2")
int tp_enter_openat2(struct sys_enter_args *ctx)
{
	u64 flags = 0;

	probe_read_user(&flags, sizeof(flags), (void *)ctx->args[2]);
	return remember(ctx->args[1], ctx->args[0], flags, -1);
}

/* A unique open id without atomics (a fetching add needs 5.12): time and CPU. */
static __always_inline u64 new_id(void)
{
	return (bpf_ktime_get_ns() << 8) | (bpf_get_smp_processor_id() & 0xff);
}

/* The open id of the directory `path` is relative to: dirfd's, or the cwd's. */
static __always_inline u64 base_of(s32 dirfd, u32 tgid)
{
	u64 *id;

	if (dirfd == AT_FDCWD)
		id = bpf_map_lookup_elem(&cwds, &tgid);
	else
		id = fd_open_id(dirfd);
	return id ? *id : 0;
}

/* Tell user space what open id `id` names: op's path, relative to its base. */
static __always_inline void send_open(void *ctx, const struct fd_op *op, u64 id, s32 fd, u32 kind)
{
	u32 zero = 0;
	struct open_event *e = bpf_map_lookup_elem(&scratch, &zero);

	if (!e)
		return;
	e->open_id = id;
	e->tgid = bpf_get_current_pid_tgid() >> 32;
	e->base_id = base_of(op->dirfd, e->tgid);
	e->fd = fd;
	e->dirfd = op->dirfd;
	e->flags = op->flags;
	e->kind = kind;
	if (probe_read_user_str(e->path, sizeof(e->path), (void *)op->name) < 0)
		e->path[0] = 0;
	if (bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, e, sizeof(*e)))
		drop(DROP_EVENTS, 1);
}

/* A new fd from an open: a fresh state with a new id, and the path to user space. */
static __always_inline int opened(struct sys_exit_args *ctx)
{
	u32 tid = bpf_get_current_pid_tgid();
	struct fd_op *op = bpf_map_lookup_elem(&fd_ops, &tid);
	struct open_file of = {};
	struct fd_key k;

	if (!op)
		return 0;
	if (ctx->ret < 0)
		goto out;
	k = fd_key_of(ctx->ret);
	of.key.id = new_id();
	of.regular = 1;
	of.append = (op->flags & O_APPEND) != 0;
	/* The event first: its base is looked up by the dirfd, which may be this very fd number. */
	send_open(ctx, op, of.key.id, k.fd, 0);
	count_open(&of.key, op->flags);
	bpf_map_update_elem(&opens, &of.key.id, &of, BPF_ANY);
	bpf_map_update_elem(&fds, &k, &of.key.id, BPF_ANY);
out:
	bpf_map_delete_elem(&fd_ops, &tid);
	return 0;
}

/* chdir(path), fchdir(fd): the new working directory's open id. */
SEC("tracepoint/syscalls/sys_enter_chdir")
int tp_enter_chdir(struct sys_enter_args *ctx)
{
	return remember(ctx->args[0], AT_FDCWD, 0, -1);
}

SEC("tracepoint/syscalls/sys_enter_fchdir")
int tp_enter_fchdir(struct sys_enter_args *ctx)
{
	return remember(0, 0, 0, ctx->args[0]);
}

static __always_inline int chdir_done(struct sys_exit_args *ctx, bool by_fd)
{
	u32 tid = bpf_get_current_pid_tgid(), tgid = bpf_get_current_pid_tgid() >> 32;
	struct fd_op *op = bpf_map_lookup_elem(&fd_ops, &tid);
	u64 id, *dir;

	if (!op)
		return 0;
	if (ctx->ret == 0) {
		if (by_fd) {
			dir = fd_open_id(op->oldfd);
			if (dir) {
				id = *dir;
				bpf_map_update_elem(&cwds, &tgid, &id, BPF_ANY);
			} else {
				bpf_map_delete_elem(&cwds, &tgid);
			}
		} else {
			id = new_id();
			send_open(ctx, op, id, -1, OPEN_EVENT_CWD);
			bpf_map_update_elem(&cwds, &tgid, &id, BPF_ANY);
		}
	}
	bpf_map_delete_elem(&fd_ops, &tid);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_chdir")
int tp_exit_chdir(struct sys_exit_args *ctx) { return chdir_done(ctx, false); }

SEC("tracepoint/syscalls/sys_exit_fchdir")
int tp_exit_fchdir(struct sys_exit_args *ctx) { return chdir_done(ctx, true); }

SEC("tracepoint/syscalls/sys_exit_open")
int tp_exit_open(struct sys_exit_args *ctx) { return opened(ctx); }

SEC("tracepoint/syscalls/sys_exit_openat")
int tp_exit_openat(struct sys_exit_args *ctx) { return opened(ctx); }

SEC("tracepoint/syscalls/sys_exit_creat")
int tp_exit_creat(struct sys_exit_args *ctx) { return opened(ctx); }

SEC("tracepoint/syscalls/sys_exit_openat2")
int tp_exit_openat2(struct sys_exit_args *ctx) { return opened(ctx); }

/* dup(oldfd), dup2(oldfd, newfd), dup3(oldfd, newfd, flags), fcntl(F_DUPFD*) */
SEC("tracepoint/syscalls/sys_enter_dup")
int tp_enter_dup(struct sys_enter_args *ctx) { return remember(0, 0, 0, ctx->args[0]); }

SEC("tracepoint/syscalls/sys_enter_dup2")
int tp_enter_dup2(struct sys_enter_args *ctx) { return remember(0, 0, 0, ctx->args[0]); }

SEC("tracepoint/syscalls/sys_enter_dup3")
int tp_enter_dup3(struct sys_enter_args *ctx) { return remember(0, 0, 0, ctx->args[0]); }

SEC("tracepoint/syscalls/sys_enter_fcntl")
int tp_enter_fcntl(struct sys_enter_args *ctx)
{
	if (ctx->args[1] != F_DUPFD && ctx->args[1] != F_DUPFD_CLOEXEC)
		return 0;
	return remember(0, 0, 0, ctx->args[0]);
}

/* The new fd refers to the open the old one did (or to nothing we count). */
static __always_inline int duped(struct sys_exit_args *ctx)
{
	u32 tid = bpf_get_current_pid_tgid();
	struct fd_op *op = bpf_map_lookup_elem(&fd_ops, &tid);
	struct fd_key k;
	u64 *id;

	if (!op)
		return 0;
	if (ctx->ret >= 0) {
		k = fd_key_of(ctx->ret);
		id = fd_open_id(op->oldfd);
		if (id) {
			u64 copy = *id;

			bpf_map_update_elem(&fds, &k, &copy, BPF_ANY);
		} else {
			forget_fd(ctx->ret);
		}
	}
	bpf_map_delete_elem(&fd_ops, &tid);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_dup")
int tp_exit_dup(struct sys_exit_args *ctx) { return duped(ctx); }

SEC("tracepoint/syscalls/sys_exit_dup2")
int tp_exit_dup2(struct sys_exit_args *ctx) { return duped(ctx); }

SEC("tracepoint/syscalls/sys_exit_dup3")
int tp_exit_dup3(struct sys_exit_args *ctx) { return duped(ctx); }

SEC("tracepoint/syscalls/sys_exit_fcntl")
int tp_exit_fcntl(struct sys_exit_args *ctx) { return duped(ctx); }

/* fds that are not files: their number may be one a file had before a close
 * we did not see (exec with O_CLOEXEC), or one an ancestor has for a file. */
static __always_inline int not_a_file(s64 fd)
{
	if (fd >= 0)
		forget_fd(fd);
	return 0;
}

#define NOT_A_FILE_TP(name)                                                    \
	SEC("tracepoint/syscalls/sys_exit_" #name)                            \
	int tp_exit_##name(struct sys_exit_args *ctx)                          \
	{                                                                      \
		return not_a_file(ctx->ret);                                   \
	}

NOT_A_FILE_TP(socket)
NOT_A_FILE_TP(accept)
NOT_A_FILE_TP(accept4)
NOT_A_FILE_TP(eventfd2)
NOT_A_FILE_TP(epoll_create1)
NOT_A_FILE_TP(memfd_create)
NOT_A_FILE_TP(timerfd_create)
NOT_A_FILE_TP(signalfd4)
NOT_A_FILE_TP(inotify_init1)
NOT_A_FILE_TP(eventfd)
NOT_A_FILE_TP(epoll_create)
NOT_A_FILE_TP(signalfd)
NOT_A_FILE_TP(inotify_init)

/* pipe(int fds[2]), pipe2(int fds[2], flags), socketpair(domain, type, protocol, int sv[2]) */
SEC("tracepoint/syscalls/sys_enter_pipe")
int tp_enter_pipe(struct sys_enter_args *ctx) { return remember(ctx->args[0], 0, 0, -1); }

SEC("tracepoint/syscalls/sys_enter_pipe2")
int tp_enter_pipe2(struct sys_enter_args *ctx) { return remember(ctx->args[0], 0, 0, -1); }

SEC("tracepoint/syscalls/sys_enter_socketpair")
int tp_enter_socketpair(struct sys_enter_args *ctx) { return remember(ctx->args[3], 0, 0, -1); }

static __always_inline int fd_pair(struct sys_exit_args *ctx)
{
	u32 tid = bpf_get_current_pid_tgid();
	struct fd_op *op = bpf_map_lookup_elem(&fd_ops, &tid);
	s32 pair[2];

	if (!op)
		return 0;
	if (ctx->ret == 0 && !probe_read_user(pair, sizeof(pair), (void *)op->name)) {
		not_a_file(pair[0]);
		not_a_file(pair[1]);
	}
	bpf_map_delete_elem(&fd_ops, &tid);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_pipe")
int tp_exit_pipe(struct sys_exit_args *ctx) { return fd_pair(ctx); }

SEC("tracepoint/syscalls/sys_exit_pipe2")
int tp_exit_pipe2(struct sys_exit_args *ctx) { return fd_pair(ctx); }

SEC("tracepoint/syscalls/sys_exit_socketpair")
int tp_exit_socketpair(struct sys_exit_args *ctx) { return fd_pair(ctx); }

/* ---------------------------------------------------------------- processes */

static __always_inline int forked(u32 child)
{
	struct parent p = { .tgid = bpf_get_current_pid_tgid() >> 32, .fork_ns = bpf_ktime_get_ns() };
	u32 ptgid = p.tgid;
	u64 *cwd;

	if (!on_fork(child))
		return 0;
	bpf_map_update_elem(&parents, &child, &p, BPF_ANY);
	/* A copy, not a lookup through `parents`: the parent may chdir later. */
	cwd = bpf_map_lookup_elem(&cwds, &ptgid);
	if (cwd) {
		u64 id = *cwd;

		bpf_map_update_elem(&cwds, &child, &id, BPF_ANY);
	}
	return 0;
}

/* sched:sched_process_fork's child_pid moved when its comms became
 * __data_loc strings (6.x). User space attaches the program whose offset the
 * tracepoint's format file confirms: the kernel refuses to attach a program
 * that reads past the end of the record. */

/* parent_comm[16] @8, parent_pid @24, child_comm[16] @28, child_pid @44 */
SEC("tracepoint/sched/sched_process_fork")
int tp_fork_at44(void *ctx)
{
	return forked(*(u32 *)(ctx + 44));
}

/* __data_loc parent_comm @8, parent_pid @12, __data_loc child_comm @16, child_pid @20 */
SEC("tracepoint/sched/sched_process_fork")
int tp_fork_at20(void *ctx)
{
	return forked(*(u32 *)(ctx + 20));
}

SEC("tracepoint/sched/sched_process_exec")
int tp_exec(void *ctx)
{
	return on_exec();
}

char LICENSE[] SEC("license") = "GPL";
