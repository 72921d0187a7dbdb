//! `iotrace record` on real workloads with known I/O patterns: exact counts,
//! bytes and histogram buckets.

mod common;

use std::process::Command;

use common::*;
use serde_json::Value;

fn bucket(lo: u64, hi: u64, count: u64) -> Value {
    serde_json::json!({"lo": lo, "hi": hi, "count": count})
}

/// Every attach strategy that works on the host kernel (legacy works everywhere).
const STRATEGIES: [&str; 4] = ["tp_btf", "raw_tp", "tracepoint", "legacy"];

#[test]
fn dd_sequential_writes_are_exact() {
    for strategy in STRATEGIES {
        dd_sequential_writes(strategy);
    }
}

fn dd_sequential_writes(strategy: &str) {
    let dir = TempDir::new(&format!("dd-write-{strategy}"));
    let target = dir.path().join("out.dat");
    let of = format!("of={}", target.display());
    let p = record(&dir, &["--strategy", strategy], &["dd", "if=/dev/zero", &of, "bs=4096", "count=2048"]);
    assert_eq!(p["strategy"], strategy);
    let f = file(&p, &target);
    let w = &f["syscalls"]["write"];
    assert_eq!(w["calls"], 2048, "{f:#}");
    assert_eq!(w["bytes"], 8388608);
    assert_eq!(w["errors"], 0);
    assert_eq!(w["request_hist"], serde_json::json!([bucket(4096, 8191, 2048)]));
    assert_eq!(w["completed_hist"], serde_json::json!([bucket(4096, 8191, 2048)]));
    assert_eq!(f["write_bytes"], 8388608);
    assert_eq!(f["read_bytes"], 0);
    assert_eq!(f["rewrites"], 0);
    assert_eq!(f["end_offset"], 8388608);
    // One run covering the whole file: 8 MiB lies in [2^23, 2^24).
    assert_eq!(f["seq_write_hist"], serde_json::json!([bucket(1 << 23, (1 << 24) - 1, 1)]));
    assert_eq!(f["comms"], serde_json::json!(["dd"]));
    assert!(f["first_write_ns"].as_u64().unwrap() <= f["last_write_ns"].as_u64().unwrap());
    // /dev/zero is a character device, dd's stdout/stderr are pipes: never in the profile.
    for x in p["files"].as_array().unwrap() {
        assert!(x["path"].as_str().unwrap().starts_with('/'), "{x:#}");
        assert_ne!(x["path"], "/dev/zero");
    }
    assert_eq!(p["lost"], serde_json::json!({"inflight_full": 0, "map_full": 0, "path_events": 0}));
    assert!(p["skipped_runs"].is_u64(), "skipped_runs: {}", p["skipped_runs"]);
}

fn fio(dir: &TempDir, strategy: &str, name: &str, extra: &[&str]) -> (Value, std::path::PathBuf) {
    let target = dir.path().join(name);
    let filename = format!("--filename={}", target.display());
    let mut cmd = vec!["fio", "--name=t", &filename, "--ioengine=psync", "--size=8m", "--randrepeat=1"];
    cmd.extend_from_slice(extra);
    // Lay the file out first, outside the recording, so only the job's I/O counts.
    ok(Command::new("dd")
        .args(["if=/dev/zero", &format!("of={}", target.display()), "bs=1M", "count=8"])
        .stderr(std::process::Stdio::null()));
    (record(dir, &["--strategy", strategy], &cmd), target)
}

/// fio's libaio engine, O_DIRECT, 16 in flight: every iocb as fio counts it.
#[test]
fn fio_libaio_is_exact() {
    for s in STRATEGIES {
        fio_libaio(s);
    }
}

fn fio_libaio(strategy: &str) {
    let dir = TempDir::new(&format!("fio-libaio-{strategy}"));
    let out = dir.path().join("fio.json");
    let output = format!("--output={}", out.display());
    let args = ["--ioengine=libaio", "--direct=1", "--iodepth=16", "--rw=randrw", "--bs=4k", "--output-format=json"];
    let (p, target) = fio(&dir, strategy, "aio.dat", &[&args[..], &[output.as_str()]].concat());
    let job = &serde_json::from_slice::<Value>(&std::fs::read(&out).unwrap()).unwrap()["jobs"][0];
    let f = file(&p, &target);
    assert_eq!(p["unsupported"], unsupported(strategy));
    as_fio_counted(f, job, ["aio_pread", "aio_pwrite"], strategy);
    assert_eq!(f["opens"]["direct"], 1, "{f:#}");
    assert_eq!(p["lost"], serde_json::json!({"inflight_full": 0, "map_full": 0, "path_events": 0}));
}

/// The legacy strategy walks an AIO batch by tail calls, 32 items at most
/// (MAX_TAIL_CALL_CNT): fio submitting and reaping 64 at a time loses the
/// rest, and says how many. Every iocb is either counted or lost.
#[test]
fn legacy_aio_batches_past_32_count_as_lost() {
    let dir = TempDir::new("fio-libaio-batch");
    let out = dir.path().join("fio.json");
    let output = format!("--output={}", out.display());
    let args = [
        "--ioengine=libaio",
        "--direct=1",
        "--iodepth=64",
        "--iodepth_batch_submit=64",
        "--iodepth_batch_complete_min=64",
        "--rw=randread",
        "--bs=4k",
        "--output-format=json",
        output.as_str(),
    ];
    let (p, target) = fio(&dir, "legacy", "batch.dat", &args);
    let job = &serde_json::from_slice::<Value>(&std::fs::read(&out).unwrap()).unwrap()["jobs"][0];
    let ios = job["read"]["total_ios"].as_u64().unwrap();
    let f = file(&p, &target);
    let seen = f["syscalls"]["aio_pread"]["calls"].as_u64().unwrap();
    let lost = p["lost"]["inflight_full"].as_u64().unwrap();
    // Each batch of 64 loses its last 32 iocbs at submission and its last 32 events at the
    // reap: an iocb not counted is among them.
    assert!(seen > 0 && seen < ios && lost >= ios - seen, "{seen} seen, {lost} lost of {ios}: {f:#}");
}

/// The file's 4 KiB reads and writes of `kinds` ([read, write]) are fio's
/// own: its I/O counts and bytes (`job`: its JSON report's job).
fn as_fio_counted(f: &Value, job: &Value, kinds: [&str; 2], what: &str) {
    for (kind, dir) in kinds.iter().zip(["read", "write"]) {
        let (ios, bytes) = (job[dir]["total_ios"].as_u64().unwrap(), job[dir]["io_bytes"].as_u64().unwrap());
        assert!(ios > 100, "fio {dir}: {ios} I/Os");
        let c = &f["syscalls"][kind];
        assert_eq!(
            (c["calls"].as_u64(), c["bytes"].as_u64(), c["errors"].as_u64()),
            (Some(ios), Some(bytes), Some(0)),
            "{what} {kind}: {f:#}"
        );
        assert_eq!(c["request_hist"], serde_json::json!([bucket(4096, 8191, ios)]), "{what} {kind}");
        assert_eq!(c["completed_hist"], serde_json::json!([bucket(4096, 8191, ios)]), "{what} {kind}");
        assert_eq!(f[format!("{dir}_bytes")], bytes, "{what}");
    }
}

/// What the host kernel (6.x) lets each strategy see.
fn unsupported(strategy: &str) -> Value {
    match strategy {
        "legacy" => serde_json::json!(["ia32_syscalls", "io_uring"]),
        "tracepoint" => serde_json::json!(["ia32_syscalls"]),
        _ => serde_json::json!([]),
    }
}

/// fio's io_uring engine, 8 in flight: every request as fio counts it, under
/// the opcode fio chose, with the files and buffers registered or not, with
/// a kernel thread submitting (SQPOLL: still the fio process), vectored with
/// an fsync every 8 writes, and O_DIRECT.
#[test]
fn fio_io_uring_is_exact() {
    const VARIANTS: &[(&[&str], &str, &str)] = &[
        (&[], "uring_read", "uring_write"),
        (&["--fixedbufs=1", "--registerfiles=1"], "uring_read_fixed", "uring_write_fixed"),
        (&["--sqthread_poll=1"], "uring_read", "uring_write"),
        (&["--nonvectored=0", "--fsync=8"], "uring_readv", "uring_writev"),
        (&["--direct=1", "--fixedbufs=1"], "uring_read_fixed", "uring_write_fixed"),
    ];
    for s in STRATEGIES {
        for (i, (args, read, write)) in VARIANTS.iter().enumerate() {
            fio_io_uring(s, i, args, [read, write]);
        }
    }
}

fn fio_io_uring(strategy: &str, variant: usize, extra: &[&str], kinds: [&str; 2]) {
    let dir = TempDir::new(&format!("fio-uring-{strategy}-{variant}"));
    let out = dir.path().join("fio.json");
    let output = format!("--output={}", out.display());
    let args = ["--ioengine=io_uring", "--iodepth=8", "--rw=randrw", "--bs=4k", "--output-format=json"];
    let (p, target) = fio(&dir, strategy, "uring.dat", &[&args[..], extra, &[output.as_str()]].concat());
    let job = &serde_json::from_slice::<Value>(&std::fs::read(&out).unwrap()).unwrap()["jobs"][0];
    let f = file(&p, &target);
    let what = format!("{strategy} {extra:?}");
    assert_eq!(p["unsupported"], unsupported(strategy), "{what}");
    if strategy == "legacy" {
        assert!(f["syscalls"].as_object().unwrap().keys().all(|k| !k.starts_with("uring_")), "{what}: {f:#}");
        return;
    }
    as_fio_counted(f, job, kinds, &what);
    let syncs = job["sync"]["total_ios"].as_u64().unwrap_or(0);
    assert_eq!(f["syscalls"]["uring_fsync"]["calls"].as_u64().unwrap_or(0), syncs, "{what}: {f:#}");
    assert_eq!(f["fsync"]["calls"], syncs, "{what}");
    // SQPOLL's kernel thread (iou-sqp-PID) is a thread of fio.
    assert_eq!(f["comms"], serde_json::json!(["fio"]), "{what}");
    assert_eq!(p["lost"], serde_json::json!({"inflight_full": 0, "map_full": 0, "path_events": 0}));
}

#[test]
fn fio_write_4k_is_2048_pwrites() {
    for s in STRATEGIES {
        fio_write_4k(s);
    }
}

fn fio_write_4k(strategy: &str) {
    let dir = TempDir::new(&format!("fio-write-{strategy}"));
    let (p, target) = fio(&dir, strategy, "w.dat", &["--rw=write", "--bs=4k"]);
    let f = file(&p, &target);
    // fio's psync engine issues pwrite64 at explicit offsets.
    let w = &f["syscalls"]["pwrite64"];
    assert_eq!(w["calls"], 2048, "{f:#}");
    assert_eq!(w["bytes"], 8388608);
    assert_eq!(w["completed_hist"], serde_json::json!([bucket(4096, 8191, 2048)]));
    assert_eq!(f["seq_write_hist"], serde_json::json!([bucket(1 << 23, (1 << 24) - 1, 1)]));
    assert_eq!(f["comms"], serde_json::json!(["fio"]));
}

#[test]
fn fio_randread_16k_is_512_preads() {
    for s in STRATEGIES {
        fio_randread_16k(s);
    }
}

fn fio_randread_16k(strategy: &str) {
    let dir = TempDir::new(&format!("fio-randread-{strategy}"));
    let (p, target) = fio(&dir, strategy, "r.dat", &["--rw=randread", "--bs=16k"]);
    let f = file(&p, &target);
    let r = &f["syscalls"]["pread64"];
    assert_eq!(r["calls"], 512, "{f:#}");
    assert_eq!(r["bytes"], 8388608);
    assert_eq!(r["request_hist"], serde_json::json!([bucket(16384, 32767, 512)]));
    assert_eq!(f["read_bytes"], 8388608);
    // Random order: the runs' lengths add up to the file, and there are many.
    let runs = f["seq_read_hist"].as_array().unwrap();
    let n: u64 = runs.iter().map(|b| b["count"].as_u64().unwrap()).sum();
    assert!(n > 100, "a random read job made only {n} sequential runs: {f:#}");
}

#[test]
fn fio_fsync_every_16_writes() {
    for s in STRATEGIES {
        fio_fsync_16(s);
    }
}

fn fio_fsync_16(strategy: &str) {
    let dir = TempDir::new(&format!("fio-fsync-{strategy}"));
    let (p, target) = fio(&dir, strategy, "s.dat", &["--rw=randwrite", "--bs=4k", "--fsync=16"]);
    let f = file(&p, &target);
    assert_eq!(f["syscalls"]["pwrite64"]["calls"], 2048, "{f:#}");
    // fio fsyncs after every 16th write but not after the last batch
    // (strace -c agrees: 127 fsync): 127 fsyncs, each after 16 x 4 KiB.
    let fs = &f["fsync"];
    assert_eq!(fs["calls"], 127, "{fs:#}");
    assert_eq!(fs["bytes"], 127 * 65536);
    assert_eq!(fs["bytes_between_hist"], serde_json::json!([bucket(65536, 131071, 127)]));
    let lat: u64 = fs["latency_hist"].as_array().unwrap().iter().map(|b| b["count"].as_u64().unwrap()).sum();
    assert_eq!(lat, 127);
    assert_eq!(f["syscalls"]["fsync"]["calls"], 127);
}

#[test]
fn errors_are_counted_by_errno() {
    for s in STRATEGIES {
        errors_by_errno(s);
    }
}

fn errors_by_errno(strategy: &str) {
    let dir = TempDir::new(&format!("errors-{strategy}"));
    let target = dir.path().join("ro.dat");
    std::fs::write(&target, b"x").unwrap();
    // Writing to a read-only fd fails with EBADF on that file.
    let script = format!("exec 3<{}; echo hi >&3; exec 3<&-", target.display());
    let p = record(&dir, &["--strategy", strategy], &["sh", "-c", &script]);
    let f = file(&p, &target);
    let w = &f["syscalls"]["write"];
    assert_eq!(w["calls"], 1, "{f:#}");
    assert_eq!(w["errors"], 1);
    assert_eq!(w["errnos"], serde_json::json!({"EBADF": 1}));
    assert_eq!(w["completed_hist"], serde_json::json!([]));
    assert_eq!(f["write_bytes"], 0);
}

#[test]
fn unwritable_output_fails_before_tracing() {
    let o = run(iotrace().args(["record", "-o", "/nonexistent-dir/p.json", "--", "true"]));
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("cannot write profile /nonexistent-dir/p.json"), "{err}");
}

#[test]
fn unknown_pid_is_an_error_and_an_unknown_comm_is_waited_for() {
    let o = run(iotrace().args(["record", "-p", "999999999", "-d", "1"]));
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(stderr(&o).trim(), "iotrace: no such process: 999999999");
    let dir = TempDir::new("wait-comm");
    let out = dir.path().join("p.json");
    let o = run(iotrace().args(["record", "-c", "no-such-comm-x", "-d", "1", "-o"]).arg(&out));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("no process named no-such-comm-x yet: waiting"), "{}", stderr(&o));
}

#[test]
fn file_opened_before_recording_is_attributed() {
    for s in STRATEGIES {
        preopened(s);
    }
}

fn preopened(strategy: &str) {
    use std::io::BufRead;
    let dir = TempDir::new(&format!("preopened-{strategy}"));
    let target = dir.path().join("pre.dat");
    let go = dir.path().join("go");
    // fd 3 is opened at once; the 100 writes of 4 bytes wait until recording runs.
    let script = format!(
        "exec 3>{}; while [ ! -e {} ]; do sleep 0.05; done; i=0; while [ $i -lt 100 ]; do printf abcd >&3; i=$((i+1)); done",
        target.display(),
        go.display()
    );
    let mut child = Command::new("sh").args(["-c", &script]).spawn().unwrap();
    let out = dir.path().join("profile.json");
    let pid = child.id().to_string();
    let mut rec = iotrace()
        .args(["record", "--strategy", strategy, "-p", &pid, "-d", "3", "-o"])
        .arg(&out)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let mut err = std::io::BufReader::new(rec.stderr.take().unwrap());
    err.read_line(&mut line).unwrap();
    assert!(line.starts_with("iotrace: recording"), "{line}");
    std::fs::write(&go, b"").unwrap();
    child.wait().unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut err, &mut rest).unwrap();
    assert!(rec.wait().unwrap().success(), "{rest}");
    let p: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let f = file(&p, &target);
    assert_eq!(f["syscalls"]["write"]["calls"], 100, "{f:#}");
    assert_eq!(f["write_bytes"], 400);
    // printf >&3 writes at the fd position: one sequential run of 400 bytes.
    assert_eq!(f["seq_write_hist"], serde_json::json!([bucket(256, 511, 1)]));
}

#[test]
fn interval_snapshots_are_a_growing_time_series() {
    let dir = TempDir::new("interval");
    let target = dir.path().join("slow.dat");
    // 8 writes of 4 bytes, 0.25 s apart: about 2 s of activity.
    let script = format!(
        "exec 3>{}; i=0; while [ $i -lt 8 ]; do printf abcd >&3; sleep 0.25; i=$((i+1)); done",
        target.display()
    );
    let p = record(&dir, &["--interval", "0.5"], &["sh", "-c", &script]);
    assert_eq!(p["interval_ns"], 500_000_000);
    let snaps = p["snapshots"].as_array().unwrap();
    assert!(snaps.len() >= 3, "{} snapshots over ~2 s at 0.5 s", snaps.len());
    let want = target.to_str().unwrap();
    let index = p["files"].as_array().unwrap().iter().position(|f| f["path"] == want).unwrap();
    let mut last = (0, 0);
    let mut midway = false;
    for s in snaps {
        let t = s["t_ns"].as_u64().unwrap();
        assert!(t > last.0 && t >= p["start_ns"].as_u64().unwrap() && t <= p["end_ns"].as_u64().unwrap());
        // A snapshot lists the files that changed since the one before.
        let w = s["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["file"] == index)
            .map_or(last.1, |f| f["write_bytes"].as_u64().unwrap());
        assert!(w >= last.1 && w <= 32 && w % 4 == 0, "write_bytes went {} -> {w}", last.1);
        midway |= w > 0 && w < 32;
        last = (t, w);
    }
    assert!(midway, "no snapshot caught the file mid-way: {snaps:#?}");
    assert_eq!(file(&p, &target)["write_bytes"], 32);
}

#[test]
fn sigint_still_writes_a_complete_profile() {
    let dir = TempDir::new("sigint");
    let out = dir.path().join("p.json");
    let pidfile = dir.path().join("sleep.pid");
    let script = format!("echo $$ > {}; exec sleep 30", pidfile.display());
    let mut rec = Reap(
        iotrace()
            .args(["record", "-d", "60", "-o"])
            .arg(&out)
            .args(["--", "sh", "-c", &script])
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut err = std::io::BufReader::new(rec.0.stderr.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut err, &mut line).unwrap();
    assert!(line.starts_with("iotrace: recording"), "{line}");
    // Ctrl-C once the command runs (a Ctrl-C before would start nothing).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !std::fs::read_to_string(&pidfile).is_ok_and(|s| s.ends_with('\n')) {
        assert!(std::time::Instant::now() < deadline, "the command never started");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    // SAFETY: plain kill(2) of our own child, which has not been reaped.
    assert_eq!(unsafe { libc::kill(rec.0.id() as i32, libc::SIGINT) }, 0);
    let t0 = std::time::Instant::now();
    let st = rec.0.wait().unwrap();
    let stopped_in = t0.elapsed();
    // The command is left running (as documented): end it by its own pid, before any assertion.
    let sleep: i32 = std::fs::read_to_string(&pidfile).unwrap().trim().parse().unwrap();
    // SAFETY: plain kill(2) of the sleep this test started (its pid written by itself).
    assert_eq!(unsafe { libc::kill(sleep, libc::SIGKILL) }, 0);
    assert!(st.success());
    assert!(stopped_in < std::time::Duration::from_secs(5), "stopping took {stopped_in:?}");
    let p: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(p["version"], 2);
    assert!(p["end_ns"].as_u64().unwrap() > p["start_ns"].as_u64().unwrap());
    // No temporary file is left beside the profile.
    let mut left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    left.sort();
    assert_eq!(left, ["p.json", "sleep.pid"]);
}

#[test]
fn fio_read_4k_is_one_sequential_run() {
    for s in STRATEGIES {
        let dir = TempDir::new(&format!("fio-read-{s}"));
        let (p, target) = fio(&dir, s, "rd.dat", &["--rw=read", "--bs=4k"]);
        let f = file(&p, &target);
        let r = &f["syscalls"]["pread64"];
        assert_eq!(r["calls"], 2048, "{s}: {f:#}");
        assert_eq!(r["bytes"], 8388608);
        assert_eq!(r["completed_hist"], serde_json::json!([bucket(4096, 8191, 2048)]));
        assert_eq!(f["seq_read_hist"], serde_json::json!([bucket(1 << 23, (1 << 24) - 1, 1)]), "{s}");
        assert_eq!(f["write_bytes"], 0);
    }
}

/// Mixed reads and writes of 4 KiB and 16 KiB (fio picks each size at
/// random): whatever the mix, every request is one of the two sizes and the
/// bytes add up to the job's 8 MiB.
#[test]
fn fio_readwrite_bssplit_adds_up() {
    for s in STRATEGIES {
        let dir = TempDir::new(&format!("fio-rw-{s}"));
        let (p, target) = fio(&dir, s, "rw.dat", &["--rw=readwrite", "--bssplit=4k/50:16k/50"]);
        let f = file(&p, &target);
        let mut total = 0;
        for (sc, dir_bytes) in [("pread64", "read_bytes"), ("pwrite64", "write_bytes")] {
            let x = &f["syscalls"][sc];
            let buckets = x["request_hist"].as_array().unwrap();
            let n = |lo: u64| buckets.iter().find(|b| b["lo"] == lo).map_or(0, |b| b["count"].as_u64().unwrap());
            let (n4, n16) = (n(4096), n(16384));
            assert_eq!(n4 + n16, x["calls"].as_u64().unwrap(), "{s} {sc}: only 4k and 16k requests: {x:#}");
            assert!(n4 > 0 && n16 > 0, "{s} {sc}: both sizes used: {x:#}");
            assert_eq!(x["bytes"].as_u64().unwrap(), 4096 * n4 + 16384 * n16, "{s} {sc}");
            assert_eq!(f[dir_bytes], x["bytes"], "{s}");
            total += x["bytes"].as_u64().unwrap();
        }
        assert_eq!(total, 8388608, "{s}: {f:#}");
    }
}

/// memfd and other files without a name never appear, however they are written.
#[test]
fn memfd_never_appears() {
    for s in STRATEGIES {
        let dir = TempDir::new(&format!("anon-{s}"));
        let target = dir.path().join("named.dat");
        let script = format!(
            "import os\nfd = os.memfd_create('iotrace-memfd')\nos.write(fd, b'x' * 100)\nos.pwrite(fd, b'y', 5)\nos.fsync(fd)\nos.close(fd)\nwith open('{}', 'wb') as f: f.write(b'z' * 7)\n",
            target.display()
        );
        let p = record(&dir, &["--strategy", s], &["python3", "-c", &script]);
        assert_eq!(file(&p, &target)["write_bytes"], 7, "{s}");
        // The memfd's 101 bytes are the only other writes: no other file may have them
        // (unfiltered, a memfd shows up under "/" or "/memfd:NAME").
        for x in p["files"].as_array().unwrap() {
            if x["path"] != target.to_str().unwrap() {
                assert_eq!(x["write_bytes"], 0, "{s}: {x:#}");
            }
        }
    }
}
