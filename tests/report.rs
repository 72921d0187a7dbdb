//! `iotrace report` over a real recording of a directory tree.

mod common;

use common::*;
use serde_json::Value;

/// Record a shell writing a small tree with dd: sizes chosen so every sum is checkable.
fn record_tree(dir: &TempDir) -> std::path::PathBuf {
    let root = dir.path().join("tree");
    let script = format!(
        "set -e; mkdir -p {r}/a/b {r}/c
         dd if=/dev/zero of={r}/a/x bs=4096 count=3 2>/dev/null
         dd if=/dev/zero of={r}/a/b/y bs=8192 count=1 2>/dev/null
         dd if=/dev/zero of={r}/c/z bs=1000 count=5 conv=fsync 2>/dev/null
         dd if={r}/a/x of=/dev/null bs=2048 2>/dev/null",
        r = root.display()
    );
    let out = dir.path().join("tree.json");
    ok(iotrace().arg("record").arg("-o").arg(&out).args(["--", "sh", "-c", &script]));
    out
}

fn report_json(args: &[&str], profile: &std::path::Path) -> Value {
    let o = ok(iotrace().arg("report").args(args).arg("--json").arg(profile));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn row<'a>(r: &'a Value, name: &str) -> &'a Value {
    r["rows"].as_array().unwrap().iter().find(|x| x["name"] == name).unwrap_or_else(|| panic!("no row {name}: {r:#}"))
}

#[test]
fn file_and_directory_totals_add_up() {
    let dir = TempDir::new("report-tree");
    let profile = record_tree(&dir);
    let root = dir.path().join("tree");
    let p = |s: &str| format!("{}/{s}", root.display());

    let files = report_json(&["--by", "file"], &profile);
    let x = row(&files, &p("a/x"));
    assert_eq!(x["write_bytes"], 12288);
    assert_eq!(x["write_ops"], 3);
    assert_eq!(x["read_bytes"], 12288);
    assert_eq!(x["read_ops"], 7); // 6 reads of 2048 and the one at EOF that returns 0
    assert_eq!(x["write_seq_share"], 2.0 / 3.0);
    assert_eq!(row(&files, &p("a/b/y"))["write_bytes"], 8192);
    let z = row(&files, &p("c/z"));
    assert_eq!(z["write_bytes"], 5000);
    assert_eq!(z["fsync_calls"], 1);
    assert_eq!(z["bytes_per_fsync"], 5000);
    // The totals are the sum of the file rows.
    let rows = files["rows"].as_array().unwrap();
    for k in ["read_bytes", "write_bytes", "read_ops", "write_ops", "calls", "errors", "fsync_calls", "files"] {
        let sum: u64 = rows.iter().map(|r| r[k].as_u64().unwrap()).sum();
        assert_eq!(files["total"][k], sum, "{k}");
    }

    let dirs = report_json(&["--by", "dir"], &profile);
    let a = row(&dirs, &p("a"));
    assert_eq!(a["files"], 2);
    assert_eq!(a["write_bytes"], 12288 + 8192);
    assert_eq!(row(&dirs, &p("a/b"))["write_bytes"], 8192);
    assert_eq!(row(&dirs, &p("c"))["fsync_calls"], 1);
    let t = row(&dirs, &root.display().to_string());
    assert_eq!(t["write_bytes"], 12288 + 8192 + 5000);
    assert_eq!(row(&dirs, "/")["write_bytes"], dirs["total"]["write_bytes"]);

    // Two copies of the same profile merge into the same files, counted twice.
    let o = ok(iotrace().args(["report", "--json"]).arg(&profile).arg(&profile));
    let twice: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(twice["total"]["write_bytes"], files["total"]["write_bytes"].as_u64().unwrap() * 2);
    assert_eq!(twice["total"]["files"], files["total"]["files"]);

    // Table and CSV carry the same rows plus a TOTAL line.
    let csv = stdout(&ok(iotrace().args(["report", "--csv", "--by", "dir", "--depth", "1"]).arg(&profile)));
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("name,files,read_bytes,write_bytes"), "{csv}");
    assert!(lines.last().unwrap().starts_with("TOTAL,"), "{csv}");
    let table = stdout(&ok(iotrace().args(["report", "--top", "2"]).arg(&profile)));
    assert_eq!(table.lines().count(), 1 + 2 + 1, "{table}");
}

#[test]
fn bad_profiles_are_one_clear_error() {
    let dir = TempDir::new("report-bad");
    let profile = record_tree(&dir);
    let text = std::fs::read_to_string(&profile).unwrap();
    let mut future: Value = serde_json::from_str(&text).unwrap();
    future["version"] = 99.into();
    let future = future.to_string();
    let cases = [
        ("truncated.json", &text[..text.len() / 2], "JSON"),
        ("foreign.json", "{\"hello\": 1}", "no \"tool\""),
        ("future.json", future.as_str(), "format version 99"),
    ];
    for (name, content, want) in cases {
        let p = dir.path().join(name);
        std::fs::write(&p, content).unwrap();
        let o = run(iotrace().arg("report").arg(&p));
        assert_eq!(o.status.code(), Some(1), "{name}");
        let err = stderr(&o);
        assert_eq!(err.lines().count(), 1, "{name}: {err}");
        assert!(err.contains(want) && err.contains(name), "{name}: {err}");
    }
    let o = run(iotrace().args(["report", "/nonexistent.json"]));
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("/nonexistent.json"));
    let o = run(iotrace().args(["report"]));
    assert_eq!(o.status.code(), Some(2));
}

/// A copy of `profile` changed by `edit`, written as `name` beside it.
fn edited(profile: &std::path::Path, name: &str, edit: impl FnOnce(&mut Value)) -> std::path::PathBuf {
    let mut doc: Value = serde_json::from_str(&std::fs::read_to_string(profile).unwrap()).unwrap();
    edit(&mut doc);
    let out = profile.with_file_name(name);
    std::fs::write(&out, doc.to_string()).unwrap();
    out
}

#[test]
fn losses_duplicate_profiles_and_hosts_are_said() {
    let dir = TempDir::new("report-said");
    let profile = record_tree(&dir);
    let lossy = edited(&profile, "lossy.json", |d| d["lost"]["map_full"] = 188_050.into());
    let o = ok(iotrace().arg("report").arg(&lossy));
    assert!(
        stderr(&o).contains("188050 updates were lost") && stderr(&o).contains("map_full 188050"),
        "{}",
        stderr(&o)
    );
    assert_eq!(report_json(&[], &lossy)["lost"]["map_full"], 188_050);
    let csv = stdout(&ok(iotrace().args(["report", "--csv"]).arg(&lossy)));
    assert!(csv.lines().next().unwrap().ends_with(",lost_updates"), "{csv}");
    assert!(
        csv.lines().last().unwrap().starts_with("TOTAL,") && csv.lines().last().unwrap().ends_with(",188050"),
        "{csv}"
    );

    let o = ok(iotrace().arg("report").arg(&profile).arg(&profile));
    assert!(stderr(&o).contains("same recording"), "{}", stderr(&o));
    let clean = ok(iotrace().arg("report").arg(&profile));
    assert_eq!(stderr(&clean), "", "a clean profile gives no warning");

    // Another host's recording of the same paths: its rows stay apart.
    let other = edited(&profile, "other.json", |d| d["host"] = "otherhost".into());
    let o = ok(iotrace().args(["report", "--json"]).arg(&profile).arg(&other));
    assert!(stderr(&o).contains("2 hosts"), "{}", stderr(&o));
    let both: Value = serde_json::from_slice(&o.stdout).unwrap();
    let single = report_json(&[], &profile);
    let n = single["rows"].as_array().unwrap().len();
    assert_eq!(both["rows"].as_array().unwrap().len(), 2 * n, "{both:#}");
    assert!(both["rows"].as_array().unwrap().iter().any(|r| r["name"].as_str().unwrap().starts_with("otherhost:/")));
}

#[test]
fn numbers_sizes_and_csv_are_exact() {
    let dir = TempDir::new("report-numbers");
    let profile = record_tree(&dir);
    for (bad, shown) in [(serde_json::json!(1e30), "1e+30"), ((-5).into(), "-5"), (1.5.into(), "1.5")] {
        let p = edited(&profile, "bad-number.json", |d| d["files"][0]["read_bytes"] = bad);
        let o = run(iotrace().arg("report").arg(&p));
        assert_eq!(o.status.code(), Some(1));
        assert!(stderr(&o).contains(&format!("'read_bytes' is {shown}, not a count")), "{}", stderr(&o));
    }
    // W_SIZE is the most common size's bucket: 1000-byte writes are 512-1K, 4096-byte ones 4K-8K.
    let table = stdout(&ok(iotrace().arg("report").arg(&profile)));
    let line = |suffix: &str| table.lines().find(|l| l.split_whitespace().next().unwrap().ends_with(suffix)).unwrap();
    assert!(line("/c/z").split_whitespace().any(|c| c == "512-1K"), "{table}");
    assert!(line("/a/x").split_whitespace().any(|c| c == "4K-8K"), "{table}");

    // CSV: raw numbers, units in the header, RFC 4180 quoting.
    let comma = edited(&profile, "comma.json", |d| {
        for f in d["files"].as_array_mut().unwrap() {
            if f["path"].as_str().unwrap().ends_with("/c/z") {
                f["path"] = "/odd,name \"q\"".into();
            }
        }
    });
    let csv = stdout(&ok(iotrace().args(["report", "--csv"]).arg(&comma)));
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    assert_eq!(&header[..4], ["name", "files", "read_bytes", "write_bytes"], "{csv}");
    assert!(csv.lines().any(|l| l.starts_with("\"/odd,name \"\"q\"\"\",1,0,5000,")), "{csv}");
    assert!(!csv.contains('%') && !csv.contains("K,") && !csv.contains("/s"), "human units in CSV: {csv}");
}

#[test]
fn closed_pipe_and_endless_input_end_quietly() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let dir = TempDir::new("report-pipe");
    let profile = record_tree(&dir);
    // Enough rows that the output cannot fit in a pipe before it is closed.
    let big = edited(&profile, "big.json", |d| {
        let one = d["files"][0].clone();
        let files = d["files"].as_array_mut().unwrap();
        for i in 0..5000 {
            let mut f = one.clone();
            f["path"] = format!("/many/file{i}").into();
            files.push(f);
        }
    });
    for format in [&[][..], &["--csv"], &["--json"]] {
        let mut child = iotrace()
            .arg("report")
            .args(format)
            .arg(&big)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
        let out = child.wait_with_output().unwrap();
        // Ended by SIGPIPE (as head makes cat end), never a panic or an abort.
        use std::os::unix::process::ExitStatusExt;
        assert!(out.status.signal() == Some(libc::SIGPIPE) || out.status.success(), "{format:?}: {}", out.status);
        assert_eq!(String::from_utf8_lossy(&out.stderr), "", "{format:?}");
    }
    // Input that is no profile fails at its first bytes, not after reading forever.
    let mut child = iotrace().args(["report", "/dev/zero"]).stderr(Stdio::piped()).spawn().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break Some(st);
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(status.and_then(|s| s.code()), Some(1), "report /dev/zero did not fail at once");
}

/// ASYNC and COPY: of a file's bytes, those moved by Linux AIO or io_uring and
/// by copies between files (cat copies with copy_file_range: both files);
/// MAPPED: the lengths mmap(2)ed (the exerciser's 27-mmap: 12288 shared, 4096 private).
#[test]
fn async_copy_and_mapped_bytes_have_columns() {
    let dir = TempDir::new("report-via");
    let r = dir.path().display();
    let exerciser = build_workload(dir.path(), "syscalls");
    std::fs::create_dir(dir.path().join("sc")).unwrap();
    let script = format!(
        "set -e; dd if=/dev/zero of={r}/src bs=64k count=1 2>/dev/null; cat {r}/src > {r}/dst
         fio --name=u --filename={r}/u --size=64k --bs=4k --rw=write --ioengine=io_uring --iodepth=4 >/dev/null
         {} {r}/sc",
        exerciser.display()
    );
    let out = dir.path().join("via.json");
    ok(iotrace().arg("record").arg("-o").arg(&out).args(["--", "sh", "-c", &script]));
    let j = report_json(&[], &out);
    let via = |name: &str| {
        let x = row(&j, &format!("{r}/{name}"));
        (x["async_bytes"].as_u64().unwrap(), x["copy_bytes"].as_u64().unwrap(), x["mapped_bytes"].as_u64().unwrap())
    };
    assert_eq!(via("src"), (0, 65536, 0), "{j:#}");
    assert_eq!(via("dst"), (0, 65536, 0), "{j:#}");
    // fio lays the file out with write(2) first, then its job writes it again through io_uring.
    assert_eq!(via("u"), (65536, 0, 0), "{j:#}");
    assert_eq!(via("sc/27-mmap"), (0, 0, 16384), "{j:#}");
    let table = stdout(&ok(iotrace().arg("report").arg(&out)));
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header[6..9], ["ASYNC", "COPY", "MAPPED"], "{table}");
}
