//! `iotrace heatmap`: block I/O heat maps as standalone SVG, from
//! biosnoop's per-request events.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use super::heatmap_svg::{latency_map, offset_map, Meta, Sample};
use super::{biosnoop, disks, rwbs, Common, CommonOpt, Names, Session, BIOSNOOP};
use crate::cli::{self, Arg, Args};
use crate::error::{Error, Result};
use crate::output::PendingOutput;

pub const HELP: &str = "\
Usage: iotrace heatmap --offset|--latency [-d DISK] [-D SECONDS] -o FILE.svg

Trace block I/O for SECONDS and draw a heat map as a standalone SVG file
(open it in a browser):
  --offset   x time, y disk offset, colour the mean latency of the requests
             there: where on the disk the I/O goes, and how fast it is served
  --latency  x time, y latency (log2 buckets), colour the number of requests

Options:
  -d, --disk DISK         only this disk (default: for --offset, the disk with
                          the most requests; for --latency, every disk)
  -D, --duration SECONDS  how long to trace (default 10)
  -o, --output FILE.svg   where to write the map (required)
  -p, --pid PID           only I/O submitted by this process
  -c, --comm COMM         only I/O submitted by processes with this name
      --strategy NAME     force an attach strategy (see `iotrace doctor`)
  -h, --help              this help

Examples:
  sudo iotrace heatmap --offset -d vda -D 30 -o vda-offsets.svg
  sudo iotrace heatmap --latency -D 60 -o latency.svg
";

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Offset,
    Latency,
}

pub fn main(mut args: Args) -> Result<()> {
    let mut common = Common::default();
    let (mut kind, mut duration, mut output) = (None, Duration::from_secs(10), None::<PathBuf>);
    while let Some(arg) = args.next()? {
        if let Some(c) = CommonOpt::of(&arg, "dpc") {
            common.set(c, &mut args)?;
            continue;
        }
        match arg {
            Arg::Long(k @ ("offset" | "latency")) => {
                if kind.is_some() {
                    return Err(Error::usage("--offset and --latency are two heat maps: choose one"));
                }
                kind = Some(if k == "offset" { Kind::Offset } else { Kind::Latency });
            }
            Arg::Short('D') | Arg::Long("duration") => duration = args.seconds("--duration")?,
            Arg::Short('o') | Arg::Long("output") => output = Some(args.value_str()?.into()),
            Arg::Short('h') | Arg::Long("help") => return cli::print_help(HELP),
            other => return Err(cli::unexpected(other)),
        }
    }
    let kind = kind.ok_or_else(|| Error::usage("say which map: --offset or --latency"))?;
    let output = output.ok_or_else(|| Error::usage("-o FILE.svg is required"))?;
    let out = PendingOutput::create(&output, "heat map")?;

    let session = Session::start(&BIOSNOOP, &common, |_| {})?;
    let start_ns = crate::clock::monotonic_ns();
    cli::note(format_args!(
        "tracing block I/O for {} s with strategy {}; Ctrl-C to stop early",
        duration.as_secs_f64(),
        session.strategy
    ));
    let mut by_dev: BTreeMap<u32, Vec<Sample>> = BTreeMap::new();
    let lost = biosnoop::run_events(&session, Some(duration), |e| {
        by_dev.entry(e.dev).or_default().push(Sample {
            t_ns: e.ts_ns,
            sector: e.sector,
            lat_ns: e.lat_ns,
            op: rwbs::op(&rwbs::from_c(&e.rwbs)),
        });
        Ok(true)
    })?;
    let end_ns = crate::clock::monotonic_ns();

    let mut names = Names::default();
    let (disk, samples): (String, Vec<Sample>) = match (kind, &common.disk) {
        (_, Some(d)) => (d.name.clone(), by_dev.remove(&d.dev).unwrap_or_default()),
        (Kind::Offset, None) => match by_dev.into_iter().max_by_key(|(_, s)| s.len()) {
            Some((dev, s)) => (names.name(dev), s),
            None => ("(no disk)".into(), vec![]),
        },
        (Kind::Latency, None) => ("all disks".into(), by_dev.into_values().flatten().collect()),
    };
    let secs = (end_ns - start_ns) as f64 / 1e9;
    type Render = fn(&[Sample], &Meta) -> String;
    let (what, render): (&str, Render) = match kind {
        Kind::Offset => ("offset", offset_map),
        Kind::Latency => ("latency", latency_map),
    };
    let title = format!("iotrace heatmap --{what} {disk}, {secs:.0} s");
    let meta = Meta { disk: &disk, disk_sectors: disks::sectors(&disk), start_ns, end_ns, title: &title };
    out.commit(render(&samples, &meta).as_bytes())?;
    cli::note(format_args!(
        "{} requests on {disk}; heat map written to {}; lost events {lost}, {}",
        samples.len(),
        output.display(),
        session.losses()?
    ));
    Ok(())
}
