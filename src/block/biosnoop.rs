//! `iotrace biosnoop`: one line per completed block request.

use std::cell::RefCell;
use std::time::Duration;

use serde_json::json;

use super::{rwbs, Clock, Common, CommonOpt, Interval, Names, Out, Session, BIOSNOOP};
use crate::bpf::{from_bytes, EventReader};
use crate::cli::{self, Arg, Args};
use crate::error::{Error, Result};
use crate::objects::map_name;
use crate::shared::{block_drop, block_event};

pub const HELP: &str = "\
Usage: iotrace biosnoop [-d DISK] [-Q] [-p PID] [-c COMM] [--json] [DURATION]

Trace block I/O: one line per completed request, with the process that
submitted it (the one that queued its first bio: writeback kworkers and jbd2
when they did, not whoever runs at completion), its disk, type, sector, size,
latency (issue to completion) and, with -Q, time queued in the I/O scheduler.

Columns: TIME(s) since start, PID, COMM, DISK, T (R read, W write, F flush,
D discard, N other), SECTOR (512-byte units), BYTES, QUE(ms), LAT(ms).

Options:
  -d, --disk DISK    only this disk (vda, /dev/nvme0n1; whole disks only)
  -Q, --queued       show time queued in the I/O scheduler (insert to issue)
  -p, --pid PID      only I/O submitted by this process
  -c, --comm COMM    only I/O submitted by processes with this name
      --json         one JSON object per request (all rwbs flags included),
                     then one summary object
      --strategy NAME  force an attach strategy (see `iotrace doctor`)
  DURATION           stop after this many seconds (default: Ctrl-C)
  -h, --help         this help

A summary goes to stderr at the end: requests, events lost, completions of
requests issued before tracing began, and requests whose completion was not
seen (expired after 30 s, never leaked; or still in flight at the stop).

Examples:
  sudo iotrace biosnoop
  sudo iotrace biosnoop -d vda -Q 10
  sudo iotrace biosnoop -c postgres --json > io.ndjson
";

struct Opts {
    common: Common,
    queued: bool,
    duration: Option<Duration>,
}

fn parse(mut args: Args) -> Result<Option<Opts>> {
    let mut o = Opts { common: Common::default(), queued: false, duration: None };
    while let Some(arg) = args.next()? {
        if let Some(c) = CommonOpt::of(&arg, "dpcj") {
            o.common.set(c, &mut args)?;
            continue;
        }
        match arg {
            Arg::Short('Q') | Arg::Long("queued") => o.queued = true,
            Arg::Short('h') | Arg::Long("help") => {
                cli::print_help(HELP)?;
                return Ok(None);
            }
            Arg::Value(v) if o.duration.is_none() => {
                let v = v.into_string().map_err(|_| Error::usage("invalid UTF-8 in argument"))?;
                o.duration = Some(cli::parse_seconds(&v, "DURATION")?);
            }
            other => return Err(cli::unexpected(other)),
        }
    }
    Ok(Some(o))
}

/// Run `session` (biosnoop's object) until stopped, handing each completed
/// request to `each`, which returns false to stop. Returns the events lost
/// (a full buffer, or a send that failed).
pub fn run_events(
    session: &Session,
    duration: Option<Duration>,
    mut each: impl FnMut(&block_event) -> Result<bool>,
) -> Result<u64> {
    let clock = Clock::new(duration, &Interval::default());
    let events = session.obj().map(map_name!("events" in BIOSNOOP, BIOSNOOP_LEGACY))?;
    let outcome: RefCell<Result<bool>> = RefCell::new(Ok(true));
    let mut reader = EventReader::new(&events, 64, |data| {
        if data.len() < std::mem::size_of::<block_event>() || !matches!(*outcome.borrow(), Ok(true)) {
            return;
        }
        let r = each(&from_bytes(data));
        *outcome.borrow_mut() = r;
    })?;
    // An error is taken out (it ends the loop); Ok stays as it is.
    let check = |outcome: &RefCell<Result<bool>>| {
        let mut o = outcome.borrow_mut();
        match *o {
            Ok(go) => Ok(go),
            Err(_) => std::mem::replace(&mut *o, Ok(false)),
        }
    };
    while !clock.done() && check(&outcome)? {
        reader.poll(100)?;
        session.expire()?;
    }
    // Requests completed before the stop may still be in the buffers.
    session.obj().detach_all();
    reader.drain()?;
    check(&outcome)?;
    Ok(reader.lost() + session.drops(block_drop::BLOCK_EVENT_FAILED)?)
}

fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

pub fn main(args: Args) -> Result<()> {
    let Some(o) = parse(args)? else { return Ok(()) };
    let session = Session::start(&BIOSNOOP, &o.common, |_| {})?;
    let start_ns = crate::clock::monotonic_ns();
    let mut names = Names::default();
    let mut out = Out::new();
    let (mut requests, mut bytes) = (0u64, 0u64);
    if !o.common.json {
        let que = if o.queued { format!(" {:>8}", "QUE(ms)") } else { String::new() };
        out.write(format_args!(
            "{:<11} {:<7} {:<16} {:<8} {:<1} {:>12} {:>8}{que} {:>8}\n",
            "TIME(s)", "PID", "COMM", "DISK", "T", "SECTOR", "BYTES", "LAT(ms)"
        ))?;
    }
    cli::note(format_args!("tracing block I/O with strategy {}; Ctrl-C to stop", session.strategy));
    let lost = run_events(&session, o.duration, |e| {
        requests += 1;
        bytes += e.bytes as u64;
        let disk = names.name(e.dev);
        let (flags, comm) = (rwbs::from_c(&e.rwbs), rwbs::from_c(&e.comm));
        let op = rwbs::op(&flags);
        let t = e.ts_ns.saturating_sub(start_ns) as f64 / 1e9;
        if o.common.json {
            let line = json!({
                "time_s": t, "pid": e.pid, "comm": comm, "disk": disk, "type": op.letter().to_string(),
                "op": op.name(), "rwbs": flags, "flags": rwbs::flags(&flags), "sector": e.sector,
                "bytes": e.bytes, "queue_ns": e.queue_ns, "latency_ns": e.lat_ns, "error": e.error,
            });
            out.write(format_args!("{line}\n"))
        } else {
            let que = if o.queued { format!(" {:>8.3}", ms(e.queue_ns)) } else { String::new() };
            out.write(format_args!(
                "{t:<11.6} {:<7} {comm:<16} {disk:<8} {:<1} {:>12} {:>8}{que} {:>8.3}\n",
                e.pid,
                op.letter(),
                e.sector,
                e.bytes,
                ms(e.lat_ns)
            ))
        }
    })?;
    let losses = session.losses()?;
    if o.common.json {
        let mut summary = losses.json();
        summary.insert("requests".into(), requests.into());
        summary.insert("bytes".into(), bytes.into());
        summary.insert("events_lost".into(), lost.into());
        out.write(format_args!("{}\n", json!({ "summary": summary })))?;
    }
    cli::note(format_args!("{requests} requests, {bytes} bytes; lost events {lost}, {losses}"));
    Ok(())
}
