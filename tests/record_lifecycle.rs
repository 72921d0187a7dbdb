//! `iotrace record` as a Unix tool: the traced command's exit status, a
//! command that cannot run refused before attaching, -p ending with its
//! processes (and covering their existing children and threads), -c waiting
//! for its process, a Ctrl-C while attaching starting nothing.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

fn profile(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn write_bytes_of(p: &Value, path: &Path) -> Option<u64> {
    let want = path.to_str().unwrap();
    p["files"].as_array().unwrap().iter().find(|f| f["path"] == want).map(|f| f["write_bytes"].as_u64().unwrap())
}

/// Start `iotrace record ARGS` in the background and wait until it records.
fn start(args: &[&str], out: &Path) -> (Reap, BufReader<std::process::ChildStderr>) {
    let mut child = iotrace().arg("record").args(args).arg("-o").arg(out).stderr(Stdio::piped()).spawn().unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let guard = Reap(child);
    loop {
        let mut line = String::new();
        assert_ne!(err.read_line(&mut line).unwrap(), 0, "iotrace exited before recording");
        if line.contains("recording with strategy") {
            return (guard, err);
        }
    }
}

/// Wait (at most 30 s) for the child to exit.
fn wait(g: &mut Reap) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(st) = g.0.try_wait().unwrap() {
            return st;
        }
        assert!(Instant::now() < deadline, "iotrace record did not end");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn exit_status_is_the_commands() {
    let dir = TempDir::new("lifecycle-status");
    let out = dir.path().join("p.json");
    let status = |cmd: &[&str]| {
        let o = run(iotrace().args(["record", "-d", "60", "-o"]).arg(&out).arg("--").args(cmd));
        (o.status.code(), stderr(&o))
    };
    assert_eq!(status(&["sh", "-c", "exit 7"]).0, Some(7));
    assert_eq!(status(&["sh", "-c", "kill -9 $$"]).0, Some(128 + 9));
    assert_eq!(status(&["true"]).0, Some(0));
    // Not found, not executable: sh's statuses, decided before anything is attached.
    let script = dir.path().join("script.sh");
    std::fs::write(&script, "#!/bin/sh\n").unwrap(); // mode 644
    for (cmd, want) in [("/nonexistent/prog", 127), ("no-such-program-xyz", 127), (script.to_str().unwrap(), 126)] {
        let (code, err) = status(&[cmd]);
        assert_eq!(code, Some(want), "{cmd}: {err}");
        assert!(!err.contains("recording"), "{cmd}: attached first: {err}");
        assert_eq!(err.lines().count(), 1, "{cmd}: {err}");
    }
    // `--` with nothing after it is not "trace everything".
    let o = run(iotrace().args(["record", "-d", "5", "-o"]).arg(&out).arg("--"));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(!stderr(&o).contains("recording"), "{}", stderr(&o));
}

#[test]
fn pid_recording_covers_children_and_ends_with_them() {
    let dir = TempDir::new("lifecycle-pid");
    let f = dir.path().join("by-child");
    // The writer is a child the shell has before recording starts; it writes once told to.
    let go = dir.path().join("go");
    let script =
        format!("(while [ ! -e {} ]; do sleep 0.05; done; echo 0123456789 > {}) & wait", go.display(), f.display());
    let mut sh = Reap(std::process::Command::new("sh").args(["-c", &script]).spawn().unwrap());
    std::thread::sleep(Duration::from_millis(200));
    let out = dir.path().join("p.json");
    let (mut rec, _err) = start(&["-d", "60", "-p", &sh.0.id().to_string()], &out);
    std::fs::write(&go, "").unwrap();
    let t0 = Instant::now();
    assert!(wait(&mut rec).success());
    assert!(t0.elapsed() < Duration::from_secs(20), "-p did not end with its process: {:?}", t0.elapsed());
    assert!(sh.0.try_wait().unwrap().is_some());
    assert_eq!(write_bytes_of(&profile(&out), &f), Some(11), "the existing child's write");
}

#[test]
fn pid_of_a_thread_means_its_process() {
    let dir = TempDir::new("lifecycle-tid");
    let f = dir.path().join("by-thread");
    let go = dir.path().join("go");
    // The thread writes once told to.
    let code = format!(
        "import threading, time, os\n\
         def work():\n    while not os.path.exists('{}'): time.sleep(0.05)\n    \
         fd = os.open('{}', os.O_WRONLY | os.O_CREAT)\n    os.write(fd, b'abc')\n    os.close(fd)\n\
         t = threading.Thread(target=work); t.start(); t.join()\n",
        go.display(),
        f.display()
    );
    let py = Reap(std::process::Command::new("python3").args(["-c", &code]).spawn().unwrap());
    let pid = py.0.id();
    let tasks = || -> Vec<u32> {
        std::fs::read_dir(format!("/proc/{pid}/task"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_str().unwrap().parse().unwrap())
            .collect()
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    let tid = loop {
        if let Some(t) = tasks().into_iter().find(|t| *t != pid) {
            break t;
        }
        assert!(Instant::now() < deadline, "no thread");
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = dir.path().join("p.json");
    let (mut rec, mut err) = start(&["-d", "60", "-p", &tid.to_string()], &out);
    std::fs::write(&go, "").unwrap();
    assert!(wait(&mut rec).success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut err, &mut rest).unwrap();
    assert_eq!(write_bytes_of(&profile(&out), &f), Some(3), "{rest}");
    let _ = py;
}

#[test]
fn comm_waits_for_its_process() {
    let dir = TempDir::new("lifecycle-comm");
    // A comm no other process has: a copy of dd under a unique name.
    let exe = dir.path().join(format!("iotw{}", std::process::id() % 100_000));
    std::fs::copy("/bin/dd", &exe).unwrap();
    let comm = exe.file_name().unwrap().to_str().unwrap().to_string();
    let f = dir.path().join("by-comm");
    let out = dir.path().join("p.json");
    let (mut rec, _err) = start(&["-d", "60", "-c", &comm], &out);
    let o = run(std::process::Command::new(&exe)
        .arg("if=/dev/zero")
        .arg(format!("of={}", f.display()))
        .args(["bs=100", "count=3"]));
    assert!(o.status.success());
    // SAFETY: plain kill(2) of our own child, not reaped yet.
    assert_eq!(unsafe { libc::kill(rec.0.id() as i32, libc::SIGTERM) }, 0);
    assert!(wait(&mut rec).success());
    assert_eq!(write_bytes_of(&profile(&out), &f), Some(300));
}

/// Has `pid` a handler for SIGINT (bit 2 of SigCgt in /proc/PID/status)?
fn catches_sigint(pid: u32) -> bool {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("SigCgt:"))
        .and_then(|m| u64::from_str_radix(m.trim(), 16).ok())
        .is_some_and(|m| m & (1 << (libc::SIGINT - 1)) != 0)
}

#[test]
fn ctrl_c_while_attaching_starts_nothing() {
    let dir = TempDir::new("lifecycle-early");
    let marker = dir.path().join("ran");
    let out = dir.path().join("p.json");
    let mut rec = Reap(
        iotrace()
            .args(["record", "-d", "60", "-o"])
            .arg(&out)
            .args(["--", "touch"])
            .arg(&marker)
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // The handlers are installed before the first load: Ctrl-C right then,
    // tens of milliseconds before attaching ends.
    let pid = rec.0.id();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !catches_sigint(pid) {
        assert!(Instant::now() < deadline, "iotrace never installed its SIGINT handler");
        std::thread::sleep(Duration::from_micros(200));
    }
    // SAFETY: plain kill(2) of our own child, not reaped yet.
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGINT) }, 0);
    let status = wait(&mut rec);
    // As a shell reports a command stopped by SIGINT: the command was not run.
    assert_eq!(status.code(), Some(128 + libc::SIGINT), "killed by the signal, or exit 0 for a command not run");
    std::thread::sleep(Duration::from_millis(500));
    assert!(!marker.exists(), "the command ran after Ctrl-C");
}
