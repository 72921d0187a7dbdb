//! `iotrace biolatency`: log2 histograms of block request latency, counted
//! in the kernel (bpf/biolatency.bpf.c).

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{report_intervals, rwbs, time_of_day, Common, CommonOpt, Interval, Names, Out, Session, BIOLATENCY};
use crate::cli::{self, Arg, Args};
use crate::error::Result;
use crate::hist::{slot_range, Hist};
use crate::objects::map_name;
use crate::shared::lat_key;

pub const HELP: &str = "\
Usage: iotrace biolatency [-D] [-F] [-S] [-Q] [-m] [-T] [-d DISK] [--json] [INTERVAL [COUNT]]

Histograms (log2 buckets) of block request latency, from issue to the driver
to completion, counted in the kernel. Printed every INTERVAL seconds (each
covering that interval), or once at the end.

Options:
  -D, --disks      one histogram per disk
  -F, --flags      one histogram per operation and flags (rwbs: R read, W write,
                   F flush / FUA, D discard, S sync, M meta, A readahead)
  -S, --sizes      one histogram per request size bucket
  -Q, --queued     include time queued in the I/O scheduler (from insertion)
  -m, --millis     milliseconds instead of microseconds
  -T, --timestamp  print the time (UTC) with each interval
  -d, --disk DISK  only this disk
      --json       one JSON object per interval
      --strategy NAME  force an attach strategy (see `iotrace doctor`)
  INTERVAL [COUNT] print every INTERVAL seconds, COUNT times (default: once, at Ctrl-C)
  -h, --help       this help

Examples:
  sudo iotrace biolatency -D 1 10
  sudo iotrace biolatency -F -m -d nvme0n1 5
  sudo iotrace biolatency -S --json 60 1
";

struct Opts {
    common: Common,
    interval: Interval,
    per_disk: bool,
    per_flags: bool,
    per_size: bool,
    queued: bool,
    millis: bool,
    timestamp: bool,
}

fn parse(mut args: Args) -> Result<Option<Opts>> {
    let mut o = Opts {
        common: Common::default(),
        interval: Interval::default(),
        per_disk: false,
        per_flags: false,
        per_size: false,
        queued: false,
        millis: false,
        timestamp: false,
    };
    while let Some(arg) = args.next()? {
        if let Some(c) = CommonOpt::of(&arg, "dj") {
            o.common.set(c, &mut args)?;
            continue;
        }
        match arg {
            Arg::Short('D') | Arg::Long("disks") => o.per_disk = true,
            Arg::Short('F') | Arg::Long("flags") => o.per_flags = true,
            Arg::Short('S') | Arg::Long("sizes") => o.per_size = true,
            Arg::Short('Q') | Arg::Long("queued") => o.queued = true,
            Arg::Short('m') | Arg::Long("millis") => o.millis = true,
            Arg::Short('T') | Arg::Long("timestamp") => o.timestamp = true,
            Arg::Short('h') | Arg::Long("help") => {
                cli::print_help(HELP)?;
                return Ok(None);
            }
            Arg::Value(v) => o.interval.take(v)?,
            other => return Err(cli::unexpected(other)),
        }
    }
    Ok(Some(o))
}

/// What one histogram is for: (dev, size slot, rwbs), each 0/empty unless split by it.
type Group = (u32, u32, String);

/// Cumulative counts now.
fn snapshot(session: &Session) -> Result<BTreeMap<Group, Hist>> {
    let mut out: BTreeMap<Group, Hist> = BTreeMap::new();
    for (k, n) in session.obj().map(map_name!("hists" in BIOLATENCY, BIOLATENCY_LEGACY))?.entries::<lat_key, u64>()? {
        out.entry((k.dev, k.size_slot, rwbs::from_c(&k.rwbs))).or_default().add(k.slot, n);
    }
    Ok(out)
}

/// `now - before`, per group, leaving out groups with nothing new.
fn delta(now: &BTreeMap<Group, Hist>, before: &BTreeMap<Group, Hist>) -> BTreeMap<Group, Hist> {
    let mut out = BTreeMap::new();
    for (g, h) in now {
        let mut d = Hist::default();
        for (slot, n) in &h.0 {
            let old = before.get(g).and_then(|b| b.0.get(slot)).copied().unwrap_or(0);
            if *n > old {
                d.add(*slot, n - old);
            }
        }
        if d.total() > 0 {
            out.insert(g.clone(), d);
        }
    }
    out
}

impl Opts {
    fn unit(&self) -> &'static str {
        if self.millis {
            "msecs"
        } else {
            "usecs"
        }
    }

    /// The group's labels, for the histogram's heading and JSON.
    fn labels(&self, g: &Group, names: &mut Names) -> Vec<(&'static str, Value)> {
        let mut l = Vec::new();
        if self.per_disk {
            l.push(("disk", Value::from(names.name(g.0))));
        }
        if self.per_flags {
            l.push(("flags", Value::from(g.2.clone())));
        }
        if self.per_size {
            let (lo, hi) = slot_range(g.1);
            l.push(("bytes", json!({"lo": lo, "hi": hi})));
        }
        l
    }

    fn print(&self, hists: &BTreeMap<Group, Hist>, names: &mut Names, out: &mut Out, elapsed: f64) -> Result<bool> {
        if self.common.json {
            let list: Vec<Value> = hists
                .iter()
                .map(|(g, h)| {
                    let mut v: serde_json::Map<String, Value> =
                        self.labels(g, names).into_iter().map(|(k, v)| (k.to_string(), v)).collect();
                    v.insert("total".into(), h.total().into());
                    v.insert("buckets".into(), h.to_json());
                    Value::Object(v)
                })
                .collect();
            let doc = json!({"time": time_of_day(), "elapsed_s": elapsed, "unit": self.unit(), "histograms": list});
            return out.write(format_args!("{doc}\n"));
        }
        let mut text = String::new();
        if self.timestamp {
            text += &format!("{}\n", time_of_day());
        }
        for (g, h) in hists {
            let labels = self.labels(g, names);
            if !labels.is_empty() {
                let parts: Vec<String> = labels
                    .iter()
                    .map(|(k, v)| match v {
                        Value::String(s) if *k == "flags" => format!("{k} = {}", rwbs::bcc_name(s)),
                        Value::String(s) => format!("{k} = {s}"),
                        v => format!("{k} = {} -> {}", v["lo"], v["hi"]),
                    })
                    .collect();
                text += &format!("\n{}\n", parts.join(", "));
            }
            text += &h.ascii(self.unit());
        }
        out.write(format_args!("{text}\n"))
    }
}

pub fn main(args: Args) -> Result<()> {
    let Some(o) = parse(args)? else { return Ok(()) };
    let session = Session::start(&BIOLATENCY, &o.common, |cfg| {
        cfg.per_disk = o.per_disk as u8;
        cfg.per_flags = o.per_flags as u8;
        cfg.per_size = o.per_size as u8;
        cfg.queued = o.queued as u8;
        cfg.millis = o.millis as u8;
    })?;
    let (mut names, mut out) = (Names::default(), Out::new());
    let mut before = BTreeMap::new();
    cli::note(format_args!("tracing block I/O latency with strategy {}; Ctrl-C to stop", session.strategy));
    report_intervals(&session, &o.interval, |elapsed| {
        let now = snapshot(&session)?;
        let d = delta(&now, &before);
        before = now;
        o.print(&d, &mut names, &mut out, elapsed)
    })?;
    Ok(())
}
