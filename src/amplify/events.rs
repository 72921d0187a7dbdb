//! `--events`: a line per read, write and sync syscall, per folio added to or
//! dirtied in the page cache and per bio completed, as they come: in time
//! order within each 100 ms batch.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::os::unix::fs::MetadataExt;

use super::report::Kind;
use crate::block::{kernel_dev, Names};
use crate::record::{Calls, Class};
use crate::shared::{amp_event, amp_kind, amp_layer, call_event};

/// Whitespace-separated, in this order; COMM and FILE have their spaces
/// written `\x20`, so every line has these ten fields.
pub const HEADER: &str = "TIME(s) LAYER PID TID COMM FILE SIZE OFFSET LAT(us) RET";

/// Paths of (s_dev, inode): as record's path events name them, else as the
/// open files of processes show them.
#[derive(Default)]
struct Paths {
    known: HashMap<(u32, u64), String>,
    /// (pid, s_dev, inode) looked for in vain: not again.
    missed: HashSet<(u32, u32, u64)>,
}

impl Paths {
    /// The path of the file, from the fds of `pid` (a writing or reading
    /// process has it open), or `s_dev:inode` when it is not found there.
    fn get(&mut self, pid: u32, dev: u32, ino: u64) -> String {
        if !self.known.contains_key(&(dev, ino)) && pid != 0 && self.missed.insert((pid, dev, ino)) {
            self.scan(pid);
        }
        self.known.get(&(dev, ino)).cloned().unwrap_or_else(|| format!("{}:{}:{ino}", dev >> 20, dev & 0xfffff))
    }

    fn scan(&mut self, pid: u32) {
        let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else { return };
        for fd in fds.flatten() {
            let (Ok(m), Ok(target)) = (std::fs::metadata(fd.path()), std::fs::read_link(fd.path())) else {
                continue;
            };
            if m.is_file() {
                let dev = kernel_dev(libc::major(m.dev()), libc::minor(m.dev()));
                let path = crate::record::encode_path(target.as_os_str().as_encoded_bytes());
                // record's name, if it has one, is the one the file was opened by
                self.known.entry((dev, m.ino())).or_insert_with(|| field(&path));
            }
        }
    }
}

pub struct Printer {
    start_ns: u64,
    paths: Paths,
    disks: Names,
    /// This batch's lines, by time.
    pending: Vec<(u64, String)>,
}

/// `s` as one field of a line: its spaces written `\x20`.
fn field(s: &str) -> String {
    s.replace(' ', "\\x20")
}

/// A process name as a field; "?" for none.
fn comm_field(comm: &[std::ffi::c_char]) -> String {
    let comm: Vec<u8> = comm.iter().take_while(|c| **c != 0).map(|c| *c as u8).collect();
    if comm.is_empty() {
        "?".into()
    } else {
        field(&String::from_utf8_lossy(&comm))
    }
}

fn kind_of(k: u8) -> Kind {
    match k {
        x if x == amp_kind::AMP_FILE as u8 => Kind::File,
        x if x == amp_kind::AMP_JOURNAL as u8 => Kind::Journal,
        x if x == amp_kind::AMP_METADATA as u8 => Kind::Metadata,
        _ => Kind::Unattributed,
    }
}

impl Printer {
    pub fn new(start_ns: u64) -> Printer {
        Printer { start_ns, paths: Paths::default(), disks: Names::default(), pending: Vec::new() }
    }

    /// The line of a syscall: SIZE is what it asked for, RET what it returned.
    pub fn call_line(&mut self, e: &call_event) -> String {
        let (layer, size, offset) = match Class::of_kind(e.kind) {
            Some(Class::Read) => ("SYSCALL_R", e.req, e.offset),
            Some(Class::Write) => ("SYSCALL_W", e.req, e.offset),
            _ => ("SYSCALL_F", 0, 0), // an fsync of the whole file
        };
        format!(
            "{:.6} {layer} {} {} {} {} {} {} {:.1} {}",
            e.ts_ns.saturating_sub(self.start_ns) as f64 / 1e9,
            e.pid,
            e.tid,
            comm_field(&e.comm),
            self.paths.get(e.pid, e.dev, e.ino),
            size,
            offset,
            e.lat_ns as f64 / 1e3,
            e.ret
        )
    }

    pub fn line(&mut self, e: &amp_event) -> String {
        let fs = e.layer == amp_layer::AMP_FS as u8;
        let file = match kind_of(e.kind) {
            Kind::File => self.paths.get(e.pid, e.fs_dev, e.ino),
            kind => format!("[{}\\x20{}]", kind.name(), self.disks.name(if fs { e.fs_dev } else { e.disk })),
        };
        let comm = comm_field(&e.comm);
        let layer = match (fs, e.write != 0) {
            (true, false) => "FS_R",
            (true, true) => "FS_W",
            (false, false) => "BLOCK_R",
            (false, true) => "BLOCK_W",
        };
        format!(
            "{:.6} {layer} {} {} {comm} {file} {} {} {:.1} {}",
            e.ts_ns.saturating_sub(self.start_ns) as f64 / 1e9,
            e.pid,
            e.tid,
            e.bytes,
            e.offset,
            e.lat_ns as f64 / 1e3,
            e.ret
        )
    }

    /// Queue the FS or BLOCK event in `data`.
    pub fn add(&mut self, data: &[u8]) {
        if data.len() >= std::mem::size_of::<amp_event>() {
            let e: amp_event = crate::bpf::from_bytes(data);
            let line = self.line(&e);
            self.pending.push((e.ts_ns, line));
        }
    }

    /// Queue the syscalls of `calls`, after learning the names it brings.
    pub fn add_calls(&mut self, calls: &Calls) {
        for (file, path) in calls.named {
            self.paths.known.insert(*file, field(path));
        }
        for e in calls.events {
            let line = self.call_line(e);
            self.pending.push((e.ts_ns, line));
        }
    }

    /// Print the lines of events before `until_ns`, in time order; later
    /// ones wait for the calls that complete with them. A closed standard
    /// output is not an error (the report still goes where -o says).
    pub fn flush(&mut self, until_ns: u64) {
        self.pending.sort_by_key(|(ts, _)| *ts);
        let n = self.pending.partition_point(|(ts, _)| *ts < until_ns);
        let mut out = std::io::stdout().lock();
        for (_, line) in self.pending.drain(..n) {
            let _ = writeln!(out, "{line}");
        }
        let _ = out.flush();
    }
}
