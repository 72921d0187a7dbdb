//! `iotrace diff` between two recordings of different fio jobs on the same
//! files: it names exactly the metrics that changed.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use common::*;
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(180);

/// Three 8 MiB files read or written by one fio run of three jobs (and, in
/// B, a fourth file): `r` read sequentially in `r_bs` blocks, `w` written
/// with an fsync every `fsync` writes, `same` read at random as in the other run.
fn record(dir: &Path, profile: &str, r_bs: &str, fsync: u32, extra: bool) -> Value {
    let f = |n: &str| format!("--filename={}", dir.join(n).display());
    let mut args: Vec<String> =
        ["--output-format=json", "--ioengine=psync", "--size=8m", "--name=r", &f("r"), "--rw=read"]
            .iter()
            .map(|s| s.to_string())
            .collect();
    args.extend([format!("--bs={r_bs}"), "--name=w".into(), f("w"), "--rw=write".into(), "--bs=4k".into()]);
    args.extend([
        format!("--fsync={fsync}"),
        "--name=same".into(),
        f("same"),
        "--rw=randread".into(),
        "--bs=4k".into(),
    ]);
    if extra {
        args.extend(["--name=new".into(), f("new"), "--rw=write".into(), "--bs=16k".into()]);
    }
    let out = dir.join(profile);
    ok_within(iotrace().arg("record").arg("-o").arg(&out).args(["--", "fio"]).args(&args), LIMIT);
    serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap()
}

fn diff_json(args: &[&str], a: &Path, b: &Path) -> Value {
    let o = ok(iotrace().arg("diff").args(args).arg("--json").arg(a).arg(b));
    assert_eq!(stderr(&o), "", "a clean diff says nothing on stderr");
    serde_json::from_slice(&o.stdout).unwrap()
}

fn row<'a>(d: &'a Value, name: &str) -> Option<&'a Value> {
    d["rows"].as_array().unwrap().iter().find(|r| r["name"] == name)
}

/// "metric" or "metric detail" of each change of a row.
fn metrics(r: &Value) -> BTreeSet<String> {
    r["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| match c["detail"].as_str().unwrap() {
            "" => c["metric"].as_str().unwrap().to_string(),
            d => format!("{} {d}", c["metric"].as_str().unwrap()),
        })
        .collect()
}

fn change<'a>(r: &'a Value, metric: &str) -> &'a Value {
    r["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["metric"] == metric)
        .unwrap_or_else(|| panic!("no {metric}: {r:#}"))
}

/// The latency histogram's bucket (log2 slot) holding quantile q, worked out
/// here from the profile's buckets: the diff's rule is 2 buckets or more.
fn quantile_bucket(f: &Value, q: f64) -> Option<u32> {
    let buckets = f["fsync"]["latency_hist"].as_array().unwrap();
    let total: u64 = buckets.iter().map(|b| b["count"].as_u64().unwrap()).sum();
    let rank = ((q * total as f64).ceil() as u64).max(1);
    let mut seen = 0;
    let hit = buckets.iter().find(|b| {
        seen += b["count"].as_u64().unwrap();
        seen >= rank
    })?;
    Some(64 - hit["lo"].as_u64().unwrap().leading_zeros())
}

#[test]
fn names_exactly_what_changed() {
    let dir = TempDir::new("diff");
    for f in ["r", "w", "same"] {
        ok(std::process::Command::new("dd").args([
            "if=/dev/zero",
            &format!("of={}", dir.path().join(f).display()),
            "bs=1M",
            "count=8",
            "status=none",
        ]));
    }
    let pa = record(dir.path(), "a.json", "4k", 1, false);
    let pb = record(dir.path(), "b.json", "64k", 32, true);
    let (a, b) = (dir.path().join("a.json"), dir.path().join("b.json"));
    let d = diff_json(&[], &a, &b);
    let p = |n: &str| dir.path().join(n).display().to_string();

    // r: the same 8 MiB in 128 reads of 64 KiB instead of 2048 of 4 KiB.
    let r = row(&d, &p("r")).unwrap_or_else(|| panic!("{d:#}"));
    assert_eq!(r["status"], "changed");
    let want: BTreeSet<String> = ["read_ops", "read_size 4K-8K", "read_size 64K-128K"].map(String::from).into();
    assert_eq!(metrics(r), want, "{r:#}");
    assert_eq!((&change(r, "read_ops")["a"], &change(r, "read_ops")["b"]), (&2048.into(), &128.into()));

    // w: the same writes, synced every 32 instead of every one; the latency
    // percentiles count as changed where the profiles' buckets are 2 apart.
    let w = row(&d, &p("w")).unwrap_or_else(|| panic!("{d:#}"));
    let mut want: BTreeSet<String> = ["fsyncs", "bytes_per_fsync"].map(String::from).into();
    let (fa, fb) = (file(&pa, &dir.path().join("w")), file(&pb, &dir.path().join("w")));
    for (metric, q) in [("fsync_p50_ns", 0.5), ("fsync_p99_ns", 0.99)] {
        let (x, y) = (quantile_bucket(fa, q).unwrap(), quantile_bucket(fb, q).unwrap());
        if x.abs_diff(y) >= 2 {
            want.insert(metric.into());
        }
    }
    assert_eq!(metrics(w), want, "{w:#}");
    assert_eq!(change(w, "fsyncs")["a"], fa["fsync"]["calls"]);
    assert_eq!(change(w, "fsyncs")["b"], fb["fsync"]["calls"]);
    assert_eq!(change(w, "bytes_per_fsync")["a"], 4096);
    assert_eq!(change(w, "bytes_per_fsync")["b"], 32 * 4096);

    // same: the same seed, the same reads: not a row.
    assert!(row(&d, &p("same")).is_none(), "{d:#}");
    // new: B's alone.
    let n = row(&d, &p("new")).unwrap_or_else(|| panic!("{d:#}"));
    assert_eq!(n["status"], "only_b");
    let want: BTreeSet<String> =
        ["write_bytes", "write_ops", "write_size 16K-32K", "write_seq"].map(String::from).into();
    assert_eq!(metrics(n), want, "{n:#}");
    assert_eq!(change(n, "write_bytes")["b"], 8 << 20);

    // Sorted by the bytes that changed: the new file first among these.
    let names: Vec<&str> = d["rows"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    let at = |n: &str| names.iter().position(|x| *x == n).unwrap();
    assert!(at(&p("new")) < at(&p("r")) && at(&p("r")) < at(&p("w")), "{names:?}");

    // By directory: the temp dir sums its files' changes.
    let dd = diff_json(&["--by", "dir"], &a, &b);
    let t = row(&dd, &dir.path().display().to_string()).unwrap_or_else(|| panic!("{dd:#}"));
    for m in ["read_ops", "write_bytes", "fsyncs"] {
        assert!(metrics(t).contains(m), "{m}: {t:#}");
    }

    // CSV: one line per change; the table too, plus header and summary.
    let changes: usize = d["rows"].as_array().unwrap().iter().map(|r| r["changes"].as_array().unwrap().len()).sum();
    let csv = stdout(&ok(iotrace().args(["diff", "--csv"]).arg(&a).arg(&b)));
    assert_eq!(csv.lines().count(), 1 + changes, "{csv}");
    assert!(csv.lines().any(|l| l == format!("{},changed,read_ops,,2048,128", p("r"))), "{csv}");
    let table = stdout(&ok(iotrace().arg("diff").arg(&a).arg(&b)));
    assert_eq!(table.lines().count(), 1 + changes + 1, "{table}");
    assert!(table.ends_with(&format!(
        "{} rows changed, {} unchanged\n",
        d["rows"].as_array().unwrap().len(),
        d["unchanged"]
    )));
}

#[test]
fn bad_input_is_one_line_and_losses_are_said() {
    let dir = TempDir::new("diff-bad");
    let good = dir.path().join("good.json");
    ok_within(
        iotrace()
            .arg("record")
            .arg("-o")
            .arg(&good)
            .args(["--", "dd", "if=/dev/zero"])
            .arg(format!("of={}", dir.path().join("x").display()))
            .args(["bs=4k", "count=16"]),
        LIMIT,
    );
    let mut doc: Value = serde_json::from_str(&std::fs::read_to_string(&good).unwrap()).unwrap();
    doc["lost"]["map_full"] = 7.into();
    let lossy = dir.path().join("lossy.json");
    std::fs::write(&lossy, doc.to_string()).unwrap();
    let o = ok(iotrace().arg("diff").arg(&good).arg(&lossy));
    assert!(stderr(&o).contains("lossy.json: 7 updates were lost"), "{}", stderr(&o));
    // The same recording on both sides: nothing changed.
    assert!(stdout(&o).starts_with("NAME") && stdout(&o).contains("\n0 rows changed, "), "{}", stdout(&o));

    let truncated = dir.path().join("truncated.json");
    let text = std::fs::read_to_string(&good).unwrap();
    std::fs::write(&truncated, &text[..text.len() / 2]).unwrap();
    for (args, code, want) in [
        (vec![good.clone(), truncated.clone()], 1, "truncated.json: not a valid iotrace record profile"),
        (vec![good.clone(), "/nonexistent.json".into()], 1, "/nonexistent.json"),
        (vec![good.clone()], 2, "two profiles wanted"),
        (vec![good.clone(), good.clone(), good.clone()], 2, "two profiles wanted"),
    ] {
        let o = run(iotrace().arg("diff").args(&args));
        assert_eq!(o.status.code(), Some(code), "{args:?}");
        let err = stderr(&o);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
    }
    let o = run(iotrace().args(["diff", "--by", "disk", "a", "b"]));
    assert_eq!(o.status.code(), Some(2));
}
