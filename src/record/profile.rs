//! Turning record.bpf.c's maps into the profile document
//! (docs/profile-format.md), and writing it atomically.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufReader, BufWriter, Read, Seek, Write};

use serde_json::{json, Map as JsonMap, Value};

use super::naming::{key, FileName, Key};
use crate::bpf::Object;
use crate::error::Result;
use crate::hist::Hist;
use crate::shared::{
    errno_key, file_hist, file_key, file_stats, file_user, hist_key, io_kind, open_file, record_drop, stat_key,
    syscall_stats, FILE_RENAMED, FILE_UNLINKED,
};

/// 2: rows keyed by mount namespace + path (1: by inode), paths encoded
/// losslessly, `inodes`, `renamed`, snapshots by row index and as changes.
pub const FORMAT_VERSION: u64 = 2;

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

/// A file's totals: sums over its syscalls' counters (bpf/record.h:
/// syscall_stats) and its file_stats.
#[derive(Default, Clone, Copy)]
struct Totals {
    read_bytes: u64,
    write_bytes: u64,
    first_read_ns: u64,
    last_read_ns: u64,
    first_write_ns: u64,
    last_write_ns: u64,
    rewrites: u64,
    fsync_calls: u64,
    fsync_bytes: u64,
    last_fsync_ns: u64,
    flags: u32,
}

impl Totals {
    /// Add the counters of one syscall (`kind`) on the file.
    fn add_calls(&mut self, kind: u32, v: &syscall_stats) {
        let (bytes, first, last) = match Class::of(kind) {
            Some(Class::Read) => (&mut self.read_bytes, &mut self.first_read_ns, &mut self.last_read_ns),
            Some(Class::Write) => (&mut self.write_bytes, &mut self.first_write_ns, &mut self.last_write_ns),
            _ => return,
        };
        *bytes += v.bytes;
        *first = min_nonzero(*first, v.first_ns);
        *last = (*last).max(v.last_ns);
        self.rewrites += v.rewrites;
    }

    fn add_file(&mut self, v: &file_stats) {
        self.fsync_calls += v.fsync_calls;
        self.fsync_bytes += v.fsync_bytes;
        self.last_fsync_ns = self.last_fsync_ns.max(v.last_fsync_ns);
        self.flags |= v.flags;
    }

    fn merge(&mut self, b: &Totals) {
        self.read_bytes += b.read_bytes;
        self.write_bytes += b.write_bytes;
        self.first_read_ns = min_nonzero(self.first_read_ns, b.first_read_ns);
        self.last_read_ns = self.last_read_ns.max(b.last_read_ns);
        self.first_write_ns = min_nonzero(self.first_write_ns, b.first_write_ns);
        self.last_write_ns = self.last_write_ns.max(b.last_write_ns);
        self.rewrites += b.rewrites;
        self.fsync_calls += b.fsync_calls;
        self.fsync_bytes += b.fsync_bytes;
        self.last_fsync_ns = self.last_fsync_ns.max(b.last_fsync_ns);
        self.flags |= b.flags;
    }
}

/// What a syscall does to a file's data.
#[derive(Clone, Copy, PartialEq)]
enum Class {
    Read,
    Write,
    Sync,
}

impl Class {
    fn of(kind: u32) -> Option<Class> {
        let name = KIND_NAMES.get(kind as usize)?;
        if READ_KINDS.contains(name) {
            Some(Class::Read)
        } else if WRITE_KINDS.contains(name) {
            Some(Class::Write)
        } else if ["fsync", "fdatasync"].contains(name) {
            Some(Class::Sync)
        } else {
            None
        }
    }

    /// The file histogram of the sequential runs of this class.
    fn seq_hist(self) -> Option<u16> {
        match self {
            Class::Read => Some(file_hist::HIST_SEQ_READ as u16),
            Class::Write => Some(file_hist::HIST_SEQ_WRITE as u16),
            Class::Sync => None,
        }
    }
}

/// One syscall on one file: calls, errors, bytes, errnos, request and completed sizes.
#[derive(Default)]
struct Calls {
    calls: u64,
    errors: u64,
    bytes: u64,
    errnos: BTreeMap<i32, u64>,
    request: Hist,
    completed: Hist,
}

#[derive(Default)]
struct FileRecord {
    comms: BTreeSet<String>,
    stats: Totals,
    syscalls: BTreeMap<usize, Calls>,
    hists: BTreeMap<u16, Hist>,
}

/// Add the non-zero slots of an inline histogram (bpf/record.h).
fn add_slots(h: &mut Hist, slots: &[u64]) {
    for (slot, n) in slots.iter().enumerate().filter(|(_, n)| **n > 0) {
        h.add(slot as u32, *n);
    }
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
        self.stats.merge(&o.stats);
        for (kind, c) in o.syscalls {
            let e = self.syscalls.entry(kind).or_default();
            e.calls += c.calls;
            e.errors += c.errors;
            e.bytes += c.bytes;
            for (err, n) in c.errnos {
                *e.errnos.entry(err).or_default() += n;
            }
            e.request.merge(&c.request);
            e.completed.merge(&c.completed);
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

/// What a kernel key turned out to be.
pub enum Identity {
    /// A regular file with this name.
    Named(FileName),
    /// A regular file whose name never arrived (a lost event).
    Unknown,
    /// Not a regular file (legacy: an open of a device, pipe or directory).
    NotAFile,
}

/// A row is keyed by mount namespace + path; a file without a usable name
/// (none when first seen, or lost) is a row of its own.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
enum RowKey {
    Path { mntns: u32, path: Vec<u8>, truncated: bool },
    Own(Key),
}

/// One row of the profile: a file's name and everything counted under it.
struct Row {
    mntns: u32,
    name: Option<FileName>,
    rec: FileRecord,
}

/// The profile's rows, in output order, and which row each kernel key went to.
pub struct Rows {
    rows: Vec<Row>,
    index: HashMap<Key, usize>,
    drops: [u64; record_drop::DROP_NR as usize],
}

impl Rows {
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Updates the BPF side could not make, by cause (the profile's "lost").
    pub fn lost(&self, events_lost: u64) -> Lost {
        Lost {
            inflight_full: self.drops[record_drop::DROP_INFLIGHT as usize],
            map_full: self.drops[record_drop::DROP_FILES as usize],
            path_events: self.drops[record_drop::DROP_EVENTS as usize] + events_lost,
        }
    }
}

impl Collected {
    /// Group the kernel's records into rows: every key named with the same
    /// (mount namespace, path) adds up in one row.
    pub fn into_rows(self, identify: impl Fn(Key) -> Identity) -> Rows {
        let mut by_key: BTreeMap<RowKey, (u32, Option<FileName>, FileRecord, Vec<Key>)> = BTreeMap::new();
        for (k, rec) in self.files {
            let (rk, name) = match identify(k) {
                Identity::NotAFile => continue,
                Identity::Unknown => (RowKey::Own(k), None),
                Identity::Named(n) if n.unlinked => (RowKey::Own(k), Some(n)),
                Identity::Named(n) => {
                    (RowKey::Path { mntns: n.mntns, path: n.path.clone(), truncated: n.truncated }, Some(n))
                }
            };
            let mntns = name.as_ref().map_or(k.0, |n| n.mntns);
            let e = by_key.entry(rk).or_insert_with(|| (mntns, None, FileRecord::default(), vec![]));
            match (&mut e.1, name) {
                (Some(have), Some(n)) => have.inodes.extend(n.inodes),
                (slot, n) => *slot = slot.take().or(n),
            }
            e.2.merge(rec);
            e.3.push(k);
        }
        let mut rows = Vec::with_capacity(by_key.len());
        let mut index = HashMap::new();
        for (_, (mntns, name, rec, keys)) in by_key {
            for k in keys {
                index.insert(k, rows.len());
            }
            rows.push(Row { mntns, name, rec });
        }
        Rows { rows, index, drops: self.drops }
    }
}

/// Read every map; `open_map` holds the per-open state (sequential runs still
/// open at the end are closed here): `files` or, legacy, `opens`.
pub fn collect(obj: &Object, open_map: &str) -> Result<Collected> {
    let mut files: BTreeMap<Key, FileRecord> = BTreeMap::new();
    obj.map("syscall_stats")?.for_each_prefix(|k: stat_key, v: syscall_stats| {
        let f = files.entry(key(&k.file)).or_default();
        f.stats.add_calls(k.kind, &v);
        if let Some(h) = Class::of(k.kind).and_then(Class::seq_hist).filter(|_| v.seq.iter().any(|n| *n > 0)) {
            add_slots(f.hists.entry(h).or_default(), &v.seq);
        }
        let c = f.syscalls.entry(k.kind as usize).or_default();
        (c.calls, c.errors, c.bytes) = (v.calls, v.errors, v.bytes);
        add_slots(&mut c.request, &v.request);
        add_slots(&mut c.completed, &v.completed);
    })?;
    for (k, n) in obj.map("errnos")?.entries::<errno_key, u64>()? {
        let f = files.entry(key(&k.file)).or_default();
        *f.syscalls.entry(k.kind as usize).or_default().errnos.entry(k.err).or_default() += n;
    }
    for (k, n) in obj.map("hists")?.entries::<hist_key, u64>()? {
        let f = files.entry(key(&k.file)).or_default();
        let seq = file_hist::HIST_SEQ_READ as u16;
        if k.hist < seq {
            let c = f.syscalls.entry(k.hist as usize / 2).or_default();
            if k.hist % 2 == file_hist::HIST_REQUEST as u16 { &mut c.request } else { &mut c.completed }
                .add(k.slot as u32, n);
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
    for (k, v) in obj.map("file_stats")?.entries::<file_key, file_stats>()? {
        files.entry(key(&k)).or_default().stats.add_file(&v);
    }
    for (k, u) in obj.map("users")?.entries::<crate::shared::user_key, file_user>()? {
        files.entry(key(&k.file)).or_default().comms.insert(comm_str(&u.comm));
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

fn file_json(row: &Row) -> Value {
    let (name, f) = (row.name.as_ref(), &row.rec);
    let mut syscalls = JsonMap::new();
    for (kind, c) in &f.syscalls {
        let errnos: JsonMap<String, Value> =
            c.errnos.iter().map(|(e, n)| (crate::errnames::name(*e), json!(n))).collect();
        syscalls.insert(
            KIND_NAMES[*kind].to_string(),
            json!({
                "calls": c.calls, "errors": c.errors, "bytes": c.bytes, "errnos": errnos,
                "request_hist": c.request.to_json(), "completed_hist": c.completed.to_json(),
            }),
        );
    }
    let h = |id: file_hist| f.hists.get(&(id as u16)).cloned().unwrap_or_default().to_json();
    let s = &f.stats;
    let inodes: Vec<Value> =
        name.iter().flat_map(|n| &n.inodes).map(|(dev, ino)| json!({"dev": dev_string(*dev), "ino": ino})).collect();
    json!({
        "mntns": row.mntns,
        "path": name.map(|n| n.display()),
        "path_truncated": name.is_some_and(|n| n.truncated),
        "unnamed": name.is_some_and(|n| n.unlinked),
        "unlinked": name.is_some_and(|n| n.unlinked) || s.flags & FILE_UNLINKED != 0,
        "renamed": s.flags & FILE_RENAMED != 0,
        "inodes": inodes,
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
}

/// Read, write and fsync counters of one file: read_bytes, write_bytes,
/// read_calls, write_calls, fsync_calls.
type Counters = [u64; 5];

/// The `--interval` time series, kept out of memory: each snapshot appends
/// the kernel keys whose counters changed since the one before to an
/// unlinked scratch file, so that a long recording of many files costs disk,
/// not RSS.
pub struct Snapshots {
    file: BufWriter<std::fs::File>,
    last: HashMap<Key, Counters>,
    count: usize,
}

const SNAPSHOT_RECORD: usize = 4 + 8 + 5 * 8;

impl Snapshots {
    pub fn new(scratch: std::fs::File) -> Snapshots {
        Snapshots { file: BufWriter::new(scratch), last: HashMap::new(), count: 0 }
    }

    /// Append the counters at `now_ns`: a header (time, number of records),
    /// then one record per changed key.
    pub fn take(&mut self, obj: &Object, now_ns: u64) -> Result<()> {
        let mut now: HashMap<Key, Counters> = HashMap::new();
        obj.map("syscall_stats")?.for_each_prefix(|k: stat_key, v: syscall_stats| {
            let c = now.entry(key(&k.file)).or_default();
            match Class::of(k.kind) {
                Some(Class::Read) => (c[0] += v.bytes, c[2] += v.calls),
                Some(Class::Write) => (c[1] += v.bytes, c[3] += v.calls),
                Some(Class::Sync) => ((), c[4] += v.calls),
                None => ((), ()),
            };
        })?;
        now.retain(|k, c| self.last.get(k) != Some(c));
        let io = |e: std::io::Error| crate::error::Error::msg(format!("cannot keep snapshots: {e}"));
        self.file.write_all(&now_ns.to_le_bytes()).map_err(io)?;
        self.file.write_all(&(now.len() as u64).to_le_bytes()).map_err(io)?;
        for (k, c) in now {
            let mut rec = Vec::with_capacity(SNAPSHOT_RECORD);
            rec.extend(k.0.to_le_bytes());
            rec.extend(k.1.to_le_bytes());
            c.iter().for_each(|v| rec.extend(v.to_le_bytes()));
            self.file.write_all(&rec).map_err(io)?;
            self.last.insert(k, c);
        }
        self.count += 1;
        Ok(())
    }

    /// Write the snapshots as JSON: per snapshot, the rows whose counters
    /// changed, with their cumulative values.
    fn write_json(&mut self, w: &mut dyn Write, rows: &Rows) -> std::io::Result<()> {
        self.file.flush()?;
        let mut file = self.file.get_ref().try_clone()?;
        file.rewind()?;
        let mut r = BufReader::new(file);
        let u64_at = |r: &mut BufReader<std::fs::File>| -> std::io::Result<u64> {
            let mut b = [0u8; 8];
            r.read_exact(&mut b)?;
            Ok(u64::from_le_bytes(b))
        };
        let mut per_key: HashMap<Key, Counters> = HashMap::new();
        let mut per_row: Vec<Counters> = vec![[0; 5]; rows.rows.len()];
        w.write_all(b"[")?;
        for i in 0..self.count {
            let t_ns = u64_at(&mut r)?;
            let n = u64_at(&mut r)?;
            let mut changed = BTreeSet::new();
            for _ in 0..n {
                let mut rec = [0u8; SNAPSHOT_RECORD];
                r.read_exact(&mut rec)?;
                let word = |at: usize| u64::from_le_bytes(rec[at..at + 8].try_into().unwrap());
                let k: Key = (u32::from_le_bytes(rec[..4].try_into().unwrap()), word(4));
                let c: Counters = std::array::from_fn(|j| word(12 + 8 * j));
                let old = per_key.insert(k, c).unwrap_or_default();
                if let Some(&row) = rows.index.get(&k) {
                    for j in 0..5 {
                        per_row[row][j] = per_row[row][j] + c[j] - old[j];
                    }
                    changed.insert(row);
                }
            }
            let files: Vec<Value> = changed
                .into_iter()
                .map(|row| {
                    let c = per_row[row];
                    json!({"file": row, "read_bytes": c[0], "write_bytes": c[1],
                           "read_calls": c[2], "write_calls": c[3], "fsync_calls": c[4]})
                })
                .collect();
            if i > 0 {
                w.write_all(b",")?;
            }
            w.write_all(b"\n")?;
            serde_json::to_writer(&mut *w, &json!({"t_ns": t_ns, "files": files}))?;
        }
        w.write_all(b"]")
    }
}

/// The kernel's s_dev as "major:minor" (MINORBITS = 20 inside the kernel).
fn dev_string(dev: u32) -> String {
    format!("{}:{}", dev >> 20, dev & 0xfffff)
}

/// What the profile's "lost" counts.
pub struct Lost {
    pub inflight_full: u64,
    pub map_full: u64,
    pub path_events: u64,
}

impl Lost {
    pub fn total(&self) -> u64 {
        self.inflight_full + self.map_full + self.path_events
    }

    fn to_json(&self) -> Value {
        json!({"inflight_full": self.inflight_full, "map_full": self.map_full, "path_events": self.path_events})
    }
}

/// Write the profile document (docs/profile-format.md), one file at a time:
/// a JSON tree of 100k files would take gigabytes.
pub fn write_document(
    w: &mut dyn Write,
    h: &Header,
    rows: &Rows,
    snapshots: Option<&mut Snapshots>,
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
        "lost": rows.lost(h.events_lost).to_json(),
        "interval_ns": h.interval_ns,
    });
    // The head's members, then "files" and "snapshots" streamed into the same object.
    let head = head.to_string();
    w.write_all(&head.as_bytes()[..head.len() - 1])?;
    w.write_all(b",\n\"files\":[")?;
    for (i, row) in rows.rows.iter().enumerate() {
        if i > 0 {
            w.write_all(b",")?;
        }
        w.write_all(b"\n")?;
        serde_json::to_writer(&mut *w, &file_json(row))?;
    }
    w.write_all(b"\n],\n\"snapshots\":")?;
    match snapshots {
        Some(s) => s.write_json(w, rows)?,
        None => w.write_all(b"[]")?,
    }
    w.write_all(b"}\n")
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").map(|s| s.trim().to_string()).unwrap_or_default()
}
