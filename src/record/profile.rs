//! Turning record.bpf.c's maps into the profile document
//! (docs/profile-format.md), and writing it atomically.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map as JsonMap, Value};

use crate::bpf::Object;
use crate::error::Result;
use crate::hist::Hist;
use crate::shared::{
    errno_key, file_event, file_hist, file_key, file_stats, file_user, hist_key, io_kind, open_file, record_drop,
    stat_key, syscall_stats, FILE_EVENT_TRUNCATED, FILE_EVENT_UNLINKED,
};

pub const FORMAT_VERSION: u64 = 1;

/// Profile names of the io_kind values, in enum order.
pub const KIND_NAMES: [&str; io_kind::IO_NR_KINDS as usize] = [
    "read",
    "readv",
    "pread64",
    "preadv",
    "preadv2",
    "write",
    "writev",
    "pwrite64",
    "pwritev",
    "pwritev2",
    "sendfile_in",
    "sendfile_out",
    "fsync",
    "fdatasync",
    "close",
];

/// The syscalls (by profile name) that read and that write a file's data.
pub const READ_KINDS: [&str; 6] = ["read", "readv", "pread64", "preadv", "preadv2", "sendfile_in"];
pub const WRITE_KINDS: [&str; 6] = ["write", "writev", "pwrite64", "pwritev", "pwritev2", "sendfile_out"];

/// Where a file is, from its file_event.
#[derive(Clone, Debug)]
pub struct FileName {
    pub path: String,
    pub unlinked: bool,
    pub truncated: bool,
}

impl FileName {
    /// Decode an event: components leaf first, NUL-terminated each.
    pub fn from_event(e: &file_event) -> (Key, FileName) {
        let len = (e.path_len as usize).min(e.path.len());
        let raw: Vec<u8> = e.path[..len].iter().map(|c| *c as u8).collect();
        let mut comps: Vec<String> =
            raw.split(|b| *b == 0).filter(|c| !c.is_empty()).map(|c| String::from_utf8_lossy(c).into_owned()).collect();
        comps.reverse();
        let name = FileName {
            path: format!("/{}", comps.join("/")),
            unlinked: e.flags as u32 & FILE_EVENT_UNLINKED != 0,
            truncated: e.flags as u32 & FILE_EVENT_TRUNCATED != 0,
        };
        (key(&e.key), name)
    }
}

/// A file: (mount namespace, dev, inode).
pub type Key = (u32, u32, u64);

fn key(k: &file_key) -> Key {
    (k.mntns, k.dev, k.ino)
}

#[derive(Default)]
struct FileRecord {
    comms: BTreeSet<String>,
    stats: file_stats,
    syscalls: BTreeMap<usize, (syscall_stats, BTreeMap<i32, u64>, Hist, Hist)>,
    hists: BTreeMap<u16, Hist>,
}

fn min_nonzero(a: u64, b: u64) -> u64 {
    match (a, b) {
        (0, x) | (x, 0) => x,
        (x, y) => x.min(y),
    }
}

impl FileRecord {
    /// Add another record of the same file (legacy: one record per open).
    fn merge(&mut self, o: FileRecord) {
        self.comms.extend(o.comms);
        let (a, b) = (&mut self.stats, &o.stats);
        a.read_bytes += b.read_bytes;
        a.write_bytes += b.write_bytes;
        a.first_read_ns = min_nonzero(a.first_read_ns, b.first_read_ns);
        a.last_read_ns = a.last_read_ns.max(b.last_read_ns);
        a.first_write_ns = min_nonzero(a.first_write_ns, b.first_write_ns);
        a.last_write_ns = a.last_write_ns.max(b.last_write_ns);
        a.rewrites += b.rewrites;
        a.fsync_calls += b.fsync_calls;
        a.fsync_bytes += b.fsync_bytes;
        a.last_fsync_ns = a.last_fsync_ns.max(b.last_fsync_ns);
        a.unsynced_bytes += b.unsynced_bytes;
        for (kind, (st, errs, req, done)) in o.syscalls {
            let e = self.syscalls.entry(kind).or_default();
            e.0.calls += st.calls;
            e.0.errors += st.errors;
            e.0.bytes += st.bytes;
            for (err, n) in errs {
                *e.1.entry(err).or_default() += n;
            }
            e.2.merge(&req);
            e.3.merge(&done);
        }
        for (h, hist) in o.hists {
            self.hists.entry(h).or_default().merge(&hist);
        }
    }
}

fn comm_str(c: &[std::ffi::c_char]) -> String {
    let b: Vec<u8> = c.iter().take_while(|c| **c != 0).map(|c| *c as u8).collect();
    String::from_utf8_lossy(&b).into_owned()
}

/// Everything the BPF maps hold at the end of a recording.
pub struct Collected {
    files: BTreeMap<Key, FileRecord>,
    pub drops: [u64; record_drop::DROP_NR as usize],
}

impl Collected {
    /// Re-key every record (merging those that land on the same file);
    /// records mapped to None are dropped.
    pub fn remap(self, f: impl Fn(Key) -> Option<Key>) -> Collected {
        let mut files: BTreeMap<Key, FileRecord> = BTreeMap::new();
        for (k, r) in self.files {
            if let Some(k) = f(k) {
                files.entry(k).or_default().merge(r);
            }
        }
        Collected { files, drops: self.drops }
    }
}

/// Read every map; `open_map` holds the per-open state (sequential runs still
/// open at the end are closed here): `files` or, legacy, `opens`.
pub fn collect(obj: &Object, open_map: &str) -> Result<Collected> {
    let mut files: BTreeMap<Key, FileRecord> = BTreeMap::new();
    let sc = obj.map("syscall_stats")?;
    for k in sc.keys::<stat_key>()? {
        if let Some(v) = sc.get::<stat_key, syscall_stats>(&k)? {
            files.entry(key(&k.file)).or_default().syscalls.entry(k.kind as usize).or_default().0 = v;
        }
    }
    let er = obj.map("errnos")?;
    for k in er.keys::<errno_key>()? {
        if let Some(n) = er.get::<errno_key, u64>(&k)? {
            let f = files.entry(key(&k.file)).or_default();
            *f.syscalls.entry(k.kind as usize).or_default().1.entry(k.err).or_default() += n;
        }
    }
    let hs = obj.map("hists")?;
    for k in hs.keys::<hist_key>()? {
        let Some(n) = hs.get::<hist_key, u64>(&k)? else {
            continue;
        };
        let f = files.entry(key(&k.file)).or_default();
        let seq = file_hist::HIST_SEQ_READ as u16;
        if k.hist < seq {
            let s = f.syscalls.entry(k.hist as usize / 2).or_default();
            if k.hist % 2 == file_hist::HIST_REQUEST as u16 { &mut s.2 } else { &mut s.3 }.add(k.slot as u32, n);
        } else {
            f.hists.entry(k.hist).or_default().add(k.slot as u32, n);
        }
    }
    // Sequential runs still open when recording stopped end here.
    let of = obj.map(open_map)?;
    for o in of.values::<open_file>()? {
        if o.regular == 0 {
            continue;
        }
        let f = files.entry(key(&o.key)).or_default();
        for (run, h) in [(o.read_run, file_hist::HIST_SEQ_READ), (o.write_run, file_hist::HIST_SEQ_WRITE)] {
            if run > 0 {
                f.hists.entry(h as u16).or_default().add(crate::hist::slot_of(run), 1);
            }
        }
    }
    let fs = obj.map("file_stats")?;
    for k in fs.keys::<file_key>()? {
        if let Some(v) = fs.get::<file_key, file_stats>(&k)? {
            files.entry(key(&k)).or_default().stats = v;
        }
    }
    let us = obj.map("users")?;
    for k in us.keys::<crate::shared::user_key>()? {
        if let Some(u) = us.get::<crate::shared::user_key, file_user>(&k)? {
            files.entry(key(&k.file)).or_default().comms.insert(comm_str(&u.comm));
        }
    }
    let mut drops = [0u64; record_drop::DROP_NR as usize];
    let dm = obj.map("drops")?;
    for (i, d) in drops.iter_mut().enumerate() {
        *d = dm.get_percpu::<u32, u64>(&(i as u32))?.unwrap_or_default().iter().sum();
    }
    Ok(Collected { files, drops })
}

fn opt_ns(v: u64) -> Value {
    if v == 0 {
        Value::Null
    } else {
        json!(v)
    }
}

fn file_json(k: &Key, name: Option<&FileName>, f: &FileRecord) -> Value {
    let mut syscalls = JsonMap::new();
    for (kind, (st, errs, req, done)) in &f.syscalls {
        let errnos: JsonMap<String, Value> = errs.iter().map(|(e, n)| (crate::errnames::name(*e), json!(n))).collect();
        syscalls.insert(
            KIND_NAMES[*kind].to_string(),
            json!({
                "calls": st.calls, "errors": st.errors, "bytes": st.bytes, "errnos": errnos,
                "request_hist": req.to_json(), "completed_hist": done.to_json(),
            }),
        );
    }
    let h = |id: file_hist| f.hists.get(&(id as u16)).cloned().unwrap_or_default().to_json();
    let s = &f.stats;
    json!({
        "mntns": k.0,
        "path": name.map(|n| n.path.clone()),
        "unlinked": name.is_some_and(|n| n.unlinked),
        "path_truncated": name.is_some_and(|n| n.truncated),
        "dev": dev_string(k.1),
        "ino": k.2,
        "comms": f.comms,
        "read_bytes": s.read_bytes,
        "write_bytes": s.write_bytes,
        "first_read_ns": opt_ns(s.first_read_ns),
        "last_read_ns": opt_ns(s.last_read_ns),
        "first_write_ns": opt_ns(s.first_write_ns),
        "last_write_ns": opt_ns(s.last_write_ns),
        "rewrites": s.rewrites,
        "syscalls": syscalls,
        "seq_read_hist": h(file_hist::HIST_SEQ_READ),
        "seq_write_hist": h(file_hist::HIST_SEQ_WRITE),
        "fsync": {
            "calls": s.fsync_calls,
            "bytes": s.fsync_bytes,
            "last_ns": opt_ns(s.last_fsync_ns),
            "latency_hist": h(file_hist::HIST_FSYNC_LATENCY),
            "bytes_between_hist": h(file_hist::HIST_FSYNC_BETWEEN),
        },
    })
}

/// What the document says about the recording besides the files.
pub struct Header {
    pub start_ns: u64,
    pub end_ns: u64,
    pub boot_wall_ns: u64,
    pub filters: Value,
    pub strategy: String,
    pub events_lost: u64,
    pub interval_ns: Option<u64>,
    pub snapshots: Vec<Value>,
}

/// Every file's running counters at one time (`--interval`).
pub struct Snapshot {
    t_ns: u64,
    /// read_bytes, write_bytes, read_calls, write_calls, fsync_calls
    counters: BTreeMap<Key, [u64; 5]>,
}

pub fn snapshot(obj: &Object, now_ns: u64) -> Result<Snapshot> {
    let mut counters: BTreeMap<Key, [u64; 5]> = BTreeMap::new();
    let sc = obj.map("syscall_stats")?;
    for k in sc.keys::<stat_key>()? {
        let Some(v) = sc.get::<stat_key, syscall_stats>(&k)? else {
            continue;
        };
        let Some(slot) = counter_slot(k.kind) else {
            continue;
        };
        counters.entry(key(&k.file)).or_default()[2 + slot] += v.calls;
    }
    let fs = obj.map("file_stats")?;
    for k in fs.keys::<file_key>()? {
        let Some(v) = fs.get::<file_key, file_stats>(&k)? else {
            continue;
        };
        let c = counters.entry(key(&k)).or_default();
        c[0] = v.read_bytes;
        c[1] = v.write_bytes;
    }
    Ok(Snapshot { t_ns: now_ns, counters })
}

impl Snapshot {
    pub fn to_json(&self, remap: impl Fn(Key) -> Option<Key>) -> Value {
        let mut merged: BTreeMap<Key, [u64; 5]> = BTreeMap::new();
        for (k, c) in &self.counters {
            if let Some(k) = remap(*k) {
                let m = merged.entry(k).or_default();
                for (a, b) in m.iter_mut().zip(c) {
                    *a += b;
                }
            }
        }
        let files: Vec<Value> = merged
            .iter()
            .map(|((ns, dev, ino), c)| {
                json!({
                    "mntns": ns, "dev": dev_string(*dev), "ino": ino,
                    "read_bytes": c[0], "write_bytes": c[1],
                    "read_calls": c[2], "write_calls": c[3], "fsync_calls": c[4],
                })
            })
            .collect();
        json!({"t_ns": self.t_ns, "files": files})
    }
}

/// Which snapshot counter a syscall kind adds to: reads, writes, fsyncs (close: none).
fn counter_slot(kind: u32) -> Option<usize> {
    let name = KIND_NAMES.get(kind as usize)?;
    if READ_KINDS.contains(name) {
        Some(0)
    } else if WRITE_KINDS.contains(name) {
        Some(1)
    } else if ["fsync", "fdatasync"].contains(name) {
        Some(2)
    } else {
        None
    }
}

/// The kernel's s_dev as "major:minor" (MINORBITS = 20 inside the kernel).
fn dev_string(dev: u32) -> String {
    format!("{}:{}", dev >> 20, dev & 0xfffff)
}

impl Collected {
    pub fn file_count(&self) -> usize {
        self.files.len()
    }

    /// Updates the BPF side could not make, by cause (the profile's "lost").
    pub fn lost(&self, events_lost: u64) -> Value {
        json!({
            "inflight_full": self.drops[record_drop::DROP_INFLIGHT as usize],
            "map_full": self.drops[record_drop::DROP_FILES as usize],
            "path_events": self.drops[record_drop::DROP_EVENTS as usize] + events_lost,
        })
    }
}

/// Write the profile document (docs/profile-format.md), one file at a time:
/// a JSON tree of 100k files would take gigabytes.
pub fn write_document(
    w: &mut dyn std::io::Write,
    h: &Header,
    c: &Collected,
    names: &BTreeMap<Key, FileName>,
) -> std::io::Result<()> {
    let head = json!({
        "version": FORMAT_VERSION,
        "tool": "iotrace record",
        "host": hostname(),
        "kernel": crate::probe::kernel_release(),
        "strategy": h.strategy,
        "start_ns": h.start_ns,
        "end_ns": h.end_ns,
        "boot_wall_ns": h.boot_wall_ns,
        "filters": h.filters,
        "lost": c.lost(h.events_lost),
        "interval_ns": h.interval_ns,
        "snapshots": h.snapshots,
    });
    // The head's members, then "files" streamed into the same object.
    let head = head.to_string();
    w.write_all(&head.as_bytes()[..head.len() - 1])?;
    w.write_all(b",\n\"files\":[")?;
    for (i, (k, f)) in c.files.iter().enumerate() {
        if i > 0 {
            w.write_all(b",")?;
        }
        w.write_all(b"\n")?;
        serde_json::to_writer(&mut *w, &file_json(k, names.get(k), f))?;
    }
    w.write_all(b"\n]}\n")
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").map(|s| s.trim().to_string()).unwrap_or_default()
}
