//! `iotrace report`: merge profiles and summarise them by file or by
//! directory tree (a directory's numbers are the sum of everything below it).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::Write as _;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{json, Value};

use crate::cli::{self, Arg, Args};
use crate::error::{Error, Result};
use crate::hist::{slot_range, Hist};
use crate::record::Class;

pub const HELP: &str = "\
Usage: iotrace report PROFILE... [--by file|dir] [--depth N] [--top N] [--sort KEY] [--csv|--json]

Merge one or more `iotrace record` profiles and summarise them per file, or per
directory (each directory sums every file below it, at every level). A PROFILE
of - is read from standard input.

Columns: bytes and successful calls read/written, bandwidth over each file's
active window (first to last I/O), sequential share (I/Os that continued a
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
enum By {
    File,
    Dir,
}

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

/// Everything the report adds up, per file or directory.
#[derive(Clone, Default)]
struct Metrics {
    files: u64,
    read_bytes: u64,
    write_bytes: u64,
    read_ops: u64,
    write_ops: u64,
    /// Completed I/Os that moved at least one byte, and the sequential runs they formed.
    read_moving: u64,
    write_moving: u64,
    read_runs: u64,
    write_runs: u64,
    calls: u64,
    errors: u64,
    rewrites: u64,
    first_read: Option<u64>,
    last_read: Option<u64>,
    first_write: Option<u64>,
    last_write: Option<u64>,
    read_req: Hist,
    write_req: Hist,
    fsync_calls: u64,
    fsync_bytes: u64,
}

fn min_opt(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    a.into_iter().chain(b).min()
}

fn max_opt(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    a.into_iter().chain(b).max()
}

impl Metrics {
    fn add(&mut self, o: &Metrics) {
        self.files += o.files;
        self.read_bytes += o.read_bytes;
        self.write_bytes += o.write_bytes;
        self.read_ops += o.read_ops;
        self.write_ops += o.write_ops;
        self.read_moving += o.read_moving;
        self.write_moving += o.write_moving;
        self.read_runs += o.read_runs;
        self.write_runs += o.write_runs;
        self.calls += o.calls;
        self.errors += o.errors;
        self.rewrites += o.rewrites;
        self.first_read = min_opt(self.first_read, o.first_read);
        self.last_read = max_opt(self.last_read, o.last_read);
        self.first_write = min_opt(self.first_write, o.first_write);
        self.last_write = max_opt(self.last_write, o.last_write);
        self.read_req.merge(&o.read_req);
        self.write_req.merge(&o.write_req);
        self.fsync_calls += o.fsync_calls;
        self.fsync_bytes += o.fsync_bytes;
    }

    fn bandwidth(bytes: u64, first: Option<u64>, last: Option<u64>) -> Option<f64> {
        match (first, last) {
            (Some(f), Some(l)) if l > f && bytes > 0 => Some(bytes as f64 * 1e9 / (l - f) as f64),
            _ => None,
        }
    }

    /// Share of byte-moving I/Os that continued the run before them.
    fn seq_share(moving: u64, runs: u64) -> Option<f64> {
        (moving > 0).then(|| moving.saturating_sub(runs) as f64 / moving as f64)
    }

    fn to_json(&self) -> Value {
        let size = |h: &Hist| h.mode().map(slot_range);
        json!({
            "files": self.files,
            "read_bytes": self.read_bytes, "write_bytes": self.write_bytes,
            "read_ops": self.read_ops, "write_ops": self.write_ops,
            "read_bw": Metrics::bandwidth(self.read_bytes, self.first_read, self.last_read),
            "write_bw": Metrics::bandwidth(self.write_bytes, self.first_write, self.last_write),
            "read_seq_share": Metrics::seq_share(self.read_moving, self.read_runs),
            "write_seq_share": Metrics::seq_share(self.write_moving, self.write_runs),
            "read_size_mode": size(&self.read_req).map(|r| r.0),
            "read_size_mode_hi": size(&self.read_req).map(|r| r.1),
            "write_size_mode": size(&self.write_req).map(|r| r.0),
            "write_size_mode_hi": size(&self.write_req).map(|r| r.1),
            "read_size_hist": self.read_req.to_json(), "write_size_hist": self.write_req.to_json(),
            "calls": self.calls, "errors": self.errors, "rewrites": self.rewrites,
            "fsync_calls": self.fsync_calls, "fsync_bytes": self.fsync_bytes,
            "bytes_per_fsync": (self.fsync_calls > 0).then(|| self.fsync_bytes / self.fsync_calls),
        })
    }
}

/// What a file's name is worth for grouping.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Name {
    /// A whole absolute path: merges with the same path, sums into its directories.
    Path(String),
    /// Not a whole path (its head missing, or lost), or a file that had no
    /// name when recorded: a row of its own (the number keeps it apart).
    Partial(String, usize),
}

impl Name {
    fn display(&self) -> &str {
        match self {
            Name::Path(p) | Name::Partial(p, _) => p,
        }
    }
}

/// Where --by dir puts files whose name is not a whole path.
const PARTIAL_GROUP: &str = "<paths not known in full>";

/// One file of one profile.
struct FileRow {
    mntns: u64,
    name: Name,
    m: Metrics,
}

/// One profile: its files and what identifies the recording.
struct Profile {
    rows: Vec<FileRow>,
    host: String,
    /// (host, strategy, start_ns, end_ns): the same for two copies of one recording.
    recording: (String, String, u64, u64),
    /// The profile's "lost" counts, by cause.
    lost: BTreeMap<String, u64>,
}

fn bad(path: &str, what: impl std::fmt::Display) -> Error {
    Error::msg(format!("{path}: not a valid iotrace record profile ({what})"))
}

fn u64_field(v: &Value, name: &str, src: &str) -> Result<u64> {
    match &v[name] {
        Value::Null => Err(bad(src, format!("missing number '{name}'"))),
        n => n.as_u64().ok_or_else(|| bad(src, format!("'{name}' is {n}, not a count (a whole number >= 0)"))),
    }
}

fn hist_field(v: &Value, src: &str) -> Result<Hist> {
    Hist::from_json(v).ok_or_else(|| bad(src, "malformed histogram"))
}

/// `n`: the file's place among all files read, to keep partial names apart.
fn parse_file(f: &Value, src: &str, n: usize) -> Result<FileRow> {
    let mut m = Metrics { files: 1, ..Default::default() };
    m.read_bytes = u64_field(f, "read_bytes", src)?;
    m.write_bytes = u64_field(f, "write_bytes", src)?;
    m.rewrites = u64_field(f, "rewrites", src)?;
    m.first_read = f["first_read_ns"].as_u64();
    m.last_read = f["last_read_ns"].as_u64();
    m.first_write = f["first_write_ns"].as_u64();
    m.last_write = f["last_write_ns"].as_u64();
    let syscalls = f["syscalls"].as_object().ok_or_else(|| bad(src, "missing 'syscalls'"))?;
    for (name, s) in syscalls {
        m.calls += u64_field(s, "calls", src)?;
        m.errors += u64_field(s, "errors", src)?;
        let done = hist_field(&s["completed_hist"], src)?;
        let req = hist_field(&s["request_hist"], src)?;
        let moving = done.total() - done.0.get(&0).copied().unwrap_or(0);
        match Class::of_name(name) {
            Some(Class::Read) => {
                m.read_ops += done.total();
                m.read_moving += moving;
                m.read_req.merge(&req);
            }
            Some(Class::Write) => {
                m.write_ops += done.total();
                m.write_moving += moving;
                m.write_req.merge(&req);
            }
            _ => {}
        }
    }
    m.read_runs = hist_field(&f["seq_read_hist"], src)?.total();
    m.write_runs = hist_field(&f["seq_write_hist"], src)?.total();
    m.fsync_calls = u64_field(&f["fsync"], "calls", src)?;
    m.fsync_bytes = u64_field(&f["fsync"], "bytes", src)?;
    let name = match f["path"].as_str() {
        // The head is missing, or (legacy: a cut open argument) the tail.
        Some(p) if f["path_truncated"] == true && p.starts_with('/') => Name::Partial(format!("{p}..."), n),
        Some(p) if f["path_truncated"] == true => Name::Partial(format!(".../{p}"), n),
        Some(p) if f["unnamed"] == true => Name::Partial(p.to_string(), n),
        Some(p) => Name::Path(p.to_string()),
        None => Name::Partial("<path lost>".to_string(), n),
    };
    Ok(FileRow { mntns: u64_field(f, "mntns", src)?, name, m })
}

/// Profile versions this report reads: 1 (rows by inode) and 2 (rows by path).
const READS_VERSIONS: std::ops::RangeInclusive<u64> = 1..=crate::record::FORMAT_VERSION;

/// Reads a profile member by member: `files` one file at a time, each turned
/// into a row at once, and `snapshots` skipped, so that memory follows the
/// rows, not a JSON tree of the whole document (a 100k-file profile is 70 MB).
struct ProfileReader<'a> {
    src: &'a str,
    first: usize,
    /// The first error in a file's contents (serde's errors carry only text).
    invalid: std::cell::RefCell<Option<Error>>,
}

/// What a profile has besides its rows: the header members.
type Head = serde_json::Map<String, Value>;

impl<'de> Visitor<'de> for &ProfileReader<'_> {
    type Value = (Head, Option<Vec<FileRow>>);

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Self::Value, A::Error> {
        let (mut head, mut rows) = (Head::new(), None);
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "files" => rows = Some(map.next_value_seed(FilesSeed(self))?),
                "snapshots" => {
                    map.next_value::<de::IgnoredAny>()?;
                }
                _ => {
                    head.insert(key, map.next_value()?);
                }
            }
        }
        Ok((head, rows))
    }
}

impl<'de> DeserializeSeed<'de> for &ProfileReader<'_> {
    type Value = (Head, Option<Vec<FileRow>>);

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

struct FilesSeed<'r, 'a>(&'r ProfileReader<'a>);

impl<'de> Visitor<'de> for FilesSeed<'_, '_> {
    type Value = Vec<FileRow>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a list of files")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<Self::Value, A::Error> {
        let mut rows = Vec::new();
        while let Some(f) = seq.next_element::<Value>()? {
            match parse_file(&f, self.0.src, self.0.first + rows.len()) {
                Ok(r) => rows.push(r),
                Err(e) => {
                    *self.0.invalid.borrow_mut() = Some(e);
                    return Err(de::Error::custom("invalid file"));
                }
            }
        }
        Ok(rows)
    }
}

impl<'de> DeserializeSeed<'de> for FilesSeed<'_, '_> {
    type Value = Vec<FileRow>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

/// `first`: how many files were read before this profile.
fn load(path: &str, first: usize) -> Result<Profile> {
    let input: Box<dyn std::io::Read> = match path {
        "-" => Box::new(std::io::stdin().lock()),
        _ => Box::new(std::fs::File::open(path).map_err(|e| Error::from(e).context(path))?),
    };
    // Streamed: input that cannot be a profile fails at its first wrong byte
    // (`report /dev/zero` must not read forever).
    let reader = ProfileReader { src: path, first, invalid: Default::default() };
    let mut de = serde_json::Deserializer::from_reader(std::io::BufReader::new(input));
    let parsed = (&reader).deserialize(&mut de).and_then(|v| de.end().map(|()| v));
    let (doc, rows) = match parsed {
        Ok(v) => v,
        Err(e) => return Err(reader.invalid.take().unwrap_or_else(|| bad(path, format!("JSON: {e}")))),
    };
    let doc = Value::Object(doc);
    if doc["tool"] != "iotrace record" {
        return Err(bad(path, "no \"tool\": \"iotrace record\""));
    }
    match doc["version"].as_u64() {
        Some(v) if READS_VERSIONS.contains(&v) => {}
        Some(v) => {
            return Err(bad(
                path,
                format!(
                    "format version {v}, this iotrace reads {} to {}",
                    READS_VERSIONS.start(),
                    READS_VERSIONS.end()
                ),
            ))
        }
        None => return Err(bad(path, "no version")),
    }
    let rows = rows.ok_or_else(|| bad(path, "no 'files' list"))?;
    let text = |k: &str| doc[k].as_str().unwrap_or_default().to_string();
    let lost = match doc["lost"].as_object() {
        Some(l) => l.keys().map(|k| Ok((k.clone(), u64_field(&doc["lost"], k, path)?))).collect::<Result<_>>()?,
        None => return Err(bad(path, "no 'lost' counts")),
    };
    Ok(Profile {
        rows,
        host: text("host"),
        recording: (
            text("host"),
            text("strategy"),
            u64_field(&doc, "start_ns", path)?,
            u64_field(&doc, "end_ns", path)?,
        ),
        lost,
    })
}

/// "/a/b/c" -> ["/", "/a", "/a/b"] limited to `depth` components below the root.
fn ancestors(path: &str, depth: usize) -> Vec<String> {
    let comps: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
    let dirs = comps.len().saturating_sub(1);
    (0..=dirs.min(depth)).map(|n| format!("/{}", comps[..n].join("/"))).collect()
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
            Arg::Long("by") => {
                o.by = match args.value_str()?.as_str() {
                    "file" => By::File,
                    "dir" => By::Dir,
                    v => return Err(Error::usage(format!("--by: '{v}' is not file or dir"))),
                }
            }
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
            Arg::Short('h') | Arg::Long("help") => {
                cli::print_help(HELP)?;
                return Ok(None);
            }
            Arg::Value(v) => {
                o.profiles.push(v.into_string().map_err(|_| Error::usage("invalid UTF-8 in a file name"))?)
            }
            other => return Err(cli::unexpected(other)),
        }
    }
    if o.profiles.is_empty() {
        return Err(Error::usage("no profile given"));
    }
    Ok(Some(o))
}

fn human(v: f64) -> String {
    let units = ["", "K", "M", "G", "T", "P"];
    let mut v = v;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < units.len() {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}{}", units[i])
    }
}

fn pct(v: &Value) -> String {
    v.as_f64().map_or("-".into(), |x| format!("{:.0}%", x * 100.0))
}

fn opt_human(v: &Value, suffix: &str) -> String {
    v.as_f64().map_or("-".into(), |x| format!("{}{suffix}", human(x)))
}

const COLUMNS: &[&str] = &[
    "NAME", "FILES", "READ", "WRITE", "R_OPS", "W_OPS", "R_BW", "W_BW", "R_SEQ", "W_SEQ", "R_SIZE", "W_SIZE", "FSYNCS",
    "B/FSYNC", "ERRORS",
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

/// RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

pub fn main(args: Args) -> Result<()> {
    let Some(o) = parse(args)? else { return Ok(()) };
    let mut rows: Vec<(usize, FileRow)> = Vec::new();
    let mut profiles: Vec<(String, (String, String, u64, u64))> = Vec::new();
    let mut hosts: Vec<String> = Vec::new();
    let mut lost: BTreeMap<String, u64> = BTreeMap::new();
    for p in &o.profiles {
        let prof = load(p, rows.len())?;
        if let Some((first, _)) = profiles.iter().find(|(_, r)| *r == prof.recording) {
            cli::note(format_args!("warning: {p} is the same recording as {first}: its numbers count twice"));
        }
        let n: u64 = prof.lost.values().sum();
        if n > 0 {
            let by: Vec<String> = prof.lost.iter().filter(|(_, v)| **v > 0).map(|(k, v)| format!("{k} {v}")).collect();
            cli::note(format_args!(
                "warning: {p}: {n} updates were lost while recording ({}): its numbers are incomplete",
                by.join(", ")
            ));
        }
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
    let mut files: BTreeMap<(usize, u64, Name), Metrics> = BTreeMap::new();
    for (host, r) in rows {
        let e = files.entry((host, r.mntns, r.name)).or_default();
        e.add(&r.m);
        e.files = 1;
    }
    files.values().for_each(|m| total.add(m));
    let groups = match o.by {
        By::File => files,
        By::Dir => {
            let mut dirs: BTreeMap<(usize, u64, Name), Metrics> = BTreeMap::new();
            for ((host, ns, name), m) in &files {
                match name {
                    Name::Path(path) => {
                        for d in ancestors(path, o.depth) {
                            dirs.entry((*host, *ns, Name::Path(d))).or_default().add(m);
                        }
                    }
                    Name::Partial(..) => {
                        dirs.entry((*host, *ns, Name::Partial(PARTIAL_GROUP.into(), 0))).or_default().add(m);
                    }
                }
            }
            dirs
        }
    };
    let name = |(host, ns, n): &(usize, u64, Name)| {
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
    let total = total.to_json();
    let mut w = std::io::BufWriter::new(std::io::stdout().lock());
    match o.format {
        Format::Json => {
            let by = if o.by == By::File { "file" } else { "dir" };
            write!(w, "{{\n  \"by\": \"{by}\",\n  \"rows\": [")?;
            for (i, (n, m)) in sorted.into_iter().enumerate() {
                let mut j = m.to_json();
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
                writeln!(w, "{},", csv_cells(&n, &m.to_json()).join(","))?;
            }
            writeln!(w, "{},{}", csv_cells("TOTAL", &total).join(","), lost.values().sum::<u64>())?;
        }
        Format::Table => {
            let mut lines: Vec<Vec<String>> = vec![COLUMNS.iter().map(|c| c.to_string()).collect()];
            lines.extend(sorted.into_iter().map(|(n, m)| table_cells(&n, &m.to_json())));
            lines.push(table_cells("TOTAL", &total));
            let widths: Vec<usize> =
                (0..COLUMNS.len()).map(|i| lines.iter().map(|l| l[i].len()).max().unwrap_or(0)).collect();
            for l in &lines {
                let mut line = format!("{:<w$}", l[0], w = widths[0]);
                for (c, width) in l.iter().zip(&widths).skip(1) {
                    let _ = write!(line, "  {c:>width$}");
                }
                writeln!(w, "{}", line.trim_end())?;
            }
        }
    }
    w.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ancestors_sum_every_level() {
        assert_eq!(ancestors("/a/b/c.txt", usize::MAX), ["/", "/a", "/a/b"]);
        assert_eq!(ancestors("/a/b/c.txt", 1), ["/", "/a"]);
        assert_eq!(ancestors("/f", usize::MAX), ["/"]);
    }

    #[test]
    fn sequential_share() {
        assert_eq!(Metrics::seq_share(2048, 1), Some(2047.0 / 2048.0));
        assert_eq!(Metrics::seq_share(0, 0), None);
    }
}
