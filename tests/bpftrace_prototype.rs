//! Runs the bpftrace prototype `scripts/iotrace.bt` (bpftrace 0.17, syscall
//! tracepoints only) against workloads with known sizes and checks the
//! printed maps exactly.
//!
//! Workloads, all under one unique comm `iotbt_<pid>` (the script's COMM
//! filter):
//! * `dd` started through a symlink named like the comm (comm = basename of
//!   the exec'd path): write, read, fsync. coreutils dd open()s its files and
//!   dup2()s them onto fd 0/1, so this also checks the dup2 path tracking.
//! * a thread of this test process named like the comm: read, readv, pread64,
//!   preadv, preadv2, write, writev, pwrite64, pwritev, pwritev2, fsync,
//!   fdatasync, EBADF/EINVAL errors, fcntl(F_DUPFD_CLOEXEC) path copy, and
//!   close + fd reuse by a socket.
//! * a plain `dd` (comm "dd") that must not appear (COMM filter).
//!
//! Skips (passes) only when `bpftrace` is not installed. Needs root.

mod common;

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, IoSlice, IoSliceMut, Read, Seek, SeekFrom, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::FileExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use common::find_in_path;

// The syscalls themselves, not the C library's wrappers: musl's preadv2 and
// pwritev2 with no flags make a preadv/pwritev syscall. IoSlice and
// IoSliceMut are documented to be ABI compatible with struct iovec. The
// 64-bit offset is (pos_l, pos_h) = (offset, 0) on x86_64.
unsafe fn preadv(fd: i32, iov: *const IoSliceMut<'_>, iovcnt: i32, offset: i64) -> isize {
    libc::syscall(libc::SYS_preadv, fd, iov, iovcnt, offset, 0) as isize
}
unsafe fn preadv2(fd: i32, iov: *const IoSliceMut<'_>, iovcnt: i32, offset: i64, flags: i32) -> isize {
    libc::syscall(libc::SYS_preadv2, fd, iov, iovcnt, offset, 0, flags) as isize
}
unsafe fn pwritev(fd: i32, iov: *const IoSlice<'_>, iovcnt: i32, offset: i64) -> isize {
    libc::syscall(libc::SYS_pwritev, fd, iov, iovcnt, offset, 0) as isize
}
unsafe fn pwritev2(fd: i32, iov: *const IoSlice<'_>, iovcnt: i32, offset: i64, flags: i32) -> isize {
    libc::syscall(libc::SYS_pwritev2, fd, iov, iovcnt, offset, 0, flags) as isize
}

const EBADF: i64 = 9;
const EINVAL: i64 = 22;

// ---------------------------------------------------------------- output parsing

#[derive(Debug, Clone, PartialEq)]
enum Val {
    Int(i64),
    /// Non-zero buckets of a hist(), e.g. "[4K, 8K)" -> 100.
    Hist(BTreeMap<String, u64>),
}

/// `@name[k1, k2, ...]: value` lines and hist() blocks, keyed by (map, keys).
fn parse_maps(out: &str) -> BTreeMap<(String, Vec<String>), Val> {
    let mut maps = BTreeMap::new();
    let mut cur_hist: Option<(String, Vec<String>)> = None;
    for line in out.lines() {
        if line.starts_with('@') {
            cur_hist = None;
            let Some(colon) = line.rfind("]:") else {
                continue;
            };
            let Some(open) = line.find('[') else { continue };
            let name = line[1..open].to_string();
            let keys: Vec<String> = line[open + 1..colon].split(", ").map(str::to_string).collect();
            let rest = line[colon + 2..].trim();
            if rest.is_empty() {
                maps.insert((name.clone(), keys.clone()), Val::Hist(BTreeMap::new()));
                cur_hist = Some((name, keys));
            } else if let Ok(v) = rest.parse::<i64>() {
                maps.insert((name, keys), Val::Int(v));
            }
        } else if let (Some(k), true) = (&cur_hist, line.starts_with('[')) {
            // "[4K, 8K)             100 |@@@@...|"
            let Some(close) = line.find([')', ']']) else {
                continue;
            };
            let bucket = line[..=close].to_string();
            let n: u64 = line[close + 1..].split_whitespace().next().and_then(|s| s.parse().ok()).unwrap_or(0);
            if let Some(Val::Hist(h)) = maps.get_mut(k) {
                if n != 0 {
                    h.insert(bucket, n);
                }
            }
        } else {
            cur_hist = None;
        }
    }
    maps
}

struct Report {
    maps: BTreeMap<(String, Vec<String>), Val>,
    full: String,
}

impl Report {
    fn fail(&self, msg: &str) -> ! {
        panic!("{msg}\n\n===== full bpftrace output =====\n{}\n===== end of bpftrace output =====", self.full)
    }

    fn get(&self, map: &str, keys: &[String]) -> Option<&Val> {
        self.maps.get(&(map.to_string(), keys.to_vec()))
    }

    /// Exact integer value of @map[keys].
    fn int(&self, map: &str, keys: &[String], want: i64) {
        match self.get(map, keys) {
            Some(Val::Int(v)) if *v == want => {}
            other => self.fail(&format!("@{map}[{}]: want {want}, got {other:?}", keys.join(", "))),
        }
    }

    /// Exact set of non-zero buckets of hist @map[keys].
    fn hist(&self, map: &str, keys: &[String], want: &[(&str, u64)]) {
        let want: BTreeMap<String, u64> = want.iter().map(|(b, n)| (b.to_string(), *n)).collect();
        match self.get(map, keys) {
            Some(Val::Hist(h)) if *h == want => {}
            other => self.fail(&format!("@{map}[{}]: want hist {want:?}, got {other:?}", keys.join(", "))),
        }
    }

    /// All entries of @map whose key contains `path` as its 4th element
    /// ([comm, pid, fd, path, ...]).
    fn for_path(&self, map: &str, path: &str) -> Vec<(&Vec<String>, &Val)> {
        self.maps
            .iter()
            .filter(|((m, k), _)| m == map && k.get(3).map(String::as_str) == Some(path))
            .map(|((_, k), v)| (k, v))
            .collect()
    }

    /// The single entry of @map for `path` must belong to comm/pid and equal `want`.
    fn only_for_path(&self, map: &str, comm: &str, pid: u32, path: &str, want: &Val) {
        let e = self.for_path(map, path);
        if e.len() != 1 {
            self.fail(&format!("@{map}: want exactly one entry for path {path}, got {e:?}"));
        }
        let (k, v) = e[0];
        if k[0] != comm || k[1] != pid.to_string() {
            self.fail(&format!("@{map}[{}]: want comm {comm} pid {pid}", k.join(", ")));
        }
        if v != want {
            self.fail(&format!("@{map}[{}]: want {want:?}, got {v:?}", k.join(", ")));
        }
    }
}

fn hist_of(b: &[(&str, u64)]) -> Val {
    Val::Hist(b.iter().map(|(k, n)| (k.to_string(), *n)).collect())
}

// ---------------------------------------------------------------- helpers

struct TempDir(PathBuf);
impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Kills bpftrace (SIGKILL) if the test panics before stopping it.
struct Tracer(Option<Child>);
impl Drop for Tracer {
    fn drop(&mut self) {
        if let Some(c) = self.0.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn ensure_tracefs() {
    if Path::new("/sys/kernel/tracing/events").exists() || Path::new("/sys/kernel/debug/tracing/events").exists() {
        return;
    }
    let st = Command::new("mount").args(["-t", "tracefs", "nodev", "/sys/kernel/tracing"]).status();
    eprintln!("bpftrace_prototype: tracefs was not mounted; mount -t tracefs: {st:?}");
}

/// Runs `prog args` and requires success; returns its pid.
fn run_ok(prog: &Path, args: &[String]) -> u32 {
    let child = Command::new(prog)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {prog:?}: {e}"));
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{prog:?} {args:?} failed: {}\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    pid
}

/// fds and paths used by the in-process workload, for the assertions.
struct ThreadIo {
    fd_v: i32,
    fd_clone: i32,
    fd_wo: i32,
    fd_ro: i32,
    fd_sock: i32,
}

/// The in-process workload; runs on a thread whose comm is the filter comm.
/// Every call's size is fixed so the expected maps are exact (see asserts).
fn thread_workload(v: &Path) -> ThreadIo {
    let mut f = OpenOptions::new().read(true).write(true).create(true).truncate(true).open(v).unwrap();
    let fd_v = f.as_raw_fd();
    // write: 2 x 5000 -> [4K, 8K)
    for _ in 0..2 {
        assert_eq!((&f).write(&[b'a'; 5000]).unwrap(), 5000);
    }
    // writev: 4 x (100 + 200) -> [256, 512)
    for _ in 0..4 {
        let n = f.write_vectored(&[IoSlice::new(&[b'b'; 100]), IoSlice::new(&[b'c'; 200])]).unwrap();
        assert_eq!(n, 300);
    }
    // pwrite64: 5 x 3000 -> [2K, 4K)
    for _ in 0..5 {
        assert_eq!(f.write_at(&[b'd'; 3000], 0).unwrap(), 3000);
    }
    // pwritev: 3 x (1000 + 1000) -> [1K, 2K)
    let (a, b) = ([b'e'; 1000], [b'f'; 1000]);
    for _ in 0..3 {
        let iov = [IoSlice::new(&a), IoSlice::new(&b)];
        assert_eq!(unsafe { pwritev(fd_v, iov.as_ptr(), 2, 100) }, 2000);
    }
    // pwritev2: 2 x (8192 + 8192) -> [16K, 32K); file is now 16384 bytes
    let big = vec![b'g'; 8192];
    for _ in 0..2 {
        let iov = [IoSlice::new(&big), IoSlice::new(&big)];
        assert_eq!(unsafe { pwritev2(fd_v, iov.as_ptr(), 2, 0, 0) }, 16384);
    }
    f.sync_data().unwrap(); // fdatasync x2
    f.sync_data().unwrap();
    f.sync_all().unwrap(); // fsync x1

    f.seek(SeekFrom::Start(0)).unwrap(); // lseek: not traced
                                         // read: 6 x 7 -> [4, 8)
    for _ in 0..6 {
        let mut buf = [0u8; 7];
        assert_eq!(f.read(&mut buf).unwrap(), 7);
    }
    // readv: 3 x (64 + 64) -> [128, 256)
    for _ in 0..3 {
        let (mut x, mut y) = ([0u8; 64], [0u8; 64]);
        let n = f.read_vectored(&mut [IoSliceMut::new(&mut x), IoSliceMut::new(&mut y)]).unwrap();
        assert_eq!(n, 128);
    }
    // pread64: 2 x 4096 -> [4K, 8K), 1 x EOF -> [0], 1 x EINVAL (offset -1)
    let mut page = vec![0u8; 4096];
    for _ in 0..2 {
        assert_eq!(f.read_at(&mut page, 0).unwrap(), 4096);
    }
    assert_eq!(f.read_at(&mut page, 16384).unwrap(), 0);
    let e = f.read_at(&mut page, u64::MAX).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(EINVAL as i32), "pread64 at offset -1: {e}");
    // preadv: 1 x (10 + 20 + 30) -> [32, 64)
    {
        let (mut x, mut y, mut z) = ([0u8; 10], [0u8; 20], [0u8; 30]);
        let iov = [IoSliceMut::new(&mut x), IoSliceMut::new(&mut y), IoSliceMut::new(&mut z)];
        assert_eq!(unsafe { preadv(fd_v, iov.as_ptr(), 3, 0) }, 60);
    }
    // preadv2: 5 x (256 + 256) -> [512, 1K)
    for _ in 0..5 {
        let (mut x, mut y) = ([0u8; 256], [0u8; 256]);
        let iov = [IoSliceMut::new(&mut x), IoSliceMut::new(&mut y)];
        assert_eq!(unsafe { preadv2(fd_v, iov.as_ptr(), 2, 0, 0) }, 512);
    }
    // fcntl(F_DUPFD_CLOEXEC) copies the path: pread64 2 x 300 on the clone -> [256, 512)
    let clone = f.try_clone().unwrap();
    let fd_clone = clone.as_raw_fd();
    for _ in 0..2 {
        assert_eq!(clone.read_at(&mut page[..300], 0).unwrap(), 300);
    }
    // errors: read on a write-only fd -> 2 x EBADF, write on a read-only fd -> 3 x EBADF
    let wo = OpenOptions::new().write(true).open(v).unwrap();
    let fd_wo = wo.as_raw_fd();
    for _ in 0..2 {
        let e = (&wo).read(&mut page[..10]).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(EBADF as i32), "read on O_WRONLY fd: {e}");
    }
    let ro = File::open(v).unwrap();
    let fd_ro = ro.as_raw_fd();
    for _ in 0..3 {
        let e = (&ro).write(b"x").unwrap_err();
        assert_eq!(e.raw_os_error(), Some(EBADF as i32), "write on O_RDONLY fd: {e}");
    }
    // close, then reuse the fd number for a socket: its write must not be
    // attributed to the closed file.
    drop(ro);
    // (UnixStream's own write() is send(2); as a File it is write(2).)
    let (sock, _peer) = UnixStream::pair().unwrap();
    let sock = File::from(OwnedFd::from(sock));
    let fd_sock = sock.as_raw_fd();
    assert_eq!((&sock).write(b"hello").unwrap(), 5);
    drop(wo);
    drop(clone);
    drop(f);
    ThreadIo { fd_v, fd_clone, fd_wo, fd_ro, fd_sock }
}

// ---------------------------------------------------------------- the test

#[test]
fn bpftrace_prototype_exact_counts() {
    let t0 = Instant::now();
    let Some(bpftrace) = find_in_path("bpftrace") else {
        eprintln!("SKIPPED bpftrace_prototype: `bpftrace` is not installed (apt-get install bpftrace)");
        return;
    };
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/iotrace.bt");
    assert!(script.is_file(), "{script:?} missing");
    let dd = find_in_path("dd").expect("dd (coreutils) not found in PATH");
    ensure_tracefs();

    let mypid = std::process::id();
    // Unique comm for the filter, <= 13 chars (comm holds 15).
    let comm = format!("iotbt_{mypid}");
    // bpftrace 0.17 str() keeps 63 bytes: keep the paths well below that.
    let mut base = std::env::temp_dir();
    if base.as_os_str().len() > 30 {
        base = PathBuf::from("/tmp");
    }
    let dir = TempDir(base.join(format!("iotbt-{mypid}")));
    let _ = fs::remove_dir_all(&dir.0);
    fs::create_dir_all(&dir.0).unwrap();
    let p = |n: &str| dir.0.join(n).to_str().unwrap().to_string();
    let (f, g, v, neg) = (p("f"), p("g"), p("v"), p("neg"));
    assert!(v.len() < 60, "temp path {v} too long for bpftrace's 64-byte strings");
    // comm of an exec is the basename of the path passed to execve: a symlink
    // named like the comm gives dd that comm without copying the binary.
    let dd_link = dir.0.join(&comm);
    std::os::unix::fs::symlink(&dd, &dd_link).unwrap();

    // ---- start bpftrace and wait until its probes are attached
    let mut tracer = Tracer(Some(
        Command::new(&bpftrace)
            .arg(&script)
            .arg("0")
            .arg(&comm)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {bpftrace:?}: {e}")),
    ));
    let child = tracer.0.as_mut().unwrap();
    let bt_pid = child.id();
    let (tx, rx) = mpsc::channel::<String>();
    let stdout = child.stdout.take().unwrap();
    let out_reader = thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut stderr = child.stderr.take().unwrap();
    let err_reader = thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    // bpftrace prints "Attaching N probes..." *before* attaching. BEGIN runs
    // before the probes are attached too, but 0.17 only starts reading the
    // perf buffer (and so prints BEGIN's printf) after attaching all of them
    // (BPFtrace::run), so the BEGIN banner on stdout means "attached".
    let mut lines: Vec<String> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(l) => {
                let ready = l.starts_with("iotrace.bt: tracing");
                lines.push(l);
                if ready {
                    break;
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) if Instant::now() < deadline => {}
            Err(e) => {
                let _ = tracer.0.as_mut().unwrap().kill();
                let _ = tracer.0.as_mut().unwrap().wait();
                let err = err_reader.join().unwrap_or_default();
                panic!("bpftrace did not attach ({e:?})\nstdout:\n{}\nstderr:\n{err}", lines.join("\n"));
            }
        }
    }
    let t_attached = t0.elapsed();

    // ---- workloads
    let dd_write = run_ok(&dd_link, &["if=/dev/zero".into(), format!("of={f}"), "bs=4096".into(), "count=100".into()]);
    let dd_read = run_ok(&dd_link, &[format!("if={f}"), "of=/dev/null".into(), "bs=1024".into(), "count=50".into()]);
    let dd_fsync = run_ok(
        &dd_link,
        &["if=/dev/zero".into(), format!("of={g}"), "bs=512".into(), "count=7".into(), "conv=fsync".into()],
    );
    let dd_other = run_ok(&dd, &["if=/dev/zero".into(), format!("of={neg}"), "bs=512".into(), "count=3".into()]);
    let vpath = PathBuf::from(&v);
    let io = thread::Builder::new().name(comm.clone()).spawn(move || thread_workload(&vpath)).unwrap().join().unwrap();

    // ---- stop bpftrace with SIGINT: it detaches, runs END, prints the maps
    // SAFETY: plain kill(2) of bpftrace, our own child (not reaped yet).
    assert_eq!(unsafe { libc::kill(bt_pid as i32, libc::SIGINT) }, 0, "kill -INT {bt_pid} failed");
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(s) = tracer.0.as_mut().unwrap().try_wait().unwrap() {
            break Some(s);
        }
        if Instant::now() > deadline {
            break None;
        }
        thread::sleep(Duration::from_millis(50));
    };
    if status.is_none() {
        let _ = tracer.0.as_mut().unwrap().kill();
        let _ = tracer.0.as_mut().unwrap().wait();
    }
    tracer.0 = None;
    out_reader.join().unwrap();
    lines.extend(rx.try_iter());
    let err = err_reader.join().unwrap_or_default();
    let stdout = lines.join("\n");
    let r = Report { maps: parse_maps(&stdout), full: format!("--- stdout ---\n{stdout}\n--- stderr ---\n{err}") };
    match status {
        Some(s) if s.success() => {}
        other => r.fail(&format!("bpftrace did not exit cleanly after SIGINT: {other:?}")),
    }
    if !stdout.contains("iotrace.bt: keys are") {
        r.fail("END block output missing");
    }

    // ---- dd: exactly one entry per file, belonging to the right dd process
    let c = comm.as_str();
    r.only_for_path("write_count", c, dd_write, &f, &Val::Int(100));
    r.only_for_path("write_bytes", c, dd_write, &f, &Val::Int(409_600));
    r.only_for_path("write_size", c, dd_write, &f, &hist_of(&[("[4K, 8K)", 100)]));
    r.only_for_path("read_count", c, dd_read, &f, &Val::Int(50));
    r.only_for_path("read_bytes", c, dd_read, &f, &Val::Int(51_200));
    r.only_for_path("read_size", c, dd_read, &f, &hist_of(&[("[1K, 2K)", 50)]));
    r.only_for_path("write_count", c, dd_fsync, &g, &Val::Int(7));
    r.only_for_path("write_bytes", c, dd_fsync, &g, &Val::Int(3_584));
    r.only_for_path("write_size", c, dd_fsync, &g, &hist_of(&[("[512, 1K)", 7)]));
    r.only_for_path("fsync_count", c, dd_fsync, &g, &Val::Int(1));
    match &r.for_path("fsync_lat_us", &g)[..] {
        [(_, Val::Hist(h))] if h.values().sum::<u64>() == 1 => {}
        e => r.fail(&format!("@fsync_lat_us for {g}: want one hist with 1 sample, got {e:?}")),
    }
    // /dev/zero reads of the first dd (its fd 0 after open + dup2)
    let zero_reads: i64 = r
        .for_path("read_bytes", "/dev/zero")
        .iter()
        .filter(|(k, _)| k[1] == dd_write.to_string())
        .map(|(_, v)| if let Val::Int(n) = v { *n } else { 0 })
        .sum();
    if zero_reads != 409_600 {
        r.fail(&format!("@read_bytes for /dev/zero of dd pid {dd_write}: want 409600, got {zero_reads}"));
    }
    // the COMM filter: plain dd (comm "dd") must be invisible
    if stdout.contains(&neg) || r.maps.keys().any(|(_, k)| k.get(1) == Some(&dd_other.to_string())) {
        r.fail(&format!(
            "plain dd (pid {dd_other}, comm \"dd\") writing {neg} was recorded despite COMM filter {comm}"
        ));
    }
    for (map, path) in [("fsync_count", &f), ("fdatasync_count", &f), ("fdatasync_count", &g)] {
        if !r.for_path(map, path).is_empty() {
            r.fail(&format!("unexpected @{map} entry for {path}"));
        }
    }

    // ---- in-process thread: exact keys [comm, pid, fd, path]
    let k = |fd: i32, path: &str| vec![comm.clone(), mypid.to_string(), fd.to_string(), path.to_string()];
    let kv = k(io.fd_v, &v);
    for (sc, count, bytes, hist) in [
        ("write", 2, 10_000, vec![("[4K, 8K)", 2)]),
        ("writev", 4, 1_200, vec![("[256, 512)", 4)]),
        ("pwrite64", 5, 15_000, vec![("[2K, 4K)", 5)]),
        ("pwritev", 3, 6_000, vec![("[1K, 2K)", 3)]),
        ("pwritev2", 2, 32_768, vec![("[16K, 32K)", 2)]),
        ("read", 6, 42, vec![("[4, 8)", 6)]),
        ("readv", 3, 384, vec![("[128, 256)", 3)]),
        ("pread64", 3, 8_192, vec![("[0]", 1), ("[4K, 8K)", 2)]),
        ("preadv", 1, 60, vec![("[32, 64)", 1)]),
        ("preadv2", 5, 2_560, vec![("[512, 1K)", 5)]),
    ] {
        r.int(&format!("{sc}_count"), &kv, count);
        r.int(&format!("{sc}_bytes"), &kv, bytes);
        r.hist(&format!("{sc}_size"), &kv, &hist);
        let n = r.for_path(&format!("{sc}_count"), &v).len();
        let want_n = if sc == "pread64" { 2 } else { 1 }; // + the F_DUPFD clone
        if n != want_n {
            r.fail(&format!("@{sc}_count: want {want_n} entries for {v}, got {n}"));
        }
    }
    r.int("fdatasync_count", &kv, 2);
    r.int("fsync_count", &kv, 1);
    match r.get("fdatasync_lat_us", &kv) {
        Some(Val::Hist(h)) if h.values().sum::<u64>() == 2 => {}
        other => r.fail(&format!("@fdatasync_lat_us[{}]: want 2 samples, got {other:?}", kv.join(", "))),
    }
    // errors keyed by errno
    let mut kerr = kv.clone();
    kerr.push(EINVAL.to_string());
    r.int("pread64_errors", &kerr, 1);
    let mut kwo = k(io.fd_wo, &v);
    kwo.push(EBADF.to_string());
    r.int("read_errors", &kwo, 2);
    let mut kro = k(io.fd_ro, &v);
    kro.push(EBADF.to_string());
    r.int("write_errors", &kro, 3);
    // fcntl(F_DUPFD_CLOEXEC) clone carries the path
    let kc = k(io.fd_clone, &v);
    r.int("pread64_count", &kc, 2);
    r.int("pread64_bytes", &kc, 600);
    r.hist("pread64_size", &kc, &[("[256, 512)", 2)]);
    // close(): the socket that reused the fd number has no path
    if io.fd_sock != io.fd_ro {
        r.fail(&format!("test setup: socket got fd {} instead of the closed fd {}", io.fd_sock, io.fd_ro));
    }
    let ks = k(io.fd_sock, "");
    r.int("write_count", &ks, 1);
    r.int("write_bytes", &ks, 5);

    eprintln!(
        "bpftrace_prototype: ok ({} map entries; attached after {:.1?}, total {:.1?})",
        r.maps.len(),
        t_attached,
        t0.elapsed()
    );
}
