//! `iotrace fio`: a fio job file that reproduces the recorded I/O, one job
//! per file (or directory), each option with the profile numbers it came from.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use crate::cli::{self, Arg, Args};
use crate::error::{Error, Result};
use crate::hist::{slot_range, Hist};
use crate::metrics::{by_dir, By, Metrics, Name};
use crate::output::PendingOutput;
use crate::profile_read::{load, Detail};
use crate::record::Class;

pub const HELP: &str = "\
Usage: iotrace fio PROFILE... [--by file|dir] [--depth N] [--top N] [--runtime S] [--rate] [-o FILE]

Write a fio job file that reproduces the I/O of one or more `iotrace record`
profiles: one job per file, or per directory. Each option is preceded by a
comment naming the profile numbers it came from; what fio cannot express
(sendfile, copy_file_range, splice, pseudo-files) is listed at the top.

The jobs name the recorded files: a job that writes, writes to that file.
Run the job file on a copy, or change its filename= / directory= lines.

Options:
  --by file|dir   one job per file (default), or per directory: the files
                  directly in it (with --depth, also those below that depth)
  --depth N       with --by dir: directories at most N levels deep
  --top N         only the N files (directories) that moved the most bytes
  --runtime S     run each job for S seconds, looping over its file
  --rate          cap each job at the bandwidth recorded over its active window
  -o FILE         write the job file to FILE (default: standard output)
  -h, --help      this help

Examples:
  iotrace fio pg.json -o pg.fio && fio pg.fio
  iotrace fio --top 5 --runtime 60 --rate app.json
  iotrace fio --by dir --depth 3 day1.json day2.json -o tree.fio
";

struct Opts {
    profiles: Vec<String>,
    by: By,
    depth: usize,
    top: Option<usize>,
    runtime: Option<Duration>,
    rate: bool,
    output: PathBuf,
}

fn parse(mut args: Args) -> Result<Option<Opts>> {
    let mut o = Opts {
        profiles: vec![],
        by: By::File,
        depth: usize::MAX,
        top: None,
        runtime: None,
        rate: false,
        output: "-".into(),
    };
    while let Some(arg) = args.next()? {
        match arg {
            Arg::Long("by") => o.by = By::parse(&args.value_str()?)?,
            Arg::Long("depth") => o.depth = args.value_parsed("--depth")?,
            Arg::Long("top") => o.top = Some(args.value_parsed("--top")?),
            Arg::Long("runtime") => o.runtime = Some(args.seconds("--runtime")?),
            Arg::Long("rate") => o.rate = true,
            Arg::Short('o') | Arg::Long("output") => o.output = args.value_str()?.into(),
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

/// fio's engines by the syscalls each issues (fio's engines/sync.c, libaio.c
/// and io_uring.c: IORING_OP_READ/WRITE, their vectored forms with
/// nonvectored=0, their fixed forms with fixedbufs=1).
const ENGINES: &[(&str, &[&str])] = &[
    ("psync", &["pread64", "pwrite64"]),
    ("sync", &["read", "write"]),
    ("vsync", &["readv", "writev"]),
    ("pvsync", &["preadv", "pwritev"]),
    ("pvsync2", &["preadv2", "pwritev2"]),
    ("libaio", &["aio_pread", "aio_pwrite", "aio_preadv", "aio_pwritev"]),
    (
        "io_uring",
        &["uring_read", "uring_write", "uring_readv", "uring_writev", "uring_read_fixed", "uring_write_fixed"],
    ),
];

/// Sync syscalls by the fio option that issues them after every N writes.
const SYNCS: &[(&str, &[&str])] = &[
    ("fsync", &["fsync", "aio_fsync", "uring_fsync"]),
    ("fdatasync", &["fdatasync", "aio_fdsync", "uring_fdatasync"]),
];

/// File systems whose files are the kernel's, not data: never a job (a
/// write to /proc/sys or /sys changes the kernel).
const PSEUDO: &[&str] = &["/proc", "/sys", "/dev"];

/// Why a file or directory has no job.
struct Left {
    name: String,
    why: String,
}

/// One direction (read or write) of what fio can issue.
#[derive(Default)]
struct Dir {
    bytes: u64,
    /// Completed sizes of the calls that moved bytes.
    sizes: Hist,
}

impl Dir {
    fn moving(&self) -> u64 {
        self.sizes.total()
    }
}

/// A fio option and the profile numbers it came from.
struct Opt {
    why: String,
    key: &'static str,
    value: String,
}

struct Job {
    what: String,
    opts: Vec<Opt>,
}

impl Job {
    fn set(&mut self, key: &'static str, value: impl ToString, why: impl Into<String>) {
        self.opts.push(Opt { why: why.into(), key, value: value.to_string() });
    }

    /// A comment with no option: what the profile says that fio is not told.
    fn note(&mut self, why: impl Into<String>) {
        self.opts.push(Opt { why: why.into(), key: "", value: String::new() });
    }
}

/// `count` of `of` as a whole percentage.
fn pct(count: u64, of: u64) -> f64 {
    if of == 0 {
        0.0
    } else {
        count as f64 * 100.0 / of as f64
    }
}

/// Whole percentages of `counts` that add up to 100 (largest remainders).
fn percentages(counts: &[u64]) -> Vec<u64> {
    let total: u64 = counts.iter().sum();
    let exact: Vec<f64> = counts.iter().map(|c| pct(*c, total)).collect();
    let mut out: Vec<u64> = exact.iter().map(|e| e.floor() as u64).collect();
    let mut order: Vec<usize> = (0..counts.len()).collect();
    order.sort_by(|a, b| (exact[*b] - exact[*b].floor()).total_cmp(&(exact[*a] - exact[*a].floor())));
    let short = 100u64.saturating_sub(out.iter().sum());
    for i in order.into_iter().take(short as usize) {
        out[i] += 1;
    }
    out
}

/// A direction's block sizes: `(size, percent of its I/Os)`. A single bucket
/// is the exact average size (in whole `align` units: O_DIRECT needs
/// sectors); several are the buckets' lower bounds, since the histogram
/// keeps no more than the power of two.
fn block_sizes(d: &Dir, align: u64) -> (Vec<(u64, u64)>, String) {
    let buckets: Vec<(u32, u64)> =
        d.sizes.0.iter().filter(|(s, c)| **s > 0 && **c > 0).map(|(s, c)| (*s, *c)).collect();
    if let [(slot, n)] = buckets[..] {
        let (lo, hi) = slot_range(slot);
        let avg = d.bytes / n;
        let size = (avg / align * align).clamp(lo, hi);
        return (vec![(size, 100)], format!("{n} I/Os of {lo}-{hi} bytes, {} bytes in all (average {avg})", d.bytes));
    }
    let shares = percentages(&buckets.iter().map(|(_, c)| *c).collect::<Vec<_>>());
    let sizes: Vec<(u64, u64)> =
        buckets.iter().zip(&shares).filter(|(_, p)| **p > 0).map(|((s, _), p)| (slot_range(*s).0, *p)).collect();
    let said: Vec<String> =
        buckets.iter().map(|(s, c)| format!("{}-{}: {c}", slot_range(*s).0, slot_range(*s).1)).collect();
    (sizes, format!("completed sizes {} (each as its bucket's lower bound)", said.join(", ")))
}

fn bssplit(sizes: &[(u64, u64)]) -> String {
    sizes.iter().map(|(s, p)| format!("{s}/{p}")).collect::<Vec<_>>().join(":")
}

/// The random share of a direction: I/Os that started a sequential run,
/// less one run per open (the first I/O after an open starts one without
/// a jump). Rounded so that the sequential share rounds down: random I/O
/// continues its predecessor by chance now and then, which is no sequence.
fn random_pct(what: &str, moving: u64, runs: u64, opens: u64) -> (u64, String) {
    // A file open from before the recording started its first run too.
    let jumps = runs.saturating_sub(opens.max(1)).min(moving);
    let seq = (pct(moving - jumps, moving)).floor() as u64;
    (100 - seq, format!("{what}: {moving} I/Os in {runs} sequential runs, {opens} opens: {seq} % sequential"))
}

/// The job of one file or directory; why not, if fio can issue none of its I/O.
fn job(name: &str, by: By, m: &Metrics, opts: &Opts) -> std::result::Result<Job, String> {
    let mut read = Dir::default();
    let mut write = Dir::default();
    let mut engines: Vec<(&str, u64, Vec<String>)> = vec![];
    for (engine, names) in ENGINES {
        let mut calls = 0;
        let mut used = vec![];
        for n in *names {
            let Some(c) = m.syscalls.get(*n) else { continue };
            let d = if Class::of_name(n) == Some(Class::Read) { &mut read } else { &mut write };
            d.bytes += c.bytes;
            d.sizes.merge(&Hist(c.done.0.iter().filter(|(s, _)| **s > 0).map(|(s, c)| (*s, *c)).collect()));
            calls += c.calls;
            used.push(format!("{n} {}", c.calls));
        }
        if calls > 0 {
            engines.push((engine, calls, used));
        }
    }
    if read.moving() + write.moving() == 0 {
        return Err("no read or write that fio can issue moved a byte".into());
    }
    engines.sort_by_key(|e| std::cmp::Reverse(e.1));
    let mut j = Job {
        what: format!(
            "{name}: {} bytes read, {} written{}",
            read.bytes,
            write.bytes,
            if by == By::Dir { format!(", {} files", m.files) } else { String::new() }
        ),
        opts: vec![],
    };
    match by {
        By::File => j.set("filename", name.replace(':', "\\:"), "the recorded file (':' escaped for fio)"),
        By::Dir => {
            j.set("directory", name.replace(':', "\\:"), "the recorded directory: fio creates its own files in it");
            j.set("nrfiles", m.files, format!("{} files did I/O below it", m.files));
        }
    }

    let (engine, _, _) = engines[0];
    let used: Vec<String> = engines.iter().map(|(_, _, u)| u.join(", ")).collect();
    let others = if engines.len() > 1 { " (one engine per job: the others' I/O is issued through it)" } else { "" };
    j.set("ioengine", engine, format!("calls: {}{others}", used.join("; ")));
    if engine == "libaio" || engine == "io_uring" {
        j.set("iodepth", 1, "the profile has no in-flight count of AIO: fio's default, set it to the application's");
    }
    if engine == "io_uring" {
        let calls = |names: &[&str]| m.calls_of(names);
        let (fixed, vectored) =
            (calls(&["uring_read_fixed", "uring_write_fixed"]), calls(&["uring_readv", "uring_writev"]));
        let plain = calls(&["uring_read", "uring_write"]);
        if fixed > plain.max(vectored) {
            j.set("fixedbufs", 1, format!("{fixed} of the requests on registered buffers (READ_FIXED, WRITE_FIXED)"));
        } else if vectored > plain {
            j.set("nonvectored", 0, format!("{vectored} of the requests vectored (READV, WRITEV)"));
        }
    }

    let (has_r, has_w) = (read.moving() > 0, write.moving() > 0);
    let rand_r = random_pct("reads", read.moving(), m.read_runs, m.opens.calls);
    let rand_w = random_pct("writes", write.moving(), m.write_runs, m.opens.calls);
    let active: Vec<&(u64, String)> =
        [(has_r, &rand_r), (has_w, &rand_w)].into_iter().filter(|a| a.0).map(|a| a.1).collect();
    let random = active.iter().any(|(p, _)| *p > 0);
    let rw = match (has_r, has_w, random) {
        (true, false, false) => "read",
        (true, false, true) => "randread",
        (false, true, false) => "write",
        (false, true, true) => "randwrite",
        (_, _, false) => "rw",
        (_, _, true) => "randrw",
    };
    let said: Vec<&str> = active.iter().map(|(_, s)| s.as_str()).collect();
    j.set("rw", rw, said.join("; "));
    if random {
        // fio's random map visits each block once, shrinking blocks to fit
        // the gaps it leaves (sizes the application never used); applications
        // have no such map.
        j.set("norandommap", 1, "random offsets as applications choose them: any block, again or not");
    }
    if random && active.iter().any(|(p, _)| *p < 100) {
        let ps: Vec<String> = active.iter().map(|(p, _)| p.to_string()).collect();
        j.set("percentage_random", ps.join(","), "the I/Os that did not continue a sequential run, of each direction");
    }
    if has_r && has_w {
        let ops = read.moving() + write.moving();
        j.set(
            "rwmixread",
            pct(read.moving(), ops).round() as u64,
            format!(
                "{} of {ops} I/Os read ({:.1} %); by bytes {} of {} ({:.1} %)",
                read.moving(),
                pct(read.moving(), ops),
                read.bytes,
                read.bytes + write.bytes,
                pct(read.bytes, read.bytes + write.bytes)
            ),
        );
    }

    let direct = m.opens.direct * 2 > m.opens.calls;
    let align = if direct { 512 } else { 1 };
    let (r_sizes, r_why) = if has_r { block_sizes(&read, align) } else { (vec![], String::new()) };
    let (w_sizes, w_why) = if has_w { block_sizes(&write, align) } else { (vec![], String::new()) };
    let why = match (has_r, has_w) {
        (true, true) => format!("reads: {r_why}; writes: {w_why}"),
        (true, false) => format!("reads: {r_why}"),
        _ => format!("writes: {w_why}"),
    };
    let single = |s: &[(u64, u64)]| match s {
        [(size, _)] => Some(*size),
        _ => None,
    };
    match (has_r, has_w) {
        (true, true) => match (single(&r_sizes), single(&w_sizes)) {
            (Some(r), Some(w)) => j.set("bs", format!("{r},{w}"), why),
            _ => j.set("bssplit", format!("{},{}", bssplit(&r_sizes), bssplit(&w_sizes)), why),
        },
        _ => {
            let s = if has_r { &r_sizes } else { &w_sizes };
            match single(s) {
                Some(b) => j.set("bs", b, why),
                None => j.set("bssplit", bssplit(s), why),
            }
        }
    }

    syncs(&mut j, m, &write);
    if m.mapped_bytes > 0 {
        j.note(format!(
            "also mmap(2)ed ({} bytes mapped): its loads and stores made no syscall, so they are not in this job",
            m.mapped_bytes
        ));
    }

    let o = m.opens;
    if o.calls == 0 {
        j.note("no open recorded (opened before recording, or a profile without opens): direct= and sync= unknown");
    } else {
        if direct {
            j.set("direct", 1, format!("{} of {} opens had O_DIRECT", o.direct, o.calls));
        }
        if o.sync * 2 > o.calls {
            j.set("sync", "sync", format!("{} of {} opens had O_SYNC", o.sync, o.calls));
        } else if o.dsync * 2 > o.calls {
            j.set("sync", "dsync", format!("{} of {} opens had O_DSYNC", o.dsync, o.calls));
        }
    }

    // A file's size is where its I/O reached; a directory's files (and a
    // profile from before end_offset) get the bytes moved instead. In whole
    // blocks of the smallest size (O_DIRECT needs them), at least the largest.
    let sizes = || r_sizes.iter().chain(&w_sizes).map(|(s, _)| *s);
    let (least, most) = (sizes().min().unwrap_or(1).max(1), sizes().max().unwrap_or(1));
    let (bytes, why) = if by == By::File && m.end_offset > 0 {
        (m.end_offset, format!("the highest offset reached: {} (in blocks of {least})", m.end_offset))
    } else {
        let moved = read.bytes + write.bytes;
        (moved, format!("bytes moved ({} read + {} written, in blocks of {least})", read.bytes, write.bytes))
    };
    j.set("size", (bytes.div_ceil(least) * least).max(most), why);
    if opts.rate {
        rate(&mut j, m, &read, &write);
    }
    Ok(j)
}

/// Syncs: every N writes, N from the bytes written between syncs. Syncs
/// with no write since the previous one are left out of N: fio repeats its
/// sync before each I/O until the next write, as a recorded fio did.
fn syncs(j: &mut Job, m: &Metrics, write: &Dir) {
    if m.fsync_calls > 0 {
        let (option, _) = SYNCS.iter().max_by_key(|(_, names)| m.calls_of(names)).expect("two sync options");
        let after_writes = m.fsync_between.total() - m.fsync_between.0.get(&0).copied().unwrap_or(0);
        let counts: Vec<String> = SYNCS.iter().map(|(o, names)| format!("{o} {}", m.calls_of(names))).collect();
        if after_writes > 0 && write.moving() > 0 {
            let per_sync = m.fsync_bytes / after_writes;
            let write_size = write.bytes as f64 / write.moving() as f64;
            let every = ((per_sync as f64 / write_size).round() as u64).max(1);
            j.set(
                option,
                every,
                format!(
                    "{}: {after_writes} after writes, {} bytes written before them: {per_sync} bytes per sync, \
                     {every} writes of {write_size:.0} bytes",
                    counts.join(", "),
                    m.fsync_bytes
                ),
            );
        } else {
            j.note(format!("{}, none after a write: fio syncs only after writes", counts.join(", ")));
        }
    }
}

/// `--rate`: each direction's bandwidth over its active window.
fn rate(j: &mut Job, m: &Metrics, read: &Dir, write: &Dir) {
    let bw = |bytes: u64, first, last| Metrics::bandwidth(bytes, first, last).map(|b| b.round() as u64);
    let (r, w) = (bw(read.bytes, m.first_read, m.last_read), bw(write.bytes, m.first_write, m.last_write));
    if r.is_some() || w.is_some() {
        let s = |v: Option<u64>| v.map_or(String::new(), |v| v.to_string());
        let window = |first: Option<u64>, last: Option<u64>| match (first, last) {
            (Some(f), Some(l)) if l > f => format!("{:.3} s", (l - f) as f64 / 1e9),
            _ => "-".into(),
        };
        j.set(
            "rate",
            format!("{},{}", s(r), s(w)),
            format!(
                "bytes/s over the active window: read {} bytes in {}, written {} in {}",
                read.bytes,
                window(m.first_read, m.last_read),
                write.bytes,
                window(m.first_write, m.last_write)
            ),
        );
    }
}

/// Why a file gets no job, if it gets none whatever its I/O.
fn unreproducible(name: &Name) -> Option<&'static str> {
    match name {
        Name::Partial(..) => Some("its path is not known in full"),
        Name::Path(p) if PSEUDO.iter().any(|d| p == d || p.starts_with(&format!("{d}/"))) => {
            Some("a kernel pseudo-file (/proc, /sys, /dev)")
        }
        // Bytes the profile escapes (docs/profile-format.md, "Paths") that a job file cannot carry.
        Name::Path(p) if p.contains('\\') => Some("its name has bytes a job file cannot carry"),
        Name::Path(_) => None,
    }
}

/// Copies between files: counted on both files, issued by no fio engine.
const COPIES: &[&str] =
    &["sendfile_in", "sendfile_out", "copy_file_range_in", "copy_file_range_out", "splice_in", "splice_out"];

pub fn main(args: Args) -> Result<()> {
    let Some(o) = parse(args)? else { return Ok(()) };
    let out = PendingOutput::create(&o.output, "job file")?;
    let mut files: BTreeMap<((), Name), Metrics> = BTreeMap::new();
    let mut unsupported = BTreeSet::new();
    let mut hosts = BTreeSet::new();
    let mut first = 0;
    for p in &o.profiles {
        let prof = load(p, first, Detail::Full)?;
        prof.warn_lost(p);
        first += prof.rows.len();
        unsupported.extend(prof.unsupported);
        hosts.insert(prof.host);
        // One host's file system is what a job runs on: files merge by path.
        for r in prof.rows {
            let e = files.entry(((), r.name)).or_default();
            e.add(&r.m);
            e.files = 1;
        }
    }
    let mut left: Vec<Left> = vec![];
    for ((_, name), m) in &files {
        let copies: Vec<String> = COPIES
            .iter()
            .filter_map(|c| m.syscalls.get(*c).map(|s| format!("{c} {} calls, {} bytes", s.calls, s.bytes)))
            .collect();
        if !copies.is_empty() {
            left.push(Left { name: name.display().into(), why: copies.join(", ") });
        }
    }
    files.retain(|(_, name), _| match unreproducible(name) {
        Some(why) => {
            left.push(Left { name: name.display().into(), why: why.into() });
            false
        }
        None => true,
    });
    let groups = match o.by {
        By::File => files,
        By::Dir => by_dir(&files, o.depth, false),
    };
    let mut jobs: Vec<(u64, Job)> = vec![];
    for ((_, name), m) in &groups {
        match job(name.display(), o.by, m, &o) {
            Ok(j) => jobs.push((m.read_bytes + m.write_bytes, j)),
            Err(why) => left.push(Left { name: name.display().into(), why }),
        }
    }
    jobs.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.what.cmp(&b.1.what)));
    if let Some(t) = o.top {
        let cut: Vec<(u64, Job)> = jobs.drain(t.min(jobs.len())..).collect();
        if !cut.is_empty() {
            let bytes: u64 = cut.iter().map(|(b, _)| b).sum();
            let per = if o.by == By::File { "files" } else { "directories" };
            left.push(Left {
                name: format!("{} more {per}", cut.len()),
                why: format!("{bytes} bytes, beyond --top {t}"),
            });
        }
    }
    if jobs.is_empty() {
        return Err(Error::msg(format!("no file in {} has I/O that fio can issue", o.profiles.join(", "))));
    }
    let text = render(&o, &hosts, &unsupported, &left, &jobs);
    out.commit(text.as_bytes())
}

fn render(
    o: &Opts,
    hosts: &BTreeSet<String>,
    unsupported: &BTreeSet<String>,
    left: &[Left],
    jobs: &[(u64, Job)],
) -> String {
    let mut s = String::new();
    let per = if o.by == By::File { "file" } else { "directory" };
    let hosts: Vec<&str> = hosts.iter().map(String::as_str).collect();
    let _ =
        writeln!(s, "# fio job file written by iotrace fio from {} (host {})", o.profiles.join(", "), hosts.join(", "));
    let _ = writeln!(s, "# One job per {per}. The jobs name the recorded files: writes go to them. Run it on a copy.");
    if !left.is_empty() {
        let _ = writeln!(s, "#\n# Not reproduced:");
        for l in left {
            let _ = writeln!(s, "#   {}: {}", l.name, l.why);
        }
    }
    if !unsupported.is_empty() {
        let u: Vec<&str> = unsupported.iter().map(String::as_str).collect();
        let _ = writeln!(s, "#\n# Not seen by the recording, so in no job: {}", u.join(", "));
    }
    if let Some(r) = o.runtime {
        let _ = writeln!(
            s,
            "\n[global]\n# --runtime: each job loops over its file for this long\ntime_based=1\nruntime={}ms",
            r.as_millis()
        );
    }
    for (i, (_, j)) in jobs.iter().enumerate() {
        let _ = writeln!(s, "\n# {}\n[{per}{}]", j.what, i + 1);
        for opt in &j.opts {
            let _ = writeln!(s, "# {}", opt.why);
            if !opt.key.is_empty() {
                let _ = writeln!(s, "{}={}", opt.key, opt.value);
            }
        }
    }
    s
}
