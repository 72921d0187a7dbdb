//! `iotrace doctor` must tell the truth about the running kernel, checked
//! against facts these tests find on their own.

mod common;

use std::path::Path;
use std::sync::Mutex;

use common::*;
use serde_json::Value;

/// The tracefs test unmounts tracefs; keep the other tests of this binary off it meanwhile.
static TRACEFS: Mutex<()> = Mutex::new(());

fn doctor_json() -> Value {
    let o = ok(iotrace().args(["doctor", "--json"]));
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("doctor --json is not JSON: {e}\n{}", stdout(&o)))
}

fn feature(v: &Value, name: &str) -> bool {
    v["features"][name]["ok"].as_bool().unwrap_or_else(|| panic!("no feature {name} in {v:#}"))
}

#[test]
fn doctor_matches_independent_facts() {
    let _g = TRACEFS.lock().unwrap_or_else(|e| e.into_inner());
    let v = doctor_json();
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    assert_eq!(v["kernel"], release.trim());
    assert_eq!(feature(&v, "btf"), Path::new("/sys/kernel/btf/vmlinux").exists(), "{v:#}");
    // A kprobe needs the kprobe PMU (4.17+) or tracefs kprobe_events.
    let kprobes = Path::new("/sys/bus/event_source/devices/kprobe/type").exists()
        || Path::new("/sys/kernel/tracing/kprobe_events").exists();
    assert_eq!(feature(&v, "kprobe"), kprobes, "{v:#}");
    // These host-kernel tests only run where tracepoint programs work (4.7+).
    assert!(feature(&v, "tracepoint"), "{v:#}");
    assert!(feature(&v, "perf_buffer"), "{v:#}");
    assert!(feature(&v, "syscall_tracepoints"), "{v:#}");
    // fentry and tp_btf need BTF; the ring buffer postdates global data and loops.
    for f in ["fentry", "tp_btf"] {
        assert!(!feature(&v, f) || feature(&v, "btf"), "{f} without btf: {v:#}");
    }
    if feature(&v, "ringbuf") {
        assert!(feature(&v, "global_data") && feature(&v, "bounded_loops"), "{v:#}");
    }
    let jit = std::fs::read_to_string("/proc/sys/net/core/bpf_jit_enable").unwrap_or_default();
    assert_eq!(feature(&v, "bpf_jit"), !jit.trim().is_empty() && jit.trim() != "0");
}

#[test]
fn doctor_table_lists_every_feature() {
    let _g = TRACEFS.lock().unwrap_or_else(|e| e.into_inner());
    let v = doctor_json();
    let table = stdout(&ok(iotrace().arg("doctor")));
    for (name, f) in v["features"].as_object().unwrap() {
        let want = if f["ok"].as_bool().unwrap() { "yes" } else { "no" };
        let line = table
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("{name} missing:\n{table}"));
        assert_eq!(line.split_whitespace().nth(1), Some(want), "{line}");
    }
}

fn tracefs_mounted() -> bool {
    std::fs::read_to_string("/proc/self/mounts")
        .unwrap()
        .lines()
        .any(|l| l.split_whitespace().nth(2) == Some("tracefs"))
}

#[test]
fn doctor_mounts_tracefs_when_missing() {
    let _g = TRACEFS.lock().unwrap_or_else(|e| e.into_inner());
    // Unmount every tracefs (stacked mounts and debugfs' automount included).
    for _ in 0..8 {
        if !tracefs_mounted() {
            break;
        }
        for m in ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"] {
            let _ = std::process::Command::new("umount").arg(m).output();
        }
    }
    assert!(!tracefs_mounted(), "could not unmount tracefs for the test");
    let v = doctor_json();
    assert_eq!(v["tracefs"]["mounted_by_iotrace"], true, "{v:#}");
    assert!(tracefs_mounted());
    assert!(feature(&v, "tracepoint"), "{v:#}");
}

#[test]
fn bad_usage_is_one_line_and_exit_2() {
    for args in [&["--bogus"][..], &["doctor", "--nope"], &["frobnicate"]] {
        let o = run(iotrace().args(args));
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = stderr(&o);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("iotrace: "), "{err}");
    }
}

#[test]
fn help_has_usage_and_examples() {
    for args in [&["--help"][..], &["doctor", "--help"]] {
        let out = stdout(&ok(iotrace().args(args)));
        assert!(out.starts_with("Usage: iotrace"), "{out}");
        assert!(out.contains("Examples:"), "{out}");
    }
}

#[test]
fn unprivileged_is_refused_clearly() {
    // setpriv: become nobody; a non-root execve drops every capability.
    let o = run(std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_iotrace"))
        .arg("doctor"));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(
        stderr(&o).trim(),
        "iotrace: must run as root (CAP_SYS_ADMIN, or CAP_BPF + CAP_PERFMON on 5.8+): run it with sudo"
    );
}
