//! `iotrace record` against workloads whose every traced syscall is known:
//! the C exerciser tests/workloads/syscalls.c (every traced syscall, errors,
//! partial completions, rewrites, O_APPEND, sendfile, copy_file_range and
//! splice between files, pipes and sockets, fork), then mount namespaces,
//! pipes, children, the -c and -p filters and processes that live only for a
//! moment.
//!
//! Expected values are derived from the programs (see the phase comments in
//! syscalls.c); the exerciser's syscall counts were cross-checked once with
//! `strace -f -c` (read 11/2 errors, readv 4/1, pread64 7/3, preadv 5/1,
//! preadv2 6/1, write 18/2, writev 5/1, pwrite64 21/2, pwritev 5/1, pwritev2
//! 8/1, sendfile 8/2, copy_file_range 4, splice 5, fsync 2, fdatasync 1,
//! close 49), the shell
//! workloads' with `strace -f` (dash as /bin/sh).
//!
//! The `regression_*` tests assert the phases that found bugs (each comment
//! says what iotrace got before the fix); the exerciser tests skip exactly
//! those fields, so that a regression fails in one place, with its story.

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, Command, Stdio};

use common::*;
use serde_json::{json, Value};

// ---------------------------------------------------------------- helpers

/// The power-of-two bucket of the profile format holding v: [0,0], [1,1], [2,3], [4,7], ...
fn bucket_of(v: u64) -> (u64, u64) {
    if v == 0 {
        return (0, 0);
    }
    let k = 63 - v.leading_zeros();
    (1 << k, (1u64 << k) * 2 - 1)
}

/// The histogram (non-empty buckets, ascending) of these samples.
fn hist(samples: &[u64]) -> Value {
    let mut b = std::collections::BTreeMap::new();
    for s in samples {
        *b.entry(bucket_of(*s)).or_insert(0u64) += 1;
    }
    Value::Array(b.into_iter().map(|((lo, hi), n)| json!({"lo": lo, "hi": hi, "count": n})).collect())
}

fn host_mntns() -> u64 {
    let l = std::fs::read_link("/proc/self/ns/mnt").unwrap();
    parse_ns(l.to_str().unwrap())
}

/// "mnt:[4026531832]" -> 4026531832
fn parse_ns(s: &str) -> u64 {
    s.trim()
        .trim_start_matches("mnt:[")
        .trim_end_matches(']')
        .parse()
        .unwrap_or_else(|_| panic!("not a mnt ns link: {s:?}"))
}

/// "major:minor" of a st_dev, as the profile writes the kernel's s_dev.
fn dev_str(dev: u64) -> String {
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    format!("{major}:{minor}")
}

/// A file's entry in a row's `inodes`.
fn inode(md: &std::fs::Metadata) -> Value {
    json!({"dev": dev_str(md.dev()), "ino": md.ino()})
}

fn files(p: &Value) -> &Vec<Value> {
    p["files"].as_array().unwrap()
}

fn no_file(p: &Value, path: &Path) {
    let want = path.to_str().unwrap();
    assert!(files(p).iter().all(|f| f["path"] != want), "{want} must not be in the profile: {:#}", p["files"]);
}

fn lost_nothing(p: &Value) {
    assert_eq!(p["lost"], json!({"inflight_full": 0, "map_full": 0, "path_events": 0}));
}

/// A background `iotrace record` (no command): started, attached, then
/// stopped with SIGTERM once the test's workload has finished.
struct Recording {
    child: Option<Child>,
    err: BufReader<ChildStderr>,
    out: PathBuf,
}

impl Recording {
    /// Start recording with `opts` (-p/-c/...) and return once iotrace says it records.
    /// -d 20 only bounds a test that fails before stop().
    fn start(dir: &TempDir, opts: &[&str]) -> Recording {
        let out = dir.path().join("profile.json");
        let mut child = iotrace()
            .arg("record")
            .args(opts)
            .args(["-d", "20", "-o"])
            .arg(&out)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut err = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        err.read_line(&mut line).unwrap();
        let mut rec = Recording { child: Some(child), err, out };
        if !line.starts_with("iotrace: recording") {
            let mut rest = String::new();
            let _ = std::io::Read::read_to_string(&mut rec.err, &mut rest);
            panic!("iotrace did not start recording: {line}{rest}");
        }
        rec
    }

    /// SIGTERM (a clean stop: the profile is written), wait, parse the profile.
    fn stop(mut self) -> Value {
        let mut child = self.child.take().unwrap();
        // SAFETY: plain kill(2) of our own child, which has not been reaped.
        assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut self.err, &mut rest).unwrap();
        let st = child.wait().unwrap();
        assert!(st.success(), "iotrace record: {st}\n{rest}");
        serde_json::from_str(&std::fs::read_to_string(&self.out).unwrap()).unwrap()
    }
}

impl Drop for Recording {
    fn drop(&mut self) {
        if let Some(c) = self.child.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

#[test]
fn hist_helper_matches_the_format_buckets() {
    let b = |lo: u64, hi: u64, n: u64| json!({"lo": lo, "hi": hi, "count": n});
    assert_eq!(
        hist(&[0, 1, 2, 3, 4, 7, 8, 100, 4096, 8191]),
        json!([b(0, 0, 1), b(1, 1, 1), b(2, 3, 2), b(4, 7, 2), b(8, 15, 1), b(64, 127, 1), b(4096, 8191, 2)])
    );
    assert_eq!(hist(&[]), json!([]));
}

// ---------------------------------------------------------------- the exerciser's truth

/// One syscall's entry in a file's `syscalls`.
struct Sc {
    name: &'static str,
    calls: u64,
    errors: u64,
    bytes: u64,
    errnos: &'static [(&'static str, u64)],
    /// bytes asked for, one per call (request_hist)
    req: &'static [u64],
    /// bytes done, one per successful call (completed_hist)
    done: &'static [u64],
}

const fn ok_sc(name: &'static str, req: &'static [u64], done: &'static [u64], bytes: u64) -> Sc {
    Sc { name, calls: req.len() as u64, errors: 0, bytes, errnos: &[], req, done }
}

/// A call that failed with `errno`, asking for `req` bytes.
const fn err_sc(name: &'static str, errno: &'static str, req: &'static [u64]) -> Sc {
    Sc {
        name,
        calls: 1,
        errors: 1,
        bytes: 0,
        errnos: match errno.as_bytes() {
            b"EBADF" => &[("EBADF", 1)],
            b"EFAULT" => &[("EFAULT", 1)],
            b"EACCES" => &[("EACCES", 1)],
            _ => &[("EINVAL", 1)],
        },
        req,
        done: &[],
    }
}

/// close(2) calls: no sizes.
const fn close(calls: u64) -> Sc {
    Sc { name: "close", calls, errors: 0, bytes: 0, errnos: &[], req: &[], done: &[] }
}

/// fsync / fdatasync calls: no sizes.
const fn sync(name: &'static str, calls: u64) -> Sc {
    Sc { name, calls, errors: 0, bytes: 0, errnos: &[], req: &[], done: &[] }
}

/// Everything about one exerciser file.
struct Expect {
    name: &'static str,
    /// sorted; "EXE" stands for the exerciser's comm
    comms: &'static [&'static str],
    read_bytes: u64,
    write_bytes: u64,
    rewrites: u64,
    /// lengths of the sequential runs
    seq_read: &'static [u64],
    seq_write: &'static [u64],
    /// fsync + fdatasync calls, bytes written before each (summed), bytes between (one per call)
    fsync_calls: u64,
    fsync_bytes: u64,
    fsync_between: &'static [u64],
    /// exactly these keys of `syscalls`
    syscalls: &'static [Sc],
    /// opens: all, O_DIRECT, O_SYNC, O_DSYNC (without O_SYNC), O_APPEND
    opens: [u64; 5],
    /// mmaps: shared, their bytes, private, their bytes, with PROT_READ, PROT_WRITE, PROT_EXEC
    mmap: [u64; 7],
    /// Fields the regression_* tests own: skipped unless strict.
    known_wrong: &'static [&'static str],
}

const E: Expect = Expect {
    name: "",
    comms: &["EXE"],
    read_bytes: 0,
    write_bytes: 0,
    rewrites: 0,
    seq_read: &[],
    seq_write: &[],
    fsync_calls: 0,
    fsync_bytes: 0,
    fsync_between: &[],
    syscalls: &[],
    opens: [1, 0, 0, 0, 0],
    mmap: [0; 7],
    known_wrong: &[],
};

const PHASES: &[Expect] = &[
    // 01: write 100, 200, 4096 back to back: one run.
    Expect {
        name: "01-write",
        write_bytes: 4396,
        seq_write: &[4396],
        syscalls: &[ok_sc("write", &[100, 200, 4096], &[100, 200, 4096], 4396), close(1)],
        ..E
    },
    // 02: size 1000; read 100, 300, 1000 (600 past EOF), 100 (0 at EOF); lseek 0; read 50.
    Expect {
        name: "02-read",
        read_bytes: 1050,
        seq_read: &[1000, 50],
        syscalls: &[ok_sc("read", &[100, 300, 1000, 100, 50], &[100, 300, 600, 0, 50], 1050), close(1)],
        ..E
    },
    // 03: size 1000; readv 10+20+70, 400+600 (900), 100 (0 at EOF).
    Expect {
        name: "03-readv",
        read_bytes: 1000,
        seq_read: &[1000],
        syscalls: &[ok_sc("readv", &[100, 1000, 100], &[100, 900, 0], 1000), close(1)],
        ..E
    },
    // 04: size 4096; pread64 512@0, 512@512, 100@4000 (96), 100@4096 (0), 10@-1 (EINVAL).
    Expect {
        name: "04-pread64",
        read_bytes: 1120,
        seq_read: &[1024, 96],
        syscalls: &[
            Sc {
                name: "pread64",
                calls: 5,
                errors: 1,
                bytes: 1120,
                errnos: &[("EINVAL", 1)],
                req: &[512, 512, 100, 100, 10],
                done: &[512, 512, 96, 0],
            },
            close(1),
        ],
        ..E
    },
    // 05: size 2048; preadv 100+100@1000, 300@1200, 1000@1500 (548), 8@2048 (0).
    Expect {
        name: "05-preadv",
        read_bytes: 1048,
        seq_read: &[1048],
        syscalls: &[ok_sc("preadv", &[200, 300, 1000, 8], &[200, 300, 548, 0], 1048), close(1)],
        ..E
    },
    // 06: size 1000, f_pos 100; preadv2 50@-1 (=100), 50@-1 (=150), 200@0, 100@-1 (=200), 1000@900 (100).
    Expect {
        name: "06-preadv2",
        read_bytes: 500,
        seq_read: &[100, 300, 100],
        syscalls: &[ok_sc("preadv2", &[50, 50, 200, 100, 1000], &[50, 50, 200, 100, 100], 500), close(1)],
        ..E
    },
    // 07: writev 10+20+30, 4000+96.
    Expect {
        name: "07-writev",
        write_bytes: 4156,
        seq_write: &[4156],
        syscalls: &[ok_sc("writev", &[60, 4096], &[60, 4096], 4156), close(1)],
        ..E
    },
    // 08: pwrite64 100@0, 100@100, 50@1000, 50@1000 (rewrite), 10@-1 (EINVAL).
    Expect {
        name: "08-pwrite64",
        write_bytes: 300,
        rewrites: 1,
        seq_write: &[200, 50, 50],
        syscalls: &[
            Sc {
                name: "pwrite64",
                calls: 5,
                errors: 1,
                bytes: 300,
                errnos: &[("EINVAL", 1)],
                req: &[100, 100, 50, 50, 10],
                done: &[100, 100, 50, 50],
            },
            close(1),
        ],
        ..E
    },
    // 09: pwritev 100+28@512, 128@640, 64@0, 64@0 (rewrite).
    Expect {
        name: "09-pwritev",
        write_bytes: 384,
        rewrites: 1,
        seq_write: &[256, 64, 64],
        syscalls: &[ok_sc("pwritev", &[128, 128, 64, 64], &[128, 128, 64, 64], 384), close(1)],
        ..E
    },
    // 10: pwritev2 100@-1 (=0), 100@-1 (=100), 50@200, 50@-1 (=200: rewrite).
    Expect {
        name: "10-pwritev2",
        write_bytes: 300,
        rewrites: 1,
        seq_write: &[250, 50],
        syscalls: &[ok_sc("pwritev2", &[100, 100, 50, 50], &[100, 100, 50, 50], 300), close(1)],
        ..E
    },
    // 11: sendfile(out, in) 1000 (in@0), 500 from offset 2000, 5000 (2000 from in@1000 to EOF), 100 (0).
    Expect {
        name: "11-sendfile-in",
        read_bytes: 3500,
        seq_read: &[1000, 500, 2000],
        syscalls: &[ok_sc("sendfile_in", &[1000, 500, 5000, 100], &[1000, 500, 2000, 0], 3500), close(1)],
        ..E
    },
    // ... and the out-file, written at its position 0, 1000, 1500, 3500: one run.
    Expect {
        name: "11-sendfile-out",
        write_bytes: 3500,
        seq_write: &[3500],
        syscalls: &[ok_sc("sendfile_out", &[1000, 500, 5000, 100], &[1000, 500, 2000, 0], 3500), close(1)],
        ..E
    },
    // 12: sendfile 100 to a pipe, 100 to a unix socket: only the in side exists.
    Expect {
        name: "12-sendfile-pipe-in",
        read_bytes: 200,
        seq_read: &[200],
        syscalls: &[ok_sc("sendfile_in", &[100, 100], &[100, 100], 200), close(1)],
        ..E
    },
    // 13: write 1000; fsync; write 2000, 3000; fdatasync; fsync; write 10.
    Expect {
        name: "13-fsync",
        write_bytes: 6010,
        seq_write: &[6010],
        fsync_calls: 3,
        fsync_bytes: 6000,
        fsync_between: &[1000, 5000, 0],
        syscalls: &[
            ok_sc("write", &[1000, 2000, 3000, 10], &[1000, 2000, 3000, 10], 6010),
            sync("fsync", 2),
            sync("fdatasync", 1),
            close(1),
        ],
        ..E
    },
    // 14: reads of 10 bytes on an O_WRONLY fd: EBADF each, nothing done.
    Expect {
        name: "14-wronly",
        syscalls: &[
            err_sc("read", "EBADF", &[10]),
            err_sc("readv", "EBADF", &[10]),
            err_sc("pread64", "EBADF", &[10]),
            err_sc("preadv", "EBADF", &[10]),
            err_sc("preadv2", "EBADF", &[10]),
            err_sc("sendfile_in", "EBADF", &[10]),
            close(1),
        ],
        ..E
    },
    // ... writes of 10 bytes on an O_RDONLY fd, and sendfile into it: EBADF each.
    Expect {
        name: "14-rdonly",
        syscalls: &[
            err_sc("write", "EBADF", &[10]),
            err_sc("writev", "EBADF", &[10]),
            err_sc("pwrite64", "EBADF", &[10]),
            err_sc("pwritev", "EBADF", &[10]),
            err_sc("pwritev2", "EBADF", &[10]),
            err_sc("sendfile_out", "EBADF", &[10]),
            close(1),
        ],
        ..E
    },
    // ... the in-file of that failed sendfile.
    Expect { name: "14-sfin", syscalls: &[err_sc("sendfile_in", "EBADF", &[10]), close(1)], ..E },
    // ... read / pread64 into and write from (void *)1: EFAULT.
    Expect {
        name: "14-efault",
        syscalls: &[
            err_sc("read", "EFAULT", &[10]),
            err_sc("pread64", "EFAULT", &[10]),
            err_sc("write", "EFAULT", &[10]),
            close(1),
        ],
        ..E
    },
    // 15: O_APPEND: write 100, 100, (lseek 0) writev 50+50, pwritev2 100@-1, (lseek 0) write 10:
    // all at the end of file (0, 100, 200, 300, 400): one run.
    Expect {
        name: "15-append",
        write_bytes: 410,
        seq_write: &[410],
        syscalls: &[
            ok_sc("write", &[100, 100, 10], &[100, 100, 10], 210),
            ok_sc("writev", &[100], &[100], 100),
            ok_sc("pwritev2", &[100], &[100], 100),
            close(1),
        ],
        opens: [1, 0, 0, 0, 1],
        ..E
    },
    // 16: parent writes 100, forked child "syscalls-child" 200, parent 300: one open file, one run.
    Expect {
        name: "16-fork",
        comms: &["EXE", "syscalls-child"],
        write_bytes: 600,
        seq_write: &[600],
        syscalls: &[ok_sc("write", &[100, 200, 300], &[100, 200, 300], 600), close(1)],
        ..E
    },
    // 17: O_APPEND: write 100, pwrite64 100@0 twice: Linux appends (at 100, 200). One run, no rewrite.
    Expect {
        name: "17-append-pwrite",
        write_bytes: 300,
        seq_write: &[300],
        syscalls: &[ok_sc("write", &[100], &[100], 100), ok_sc("pwrite64", &[100, 100], &[100, 100], 200), close(1)],
        known_wrong: &["rewrites", "seq_write_hist"],
        opens: [1, 0, 0, 0, 1],
        ..E
    },
    // 18: pwritev2 100@0, then 100@0 with RWF_APPEND (appends at 100). One run, no rewrite.
    Expect {
        name: "18-rwf-append",
        write_bytes: 200,
        seq_write: &[200],
        syscalls: &[ok_sc("pwritev2", &[100, 100], &[100, 100], 200), close(1)],
        known_wrong: &["rewrites", "seq_write_hist"],
        ..E
    },
    // 19: pwrite64 100@0; close a dup; pwrite64 100@0 through the same open file: a rewrite.
    Expect {
        name: "19-dup-close",
        write_bytes: 200,
        rewrites: 1,
        seq_write: &[100, 100],
        syscalls: &[ok_sc("pwrite64", &[100, 100], &[100, 100], 200), close(2)],
        known_wrong: &["rewrites"],
        ..E
    },
    // 20: one writev of 200 iovecs of 1 byte: 200 requested.
    Expect {
        name: "20-iov-many",
        write_bytes: 200,
        seq_write: &[200],
        syscalls: &[ok_sc("writev", &[200], &[200], 200), close(1)],
        known_wrong: &["writev.request_hist"],
        ..E
    },
    // 21: 10 x (open, pwrite64 100@0, released by dup2 without close): 10 open files,
    // 10 runs, no rewrite, no close.
    Expect {
        name: "21-reuse",
        write_bytes: 1000,
        seq_write: &[100; 10],
        syscalls: &[ok_sc("pwrite64", &[100; 10], &[100; 10], 1000)],
        known_wrong: &["rewrites", "seq_write_hist"],
        opens: [10, 0, 0, 0, 0],
        ..E
    },
    // ... then another file: open, pwrite64 100@0, close.
    Expect {
        name: "21-reuse-other",
        write_bytes: 100,
        seq_write: &[100],
        syscalls: &[ok_sc("pwrite64", &[100], &[100], 100), close(1)],
        ..E
    },
    // 22: copy_file_range(in, out) 1000 (in@0), 500 from off_in 2000, 5000 (2000 from in@1000 to EOF), 100 (0).
    Expect {
        name: "22-cfr-in",
        read_bytes: 3500,
        seq_read: &[1000, 500, 2000],
        syscalls: &[ok_sc("copy_file_range_in", &[1000, 500, 5000, 100], &[1000, 500, 2000, 0], 3500), close(1)],
        ..E
    },
    // ... and the out-file, written at its position 0, 1000, then at off_out 5000, then (0 bytes) at 1500.
    Expect {
        name: "22-cfr-out",
        write_bytes: 3500,
        seq_write: &[1500, 2000],
        syscalls: &[ok_sc("copy_file_range_out", &[1000, 500, 5000, 100], &[1000, 500, 2000, 0], 3500), close(1)],
        ..E
    },
    // 23: splice(in, pipe) 100 (in@0), 100 from off_in 200, 10 from off_in 300 (EOF: 0).
    Expect {
        name: "23-splice-in",
        read_bytes: 200,
        seq_read: &[100, 100],
        syscalls: &[ok_sc("splice_in", &[100, 100, 10], &[100, 100, 0], 200), close(1)],
        ..E
    },
    // ... splice(pipe, out) 150 (out@0), 50 at off_out 1000.
    Expect {
        name: "23-splice-out",
        write_bytes: 200,
        seq_write: &[150, 50],
        syscalls: &[ok_sc("splice_out", &[150, 50], &[150, 50], 200), close(1)],
        ..E
    },
    // 24: opened 6 times: plain, O_DIRECT, O_SYNC, O_DSYNC, O_APPEND, O_DIRECT|O_DSYNC|O_APPEND.
    Expect { name: "24-open-flags", syscalls: &[close(6)], opens: [6, 2, 1, 2, 2], ..E },
    // 26: Linux AIO, one iocb at a time: PWRITE 100@0, PWRITEV 60+40@100, FDSYNC, FSYNC,
    // PREAD 300@0 -> 200, PREAD 10 into (void *)1 -> an event with res -EFAULT.
    Expect {
        name: "26-aio",
        read_bytes: 200,
        write_bytes: 200,
        seq_read: &[200],
        seq_write: &[200],
        fsync_calls: 2,
        fsync_bytes: 200,
        fsync_between: &[200, 0],
        syscalls: &[
            ok_sc("aio_pwrite", &[100], &[100], 100),
            ok_sc("aio_pwritev", &[100], &[100], 100),
            sync("aio_fdsync", 1),
            sync("aio_fsync", 1),
            Sc {
                name: "aio_pread",
                calls: 2,
                errors: 1,
                bytes: 200,
                errnos: &[("EFAULT", 1)],
                req: &[300, 10],
                done: &[200],
            },
            close(1),
        ],
        ..E
    },
    // 27: mmap 8192 shared rw, 4096 private r, 4096 shared (validate) r, 4096 shared w of an
    // O_RDONLY fd (EACCES); anonymous maps are not the file's. Opened twice.
    Expect {
        name: "27-mmap",
        syscalls: &[
            Sc {
                name: "mmap",
                calls: 4,
                errors: 1,
                bytes: 0,
                errnos: &[("EACCES", 1)],
                req: &[8192, 4096, 4096, 4096],
                done: &[],
            },
            close(2),
        ],
        opens: [2, 0, 0, 0, 0],
        mmap: [2, 12288, 1, 4096, 3, 1, 0],
        ..E
    },
];

fn sc_json(s: &Sc) -> Value {
    let errnos: serde_json::Map<String, Value> = s.errnos.iter().map(|(e, n)| (e.to_string(), json!(n))).collect();
    json!({
        "calls": s.calls, "errors": s.errors, "bytes": s.bytes, "errnos": errnos,
        "request_hist": hist(s.req), "completed_hist": hist(s.done),
    })
}

/// Compare every field of the profile's file with the expectation. With
/// `strict == false`, the fields in `known_wrong` are skipped. Returns the
/// mismatches, one line each.
fn check(f: &Value, e: &Expect, exe_comm: &str, profile: &Value, strict: bool) -> Vec<String> {
    let mut bad = vec![];
    let mut cmp = |field: &str, got: &Value, want: Value| {
        if got != &want && (strict || !e.known_wrong.contains(&field)) {
            bad.push(format!("{}: {field}: got {got}, want {want}", e.name));
        }
    };
    let comms: BTreeSet<String> =
        e.comms.iter().map(|c| if *c == "EXE" { exe_comm.to_string() } else { c.to_string() }).collect();
    cmp("comms", &f["comms"], json!(comms));
    cmp("read_bytes", &f["read_bytes"], json!(e.read_bytes));
    cmp("write_bytes", &f["write_bytes"], json!(e.write_bytes));
    cmp("rewrites", &f["rewrites"], json!(e.rewrites));
    cmp("seq_read_hist", &f["seq_read_hist"], hist(e.seq_read));
    cmp("seq_write_hist", &f["seq_write_hist"], hist(e.seq_write));
    let [calls, direct, sync, dsync, append] = e.opens;
    cmp(
        "opens",
        &f["opens"],
        json!({"calls": calls, "direct": direct, "sync": sync, "dsync": dsync, "append": append}),
    );
    let [shared, shared_bytes, private, private_bytes, read, write, exec] = e.mmap;
    cmp(
        "mmap",
        &f["mmap"],
        json!({"shared": shared, "shared_bytes": shared_bytes, "private": private, "private_bytes": private_bytes,
               "read": read, "write": write, "exec": exec}),
    );
    cmp("fsync.calls", &f["fsync"]["calls"], json!(e.fsync_calls));
    cmp("fsync.bytes", &f["fsync"]["bytes"], json!(e.fsync_bytes));
    cmp("fsync.bytes_between_hist", &f["fsync"]["bytes_between_hist"], hist(e.fsync_between));
    let lat: u64 = f["fsync"]["latency_hist"].as_array().unwrap().iter().map(|b| b["count"].as_u64().unwrap()).sum();
    cmp("fsync.latency_hist samples", &json!(lat), json!(e.fsync_calls));
    cmp("fsync.last_ns is set", &json!(!f["fsync"]["last_ns"].is_null()), json!(e.fsync_calls > 0));
    let names: BTreeSet<&str> = f["syscalls"].as_object().unwrap().keys().map(|k| k.as_str()).collect();
    let want_names: BTreeSet<&str> = e.syscalls.iter().map(|s| s.name).collect();
    cmp("syscalls keys", &json!(names), json!(want_names));
    for s in e.syscalls {
        let got = &f["syscalls"][s.name];
        let want = sc_json(s);
        for k in ["calls", "errors", "bytes", "errnos", "request_hist", "completed_hist"] {
            cmp(&format!("{}.{k}", s.name), &got[k], want[k].clone());
        }
    }
    // Times: set exactly when a read (write) succeeded, ordered, inside the recording.
    const READS: &[&str] = &[
        "read",
        "readv",
        "pread64",
        "preadv",
        "preadv2",
        "sendfile_in",
        "copy_file_range_in",
        "splice_in",
        "aio_pread",
        "aio_preadv",
    ];
    const WRITES: &[&str] = &[
        "write",
        "writev",
        "pwrite64",
        "pwritev",
        "pwritev2",
        "sendfile_out",
        "copy_file_range_out",
        "splice_out",
        "aio_pwrite",
        "aio_pwritev",
    ];
    let did = |kinds: &[&str]| e.syscalls.iter().any(|s| kinds.contains(&s.name) && !s.done.is_empty());
    let (start, end) = (profile["start_ns"].as_u64().unwrap(), profile["end_ns"].as_u64().unwrap());
    for (dir, any) in [("read", did(READS)), ("write", did(WRITES))] {
        let (first, last) = (&f[format!("first_{dir}_ns")], &f[format!("last_{dir}_ns")]);
        cmp(&format!("first_{dir}_ns is set"), &json!(!first.is_null()), json!(any));
        cmp(&format!("last_{dir}_ns is set"), &json!(!last.is_null()), json!(any));
        if let (Some(a), Some(b)) = (first.as_u64(), last.as_u64()) {
            cmp(
                &format!("{start} <= first_{dir}_ns <= last_{dir}_ns <= {end}"),
                &json!(start <= a && a <= b && b <= end),
                json!(true),
            );
        }
    }
    bad
}

/// Run the exerciser under `iotrace record --strategy S -- syscalls DIR`.
fn run_exerciser(tag: &str, strategy: &str) -> (TempDir, Value) {
    let dir = TempDir::new(tag);
    let bin = build_workload(dir.path(), "syscalls");
    let work = dir.path().join("work");
    std::fs::create_dir(&work).unwrap();
    let p = record(&dir, &["--strategy", strategy], &[bin.to_str().unwrap(), work.to_str().unwrap()]);
    assert_eq!(p["strategy"], strategy);
    (dir, p)
}

/// Check the exerciser's files in `p` (written under `work` by a process
/// named `exe_comm`): the profile holds exactly those files, each exact.
fn check_exerciser(p: &Value, work: &Path, exe_comm: &str, strict_for: &[&str]) {
    lost_nothing(p);
    let want: BTreeSet<String> = PHASES.iter().map(|e| work.join(e.name).to_str().unwrap().to_string()).collect();
    let got: BTreeSet<String> = paths(p).into_iter().collect();
    // The exerciser is static and its stdio are pipes: its phase files are
    // all the regular files it touches. Pipes, sockets, /dev/null never appear.
    assert_eq!(got, want, "files in the profile");
    // 25-dir: fsync 2 and fdatasync 1 on a directory, apart from the files.
    let dir = work.join("25-dir");
    let md = std::fs::metadata(&dir).unwrap();
    let d = &p["directories"];
    assert_eq!(d.as_array().map(|a| a.len()), Some(1), "directories: {d:#}");
    let (d, ok) = (
        &d[0],
        |n| json!({"calls": n, "errors": 0, "bytes": 0, "errnos": {}, "request_hist": [], "completed_hist": []}),
    );
    assert_eq!(d["path"], dir.to_str().unwrap());
    assert_eq!(d["mntns"], host_mntns());
    assert_eq!(d["inodes"], json!([inode(&md)]));
    assert_eq!(d["comms"], json!([exe_comm]));
    assert_eq!(d["syscalls"], json!({"fdatasync": ok(1), "fsync": ok(2)}));
    assert_eq!(d["fsync"]["calls"], 3);
    let lat: u64 = d["fsync"]["latency_hist"].as_array().unwrap().iter().map(|b| b["count"].as_u64().unwrap()).sum();
    assert_eq!(lat, 3, "fsync latency samples: {d:#}");
    let mntns = host_mntns();
    let mut bad = vec![];
    for e in PHASES {
        let path = work.join(e.name);
        let f = file(p, &path);
        let md = std::fs::metadata(&path).unwrap();
        assert_eq!(f["mntns"], mntns, "{}", e.name);
        assert_eq!(f["inodes"], json!([inode(&md)]), "{}", e.name);
        assert_eq!(f["unlinked"], false);
        assert_eq!(f["unnamed"], false);
        assert_eq!(f["renamed"], false);
        assert_eq!(f["path_truncated"], false);
        bad.extend(check(f, e, exe_comm, p, strict_for.contains(&e.name)));
    }
    assert!(bad.is_empty(), "{} mismatches:\n{}", bad.len(), bad.join("\n"));
}

fn exerciser_is_exact(strategy: &str) {
    let (dir, p) = run_exerciser(&format!("sc-{strategy}"), strategy);
    check_exerciser(&p, &dir.path().join("work"), "syscalls", &[]);
}

#[test]
fn exerciser_is_exact_tp_btf() {
    exerciser_is_exact("tp_btf");
}

#[test]
fn exerciser_is_exact_raw_tp() {
    exerciser_is_exact("raw_tp");
}

#[test]
fn exerciser_is_exact_tracepoint() {
    exerciser_is_exact("tracepoint");
}

// ---------------------------------------------------------------- 32-bit syscalls

/// tests/workloads/ia32.c: a 64-bit program doing its I/O with `int $0x80`
/// (the header comment there lists each call). The raw syscall tracepoints
/// see it all, under the 64-bit names; the syscalls:* tracepoints the
/// kernel does not fire for 32-bit syscalls, and the profile says so.
#[test]
fn ia32_syscalls_are_exact() {
    let dir = TempDir::new("ia32");
    let bin = build_workload(dir.path(), "ia32");
    for strategy in ["tp_btf", "raw_tp", "tracepoint", "legacy"] {
        let work = dir.path().join(strategy);
        std::fs::create_dir(&work).unwrap();
        let p = record(&dir, &["--strategy", strategy], &[bin.to_str().unwrap(), work.to_str().unwrap()]);
        let (a, b) = (work.join("a"), work.join("b"));
        lost_nothing(&p);
        if !matches!(strategy, "tp_btf" | "raw_tp") {
            assert!(p["unsupported"].as_array().unwrap().contains(&json!("ia32_syscalls")), "{strategy}");
            no_file(&p, &a);
            no_file(&p, &b);
            continue;
        }
        assert!(!p["unsupported"].as_array().unwrap().contains(&json!("ia32_syscalls")), "{strategy}");
        let n = |calls: u64, bytes: u64, req: &[u64]| (calls, bytes, hist(req));
        let got = |f: &Value| -> std::collections::BTreeMap<String, (u64, u64, Value)> {
            f["syscalls"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| {
                    assert_eq!(v["errors"], 0, "{strategy} {k}");
                    (k.clone(), (v["calls"].as_u64().unwrap(), v["bytes"].as_u64().unwrap(), v["request_hist"].clone()))
                })
                .collect()
        };
        let fa = file(&p, &a);
        let want_a = [
            ("write", n(3, 3000, &[1000; 3])),
            ("pwrite64", n(2, 2000, &[1000; 2])),
            ("writev", n(1, 1000, &[1000])),
            ("fsync", n(1, 0, &[])),
            ("fdatasync", n(1, 0, &[])),
            ("pread64", n(1, 2000, &[2000])),
            ("preadv", n(1, 1000, &[1000])),
            ("aio_pread", n(1, 100, &[100])),
            ("mmap", n(1, 0, &[4096])),
            ("sendfile_in", n(2, 500, &[300, 200])),
            ("copy_file_range_in", n(1, 100, &[100])),
            ("close", n(1, 0, &[])),
        ];
        assert_eq!(got(fa), want_a.iter().map(|(k, v)| (k.to_string(), v.clone())).collect(), "{strategy}: {fa:#}");
        // Runs: writes [0, 4000) and [5 GiB, 5 GiB + 2000) (the offset's high half, then writev at
        // the file position); reads [0, 3000), the AIO read [0, 100) and sendfile's [100, 400), sendfile64's
        // [1000, 1200), copy_file_range's [4000, 4100).
        assert_eq!(fa["seq_write_hist"], hist(&[4000, 2000]), "{strategy}");
        assert_eq!(fa["seq_read_hist"], hist(&[3000, 400, 200, 100]), "{strategy}");
        assert_eq!(fa["comms"], json!(["ia32"]));
        assert_eq!(fa["end_offset"], (5u64 << 30) + 2000, "{strategy}");
        assert_eq!(fa["opens"]["calls"], 1);
        // mmap2 only: old_mmap's arguments are in a struct, which record does not read.
        assert_eq!(
            fa["mmap"],
            json!({"shared": 1, "shared_bytes": 4096, "private": 0, "private_bytes": 0, "read": 1, "write": 0, "exec": 0}),
            "{strategy}"
        );
        let fb = file(&p, &b);
        let want_b = [
            ("sendfile_out", n(2, 500, &[300, 200])),
            ("copy_file_range_out", n(1, 100, &[100])),
            ("close", n(1, 0, &[])),
        ];
        assert_eq!(got(fb), want_b.iter().map(|(k, v)| (k.to_string(), v.clone())).collect(), "{strategy}: {fb:#}");
        assert_eq!(fb["opens"]["calls"], 1);
    }
}

// ---------------------------------------------------------------- regressions

/// The true values of the phases named, for both strategies.
fn regression_phases(tag: &str, names: &[&str]) {
    let mut bad = vec![];
    for strategy in ["raw_tp", "tracepoint"] {
        let (dir, p) = run_exerciser(&format!("{tag}-{strategy}"), strategy);
        let work = dir.path().join("work");
        for e in PHASES.iter().filter(|e| names.contains(&e.name)) {
            bad.extend(
                check(file(&p, &work.join(e.name)), e, "syscalls", &p, true)
                    .into_iter()
                    .map(|m| format!("{strategy}: {m}")),
            );
        }
    }
    assert!(bad.is_empty(), "{} mismatches:\n{}", bad.len(), bad.join("\n"));
}

/// Was a bug (fixed): io_enter() (bpf/record.bpf.h) takes pwrite64's (and pwritev2's,
/// pwritev's) explicit offset even when the write appends: on O_APPEND files
/// Linux ignores pwrite's offset, and RWF_APPEND does the same per call;
/// file_pos()'s end-of-file rule only covers write/writev/offset -1. The appended
/// writes look like rewrites at offset 0 and break the sequential run.
/// Got: 17-append-pwrite rewrites 2, seq_write_hist [64,127] x 3 (want 0,
/// one run of 300); 18-rwf-append rewrites 1, [64,127] x 2 (want 0, one run
/// of 200).
#[test]
fn regression_appending_pwrite_uses_the_explicit_offset() {
    regression_phases("bug-append", &["17-append-pwrite", "18-rwf-append"]);
}

/// Was a bug (fixed): a successful close(2) ends the state of the whole struct file
/// (file_closed(): flush_runs + delete of its `files` entry) although other
/// fds (a dup, a forked child's) still hold that open file description, so
/// its last write offset is lost (and a run through it is split). Got: 19-dup-close rewrites 0
/// (want 1: pwrite64 100@0 twice through the same open file).
#[test]
fn regression_close_of_a_dup_forgets_the_open_file() {
    regression_phases("bug-dup", &["19-dup-close"]);
}

/// Was a bug (fixed): iov_total() (bpf/record.bpf.h) stops at MAX_IOVECS (64) iovecs, so the
/// request size of readv/writev/preadv/pwritev/preadv2/pwritev2 with more
/// iovecs (IOV_MAX is 1024) is too small. Got: 20-iov-many
/// writev.request_hist [64,127] x 1 (want [128,255] x 1: 200 x 1 byte).
#[test]
fn regression_request_size_counts_only_64_iovecs() {
    regression_phases("bug-iov", &["20-iov-many"]);
}

/// Was a bug (fixed): the per-open-file state (`files` map, file_state() in
/// bpf/record.bpf.c) is keyed by the struct file address and only checks the
/// inode on reuse. A struct file released without
/// close(2) (exit, exec with O_CLOEXEC, dup2 over the fd, close_range) keeps
/// its entry; the slab hands the same address to the next open, which then
/// inherits the old run and last write offset (same inode) or silently
/// drops the old run (other inode). Got, deterministically on this host:
/// 21-reuse rewrites 9 (want 0: each pwrite64 is through a new open file),
/// seq_write_hist [64,127] x 9 (want x 10: the last run was overwritten by
/// 21-reuse-other's open).
#[test]
fn regression_released_file_state_leaks_into_the_next_open() {
    regression_phases("bug-reuse", &["21-reuse"]);
}

/// Was a bug (fixed): account() (bpf/record.bpf.h) refreshes `users` (file, tgid) -> comm
/// only when the tgid changes (open_file.last_tgid), but exec changes the
/// comm and keeps the tgid and the fds. Workload: `sh -c 'exec >F; echo a; exec /bin/echo b'`:
/// sh writes "a\n", then the same process as "echo" writes "b\n" through
/// the same open file. Got comms ["sh"], want ["echo", "sh"].
#[test]
fn regression_exec_d_program_missing_from_comms() {
    let dir = TempDir::new("bug-exec-comm");
    let target = dir.path().join("f");
    let script = format!("exec >{}; echo a; exec /bin/echo b", target.display());
    let p = record(&dir, &[], &["sh", "-c", &script]);
    let f = file(&p, &target);
    assert_eq!(f["syscalls"]["write"]["calls"], 2, "{f:#}");
    assert_eq!(f["write_bytes"], 4);
    assert_eq!(f["comms"], json!(["echo", "sh"]), "{f:#}");
}

// ---------------------------------------------------------------- namespaces, pipes, children

/// The same path written in the host mount namespace (a real directory) and
/// in a new one (a tmpfs mounted over that directory): two records with the
/// same path, the host one with our mntns, dev and inode.
#[test]
fn same_path_in_two_mount_namespaces_is_two_files() {
    let dir = TempDir::new("mntns");
    let d = dir.path().join("d");
    std::fs::create_dir(&d).unwrap();
    let f = d.join("f");
    let (ds, fs) = (d.to_str().unwrap(), f.to_str().unwrap());
    // Host: 100 bytes. New namespace: 200 bytes, and its mntns on stdout.
    let script = format!(
        "dd if=/dev/zero of={fs} bs=100 count=1 2>/dev/null && \
         unshare -m sh -c 'mount -t tmpfs none {ds} && dd if=/dev/zero of={fs} bs=200 count=1 2>/dev/null && readlink /proc/self/ns/mnt'"
    );
    let out = dir.path().join("profile.json");
    let o = ok(iotrace().arg("record").arg("-o").arg(&out).args(["--", "sh", "-c", &script]));
    let inner = parse_ns(&stdout(&o));
    let p: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    lost_nothing(&p);
    let recs: Vec<&Value> = files(&p).iter().filter(|x| x["path"] == fs).collect();
    assert_eq!(recs.len(), 2, "{fs}: {recs:#?}");
    let host = host_mntns();
    assert_ne!(inner, host);
    let h = recs.iter().find(|r| r["mntns"] == host).unwrap_or_else(|| panic!("no record in mntns {host}: {recs:#?}"));
    let n =
        recs.iter().find(|r| r["mntns"] == inner).unwrap_or_else(|| panic!("no record in mntns {inner}: {recs:#?}"));
    let md = std::fs::metadata(&f).unwrap();
    assert_eq!(md.len(), 100, "the tmpfs must not have covered the host directory");
    assert_eq!(h["inodes"], json!([inode(&md)]));
    assert_ne!(n["inodes"][0]["dev"], h["inodes"][0]["dev"], "the tmpfs is another file system");
    for (r, bytes) in [(h, 100u64), (n, 200)] {
        assert_eq!(r["comms"], json!(["dd"]), "{r:#}");
        assert_eq!(r["write_bytes"], bytes, "{r:#}");
        assert_eq!(r["read_bytes"], 0);
        assert_eq!(r["syscalls"]["write"]["calls"], 1, "{r:#}");
        assert_eq!(r["syscalls"]["write"]["bytes"], bytes);
        assert_eq!(r["seq_write_hist"], hist(&[bytes]));
    }
}

/// `echo x | cat > FILE`: the pipe never appears, FILE holds exactly the two
/// bytes. (The child shell opens FILE, dup2s it to fd 1 and closes the
/// original fd, then execs cat, which writes and closes fd 1 at exit: 2
/// closes. comms are the processes that did I/O on it: cat; sh only closed.)
#[test]
fn pipes_never_appear() {
    let dir = TempDir::new("pipe");
    let target = dir.path().join("out");
    let script = format!("echo x | cat > {}", target.display());
    let p = record(&dir, &[], &["sh", "-c", &script]);
    lost_nothing(&p);
    let f = file(&p, &target);
    assert_eq!(f["syscalls"]["write"], sc_json(&ok_sc("write", &[2], &[2], 2)), "{f:#}");
    assert_eq!(f["syscalls"]["close"], sc_json(&close(2)), "{f:#}");
    assert_eq!(f["syscalls"].as_object().unwrap().len(), 2, "{f:#}");
    assert_eq!(f["write_bytes"], 2);
    assert_eq!(f["read_bytes"], 0);
    assert_eq!(f["seq_write_hist"], hist(&[2]));
    // The shell's child opens F, moves it to fd 1 and closes the original
    // (a close on F, as "sh"), then becomes cat by exec: both comms touched F.
    assert_eq!(f["comms"], json!(["cat", "sh"]));
    // Every other record is a regular file the loader / locale code read
    // (or only closed): none was written, none is a pipe, socket or device.
    for x in files(&p) {
        let path = x["path"].as_str().unwrap();
        if path == target.to_str().unwrap() {
            continue;
        }
        assert!(Path::new(path).is_file(), "{path} is not a regular file: {x:#}");
        assert!(!path.starts_with("/dev/") && !path.starts_with("/proc/"), "{x:#}");
        assert_eq!(x["write_bytes"], 0, "{x:#}");
    }
}

/// Children forked by the traced command are traced and named: dd (forked
/// and exec'ed by sh) writes 3 x 1000 bytes through its own open, then sh
/// itself appends 5 bytes (`echo done >>`): two open files, two runs.
/// (The fork-without-exec case, with a renamed child, is the exerciser's
/// 16-fork phase.)
#[test]
fn forked_children_are_attributed() {
    let dir = TempDir::new("fork");
    let target = dir.path().join("out");
    let t = target.display();
    let script = format!("dd if=/dev/zero of={t} bs=1000 count=3 2>/dev/null; echo done >> {t}");
    let p = record(&dir, &[], &["sh", "-c", &script]);
    lost_nothing(&p);
    let f = file(&p, &target);
    assert_eq!(f["comms"], json!(["dd", "sh"]), "{f:#}");
    assert_eq!(
        f["syscalls"]["write"],
        sc_json(&ok_sc("write", &[1000, 1000, 1000, 5], &[1000, 1000, 1000, 5], 3005)),
        "{f:#}"
    );
    // dd: close after dup2 onto fd 1, close(1) at exit; sh: close after dup2.
    assert_eq!(f["syscalls"]["close"], sc_json(&close(3)), "{f:#}");
    assert_eq!(f["write_bytes"], 3005);
    assert_eq!(f["seq_write_hist"], hist(&[3000, 5]));
    assert_eq!(f["rewrites"], 0);
}

// ---------------------------------------------------------------- filters

/// -c NAME: a process exec'ed as NAME after recording began is traced (the
/// exerciser, copied as NAME, with its forked child), another process (the
/// same exerciser under its own name) is not. -c needs a process with that
/// comm at start: a copy of sleep named NAME idles meanwhile.
#[test]
fn comm_filter_traces_processes_exec_ed_later() {
    let dir = TempDir::new("comm");
    let bin = build_workload(dir.path(), "syscalls");
    let name = format!("iotc{}", std::process::id());
    for sub in ["idle", "bin", "traced", "other"] {
        std::fs::create_dir(dir.path().join(sub)).unwrap();
    }
    let idle = dir.path().join("idle").join(&name);
    std::fs::copy(which("sleep"), &idle).unwrap();
    let renamed = dir.path().join("bin").join(&name);
    std::fs::copy(&bin, &renamed).unwrap();
    let idle_proc = Reap(Command::new(&idle).arg("30").spawn().unwrap());
    // Wait until the kernel reports the new comm (exec done).
    let pid = idle_proc.0.id();
    let t0 = std::time::Instant::now();
    while std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default().trim() != name {
        assert!(t0.elapsed().as_secs() < 10, "{} never ran as {name}", idle.display());
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let rec = Recording::start(&dir, &["-c", &name]);
    let (traced, other) = (dir.path().join("traced"), dir.path().join("other"));
    ok(Command::new(&renamed).arg(&traced));
    ok(Command::new(&bin).arg(&other));
    let p = rec.stop();
    assert_eq!(p["filters"]["comms"], json!([name]));
    // Exactly the renamed exerciser's files, all exact; nothing of "syscalls".
    check_exerciser(&p, &traced, &name, &[]);
}

/// -p PID: of two identical shells, both started before recording and both
/// writing 10 x 4 bytes once released, only the one named by -p appears.
#[test]
fn pid_filter_excludes_other_processes() {
    let dir = TempDir::new("pid");
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    // `read` waits on a pipe from us; all commands are dash builtins.
    let shell = |target: &Path| {
        let script =
            format!("read go; exec >{}; i=0; while [ $i -lt 10 ]; do printf abcd; i=$((i+1)); done", target.display());
        Reap(Command::new("sh").args(["-c", &script]).stdin(Stdio::piped()).stdout(Stdio::null()).spawn().unwrap())
    };
    let (mut sa, mut sb) = (shell(&a), shell(&b));
    let pid = sa.0.id().to_string();
    let rec = Recording::start(&dir, &["-p", &pid]);
    for s in [&mut sa, &mut sb] {
        s.0.stdin.take().unwrap().write_all(b"go\n").unwrap();
    }
    for s in [&mut sa, &mut sb] {
        assert!(s.0.wait().unwrap().success());
    }
    let p = rec.stop();
    lost_nothing(&p);
    assert_eq!(paths(&p), vec![a.to_str().unwrap().to_string()], "only the -p shell's file: {:#}", p["files"]);
    let f = file(&p, &a);
    assert_eq!(f["comms"], json!(["sh"]));
    assert_eq!(f["syscalls"]["write"], sc_json(&ok_sc("write", &[4; 10], &[4; 10], 40)), "{f:#}");
    // `exec >a`: open, dup2 onto fd 1, close of the original fd; fd 1 closes at exit.
    assert_eq!(f["syscalls"]["close"], sc_json(&close(1)), "{f:#}");
    assert_eq!(f["seq_write_hist"], hist(&[40]));
    assert_eq!(std::fs::metadata(&b).unwrap().len(), 40, "the other shell did write");
}

// ---------------------------------------------------------------- short-lived processes

/// `sh -c 'echo x > F'`: opens, writes 2 bytes and exits at once; F has
/// the right path and counts, both when it is the recorded command and when
/// it merely runs during a system-wide recording.
#[test]
fn short_lived_process_is_attributed() {
    let dir = TempDir::new("quick");
    let check_f = |p: &Value, target: &Path| {
        let f = file(p, target);
        assert_eq!(f["mntns"], host_mntns());
        assert_eq!(f["comms"], json!(["sh"]), "{f:#}");
        assert_eq!(f["syscalls"]["write"], sc_json(&ok_sc("write", &[2], &[2], 2)), "{f:#}");
        // open, save fd 1, dup2 onto fd 1, close the original: 1 close; the
        // restoring dup2 releases the file without close(2).
        assert_eq!(f["syscalls"]["close"], sc_json(&close(1)), "{f:#}");
        assert_eq!(f["syscalls"].as_object().unwrap().len(), 2, "{f:#}");
        assert_eq!(f["write_bytes"], 2);
        assert_eq!(f["seq_write_hist"], hist(&[2]));
        let md = std::fs::metadata(target).unwrap();
        assert_eq!(f["inodes"], json!([inode(&md)]));
    };
    let cmd_target = dir.path().join("cmd");
    let p = record(&dir, &[], &["sh", "-c", &format!("echo x > {}", cmd_target.display())]);
    lost_nothing(&p);
    check_f(&p, &cmd_target);

    // System-wide: no filter at all. (Not lost_nothing: whatever else runs
    // on the host meanwhile is traced too, and a burst of new files there
    // may overflow the path ring buffer; our file is checked by path.)
    let all_target = dir.path().join("all");
    let rec = Recording::start(&dir, &[]);
    ok(Command::new("sh").args(["-c", &format!("echo x > {}", all_target.display())]));
    let p = rec.stop();
    check_f(&p, &all_target);
    no_file(&p, &cmd_target);
}
