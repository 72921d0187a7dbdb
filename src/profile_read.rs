//! Reading `iotrace record` profiles for `report`, `diff` and `fio`: streamed
//! member by member, each file turned into its typed row at once.

use std::collections::BTreeMap;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use crate::cli;
use crate::error::{Error, Result};
use crate::hist::Hist;
use crate::metrics::{Calls, Metrics, Name, Opens};
use crate::record::{Class, Via};

/// One file of one profile.
pub struct FileRow {
    pub mntns: u64,
    pub name: Name,
    pub m: Metrics,
}

/// One profile: its files and what identifies the recording.
pub struct Profile {
    pub rows: Vec<FileRow>,
    pub host: String,
    /// (host, strategy, start_ns, end_ns): the same for two copies of one recording.
    pub recording: (String, String, u64, u64),
    /// The profile's "lost" counts, by cause.
    pub lost: BTreeMap<String, u64>,
    /// Ways of moving data the recording could not see (empty in profiles before the list).
    pub unsupported: Vec<String>,
}

impl Profile {
    /// Say on stderr that `path`'s numbers are incomplete, if they are.
    pub fn warn_lost(&self, path: &str) {
        let n: u64 = self.lost.values().sum();
        if n > 0 {
            let by: Vec<String> = self.lost.iter().filter(|(_, v)| **v > 0).map(|(k, v)| format!("{k} {v}")).collect();
            cli::note(format_args!(
                "warning: {path}: {n} updates were lost while recording ({}): its numbers are incomplete",
                by.join(", ")
            ));
        }
    }
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

/// A count that older profiles lack: 0 if absent.
fn opt_u64_field(v: &Value, name: &str, src: &str) -> Result<u64> {
    if v[name].is_null() {
        Ok(0)
    } else {
        u64_field(v, name, src)
    }
}

fn hist_field(v: &Value, src: &str) -> Result<Hist> {
    Hist::from_json(v).ok_or_else(|| bad(src, "malformed histogram"))
}

/// A histogram that older profiles lack: empty if absent.
fn opt_hist_field(v: &Value, src: &str) -> Result<Hist> {
    if v.is_null() {
        Ok(Hist::default())
    } else {
        hist_field(v, src)
    }
}

/// How much of each file a reader keeps.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// The totals `report` shows: per-syscall counts, errnos and fsync
    /// histograms are checked but not kept (three small maps per file would
    /// double report's memory on a 100k-file profile).
    Totals,
    /// Everything `Metrics` holds (diff, fio).
    Full,
}

/// `n`: the file's place among all files read, to keep partial names apart.
fn parse_file(f: &Value, src: &str, n: usize, detail: Detail) -> Result<FileRow> {
    let mut m = Metrics { files: 1, ..Default::default() };
    m.read_bytes = u64_field(f, "read_bytes", src)?;
    m.write_bytes = u64_field(f, "write_bytes", src)?;
    m.rewrites = u64_field(f, "rewrites", src)?;
    m.end_offset = opt_u64_field(f, "end_offset", src)?;
    m.first_read = f["first_read_ns"].as_u64();
    m.last_read = f["last_read_ns"].as_u64();
    m.first_write = f["first_write_ns"].as_u64();
    m.last_write = f["last_write_ns"].as_u64();
    let syscalls = f["syscalls"].as_object().ok_or_else(|| bad(src, "missing 'syscalls'"))?;
    for (name, s) in syscalls {
        let calls = u64_field(s, "calls", src)?;
        let errors = u64_field(s, "errors", src)?;
        m.calls += calls;
        m.errors += errors;
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
        let bytes = opt_u64_field(s, "bytes", src)?;
        match Via::of_name(name) {
            Some(Via::Aio | Via::Uring) => m.async_bytes += bytes,
            Some(Via::Copy) => m.copy_bytes += bytes,
            Some(Via::Call) | None => {}
        }
        if detail == Detail::Full {
            if let Some(errnos) = s["errnos"].as_object() {
                for e in errnos.keys() {
                    *m.errnos.entry(e.clone()).or_default() += u64_field(&s["errnos"], e, src)?;
                }
            }
            m.syscalls.insert(name.clone(), Calls { calls, bytes, done });
        }
    }
    m.read_runs = hist_field(&f["seq_read_hist"], src)?.total();
    m.write_runs = hist_field(&f["seq_write_hist"], src)?.total();
    let fsync = &f["fsync"];
    m.fsync_calls = u64_field(fsync, "calls", src)?;
    m.fsync_bytes = u64_field(fsync, "bytes", src)?;
    let (latency, between) =
        (opt_hist_field(&fsync["latency_hist"], src)?, opt_hist_field(&fsync["bytes_between_hist"], src)?);
    if detail == Detail::Full {
        (m.fsync_latency, m.fsync_between) = (latency, between);
    }
    let opens = &f["opens"];
    m.opens = Opens {
        calls: opt_u64_field(opens, "calls", src)?,
        direct: opt_u64_field(opens, "direct", src)?,
        sync: opt_u64_field(opens, "sync", src)?,
        dsync: opt_u64_field(opens, "dsync", src)?,
    };
    let maps = &f["mmap"];
    m.mapped_bytes = opt_u64_field(maps, "shared_bytes", src)? + opt_u64_field(maps, "private_bytes", src)?;
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

/// Profile versions read: 1 (rows by inode) and 2 (rows by path).
const READS_VERSIONS: std::ops::RangeInclusive<u64> = 1..=crate::record::FORMAT_VERSION;

/// Reads a profile member by member: `files` one file at a time, each turned
/// into a row at once, and `snapshots` skipped, so that memory follows the
/// rows, not a JSON tree of the whole document (a 100k-file profile is 70 MB).
struct ProfileReader<'a> {
    src: &'a str,
    first: usize,
    detail: Detail,
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
            match parse_file(&f, self.0.src, self.0.first + rows.len(), self.0.detail) {
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

/// `path` (`-`: standard input); `first`: how many files were read before this profile.
pub fn load(path: &str, first: usize, detail: Detail) -> Result<Profile> {
    let input: Box<dyn std::io::Read> = match path {
        "-" => Box::new(std::io::stdin().lock()),
        _ => Box::new(std::fs::File::open(path).map_err(|e| Error::from(e).context(path))?),
    };
    // Streamed: input that cannot be a profile fails at its first wrong byte
    // (`report /dev/zero` must not read forever).
    let reader = ProfileReader { src: path, first, detail, invalid: Default::default() };
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
    let unsupported = match &doc["unsupported"] {
        Value::Null => vec![],
        Value::Array(a) => a
            .iter()
            .map(|u| u.as_str().map(str::to_string).ok_or_else(|| bad(path, "'unsupported' is not a list of names")))
            .collect::<Result<_>>()?,
        _ => return Err(bad(path, "'unsupported' is not a list of names")),
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
        unsupported,
    })
}
