//! Turning record.bpf.c's maps into the profile document
//! (docs/profile-format.md), and writing it atomically.
//!
//! The maps of 100k files hold ~170 MB of values (~850 bytes per file and
//! syscall), and the document is ~70 MB: neither is ever held. One pass over
//! each map finds which keys hold data (and the few entries keyed by more
//! than a file), the keys are put in row order by their names, and each row
//! is looked up in the maps and written as JSON on its own.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufReader, BufWriter, Read, Seek, Write};
use std::ops::Range;

use serde::ser::{Serialize, SerializeMap, SerializeStruct, Serializer};
use serde_json::{json, Value};

use super::kinds::{Class, KIND_NAMES};
use super::naming::{self, kernel_key, key, FileName, Key};
use crate::bpf::{Map, Object};
use crate::error::Result;
use crate::hist::Hist;
use crate::objects::map_name;
use crate::output::SmallWrites;
use crate::shared::{
    errno_key, file_hist, file_key, file_stats, file_user, hist_key, map_count, map_counts, open_count, open_counts,
    open_file, record_drop, stat_key, syscall_stats, user_key, FILE_RENAMED, FILE_UNLINKED, RECORD_COMM_LEN,
};

/// 2: rows keyed by mount namespace + path (1: by inode), paths encoded
/// losslessly, `inodes`, `renamed`, snapshots by row index and as changes.
pub const FORMAT_VERSION: u64 = 2;

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
    /// Highest offset + bytes of a completed read or write.
    end: u64,
    fsync_calls: u64,
    fsync_bytes: u64,
    last_fsync_ns: u64,
    flags: u32,
    /// By enum open_count.
    opens: [u64; open_count::OPENS_NR as usize],
    /// By enum map_count.
    maps: [u64; map_count::MAPS_NR as usize],
}

impl Totals {
    /// Add the counters of one syscall (`kind`) on the file.
    fn add_calls(&mut self, kind: u32, v: &syscall_stats) {
        let (bytes, first, last) = match Class::of_kind(kind) {
            Some(Class::Read) => (&mut self.read_bytes, &mut self.first_read_ns, &mut self.last_read_ns),
            Some(Class::Write) => (&mut self.write_bytes, &mut self.first_write_ns, &mut self.last_write_ns),
            _ => return,
        };
        *bytes += v.bytes;
        *first = min_nonzero(*first, v.first_ns);
        *last = (*last).max(v.last_ns);
        self.rewrites += v.rewrites;
        self.end = self.end.max(v.end);
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
        self.end = self.end.max(b.end);
        self.fsync_calls += b.fsync_calls;
        self.fsync_bytes += b.fsync_bytes;
        self.last_fsync_ns = self.last_fsync_ns.max(b.last_fsync_ns);
        self.flags |= b.flags;
        add_counts(&mut self.opens, &b.opens);
        add_counts(&mut self.maps, &b.maps);
    }
}

fn add_counts<const N: usize>(to: &mut [u64; N], n: &[u64; N]) {
    to.iter_mut().zip(n).for_each(|(a, b)| *a += b);
}

impl Class {
    /// The file histogram of the sequential runs of this class.
    fn seq_hist(self) -> Option<u16> {
        match self {
            Class::Read => Some(file_hist::HIST_SEQ_READ as u16),
            Class::Write => Some(file_hist::HIST_SEQ_WRITE as u16),
            Class::Sync | Class::Close | Class::Other | Class::Batch => None,
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
    /// What the maps keep of `completed`: its difference from `request`,
    /// slot by slot, summed wrapping (bpf/record.h: syscall_stats).
    completed_delta: BTreeMap<u32, u64>,
}

impl Calls {
    fn add_completed_delta(&mut self, slot: u32, n: u64) {
        let d = self.completed_delta.entry(slot).or_default();
        *d = d.wrapping_add(n);
    }

    /// `completed` from `request` and the delta, once both are read.
    fn resolve_completed(&mut self) {
        let mut slots = self.request.0.clone();
        for (slot, d) in std::mem::take(&mut self.completed_delta) {
            let n = slots.entry(slot).or_default();
            *n = n.wrapping_add(d);
        }
        slots.retain(|_, n| *n != 0);
        self.completed = Hist(slots);
    }
}

/// Everything counted under one key, or one row.
#[derive(Default)]
struct FileRecord {
    comms: BTreeSet<String>,
    /// By process name (record_config.user_bytes; empty without).
    comm_io: BTreeMap<String, Io>,
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

/// What a histogram nothing was counted in reads as.
static NO_HIST: Hist = Hist(BTreeMap::new());

impl FileRecord {
    /// Add another record of the same row (legacy: one record per open).
    fn merge(&mut self, o: FileRecord) {
        self.comms.extend(o.comms);
        for (comm, io) in o.comm_io {
            *self.comm_io.entry(comm).or_default() += io;
        }
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

    fn hist(&self, id: file_hist) -> &Hist {
        self.hists.get(&(id as u16)).unwrap_or(&NO_HIST)
    }
}

fn comm_str(c: &[std::ffi::c_char]) -> String {
    let b: Vec<u8> = c.iter().take_while(|c| **c != 0).map(|c| *c as u8).collect();
    String::from_utf8_lossy(&b).into_owned()
}

type Comm = [std::ffi::c_char; RECORD_COMM_LEN as usize];

/// Process names, each kept once: the users map repeats them per file.
#[derive(Default)]
struct Comms {
    names: Vec<String>,
    ids: HashMap<Comm, u32>,
}

impl Comms {
    fn id(&mut self, comm: &Comm) -> u32 {
        *self.ids.entry(*comm).or_insert_with(|| {
            self.names.push(comm_str(comm));
            self.names.len() as u32 - 1
        })
    }
}

/// Which entries a key has in the maps its values are looked up in.
#[derive(Default, Clone, Copy)]
struct Present {
    /// Bits 1 << io_kind: syscall_stats.
    kinds: u64,
    file_stats: bool,
    file_opens: bool,
    file_maps: bool,
}

const _: () = assert!(KIND_NAMES.len() <= 64, "Present::kinds has a bit per io_kind");

/// The entries of the maps keyed by more than a file (errno, histogram
/// slot, process), each sorted by file.
struct Sparse {
    errnos: Vec<(errno_key, u64)>,
    hists: Vec<(hist_key, u64)>,
    users: Vec<(Key, u32)>,
    /// The users entries that counted reads or writes.
    user_io: Vec<(Key, u32, Io)>,
    comms: Comms,
}

/// The entries of `v` (sorted by key) for key `k`.
fn entries_of<T>(v: &[T], k: Key, key_of: impl Fn(&T) -> Key) -> &[T] {
    let start = v.partition_point(|e| key_of(e) < k);
    let len = v[start..].partition_point(|e| key_of(e) == k);
    &v[start..start + len]
}

impl Sparse {
    fn add_to(&self, f: &mut FileRecord, k: Key) {
        for (e, n) in entries_of(&self.errnos, k, |(e, _)| key(&e.file)) {
            *f.syscalls.entry(e.kind as usize).or_default().errnos.entry(e.err).or_default() += n;
        }
        for (h, n) in entries_of(&self.hists, k, |(h, _)| key(&h.file)) {
            let seq = file_hist::HIST_SEQ_READ as u16;
            if h.hist < seq {
                let c = f.syscalls.entry(h.hist as usize / 2).or_default();
                if h.hist % 2 == file_hist::HIST_REQUEST as u16 {
                    c.request.add(h.slot as u32, *n);
                } else {
                    c.add_completed_delta(h.slot as u32, *n);
                }
            } else {
                f.hists.entry(h.hist).or_default().add(h.slot as u32, *n);
            }
        }
        for (_, comm) in entries_of(&self.users, k, |(k, _)| *k) {
            f.comms.insert(self.comms.names[*comm as usize].clone());
        }
        for (_, comm, io) in entries_of(&self.user_io, k, |(k, _, _)| *k) {
            *f.comm_io.entry(self.comms.names[*comm as usize].clone()).or_default() += *io;
        }
    }
}

/// The maps whose values are looked up key by key while the rows are written.
struct Values<'a> {
    file_stats: Map<'a>,
    file_opens: Map<'a>,
    file_maps: Map<'a>,
    syscall_stats: Map<'a>,
}

impl Values<'_> {
    /// The per-file and per-syscall values of key `k`.
    fn add_to(&self, f: &mut FileRecord, k: Key, present: Present) -> Result<()> {
        let file = kernel_key(k);
        if present.file_stats {
            if let Some(v) = self.file_stats.get::<file_key, file_stats>(&file)? {
                f.stats.add_file(&v);
            }
        }
        if present.file_opens {
            if let Some(v) = self.file_opens.get::<file_key, open_counts>(&file)? {
                add_counts(&mut f.stats.opens, &v.n);
            }
        }
        if present.file_maps {
            if let Some(v) = self.file_maps.get::<file_key, map_counts>(&file)? {
                add_counts(&mut f.stats.maps, &v.n);
            }
        }
        for kind in (0..KIND_NAMES.len() as u32).filter(|kind| present.kinds & 1u64 << kind != 0) {
            let Some(v) =
                self.syscall_stats.get_prefix::<stat_key, syscall_stats>(&stat_key { file, kind, _pad: 0 })?
            else {
                continue;
            };
            f.stats.add_calls(kind, &v);
            if let Some(h) = Class::of_kind(kind).and_then(Class::seq_hist) {
                add_slots(f.hists.entry(h).or_default(), &v.seq);
            }
            let c = f.syscalls.entry(kind as usize).or_default();
            (c.calls, c.errors, c.bytes) = (v.calls, v.errors, v.bytes);
            add_slots(&mut c.request, &v.request);
            for (slot, n) in v.completed.iter().enumerate().filter(|(_, n)| **n != 0) {
                c.add_completed_delta(slot as u32, *n);
            }
        }
        Ok(())
    }
}

/// What one pass over each map finds, without the per-file and per-syscall
/// values: those are looked up row by row while the profile is written.
pub struct Collected<'a> {
    /// Every key with data in any map.
    keys: BTreeMap<Key, Present>,
    sparse: Sparse,
    values: Values<'a>,
    drops: [u64; record_drop::DROP_NR as usize],
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
#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum RowKey<'a> {
    Path { mntns: u32, path: &'a [u8], truncated: bool },
    Own(Key),
}

/// Names kept back to back: their paths in one buffer, their inodes in
/// another (a FileName each would take three times the memory).
struct NameTable {
    paths: Vec<u8>,
    inodes: Vec<(u32, u64)>,
}

/// A [`FileName`] kept in a [`NameTable`].
struct NameAt {
    mntns: u32,
    path: Range<u32>,
    inodes: Range<u32>,
    truncated: bool,
    unlinked: bool,
}

impl NameTable {
    fn add(&mut self, n: FileName) -> NameAt {
        let (path, inodes) = (self.paths.len() as u32, self.inodes.len() as u32);
        self.paths.extend(n.path);
        self.inodes.extend(n.inodes);
        NameAt {
            mntns: n.mntns,
            path: path..self.paths.len() as u32,
            inodes: inodes..self.inodes.len() as u32,
            truncated: n.truncated,
            unlinked: n.unlinked,
        }
    }

    fn path(&self, n: &NameAt) -> &[u8] {
        &self.paths[n.path.start as usize..n.path.end as usize]
    }

    fn inodes(&self, n: &NameAt) -> &[(u32, u64)] {
        &self.inodes[n.inodes.start as usize..n.inodes.end as usize]
    }

    /// The row key `k` adds up in.
    fn row_key<'a>(&'a self, k: &KeyRow) -> RowKey<'a> {
        match &k.name {
            Some(n) if !n.unlinked => RowKey::Path { mntns: n.mntns, path: self.path(n), truncated: n.truncated },
            _ => RowKey::Own(k.key),
        }
    }
}

/// A kernel key that counted for a file, and the file's name.
struct KeyRow {
    key: Key,
    present: Present,
    name: Option<NameAt>,
}

/// The profile's rows, in output order, and which row each kernel key went to.
pub struct Rows<'a> {
    /// The keys in row order (a row's keys are adjacent, in key order).
    keys: Vec<KeyRow>,
    /// The same for directories (`directories`: their fsyncs only).
    dirs: Vec<KeyRow>,
    names: NameTable,
    len: usize,
    sparse: Sparse,
    values: Values<'a>,
    drops: [u64; record_drop::DROP_NR as usize],
}

impl Rows<'_> {
    pub fn len(&self) -> usize {
        self.len
    }

    /// Call events the kernel could not send (not the profile's: it has none).
    pub fn calls_lost(&self) -> u64 {
        self.drops[record_drop::DROP_CALLS as usize]
    }

    /// Updates the BPF side could not make, by cause (the profile's "lost").
    pub fn lost(&self, events_lost: u64) -> Lost {
        Lost {
            inflight_full: self.drops[record_drop::DROP_INFLIGHT as usize],
            map_full: self.drops[record_drop::DROP_FILES as usize],
            path_events: self.drops[record_drop::DROP_EVENTS as usize] + events_lost,
        }
    }

    /// Each row's keys, in output order.
    fn rows(&self) -> impl Iterator<Item = &[KeyRow]> {
        self.keys.chunk_by(|a, b| self.names.row_key(a) == self.names.row_key(b))
    }

    /// Each directory's keys, in output order.
    fn dir_rows(&self) -> impl Iterator<Item = &[KeyRow]> {
        self.dirs.chunk_by(|a, b| self.names.row_key(a) == self.names.row_key(b))
    }

    /// (key, row) for every key, sorted by key.
    fn index(&self) -> Vec<(Key, u32)> {
        let mut index = Vec::with_capacity(self.keys.len());
        for (row, keys) in self.rows().enumerate() {
            index.extend(keys.iter().map(|k| (k.key, row as u32)));
        }
        index.sort_unstable();
        index
    }

    /// Everything counted under one row's keys, read from the maps now.
    fn record(&self, keys: &[KeyRow]) -> Result<FileRecord> {
        let mut row = self.key_record(&keys[0])?;
        for k in &keys[1..] {
            row.merge(self.key_record(k)?);
        }
        Ok(row)
    }

    fn key_record(&self, k: &KeyRow) -> Result<FileRecord> {
        let mut f = FileRecord::default();
        self.values.add_to(&mut f, k.key, k.present)?;
        self.sparse.add_to(&mut f, k.key);
        // Only reads and writes count completed sizes (bpf/record.bpf.h: account()).
        for (kind, c) in &mut f.syscalls {
            if matches!(Class::of_kind(*kind as u32), Some(Class::Read | Class::Write)) {
                c.resolve_completed();
            }
        }
        Ok(f)
    }
}

/// Reads and writes: bytes, and calls (failed ones included).
#[derive(Default, Clone, Copy, PartialEq, Eq, Debug)]
pub struct Io {
    pub read_bytes: u64,
    pub write_bytes: u64,
    pub read_ops: u64,
    pub write_ops: u64,
}

impl Io {
    /// What is left of `self` without `o` (none below zero).
    pub fn less(&self, o: Io) -> Io {
        Io {
            read_bytes: self.read_bytes.saturating_sub(o.read_bytes),
            write_bytes: self.write_bytes.saturating_sub(o.write_bytes),
            read_ops: self.read_ops.saturating_sub(o.read_ops),
            write_ops: self.write_ops.saturating_sub(o.write_ops),
        }
    }
}

impl std::ops::AddAssign for Io {
    fn add_assign(&mut self, o: Io) {
        self.read_bytes += o.read_bytes;
        self.write_bytes += o.write_bytes;
        self.read_ops += o.read_ops;
        self.write_ops += o.write_ops;
    }
}

/// One row's syscall totals, for a command that records in-process (amplify).
pub struct FileTotals {
    pub mntns: u32,
    /// None: the path event was lost.
    pub path: Option<Vec<u8>>,
    /// (s_dev, inode number) of every inode seen under the path.
    pub inodes: Vec<(u32, u64)>,
    pub comms: Vec<String>,
    pub io: Io,
    /// `io` by process name (they add up to it), with Embedded's `user_bytes`.
    pub comm_io: Vec<(String, Io)>,
}

impl Rows<'_> {
    /// Every file row's totals, read from the maps now.
    pub fn totals(&self) -> Result<Vec<FileTotals>> {
        let mut out = Vec::with_capacity(self.len);
        for keys in self.rows() {
            let rec = self.record(keys)?;
            let row = FileJson::new(self, keys, &rec);
            let ops = |class| rec.syscalls.iter().filter(move |(k, _)| Class::of_kind(**k as u32) == Some(class));
            out.push(FileTotals {
                mntns: row.mntns,
                path: row.name.map(|n| self.names.path(n).to_vec()),
                inodes: row.inodes,
                comms: rec.comms.iter().cloned().collect(),
                io: Io {
                    read_bytes: rec.stats.read_bytes,
                    write_bytes: rec.stats.write_bytes,
                    read_ops: ops(Class::Read).map(|(_, c)| c.calls).sum(),
                    write_ops: ops(Class::Write).map(|(_, c)| c.calls).sum(),
                },
                comm_io: rec.comm_io.iter().map(|(c, io)| (c.clone(), *io)).collect(),
            });
        }
        Ok(out)
    }
}

impl<'a> Collected<'a> {
    /// Order the kernel's keys into rows: every key named with the same
    /// (mount namespace, path) adds up in one row.
    pub fn into_rows(self, identify: impl Fn(Key) -> Identity) -> Rows<'a> {
        // Sized up front: grown by doubling, they would leave their old copies behind as free heap.
        let mut keys = Vec::with_capacity(self.keys.len());
        let mut dirs = Vec::new();
        let mut names = NameTable { paths: Vec::new(), inodes: Vec::with_capacity(self.keys.len()) };
        for (key, present) in self.keys {
            match identify(key) {
                Identity::NotAFile => continue,
                Identity::Unknown => keys.push(KeyRow { key, present, name: None }),
                Identity::Named(n) => {
                    let to = if n.dir { &mut dirs } else { &mut keys };
                    to.push(KeyRow { key, present, name: Some(names.add(n)) });
                }
            }
        }
        // By key within a row: the first key names it.
        for k in [&mut keys, &mut dirs] {
            k.sort_unstable_by(|a, b| (names.row_key(a), a.key).cmp(&(names.row_key(b), b.key)));
        }
        let mut rows = Rows { keys, dirs, names, len: 0, sparse: self.sparse, values: self.values, drops: self.drops };
        rows.len = rows.rows().count();
        rows
    }
}

/// Read every map once; `open_map` holds the per-open state (sequential
/// runs still open at the end are closed here): `files` or, legacy, `opens`.
pub fn collect<'a>(obj: &'a Object, open_map: &str) -> Result<Collected<'a>> {
    let values = Values {
        file_stats: obj.map(map_name!("file_stats" in RECORD, RECORD_LEGACY))?,
        file_opens: obj.map(map_name!("file_opens" in RECORD, RECORD_LEGACY))?,
        file_maps: obj.map(map_name!("file_maps" in RECORD, RECORD_LEGACY))?,
        syscall_stats: obj.map(map_name!("syscall_stats" in RECORD, RECORD_LEGACY))?,
    };
    let mut keys: BTreeMap<Key, Present> = BTreeMap::new();
    values.syscall_stats.for_each_key(|k: stat_key| keys.entry(key(&k.file)).or_default().kinds |= 1u64 << k.kind)?;
    values.file_stats.for_each_key(|k: file_key| keys.entry(key(&k)).or_default().file_stats = true)?;
    values.file_opens.for_each_key(|k: file_key| keys.entry(key(&k)).or_default().file_opens = true)?;
    values.file_maps.for_each_key(|k: file_key| keys.entry(key(&k)).or_default().file_maps = true)?;
    let mut errnos = obj.map(map_name!("errnos" in RECORD, RECORD_LEGACY))?.entries::<errno_key, u64>()?;
    let mut hists = obj.map(map_name!("hists" in RECORD, RECORD_LEGACY))?.entries::<hist_key, u64>()?;
    // Sequential runs still open when recording stopped end here.
    obj.map(open_map)?.for_each_value(|o: open_file| {
        if o.regular == 0 {
            return;
        }
        keys.entry(key(&o.key)).or_default();
        for (run, h) in [(o.read_run, file_hist::HIST_SEQ_READ), (o.write_run, file_hist::HIST_SEQ_WRITE)] {
            if run > 0 {
                let slot = crate::hist::slot_of(run) as u16;
                hists.push((hist_key { file: o.key, hist: h as u16, slot, _pad: 0 }, 1));
            }
        }
    })?;
    let mut comms = Comms::default();
    let (mut users, mut user_io) = (Vec::new(), Vec::new());
    obj.map(map_name!("users" in RECORD, RECORD_LEGACY))?.for_each(|k: user_key, u: file_user| {
        let (file, comm) = (key(&k.file), comms.id(&u.comm));
        users.push((file, comm));
        let io =
            Io { read_bytes: u.read_bytes, write_bytes: u.write_bytes, read_ops: u.read_ops, write_ops: u.write_ops };
        if io != Io::default() {
            user_io.push((file, comm, io));
        }
    })?;
    errnos.sort_unstable_by_key(|(e, _)| key(&e.file));
    hists.sort_unstable_by_key(|(h, _)| key(&h.file));
    users.sort_unstable();
    user_io.sort_unstable_by_key(|(k, _, _)| *k);
    // A key found only there makes a row too.
    let files = errnos.iter().map(|(e, _)| key(&e.file)).chain(hists.iter().map(|(h, _)| key(&h.file)));
    for k in files.chain(users.iter().map(|(k, _)| *k)) {
        keys.entry(k).or_default();
    }
    let mut drops = [0u64; record_drop::DROP_NR as usize];
    let dm = obj.map(map_name!("drops" in RECORD, RECORD_LEGACY))?;
    for (i, d) in drops.iter_mut().enumerate() {
        *d = dm.get_percpu::<u32, u64>(&(i as u32))?.unwrap_or_default().iter().sum();
    }
    Ok(Collected { keys, sparse: Sparse { errnos, hists, users, user_io, comms }, values, drops })
}

fn opt_ns(v: u64) -> Option<u64> {
    (v != 0).then_some(v)
}

type SerResult<S> = std::result::Result<<S as Serializer>::Ok, <S as Serializer>::Error>;

/// A row as the profile writes it. Members are in alphabetical order, as
/// serde_json's sorted maps wrote them before rows were streamed.
struct FileJson<'a> {
    mntns: u32,
    name: Option<&'a NameAt>,
    path: Option<String>,
    inodes: Vec<(u32, u64)>,
    rec: &'a FileRecord,
}

impl<'a> FileJson<'a> {
    /// A row of these keys: named by its first key, with every key's inodes.
    fn new(rows: &'a Rows, keys: &'a [KeyRow], rec: &'a FileRecord) -> FileJson<'a> {
        let name = keys[0].name.as_ref();
        let mut inodes: Vec<(u32, u64)> =
            keys.iter().flat_map(|k| &k.name).flat_map(|n| rows.names.inodes(n)).copied().collect();
        inodes.sort_unstable();
        inodes.dedup();
        FileJson {
            mntns: name.map_or(keys[0].key.0, |n| n.mntns),
            name,
            path: name.map(|n| naming::encode(rows.names.path(n))),
            inodes,
            rec,
        }
    }
}

impl Serialize for FileJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> SerResult<S> {
        let (name, f, st) = (self.name, self.rec, &self.rec.stats);
        let unnamed = name.is_some_and(|n| n.unlinked);
        let mut m = s.serialize_struct("file", 22)?;
        m.serialize_field("comms", &f.comms)?;
        m.serialize_field("end_offset", &st.end)?;
        m.serialize_field("first_read_ns", &opt_ns(st.first_read_ns))?;
        m.serialize_field("first_write_ns", &opt_ns(st.first_write_ns))?;
        m.serialize_field("fsync", &FsyncJson(f))?;
        m.serialize_field("inodes", &InodesJson(&self.inodes))?;
        m.serialize_field("last_read_ns", &opt_ns(st.last_read_ns))?;
        m.serialize_field("last_write_ns", &opt_ns(st.last_write_ns))?;
        m.serialize_field("mmap", &CountsJson(&st.maps, MAPS_FIELDS))?;
        m.serialize_field("mntns", &self.mntns)?;
        m.serialize_field("opens", &CountsJson(&st.opens, OPENS_FIELDS))?;
        m.serialize_field("path", &self.path)?;
        m.serialize_field("path_truncated", &name.is_some_and(|n| n.truncated))?;
        m.serialize_field("read_bytes", &st.read_bytes)?;
        m.serialize_field("renamed", &(st.flags & FILE_RENAMED != 0))?;
        m.serialize_field("rewrites", &st.rewrites)?;
        m.serialize_field("seq_read_hist", f.hist(file_hist::HIST_SEQ_READ))?;
        m.serialize_field("seq_write_hist", f.hist(file_hist::HIST_SEQ_WRITE))?;
        m.serialize_field("syscalls", &SyscallsJson(&f.syscalls))?;
        m.serialize_field("unlinked", &(unnamed || st.flags & FILE_UNLINKED != 0))?;
        m.serialize_field("unnamed", &unnamed)?;
        m.serialize_field("write_bytes", &st.write_bytes)?;
        m.end()
    }
}

/// A directory's row: who synced it, and its fsync and fdatasync calls.
struct DirJson<'a>(FileJson<'a>);

impl Serialize for DirJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> SerResult<S> {
        let (d, f) = (&self.0, self.0.rec);
        let syncs: BTreeMap<usize, &Calls> = f
            .syscalls
            .iter()
            .filter(|(k, _)| Class::of_kind(**k as u32) == Some(Class::Sync))
            .map(|(k, c)| (*k, c))
            .collect();
        let mut m = s.serialize_struct("directory", 6)?;
        m.serialize_field("comms", &f.comms)?;
        m.serialize_field("fsync", &DirFsyncJson(f))?;
        m.serialize_field("inodes", &InodesJson(&d.inodes))?;
        m.serialize_field("mntns", &d.mntns)?;
        m.serialize_field("path", &d.path)?;
        m.serialize_field("syscalls", &SyscallsJson(&syncs))?;
        m.end()
    }
}

/// A directory's fsync summary: no bytes are written to a directory.
struct DirFsyncJson<'a>(&'a FileRecord);

impl Serialize for DirFsyncJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> SerResult<S> {
        let (f, st) = (self.0, &self.0.stats);
        let mut m = s.serialize_struct("fsync", 3)?;
        m.serialize_field("calls", &st.fsync_calls)?;
        m.serialize_field("last_ns", &opt_ns(st.last_fsync_ns))?;
        m.serialize_field("latency_hist", f.hist(file_hist::HIST_FSYNC_LATENCY))?;
        m.end()
    }
}

/// A file's counters by name (`opens`, `mmap`): each field's slot in the
/// kernel's array, in the order written (sorted, as every object of the profile).
struct CountsJson<'a, const N: usize>(&'a [u64; N], &'static [(&'static str, usize)]);

impl<const N: usize> Serialize for CountsJson<'_, N> {
    fn serialize<S: Serializer>(&self, s: S) -> SerResult<S> {
        let mut m = s.serialize_map(Some(self.1.len()))?;
        for (name, slot) in self.1 {
            m.serialize_entry(name, &self.0[*slot])?;
        }
        m.end()
    }
}

const OPENS_FIELDS: &[(&str, usize)] = {
    use open_count::*;
    &[
        ("append", OPENS_APPEND as usize),
        ("calls", OPENS_ALL as usize),
        ("direct", OPENS_DIRECT as usize),
        ("dsync", OPENS_DSYNC as usize),
        ("sync", OPENS_SYNC as usize),
    ]
};

const MAPS_FIELDS: &[(&str, usize)] = {
    use map_count::*;
    &[
        ("exec", MAPS_EXEC as usize),
        ("private", MAPS_PRIVATE as usize),
        ("private_bytes", MAPS_PRIVATE_BYTES as usize),
        ("read", MAPS_READ as usize),
        ("shared", MAPS_SHARED as usize),
        ("shared_bytes", MAPS_SHARED_BYTES as usize),
        ("write", MAPS_WRITE as usize),
    ]
};

const _: () =
    assert!(OPENS_FIELDS.len() == open_count::OPENS_NR as usize && MAPS_FIELDS.len() == map_count::MAPS_NR as usize);

struct FsyncJson<'a>(&'a FileRecord);

impl Serialize for FsyncJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> SerResult<S> {
        let (f, st) = (self.0, &self.0.stats);
        let mut m = s.serialize_struct("fsync", 5)?;
        m.serialize_field("bytes", &st.fsync_bytes)?;
        m.serialize_field("bytes_between_hist", f.hist(file_hist::HIST_FSYNC_BETWEEN))?;
        m.serialize_field("calls", &st.fsync_calls)?;
        m.serialize_field("last_ns", &opt_ns(st.last_fsync_ns))?;
        m.serialize_field("latency_hist", f.hist(file_hist::HIST_FSYNC_LATENCY))?;
        m.end()
    }
}

struct InodesJson<'a>(&'a [(u32, u64)]);

impl Serialize for InodesJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> SerResult<S> {
        s.collect_seq(self.0.iter().map(|&(dev, ino)| InodeJson { dev, ino }))
    }
}

struct InodeJson {
    dev: u32,
    ino: u64,
}

impl Serialize for InodeJson {
    fn serialize<S: Serializer>(&self, s: S) -> SerResult<S> {
        let mut m = s.serialize_struct("inode", 2)?;
        m.serialize_field("dev", &dev_string(self.dev))?;
        m.serialize_field("ino", &self.ino)?;
        m.end()
    }
}

/// Syscalls by name, in name order.
struct SyscallsJson<'a, C: Serialize>(&'a BTreeMap<usize, C>);

impl<C: Serialize> Serialize for SyscallsJson<'_, C> {
    fn serialize<S: Serializer>(&self, s: S) -> SerResult<S> {
        let mut by_name: Vec<(&str, &C)> = self.0.iter().map(|(kind, c)| (KIND_NAMES[*kind], c)).collect();
        by_name.sort_unstable_by_key(|(name, _)| *name);
        s.collect_map(by_name)
    }
}

impl Serialize for Calls {
    fn serialize<S: Serializer>(&self, s: S) -> SerResult<S> {
        let errnos: BTreeMap<String, u64> = self.errnos.iter().map(|(e, n)| (crate::errnames::name(*e), *n)).collect();
        let mut m = s.serialize_struct("syscall", 6)?;
        m.serialize_field("bytes", &self.bytes)?;
        m.serialize_field("calls", &self.calls)?;
        m.serialize_field("completed_hist", &self.completed)?;
        m.serialize_field("errnos", &errnos)?;
        m.serialize_field("errors", &self.errors)?;
        m.serialize_field("request_hist", &self.request)?;
        m.end()
    }
}

/// What the document says about the recording besides the files.
pub struct Header {
    pub start_ns: u64,
    pub end_ns: u64,
    pub boot_wall_ns: u64,
    pub filters: Value,
    pub strategy: String,
    pub events_lost: u64,
    /// Runs of the programs the kernel skipped (Object::missed_runs).
    pub skipped_runs: u64,
    pub interval_ns: Option<u64>,
    /// Ways of moving file data this recording did not see (docs/profile-format.md).
    pub unsupported: Vec<&'static str>,
}

/// Read, write and fsync counters of one file: read_bytes, write_bytes,
/// read_calls, write_calls, fsync_calls.
type Counters = [u64; 5];

/// The `--interval` time series, kept out of memory: each snapshot appends
/// the kernel keys whose counters changed since the one before, and by how
/// much, to an unlinked scratch file, so that a long recording of many files
/// costs disk, not RSS.
pub struct Snapshots {
    file: BufWriter<std::fs::File>,
    /// Every key's counters at the last snapshot, sorted by key.
    last: Vec<(Key, Counters)>,
    count: usize,
}

/// A snapshot record: the key (mntns, id), then how much each counter grew.
const SNAPSHOT_RECORD: usize = 4 + 8 + 5 * 8;

/// Every key's counters now.
fn counters_now(obj: &Object) -> Result<BTreeMap<Key, Counters>> {
    let mut now: BTreeMap<Key, Counters> = BTreeMap::new();
    obj.map(map_name!("syscall_stats" in RECORD, RECORD_LEGACY))?.for_each_prefix(
        |k: stat_key, v: syscall_stats| {
            let c = now.entry(key(&k.file)).or_default();
            match Class::of_kind(k.kind) {
                Some(Class::Read) => (c[0] += v.bytes, c[2] += v.calls),
                Some(Class::Write) => (c[1] += v.bytes, c[3] += v.calls),
                Some(Class::Sync) => ((), c[4] += v.calls),
                Some(Class::Close | Class::Other | Class::Batch) | None => ((), ()),
            };
        },
    )?;
    Ok(now)
}

impl Snapshots {
    pub fn new(scratch: std::fs::File) -> Snapshots {
        Snapshots { file: BufWriter::new(scratch), last: Vec::new(), count: 0 }
    }

    /// Append the counters at `now_ns`: a header (time, number of records),
    /// then one record (key, growth since the snapshot before) per new or
    /// changed key.
    pub fn take(&mut self, obj: &Object, now_ns: u64) -> Result<()> {
        let now = counters_now(obj)?;
        let before = |k: &Key| self.last.binary_search_by_key(k, |(k, _)| *k).ok().map(|at| self.last[at].1);
        let changed = || now.iter().filter(|(k, c)| before(k) != Some(**c));
        let io = |e: std::io::Error| crate::error::Error::from(e).context("cannot keep snapshots");
        self.file.write_all(&now_ns.to_le_bytes()).map_err(io)?;
        self.file.write_all(&(changed().count() as u64).to_le_bytes()).map_err(io)?;
        for (k, c) in changed() {
            let before = before(k).unwrap_or_default();
            let mut rec = [0u8; SNAPSHOT_RECORD];
            rec[..4].copy_from_slice(&k.0.to_le_bytes());
            rec[4..12].copy_from_slice(&k.1.to_le_bytes());
            for (j, field) in rec[12..].chunks_mut(8).enumerate() {
                field.copy_from_slice(&(c[j] - before[j]).to_le_bytes());
            }
            self.file.write_all(&rec).map_err(io)?;
        }
        // The old counters freed before the new ones are laid out (sorted, as `now` iterates).
        self.last = Vec::new();
        self.last = now.into_iter().collect();
        self.count += 1;
        Ok(())
    }

    /// The last snapshot is taken: free the counters kept to compare with.
    pub fn stop(&mut self) {
        self.last = Vec::new();
    }

    /// Write the snapshots as JSON: per snapshot, the rows whose counters
    /// changed, with their cumulative values.
    fn write_json(&mut self, w: &mut SmallWrites, rows: &Rows) -> std::io::Result<()> {
        self.file.flush()?;
        let mut file = self.file.get_ref().try_clone()?;
        file.rewind()?;
        let mut r = BufReader::new(file);
        let u64_at = |r: &mut BufReader<std::fs::File>| -> std::io::Result<u64> {
            let mut b = [0u8; 8];
            r.read_exact(&mut b)?;
            Ok(u64::from_le_bytes(b))
        };
        let index = rows.index();
        let row_of = |k: Key| index.binary_search_by_key(&k, |(k, _)| *k).ok().map(|at| index[at].1 as usize);
        let mut per_row: Vec<Counters> = vec![[0; 5]; rows.len()];
        w.write_all(b"[")?;
        for i in 0..self.count {
            let t_ns = u64_at(&mut r)?;
            let n = u64_at(&mut r)?;
            let mut changed = Vec::new();
            for _ in 0..n {
                let mut rec = [0u8; SNAPSHOT_RECORD];
                r.read_exact(&mut rec)?;
                let word = |at: usize| u64::from_le_bytes(rec[at..at + 8].try_into().unwrap());
                let k: Key = (u32::from_le_bytes(rec[..4].try_into().unwrap()), word(4));
                if let Some(row) = row_of(k) {
                    per_row[row].iter_mut().enumerate().for_each(|(j, c)| *c += word(12 + 8 * j));
                    changed.push(row);
                }
            }
            changed.sort_unstable();
            changed.dedup();
            if i > 0 {
                w.write_all(b",")?;
            }
            w.write_all(b"\n")?;
            let files = ChangedJson { rows: &changed, per_row: &per_row };
            serde_json::to_writer(&mut *w, &SnapshotJson { t_ns, files })?;
        }
        w.write_all(b"]")
    }
}

/// One snapshot as the profile writes it.
struct SnapshotJson<'a> {
    t_ns: u64,
    files: ChangedJson<'a>,
}

impl Serialize for SnapshotJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> SerResult<S> {
        let mut m = s.serialize_struct("snapshot", 2)?;
        m.serialize_field("files", &self.files)?;
        m.serialize_field("t_ns", &self.t_ns)?;
        m.end()
    }
}

/// The rows that changed in a snapshot, with their counters.
struct ChangedJson<'a> {
    rows: &'a [usize],
    per_row: &'a [Counters],
}

impl Serialize for ChangedJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> SerResult<S> {
        s.collect_seq(self.rows.iter().map(|&row| RowCountersJson { row, c: self.per_row[row] }))
    }
}

struct RowCountersJson {
    row: usize,
    c: Counters,
}

impl Serialize for RowCountersJson {
    fn serialize<S: Serializer>(&self, s: S) -> SerResult<S> {
        let c = self.c;
        let mut m = s.serialize_struct("file", 6)?;
        m.serialize_field("file", &self.row)?;
        m.serialize_field("fsync_calls", &c[4])?;
        m.serialize_field("read_bytes", &c[0])?;
        m.serialize_field("read_calls", &c[2])?;
        m.serialize_field("write_bytes", &c[1])?;
        m.serialize_field("write_calls", &c[3])?;
        m.end()
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

/// Write the profile document (docs/profile-format.md), one file at a time,
/// each read from the maps as it is written.
pub fn write_document(
    w: &mut SmallWrites,
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
        "skipped_runs": h.skipped_runs,
        "interval_ns": h.interval_ns,
        "unsupported": h.unsupported,
    });
    // The head's members, then "files" and "snapshots" streamed into the same object.
    let head = head.to_string();
    w.write_all(&head.as_bytes()[..head.len() - 1])?;
    w.write_all(b",\n\"files\":[")?;
    // Straight to `w`, which takes serde_json's small pieces cheaply.
    for (i, keys) in rows.rows().enumerate() {
        w.write_all(if i > 0 { b",\n" } else { b"\n" })?;
        let rec = rows.record(keys).map_err(|e| std::io::Error::other(e.to_string()))?;
        serde_json::to_writer(&mut *w, &FileJson::new(rows, keys, &rec))?;
    }
    w.write_all(b"\n],\n\"directories\":[")?;
    let mut first = true;
    for keys in rows.dir_rows() {
        let rec = rows.record(keys).map_err(|e| std::io::Error::other(e.to_string()))?;
        // Directories opened (legacy: every open has counters) but never synced are no rows.
        if !rec.syscalls.keys().any(|k| Class::of_kind(*k as u32) == Some(Class::Sync)) {
            continue;
        }
        w.write_all(if first { b"\n" } else { b",\n" })?;
        first = false;
        serde_json::to_writer(&mut *w, &DirJson(FileJson::new(rows, keys, &rec)))?;
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

#[cfg(test)]
mod tests {
    use super::Calls;

    #[test]
    fn completed_is_request_plus_the_kept_difference() {
        let mut c = Calls::default();
        // ten calls asked for 4 KiB: one failed (no completion), one returned 100 bytes, one 0 (end of file)
        c.request.add(13, 10);
        c.add_completed_delta(13, u64::MAX);
        c.add_completed_delta(13, u64::MAX);
        c.add_completed_delta(7, 1);
        c.add_completed_delta(13, u64::MAX);
        c.add_completed_delta(0, 1);
        c.resolve_completed();
        assert_eq!(c.completed.0.into_iter().collect::<Vec<_>>(), [(0, 1), (7, 1), (13, 7)]);
        assert!(c.completed_delta.is_empty());
    }
}
