//! `iotrace diff`: what changed from one profile to another, per file or
//! directory, metric by metric.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;

use serde_json::{json, Value};

use crate::cli::{self, Arg, Args};
use crate::error::{Error, Result};
use crate::hist::{slot_range, Hist};
use crate::metrics::{by_dir, By, Metrics, Name};
use crate::profile_read::{load, Detail, Profile};
use crate::table::{csv_field, human, write_aligned};

pub const HELP: &str = "\
Usage: iotrace diff A.json B.json [--by file|dir] [--depth N] [--top N] [--json|--csv]

What changed from profile A to profile B (before and after a tuning change),
per file or per directory (each directory sums every file below it). Only
what changed is listed, one line per metric:

  read_bytes write_bytes read_ops write_ops   any difference
  read_size write_size (per size bucket)      share of the requests, 1 point or more
  read_seq write_seq                          sequential share, 5 points or more
  fsyncs bytes_per_fsync errors errno         any difference
  fsync_p50_ns fsync_p99_ns                   2 histogram buckets or more (x4: the
                                              latency histogram's buckets are powers of 2)

A file in one profile only is marked `only_a` / `only_b`. Rows are sorted by
the bytes that changed, then the operations, then how many metrics did.
Files are matched by path: A and B may come from other hosts or containers.

Options:
  --by file|dir   one row per file (default) or per directory
  --depth N       with --by dir: only directories at most N levels deep
  --top N         only the first N rows
  --csv           comma-separated output: name,status,metric,detail,a,b
  --json          JSON output
  -h, --help      this help

Examples:
  iotrace diff before.json after.json
  iotrace diff --by dir --depth 2 --top 10 before.json after.json
  iotrace diff --csv before.json after.json > changes.csv
";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Table,
    Csv,
    Json,
}

struct Opts {
    a: String,
    b: String,
    by: By,
    depth: usize,
    top: Option<usize>,
    format: Format,
}

fn parse(mut args: Args) -> Result<Option<Opts>> {
    let (mut by, mut depth, mut top, mut format) = (By::File, usize::MAX, None, Format::Table);
    let mut profiles = vec![];
    while let Some(arg) = args.next()? {
        match arg {
            Arg::Long("by") => by = By::parse(&args.value_str()?)?,
            Arg::Long("depth") => depth = args.value_parsed("--depth")?,
            Arg::Long("top") => top = Some(args.value_parsed("--top")?),
            Arg::Long("csv") => format = Format::Csv,
            Arg::Long("json") => format = Format::Json,
            other => {
                if !cli::profile_arg(other, HELP, &mut profiles)? {
                    return Ok(None);
                }
            }
        }
    }
    let [a, b]: [String; 2] = profiles
        .try_into()
        .map_err(|p: Vec<String>| Error::usage(format!("two profiles wanted (A and B), {} given", p.len())))?;
    if a == "-" && b == "-" {
        return Err(Error::usage("only one profile can be standard input"));
    }
    Ok(Some(Opts { a, b, by, depth, top, format }))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Unit {
    Count,
    Bytes,
    /// A fraction, 0..1.
    Share,
    /// A latency histogram bucket, by its upper bound.
    Ns,
}

/// One metric that changed.
struct Change {
    metric: &'static str,
    /// Which bucket or errno, where the metric has several.
    detail: String,
    unit: Unit,
    a: Option<f64>,
    b: Option<f64>,
}

/// Share of requests per size bucket.
fn shares(h: &Hist) -> BTreeMap<u32, f64> {
    let total = h.total();
    h.0.iter().filter(|(_, n)| **n > 0).map(|(s, n)| (*s, *n as f64 / total as f64)).collect()
}

/// "4K-8K": a size bucket, its upper bound excluded.
fn size_bucket(slot: u32) -> String {
    let (lo, hi) = slot_range(slot);
    let h = |v: u64| human(v as f64).replace(".0", "");
    if lo == hi {
        h(lo)
    } else {
        format!("{}-{}", h(lo), h(hi.saturating_add(1)))
    }
}

/// A share that moved: by `points` or more, or present on one side only.
fn moved(a: Option<f64>, b: Option<f64>, points: f64) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => (a - b).abs() >= points - 1e-9,
        (a, b) => a.is_some() != b.is_some(),
    }
}

/// The metrics that changed from `a` to `b`, by the rules in HELP.
fn compare(a: &Metrics, b: &Metrics) -> Vec<Change> {
    let mut out = vec![];
    let count = |out: &mut Vec<Change>, metric, unit, va: Option<u64>, vb: Option<u64>| {
        if va != vb {
            out.push(Change { metric, detail: String::new(), unit, a: va.map(|v| v as f64), b: vb.map(|v| v as f64) });
        }
    };
    count(&mut out, "read_bytes", Unit::Bytes, Some(a.read_bytes), Some(b.read_bytes));
    count(&mut out, "write_bytes", Unit::Bytes, Some(a.write_bytes), Some(b.write_bytes));
    count(&mut out, "read_ops", Unit::Count, Some(a.read_ops), Some(b.read_ops));
    count(&mut out, "write_ops", Unit::Count, Some(a.write_ops), Some(b.write_ops));
    for (metric, ha, hb) in [("read_size", &a.read_req, &b.read_req), ("write_size", &a.write_req, &b.write_req)] {
        let (sa, sb) = (shares(ha), shares(hb));
        let (none_a, none_b) = (sa.is_empty(), sb.is_empty());
        let share =
            |s: &BTreeMap<u32, f64>, none, slot| if none { None } else { Some(s.get(&slot).copied().unwrap_or(0.0)) };
        for slot in sa.keys().chain(sb.keys()).copied().collect::<BTreeSet<u32>>() {
            let (x, y) = (share(&sa, none_a, slot), share(&sb, none_b, slot));
            if moved(x, y, 0.01) {
                out.push(Change { metric, detail: size_bucket(slot), unit: Unit::Share, a: x, b: y });
            }
        }
    }
    for (metric, x, y) in
        [("read_seq", a.read_seq_share(), b.read_seq_share()), ("write_seq", a.write_seq_share(), b.write_seq_share())]
    {
        if moved(x, y, 0.05) {
            out.push(Change { metric, detail: String::new(), unit: Unit::Share, a: x, b: y });
        }
    }
    count(&mut out, "fsyncs", Unit::Count, Some(a.fsync_calls), Some(b.fsync_calls));
    let per_fsync = |m: &Metrics| (m.fsync_calls > 0).then(|| m.fsync_bytes / m.fsync_calls);
    count(&mut out, "bytes_per_fsync", Unit::Bytes, per_fsync(a), per_fsync(b));
    for (metric, q) in [("fsync_p50_ns", 0.5), ("fsync_p99_ns", 0.99)] {
        let (x, y) = (a.fsync_latency.quantile_slot(q), b.fsync_latency.quantile_slot(q));
        let far = match (x, y) {
            (Some(x), Some(y)) => x.abs_diff(y) >= 2,
            (x, y) => x.is_some() != y.is_some(),
        };
        if far {
            let ns = |s: Option<u32>| s.map(|s| slot_range(s).1 as f64);
            out.push(Change { metric, detail: String::new(), unit: Unit::Ns, a: ns(x), b: ns(y) });
        }
    }
    count(&mut out, "errors", Unit::Count, Some(a.errors), Some(b.errors));
    for e in a.errnos.keys().chain(b.errnos.keys()).collect::<BTreeSet<_>>() {
        let n = |m: &Metrics| m.errnos.get(e).copied().unwrap_or(0);
        if n(a) != n(b) {
            out.push(Change {
                metric: "errno",
                detail: e.clone(),
                unit: Unit::Count,
                a: Some(n(a) as f64),
                b: Some(n(b) as f64),
            });
        }
    }
    out
}

struct Row {
    name: String,
    status: &'static str,
    changes: Vec<Change>,
    /// Bytes and operations that changed: the sort order.
    size: (u64, u64),
}

/// A side's files, merged by path (hosts and mount namespaces are not compared).
fn files(p: Profile) -> BTreeMap<((), Name), Metrics> {
    let mut files: BTreeMap<((), Name), Metrics> = BTreeMap::new();
    for r in p.rows {
        let e = files.entry(((), r.name)).or_default();
        e.add(&r.m);
        e.files = 1;
    }
    files
}

fn cell(unit: Unit, v: Option<f64>) -> String {
    match (unit, v) {
        (_, None) => "-".into(),
        (Unit::Count, Some(v)) => format!("{v:.0}"),
        (Unit::Bytes, Some(v)) => human(v),
        (Unit::Share, Some(v)) => format!("{:.1}%", v * 100.0),
        (Unit::Ns, Some(v)) => format!("<={}s", human_ns(v)),
    }
}

/// 16383 ns -> "16.4u": seconds with an SI prefix.
fn human_ns(ns: f64) -> String {
    match ns {
        n if n < 1e3 => format!("{n:.0}n"),
        n if n < 1e6 => format!("{:.1}u", n / 1e3),
        n if n < 1e9 => format!("{:.1}m", n / 1e6),
        n => format!("{:.1}", n / 1e9),
    }
}

/// How much it changed: a ratio for counts, points for shares, a factor for latencies.
fn change_cell(c: &Change) -> String {
    match (c.unit, c.a, c.b) {
        (Unit::Share, Some(a), Some(b)) => format!("{:+.1} pts", (b - a) * 100.0),
        (Unit::Ns, Some(a), Some(b)) if b >= a => format!("x{:.0}", (b + 1.0) / (a + 1.0)),
        (Unit::Ns, Some(a), Some(b)) => format!("/{:.0}", (a + 1.0) / (b + 1.0)),
        (_, Some(a), Some(b)) if a > 0.0 => format!("{:+.1}%", (b - a) * 100.0 / a),
        (_, Some(_), Some(_)) | (_, None, Some(_)) => "new".into(),
        (_, Some(_), None) => "gone".into(),
        (_, None, None) => String::new(),
    }
}

/// Raw values: integers but for shares.
fn raw(unit: Unit, v: Option<f64>) -> Value {
    match (unit, v) {
        (_, None) => Value::Null,
        (Unit::Share, Some(v)) => json!(v),
        (_, Some(v)) => json!(v as u64),
    }
}

pub fn main(args: Args) -> Result<()> {
    let Some(o) = parse(args)? else { return Ok(()) };
    let (pa, pb) = (load(&o.a, 0, Detail::Full)?, load(&o.b, 0, Detail::Full)?);
    pa.warn_lost(&o.a);
    pb.warn_lost(&o.b);
    if pa.host != pb.host {
        cli::note(format_args!("A was recorded on {}, B on {}: files are matched by path", pa.host, pb.host));
    }
    let lost = json!({"a": pa.lost, "b": pb.lost});
    let (fa, fb) = (files(pa), files(pb));
    let (ga, gb) = match o.by {
        By::File => (fa, fb),
        By::Dir => (by_dir(&fa, o.depth, true), by_dir(&fb, o.depth, true)),
    };
    let empty = Metrics::default();
    let mut rows = vec![];
    let mut unchanged = 0;
    for key in ga.keys().chain(gb.keys()).collect::<BTreeSet<_>>() {
        let (a, b) = (ga.get(key), gb.get(key));
        let status = match (a, b) {
            (Some(_), Some(_)) => "changed",
            (Some(_), None) => "only_a",
            _ => "only_b",
        };
        let (a, b) = (a.unwrap_or(&empty), b.unwrap_or(&empty));
        let changes = compare(a, b);
        if changes.is_empty() && status == "changed" {
            unchanged += 1;
            continue;
        }
        let size = (
            a.read_bytes.abs_diff(b.read_bytes) + a.write_bytes.abs_diff(b.write_bytes),
            a.read_ops.abs_diff(b.read_ops) + a.write_ops.abs_diff(b.write_ops),
        );
        rows.push(Row { name: key.1.display().to_string(), status, changes, size });
    }
    rows.sort_by(|x, y| (y.size, y.changes.len()).cmp(&(x.size, x.changes.len())).then_with(|| x.name.cmp(&y.name)));
    if let Some(t) = o.top {
        rows.truncate(t);
    }
    let mut w = std::io::BufWriter::new(std::io::stdout().lock());
    match o.format {
        Format::Json => {
            write!(
                w,
                "{{\n  \"a\": {},\n  \"b\": {},\n  \"by\": \"{}\",\n  \"rows\": [",
                json!(o.a),
                json!(o.b),
                o.by.as_str()
            )?;
            for (i, r) in rows.iter().enumerate() {
                let changes: Vec<Value> = r
                    .changes
                    .iter()
                    .map(|c| json!({"metric": c.metric, "detail": c.detail, "a": raw(c.unit, c.a), "b": raw(c.unit, c.b)}))
                    .collect();
                let j = json!({"name": r.name, "status": r.status, "changes": changes});
                write!(w, "{}\n    {j}", if i > 0 { "," } else { "" })?;
            }
            writeln!(w, "\n  ],\n  \"unchanged\": {unchanged},\n  \"lost\": {lost}\n}}")?;
        }
        Format::Csv => {
            writeln!(w, "name,status,metric,detail,a,b")?;
            for r in &rows {
                for c in &r.changes {
                    let v = |v| match raw(c.unit, v) {
                        Value::Null => String::new(),
                        v => v.to_string(),
                    };
                    writeln!(
                        w,
                        "{},{},{},{},{},{}",
                        csv_field(&r.name),
                        r.status,
                        c.metric,
                        csv_field(&c.detail),
                        v(c.a),
                        v(c.b)
                    )?;
                }
            }
        }
        Format::Table => {
            let mut lines: Vec<Vec<String>> =
                vec![["NAME", "STATUS", "METRIC", "A", "B", "CHANGE"].iter().map(|c| c.to_string()).collect()];
            for r in &rows {
                for c in &r.changes {
                    let metric =
                        if c.detail.is_empty() { c.metric.to_string() } else { format!("{} {}", c.metric, c.detail) };
                    lines.push(vec![
                        r.name.clone(),
                        r.status.into(),
                        metric,
                        cell(c.unit, c.a),
                        cell(c.unit, c.b),
                        change_cell(c),
                    ]);
                }
            }
            write_aligned(&mut w, &lines, 3)?;
            writeln!(w, "{} rows changed, {unchanged} unchanged", rows.len())?;
        }
    }
    w.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hist::slot_of;

    fn names(c: &[Change]) -> Vec<String> {
        c.iter()
            .map(|c| if c.detail.is_empty() { c.metric.into() } else { format!("{} {}", c.metric, c.detail) })
            .collect()
    }

    #[test]
    fn only_what_moved_past_its_threshold() {
        let mut a =
            Metrics { read_bytes: 8 << 20, read_ops: 2048, read_moving: 2048, read_runs: 1, ..Default::default() };
        a.read_req.add(slot_of(4096), 2048);
        a.fsync_latency.add(10, 100);
        let mut b = a.clone();
        assert!(compare(&a, &b).is_empty());
        // 4k -> 64k reads of the same bytes; latency one bucket up: noise.
        b.read_ops = 128;
        b.read_moving = 128;
        b.read_req = Hist::default();
        b.read_req.add(slot_of(65536), 128);
        b.fsync_latency = Hist::default();
        b.fsync_latency.add(11, 100);
        assert_eq!(names(&compare(&a, &b)), ["read_ops", "read_size 4K-8K", "read_size 64K-128K"]);
        // Two buckets up is a change; a sequential share 4 points down is not.
        b.fsync_latency.add(12, 1000);
        b.read_runs = 6;
        assert_eq!(names(&compare(&a, &b))[3..], ["fsync_p50_ns", "fsync_p99_ns"]);
        b.read_runs = 8;
        assert!(names(&compare(&a, &b)).contains(&"read_seq".to_string()));
    }
}
