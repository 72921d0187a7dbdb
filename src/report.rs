//! `iotrace report`: merge profiles and summarise them by file or by
//! directory tree (a directory's numbers are the sum of everything below it).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::Write as _;

use serde_json::{json, Value};

use crate::cli::{self, Arg, Args};
use crate::error::{Error, Result};
use crate::hist::{slot_range, Hist};
use crate::metrics::{by_dir, By, Metrics, Name};
use crate::profile_read::{load, Detail, FileRow};
use crate::table::{csv_field, human, write_aligned};

pub const HELP: &str = "\
Usage: iotrace report PROFILE... [--by file|dir] [--depth N] [--top N] [--sort KEY] [--csv|--json]

Merge one or more `iotrace record` profiles and summarise them per file, or per
directory (each directory sums every file below it, at every level). A PROFILE
of - is read from standard input.

Columns: bytes and successful calls read/written; of those bytes, how many
went through Linux AIO or io_uring (ASYNC) and through copies between files
(COPY: sendfile, copy_file_range, splice); bytes mmap(2)ed (MAPPED: the file
was also read or written through memory, which no syscall shows); bandwidth over each file's active
window (first to last I/O), sequential share (I/Os that continued a
sequential run), most common request size, fsync count and average bytes
written between fsyncs, failed calls.

Options:
  --by file|dir   one row per file (default) or per directory
  --depth N       with --by dir: only directories at most N levels deep
  --top N         only the first N rows
  --sort KEY      bytes (default), read, write, calls, fsyncs, errors, name
  --csv           comma-separated output
  --json          JSON output
  -h, --help      this help

Files are merged across profiles by mount namespace and path.

Examples:
  iotrace report pg.json
  iotrace report --by dir --depth 3 --top 20 pg.json
  iotrace report --csv day1.json day2.json > io.csv
";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Table,
    Csv,
    Json,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SortKey {
    Bytes,
    Read,
    Write,
    Calls,
    Fsyncs,
    Errors,
    Name,
}

/// A row as JSON: what every output format is made from.
fn to_json(m: &Metrics) -> Value {
    let size = |h: &Hist| h.mode().map(slot_range);
    json!({
        "files": m.files,
        "read_bytes": m.read_bytes, "write_bytes": m.write_bytes,
        "read_ops": m.read_ops, "write_ops": m.write_ops,
        "async_bytes": m.async_bytes, "copy_bytes": m.copy_bytes, "mapped_bytes": m.mapped_bytes,
        "read_bw": m.read_bw(),
        "write_bw": m.write_bw(),
        "read_seq_share": m.read_seq_share(),
        "write_seq_share": m.write_seq_share(),
        "read_size_mode": size(&m.read_req).map(|r| r.0),
        "read_size_mode_hi": size(&m.read_req).map(|r| r.1),
        "write_size_mode": size(&m.write_req).map(|r| r.0),
        "write_size_mode_hi": size(&m.write_req).map(|r| r.1),
        "read_size_hist": m.read_req.to_json(), "write_size_hist": m.write_req.to_json(),
        "calls": m.calls, "errors": m.errors, "rewrites": m.rewrites,
        "fsync_calls": m.fsync_calls, "fsync_bytes": m.fsync_bytes,
        "bytes_per_fsync": (m.fsync_calls > 0).then(|| m.fsync_bytes / m.fsync_calls),
    })
}

struct Opts {
    profiles: Vec<String>,
    by: By,
    depth: usize,
    top: Option<usize>,
    sort: SortKey,
    format: Format,
}

fn parse(mut args: Args) -> Result<Option<Opts>> {
    let mut o = Opts {
        profiles: vec![],
        by: By::File,
        depth: usize::MAX,
        top: None,
        sort: SortKey::Bytes,
        format: Format::Table,
    };
    while let Some(arg) = args.next()? {
        match arg {
            Arg::Long("by") => o.by = By::parse(&args.value_str()?)?,
            Arg::Long("depth") => o.depth = args.value_parsed("--depth")?,
            Arg::Long("top") => o.top = Some(args.value_parsed("--top")?),
            Arg::Long("sort") => {
                o.sort = match args.value_str()?.as_str() {
                    "bytes" => SortKey::Bytes,
                    "read" => SortKey::Read,
                    "write" => SortKey::Write,
                    "calls" => SortKey::Calls,
                    "fsyncs" => SortKey::Fsyncs,
                    "errors" => SortKey::Errors,
                    "name" => SortKey::Name,
                    v => return Err(Error::usage(format!("--sort: unknown key '{v}'"))),
                }
            }
            Arg::Long("csv") => o.format = Format::Csv,
            Arg::Long("json") => o.format = Format::Json,
            other => {
                if !cli::profile_arg(other, HELP, &mut o.profiles)? {
                    return Ok(None);
                }
            }
        }
    }
    if o.profiles.is_empty() {
        return Err(Error::usage("no profile given"));
    }
    Ok(Some(o))
}

fn pct(v: &Value) -> String {
    v.as_f64().map_or("-".into(), |x| format!("{:.0}%", x * 100.0))
}

fn opt_human(v: &Value, suffix: &str) -> String {
    v.as_f64().map_or("-".into(), |x| format!("{}{suffix}", human(x)))
}

const COLUMNS: &[&str] = &[
    "NAME", "FILES", "READ", "WRITE", "R_OPS", "W_OPS", "ASYNC", "COPY", "MAPPED", "R_BW", "W_BW", "R_SEQ", "W_SEQ",
    "R_SIZE", "W_SIZE", "FSYNCS", "B/FSYNC", "ERRORS",
];

/// The most common request size's bucket, [lo, hi] inclusive, as "4K-8K" (8K excluded).
fn size_range(lo: &Value, hi: &Value) -> String {
    // Bucket bounds are powers of two: "4K", not "4.0K".
    let h = |v: f64| human(v).replace(".0", "");
    match (lo.as_u64(), hi.as_u64()) {
        (Some(lo), Some(hi)) if lo == hi => h(lo as f64),
        (Some(lo), Some(hi)) => format!("{}-{}", h(lo as f64), h(hi as f64 + 1.0)),
        _ => "-".into(),
    }
}

/// CSV columns: raw numbers, the unit in the name; each with where it comes from in a row's JSON.
const CSV_COLUMNS: &[(&str, &str)] = &[
    ("files", "files"),
    ("read_bytes", "read_bytes"),
    ("write_bytes", "write_bytes"),
    ("read_ops", "read_ops"),
    ("write_ops", "write_ops"),
    ("async_bytes", "async_bytes"),
    ("copy_bytes", "copy_bytes"),
    ("mapped_bytes", "mapped_bytes"),
    ("read_bw_bytes_per_s", "read_bw"),
    ("write_bw_bytes_per_s", "write_bw"),
    ("read_seq_fraction", "read_seq_share"),
    ("write_seq_fraction", "write_seq_share"),
    ("read_size_mode_lo_bytes", "read_size_mode"),
    ("read_size_mode_hi_bytes", "read_size_mode_hi"),
    ("write_size_mode_lo_bytes", "write_size_mode"),
    ("write_size_mode_hi_bytes", "write_size_mode_hi"),
    ("fsync_calls", "fsync_calls"),
    ("bytes_per_fsync", "bytes_per_fsync"),
    ("errors", "errors"),
];

fn csv_cells(name: &str, j: &Value) -> Vec<String> {
    let raw = |v: &Value| match v {
        Value::Null => String::new(),
        Value::Number(n) if n.is_f64() => {
            format!("{:.6}", n.as_f64().unwrap_or(0.0)).trim_end_matches('0').trim_end_matches('.').to_string()
        }
        v => v.to_string(),
    };
    std::iter::once(csv_field(name)).chain(CSV_COLUMNS.iter().map(|(_, k)| raw(&j[*k]))).collect()
}

fn table_cells(name: &str, j: &Value) -> Vec<String> {
    let n = |k: &str| j[k].as_u64().unwrap_or(0);
    vec![
        name.to_string(),
        n("files").to_string(),
        human(n("read_bytes") as f64),
        human(n("write_bytes") as f64),
        n("read_ops").to_string(),
        n("write_ops").to_string(),
        human(n("async_bytes") as f64),
        human(n("copy_bytes") as f64),
        human(n("mapped_bytes") as f64),
        opt_human(&j["read_bw"], "/s"),
        opt_human(&j["write_bw"], "/s"),
        pct(&j["read_seq_share"]),
        pct(&j["write_seq_share"]),
        size_range(&j["read_size_mode"], &j["read_size_mode_hi"]),
        size_range(&j["write_size_mode"], &j["write_size_mode_hi"]),
        n("fsync_calls").to_string(),
        opt_human(&j["bytes_per_fsync"], ""),
        n("errors").to_string(),
    ]
}

pub fn main(args: Args) -> Result<()> {
    let Some(o) = parse(args)? else { return Ok(()) };
    let mut rows: Vec<(usize, FileRow)> = Vec::new();
    let mut profiles: Vec<(String, (String, String, u64, u64))> = Vec::new();
    let mut hosts: Vec<String> = Vec::new();
    let mut lost: BTreeMap<String, u64> = BTreeMap::new();
    for p in &o.profiles {
        let prof = load(p, rows.len(), Detail::Totals)?;
        if let Some((first, _)) = profiles.iter().find(|(_, r)| *r == prof.recording) {
            cli::note(format_args!("warning: {p} is the same recording as {first}: its numbers count twice"));
        }
        prof.warn_lost(p);
        for (k, v) in &prof.lost {
            *lost.entry(k.clone()).or_default() += v;
        }
        let host = hosts.iter().position(|h| *h == prof.host).unwrap_or_else(|| {
            hosts.push(prof.host.clone());
            hosts.len() - 1
        });
        profiles.push((p.clone(), prof.recording));
        rows.extend(prof.rows.into_iter().map(|r| (host, r)));
    }
    // Hosts are kept apart: the same path on two hosts is two files.
    let multi_host = hosts.len() > 1;
    if multi_host {
        cli::note(format_args!("profiles of {} hosts ({}): rows are per host", hosts.len(), hosts.join(", ")));
    }
    let multi_ns = rows.iter().map(|(_, r)| r.mntns).collect::<BTreeSet<_>>().len() > 1;
    let mut total = Metrics::default();
    // Files merge by (host, mntns, path); a file seen in two profiles counts once.
    let mut files: BTreeMap<((usize, u64), Name), Metrics> = BTreeMap::new();
    for (host, r) in rows {
        let e = files.entry(((host, r.mntns), r.name)).or_default();
        e.add(&r.m);
        e.files = 1;
    }
    files.values().for_each(|m| total.add(m));
    let groups = match o.by {
        By::File => files,
        By::Dir => by_dir(&files, o.depth, true),
    };
    let name = |((host, ns), n): &((usize, u64), Name)| {
        let mut s = String::new();
        if multi_host {
            let _ = write!(s, "{}:", hosts[*host]);
        }
        if multi_ns {
            let _ = write!(s, "[mnt:{ns}]");
        }
        s + n.display()
    };
    // Sorted and cut on the metrics themselves: only the rows shown become JSON.
    let key = |m: &Metrics| -> u64 {
        match o.sort {
            SortKey::Bytes => m.read_bytes + m.write_bytes,
            SortKey::Read => m.read_bytes,
            SortKey::Write => m.write_bytes,
            SortKey::Calls => m.calls,
            SortKey::Fsyncs => m.fsync_calls,
            SortKey::Errors => m.errors,
            SortKey::Name => 0,
        }
    };
    let mut sorted: Vec<(String, Metrics)> = groups.into_iter().map(|(k, m)| (name(&k), m)).collect();
    sorted.sort_by(|a, b| key(&b.1).cmp(&key(&a.1)).then_with(|| a.0.cmp(&b.0)));
    if let Some(t) = o.top {
        sorted.truncate(t);
    }
    // Each row becomes JSON (and text) only while it is written.
    let total = to_json(&total);
    let mut w = std::io::BufWriter::new(std::io::stdout().lock());
    match o.format {
        Format::Json => {
            let by = o.by.as_str();
            write!(w, "{{\n  \"by\": \"{by}\",\n  \"rows\": [")?;
            for (i, (n, m)) in sorted.into_iter().enumerate() {
                let mut j = to_json(&m);
                j["name"] = json!(n);
                write!(w, "{}\n    {j}", if i > 0 { "," } else { "" })?;
            }
            writeln!(w, "\n  ],\n  \"total\": {total},\n  \"lost\": {}\n}}", json!(lost))?;
        }
        Format::Csv => {
            // The losses of every profile, on the TOTAL row (they are not per file).
            let header: Vec<&str> = CSV_COLUMNS.iter().map(|(c, _)| *c).collect();
            writeln!(w, "name,{},lost_updates", header.join(","))?;
            for (n, m) in sorted {
                writeln!(w, "{},", csv_cells(&n, &to_json(&m)).join(","))?;
            }
            writeln!(w, "{},{}", csv_cells("TOTAL", &total).join(","), lost.values().sum::<u64>())?;
        }
        Format::Table => {
            let mut lines: Vec<Vec<String>> = vec![COLUMNS.iter().map(|c| c.to_string()).collect()];
            lines.extend(sorted.into_iter().map(|(n, m)| table_cells(&n, &to_json(&m))));
            lines.push(table_cells("TOTAL", &total));
            write_aligned(&mut w, &lines, 1)?;
        }
    }
    w.flush()?;
    Ok(())
}
