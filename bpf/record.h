/* SPDX-License-Identifier: GPL-2.0 */
/* `iotrace record`: structs shared by record.bpf.c and src/record/ (bindgen). */
#ifndef IOTRACE_RECORD_H
#define IOTRACE_RECORD_H

#include <linux/types.h>

#define RECORD_MAX_COMMS 8
#define RECORD_COMM_LEN 16
#define RECORD_PATH_MAX 4096
#define RECORD_NAME_MAX 255
/* Histogram slots: 0 holds zero, slot k >= 1 holds [2^(k-1), 2^k). */
#define RECORD_HIST_SLOTS 65
/* Slots kept inline in a map value, so that one lookup finds a call's
 * counters and histograms: up to [2^31, 2^32), which holds every completed
 * read or write (MAX_RW_COUNT < 2^31). Larger values (requests, runs) go to
 * the sparse `hists` map, as fsync latencies always do. */
#define RECORD_INLINE_SLOTS 33

/*
 * The one list of what record counts, expanded into the io_kind enum, the
 * programs and the syscall-number table (record.bpf.c, record.bpf.h) and,
 * by build.rs, into the names, classes and tracepoints user space uses.
 *
 * RECORD_KINDS: X(KIND, profile name, class, via), in the profile's order. The
 * class is READ or WRITE (the file's data), SYNC (fsync, fdatasync: the
 * file's durability points), CLOSE, or OTHER (counted calls and errors: an
 * io_uring fallocate or sync_file_range, an mmap, whose request is the
 * length mapped); BATCH for a syscall that carries
 * other files' I/O and is no row of its own. `via` is the interface: CALL
 * (a syscall on one file), COPY (one side of a copy between files), AIO
 * (Linux AIO), URING (io_uring).
 * RECORD_SYSCALLS: X(syscall, KIND): the syscalls traced at entry and exit
 * (tracepoints syscalls:sys_{enter,exit}_SYSCALL, __x64_sys_SYSCALL,
 * __NR_SYSCALL). The syscalls that move bytes from one file to another
 * (sendfile, copy_file_range, splice) are counted twice: as a write of their
 * out-file under their own kind (X_OUT) and as a read of their in-file under
 * the kind just before it (X_IN, no syscall of its own). A pipe end of a
 * splice is no file of the profile, as for every pipe.
 * RECORD_OPENS: X(syscall): the opens whose exit names a new struct file.
 */
#define RECORD_KINDS(X)                                                        \
	X(IO_READ, read, READ, CALL)                                           \
	X(IO_READV, readv, READ, CALL)                                         \
	X(IO_PREAD64, pread64, READ, CALL)                                     \
	X(IO_PREADV, preadv, READ, CALL)                                       \
	X(IO_PREADV2, preadv2, READ, CALL)                                     \
	X(IO_WRITE, write, WRITE, CALL)                                        \
	X(IO_WRITEV, writev, WRITE, CALL)                                      \
	X(IO_PWRITE64, pwrite64, WRITE, CALL)                                  \
	X(IO_PWRITEV, pwritev, WRITE, CALL)                                    \
	X(IO_PWRITEV2, pwritev2, WRITE, CALL)                                  \
	X(IO_SENDFILE_IN, sendfile_in, READ, COPY)                             \
	X(IO_SENDFILE_OUT, sendfile_out, WRITE, COPY)                          \
	X(IO_COPY_FILE_RANGE_IN, copy_file_range_in, READ, COPY)               \
	X(IO_COPY_FILE_RANGE_OUT, copy_file_range_out, WRITE, COPY)            \
	X(IO_SPLICE_IN, splice_in, READ, COPY)                                 \
	X(IO_SPLICE_OUT, splice_out, WRITE, COPY)                              \
	X(IO_AIO_PREAD, aio_pread, READ, AIO)                                  \
	X(IO_AIO_PWRITE, aio_pwrite, WRITE, AIO)                               \
	X(IO_AIO_PREADV, aio_preadv, READ, AIO)                                \
	X(IO_AIO_PWRITEV, aio_pwritev, WRITE, AIO)                             \
	X(IO_URING_READ, uring_read, READ, URING)                              \
	X(IO_URING_READV, uring_readv, READ, URING)                            \
	X(IO_URING_READ_FIXED, uring_read_fixed, READ, URING)                  \
	X(IO_URING_READV_FIXED, uring_readv_fixed, READ, URING)                \
	X(IO_URING_WRITE, uring_write, WRITE, URING)                           \
	X(IO_URING_WRITEV, uring_writev, WRITE, URING)                         \
	X(IO_URING_WRITE_FIXED, uring_write_fixed, WRITE, URING)               \
	X(IO_URING_WRITEV_FIXED, uring_writev_fixed, WRITE, URING)             \
	X(IO_FSYNC, fsync, SYNC, CALL)                                         \
	X(IO_FDATASYNC, fdatasync, SYNC, CALL)                                 \
	X(IO_AIO_FSYNC, aio_fsync, SYNC, AIO)                                  \
	X(IO_AIO_FDSYNC, aio_fdsync, SYNC, AIO)                                \
	X(IO_URING_FSYNC, uring_fsync, SYNC, URING)                            \
	X(IO_URING_FDATASYNC, uring_fdatasync, SYNC, URING)                    \
	X(IO_URING_SYNC_FILE_RANGE, uring_sync_file_range, OTHER, URING)       \
	X(IO_URING_FALLOCATE, uring_fallocate, OTHER, URING)                   \
	X(IO_MMAP, mmap, OTHER, CALL)                                          \
	X(IO_CLOSE, close, CLOSE, CALL)                                        \
	X(IO_SUBMIT, io_submit, BATCH, AIO)                                    \
	X(IO_GETEVENTS, io_getevents, BATCH, AIO)                              \
	X(IO_PGETEVENTS, io_pgetevents, BATCH, AIO)

#define RECORD_SYSCALLS(X)                                                     \
	X(read, IO_READ)                                                       \
	X(readv, IO_READV)                                                     \
	X(pread64, IO_PREAD64)                                                 \
	X(preadv, IO_PREADV)                                                   \
	X(preadv2, IO_PREADV2)                                                 \
	X(write, IO_WRITE)                                                     \
	X(writev, IO_WRITEV)                                                   \
	X(pwrite64, IO_PWRITE64)                                               \
	X(pwritev, IO_PWRITEV)                                                 \
	X(pwritev2, IO_PWRITEV2)                                               \
	X(sendfile64, IO_SENDFILE_OUT)                                         \
	X(copy_file_range, IO_COPY_FILE_RANGE_OUT)                             \
	X(splice, IO_SPLICE_OUT)                                               \
	X(fsync, IO_FSYNC)                                                     \
	X(fdatasync, IO_FDATASYNC)                                             \
	X(mmap, IO_MMAP)                                                       \
	X(close, IO_CLOSE)

/* Linux AIO (CO-RE strategies): each iocb io_submit accepts is accounted
 * when io_getevents (io_pgetevents) returns its event, under IO_AIO_*. */
#define RECORD_AIO_SYSCALLS(X)                                                 \
	X(io_submit, IO_SUBMIT)                                                \
	X(io_getevents, IO_GETEVENTS)                                          \
	X(io_pgetevents, IO_PGETEVENTS)

/* io_uring (CO-RE strategies, kernels whose io_uring_complete passes the
 * request): X(IORING_OP_* number (uapi linux/io_uring.h), KIND) for the
 * opcodes on file data, each request accounted when its CQE is posted.
 * IORING_OP_FSYNC with IORING_FSYNC_DATASYNC is IO_URING_FDATASYNC. */
#define RECORD_URING_OPS(X)                                                    \
	X(1, IO_URING_READV)                                                   \
	X(2, IO_URING_WRITEV)                                                  \
	X(3, IO_URING_FSYNC)                                                   \
	X(4, IO_URING_READ_FIXED)                                              \
	X(5, IO_URING_WRITE_FIXED)                                             \
	X(8, IO_URING_SYNC_FILE_RANGE)                                         \
	X(17, IO_URING_FALLOCATE)                                              \
	X(22, IO_URING_READ)                                                   \
	X(23, IO_URING_WRITE)                                                  \
	X(60, IO_URING_READV_FIXED)                                            \
	X(61, IO_URING_WRITEV_FIXED)

#define RECORD_OPENS(X) X(open) X(openat) X(openat2) X(creat)

#define RECORD_KIND_ENUM(kind, name, class, via) kind,
/* What one counted syscall is, for stats keys. */
enum io_kind {
	RECORD_KINDS(RECORD_KIND_ENUM)
	IO_NR_KINDS,
};

/* Histograms of a file in the sparse `hists` map (the overflow of the
 * inline ones, and fsync's); in user space, a file's histograms. */
enum file_hist {
	HIST_REQUEST,      /* + io_kind * 2 */
	HIST_COMPLETED,    /* + io_kind * 2: less HIST_REQUEST (syscall_stats.completed) */
	HIST_SEQ_READ = IO_NR_KINDS * 2,
	HIST_SEQ_WRITE,
	HIST_FSYNC_LATENCY,
	HIST_FSYNC_BETWEEN, /* bytes written between two fsync/fdatasync */
	HIST_NR,
};

struct record_config {
	__u32 self_tgid;   /* never traced */
	__u8 trace_all;    /* no pid/comm filter and no command */
	__u8 follow_children;
	__u8 trace_command; /* the children self_tgid forks are traced: the command */
	__u8 n_comms;
	/* Reads and writes are accounted at their exit alone, from the syscall
	 * arguments still in the user registers (raw_tp, fentry strategies). */
	__u8 exit_args;
	/* io_uring_submit_sqe passes the request second, after the ring (5.12
	 * to 5.18, 5.10's stable updates), not first (5.19 to 6.2). */
	__u8 uring_sqe_req_second;
	/* io_uring_complete passes no request (before 5.16): completions are
	 * matched by ring and user_data, the file taken at submission. */
	__u8 uring_by_data;
	/* Send a call_event per read, write and sync (amplify --events): CO-RE
	 * objects only. */
	__u8 call_events;
	/* Count each process's reads and writes of a file in its `users` entry
	 * (amplify: exact per-process syscall bytes of shared files). */
	__u8 user_bytes;
	char comms[RECORD_MAX_COMMS][RECORD_COMM_LEN];
};

/* What the counters of a file are kept under. CO-RE strategies: a hash of
 * the path (mount namespace + the path's bytes), so that every open of one
 * path adds up and files that merely share a recycled inode number or kernel
 * address never do; a file that had no name when first seen gets an id of its
 * own. Legacy: one id per open, named by user space. */
struct file_key {
	__u64 id;
	__u32 mntns;
	__u32 _pad;
};

struct stat_key {
	struct file_key file;
	__u32 kind; /* enum io_kind */
	__u32 _pad;
};

/* One (file, syscall): everything a read or write updates, so that it costs
 * one lookup besides its struct file's. A file's totals are sums over its
 * syscalls (user space). */
struct syscall_stats {
	__u64 calls;
	__u64 errors;
	__u64 bytes;    /* completed */
	__u64 first_ns; /* entry of the first successful call */
	__u64 last_ns;  /* return of the last successful call */
	__u64 rewrites; /* writes at the offset of the open's previous write */
	__u64 end;      /* highest offset + bytes of a completed read or write */
	__u64 request[RECORD_INLINE_SLOTS];   /* bytes asked for */
	/* Bytes transferred by the successful calls, kept as the difference
	 * from `request` (u64 wrapping; user space adds the two): a call that
	 * completes in its request's slot, as most do, costs no update here. */
	__u64 completed[RECORD_INLINE_SLOTS];
	__u64 seq[RECORD_INLINE_SLOTS];       /* lengths of the sequential runs it ended */
};

struct hist_key {
	struct file_key file;
	__u16 hist; /* enum file_hist */
	__u16 slot;
	__u32 _pad;
};

struct errno_key {
	struct file_key file;
	__u32 kind;
	__s32 err;
};

/* Per file: what fsync and close see. */
struct file_stats {
	__u64 fsync_calls;
	__u64 fsync_bytes;   /* bytes written before each fsync, summed */
	__u64 last_fsync_ns;
	__u64 synced_bytes;  /* bytes the file had been written at its last fsync */
	__u32 flags;         /* FILE_* seen at close */
	__u32 _pad;
};

/* Opens of a file (map file_opens) by what their flags ask for, counted
 * when the open returns (fcntl(F_SETFL) later is not seen): every open,
 * O_DIRECT, O_SYNC, O_DSYNC without O_SYNC (whose bits include it), O_APPEND. */
enum open_count {
	OPENS_ALL,
	OPENS_DIRECT,
	OPENS_SYNC,
	OPENS_DSYNC,
	OPENS_APPEND,
	OPENS_NR,
};

/* Also the record that a file's name was sent (BTF object): the inode its
 * last file_event named. A row's open_counts is looked up at each of its
 * opens anyway; a map of its own for this cost a cold lookup more per open. */
struct open_counts {
	__u64 n[OPENS_NR];
	__u64 named_ino;
	__u32 named_dev;
	__u32 _pad;
};

/* Successful mmap(2)s of a file (map file_maps). What is then read or written
 * through the mapping makes no syscall, so a profile can only say how the
 * file was mapped: by sharing (MAP_SHARED_VALIDATE is shared), with the
 * lengths mapped, and by protection. */
enum map_count {
	MAPS_SHARED,
	MAPS_SHARED_BYTES,
	MAPS_PRIVATE,
	MAPS_PRIVATE_BYTES,
	MAPS_READ,  /* PROT_READ */
	MAPS_WRITE, /* PROT_WRITE */
	MAPS_EXEC,  /* PROT_EXEC */
	MAPS_NR,
};

struct map_counts {
	__u64 n[MAPS_NR];
};

/* Per open file description (struct file), for sequential runs and rewrites. */
struct open_file {
	struct file_key key;
	__u64 inode;        /* struct inode *, to notice a recycled struct file */
	__u64 parent;       /* the dentry's parent and d_name.hash_len when the */
	__u64 name_hash;    /* path was taken: a rename changes either */
	__u64 read_next;    /* offset right after the last read */
	__u64 read_run;     /* bytes in the current sequential read run */
	__u64 write_next;
	__u64 write_run;
	__u64 last_write_off;
	__u64 pos;          /* legacy: the file position, tracked from the syscalls */
	__u32 last_tgid;    /* who did the last I/O: its comm is in `users` */
	__u32 last_exec;    /* ... and in which exec of that process */
	__u8 regular;       /* 0: not a named regular file, ignored */
	__u8 wrote;         /* last_write_off is valid */
	__u8 append;        /* legacy: opened O_APPEND */
	__u8 read_kind;     /* the io_kind of the last read, and of the last */
	__u8 write_kind;    /* write: where a run still open at a reuse ends */
	__u8 is_dir;        /* CO-RE: a directory, named at its first fsync (then */
	__u8 dir;           /* `dir`, and only its fsyncs count) */
	__u8 _pad;
};

struct user_key {
	struct file_key file;
	__u32 tgid;
	__u32 exec; /* a process keeps its tgid across exec, not its comm */
};

struct file_user {
	char comm[RECORD_COMM_LEN];
	/* Its reads and writes of the file (record_config.user_bytes): calls,
	 * failed ones included, and bytes. */
	__u64 read_ops;
	__u64 write_ops;
	__u64 read_bytes;
	__u64 write_bytes;
};

enum record_drop {
	DROP_INFLIGHT,  /* inflight, aio_ops or uring_ops full, or an AIO batch past AIO_BATCH_MAX */
	DROP_FILES,     /* stats map full */
	DROP_EVENTS,    /* ring buffer full: a path was not sent */
	DROP_CALLS,     /* `calls` ring buffer full: a call_event was not sent */
	DROP_NR,
};

#define FILE_UNLINKED 1  /* no name left: when first seen (event) or at a close */
#define FILE_TRUNCATED 2 /* the path's head is missing (event) */
#define FILE_RENAMED 4   /* renamed while open (seen at close) */
#define FILE_DIR 8       /* a directory: only its fsyncs are counted (event) */

/* Sent once per new (file_key, dev, ino): where the file is. `path` holds
 * the path's components leaf first, each NUL-terminated, `path_len` bytes in
 * all; only the used part of `path` is sent. */
struct file_event {
	struct file_key key;
	__u64 ino;
	__u32 dev;
	__u16 flags;
	__u16 path_len;
	/* Room for one more name past RECORD_PATH_MAX keeps every masked write in bounds. */
	char path[RECORD_PATH_MAX + RECORD_NAME_MAX + 1];
};

/* One read, write or sync syscall (or AIO / io_uring request) on a counted
 * file, at its completion, in the `calls` ring buffer. */
struct call_event {
	__u64 ts_ns;  /* completion, bpf_ktime_get_ns */
	__u64 lat_ns; /* from its entry; 0 where the entry was not seen */
	__u64 offset;
	__u64 req;    /* bytes asked for */
	__s64 ret;
	__u64 ino;
	__u32 dev;    /* the inode's s_dev */
	__u32 kind;   /* enum io_kind */
	__u32 pid;
	__u32 tid;
	char comm[RECORD_COMM_LEN];
};

/* Legacy strategy (no BTF): identity is tracked per (tgid, fd) from the
 * opens, and each open (and chdir) sends this to user space, which names it:
 * the path argument, made absolute from the open or chdir it is relative to
 * (base_id), so that naming does not depend on /proc still showing the
 * process, its cwd or its dirfd when the event is read. */
#define RECORD_LEGACY_PATH_MAX 256

struct fd_key {
	__u32 tgid;
	__s32 fd;
};

#define OPEN_EVENT_CWD 1 /* a chdir: `path` is the new working directory */

struct open_event {
	__u64 open_id; /* file_key.id of this open's counters (mntns 0) */
	__u64 base_id; /* open id of where a relative path starts (dirfd or cwd); 0: unknown */
	__u32 tgid;
	__s32 fd;
	__s32 dirfd;
	__u32 flags;
	__u32 kind;    /* 0: an open, else OPEN_EVENT_* */
	__u32 _pad;
	char path[RECORD_LEGACY_PATH_MAX];
};

#endif
