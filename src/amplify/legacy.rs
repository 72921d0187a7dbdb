//! amplify without BTF (bpf/amplify_legacy.bpf.c): its tracepoints' layouts,
//! and the file systems its dirtied pages are on.

use std::collections::HashMap;

use crate::error::Result;
use crate::record::FileTotals;
use crate::shared::{amp_counts, amp_key, amp_layer, amp_legacy_config};
use crate::tracefs::Tracefs;

pub fn config(t: &Tracefs, dirty_event: &str) -> Result<amp_legacy_config> {
    let add = |field: &str, sizes: &[u16]| t.tp_field("filemap", "mm_filemap_add_to_page_cache", field, sizes);
    let dirty = |field: &str, sizes: &[u16]| t.tp_field("writeback", dirty_event, field, sizes);
    Ok(amp_legacy_config {
        add_ino: add("i_ino", &[8])?,
        add_dev: add("s_dev", &[4])?,
        // 6.x; absent (size 0) before: a page
        add_order: add("order", &[1]).unwrap_or_default(),
        dirty_bdi: dirty("name", &[32])?,
        dirty_ino: dirty("ino", &[8])?,
    })
}

/// The writeback tracepoints name a dirtied page's bdi, which is a disk's
/// (two file systems on partitions of one disk share it), not the file
/// system: each write row's disk becomes the s_dev of the traced file with
/// that inode on a partition of that disk, where there is one. `parts`:
/// partition -> disk.
pub fn dirtied_on_file_systems(
    counts: Vec<(amp_key, amp_counts)>,
    files: &[FileTotals],
    parts: &HashMap<u32, u32>,
) -> Vec<(amp_key, amp_counts)> {
    let disk = |dev: u32| parts.get(&dev).copied().unwrap_or(dev);
    let on_disk: HashMap<(u32, u64), u32> =
        files.iter().flat_map(|f| f.inodes.iter().map(|&(dev, ino)| ((disk(dev), ino), dev))).collect();
    let mut out = Vec::with_capacity(counts.len());
    for (k, c) in counts {
        let fs_dev = on_disk.get(&(k.fs_dev, k.ino)).copied();
        if k.layer != amp_layer::AMP_FS as u8 || c.write_ops == 0 || fs_dev.is_none_or(|d| d == k.fs_dev) {
            out.push((k, c));
            continue;
        }
        // a read row at the same key is the disk's own file system's
        if c.read_ops > 0 {
            out.push((k, amp_counts { read_bytes: c.read_bytes, read_ops: c.read_ops, ..Default::default() }));
        }
        let write = amp_counts { write_bytes: c.write_bytes, write_ops: c.write_ops, ..Default::default() };
        out.push((amp_key { fs_dev: fs_dev.unwrap_or(k.fs_dev), ..k }, write));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shared::amp_kind;

    fn fs_key(fs_dev: u32, ino: u64) -> amp_key {
        amp_key { fs_dev, ino, layer: amp_layer::AMP_FS as u8, kind: amp_kind::AMP_FILE as u8, ..Default::default() }
    }

    #[test]
    fn dirtied_pages_move_from_the_disk_to_its_partition() {
        const DISK: u32 = 254 << 20;
        const PART: u32 = DISK | 1;
        let file = FileTotals {
            mntns: 1,
            path: Some(b"/a".to_vec()),
            inodes: vec![(PART, 12)],
            comms: vec![],
            io: Default::default(),
            comm_io: vec![],
        };
        let both = amp_counts { read_bytes: 4096, read_ops: 1, write_bytes: 8192, write_ops: 2 };
        let counts = vec![(fs_key(DISK, 12), both), (fs_key(DISK, 13), both), (fs_key(PART, 12), both)];
        let parts = HashMap::from([(PART, DISK)]);
        let got: Vec<(u32, u64, [u64; 4])> = dirtied_on_file_systems(counts, &[file], &parts)
            .iter()
            .map(|(k, c)| (k.fs_dev, k.ino, [c.read_bytes, c.write_bytes, c.read_ops, c.write_ops]))
            .collect();
        assert_eq!(
            got,
            [
                // the disk's own page-cache reads stay; its writes are the partition's file's
                (DISK, 12, [4096, 0, 1, 0]),
                (PART, 12, [0, 8192, 0, 2]),
                // no traced file has inode 13: left on the disk
                (DISK, 13, [4096, 8192, 1, 2]),
                (PART, 12, [4096, 8192, 1, 2]),
            ]
        );
    }
}
