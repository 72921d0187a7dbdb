//! Block-layer tools: biosnoop, biolatency, biopattern and heatmap. They
//! share the request tracking of bpf/block.bpf.h, its tracepoints and its
//! command-line options; each has its own BPF object and output.

pub mod biolatency;
pub mod biopattern;
pub mod biosnoop;
mod disks;
pub mod heatmap;
mod heatmap_svg;
mod rwbs;

use std::cell::Cell;
use std::io::Write;
use std::time::{Duration, Instant};

use crate::bpf::{Attach, Embedded, Object, OpenObject};
use crate::cli::{self, Arg, Args};
use crate::error::{Error, Result};
use crate::objects;
use crate::probe::Feat;
use crate::shared::{block_config, block_drop, block_req, block_rq_key, block_tp, block_tp_id, tp_field};
use crate::shared::{BLOCK_COMM_LEN, BLOCK_RWBS_LEN};
use crate::signals;
use crate::strategy::{Strategy, Tool};
use crate::tracefs::Tracefs;

pub use disks::{Disk, Names};

const BIO_QUEUE: (&str, Attach) = ("tp_bio_queue", Attach::Tracepoint { category: "block", name: "block_bio_queue" });

/// Strategies of every block tool, over its two objects (bpf/block.bpf.h).
/// raw_tp first: exact (requests known by pointer) and without the
/// perf-event tracepoints' shared recursion guard, which makes a completion
/// interrupting another BPF program go unseen.
const fn strategies(modern: &'static Embedded<[u8]>, legacy: &'static Embedded<[u8]>) -> [Strategy; 2] {
    [
        Strategy {
            name: "raw_tp",
            summary:
                "raw_tp block_rq_{insert,issue,complete} with CO-RE (requests by pointer), tracepoint block_bio_queue",
            needs: &[Feat::Btf, Feat::RawTp, Feat::GlobalData, Feat::BlockTracepoints, Feat::PerfBuffer],
            object: modern,
            probes: &[
                BIO_QUEUE,
                ("raw_rq_insert", Attach::RawTracepoint { name: "block_rq_insert" }),
                ("raw_rq_issue", Attach::RawTracepoint { name: "block_rq_issue" }),
                ("raw_rq_complete", Attach::RawTracepoint { name: "block_rq_complete" }),
            ],
            optional: &[],
        },
        Strategy {
            name: "tracepoint",
            summary: "block:block_{bio_queue,rq_insert,rq_issue,rq_complete}, fields from format files (4.14+)",
            needs: &[Feat::Tracepoint, Feat::BlockTracepoints, Feat::PerfBuffer],
            object: legacy,
            probes: &[
                BIO_QUEUE,
                ("tp_rq_insert", Attach::Tracepoint { category: "block", name: "block_rq_insert" }),
                ("tp_rq_issue", Attach::Tracepoint { category: "block", name: "block_rq_issue" }),
                ("tp_rq_complete", Attach::Tracepoint { category: "block", name: "block_rq_complete" }),
            ],
            optional: &[],
        },
    ]
}

pub static BIOSNOOP: Tool =
    Tool { name: "biosnoop", strategies: &strategies(objects::BIOSNOOP, objects::BIOSNOOP_LEGACY) };
pub static BIOLATENCY: Tool =
    Tool { name: "biolatency", strategies: &strategies(objects::BIOLATENCY, objects::BIOLATENCY_LEGACY) };
pub static BIOPATTERN: Tool =
    Tool { name: "biopattern", strategies: &strategies(objects::BIOPATTERN, objects::BIOPATTERN_LEGACY) };

/// Options every block tool takes.
#[derive(Default)]
pub struct Common {
    pub disk: Option<Disk>,
    pub pid: Option<u32>,
    pub comm: Option<String>,
    pub json: bool,
    pub strategy: Option<String>,
}

/// A common option recognised on the command line (owned, so that the
/// parser is free again to read its value).
#[derive(Clone, Copy)]
pub enum CommonOpt {
    Disk,
    Pid,
    Comm,
    Json,
    Strategy,
}

impl CommonOpt {
    /// Is `arg` one of the common options in `which` (letters among "dpcj";
    /// --strategy always)?
    pub fn of(arg: &Arg<'_>, which: &str) -> Option<CommonOpt> {
        let opt = match arg {
            Arg::Short('d') | Arg::Long("disk") => (CommonOpt::Disk, 'd'),
            Arg::Short('p') | Arg::Long("pid") => (CommonOpt::Pid, 'p'),
            Arg::Short('c') | Arg::Long("comm") => (CommonOpt::Comm, 'c'),
            Arg::Long("json") => (CommonOpt::Json, 'j'),
            Arg::Long("strategy") => return Some(CommonOpt::Strategy),
            _ => return None,
        };
        which.contains(opt.1).then_some(opt.0)
    }
}

impl Common {
    pub fn set(&mut self, opt: CommonOpt, args: &mut Args) -> Result<()> {
        match opt {
            CommonOpt::Disk => self.disk = Some(Disk::find(&args.value_str()?)?),
            CommonOpt::Pid => {
                let pid = args.value_parsed("--pid")?;
                if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
                    return Err(Error::msg(format!("no such process: {pid}")));
                }
                self.pid = Some(pid);
            }
            CommonOpt::Comm => {
                let c = args.value_str()?;
                if c.is_empty() || c.len() >= BLOCK_COMM_LEN as usize {
                    return Err(Error::usage(format!("--comm '{c}': a comm is 1 to {} bytes", BLOCK_COMM_LEN - 1)));
                }
                self.comm = Some(c);
            }
            CommonOpt::Json => self.json = true,
            CommonOpt::Strategy => self.strategy = Some(args.value_str()?),
        }
        Ok(())
    }
}

/// Positional `INTERVAL [COUNT]` (biolatency, biopattern).
#[derive(Default)]
pub struct Interval {
    pub every: Option<Duration>,
    pub count: Option<u64>,
}

impl Interval {
    pub fn take(&mut self, value: std::ffi::OsString) -> Result<()> {
        let v = value.into_string().map_err(|_| Error::usage("invalid UTF-8 in argument"))?;
        let bad = || Error::usage(format!("unexpected argument '{v}' (expected INTERVAL [COUNT])"));
        if self.every.is_none() {
            self.every = Some(cli::parse_seconds(&v, "INTERVAL")?);
        } else if self.count.is_none() {
            let count: u64 = v.parse().map_err(|_| Error::usage(format!("COUNT '{v}' is not a whole number")))?;
            if count == 0 {
                return Err(Error::usage("COUNT must be positive (the number of intervals to print)"));
            }
            self.count = Some(count);
        } else {
            return Err(bad());
        }
        Ok(())
    }
}

/// Where each needed field is in a block tracepoint record, from its format
/// file. `extra` is block_rq_issue's bytes or block_rq_complete's error.
fn layout(tracefs: &Tracefs, event: &str, extra: Option<&str>) -> Result<block_tp> {
    let fields = tracefs.fields("block", event)?;
    let get = |name: &str, sizes: &[u16]| -> Result<tp_field> {
        let f = fields
            .iter()
            .find(|f| f.name == name)
            .ok_or_else(|| Error::msg(format!("tracepoint block:{event} has no field {name} on this kernel")))?;
        if !sizes.contains(&f.size) {
            return Err(Error::msg(format!(
                "tracepoint block:{event}: field {name} is {} bytes, expected {sizes:?}",
                f.size
            )));
        }
        Ok(tp_field { offset: f.offset, size: f.size })
    };
    let mut tp = block_tp {
        dev: get("dev", &[4])?,
        sector: get("sector", &[8])?,
        nr_sector: get("nr_sector", &[4])?,
        // Only BLOCK_RWBS_LEN bytes are read: 8 before 6.x, 10 since.
        rwbs: get("rwbs", &[BLOCK_RWBS_LEN as u16, BLOCK_RWBS_LEN as u16 + 2])?,
        ..Default::default()
    };
    match extra {
        Some("bytes") => tp.bytes = get("bytes", &[4])?,
        Some("error") => tp.error = get("error", &[4])?,
        _ => {}
    }
    Ok(tp)
}

/// Index of the struct request among a raw tracepoint's arguments: the last
/// one (block_rq_insert/issue dropped their request_queue in 5.11, a54895fa057c).
fn rq_arg(tracepoint: &str) -> Result<u8> {
    match crate::bpf::raw_tp_arity(tracepoint)? {
        n @ 1..=2 => Ok(n as u8 - 1),
        n => Err(Error::msg(format!(
            "raw tracepoint {tracepoint} has {n} arguments on this kernel; use --strategy tracepoint"
        ))),
    }
}

/// A loaded and attached block tool.
pub struct Session {
    obj: Object,
    pub strategy: &'static str,
    /// Requests removed by `expire` because their completion never came.
    expired: Cell<u64>,
    last_expiry: Cell<Instant>,
}

/// A request in flight this long has been lost (merged into another in the
/// I/O scheduler, or its completion not traced): SCSI's default command
/// timeout is 30 s.
const EXPIRE_NS: u64 = 30_000_000_000;

impl Session {
    /// Load `tool`'s object configured by `common` and `tune`, and attach it.
    pub fn start(tool: &Tool, common: &Common, tune: impl FnOnce(&mut block_config)) -> Result<Session> {
        let features = cli::start_bpf()?;
        let strategy = tool.choose(&features, common.strategy.as_deref())?;
        let t = &features.tracefs;
        let mut cfg = block_config::default();
        cfg.tp[block_tp_id::BLOCK_TP_BIO_QUEUE as usize] = layout(t, "block_bio_queue", None)?;
        cfg.tp[block_tp_id::BLOCK_TP_RQ_INSERT as usize] = layout(t, "block_rq_insert", None)?;
        cfg.tp[block_tp_id::BLOCK_TP_RQ_ISSUE as usize] = layout(t, "block_rq_issue", Some("bytes"))?;
        cfg.tp[block_tp_id::BLOCK_TP_RQ_COMPLETE as usize] = layout(t, "block_rq_complete", Some("error"))?;
        cfg.dev = common.disk.as_ref().map_or(0, |d| d.dev);
        cfg.pid = common.pid.unwrap_or(0);
        if let Some(c) = &common.comm {
            cfg.filter_comm = 1;
            for (d, s) in cfg.comm.iter_mut().zip(c.bytes()) {
                *d = s as _;
            }
        }
        if strategy.probes.iter().any(|(_, how)| matches!(how, Attach::RawTracepoint { .. })) {
            cfg.insert_rq_arg = rq_arg("block_rq_insert")?;
            cfg.issue_rq_arg = rq_arg("block_rq_issue")?;
        }
        tune(&mut cfg);
        let mut open = OpenObject::open(tool.name, strategy.object)?;
        let progs: Vec<&str> = strategy.probes.iter().map(|(p, _)| *p).collect();
        open.autoload_only(&progs)?;
        open.configure(&cfg)?;
        let obj = open.load()?;
        let partitions = obj.map("partitions")?;
        for (part, disk) in disks::partitions() {
            partitions.set(&part, &disk)?;
        }
        for (prog, how) in strategy.probes {
            obj.attach(prog, how)?;
        }
        let session =
            Session { obj, strategy: strategy.name, expired: Cell::new(0), last_expiry: Cell::new(Instant::now()) };
        Ok(session)
    }

    pub fn obj(&self) -> &Object {
        &self.obj
    }

    /// Remove requests in flight for longer than EXPIRE_NS (at most once a second).
    pub fn expire(&self) -> Result<()> {
        if self.last_expiry.get().elapsed() < Duration::from_secs(1) {
            return Ok(());
        }
        self.last_expiry.set(Instant::now());
        let now = crate::clock::monotonic_ns();
        let reqs = self.obj.map("reqs")?;
        for (k, r) in reqs.entries::<block_rq_key, block_req>()? {
            let since = r.issue_ns.max(r.insert_ns);
            if now.saturating_sub(since) > EXPIRE_NS && reqs.delete(&k)? {
                self.expired.set(self.expired.get() + 1);
            }
        }
        Ok(())
    }

    /// What could not be tracked, for the tools' summaries.
    pub fn losses(&self) -> Result<serde_json::Value> {
        let drops = self.obj.map("block_drops")?;
        let count = |why: block_drop| -> Result<u64> {
            Ok(drops.get_percpu::<u32, u64>(&(why as u32))?.unwrap_or_default().iter().sum())
        };
        Ok(serde_json::json!({
            "unmatched_completions": count(block_drop::BLOCK_UNMATCHED)?,
            "tracking_full": count(block_drop::BLOCK_REQS_FULL)?,
            "map_full": count(block_drop::BLOCK_MAP_FULL)?,
            "expired": self.expired.get(),
            "missed_runs": self.obj.recursion_misses(),
        }))
    }
}

/// When a tool stops: Ctrl-C/SIGTERM, after a duration, or after COUNT intervals.
pub struct Clock {
    start: Instant,
    deadline: Option<Instant>,
    every: Option<Duration>,
    next: Option<Instant>,
    left: Option<u64>,
}

impl Clock {
    pub fn new(duration: Option<Duration>, interval: &Interval) -> Clock {
        let start = Instant::now();
        Clock {
            start,
            deadline: duration.map(|d| start + d),
            every: interval.every,
            next: interval.every.map(|e| start + e),
            left: interval.count,
        }
    }

    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// Is an interval due now? (Counts it.)
    pub fn tick(&mut self) -> bool {
        let (Some(next), Some(every)) = (self.next, self.every) else {
            return false;
        };
        if Instant::now() < next {
            return false;
        }
        self.next = Some(next + every);
        if let Some(left) = self.left.as_mut() {
            *left -= 1;
        }
        true
    }

    pub fn done(&self) -> bool {
        signals::stop_requested() || self.left == Some(0) || self.deadline.is_some_and(|d| Instant::now() >= d)
    }
}

/// The loop of the summarising tools: `report(elapsed_s)` runs every INTERVAL,
/// or once at the end; it returns false when the reader has gone.
pub fn report_intervals(
    session: &Session,
    interval: &Interval,
    mut report: impl FnMut(f64) -> Result<bool>,
) -> Result<()> {
    let mut clock = Clock::new(None, interval);
    let mut printed = false;
    loop {
        std::thread::sleep(Duration::from_millis(100));
        session.expire()?;
        let due = clock.tick();
        let done = clock.done();
        // A stop between intervals prints the partial one, unless COUNT were asked for.
        if due || (done && !(printed && interval.count.is_some())) {
            printed = true;
            if !report(clock.elapsed().as_secs_f64())? {
                break;
            }
        }
        if done {
            break;
        }
    }
    session.obj().detach_all();
    let l = session.losses()?;
    cli::note(format_args!(
        "unmatched completions {}, expired {}, missed BPF runs {}, untracked (map full) {}",
        l["unmatched_completions"],
        l["expired"],
        l["missed_runs"],
        l["tracking_full"].as_u64().unwrap_or(0) + l["map_full"].as_u64().unwrap_or(0)
    ));
    Ok(())
}

/// Standard output that turns a closed pipe (`| head`) into a clean stop.
pub struct Out(std::io::StdoutLock<'static>);

impl Out {
    pub fn new() -> Out {
        Out(std::io::stdout().lock())
    }

    /// Write; Ok(false) once the reader has gone.
    pub fn write(&mut self, args: std::fmt::Arguments<'_>) -> Result<bool> {
        match self.0.write_fmt(args).and_then(|_| self.0.flush()) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
            Err(e) => Err(Error::msg(format!("cannot write output: {e}"))),
        }
    }
}

/// Wall-clock time of day (UTC) for -T.
pub fn time_of_day() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    format!("{:02}:{:02}:{:02}", secs / 3600 % 24, secs / 60 % 60, secs % 60)
}

/// The tools that also run through a symlink of their name.
pub const SYMLINK_NAMES: [&str; 3] = ["biosnoop", "biolatency", "biopattern"];

/// Dispatch on a block tool's name (subcommand or argv[0] symlink).
pub fn main(tool: &str, args: Args) -> Option<Result<()>> {
    Some(match tool {
        "biosnoop" => biosnoop::main(args),
        "biolatency" => biolatency::main(args),
        "biopattern" => biopattern::main(args),
        "heatmap" => heatmap::main(args),
        _ => return None,
    })
}
