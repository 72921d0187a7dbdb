//! A loaded and attached block tool: its configuration from the tracepoints'
//! layouts, request expiry, losses, and the loop that stops it.

use std::cell::Cell;
use std::time::{Duration, Instant};

use super::strategies::RAW_COMPLETE;
use super::{disks, Common, Interval};
use crate::bpf::{Map, Object};
use crate::cli;
use crate::error::{Error, Result};
use crate::objects::map_name;
use crate::shared::BLOCK_RWBS_LEN;
use crate::shared::{block_config, block_drop, block_req, block_rq_key, block_tp, block_tp_id};
use crate::signals;
use crate::strategy::{Flavour, Tool};
use crate::tracefs::Tracefs;

/// Where each needed field is in a block tracepoint record, from its format
/// file. `extra` is block_rq_issue's bytes or block_rq_complete's error.
fn layout(tracefs: &Tracefs, event: &str, extra: Option<&str>) -> Result<block_tp> {
    let get = |name: &str, sizes: &[u16]| tracefs.tp_field("block", event, name, sizes);
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

/// Index of a block tracepoint's last raw argument, the bio or request (5.11
/// dropped the request_queue before it: bpf/request.bpf.h, last_arg).
pub fn last_arg(tracepoint: &str) -> Result<u8> {
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
        let features = crate::probe::start()?;
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
        // The CO-RE object takes the requests from the raw tracepoints' arguments.
        if strategy.flavour() == Flavour::CoRe {
            cfg.insert_rq_arg = last_arg("block_rq_insert")?;
            cfg.issue_rq_arg = last_arg("block_rq_issue")?;
        }
        tune(&mut cfg);
        let loaded = strategy.load(&features, |open| open.configure(&cfg))?;
        let partitions = loaded.obj.map(map_name!("partitions" in BIOSNOOP, BIOSNOOP_LEGACY, BIOLATENCY, BIOLATENCY_LEGACY, BIOPATTERN, BIOPATTERN_LEGACY))?;
        for (part, disk) in disks::partitions() {
            partitions.set(&part, &disk)?;
        }
        loaded.attach()?;
        Ok(Session {
            obj: loaded.obj,
            strategy: strategy.name,
            expired: Cell::new(0),
            last_expiry: Cell::new(Instant::now()),
        })
    }

    pub fn obj(&self) -> &Object {
        &self.obj
    }

    /// The requests in flight (bpf/block.bpf.h: reqs).
    fn reqs(&self) -> Result<Map<'_>> {
        self.obj.map(map_name!("reqs" in BIOSNOOP, BIOSNOOP_LEGACY, BIOLATENCY, BIOLATENCY_LEGACY, BIOPATTERN, BIOPATTERN_LEGACY))
    }

    /// Remove requests in flight for longer than EXPIRE_NS (at most once a second).
    pub fn expire(&self) -> Result<()> {
        if self.last_expiry.get().elapsed() < Duration::from_secs(1) {
            return Ok(());
        }
        self.last_expiry.set(Instant::now());
        let now = crate::clock::monotonic_ns();
        let reqs = self.reqs()?;
        for (k, r) in reqs.entries::<block_rq_key, block_req>()? {
            let since = r.issue_ns.max(r.insert_ns);
            if now.saturating_sub(since) > EXPIRE_NS && reqs.delete(&k)? {
                self.expired.set(self.expired.get() + 1);
            }
        }
        Ok(())
    }

    /// How often the programs dropped something for this reason.
    pub fn drops(&self, why: block_drop) -> Result<u64> {
        let drops = self.obj.map(map_name!("block_drops" in BIOSNOOP, BIOSNOOP_LEGACY, BIOLATENCY, BIOLATENCY_LEGACY, BIOPATTERN, BIOPATTERN_LEGACY))?;
        Ok(drops.get_percpu::<u32, u64>(&(why as u32))?.unwrap_or_default().iter().sum())
    }

    /// What could not be tracked, for the tools' summaries (once detached).
    pub fn losses(&self) -> Result<Losses> {
        let entries = self.reqs()?.entries::<block_rq_key, block_req>()?;
        let in_flight = entries.iter().filter(|(_, r)| r.issue_ns != 0 && r.wanted != 0).count();
        Ok(Losses {
            unmatched_completions: self.drops(block_drop::BLOCK_UNMATCHED)?,
            tracking_full: self.drops(block_drop::BLOCK_REQS_FULL)?,
            map_full: self.drops(block_drop::BLOCK_MAP_FULL)?,
            expired: self.expired.get(),
            in_flight: in_flight as u64,
            missed_runs: self.obj.missed_runs(&[RAW_COMPLETE]),
        })
    }
}

/// What a block tool could not track.
pub struct Losses {
    /// Completions of requests whose start was not seen.
    pub unmatched_completions: u64,
    /// Requests not tracked: the in-flight map was full.
    pub tracking_full: u64,
    /// Counts not kept: a result map was full.
    pub map_full: u64,
    /// Requests that never completed (dropped after EXPIRE_NS).
    pub expired: u64,
    /// Requests issued whose completion had not been seen when tracing
    /// stopped: still on the disk, or completed where the kernel ran no BPF
    /// program (README: "How it adapts to the kernel").
    pub in_flight: u64,
    /// Program runs the kernel skipped (recursion).
    pub missed_runs: u64,
}

impl Losses {
    /// The fields of a `--json` summary.
    pub fn json(&self) -> serde_json::Map<String, serde_json::Value> {
        let v = serde_json::json!({
            "unmatched_completions": self.unmatched_completions,
            "tracking_full": self.tracking_full,
            "map_full": self.map_full,
            "expired": self.expired,
            "in_flight_at_stop": self.in_flight,
            "missed_runs": self.missed_runs,
        });
        match v {
            serde_json::Value::Object(m) => m,
            _ => unreachable!("a JSON object literal"),
        }
    }
}

impl std::fmt::Display for Losses {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "unmatched completions {}, expired {}, in flight at stop {}, missed BPF runs {}, untracked (map full) {}",
            self.unmatched_completions,
            self.expired,
            self.in_flight,
            self.missed_runs,
            self.tracking_full + self.map_full
        )
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
    cli::note(format_args!("{}", session.losses()?));
    Ok(())
}
