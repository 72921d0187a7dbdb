// SPDX-License-Identifier: GPL-2.0
/*
 * iotrace record on kernels with BTF: exact per-file I/O profiles,
 * aggregated in the kernel (record.bpf.h).
 *
 * Identity comes from the kernel's struct file behind each fd (CO-RE reads of
 * task->files->fdt->fd[fd]), not from tracking opens: files opened before
 * recording started, inherited over fork, dup'ed or passed over sockets are
 * all attributed by construction, and so is a process that exits a
 * microsecond after its write. Only S_ISREG inodes are counted.
 *
 * Entry points (strategies in src/record/mod.rs): raw_tp sys_enter/sys_exit
 * (one program each, dispatch on the syscall number), or one perf-event
 * tracepoint per syscall.
 */
#include "compat.bpf.h"
#include <asm/unistd.h>
#include <bpf/bpf_core_read.h>
#include "record.bpf.h"

/* Just the kernel fields we read; CO-RE finds them by name in the running
 * kernel's BTF, wherever they are. */
struct qstr {
	union {
		struct {
			unsigned int hash;
			unsigned int len;
		};
		unsigned long long hash_len;
	};
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
	struct mnt_namespace *mnt_ns;
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
	unsigned int flags;
	int pid;
	int tgid;
	struct task_struct *group_leader;
	char comm[16];
	/* u64 since 5.7 (d1e7fd6462ca "signal: Extend exec_id to 64bits"): the
	 * low half, read either way on little-endian x86, is enough to notice an exec. */
	unsigned int self_exec_id;
	struct files_struct *files;
	struct nsproxy *nsproxy;
} __attribute__((preserve_access_index));

#define S_IFMT 0170000
#define S_IFREG 0100000
#define S_IFDIR 0040000
#define MAX_PATH_DEPTH 48

/* Per struct file: identity cache and sequential-run state. LRU: entries of
 * files closed behind our back (exit, exec, close_range) age out. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, u64);
	__type(value, struct open_file);
} files SEC(".maps");

/* Path events: 8 MiB hold ~100k events of ordinary paths, more than new
 * files send while user space is busy (a snapshot of 100k files takes
 * ~0.2 s). User space maps the pages twice (to read records across the
 * wrap), so RSS counts them twice. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 23);
} events SEC(".maps");

/* Call events (record_config.call_events): user space sizes it, one page
 * when they are off. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22);
} calls SEC(".maps");

/* The file_event being built, per CPU: too big for the stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct file_event);
} path_buf SEC(".maps");

/* bpf_rdonly_cast() (6.2, "bpf: Add a kfunc for generic type cast") lets
 * the program load a kernel object's fields directly (fault-checked loads,
 * as from any untrusted pointer), not by a probe-read helper call each. A
 * weak kfunc: kernels without it take the probe-read branch. */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym __weak;
#define DIRECT_READ bpf_ksym_exists(bpf_rdonly_cast)

/* linux/rbtree_types.h */
struct rb_node {
	unsigned long __rb_parent_color;
} __attribute__((preserve_access_index));

/* bpf_get_current_task_btf() (5.11, 3ca1032ab7ab "bpf: Add
 * bpf_get_current_task_btf() helper") returns a task the program may read
 * directly: the loads below cost no helper call per pointer. Older kernels
 * with BTF take the probe-read branch, the other one is dead code there. */
#define DIRECT_TASK bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_get_current_task_btf)

/* The struct file behind fd in the current task, 0 if none. Global
 * functions, verified once rather than at every call site and state: each
 * direct load from a task costs the verifier a search of the kernel's BTF. */
__noinline u64 fd_file(u32 fd)
{
	struct task_struct *task;
	struct fdtable *fdt;
	struct file **fds;
	struct file *f = NULL;

	if (DIRECT_TASK) {
		task = bpf_get_current_task_btf();
		fdt = task->files->fdt;
		if (!fdt || fd >= fdt->max_fds)
			return 0;
		fds = fdt->fd;
		/* fd[fd] loaded as the first member of a kernel struct that
		 * starts with an unsigned long, which the verifier gives as a
		 * number (a pointer would be typed, and a global function
		 * returns numbers only): a fault-checked load instead of a
		 * probe-read helper call. */
		if (DIRECT_READ && bpf_core_field_offset(struct rb_node, __rb_parent_color) == 0 &&
		    bpf_core_field_size(struct rb_node, __rb_parent_color) == sizeof(u64))
			return bpf_core_cast(&fds[fd], struct rb_node)->__rb_parent_color;
	} else {
		task = (struct task_struct *)bpf_get_current_task();
		fdt = BPF_CORE_READ(task, files, fdt);
		if (!fdt || fd >= BPF_CORE_READ(fdt, max_fds))
			return 0;
		fds = BPF_CORE_READ(fdt, fd);
	}
	probe_read_kernel(&f, sizeof(f), &fds[fd]);
	return (u64)f;
}

__noinline u32 exec_id(void)
{
	struct task_struct *task;

	if (DIRECT_TASK)
		return bpf_get_current_task_btf()->self_exec_id;
	task = (struct task_struct *)bpf_get_current_task();
	return BPF_CORE_READ(task, self_exec_id);
}

static __always_inline u64 file_ref(u32 fd)
{
	return fd_file(fd);
}

/* io_uring's worker and SQPOLL threads (5.12+: 0x10 was PF_VCPU before 5.5)
 * belong to the ring owner's process and do its I/O: named as it is, not
 * iou-wrk-PID / iou-sqp-PID. */
#define PF_IO_WORKER 0x10

static __always_inline void current_comm(char *comm)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();

	if (BPF_CORE_READ(task, flags) & PF_IO_WORKER)
		bpf_probe_read_kernel_str(comm, RECORD_COMM_LEN, BPF_CORE_READ(task, group_leader)->comm);
	else
		bpf_get_current_comm(comm, RECORD_COMM_LEN);
}

static __always_inline u32 current_exec_id(void)
{
	return exec_id();
}

/* The member `field` (a path: a.b) of the kernel object of `type` at `ptr`. */
#define KREAD(ptr, type, field)                                                \
	(DIRECT_READ ? bpf_core_cast((void *)(ptr), type)->field : BPF_CORE_READ((type *)(ptr), field))

static __always_inline struct inode *file_inode_of(u64 ref)
{
	return KREAD(ref, struct file, f_inode);
}

static __always_inline bool file_appends(u64 ref)
{
	return ref && (KREAD(ref, struct file, f_flags) & O_APPEND);
}

SUBPROG void call_sent(const struct io_done *d, u64 inode, u64 now)
{
	struct super_block *sb = KREAD(inode, struct inode, i_sb);
	struct call_event *e = bpf_ringbuf_reserve(&calls, sizeof(*e), 0);
	u64 id = bpf_get_current_pid_tgid();

	if (!e) {
		drop(DROP_CALLS, 1);
		return;
	}
	e->ts_ns = now;
	e->lat_ns = d->start ? now - d->start : 0;
	e->offset = d->off;
	e->req = d->req;
	e->ret = d->ret;
	e->ino = KREAD(inode, struct inode, i_ino);
	e->dev = KREAD(sb, struct super_block, s_dev);
	e->kind = d->kind;
	e->pid = id >> 32;
	e->tid = (u32)id;
	current_comm(e->comm);
	bpf_ringbuf_submit(e, 0);
}

static __always_inline u64 file_pos(u64 ref, bool append)
{
	struct inode *inode;

	if (!ref)
		return 0;
	if (!append)
		return KREAD(ref, struct file, f_pos);
	inode = KREAD(ref, struct file, f_inode);
	return KREAD(inode, struct inode, i_size);
}

#define PATH_WORDS (sizeof(((struct file_event *)0)->path) / 8)

/* FNV-style mixing of the path's 8-byte words; bytes past its end are
 * stale and masked. */
static __always_inline u64 hash_word(u64 h, const struct file_event *e, u32 i, u32 len)
{
	u64 w = *(u64 *)&e->path[i * 8], left = len - i * 8;

	if (left < 8)
		w &= (1ULL << (left * 8)) - 1;
	h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
	return h ^ (h >> 29);
}

/* The row key of the path in path_buf: a 64-bit hash of its bytes or, for a
 * file without a name, an id of its own. A global function of its own, so
 * that the loop is verified once, not once per way out of the walk; with
 * an iterator (HAVE_NUM_ITER), its body once, not once per word. */
__noinline int hash_path(void)
{
	u32 zero = 0;
	struct file_event *e = bpf_map_lookup_elem(&path_buf, &zero);
	u64 h = 0xcbf29ce484222325ULL;
	u32 len, words;
	int *i;

	if (!e)
		return 0;
	len = e->path_len;
	words = (len + 7) / 8;
	if (HAVE_NUM_ITER) {
		struct num_iter it = {};
		num_iter_new(&it, 0, words < PATH_WORDS ? words : PATH_WORDS);
		while ((i = num_iter_next(&it))) {
			if (*i < 0 || *i >= PATH_WORDS)
				break;
			h = hash_word(h, e, *i, len);
		}
		num_iter_destroy(&it);
	} else {
		for (u32 w = 0; w < PATH_WORDS; w++) {
			if (w >= words)
				break;
			h = hash_word(h, e, w, len);
		}
	}
	h ^= len | (u64)(e->flags & FILE_TRUNCATED) << 32;
	if (e->flags & FILE_UNLINKED)
		h ^= ((bpf_ktime_get_ns() << 8) | bpf_get_smp_processor_id()) * 0xff51afd7ed558ccdULL;
	e->key.id = h;
	return 0;
}

/* Where a path walk is, per CPU, between steps. */
struct walk {
	u64 dentry;
	u64 mnt;   /* struct mount * */
	u32 pos;   /* bytes of path_buf's path written */
	u32 top;   /* the walk reached the root of the namespace (or of an unmounted file system) */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct walk);
} walks SEC(".maps");

/* One step up the path in `walks`: a name into path_buf, or across a mount.
 * Non-zero when the walk is over. A global function of its own, so that the
 * verifier checks one step once, not every step of the walk once per state
 * the steps before it left (48 inlined steps took 0.5 s to verify). */
__noinline int walk_step(void)
{
	u32 zero = 0;
	struct walk *w = bpf_map_lookup_elem(&walks, &zero);
	struct file_event *e = bpf_map_lookup_elem(&path_buf, &zero);
	struct dentry *d, *parent;
	struct mount *mnt, *mparent;
	long n;

	if (!w || !e)
		return 1;
	d = (struct dentry *)w->dentry;
	mnt = (struct mount *)w->mnt;
	if (d == KREAD(mnt, struct mount, mnt.mnt_root)) {
		/* Top of this mount: continue from where it is mounted. */
		mparent = KREAD(mnt, struct mount, mnt_parent);
		if (mparent == mnt) {
			w->top = 1;
			return 1;
		}
		w->dentry = (u64)KREAD(mnt, struct mount, mnt_mountpoint);
		w->mnt = (u64)mparent;
		return 0;
	}
	parent = KREAD(d, struct dentry, d_parent);
	if (parent == d) {
		w->top = 1;
		return 1;
	}
	if (w->pos >= RECORD_PATH_MAX)
		return 1;
	n = bpf_probe_read_kernel_str(&e->path[w->pos & (RECORD_PATH_MAX - 1)], RECORD_NAME_MAX + 1,
				      KREAD(d, struct dentry, d_name.name));
	if (n <= 0)
		return 1;
	w->pos += n;
	w->dentry = (u64)parent;
	return 0;
}

/* Take the path of `file` into path_buf: its components as seen from its
 * mount namespace's root, leaf first, each NUL-terminated (user space
 * reverses them), and the row key: mntns + a 64-bit hash of those bytes, or
 * for a file without a name (unlinked before first seen, O_TMPFILE) an id of
 * its own, since its last name may be anybody's next.
 *
 * A global function: the verifier checks it once on its own (5.6+, 51c39bb1d5d1
 * "bpf: Introduce function-by-function verification") instead of once per
 * state of every caller, which would exceed its budget. Hence only scalar
 * arguments: kernel pointers travel as u64 and are read with CO-RE. */
__noinline int take_path(u64 file, u32 mntns)
{
	u32 zero = 0;
	struct file_event *e = bpf_map_lookup_elem(&path_buf, &zero);
	struct walk *w = bpf_map_lookup_elem(&walks, &zero);
	struct file *f = (struct file *)file;
	struct inode *inode = BPF_CORE_READ(f, f_inode);

	if (!e || !w)
		return 0;
	e->ino = BPF_CORE_READ(inode, i_ino);
	e->dev = BPF_CORE_READ(inode, i_sb, s_dev);
	e->flags = BPF_CORE_READ(inode, i_nlink) == 0 ? FILE_UNLINKED : 0;
	w->dentry = (u64)BPF_CORE_READ(f, f_path.dentry);
	/* container_of(vfsmount, struct mount, mnt), with a CO-RE offset */
	w->mnt = (u64)BPF_CORE_READ(f, f_path.mnt) - bpf_core_field_offset(struct mount, mnt);
	w->pos = 0;
	w->top = 0;
	for (int i = 0; i < MAX_PATH_DEPTH; i++) {
		if (walk_step())
			break;
	}
	/* Out of depth, length or a name that could not be read: the head is missing. */
	if (!w->top)
		e->flags |= FILE_TRUNCATED;
	e->path_len = w->pos;
	e->key.mntns = mntns;
	return hash_path();
}

/* Is f reachable by a path? Files on kernel-internal mounts (memfd and
 * shmem, pipes, sockets, anon inodes: kern_mount() sets mnt_ns to
 * MNT_NS_INTERNAL, an error pointer) or on detached mounts (NULL) are not. */
static __always_inline bool named(struct file *f)
{
	struct mount *mnt = (void *)BPF_CORE_READ(f, f_path.mnt) - bpf_core_field_offset(struct mount, mnt);
	u64 ns = (u64)BPF_CORE_READ(mnt, mnt_ns);

	return ns && ns < (u64)-4095;
}

/* Not an open: resolve_file()'s `open_flags` for a file first seen by its I/O. */
#define NOT_OPENED ((u64)-1)

/* Cache the identity of the struct file `ref` (of inode), and count its open
 * with `open_flags`: a call of its own, so that its stack is not added to
 * that of account() (older verifiers count every frame of a call chain in
 * full against 512 bytes). */
static __noinline void resolve_file(u64 ref, struct inode *inode, bool dirs, u64 open_flags)
{
	struct file *f = (struct file *)ref;
	struct task_struct *task;
	struct open_file fresh = {}, *old;
	struct open_counts zc = {}, *c;
	struct dentry *d;
	struct file_event *e;
	u32 zero = 0, len;

	u16 type = BPF_CORE_READ(inode, i_mode) & S_IFMT;

	fresh.inode = (u64)inode;
	fresh.regular = type == S_IFREG && named(f);
	fresh.is_dir = type == S_IFDIR;
	fresh.dir = dirs && fresh.is_dir && named(f);
	if (fresh.regular || fresh.dir) {
		task = (struct task_struct *)bpf_get_current_task();
		d = BPF_CORE_READ(f, f_path.dentry);
		fresh.parent = (u64)BPF_CORE_READ(d, d_parent);
		fresh.name_hash = BPF_CORE_READ(d, d_name.hash_len);
		take_path(ref, BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum));
		e = bpf_map_lookup_elem(&path_buf, &zero);
		if (!e)
			return;
		fresh.key = e->key;
		if (fresh.dir)
			e->flags |= FILE_DIR;
		c = lookup_or_init(&file_opens, &fresh.key, &zc);
		if (c && (c->named_ino != e->ino || c->named_dev != e->dev)) {
			/* A new row, or a new inode under its name. Two CPUs may
			 * both send it: user space takes each (row, inode) once. */
			c->named_ino = e->ino;
			c->named_dev = e->dev;
			len = __builtin_offsetof(struct file_event, path) + e->path_len;
			if (len > sizeof(*e))
				len = sizeof(*e);
			if (bpf_ringbuf_output(&events, e, len, 0))
				drop(DROP_EVENTS, 1);
		}
		if (c && fresh.regular && open_flags != NOT_OPENED)
			count_open_in(c, open_flags);
	}
	/* Refreshed in place where the address had state: an update of an LRU
	 * map takes its locks and a free element each time. */
	old = bpf_map_lookup_elem(&files, &ref);
	if (old)
		__builtin_memcpy(old, &fresh, sizeof(fresh));
	else
		bpf_map_update_elem(&files, &ref, &fresh, BPF_ANY);
}

/* The state of the struct file `ref`, its identity resolved on first sight;
 * a directory's at its first fsync. */
static __always_inline struct open_file *file_state(u64 ref, bool sync)
{
	struct inode *inode = file_inode_of(ref);
	struct open_file *of = bpf_map_lookup_elem(&files, &ref);

	/* A struct file freed and reused for another inode must not inherit
	 * state; the old file's runs end. */
	if (!of || of->inode != (u64)inode || (sync && of->is_dir && !of->dir)) {
		if (of && of->regular)
			flush_runs(of);
		resolve_file(ref, inode, sync, NOT_OPENED);
		of = bpf_map_lookup_elem(&files, &ref);
	}
	return of && (of->regular || (sync && of->dir)) ? of : NULL;
}

/* The struct file may live on in a dup or a child, so its state stays (a new
 * open at the same address replaces it: opened()). What a close can tell is
 * whether the file lost or changed its name since it was opened. */
static __always_inline void file_closed(u64 ref, struct open_file *of)
{
	struct file *f = (struct file *)ref;
	struct dentry *d = BPF_CORE_READ(f, f_path.dentry);
	struct file_stats zs = {}, *fs;
	u32 flags = 0;

	if ((u64)BPF_CORE_READ(d, d_parent) != of->parent || BPF_CORE_READ(d, d_name.hash_len) != of->name_hash)
		flags |= FILE_RENAMED;
	if (BPF_CORE_READ(f, f_inode, i_nlink) == 0)
		flags |= FILE_UNLINKED;
	if (flags && (fs = lookup_or_init(&file_stats, &of->key, &zs)))
		fs->flags |= flags;
}

/* A successful open returned fd: its struct file is new, so state cached
 * under the same address belongs to a file released earlier, by a close or
 * by what close(2) does not see (exit, exec, dup2 over it, close_range).
 * That file's runs end; the new one is named now, by the name it was opened
 * by (a rename before its first I/O does not change that). */
static __always_inline int opened(s64 fd)
{
	struct file *f;
	struct open_file *of;
	u64 ref;

	if (fd < 0 || !is_traced(bpf_get_current_pid_tgid() >> 32))
		return 0;
	ref = file_ref(fd);
	if (!ref)
		return 0;
	of = bpf_map_lookup_elem(&files, &ref);
	if (of && of->regular)
		flush_runs(of);
	f = (struct file *)ref;
	resolve_file(ref, BPF_CORE_READ(f, f_inode), false, BPF_CORE_READ(f, f_flags));
	return 0;
}

/* ---------------------------------------------------------------- raw_tp */

#define NR_SYSCALLS_MAX 512

/* Syscall number -> what record does with it: io_kind + 1, NR_OPEN for
 * RECORD_OPENS, 0 for the rest. A table in global data, not a switch: the
 * verifier cannot know its values, so it cannot prune account()'s branches
 * by them, which on 6.1 miscounted pwrite64 as a read when the exit's kind
 * came from a switch (found by vm-tests). */
#define NR_OPEN 0x40  /* above every io_kind + 1 (IO_NR_KINDS <= 63) */
#define NR_OFF32 0x80 /* ia32 sendfile: its offset pointer is to 32 bits */
_Static_assert(IO_NR_KINDS < NR_OPEN, "io_kind + 1 below NR_OPEN");

/* x86-64 has one sendfile, 64-bit: its tracepoints and function are named
 * sendfile64 (SYSCALL_DEFINE4(sendfile64, ...)), its number __NR_sendfile. */
#define __NR_sendfile64 __NR_sendfile
#define KIND_OF_NR(sys, kind) [__NR_##sys] = kind + 1,
#define OPEN_NR(sys) [__NR_##sys] = NR_OPEN,

static volatile u8 syscall_kinds[NR_SYSCALLS_MAX] = {
	RECORD_SYSCALLS(KIND_OF_NR) RECORD_AIO_SYSCALLS(KIND_OF_NR) RECORD_OPENS(OPEN_NR)
};

/* The same for the 32-bit syscalls of x86-64's ia32 emulation (int $0x80,
 * sysenter), which have numbers of their own (build.rs: ia32_unistd.h). Their
 * sendfile takes a compat_off_t *, sendfile64 a loff_t *; io_pgetevents has
 * a time64 twin. */
#include "ia32_unistd.h"
/* ia32's mmap (90) is old_mmap, which takes its arguments in a struct;
 * mmap2 has x86-64 mmap's layout (its offset in pages, which record does
 * not use). */
#undef __NR_ia32_mmap
#define __NR_ia32_mmap __NR_ia32_mmap2
#define KIND_OF_IA32(sys, kind) [__NR_ia32_##sys] = kind + 1,
#define OPEN_IA32(sys) [__NR_ia32_##sys] = NR_OPEN,

static volatile u8 ia32_kinds[NR_SYSCALLS_MAX] = {
	RECORD_SYSCALLS(KIND_OF_IA32) RECORD_AIO_SYSCALLS(KIND_OF_IA32) RECORD_OPENS(OPEN_IA32)
	[__NR_ia32_sendfile] = (IO_SENDFILE_OUT + 1) | NR_OFF32,
	[__NR_ia32_io_pgetevents_time64] = IO_PGETEVENTS + 1,
};

struct thread_info {
	unsigned int status;
} __attribute__((preserve_access_index));

struct task_struct___ti {
	struct thread_info thread_info;
} __attribute__((preserve_access_index));

/* arch/x86/include/asm/thread_info.h: set at the entry of a 32-bit syscall
 * (int $0x80 or sysenter, whatever the process's own mode), cleared on the
 * way back to user space, after sys_exit. */
#define TS_COMPAT 0x0002

static __always_inline bool in_ia32_syscall(void)
{
	struct task_struct___ti *task;

	if (!bpf_core_field_exists(struct task_struct___ti, thread_info) || !bpf_core_field_exists(struct thread_info, status))
		return false;
	if (DIRECT_TASK)
		return ((struct task_struct___ti *)bpf_get_current_task_btf())->thread_info.status & TS_COMPAT;
	task = (struct task_struct___ti *)bpf_get_current_task();
	return BPF_CORE_READ(task, thread_info.status) & TS_COMPAT;
}

static __always_inline bool entry_needed(u32 v)
{
	return v && v != NR_OPEN && needs_entry((v & ~NR_OFF32) - 1);
}

#define KIND_OPEN (-2)
/* syscall_of()'s answer: io_kind (or KIND_OPEN, -1) + 2 in the low byte, ABI_* above. */
#define SC_KIND(sc) (((sc) & 0xff) - 2)
#define SC_ABI(sc) ((u32)(sc) >> 8)

/* What syscall nr of the current task is to record (SC_KIND: its io_kind,
 * KIND_OPEN at the exit only, or -1; SC_ABI: its arguments' layout). Asked
 * by every syscall of every process: the tables first, the filter next, and
 * only then the task, whose TS_COMPAT picks the table. At the entry only
 * what needs it (needs_entry) passes. A global function: its spills stay off
 * the exit programs' deepest call chain, whose frames 5.10 to 6.1 count
 * together against 512 bytes. */
GLOBAL_FN int syscall_of(long nr, u32 entry)
{
	const volatile struct record_config *cfg = get_config();
	u32 v64, v32, v, abi = 0;

	if ((unsigned long)nr >= NR_SYSCALLS_MAX || !cfg)
		return 1;
	v64 = syscall_kinds[nr];
	v32 = ia32_kinds[nr];
	if (entry ? cfg->exit_args && !entry_needed(v64) && !entry_needed(v32) : !v64 && !v32)
		return 1;
	if (!is_traced(bpf_get_current_pid_tgid() >> 32))
		return 1;
	v = v64;
	if (in_ia32_syscall()) {
		v = v32;
		abi = ABI_IA32 | (v & NR_OFF32 ? ABI_OFF32 : 0);
	}
	v &= ~NR_OFF32;
	if (!v || (entry && v == NR_OPEN))
		return 1;
	if (v == NR_OPEN)
		return (KIND_OPEN + 2) | abi << 8;
	/* The other table's syscall of this number may have been the one that needs its entry. */
	if (entry && cfg->exit_args && !needs_entry(v - 1))
		return 1;
	return (v + 1) | abi << 8;
}

/* A 32-bit syscall's arguments (ebx, ecx, edx, esi, edi, ebp, 32 bits each)
 * in x86-64's layout, as view_args() reads them: the 64-bit offset that
 * the p* calls split in two (pos_low, pos_high) joined. */
static __always_inline void ia32_args(u32 kind, u64 *a)
{
	if (positional(kind))
		a[3] |= a[4] << 32;
}

/* x86_64 pt_regs as in the uapi <asm/ptrace.h>: stable ABI, no BTF needed. */
struct regs {
	u64 r15, r14, r13, r12, bp, bx, r11, r10, r9, r8, ax, cx, dx, si, di, orig_ax;
};

/* The syscall arguments in the user registers at `user`: di, si, dx, r10,
 * r8, r9, or for a 32-bit syscall bx, cx, dx, si, di, bp. Read into `a`
 * itself where it can be: one more word on this stack and 5.10 to 6.1
 * refuse the exit programs' call chain (combined stack over 512 bytes). */
static __always_inline bool user_args(const struct regs *user, u32 kind, u32 abi, u64 *a)
{
	/* r10 .. di, contiguous in struct regs: one read */
	struct {
		u64 r10, r9, r8, ax, cx, dx, si, di;
	} w;

	if (abi & ABI_IA32) {
		/* cx, dx, si, di are contiguous, bx and bp apart */
		if (probe_read_kernel(&a[1], 4 * sizeof(u64), &user->cx) || probe_read_kernel(&a[0], sizeof(u64), &user->bx) ||
		    probe_read_kernel(&a[5], sizeof(u64), &user->bp))
			return false;
		for (int i = 0; i < 6; i++)
			a[i] = (u32)a[i];
		ia32_args(kind, a);
		return true;
	}
	if (probe_read_kernel(&w, sizeof(w), &user->r10))
		return false;
	a[0] = w.di;
	a[1] = w.si;
	a[2] = w.dx;
	a[3] = w.r10;
	a[4] = w.r8;
	a[5] = w.r9;
	return true;
}

/* user_args() into this CPU's view: a global function, so that its buffer
 * is not on the exit programs' deepest call chain (see syscall_of()). */
GLOBAL_FN int view_user_args(u64 user, u32 kind, u32 abi)
{
	struct call_view *v = exit_view();

	return v && user_args((const struct regs *)user, kind, abi, v->args);
}

/* fentry and kprobes on __x64_sys_*: 64-bit syscalls of `kind` only. */
static __always_inline int enter_regs(u32 kind, const struct regs *user)
{
	u64 a[6];

	return enter_wanted(kind) && user_args(user, kind, 0, a) ? io_enter(kind, a, 0) : 0;
}

/* The exit of `kind` with the user registers at `user`, where the
 * arguments still are: a read or write is accounted from them alone
 * (cfg->exit_args), the rest from what the entry recorded. */
static __always_inline int exit_regs(u32 kind, u32 abi, const struct regs *user, s64 ret)
{
	const volatile struct record_config *cfg = get_config();
	bool from_args = cfg->exit_args && !needs_entry(kind);
	struct call_view *v;

	/* fexit: every process's reads and writes pass here: filter first. */
	if (from_args && !is_traced(bpf_get_current_pid_tgid() >> 32))
		return 0;
	if (from_args && !view_user_args((u64)user, kind, abi))
		return 0;
	v = exit_view();
	if (!v)
		return 0;
	v->abi = abi;
	return io_exit_from(ret, kind, v, from_args, from_args);
}

SEC("raw_tp/sys_enter")
int raw_sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	const struct regs *user = (const struct regs *)ctx->args[0];
	int sc = syscall_of(ctx->args[1], true), kind = SC_KIND(sc);
	u64 a[6];

	return kind >= 0 && user_args(user, kind, SC_ABI(sc), a) ? io_enter(kind, a, SC_ABI(sc)) : 0;
}

SEC("raw_tp/sys_exit")
int raw_sys_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct regs *r = (struct regs *)ctx->args[0];
	long nr = 0;
	int sc, kind;

	probe_read_kernel(&nr, sizeof(nr), &r->orig_ax);
	sc = syscall_of(nr, false);
	kind = SC_KIND(sc);
	if (kind == KIND_OPEN)
		return opened(ctx->args[1]);
	return kind >= 0 ? exit_regs(kind, SC_ABI(sc), r, ctx->args[1]) : 0;
}

/* ---------------------------------------------------------------- tp_btf */

/* The same two raw tracepoints with BTF-typed arguments (5.5+): the user
 * registers are read directly, not by a probe read each. */
struct pt_regs {
	unsigned long bx, cx, dx, si, di, bp, r10, r8, r9, orig_ax;
} __attribute__((preserve_access_index));

static __always_inline void regs_args(const struct pt_regs *regs, u32 kind, u32 abi, u64 *a)
{
	if (abi & ABI_IA32) {
		a[0] = (u32)regs->bx;
		a[1] = (u32)regs->cx;
		a[2] = (u32)regs->dx;
		a[3] = (u32)regs->si;
		a[4] = (u32)regs->di;
		a[5] = (u32)regs->bp;
		ia32_args(kind, a);
		return;
	}
	a[0] = regs->di;
	a[1] = regs->si;
	a[2] = regs->dx;
	a[3] = regs->r10;
	a[4] = regs->r8;
	a[5] = regs->r9;
}

/* sys_enter(struct pt_regs *regs, long id) */
SEC("tp_btf/sys_enter")
int tb_sys_enter(u64 *ctx)
{
	const struct pt_regs *regs = (void *)ctx[0];
	int sc = syscall_of(ctx[1], true), kind = SC_KIND(sc);
	u64 a[6];

	if (kind < 0)
		return 0;
	regs_args(regs, kind, SC_ABI(sc), a);
	return io_enter(kind, a, SC_ABI(sc));
}

/* sys_exit(struct pt_regs *regs, long ret) */
SEC("tp_btf/sys_exit")
int tb_sys_exit(u64 *ctx)
{
	const volatile struct record_config *cfg = get_config();
	const struct pt_regs *regs = (void *)ctx[0];
	int sc = syscall_of(regs->orig_ax, false), kind = SC_KIND(sc);
	u32 abi = SC_ABI(sc);
	struct call_view *v;
	bool from_args;

	if (kind == KIND_OPEN)
		return opened(ctx[1]);
	if (kind < 0)
		return 0;
	from_args = cfg->exit_args && !needs_entry(kind);
	v = exit_view();
	if (!v)
		return 0;
	/* Direct loads: also read where the entry should have been recorded. */
	regs_args(regs, kind, abi, v->args);
	v->abi = abi;
	return io_exit_from(ctx[1], kind, v, from_args, true);
}

/* ---------------------------------------------------------------- tracepoints */

ALL_SYSCALL_TPS

#define OPEN_TP(name)                                                          \
	SEC("tracepoint/syscalls/sys_exit_" #name)                            \
	int tp_exit_##name(struct sys_exit_args *ctx)                          \
	{                                                                      \
		return opened(ctx->ret);                                \
	}

RECORD_OPENS(OPEN_TP)

/* ------------------------------------------------ fentry/fexit and kprobes */

/*
 * On the x86-64 syscall functions themselves, which take the user registers
 * (since 4.17, d5a00528b58c "syscalls/core, syscalls/x86: Rename struct
 * pt_regs-based sys_*() to __x64_sys_*()"). Unlike sys_enter/sys_exit they
 * fire only for the traced syscalls, and enabling them does not send every
 * syscall of every task through the syscall-tracepoint slow path.
 */
/* fentry/fexit's first argument, the user registers: read by a probe, not as
 * ctx[0], which the verifier refuses where the function's BTF has struct
 * pt_regs only as a forward declaration (Debian's 5.10 for
 * __x64_sys_copy_file_range: "arg0 type FWD is not a struct"). */
static __always_inline const struct regs *fn_regs(u64 *ctx)
{
	u64 r = 0;

	probe_read_kernel(&r, sizeof(r), ctx);
	return (const struct regs *)r;
}

#define SYSCALL_FN(name, kind)                                                 \
	SEC("fentry/__x64_sys_" #name)                                         \
	int fe_##name(u64 *ctx)                                                \
	{                                                                      \
		return enter_regs(kind, fn_regs(ctx));                         \
	}                                                                      \
	SEC("fexit/__x64_sys_" #name)                                          \
	int fx_##name(u64 *ctx)                                                \
	{                                                                      \
		return exit_regs(kind, 0, fn_regs(ctx), ctx[1]);               \
	}                                                                      \
	SEC("kprobe/__x64_sys_" #name)                                         \
	int kp_##name(struct regs *ctx)                                        \
	{                                                                      \
		return enter_regs(kind, (const struct regs *)ctx->di);         \
	}                                                                      \
	SEC("kretprobe/__x64_sys_" #name)                                      \
	int kr_##name(struct regs *ctx)                                        \
	{                                                                      \
		return io_exit(ctx->ax, kind);                                 \
	}

#define OPEN_FN(name)                                                          \
	SEC("fexit/__x64_sys_" #name)                                          \
	int fx_##name(u64 *ctx)                                                \
	{                                                                      \
		return opened(ctx[1]);                                  \
	}                                                                      \
	SEC("kretprobe/__x64_sys_" #name)                                      \
	int kr_##name(struct regs *ctx)                                        \
	{                                                                      \
		return opened(ctx->ax);                                 \
	}

RECORD_SYSCALLS(SYSCALL_FN)
RECORD_AIO_SYSCALLS(SYSCALL_FN)
RECORD_OPENS(OPEN_FN)

/* ---------------------------------------------------------------- io_uring */

/*
 * Each request on file data (record.h: RECORD_URING_OPS) is remembered when
 * it is submitted, by the task that submits it (the ring's owner, or its
 * SQPOLL thread, of the same process: the pid filter holds), and accounted
 * when its CQE is posted: the file the request ran on, its result, the
 * latency from submission. Where io_uring_complete passes the request
 * (5.16+, and 5.10's stable backports: src/record/uring.rs tells from the
 * tracepoint's prototype in BTF). The file is read at completion: since 5.18
 * it is assigned at issue, after the submit tracepoint, and a fixed
 * (registered) file is a struct file there too.
 */

/* The request's fields we read (io_uring_types.h). Its per-opcode data
 * overlays `file` (io_cmd_data, or before 5.19 a union of the per-opcode
 * structs): a struct io_rw for reads and writes, a struct io_sync for
 * fsync, sync_file_range and fallocate. */
struct io_cqe {
	int res;
} __attribute__((preserve_access_index));

struct io_kiocb {
	struct file *file;
	unsigned char opcode;
	struct io_cqe cqe; /* 5.19+ */
} __attribute__((preserve_access_index));

struct kiocb {
	long long ki_pos;
} __attribute__((preserve_access_index));

struct io_rw {
	struct kiocb kiocb;
	u64 addr;
	u32 len;
} __attribute__((preserve_access_index));

struct io_sync {
	long long len;
	long long off;
	int flags;
} __attribute__((preserve_access_index));

#define IORING_FSYNC_DATASYNC 1
#define URING_OPS_MAX 64
#define KIND_OF_OP(op, kind) [op] = kind + 1,

/* IORING_OP_* -> io_kind + 1 (0: not on file data), like syscall_kinds. */
static volatile u8 uring_kinds[URING_OPS_MAX] = { RECORD_URING_OPS(KIND_OF_OP) };

/* A request in flight: by its address, or where the completion does not
 * pass it (record_config.uring_by_data) by its ring and user_data. */
struct uring_key {
	u64 req_or_ring;
	u64 user_data;
};

struct uring_op {
	u64 file; /* by user_data: the request's file at submission; else read at completion */
	u64 ts;
	u64 off;  /* the request's offset; -1: the file position */
	u64 req;  /* bytes asked for (fallocate, sync_file_range: their length) */
	u32 kind;
	u32 _pad;
};

/* Requests submitted and not completed, by struct io_kiocb address. A
 * request whose CQE is never posted (IOSQE_CQE_SKIP_SUCCESS) leaves its
 * entry until the kernel reuses the request, which overwrites it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct uring_key);
	__type(value, struct uring_op);
} uring_ops SEC(".maps");

/* Request `r` of ring `ring`, with `user_data`, was submitted. */
GLOBAL_FN int uring_submitted(u64 r, u64 ring, u64 user_data)
{
	const volatile struct record_config *cfg = get_config();
	struct io_kiocb *req = (struct io_kiocb *)r;
	u32 op = BPF_CORE_READ(req, opcode);
	struct uring_key k = { r };
	struct uring_op u = {};
	int kind;

	if (op >= URING_OPS_MAX || !uring_kinds[op] || !is_traced(bpf_get_current_pid_tgid() >> 32))
		return 0;
	kind = uring_kinds[op] - 1;
	u.ts = bpf_ktime_get_ns();
	u.kind = kind;
	if (is_read(kind) || is_write(kind)) {
		struct io_rw *rw = (struct io_rw *)r;
		u32 len = BPF_CORE_READ(rw, len);

		u.off = BPF_CORE_READ(rw, kiocb.ki_pos);
		/* readv, writev and their fixed forms: len counts iovecs */
		if (kind == IO_URING_READV || kind == IO_URING_WRITEV || kind == IO_URING_READV_FIXED ||
		    kind == IO_URING_WRITEV_FIXED)
			u.req = iov_total(BPF_CORE_READ(rw, addr), len, false);
		else
			u.req = len;
	} else {
		struct io_sync *s = (struct io_sync *)r;

		u.off = BPF_CORE_READ(s, off);
		u.req = BPF_CORE_READ(s, len);
		if (kind == IO_URING_FSYNC && BPF_CORE_READ(s, flags) & IORING_FSYNC_DATASYNC)
			u.kind = IO_URING_FDATASYNC;
	}
	if (cfg->uring_by_data) {
		/* its file is assigned at submission there (before 5.18) */
		k = (struct uring_key){ ring, user_data };
		u.file = (u64)BPF_CORE_READ(req, file);
	}
	if (bpf_map_update_elem(&uring_ops, &k, &u, BPF_ANY))
		drop(DROP_INFLIGHT, 1);
	return 0;
}

/* A CQE with result `res` was posted: for request `r`, or, by user_data,
 * for the request of `ring` with `user_data`. */
GLOBAL_FN int uring_completed(u64 r, u64 ring, u64 user_data, s64 res)
{
	const volatile struct record_config *cfg = get_config();
	struct io_kiocb *req = (struct io_kiocb *)r;
	struct uring_key k = { r };
	struct uring_op *u;
	struct open_file *of;
	struct io_done d;
	u64 ref;

	if (cfg->uring_by_data)
		k = (struct uring_key){ ring, user_data };
	u = bpf_map_lookup_elem(&uring_ops, &k);
	if (!u)
		return 0;
	d.off = u->off;
	d.req = u->req;
	d.start = u->ts;
	d.kind = u->kind;
	ref = u->file;
	bpf_map_delete_elem(&uring_ops, &k);
	if (!ref)
		ref = (u64)BPF_CORE_READ(req, file);
	d.ret = res;
	/* At the file position (offset -1): the request has moved it past its bytes. */
	if (d.off == (u64)-1)
		d.off = file_pos(ref, false) - (d.ret > 0 ? d.ret : 0);
	if (ref && (of = file_state(ref, is_sync(d.kind))))
		account(of, &d);
	return 0;
}

/* io_uring_submit_req(req): 6.3+ (io_uring_submit_sqe before). */
SEC("raw_tp/io_uring_submit_req")
int raw_uring_submit_req(struct bpf_raw_tracepoint_args *ctx)
{
	return uring_submitted(ctx->args[0], 0, 0);
}

/* io_uring_submit_sqe(req, force_nonblock) from 5.19; (ctx, req, opcode,
 * user_data, ...) from 5.12 to 5.18 and in 5.10's stable updates. */
SEC("raw_tp/io_uring_submit_sqe")
int raw_uring_submit_sqe(struct bpf_raw_tracepoint_args *ctx)
{
	const volatile struct record_config *cfg = get_config();

	if (cfg->uring_sqe_req_second)
		return uring_submitted(ctx->args[1], ctx->args[0], ctx->args[3]);
	return uring_submitted(ctx->args[0], 0, 0);
}

/* io_uring_complete(ctx, req, ...): req is NULL for a CQE of no request. The
 * result is in the request's CQE from 5.19; before, only an argument:
 * (ctx, req, user_data, res, cflags) from 5.16, (ctx, user_data, res, cflags)
 * before (record_config.uring_by_data). An argument is read only where it
 * is: the kernel refuses to attach a program that reads past the
 * tracepoint's arguments, three (ctx, req, cqe) on later kernels (6.18;
 * 6.12 has seven). */
SEC("raw_tp/io_uring_complete")
int raw_uring_complete(struct bpf_raw_tracepoint_args *ctx)
{
	const volatile struct record_config *cfg = get_config();
	struct io_kiocb *req = (struct io_kiocb *)ctx->args[1];

	if (cfg->uring_by_data)
		return uring_completed(0, ctx->args[0], ctx->args[1], (int)ctx->args[2]);
	if (!req)
		return 0;
	return uring_completed((u64)req, 0, 0,
			       bpf_core_field_exists(req->cqe) ? BPF_CORE_READ(req, cqe.res) : (int)ctx->args[3]);
}

/* ---------------------------------------------------------------- processes */

/* sched_process_fork(parent, child) */
SEC("raw_tp/sched_process_fork")
int raw_fork(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *child = (struct task_struct *)ctx->args[1];

	on_fork(BPF_CORE_READ(child, tgid));
	return 0;
}

SEC("raw_tp/sched_process_exec")
int raw_exec(struct bpf_raw_tracepoint_args *ctx)
{
	return on_exec();
}

char LICENSE[] SEC("license") = "GPL";
