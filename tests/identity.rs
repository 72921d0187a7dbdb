//! File identity in `iotrace record` (profile format 2): one row per mount
//! namespace + path, under churn that recycles inode numbers and kernel
//! objects, renames and unlinks of open files, hard links, O_TMPFILE and
//! names that are not UTF-8; then real programs (sqlite3, git) with strace
//! running inside the recording as the oracle.
//!
//! Expected values come from the workloads, never from guesses:
//! - tests/workloads/churn.c writes a manifest of its own per-path counts,
//!   inodes and flags (`churn_manifest_matches_strace` checks that manifest
//!   against strace on every run);
//! - for sqlite3 and git, `strace -f -ff -y` runs as the recorded command, so
//!   strace and iotrace see the very same syscalls; strace's own output
//!   files (written by strace, which does not trace itself) must have as
//!   many bytes written in the profile as they hold.
//!
//! The rows' rules (format version 2):
//! - a row holds all I/O through files opened under its path; re-creations
//!   of the path add up in it; files that merely share a recycled inode
//!   number never share a row; `inodes` lists every inode seen under it;
//! - a file renamed while open stays in its open-time row, which gets
//!   `renamed`; an open under the new name is the new name's row;
//! - a file unlinked while open stays in its row, which gets `unlinked`
//!   (here: true when any file of the row was unlinked while open);
//! - a file that had no name when opened (O_TMPFILE) has a row of its own,
//!   `unnamed` and `unlinked`, named `/dir/#INODE`;
//! - `path` is lossless: `\` is `\\`, invalid UTF-8 and control bytes are
//!   `\xHH` ([`encode_path`]).

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ffi::{OsStr, OsString};
use std::fmt::Write as _;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::*;
use serde_json::{json, Value};

/// The legacy strategy has no kernel struct access: it cannot see that an
/// open file was renamed or unlinked, nor that an O_TMPFILE file has no
/// name, so `renamed` / `unlinked` / `unnamed` and the `/dir/#INODE` path of
/// an O_TMPFILE row are only asserted for it once this is true.
const LEGACY_SEES_RENAME_AND_UNLINK: bool = false;

/// The legacy strategy learns a file's inode by stat()ing the opened path
/// (or /proc/PID/fd/N) once the open event reaches user space; by then a
/// churned path may name a later file or nothing at all, so `inodes` is only
/// asserted for it once this is true.
const LEGACY_KNOWS_INODES: bool = false;

/// Read and write syscalls as the profile and strace name them; fsync family.
/// (The copies count on both files: X_in on the in-file, X_out on the out-file.)
const READS: &[&str] =
    &["read", "readv", "pread64", "preadv", "preadv2", "sendfile_in", "copy_file_range_in", "splice_in"];
const WRITES: &[&str] =
    &["write", "writev", "pwrite64", "pwritev", "pwritev2", "sendfile_out", "copy_file_range_out", "splice_out"];
const SYNCS: &[&str] = &["fsync", "fdatasync"];

/// Syscalls that move file data which the strace oracle does not count: a
/// workload using them on its files would make the comparison meaningless.
const UNMODELLED: &[&str] = &["tee", "vmsplice", "io_submit", "io_uring_enter"];

// ---------------------------------------------------------------- helpers

/// The profile's lossless path encoding: `\` as `\\`, each byte of invalid
/// UTF-8 and each control byte (0x00-0x1f, 0x7f) as `\xHH`, the rest as is.
fn encode_path(b: &[u8]) -> String {
    let mut s = String::new();
    for chunk in b.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => s.push_str("\\\\"),
                c if (c as u32) < 0x20 || c as u32 == 0x7f => write!(s, "\\x{:02x}", c as u32).unwrap(),
                c => s.push(c),
            }
        }
        for b in chunk.invalid() {
            write!(s, "\\x{b:02x}").unwrap();
        }
    }
    s
}

fn bytes(p: &Path) -> &[u8] {
    p.as_os_str().as_bytes()
}

/// `root` + "/" as encoded in profile paths: a row is under root if its path starts with this.
fn encoded_dir(root: &Path) -> String {
    encode_path(bytes(root)) + "/"
}

fn host_mntns() -> u64 {
    let l = std::fs::read_link("/proc/self/ns/mnt").unwrap();
    l.to_str().unwrap().trim_start_matches("mnt:[").trim_end_matches(']').parse().unwrap()
}

fn files(p: &Value) -> &Vec<Value> {
    p["files"].as_array().unwrap_or_else(|| panic!("no files[] in profile: {p:#}"))
}

fn path_of(f: &Value) -> &str {
    f["path"].as_str().unwrap_or("<null>")
}

/// syscall name -> (calls, bytes) of a profile row.
type Counts = BTreeMap<String, (u64, u64)>;

fn row_counts(f: &Value) -> Counts {
    let Some(sc) = f["syscalls"].as_object() else { return Counts::new() };
    sc.iter().map(|(k, v)| (k.clone(), (v["calls"].as_u64().unwrap_or(0), v["bytes"].as_u64().unwrap_or(0)))).collect()
}

/// Calls that moved data or synced (not close): a row with none is only a close.
fn io_calls(c: &Counts) -> u64 {
    c.iter().filter(|(k, _)| k.as_str() != "close").map(|(_, v)| v.0).sum()
}

fn sum(c: &Counts, names: &[&str]) -> (u64, u64) {
    names.iter().filter_map(|n| c.get(*n)).fold((0, 0), |a, v| (a.0 + v.0, a.1 + v.1))
}

/// Header checks every test makes: version 2, the strategy asked for, nothing lost.
fn check_header(p: &Value, strategy: &str, bad: &mut Vec<String>) {
    let want = [
        ("version", json!(2)),
        ("strategy", json!(strategy)),
        ("lost", json!({"inflight_full": 0, "map_full": 0, "path_events": 0})),
    ];
    for (k, v) in want {
        if p[k] != v {
            bad.push(format!("profile {k}: got {}, want {v}", p[k]));
        }
    }
}

/// `iotrace record --strategy S -d 120 -o PROFILE -- ARGV...`, which must succeed; `setup`
/// sets the command's cwd / environment (inherited by ARGV).
fn record(strategy: &str, profile: &Path, argv: &[&OsStr], setup: impl FnOnce(&mut Command)) -> Value {
    let mut cmd = iotrace();
    cmd.args(["record", "--strategy", strategy, "-d", "120", "-o"]).arg(profile).arg("--").args(argv);
    cmd.stdin(Stdio::null());
    setup(&mut cmd);
    ok(&mut cmd);
    serde_json::from_str(&std::fs::read_to_string(profile).unwrap()).unwrap()
}

/// A CPU hog (`sh -c 'while :; do :; done'`), killed and reaped on drop.
fn busy() -> Reap {
    Reap(Command::new("sh").args(["-c", "while :; do :; done"]).stdin(Stdio::null()).spawn().unwrap())
}

/// Panic with every mismatch, naming the run.
fn verdict(what: &str, bad: &[String]) {
    assert!(bad.is_empty(), "{what}: {} mismatches:\n{}", bad.len(), bad.join("\n"));
}

#[test]
fn path_encoding_examples() {
    assert_eq!(encode_path(b"/dir/x\xff"), "/dir/x\\xff");
    assert_eq!(encode_path(b"a\nb"), "a\\x0ab");
    assert_eq!(encode_path(b"\\x41"), "\\\\x41");
    assert_eq!(encode_path(b"x\xef\xbf\xbd"), "x\u{fffd}");
    assert_eq!(encode_path(b"c\x01\x7f\xc3\xa9\xe2\x82"), "c\\x01\\x7f\u{e9}\\xe2\\x82");
    assert_eq!(encode_path(b"/plain/path-1.txt"), "/plain/path-1.txt");
}

// ---------------------------------------------------------------- the churn exerciser

/// One line of churn's manifest: a row the profile must hold.
#[derive(Debug)]
struct Want {
    /// raw bytes; None: an anonymous (O_TMPFILE) file, a row of its own
    path: Option<Vec<u8>>,
    renamed: bool,
    unlinked: bool,
    /// ("major:minor", inode)
    inodes: BTreeSet<(String, u64)>,
    counts: Counts,
}

impl Want {
    fn name(&self) -> String {
        match &self.path {
            Some(p) => encode_path(p),
            None => format!("<anonymous {:?}>", self.counts),
        }
    }
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn parse_manifest(text: &str) -> Vec<Want> {
    let mut out = vec![];
    for line in text.lines() {
        let mut it = line.split(' ');
        let kind = it.next().unwrap();
        let path = it.next().unwrap();
        let mut w = Want {
            path: (kind == "P").then(|| unhex(path)),
            renamed: false,
            unlinked: false,
            inodes: BTreeSet::new(),
            counts: Counts::new(),
        };
        for kv in it {
            let (k, v) = kv.split_once('=').unwrap_or_else(|| panic!("manifest: {line}"));
            match k {
                "renamed" => w.renamed = v == "1",
                "unlinked" => w.unlinked = v == "1",
                "inodes" => {
                    for i in v.split(',') {
                        let mut f = i.split(':');
                        let (maj, min, ino) = (f.next().unwrap(), f.next().unwrap(), f.next().unwrap());
                        w.inodes.insert((format!("{maj}:{min}"), ino.parse().unwrap()));
                    }
                }
                sc => {
                    let (c, b) = v.split_once('/').unwrap();
                    w.counts.insert(sc.to_string(), (c.parse().unwrap(), b.parse().unwrap()));
                }
            }
        }
        out.push(w);
    }
    out
}

/// Compare one profile row with the manifest's.
fn check_row(f: &Value, w: &Want, strategy: &str, bad: &mut Vec<String>) {
    let name = w.name();
    let mut cmp = |field: &str, got: &Value, want: Value| {
        if *got != want {
            bad.push(format!("{name}: {field}: got {got}, want {want}"));
        }
    };
    cmp("mntns", &f["mntns"], json!(host_mntns()));
    cmp("path_truncated", &f["path_truncated"], json!(false));
    cmp("comms", &f["comms"], json!(["churn"]));
    let got = row_counts(f);
    cmp("syscalls", &json!(got), json!(w.counts));
    if let Some(sc) = f["syscalls"].as_object() {
        for (k, v) in sc {
            cmp(&format!("{k}.errors"), &v["errors"], json!(0));
        }
    }
    cmp("read_bytes", &f["read_bytes"], json!(sum(&w.counts, READS).1));
    cmp("write_bytes", &f["write_bytes"], json!(sum(&w.counts, WRITES).1));
    cmp("fsync.calls", &f["fsync"]["calls"], json!(sum(&w.counts, SYNCS).0));
    if strategy != "legacy" || LEGACY_SEES_RENAME_AND_UNLINK {
        cmp("renamed", &f["renamed"], json!(w.renamed));
        cmp("unlinked", &f["unlinked"], json!(w.unlinked));
        cmp("unnamed", &f["unnamed"], json!(w.path.is_none()));
    }
    if strategy != "legacy" || LEGACY_KNOWS_INODES {
        let list: Vec<(String, u64)> = f["inodes"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|i| (i["dev"].as_str().unwrap_or("?").to_string(), i["ino"].as_u64().unwrap_or(0)))
                    .collect()
            })
            .unwrap_or_default();
        let set: BTreeSet<(String, u64)> = list.iter().cloned().collect();
        if f["inodes"].is_null() || set != w.inodes || set.len() != list.len() {
            cmp(
                "inodes",
                &f["inodes"],
                json!(w.inodes.iter().map(|(d, i)| json!({"dev": d, "ino": i})).collect::<Vec<_>>()),
            );
        }
    }
}

/// A short description of a row for mismatch messages.
fn brief(f: &Value) -> String {
    format!("{:?} inodes {} unlinked {} {:?}", path_of(f), f["inodes"], f["unlinked"], row_counts(f))
}

/// Check a churn profile against the manifest: every named row exactly once
/// and exact, the anonymous rows each on their own, the manifest's own row,
/// and nothing else at all (churn is static and touches no other file).
fn check_churn(p: &Value, strategy: &str, wants: &[Want], work: &Path, manifest: &Path) -> Vec<String> {
    let mut bad = vec![];
    check_header(p, strategy, &mut bad);
    let mut used = vec![false; files(p).len()];
    let man = encode_path(bytes(manifest));
    let size = std::fs::metadata(manifest).unwrap().len();
    let rows: Vec<usize> = (0..used.len()).filter(|&i| path_of(&files(p)[i]) == man).collect();
    match rows.as_slice() {
        [i] if files(p)[*i]["write_bytes"] == size => used[*i] = true,
        _ => bad.push(format!("manifest {man}: want one row with write_bytes {size}, got {rows:?}")),
    }
    for w in wants.iter().filter(|w| w.path.is_some()) {
        let name = w.name();
        let rows: Vec<usize> = (0..used.len()).filter(|&i| path_of(&files(p)[i]) == name).collect();
        for &i in &rows {
            used[i] = true;
        }
        match rows.as_slice() {
            [i] => check_row(&files(p)[*i], w, strategy, &mut bad),
            _ => bad.push(format!(
                "{name}: {} rows, want 1: [{}]",
                rows.len(),
                rows.iter().map(|&i| brief(&files(p)[i])).collect::<Vec<_>>().join("; ")
            )),
        }
    }
    // Anonymous files: each its own row, told apart by their counts (churn makes them differ).
    for w in wants.iter().filter(|w| w.path.is_none()) {
        let found = (0..used.len()).find(|&i| !used[i] && row_counts(&files(p)[i]) == w.counts);
        match found {
            Some(i) => {
                used[i] = true;
                check_row(&files(p)[i], w, strategy, &mut bad);
                // Named by the kernel's dentry of an O_TMPFILE file: "#" and the inode number.
                let want = format!("{}#{}", encoded_dir(work), w.inodes.first().map_or(0, |i| i.1));
                if (strategy != "legacy" || LEGACY_SEES_RENAME_AND_UNLINK) && path_of(&files(p)[i]) != want {
                    bad.push(format!("{}: path {:?}, want {want:?}", w.name(), path_of(&files(p)[i])));
                }
            }
            None => bad.push(format!("{}: no row of its own", w.name())),
        }
    }
    for (_, f) in files(p).iter().enumerate().filter(|(i, _)| !used[*i]) {
        bad.push(format!("unexpected row: {}", brief(f)));
    }
    bad
}

/// Run churn under `iotrace record --strategy S` in a fresh dir (named by
/// `tag`, unique per test) under `base` and check it; returns the mismatches.
fn churn(strategy: &str, base: &Path, tag: &str) -> Vec<String> {
    let dir = TempDir::new_in(base, tag);
    let bin = build_workload(dir.path(), "churn");
    let work = dir.path().join("work");
    std::fs::create_dir(&work).unwrap();
    let manifest = dir.path().join("manifest");
    let argv = [bin.as_os_str(), work.as_os_str(), manifest.as_os_str()];
    let p = record(strategy, &dir.path().join("profile.json"), &argv, |_| {});
    let wants = parse_manifest(&std::fs::read_to_string(&manifest).unwrap());
    churn_preconditions(&wants, &work);
    check_churn(&p, strategy, &wants, &work, &manifest)
        .into_iter()
        .map(|m| format!("{strategy} in {}: {m}", base.display()))
        .collect()
}

/// The workload did what makes the test mean something: on a file system
/// that recycles inode numbers (ext4), distinct paths shared one.
fn churn_preconditions(wants: &[Want], work: &Path) {
    let named = wants.iter().filter(|w| w.path.is_some()).count();
    assert!(named >= 60 && wants.len() - named == 2, "manifest: {named} named rows, {} anonymous", wants.len() - named);
    let mut by_inode: BTreeMap<&(String, u64), usize> = BTreeMap::new();
    for w in wants {
        for i in &w.inodes {
            *by_inode.entry(i).or_default() += 1;
        }
    }
    if fs_type(work) == "ext4" {
        let max = by_inode.values().max().copied().unwrap_or(0);
        assert!(
            max >= 10,
            "ext4 did not recycle inode numbers (at most {max} rows per inode): the churn proves nothing"
        );
    }
}

fn fs_type(p: &Path) -> String {
    let o = ok(Command::new("stat").args(["-f", "-c", "%T"]).arg(p));
    let t = stdout(&o).trim().to_string();
    if t == "ext2/ext3" {
        "ext4".into() // stat(1) names ext4's magic this way
    } else {
        t
    }
}

/// The system temp dir (ext4 here) and /dev/shm when it is a tmpfs.
fn churn_bases() -> Vec<PathBuf> {
    let mut v = vec![std::env::temp_dir()];
    let shm = Path::new("/dev/shm");
    if shm.is_dir() && fs_type(shm) == "tmpfs" && fs_type(&v[0]) != "tmpfs" {
        v.push(shm.to_path_buf());
    }
    v
}

fn churn_all_bases(strategy: &str) {
    let mut bad = vec![];
    for base in churn_bases() {
        bad.extend(churn(strategy, &base, &format!("churn-{strategy}")));
    }
    verdict(&format!("churn with {strategy}"), &bad);
}

#[test]
fn churn_tp_btf() {
    churn_all_bases("tp_btf");
}

#[test]
fn churn_raw_tp() {
    churn_all_bases("raw_tp");
}

#[test]
fn churn_tracepoint() {
    churn_all_bases("tracepoint");
}

#[test]
fn churn_legacy() {
    churn_all_bases("legacy");
}

/// Legacy learns about files in user space: with both CPUs busy it falls
/// behind the workload (whose files are long gone when their events are
/// read), which must not change a single count.
#[test]
fn churn_legacy_under_cpu_load() {
    let _hogs = [busy(), busy()];
    let mut bad = vec![];
    for base in churn_bases() {
        bad.extend(churn("legacy", &base, "churn-legacy-load"));
    }
    verdict("churn with legacy under load", &bad);
}

/// The manifest is the truth of every churn test: strace must agree with it,
/// per path (open-time names), for every count, flag and anonymous file.
#[test]
fn churn_manifest_matches_strace() {
    let dir = TempDir::new("churn-strace");
    let bin = build_workload(dir.path(), "churn");
    let (work, out) = (dir.path().join("work"), dir.path().join("s"));
    std::fs::create_dir(&work).unwrap();
    std::fs::create_dir(&out).unwrap();
    let manifest = dir.path().join("manifest");
    ok(Command::new("strace")
        .args(["-f", "-ff", "-y", "-qq", "-o"])
        .arg(out.join("t"))
        .arg(&bin)
        .arg(&work)
        .arg(&manifest));
    let t = parse_strace_dir(&out, &work, Naming::OpenTime);
    let wants = parse_manifest(&std::fs::read_to_string(&manifest).unwrap());
    churn_preconditions(&wants, &work);
    // Paths encoded as the profile writes them, so that a failure reads well.
    let named: BTreeMap<String, &Want> =
        wants.iter().filter_map(|w| Some((encode_path(w.path.as_ref()?), w))).collect();
    let got: BTreeMap<String, &Counts> = t.paths.iter().map(|(p, c)| (encode_path(p), c)).collect();
    let want: BTreeMap<String, &Counts> = named.iter().map(|(p, w)| (p.clone(), &w.counts)).collect();
    assert_eq!(got, want, "per-path counts: strace (left) vs manifest (right)");
    let flagged = |f: fn(&Want) -> bool| -> BTreeSet<String> {
        named.iter().filter(|(_, w)| f(w)).map(|(p, _)| p.clone()).collect()
    };
    let enc = |s: &BTreeSet<Vec<u8>>| -> BTreeSet<String> { s.iter().map(|p| encode_path(p)).collect() };
    assert_eq!(enc(&t.renamed_open), flagged(|w| w.renamed), "renamed while open: strace (left) vs manifest (right)");
    assert_eq!(
        enc(&t.unlinked_open),
        flagged(|w| w.unlinked),
        "unlinked while open: strace (left) vs manifest (right)"
    );
    let mut anon_got: Vec<&Counts> = t.anon.iter().collect();
    let mut anon_want: Vec<&Counts> = wants.iter().filter(|w| w.path.is_none()).map(|w| &w.counts).collect();
    anon_got.sort();
    anon_want.sort();
    assert_eq!(anon_got, anon_want, "anonymous files");
    assert!(t.unmodelled.is_empty(), "{:?}", t.unmodelled);
}

// ---------------------------------------------------------------- the strace oracle

/// Which name an fd's I/O is booked under.
#[derive(Clone, Copy, PartialEq)]
enum Naming {
    /// The name it was opened under, when its open is in the same trace file
    /// (else its current name). Exact for one process without exec (churn).
    OpenTime,
    /// Its name at the time of the call as `-y` shows it. Robust for real
    /// programs (threads, exec, inherited fds), where no open file is renamed.
    Current,
}

/// What strace saw on files under a root directory.
#[derive(Default, Debug)]
struct Trace {
    /// path -> syscall -> (calls, bytes returned); close counted too
    paths: BTreeMap<Vec<u8>, Counts>,
    /// files that had no name when opened (O_TMPFILE), one entry per open
    anon: Vec<Counts>,
    /// open-time names whose fd later showed another name (a rename while open)
    renamed_open: BTreeSet<Vec<u8>>,
    /// names whose fd showed "(deleted)" after the open (an unlink while open)
    unlinked_open: BTreeSet<Vec<u8>>,
    /// lines of syscalls the oracle does not count that touch root
    unmodelled: Vec<String>,
}

#[derive(Clone, Debug)]
enum FdName {
    Path(Vec<u8>),
    Anon(usize),
}

/// strace's escaping in quoted strings and `-y` paths: \\ \" \n \t \r \v \f,
/// octal \NNN (1-3 digits), hex \xHH.
fn strace_unescape(s: &[u8]) -> Vec<u8> {
    let mut out = vec![];
    let mut i = 0;
    while i < s.len() {
        if s[i] != b'\\' || i + 1 == s.len() {
            out.push(s[i]);
            i += 1;
            continue;
        }
        let c = s[i + 1];
        i += 2;
        match c {
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'v' => out.push(0x0b),
            b'f' => out.push(0x0c),
            b'x' => {
                let h = std::str::from_utf8(&s[i..(i + 2).min(s.len())]).unwrap_or("");
                out.push(u8::from_str_radix(h, 16).unwrap_or(b'?'));
                i += 2;
            }
            b'0'..=b'7' => {
                let mut v = (c - b'0') as u32;
                for _ in 0..2 {
                    if i < s.len() && (b'0'..=b'7').contains(&s[i]) {
                        v = v * 8 + (s[i] - b'0') as u32;
                        i += 1;
                    }
                }
                out.push(v as u8);
            }
            c => out.push(c), // \\ \" and anything else stand for themselves
        }
    }
    out
}

/// `FD<PATH>` at the start of `s` (with `(deleted)` after it or, in older
/// straces, ` (deleted)` inside): (fd, unescaped path, deleted, rest of s).
fn fd_path(s: &str) -> Option<(i64, Vec<u8>, bool, &str)> {
    let digits = s.bytes().take_while(|b| b.is_ascii_digit() || *b == b'-').count();
    let fd: i64 = s[..digits].parse().ok()?;
    let b = s.as_bytes();
    if b.get(digits) != Some(&b'<') {
        return None;
    }
    let mut i = digits + 1;
    // strace escapes '>' in paths (\76): the first bare '>' ends it; skip escaped bytes.
    while i < b.len() && b[i] != b'>' {
        i += if b[i] == b'\\' { 2 } else { 1 };
    }
    if i >= b.len() {
        return None;
    }
    let mut path = strace_unescape(&b[digits + 1..i]);
    let mut rest = &s[i + 1..];
    let mut deleted = false;
    if let Some(r) = rest.strip_prefix("(deleted)") {
        deleted = true;
        rest = r;
    }
    if path.ends_with(b" (deleted)") {
        path.truncate(path.len() - b" (deleted)".len());
        deleted = true;
    }
    Some((fd, path, deleted, rest))
}

/// One trace file (one thread with -ff): lines split by <unfinished ...> are
/// joined with their `<... NAME resumed>` line.
fn parse_strace_file(text: &str, root: &Path, naming: Naming, t: &mut Trace) {
    let under = |p: &[u8]| p.starts_with(bytes(root)) && p.get(bytes(root).len()) == Some(&b'/');
    let mut fds: HashMap<i64, FdName> = HashMap::new();
    let mut pending: Option<String> = None;
    for raw in text.lines() {
        // Without -ff each line starts with the pid: drop it.
        let raw = raw.trim_start_matches(|c: char| c.is_ascii_digit()).trim_start();
        let line: String = if let Some(head) = raw.strip_suffix(" <unfinished ...>") {
            pending = Some(head.to_string());
            continue;
        } else if let Some(r) = raw.strip_prefix("<... ") {
            let Some((name, rest)) = r.split_once(" resumed>") else { continue };
            match pending.take() {
                Some(head) if head.starts_with(&format!("{name}(")) => head + rest,
                _ => continue,
            }
        } else {
            raw.to_string()
        };
        let name_len = line.bytes().take_while(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_').count();
        if name_len == 0 || line.as_bytes().get(name_len) != Some(&b'(') {
            continue; // signals, exits, blank
        }
        let name = &line[..name_len];
        let Some(eq) = line.rfind(" = ") else { continue };
        let (args, ret) = (&line[name_len + 1..eq], &line[eq + 3..]);
        let ret_n: Option<i64> =
            ret.split(|c: char| !(c.is_ascii_digit() || c == '-')).next().and_then(|n| n.parse().ok());
        if UNMODELLED.contains(&name) {
            if args.contains(&*String::from_utf8_lossy(bytes(root))) {
                t.unmodelled.push(line.clone());
            }
            continue;
        }
        match name {
            "open" | "openat" | "openat2" | "creat" => {
                if let Some((fd, path, deleted, _)) = fd_path(ret) {
                    let n = if deleted && under(&path) {
                        t.anon.push(Counts::new());
                        FdName::Anon(t.anon.len() - 1)
                    } else {
                        FdName::Path(path)
                    };
                    fds.insert(fd, n);
                }
            }
            "dup" | "dup2" | "dup3" | "fcntl" | "fcntl64" => {
                if let (Some((new, path, ..)), Some((old, ..))) = (fd_path(ret), fd_path(args)) {
                    let n = fds.get(&old).cloned().unwrap_or(FdName::Path(path));
                    fds.insert(new, n);
                }
            }
            n if READS.contains(&n) || WRITES.contains(&n) || SYNCS.contains(&n) || n == "close" => {
                let Some((fd, current, deleted, _)) = fd_path(args) else {
                    if n == "close" {
                        fds.remove(&args.trim().parse().unwrap_or(-1));
                    }
                    continue;
                };
                book(t, &fds, naming, &under, (fd, current, deleted), n, ret_n);
                if n == "close" {
                    fds.remove(&fd);
                }
            }
            "sendfile" | "sendfile64" | "copy_file_range" | "splice" => {
                // sendfile(OUT, IN, ...); copy_file_range and splice(IN, OFF_IN, OUT, OFF_OUT, ...)
                let sendfile = name.starts_with("sendfile");
                let Some((fd, path, deleted, rest)) = fd_path(args) else { continue };
                let rest = rest.strip_prefix(", ").unwrap_or(rest);
                let rest = if sendfile { rest } else { rest.split_once(", ").map_or("", |r| r.1) };
                let Some((fd2, path2, deleted2, _)) = fd_path(rest) else { continue };
                let (first, second) = ((fd, path, deleted), (fd2, path2, deleted2));
                let (inf, outf) = if sendfile { (second, first) } else { (first, second) };
                let base = name.trim_end_matches("64");
                book(t, &fds, naming, &under, inf, &format!("{base}_in"), ret_n);
                book(t, &fds, naming, &under, outf, &format!("{base}_out"), ret_n);
            }
            "mmap" | "mmap2" => {
                // mmap(ADDR, LEN, PROT, FLAGS, FD, OFF): an anonymous map ignores its fd
                let a: Vec<&str> = args.splitn(5, ", ").collect();
                if a.len() < 5 || a[3].contains("MAP_ANONYMOUS") {
                    continue;
                }
                let Some((fd, path, deleted, _)) = fd_path(a[4]) else { continue };
                book(t, &fds, naming, &under, (fd, path, deleted), "mmap", ret_n);
            }
            _ => {}
        }
    }
}

/// Book one call `n` (a profile syscall name) returning `ret` on the file
/// behind `fd`, named `current` by strace's `-y`, in `t`.
fn book(
    t: &mut Trace,
    fds: &HashMap<i64, FdName>,
    naming: Naming,
    under: &impl Fn(&[u8]) -> bool,
    (fd, current, deleted): (i64, Vec<u8>, bool),
    n: &str,
    ret: Option<i64>,
) {
    let known = if naming == Naming::OpenTime { fds.get(&fd).cloned() } else { None };
    let counts = match &known {
        Some(FdName::Anon(i)) => Some(&mut t.anon[*i]),
        Some(FdName::Path(p)) if under(p) => Some(t.paths.entry(p.clone()).or_default()),
        None if under(&current) => Some(t.paths.entry(current.clone()).or_default()),
        _ => None,
    };
    if let Some(c) = counts {
        let e = c.entry(n.to_string()).or_default();
        e.0 += 1;
        e.1 += if READS.contains(&n) || WRITES.contains(&n) { ret.unwrap_or(0).max(0) as u64 } else { 0 };
    }
    // Flags, by the name the row has (the open-time one when known).
    let row_name = match &known {
        Some(FdName::Path(p)) => Some(p.clone()),
        Some(FdName::Anon(_)) => None,
        None => Some(current.clone()),
    };
    if let Some(rn) = row_name.filter(|rn| under(rn)) {
        if rn != current {
            t.renamed_open.insert(rn.clone());
        }
        if deleted {
            t.unlinked_open.insert(rn);
        }
    }
}

/// Every trace file (-ff: PREFIX.TID) in `dir`, merged.
fn parse_strace_dir(dir: &Path, root: &Path, naming: Naming) -> Trace {
    let mut t = Trace::default();
    for e in std::fs::read_dir(dir).unwrap() {
        let text = std::fs::read(e.unwrap().path()).unwrap();
        parse_strace_file(&String::from_utf8_lossy(&text), root, naming, &mut t);
    }
    t
}

#[test]
fn strace_parser_cases() {
    let root = Path::new("/w");
    let text = r#"openat(AT_FDCWD</w>, "/w/a", O_RDWR|O_CREAT, 0644) = 3</w/a>
write(3</w/a>, "abc"..., 100) = 100
pwrite64(3</w/a>, " = 7 x", 6, 0) = 6
read(3</w/a>, 0x7ffd, 10) = -1 EINTR (Interrupted system call)
--- SIGCHLD {si_signo=SIGCHLD} ---
renameat2(AT_FDCWD</w>, "/w/a", AT_FDCWD</w>, "/w/b", 0) = 0
write(3</w/b>, "x", 1) = 1
close(3</w/b>) = 0
openat(AT_FDCWD</w>, "/w/c", O_RDONLY) = 4</w/c>
pread64(4</w/c>, "",  <unfinished ...>
<... pread64 resumed>10, 0) = 10
copy_file_range(4</w/c>, [0], 3</w/b>, NULL, 9223372035781033984, 0) = 7
splice(4</w/c>, NULL, 1<pipe:[123]>, NULL, 65536, 0) = 3
splice(1<pipe:[123]>, NULL, 3</w/b>, [8], 4, SPLICE_F_MOVE) = 4
tee(1<pipe:[123]>, 2<pipe:[124]>, 10, 0) = 10
io_submit(0x7f0000, 1, [{aio_lio_opcode=IOCB_CMD_PWRITE, aio_fildes=3</w/b>, aio_nbytes=4}]) = 1
dup2(4</w/c>, 9) = 9</w/c>
write(9</w/c>(deleted), "y", 2) = 2
fsync(9</w/c>(deleted)) = 0
fdatasync(9</w/c (deleted)>) = 0
write(1<pipe:[123]>, "z", 1) = 1
write(2</dev/null>, "z", 1) = 1
read(5<socket:[9]>, "q", 1) = 1
read(6</other/w/x>, "q", 1) = 1
write(7</w/sp\76ace\40\\n\377>, "q", 3) = 3
openat(AT_FDCWD</w>, "/w", O_RDWR|O_TMPFILE, 0600) = 8</w/#12>(deleted)
writev(8</w/#12>(deleted), [{iov_base="a", iov_len=1}], 1) = 1
sendfile(10</w/o>, 8</w/#12>(deleted), NULL, 5) = 5
mmap(NULL, 4096, PROT_READ, MAP_SHARED, 10</w/o>, 0) = 0x7f0000
mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_SHARED, 4</w/c>, 0) = -1 EACCES (Permission denied)
mmap(NULL, 8192, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, 10</w/o>, 0) = 0x7f1000
mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f3000
exit_group(0) = ?
+++ exited with 0 +++
"#;
    let c = |v: &[(&str, u64, u64)]| -> Counts { v.iter().map(|(n, a, b)| (n.to_string(), (*a, *b))).collect() };
    let mut t = Trace::default();
    parse_strace_file(text, root, Naming::OpenTime, &mut t);
    assert_eq!(t.paths.len(), 5, "{:?}", t.paths.keys().map(|k| encode_path(k)).collect::<Vec<_>>());
    assert_eq!(
        t.paths[&b"/w/a".to_vec()],
        c(&[("write", 2, 101), ("pwrite64", 1, 6), ("read", 1, 0), ("close", 1, 0)])
    );
    assert_eq!(
        t.paths[&b"/w/c".to_vec()],
        c(&[
            ("pread64", 1, 10),
            ("copy_file_range_in", 1, 7),
            ("splice_in", 1, 3),
            ("write", 1, 2),
            ("fsync", 1, 0),
            ("fdatasync", 1, 0),
            ("mmap", 1, 0)
        ])
    );
    // A copy counts on both files; a pipe end is no file under the root.
    let b_copies = [("copy_file_range_out", 1, 7), ("splice_out", 1, 4)];
    assert_eq!(t.paths[&b"/w/b".to_vec()], c(&b_copies));
    // mmap: a file's map counts, with its failures; an anonymous one is no file's.
    assert_eq!(t.paths[&b"/w/o".to_vec()], c(&[("sendfile_out", 1, 5), ("mmap", 1, 0)]));
    assert_eq!(t.paths[&b"/w/sp>ace \\n\xff".to_vec()], c(&[("write", 1, 3)]));
    assert_eq!(t.anon, vec![c(&[("writev", 1, 1), ("sendfile_in", 1, 5)])]);
    assert_eq!(t.renamed_open, BTreeSet::from([b"/w/a".to_vec()]));
    assert_eq!(t.unlinked_open, BTreeSet::from([b"/w/c".to_vec()]));
    assert_eq!(t.unmodelled.len(), 1);
    // By current name, the write after the rename is b's.
    let mut t = Trace::default();
    parse_strace_file(text, root, Naming::Current, &mut t);
    assert_eq!(t.paths[&b"/w/a".to_vec()], c(&[("write", 1, 100), ("pwrite64", 1, 6), ("read", 1, 0)]));
    assert_eq!(t.paths[&b"/w/b".to_vec()], c(&[[("write", 1, 1), ("close", 1, 0)].as_slice(), &b_copies].concat()));
    assert!(t.paths.contains_key(b"/w/#12".as_slice()));
}

// ---------------------------------------------------------------- real programs against strace

/// A real program run as `sh -c SCRIPT` in WORK (its cwd) under strace inside the recording.
struct Program {
    tag: &'static str,
    /// prerequisites on PATH
    needs: &'static [&'static str],
    script: &'static str,
    /// paths (relative to WORK) or prefixes of paths that strace must show written: the workload did its job
    must_write: &'static [&'static str],
}

/// Each session a separate sqlite3 process; the same path (-wal, -journal)
/// is created and deleted by each, so its row must add up.
const SQLITE_WAL: Program = Program {
    tag: "sqlite-wal",
    needs: &["sqlite3"],
    script: "set -e
sqlite3 db 'PRAGMA journal_mode=WAL; CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT);' >/dev/null
sqlite3 db \"BEGIN; INSERT INTO t(b) VALUES (hex(zeroblob(300))); INSERT INTO t(b) VALUES ('x'); COMMIT;
  BEGIN; INSERT INTO t(b) SELECT b FROM t; COMMIT;\"
sqlite3 db 'INSERT INTO t(b) SELECT b FROM t; INSERT INTO t(b) SELECT b FROM t; INSERT INTO t(b) SELECT b FROM t;'
sqlite3 db 'BEGIN; DELETE FROM t WHERE a % 3 = 0; COMMIT; SELECT count(*), sum(length(b)) FROM t;'
sqlite3 db 'PRAGMA wal_checkpoint(TRUNCATE); SELECT count(*) FROM t;'",
    must_write: &["db", "db-wal"],
};

const SQLITE_JOURNAL: Program = Program {
    tag: "sqlite-journal",
    needs: &["sqlite3"],
    script: "set -e
sqlite3 db 'PRAGMA journal_mode=DELETE; CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT);' >/dev/null
sqlite3 db \"BEGIN; INSERT INTO t(b) VALUES (hex(zeroblob(300))); INSERT INTO t(b) VALUES ('x'); COMMIT;
  BEGIN; INSERT INTO t(b) SELECT b FROM t; COMMIT;\"
sqlite3 db 'INSERT INTO t(b) SELECT b FROM t; INSERT INTO t(b) SELECT b FROM t; INSERT INTO t(b) SELECT b FROM t;'
sqlite3 db 'BEGIN; DELETE FROM t WHERE a % 3 = 0; COMMIT; SELECT count(*), sum(length(b)) FROM t;'
sqlite3 db 'UPDATE t SET b = upper(b) WHERE a < 20; SELECT count(*) FROM t;'",
    must_write: &["db", "db-journal"],
};

/// git's lock-file + rename pattern everywhere (config, index, refs), loose
/// objects, then gc (pack-objects with threads, packed-refs, commit-graph).
const GIT: Program = Program {
    tag: "git",
    needs: &["git"],
    script: "set -e
git init -q -b main .
git config maintenance.auto false
git config gc.autoDetach false
printf 'hello\\n' > a.txt
mkdir d
seq 1 3000 > d/b.txt
git add a.txt d
git commit -q -m x
printf 'more\\n' >> a.txt
git commit -q -a -m y
git gc --quiet
git log --oneline >/dev/null",
    must_write: &[".git/config.lock", ".git/index.lock", "a.txt", "d/b.txt", ".git/objects/pack/"],
};

/// coreutils (9.x) moves file data with copy_file_range: cp of a tree, cat
/// into a new file, and cat appending to one (where copy_file_range fails
/// with EBADF on O_APPEND and cat falls back to read/write).
const CP_CAT: Program = Program {
    tag: "cp-cat",
    needs: &["cp", "cat", "seq"],
    script: "set -e
mkdir -p src/d
seq 1 200000 > src/a
seq 1 5 > src/d/b
: > src/empty
cp -r src dst
cat src/a > cat.out
cat src/d/b >> cat.out
cat src/a src/d/b > cat2.out",
    must_write: &["dst/a", "dst/d/b", "cat.out", "cat2.out"],
};

/// cwd WORK, no user or system configuration (HOME is an empty dir), fixed git identity.
fn program_env(c: &mut Command, work: &Path, home: &Path) {
    c.current_dir(work)
        .env("HOME", home)
        .env("LC_ALL", "C")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com");
}

/// Record `strace -f -ff -y -qq -o DIR/s/t sh -c SCRIPT` (cwd DIR/w) and compare the profile with strace:
/// per path under DIR/w, the same row set (rows with I/O), one row per path, exact calls and
/// bytes of every read/write/fsync syscall; per strace output file, write_bytes = its size.
fn program(prog: &Program, strategy: &str, base: &Path, tag: &str) -> Vec<String> {
    for n in prog.needs {
        which(n);
    }
    let dir = TempDir::new_in(base, tag);
    let (work, out, home) = (dir.path().join("w"), dir.path().join("s"), dir.path().join("home"));
    for d in [&work, &out, &home] {
        std::fs::create_dir(d).unwrap();
    }
    let t_prefix: OsString = out.join("t").into_os_string();
    let mut argv: Vec<&OsStr> = ["strace", "-f", "-ff", "-y", "-qq", "-o"].map(OsStr::new).to_vec();
    argv.push(&t_prefix);
    argv.extend(["sh", "-c", prog.script].map(OsStr::new));
    let p = record(strategy, &dir.path().join("profile.json"), &argv, |c| program_env(c, &work, &home));
    let t = parse_strace_dir(&out, &work, Naming::Current);
    let what = format!("{} with {strategy}", prog.tag);
    // The oracle's own limits: a workload outside them is a broken test, not a recorder bug.
    assert!(t.unmodelled.is_empty(), "{what}: syscalls the oracle does not count: {:#?}", t.unmodelled);
    let want: BTreeMap<String, &Counts> =
        t.paths.iter().filter(|(_, c)| io_calls(c) > 0).map(|(p, c)| (encode_path(p), c)).collect();
    for m in prog.must_write {
        let full = encoded_dir(&work) + m;
        assert!(
            want.iter().any(|(p, c)| p.starts_with(&full) && sum(c, WRITES).0 > 0),
            "{what}: strace saw no write to {m}: the workload did not run as intended; strace saw {:?}",
            want.keys().collect::<Vec<_>>()
        );
    }
    compare_program(&p, &t, &work, &out, strategy).into_iter().map(|m| format!("{what}: {m}")).collect()
}

/// The profile against strace's view (see [`program`]); returns the mismatches.
fn compare_program(p: &Value, t: &Trace, work: &Path, out: &Path, strategy: &str) -> Vec<String> {
    let want: BTreeMap<String, &Counts> =
        t.paths.iter().filter(|(_, c)| io_calls(c) > 0).map(|(p, c)| (encode_path(p), c)).collect();
    let mut bad = vec![];
    check_header(p, strategy, &mut bad);
    let mut rows: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for f in files(p) {
        rows.entry(path_of(f).to_string()).or_default().push(f);
    }
    // Rows are keyed by absolute path (git and the shell open relative ones).
    for p in rows.keys().filter(|p| !p.starts_with('/')) {
        bad.push(format!("{p}: a row whose path is not absolute"));
    }
    let wdir = encoded_dir(work);
    let got: BTreeSet<&String> = rows
        .iter()
        .filter(|(p, fs)| p.starts_with(&wdir) && fs.iter().any(|f| io_calls(&row_counts(f)) > 0))
        .map(|(p, _)| p)
        .collect();
    let want_set: BTreeSet<&String> = want.keys().collect();
    for p in got.difference(&want_set) {
        bad.push(format!(
            "{p}: in the profile, strace saw no I/O: {:?}",
            rows[*p].iter().map(|f| brief(f)).collect::<Vec<_>>()
        ));
    }
    for p in want_set.difference(&got) {
        bad.push(format!("{p}: strace saw {:?}, not in the profile", want[*p]));
    }
    for (path, c) in &want {
        let Some(fs) = rows.get(path) else { continue };
        if fs.len() != 1 {
            bad.push(format!(
                "{path}: {} rows, want 1: {:?}",
                fs.len(),
                fs.iter().map(|f| brief(f)).collect::<Vec<_>>()
            ));
            continue;
        }
        let f = fs[0];
        let got = row_counts(f);
        for n in READS.iter().chain(WRITES).chain(SYNCS) {
            let (g, w) = (got.get(*n).copied().unwrap_or_default(), c.get(*n).copied().unwrap_or_default());
            if g != w {
                bad.push(format!("{path}: {n} (calls, bytes): got {g:?}, strace {w:?}"));
            }
        }
        for (field, w) in [("read_bytes", sum(c, READS).1), ("write_bytes", sum(c, WRITES).1)] {
            if f[field] != w {
                bad.push(format!("{path}: {field}: got {}, strace {w}", f[field]));
            }
        }
        if f["fsync"]["calls"] != sum(c, SYNCS).0 {
            bad.push(format!("{path}: fsync.calls: got {}, strace {}", f["fsync"]["calls"], sum(c, SYNCS).0));
        }
        if f["mntns"] != host_mntns() || f["path_truncated"] != false {
            bad.push(format!("{path}: mntns {} path_truncated {}", f["mntns"], f["path_truncated"]));
        }
    }
    // strace's output files: written by strace itself, which strace does not trace.
    let sdir = encoded_dir(out);
    let mut outs = BTreeSet::new();
    for e in std::fs::read_dir(out).unwrap() {
        let e = e.unwrap();
        let (name, size) = (encode_path(bytes(&e.path())), e.metadata().unwrap().len());
        let fs = rows.get(&name).map(|v| v.as_slice()).unwrap_or(&[]);
        let written: Vec<u64> = fs.iter().map(|f| f["write_bytes"].as_u64().unwrap_or(0)).collect();
        if (size > 0 && written != [size]) || (size == 0 && written.iter().any(|w| *w > 0)) {
            bad.push(format!("strace output {name}: {size} bytes, rows' write_bytes {written:?}"));
        }
        outs.insert(name);
    }
    for p in rows.keys().filter(|p| p.starts_with(&sdir) && !outs.contains(*p)) {
        bad.push(format!("{p}: a row under strace's output dir that is no file there"));
    }
    if !bad.is_empty() && !t.renamed_open.is_empty() {
        bad.push(format!(
            "(hint: strace's -y names changed under open fds: {:?})",
            t.renamed_open.iter().map(|p| encode_path(p)).collect::<Vec<_>>()
        ));
    }
    bad
}

fn program_test(prog: &Program, strategy: &str) {
    let bad = program(prog, strategy, &std::env::temp_dir(), &format!("{}-{strategy}", prog.tag));
    verdict(&format!("{} with {strategy}", prog.tag), &bad);
}

#[test]
fn sqlite_wal_tp_btf() {
    program_test(&SQLITE_WAL, "tp_btf");
}

#[test]
fn sqlite_wal_raw_tp() {
    program_test(&SQLITE_WAL, "raw_tp");
}

#[test]
fn sqlite_wal_tracepoint() {
    program_test(&SQLITE_WAL, "tracepoint");
}

#[test]
fn sqlite_wal_legacy() {
    program_test(&SQLITE_WAL, "legacy");
}

#[test]
fn sqlite_journal_raw_tp() {
    program_test(&SQLITE_JOURNAL, "raw_tp");
}

#[test]
fn sqlite_journal_tracepoint() {
    program_test(&SQLITE_JOURNAL, "tracepoint");
}

#[test]
fn sqlite_journal_legacy() {
    program_test(&SQLITE_JOURNAL, "legacy");
}

#[test]
fn git_tp_btf() {
    program_test(&GIT, "tp_btf");
}

#[test]
fn git_raw_tp() {
    program_test(&GIT, "raw_tp");
}

#[test]
fn git_tracepoint() {
    program_test(&GIT, "tracepoint");
}

#[test]
fn git_legacy() {
    program_test(&GIT, "legacy");
}

#[test]
fn cp_cat_tp_btf() {
    program_test(&CP_CAT, "tp_btf");
}

#[test]
fn cp_cat_raw_tp() {
    program_test(&CP_CAT, "raw_tp");
}

#[test]
fn cp_cat_tracepoint() {
    program_test(&CP_CAT, "tracepoint");
}

#[test]
fn cp_cat_legacy() {
    program_test(&CP_CAT, "legacy");
}

/// As churn_legacy_under_cpu_load, with sqlite's re-created -wal file.
#[test]
fn sqlite_wal_legacy_under_cpu_load() {
    let _hogs = [busy(), busy()];
    let bad = program(&SQLITE_WAL, "legacy", &std::env::temp_dir(), "sqlite-wal-legacy-load");
    verdict("sqlite-wal with legacy under load", &bad);
}

/// The oracle itself on the real programs, without iotrace: no file is
/// renamed while open and booking by open-time or current names gives the
/// same counts (so strace's `-y` names are the rows' names), no O_TMPFILE,
/// nothing unmodelled.
#[test]
fn strace_oracle_fits_the_programs() {
    for prog in [&SQLITE_WAL, &SQLITE_JOURNAL, &GIT, &CP_CAT] {
        let dir = TempDir::new(&format!("oracle-{}", prog.tag));
        let (work, out, home) = (dir.path().join("w"), dir.path().join("s"), dir.path().join("home"));
        for d in [&work, &out, &home] {
            std::fs::create_dir(d).unwrap();
        }
        let mut cmd = Command::new("strace");
        cmd.args(["-f", "-ff", "-y", "-qq", "-o"]).arg(out.join("t")).args(["sh", "-c", prog.script]);
        program_env(cmd.stdin(Stdio::null()), &work, &home);
        ok(&mut cmd);
        let cur = parse_strace_dir(&out, &work, Naming::Current);
        let open = parse_strace_dir(&out, &work, Naming::OpenTime);
        assert!(cur.unmodelled.is_empty(), "{}: {:?}", prog.tag, cur.unmodelled);
        assert!(cur.anon.is_empty() && open.anon.is_empty(), "{}: O_TMPFILE files: {:?}", prog.tag, open.anon);
        assert_eq!(
            open.renamed_open.iter().map(|p| encode_path(p)).collect::<Vec<_>>(),
            Vec::<String>::new(),
            "{}: renamed while open",
            prog.tag
        );
        let io = |t: &Trace| -> BTreeMap<Vec<u8>, Counts> {
            t.paths
                .iter()
                .map(|(p, c)| {
                    (p.clone(), c.iter().filter(|(k, _)| *k != "close").map(|(k, v)| (k.clone(), *v)).collect())
                })
                .filter(|(_, c): &(Vec<u8>, Counts)| !c.is_empty())
                .collect()
        };
        assert_eq!(io(&cur), io(&open), "{}: current and open-time names disagree", prog.tag);
    }
}

// ---------------------------------------------------------------- the checkers themselves

/// A row as a correct recorder writes it.
fn synth_row(
    path: &str,
    c: &Counts,
    comm: &str,
    renamed: bool,
    unlinked: bool,
    inodes: &BTreeSet<(String, u64)>,
) -> Value {
    let sc: serde_json::Map<String, Value> =
        c.iter().map(|(k, (n, b))| (k.clone(), json!({"calls": n, "errors": 0, "bytes": b}))).collect();
    json!({
        "mntns": host_mntns(), "path": path, "path_truncated": false, "renamed": renamed, "unlinked": unlinked,
        "unnamed": false,
        "inodes": inodes.iter().map(|(d, i)| json!({"dev": d, "ino": i})).collect::<Vec<_>>(),
        "comms": [comm], "read_bytes": sum(c, READS).1, "write_bytes": sum(c, WRITES).1,
        "syscalls": sc, "fsync": {"calls": sum(c, SYNCS).0},
    })
}

fn synth_profile(strategy: &str, rows: Vec<Value>) -> Value {
    json!({
        "version": 2, "strategy": strategy, "files": rows,
        "lost": {"inflight_full": 0, "map_full": 0, "path_events": 0},
    })
}

/// The row with this path (the first of several).
fn row_mut<'a>(p: &'a mut Value, path: &str) -> &'a mut Value {
    p["files"].as_array_mut().unwrap().iter_mut().find(|f| f["path"] == path).unwrap_or_else(|| panic!("{path}"))
}

fn remove_row(p: &mut Value, path: &str) -> Value {
    let rows = p["files"].as_array_mut().unwrap();
    let i = rows.iter().position(|f| f["path"] == path).unwrap_or_else(|| panic!("{path}"));
    rows.remove(i)
}

/// Each mutation of a correct profile must give a mismatch containing `expect`.
fn assert_detects(what: &str, bad: Vec<String>, expect: &str) {
    assert!(bad.iter().any(|m| m.contains(expect)), "{what}: want a mismatch with {expect:?}, got {bad:#?}");
}

/// check_churn passes a profile that follows the rules to the letter (from a
/// real churn run's manifest) and fails each way the old recorder was wrong:
/// without this, a checker bug could fail a correct recorder or pass a wrong one.
#[test]
fn churn_checker_self_test() {
    let dir = TempDir::new("churn-self");
    let bin = build_workload(dir.path(), "churn");
    let work = dir.path().join("work");
    std::fs::create_dir(&work).unwrap();
    let manifest = dir.path().join("manifest");
    ok(Command::new(&bin).arg(&work).arg(&manifest));
    let wants = parse_manifest(&std::fs::read_to_string(&manifest).unwrap());
    let size = std::fs::metadata(&manifest).unwrap().len();
    let wdir = encoded_dir(&work);
    let good = |strategy: &str| {
        let mut rows: Vec<Value> = wants
            .iter()
            .map(|w| {
                let path = match &w.path {
                    Some(p) => encode_path(p),
                    None => format!("{wdir}#{}", w.inodes.first().unwrap().1),
                };
                let mut r = synth_row(&path, &w.counts, "churn", w.renamed, w.unlinked, &w.inodes);
                r["unnamed"] = json!(w.path.is_none());
                r
            })
            .collect();
        let c = Counts::from([("write".to_string(), (1, size)), ("close".to_string(), (1, 0))]);
        rows.push(synth_row(&encode_path(bytes(&manifest)), &c, "churn", false, false, &BTreeSet::new()));
        synth_profile(strategy, rows)
    };
    let check = |p: &Value, strategy: &str| check_churn(p, strategy, &wants, &work, &manifest);
    assert_eq!(check(&good("raw_tp"), "raw_tp"), Vec::<String>::new());
    // Legacy: flags and inodes are not asserted (LEGACY_*), everything else is.
    let mut p = good("legacy");
    for f in p["files"].as_array_mut().unwrap() {
        f["renamed"] = json!(false);
        f["unnamed"] = json!(false);
        f["inodes"] = json!([]);
        if f["path"].as_str().unwrap().contains('#') {
            f["path"] = json!(wdir.trim_end_matches('/')); // what an open of the directory names
        }
    }
    assert_eq!(check(&p, "legacy"), Vec::<String>::new());
    assert_detects(
        "legacy version",
        check(
            &{
                let mut q = p.clone();
                q["version"] = json!(1);
                q
            },
            "legacy",
        ),
        "version",
    );

    let n = |s: &str| format!("{wdir}{s}");
    // Rows merged by a recycled inode number (what the inode-keyed recorder did).
    let mut p = good("raw_tp");
    let gone = remove_row(&mut p, &n("tmp_3"));
    let t2 = row_mut(&mut p, &n("tmp_2"));
    t2["syscalls"]["write"]["calls"] = json!(2);
    t2["write_bytes"] = json!(t2["write_bytes"].as_u64().unwrap() + gone["write_bytes"].as_u64().unwrap());
    let bad = check(&p, "raw_tp");
    assert_detects("merged", bad.clone(), "tmp_3: 0 rows");
    assert_detects("merged", bad, "tmp_2: syscalls");
    // A re-created path split into one row per incarnation.
    let mut p = good("raw_tp");
    let extra = row_mut(&mut p, &n("db-wal")).clone();
    p["files"].as_array_mut().unwrap().push(extra);
    assert_detects("split", check(&p, "raw_tp"), "db-wal: 2 rows");
    // Flags.
    let mut p = good("raw_tp");
    row_mut(&mut p, &n("ren_old"))["renamed"] = json!(false);
    row_mut(&mut p, &n("unl_early"))["unlinked"] = json!(false);
    let bad = check(&p, "raw_tp");
    assert_detects("renamed", bad.clone(), "ren_old: renamed");
    assert_detects("unlinked", bad, "unl_early: unlinked");
    // The two O_TMPFILE files in one row.
    let mut p = good("raw_tp");
    let anon: Vec<Value> = files(&p).iter().filter(|f| path_of(f).contains('#')).cloned().collect();
    assert_eq!(anon.len(), 2);
    for a in &anon {
        remove_row(&mut p, path_of(a));
    }
    let mut merged = anon[0].clone();
    merged["syscalls"]["write"]["calls"] = json!(3);
    p["files"].as_array_mut().unwrap().push(merged);
    assert_detects("anon merged", check(&p, "raw_tp"), "no row of its own");
    let mut p = good("raw_tp");
    let a = files(&p).iter().find(|f| path_of(f).contains('#')).unwrap()["path"].as_str().unwrap().to_string();
    row_mut(&mut p, &a)["unnamed"] = json!(false);
    assert_detects("unnamed", check(&p, "raw_tp"), "unnamed: got false");
    // A lossy name: 0xff written as U+FFFD collides with the real U+FFFD name.
    let mut p = good("raw_tp");
    row_mut(&mut p, &n("u_\\xff"))["path"] = json!(n("u_\u{fffd}"));
    assert_detects("lossy", check(&p, "raw_tp"), "u_\u{fffd}: 2 rows");
    // An inode missing; a row too many; a relative name.
    let mut p = good("raw_tp");
    row_mut(&mut p, &n("config"))["inodes"].as_array_mut().unwrap().pop();
    assert_detects("inodes", check(&p, "raw_tp"), "config: inodes");
    let mut p = good("raw_tp");
    row_mut(&mut p, &n("rel_1"))["path"] = json!("rel_1");
    let bad = check(&p, "raw_tp");
    assert_detects("relative", bad.clone(), "rel_1: 0 rows");
    assert_detects("relative", bad, "unexpected row: \"rel_1\"");
}

/// compare_program passes the profile a correct recorder writes for a real
/// sqlite run (built from strace's view of it) and fails wrong ones.
#[test]
fn program_checker_self_test() {
    let dir = TempDir::new("program-self");
    let (work, out, home) = (dir.path().join("w"), dir.path().join("s"), dir.path().join("home"));
    for d in [&work, &out, &home] {
        std::fs::create_dir(d).unwrap();
    }
    let mut cmd = Command::new("strace");
    cmd.args(["-f", "-ff", "-y", "-qq", "-o"]).arg(out.join("t")).args(["sh", "-c", SQLITE_JOURNAL.script]);
    program_env(cmd.stdin(Stdio::null()), &work, &home);
    ok(&mut cmd);
    let t = parse_strace_dir(&out, &work, Naming::Current);
    let mut rows: Vec<Value> =
        t.paths.iter().map(|(p, c)| synth_row(&encode_path(p), c, "sqlite3", false, false, &BTreeSet::new())).collect();
    for e in std::fs::read_dir(&out).unwrap() {
        let e = e.unwrap();
        let c = Counts::from([("write".to_string(), (1, e.metadata().unwrap().len()))]);
        rows.push(synth_row(&encode_path(bytes(&e.path())), &c, "strace", false, false, &BTreeSet::new()));
    }
    let good = synth_profile("raw_tp", rows);
    let check = |p: &Value| compare_program(p, &t, &work, &out, "raw_tp");
    assert_eq!(check(&good), Vec::<String>::new());
    let wdir = encoded_dir(&work);
    let n = |s: &str| format!("{wdir}{s}");

    let mut p = good.clone();
    let db = row_mut(&mut p, &n("db"));
    db["syscalls"]["pwrite64"]["bytes"] = json!(db["syscalls"]["pwrite64"]["bytes"].as_u64().unwrap() + 1);
    assert_detects("bytes", check(&p), "db: pwrite64");
    let mut p = good.clone();
    let extra = row_mut(&mut p, &n("db-journal")).clone();
    p["files"].as_array_mut().unwrap().push(extra);
    assert_detects("split", check(&p), "db-journal: 2 rows");
    let mut p = good.clone();
    remove_row(&mut p, &n("db"));
    assert_detects("missing", check(&p), "not in the profile");
    let mut p = good.clone();
    row_mut(&mut p, &n("db"))["path"] = json!("db");
    assert_detects("relative", check(&p), "db: a row whose path is not absolute");
    let mut p = good.clone();
    let t0 = files(&good).iter().find(|f| path_of(f).starts_with(&encoded_dir(&out))).unwrap();
    remove_row(&mut p, path_of(t0));
    assert_detects("strace output", check(&p), "strace output");
    let mut p = good.clone();
    p["lost"]["path_events"] = json!(1);
    assert_detects("lost", check(&p), "profile lost");
}
