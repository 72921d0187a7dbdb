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
    assert!(lines[0].starts_with("NAME,FILES,READ,WRITE"), "{csv}");
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
