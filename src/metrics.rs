//! What `report`, `diff` and `fio` add up per file or directory, and how files
//! group into directories.

use std::collections::BTreeMap;

use crate::hist::Hist;

/// One syscall's share of a file's I/O.
#[derive(Clone, Default)]
pub struct Calls {
    pub calls: u64,
    pub bytes: u64,
    /// Sizes completed, successful calls only.
    pub done: Hist,
}

impl Calls {
    fn add(&mut self, o: &Calls) {
        self.calls += o.calls;
        self.bytes += o.bytes;
        self.done.merge(&o.done);
    }
}

/// Opens by flag (a profile's `opens`; zero in profiles written before it was counted).
#[derive(Clone, Copy, Default)]
pub struct Opens {
    pub calls: u64,
    pub direct: u64,
    pub sync: u64,
    pub dsync: u64,
}

/// Everything added up, per file or directory.
#[derive(Clone, Default)]
pub struct Metrics {
    pub files: u64,
    pub read_bytes: u64,
    pub write_bytes: u64,
    pub read_ops: u64,
    pub write_ops: u64,
    /// Completed I/Os that moved at least one byte, and the sequential runs they formed.
    pub read_moving: u64,
    pub write_moving: u64,
    pub read_runs: u64,
    pub write_runs: u64,
    pub calls: u64,
    pub errors: u64,
    pub rewrites: u64,
    pub first_read: Option<u64>,
    pub last_read: Option<u64>,
    pub first_write: Option<u64>,
    pub last_write: Option<u64>,
    /// Bytes read or written through Linux AIO or io_uring, and by copies
    /// between files (sendfile, copy_file_range, splice: both files' sides).
    pub async_bytes: u64,
    pub copy_bytes: u64,
    /// Lengths mmap(2)ed (shared and private): the file was also accessed
    /// through memory, which no syscall counts.
    pub mapped_bytes: u64,
    /// Highest offset + bytes of a completed read or write (0: not in the
    /// profile); of a directory, its largest file's.
    pub end_offset: u64,
    /// Sizes asked for, by class.
    pub read_req: Hist,
    pub write_req: Hist,
    /// By syscall name (the profile's `syscalls`).
    pub syscalls: BTreeMap<String, Calls>,
    pub errnos: BTreeMap<String, u64>,
    pub opens: Opens,
    pub fsync_calls: u64,
    pub fsync_bytes: u64,
    pub fsync_latency: Hist,
    /// Bytes written since the previous sync, one sample per sync.
    pub fsync_between: Hist,
}

fn min_opt(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    a.into_iter().chain(b).min()
}

fn max_opt(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    a.into_iter().chain(b).max()
}

impl Metrics {
    pub fn add(&mut self, o: &Metrics) {
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
        self.async_bytes += o.async_bytes;
        self.copy_bytes += o.copy_bytes;
        self.mapped_bytes += o.mapped_bytes;
        self.end_offset = self.end_offset.max(o.end_offset);
        self.first_read = min_opt(self.first_read, o.first_read);
        self.last_read = max_opt(self.last_read, o.last_read);
        self.first_write = min_opt(self.first_write, o.first_write);
        self.last_write = max_opt(self.last_write, o.last_write);
        self.read_req.merge(&o.read_req);
        self.write_req.merge(&o.write_req);
        for (name, c) in &o.syscalls {
            self.syscalls.entry(name.clone()).or_default().add(c);
        }
        for (e, n) in &o.errnos {
            *self.errnos.entry(e.clone()).or_default() += n;
        }
        self.opens.calls += o.opens.calls;
        self.opens.direct += o.opens.direct;
        self.opens.sync += o.opens.sync;
        self.opens.dsync += o.opens.dsync;
        self.fsync_calls += o.fsync_calls;
        self.fsync_bytes += o.fsync_bytes;
        self.fsync_latency.merge(&o.fsync_latency);
        self.fsync_between.merge(&o.fsync_between);
    }

    pub fn bandwidth(bytes: u64, first: Option<u64>, last: Option<u64>) -> Option<f64> {
        match (first, last) {
            (Some(f), Some(l)) if l > f && bytes > 0 => Some(bytes as f64 * 1e9 / (l - f) as f64),
            _ => None,
        }
    }

    /// Share of byte-moving I/Os that continued the run before them.
    pub fn seq_share(moving: u64, runs: u64) -> Option<f64> {
        (moving > 0).then(|| moving.saturating_sub(runs) as f64 / moving as f64)
    }

    pub fn read_seq_share(&self) -> Option<f64> {
        Metrics::seq_share(self.read_moving, self.read_runs)
    }

    pub fn write_seq_share(&self) -> Option<f64> {
        Metrics::seq_share(self.write_moving, self.write_runs)
    }

    pub fn read_bw(&self) -> Option<f64> {
        Metrics::bandwidth(self.read_bytes, self.first_read, self.last_read)
    }

    pub fn write_bw(&self) -> Option<f64> {
        Metrics::bandwidth(self.write_bytes, self.first_write, self.last_write)
    }

    /// Calls of the named syscalls.
    pub fn calls_of(&self, names: &[&str]) -> u64 {
        names.iter().filter_map(|n| self.syscalls.get(*n)).map(|c| c.calls).sum()
    }
}

/// What a file's name is worth for grouping.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Name {
    /// A whole absolute path: merges with the same path, sums into its directories.
    Path(String),
    /// Not a whole path (its head missing, or lost), or a file that had no
    /// name when recorded: a row of its own (the number keeps it apart).
    Partial(String, usize),
}

impl Name {
    pub fn display(&self) -> &str {
        match self {
            Name::Path(p) | Name::Partial(p, _) => p,
        }
    }
}

/// Where directory groups put files whose name is not a whole path.
pub const PARTIAL_GROUP: &str = "<paths not known in full>";

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum By {
    File,
    Dir,
}

impl By {
    pub fn parse(v: &str) -> crate::error::Result<By> {
        match v {
            "file" => Ok(By::File),
            "dir" => Ok(By::Dir),
            v => Err(crate::error::Error::usage(format!("--by: '{v}' is not file or dir"))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            By::File => "file",
            By::Dir => "dir",
        }
    }
}

/// "/a/b/c" -> ["/", "/a", "/a/b"] limited to `depth` components below the root.
pub fn ancestors(path: &str, depth: usize) -> Vec<String> {
    let comps: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
    let dirs = comps.len().saturating_sub(1);
    (0..=dirs.min(depth)).map(|n| format!("/{}", comps[..n].join("/"))).collect()
}

/// Files summed into directories: into every ancestor down to `depth`
/// levels (`nested`: what report shows), or only into the deepest one (a
/// partition of the files: what fio turns into jobs). `K` is what else
/// keeps files apart (host, mount namespace).
pub fn by_dir<K: Ord + Clone>(
    files: &BTreeMap<(K, Name), Metrics>,
    depth: usize,
    nested: bool,
) -> BTreeMap<(K, Name), Metrics> {
    let mut dirs: BTreeMap<(K, Name), Metrics> = BTreeMap::new();
    for ((k, name), m) in files {
        match name {
            Name::Path(path) => {
                let mut up = ancestors(path, depth);
                if !nested {
                    up.drain(..up.len() - 1);
                }
                for d in up {
                    dirs.entry((k.clone(), Name::Path(d))).or_default().add(m);
                }
            }
            Name::Partial(..) => {
                dirs.entry((k.clone(), Name::Partial(PARTIAL_GROUP.into(), 0))).or_default().add(m);
            }
        }
    }
    dirs
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

    #[test]
    fn deepest_directory_partitions_files() {
        let mut files = BTreeMap::new();
        for p in ["/a/b/x", "/a/y", "/a/b/c/z"] {
            files.insert(((), Name::Path(p.into())), Metrics { files: 1, ..Default::default() });
        }
        let flat = by_dir(&files, 2, false);
        let names: Vec<(&str, u64)> = flat.iter().map(|((_, n), m)| (n.display(), m.files)).collect();
        assert_eq!(names, [("/a", 1), ("/a/b", 2)]);
        assert_eq!(by_dir(&files, 2, true).get(&((), Name::Path("/".into()))).map(|m| m.files), Some(3));
    }
}
