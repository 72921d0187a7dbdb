/* SPDX-License-Identifier: GPL-2.0 */
/*
 * amplify: which tasks are inside a file write, so that the pages a write
 * adds to the page cache are not counted as misses. The syscall tells that
 * from 5.15 (bpf_task_pt_regs, amplify.bpf.c); before, VFS hooks do where
 * the kernel has fentry or kprobes: vfs_write (write, pwrite64),
 * vfs_writev (writev, pwritev, pwritev2), vfs_iter_write (splice, sendfile,
 * copy_file_range's fallback, nfsd). Shared by amplify.bpf.c (fentry, kprobe)
 * and amplify_legacy.bpf.c (kprobe; the legacy object has no BTF).
 *
 * A flag per thread, not a depth: a kretprobe the kernel misses (more
 * writes sleeping at once than its instances) leaves its thread marked only
 * until that thread's next write ends.
 */
#ifndef IOTRACE_AMPLIFY_WRITES_BPF_H
#define IOTRACE_AMPLIFY_WRITES_BPF_H

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, u32);
	__type(value, u8);
} writing SEC(".maps");

static __always_inline int write_begins(void)
{
	u32 tid = (u32)bpf_get_current_pid_tgid();
	u8 one = 1;

	bpf_map_update_elem(&writing, &tid, &one, BPF_ANY);
	return 0;
}

static __always_inline int write_ends(void)
{
	u32 tid = (u32)bpf_get_current_pid_tgid();

	bpf_map_delete_elem(&writing, &tid);
	return 0;
}

static __always_inline bool in_vfs_write(void)
{
	u32 tid = (u32)bpf_get_current_pid_tgid();

	return bpf_map_lookup_elem(&writing, &tid);
}

/* A program at each end of FUNC, named PREFIX_FUNC (entry) and
 * PREFIX_FUNC_end. */
#define WRITE_HOOKS(enter_sec, exit_sec, prefix, func)                     \
	SEC(enter_sec "/" #func)                                           \
	int prefix##_##func(void *ctx)                                     \
	{                                                                  \
		return write_begins();                                     \
	}                                                                  \
	SEC(exit_sec "/" #func)                                            \
	int prefix##_##func##_end(void *ctx)                               \
	{                                                                  \
		return write_ends();                                       \
	}

WRITE_HOOKS("kprobe", "kretprobe", amp_kp, vfs_write)
WRITE_HOOKS("kprobe", "kretprobe", amp_kp, vfs_writev)
WRITE_HOOKS("kprobe", "kretprobe", amp_kp, vfs_iter_write)

#ifndef IOTRACE_LEGACY
WRITE_HOOKS("fentry", "fexit", amp_fe, vfs_write)
WRITE_HOOKS("fentry", "fexit", amp_fe, vfs_writev)
WRITE_HOOKS("fentry", "fexit", amp_fe, vfs_iter_write)
#endif

#endif /* IOTRACE_AMPLIFY_WRITES_BPF_H */
