/* SPDX-License-Identifier: GPL-2.0 */
/* amplify: structs shared by amplify.bpf.c and src/amplify/ (bindgen). */
#ifndef IOTRACE_AMPLIFY_H
#define IOTRACE_AMPLIFY_H

#include <linux/types.h>
#include "tracepoint.h"

#define AMP_COMM_LEN 16

/* Which layer a row counts. */
enum amp_layer {
	AMP_FS,     /* page cache: folios added on a miss or read-ahead, folios dirtied */
	AMP_DEVICE, /* block requests, as /proc/diskstats counts them */
};

/* What the bytes of a row belong to. */
enum amp_kind {
	AMP_FILE,         /* a regular file's pages, or its direct I/O */
	AMP_METADATA,     /* pages of the block device's own mapping (buffer heads) */
	AMP_JOURNAL,      /* submitted by jbd2, not file data */
	AMP_UNATTRIBUTED, /* no page mapping and no known submitter */
};

struct amp_key {
	__u32 disk;   /* kernel dev_t (major << 20 | minor) of the disk; 0 for AMP_FS */
	__u32 fs_dev; /* AMP_FILE: the file system's s_dev; AMP_METADATA: the block device */
	__u64 ino;    /* AMP_FILE: inode number */
	__u8 layer;   /* enum amp_layer */
	__u8 kind;    /* enum amp_kind */
	__u8 _pad[6];
	char comm[AMP_COMM_LEN]; /* the process it is charged to (see amplify.bpf.c) */
};

struct amp_counts {
	__u64 read_bytes;
	__u64 write_bytes;
	__u64 read_ops;
	__u64 write_ops;
};

struct amp_config {
	/* Addresses of kernel functions (from /proc/kallsyms; 0: unknown) a bio's
	 * bi_end_io is compared with. */
	__u64 dio_end_io;   /* iomap_dio_bio_end_io: bi_private is a struct iomap_dio */
	__u64 chain_end_io; /* bio_chain_endio: a split bio, bi_private its parent */
	/* RQF_FLUSH_SEQ: a request in its flush sequence, whose end diskstats
	 * does not count (it ends again, with no bytes left, after its flushes).
	 * From the kernel's BTF by user space (src/amplify/mod.rs). */
	__u32 rqf_flush_seq;
	__u8 events; /* --events: send an amp_event per bio and folio */
	/* the bio and the request are block_bio_queue's and block_rq_issue's
	 * second raw argument (before 5.11), not their first (request.bpf.h: last_arg) */
	__u8 bio_arg;
	__u8 rq_arg;
};

/* amplify_legacy.bpf.c's configuration: where its tracepoints' fields are. */
struct amp_legacy_config {
	/* mm_filemap_add_to_page_cache; `order` (a folio of 2^order pages) since 6.x */
	struct tp_field add_ino;
	struct tp_field add_dev;
	struct tp_field add_order;
	/* writeback_dirty_page (writeback_dirty_folio since 5.17): the bdi's name
	 * ("MAJOR:MINOR" of a disk) and the inode */
	struct tp_field dirty_bdi;
	struct tp_field dirty_ino;
};

/* A read or write request issued to a driver (map `issued`), or an empty
 * flush queued (map `flushes`: bytes 0, write 1), not yet seen at its end:
 * what is left of them when tracing stops are completions no program saw
 * (README: "How it adapts to the kernel"). */
struct amp_issued {
	__u64 start_ns; /* the request's start_time_ns: a new request at the address has another */
	__u32 disk;
	__u32 bytes;
	__u32 write;
	__u32 counted; /* while `counting`: an end missed is one diskstats counted */
};

/* --events: one bio completed (AMP_DEVICE) or one folio added or dirtied
 * (AMP_FS). */
struct amp_event {
	__u64 ts_ns;  /* bpf_ktime_get_ns */
	__u64 lat_ns; /* AMP_DEVICE: from the bio's queueing to its completion */
	__u64 offset; /* bytes: AMP_DEVICE on the disk, AMP_FS in the file */
	__u64 ino;
	__u32 fs_dev;
	__u32 disk;
	__u32 pid;    /* AMP_DEVICE: of the submitter; AMP_FS: current */
	__u32 tid;
	__u32 bytes;
	__s32 ret;    /* AMP_DEVICE: 0, or -EIO when the request failed */
	__u8 layer;
	__u8 kind;
	__u8 write;
	__u8 _pad[5];
	char comm[AMP_COMM_LEN];
};

/* Counters of what could not be counted exactly, in the `amp_drops` array. */
enum amp_drop {
	AMP_MAP_FULL,   /* `counts` is full: the bytes are missing from every row */
	AMP_LONG_CHAIN, /* a request with more bios than are walked: the rest is unattributed */
	AMP_EVENTS_LOST, /* --events: the ring buffer was full */
	AMP_ISSUED_FULL, /* a request not tracked from its issue: too many in flight */
	AMP_DROP_NR,
};

#endif
