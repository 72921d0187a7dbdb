//! The amplification report: the recording's files joined with the kernel's
//! page-cache and device counters on (s_dev, inode), then added up per
//! process, system and disk.

use std::collections::{BTreeMap, HashMap};

use super::systems::Systems;
use crate::block::{partitions, Names};
use crate::record::{self, FileTotals};
use crate::shared::{amp_counts, amp_key, amp_kind, amp_layer};

/// Bytes and operations read and written, in every layer.
pub type Counts = record::Io;

impl From<&amp_counts> for Counts {
    fn from(c: &amp_counts) -> Counts {
        Counts { read_bytes: c.read_bytes, write_bytes: c.write_bytes, read_ops: c.read_ops, write_ops: c.write_ops }
    }
}

#[derive(Clone, Copy, Default, Debug)]
pub struct Layers {
    pub syscall: Counts,
    pub fs: Counts,
    pub device: Counts,
}

fn ratio(a: u64, b: u64) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

impl Layers {
    /// Device bytes per syscall byte read (None: nothing was read by syscalls).
    pub fn read_amp(&self) -> Option<f64> {
        ratio(self.device.read_bytes, self.syscall.read_bytes)
    }

    pub fn write_amp(&self) -> Option<f64> {
        ratio(self.device.write_bytes, self.syscall.write_bytes)
    }

    pub fn read_ops_amp(&self) -> Option<f64> {
        ratio(self.device.read_ops, self.syscall.read_ops)
    }

    pub fn write_ops_amp(&self) -> Option<f64> {
        ratio(self.device.write_ops, self.syscall.write_ops)
    }

    fn add(&mut self, layer: u8, c: Counts) {
        if layer == amp_layer::AMP_FS as u8 {
            self.fs += c;
        } else {
            self.device += c;
        }
    }
}

/// What a file row is.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Kind {
    /// A file the traced processes read or wrote.
    File,
    /// Per disk: what jbd2 wrote that was no file's data.
    Journal,
    /// Per disk: pages of the block device's own mapping.
    Metadata,
    /// Per disk: no page mapping and no known submitter.
    Unattributed,
    /// Per disk: files the traced processes did not read or write.
    OtherFiles,
    /// Per disk: pages of files on a block device stacked over this one
    /// (loop, device mapper, md), counted on that device too.
    Stacked,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::File => "file",
            Kind::Journal => "journal",
            Kind::Metadata => "metadata",
            Kind::Unattributed => "unattributed",
            Kind::OtherFiles => "other_files",
            Kind::Stacked => "stacked",
        }
    }
}

pub struct FileRow {
    pub kind: Kind,
    /// The path (encoded as in profiles), or `[KIND DISK]` for the per-disk rows.
    pub name: String,
    /// The per-disk rows' disk.
    pub disk: Option<String>,
    pub mntns: Option<u32>,
    pub inodes: Vec<(u32, u64)>,
    pub comms: Vec<String>,
    pub layers: Layers,
}

/// A process (by comm) or a system.
pub struct Group {
    pub name: String,
    /// A system's process names.
    pub comms: Vec<String>,
    pub layers: Layers,
}

pub struct Device {
    pub name: String,
    /// The sum of the disk's rows.
    pub counted: Counts,
    /// /proc/diskstats' change over the run.
    pub diskstats: Counts,
    /// Requests diskstats counted whose completion no program saw (mod.rs:
    /// unseen_completions): `counted` + `unseen` is `diskstats`.
    pub unseen: Counts,
}

pub struct Meta {
    pub duration_ns: u64,
    pub strategy: &'static str,
    pub record_strategy: &'static str,
    /// Device bytes are charged to files and processes; else only to disks,
    /// as their diskstats change (the tracepoint strategy).
    pub device_by_file: bool,
    /// What is missing or approximate on this run.
    pub notes: Vec<String>,
}

pub struct Report {
    pub files: Vec<FileRow>,
    pub processes: Vec<Group>,
    pub systems: Vec<Group>,
    pub devices: Vec<Device>,
    pub meta: Meta,
}

fn comm_of(c: &[std::ffi::c_char]) -> String {
    let b: Vec<u8> = c.iter().take_while(|c| **c != 0).map(|c| *c as u8).collect();
    if b.is_empty() {
        "?".into()
    } else {
        String::from_utf8_lossy(&b).into_owned()
    }
}

/// The disk of a block device (a partition's disk), by name.
struct Disks {
    names: Names,
    parts: HashMap<u32, u32>,
}

impl Disks {
    fn disk(&self, dev: u32) -> u32 {
        self.parts.get(&dev).copied().unwrap_or(dev)
    }

    fn name(&mut self, dev: u32) -> String {
        let disk = self.disk(dev);
        self.names.name(disk)
    }
}

pub fn build(
    files: &[FileTotals],
    counts: &[(amp_key, amp_counts)],
    systems: &Systems,
    diskstats: BTreeMap<String, Counts>,
    unseen: &[(u32, Counts)],
    mut meta: Meta,
) -> Report {
    let mut disks = Disks { names: Names::default(), parts: partitions().into_iter().collect() };
    let mut rows: Vec<FileRow> = files.iter().map(file_row).collect();
    let by_inode: HashMap<(u32, u64), usize> =
        files.iter().enumerate().flat_map(|(i, f)| f.inodes.iter().map(move |&id| (id, i))).collect();
    // The per-disk rows, by (kind, disk).
    let mut special: BTreeMap<(Kind, String), Layers> = BTreeMap::new();
    let mut processes: BTreeMap<String, Layers> = BTreeMap::new();
    let mut devices: BTreeMap<String, Counts> = BTreeMap::new();
    for (k, v) in counts {
        let c = Counts::from(v);
        if c == Counts::default() {
            continue; // an empty bio of a request
        }
        let disk = || if k.layer == amp_layer::AMP_FS as u8 { k.fs_dev } else { k.disk };
        let kind = match k.kind {
            x if x == amp_kind::AMP_FILE as u8 => match by_inode.get(&(k.fs_dev, k.ino)) {
                // A file's device bytes are those of the disk its file system is on.
                Some(_) if k.layer == amp_layer::AMP_DEVICE as u8 && disks.disk(k.fs_dev) != k.disk => {
                    Some(Kind::Stacked)
                }
                Some(&i) => {
                    rows[i].layers.add(k.layer, c);
                    None
                }
                None => Some(Kind::OtherFiles),
            },
            x if x == amp_kind::AMP_JOURNAL as u8 => Some(Kind::Journal),
            x if x == amp_kind::AMP_METADATA as u8 => Some(Kind::Metadata),
            _ => Some(Kind::Unattributed),
        };
        if let Some(kind) = kind {
            special.entry((kind, disks.name(disk()))).or_default().add(k.layer, c);
        }
        // Processes are charged what concerns the traced files and the disks'
        // journal and metadata, not other files of the whole system.
        if !matches!(kind, Some(Kind::OtherFiles | Kind::Stacked)) {
            processes.entry(comm_of(&k.comm)).or_default().add(k.layer, c);
        }
        if k.layer == amp_layer::AMP_DEVICE as u8 {
            *devices.entry(disks.name(k.disk)).or_default() += c;
        }
    }
    if !meta.device_by_file {
        for (disk, c) in &diskstats {
            special.entry((Kind::Unattributed, disk.clone())).or_default().device += *c;
            *devices.entry(disk.clone()).or_default() += *c;
        }
    }
    // A file's syscalls, each process's own; "?" what no process was
    // found for (its `users` entry could not be made: counted in `lost`).
    for f in files {
        let mut known = Counts::default();
        for (comm, io) in &f.comm_io {
            processes.entry(comm.clone()).or_default().syscall += *io;
            known += *io;
        }
        if known != f.io {
            processes.entry("?".into()).or_default().syscall += f.io.less(known);
        }
    }
    // Files only opened (or the read at their end) move nothing.
    rows.retain(|r| {
        r.layers.syscall != Counts::default()
            || r.layers.fs != Counts::default()
            || r.layers.device != Counts::default()
    });
    rows.extend(special.into_iter().map(|((kind, disk), layers)| FileRow {
        kind,
        name: format!("[{} {disk}]", kind.name()),
        disk: Some(disk),
        mntns: None,
        inodes: vec![],
        comms: vec![],
        layers,
    }));
    let processes: Vec<Group> =
        processes.into_iter().map(|(name, layers)| Group { name, comms: vec![], layers }).collect();
    let systems = group_systems(&processes, systems);
    let mut missed: BTreeMap<String, Counts> = BTreeMap::new();
    for &(disk, c) in unseen {
        *missed.entry(disks.name(disk)).or_default() += c;
    }
    for (name, c) in &missed {
        meta.notes.push(format!(
            "{name}: {} requests ({} bytes) completed where the kernel ran no BPF program: in `unseen`, not in the rows",
            c.read_ops + c.write_ops,
            c.read_bytes + c.write_bytes
        ));
    }
    let mut names: Vec<&String> = devices.keys().chain(diskstats.keys()).chain(missed.keys()).collect();
    names.sort();
    names.dedup();
    let devices = names
        .into_iter()
        .map(|n| Device {
            name: n.clone(),
            counted: devices.get(n).copied().unwrap_or_default(),
            diskstats: diskstats.get(n).copied().unwrap_or_default(),
            unseen: missed.get(n).copied().unwrap_or_default(),
        })
        .collect();
    Report { files: rows, processes, systems, devices, meta }
}

fn file_row(f: &FileTotals) -> FileRow {
    FileRow {
        kind: Kind::File,
        name: f.path.as_deref().map_or_else(|| "(path unknown)".into(), record::encode_path),
        disk: None,
        mntns: Some(f.mntns),
        inodes: f.inodes.clone(),
        comms: f.comms.clone(),
        layers: Layers { syscall: f.io, ..Default::default() },
    }
}

/// Processes added up by the system their name belongs to.
fn group_systems(processes: &[Group], systems: &Systems) -> Vec<Group> {
    let mut out: BTreeMap<&str, Group> = BTreeMap::new();
    for p in processes {
        let Some(system) = systems.of(&p.name) else { continue };
        let g = out.entry(system).or_insert_with(|| Group {
            name: system.into(),
            comms: vec![],
            layers: Layers::default(),
        });
        g.comms.push(p.name.clone());
        g.layers.syscall += p.layers.syscall;
        g.layers.fs += p.layers.fs;
        g.layers.device += p.layers.device;
    }
    out.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(layer: amp_layer, kind: amp_kind, disk: u32, fs_dev: u32, ino: u64, comm: &str) -> amp_key {
        let mut k = amp_key { disk, fs_dev, ino, layer: layer as u8, kind: kind as u8, ..Default::default() };
        for (d, s) in k.comm.iter_mut().zip(comm.bytes()) {
            *d = s as _;
        }
        k
    }

    fn writes(bytes: u64, ops: u64) -> amp_counts {
        amp_counts { write_bytes: bytes, write_ops: ops, ..Default::default() }
    }

    fn writes_of(bytes: u64) -> Counts {
        Counts { write_bytes: bytes, write_ops: bytes / 4096, ..Default::default() }
    }

    /// A file written by `comms`, each the bytes given.
    fn file(path: &str, ino: u64, comms: &[(&str, u64)]) -> FileTotals {
        let mut io = Counts::default();
        comms.iter().for_each(|(_, b)| io += writes_of(*b));
        FileTotals {
            mntns: 1,
            path: Some(path.as_bytes().to_vec()),
            inodes: vec![(DISK, ino)],
            comms: comms.iter().map(|(c, _)| c.to_string()).collect(),
            io,
            comm_io: comms.iter().map(|(c, b)| (c.to_string(), writes_of(*b))).collect(),
        }
    }

    /// A dev_t no disk has: named major:minor.
    const DISK: u32 = (4000 << 20) | 1;
    const OTHER: u32 = (4000 << 20) | 2;

    #[test]
    fn rows_add_up_and_processes_get_their_share() {
        use amp_kind::*;
        use amp_layer::*;
        let files = [
            file("/a", 10, &[("pg", 8192)]),
            file("/b", 11, &[("pg", 4096), ("x", 12288)]),
            file("/c", 12, &[("x", 0)]),
        ];
        let counts = [
            (key(AMP_DEVICE, AMP_FILE, DISK, DISK, 10, "pg"), writes(8192, 1)),
            (key(AMP_FS, AMP_FILE, 0, DISK, 10, "pg"), writes(8192, 2)),
            (key(AMP_DEVICE, AMP_JOURNAL, DISK, 0, 0, "jbd2/x-8"), writes(4096, 1)),
            (key(AMP_DEVICE, AMP_FILE, DISK, DISK, 99, "other"), writes(4096, 1)),
            // /a's pages again on the disk under its file system's
            (key(AMP_DEVICE, AMP_FILE, OTHER, DISK, 10, "kworker"), writes(8192, 1)),
            (key(AMP_DEVICE, AMP_UNATTRIBUTED, DISK, 0, 0, "pg"), writes(0, 1)),
            (key(AMP_DEVICE, AMP_METADATA, DISK, 0, 0, "pg"), amp_counts::default()),
        ];
        let mut systems = Systems::builtin();
        systems.define("pg=pg").unwrap();
        let meta =
            Meta { duration_ns: 1, strategy: "raw_tp", record_strategy: "tp_btf", device_by_file: true, notes: vec![] };
        let r = build(&files, &counts, &systems, BTreeMap::new(), &[], meta);
        let names: Vec<&str> = r.files.iter().map(|f| f.name.as_str()).collect();
        // /c moved nothing; the empty metadata entry is no row
        assert_eq!(
            names,
            ["/a", "/b", "[journal 4000:1]", "[unattributed 4000:1]", "[other_files 4000:1]", "[stacked 4000:2]"]
        );
        let a = &r.files[0].layers;
        assert_eq!((a.syscall.write_bytes, a.fs.write_bytes, a.device.write_bytes), (8192, 8192, 8192));
        assert_eq!(a.write_amp(), Some(1.0));
        assert_eq!(r.files[1].layers.write_amp(), Some(0.0));
        let disk = &r.devices[0];
        assert_eq!((disk.name.as_str(), disk.counted.write_bytes, disk.counted.write_ops), ("4000:1", 16384, 4));
        let p: Vec<(&str, u64, u64)> = r
            .processes
            .iter()
            .map(|g| (g.name.as_str(), g.layers.syscall.write_bytes, g.layers.device.write_bytes))
            .collect();
        // `other` and `kworker` wrote only other files' and stacked rows;
        // each writer of /b has its own bytes
        assert_eq!(p, [("jbd2/x-8", 0, 4096), ("pg", 12288, 8192), ("x", 12288, 0)]);
        assert_eq!(r.systems.len(), 1);
        assert_eq!((r.systems[0].name.as_str(), &r.systems[0].comms[..]), ("pg", &["pg".to_string()][..]));
    }
}
