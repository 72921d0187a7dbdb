// SPDX-License-Identifier: GPL-2.0
/*
 * iotrace amplify without BTF (4.14+): the page-cache layer from perf-event
 * tracepoints whose records name the inode, at offsets user space read from
 * tracefs (src/amplify/legacy.rs). A bio names no file without CO-RE, so
 * there is no device layer here: user space charges each disk's
 * /proc/diskstats change to no file.
 *
 * Rows are those of amplify.bpf.c (struct amp_key), layer AMP_FS, kind
 * AMP_FILE, charged to the current process, with one difference: a dirtied
 * page's fs_dev is the disk its file system's bdi is named after, which user
 * space turns into the file system's s_dev.
 */
#include "compat.bpf.h"
#include "bits.bpf.h"
#include "amplify.h"
#include "amplify_counts.bpf.h"
#include "amplify_writes.bpf.h"

DECLARE_CONFIG(struct amp_legacy_config)

#define PAGE_SIZE 4096

/* A folio (a page before 6.x) was added to a file's page cache: a miss or
 * read-ahead, unless a write adds the page it fills (told apart where
 * kprobes are: amplify_writes.bpf.h). */
SEC("tracepoint/filemap/mm_filemap_add_to_page_cache")
int lg_page_cache_add(void *ctx)
{
	const volatile struct amp_legacy_config *cfg = get_config();
	struct amp_key k = { .layer = AMP_FS, .kind = AMP_FILE };

	if (!cfg || in_vfs_write())
		return 0;
	k.fs_dev = tp_read(ctx, &cfg->add_dev);
	k.ino = tp_read(ctx, &cfg->add_ino);
	bpf_get_current_comm(k.comm, sizeof(k.comm));
	add(&k, false, (u64)PAGE_SIZE << (tp_read(ctx, &cfg->add_order) & 31), 1);
	return 0;
}

/* A bdi's name "MAJOR:MINOR" (a disk's; NFS's and FUSE's are their s_dev)
 * as a kernel dev_t (major << 20 | minor); 0 for other names (btrfs's
 * "btrfs-1"). Unrolled: no loops before 5.3. */
static __always_inline u32 bdi_dev(const char *s)
{
	u32 major = 0, minor = 0;
	bool colon = false;

#pragma unroll
	for (int i = 0; i < 12; i++) {
		char c = s[i];

		if (!c)
			return colon ? major << 20 | minor : 0;
		if (c == ':' && !colon)
			colon = true;
		else if (c >= '0' && c <= '9' && colon)
			minor = minor * 10 + (c - '0');
		else if (c >= '0' && c <= '9')
			major = major * 10 + (c - '0');
		else
			return 0;
	}
	return 0;
}

/* A page of a file was dirtied, by the current process (a write, or a store
 * through a shared mapping). */
static __always_inline int dirtied(void *ctx)
{
	const volatile struct amp_legacy_config *cfg = get_config();
	struct amp_key k = { .layer = AMP_FS, .kind = AMP_FILE };
	char bdi[12] = {};

	if (!cfg)
		return 0;
	bpf_probe_read(bdi, sizeof(bdi) - 1, ctx + cfg->dirty_bdi.offset);
	k.fs_dev = bdi_dev(bdi);
	k.ino = tp_read(ctx, &cfg->dirty_ino);
	bpf_get_current_comm(k.comm, sizeof(k.comm));
	add(&k, true, PAGE_SIZE, 1);
	return 0;
}

SEC("tracepoint/writeback/writeback_dirty_page")
int lg_dirty_page(void *ctx)
{
	return dirtied(ctx);
}

/* its name since 5.17 (a folio is dirtied; the record's fields are the same) */
SEC("tracepoint/writeback/writeback_dirty_folio")
int lg_dirty_folio(void *ctx)
{
	return dirtied(ctx);
}

char LICENSE[] SEC("license") = "GPL";
