//! `iotrace biopattern`: per-disk access pattern summary, counted in the
//! kernel (bpf/biopattern.bpf.c).

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::rwbs::{self, Op};
use super::{report_intervals, time_of_day, Common, CommonOpt, Interval, Names, Out, Session, BIOPATTERN};
use crate::cli::{self, Arg, Args};
use crate::error::Result;
use crate::objects::map_name;
use crate::shared::{pattern_key, pattern_lat_key, pattern_stats, PATTERN_SUBSLOTS};

pub const HELP: &str = "\
Usage: iotrace biopattern [-d DISK] [--json] [INTERVAL [COUNT]]

Summarise each disk's block I/O pattern: requests per operation, the share
of sequential requests (starting where the disk's previous request ended, in
issue order), average size, latency (issue to completion: average, p50, p95,
p99; percentiles within 12.5 %) and queue depth (requests in flight on the
disk when one is issued, that one included: average, and maximum since start).
Row `all` sums the data requests, reads and writes; discards and flushes have
rows of their own and are not in it (a discard's bytes are not data moved).
Printed every INTERVAL seconds (each covering that interval), or once at the end.

Options:
  -d, --disk DISK  only this disk
      --json       one JSON object per interval
      --strategy NAME  force an attach strategy (see `iotrace doctor`)
  INTERVAL [COUNT] print every INTERVAL seconds, COUNT times (default: once, at Ctrl-C)
  -h, --help       this help

Examples:
  sudo iotrace biopattern
  sudo iotrace biopattern -d vda 5
  sudo iotrace biopattern --json 10 6
";

/// Totals of one disk and operation, over an interval.
#[derive(Clone, Default)]
struct Row {
    count: u64,
    bytes: u64,
    sequential: u64,
    lat_sum_ns: u64,
    depth_sum: u64,
    depth_max: u64,
    /// log-linear bucket -> count
    lats: BTreeMap<u32, u64>,
}

impl Row {
    fn add_stats(&mut self, s: &pattern_stats) {
        self.count += s.count;
        self.bytes += s.bytes;
        self.sequential += s.sequential;
        self.lat_sum_ns += s.lat_sum_ns;
        self.depth_sum += s.depth_sum;
        self.depth_max = self.depth_max.max(s.depth_max);
    }

    fn add(&mut self, o: &Row) {
        self.add_stats(&o.as_stats());
        for (b, n) in &o.lats {
            *self.lats.entry(*b).or_default() += n;
        }
    }

    fn as_stats(&self) -> pattern_stats {
        pattern_stats {
            count: self.count,
            bytes: self.bytes,
            sequential: self.sequential,
            lat_sum_ns: self.lat_sum_ns,
            depth_sum: self.depth_sum,
            depth_max: self.depth_max,
        }
    }

    /// self - before (the maximum stays the one since start).
    fn minus(&self, before: &Row) -> Row {
        Row {
            count: self.count - before.count,
            bytes: self.bytes - before.bytes,
            sequential: self.sequential - before.sequential,
            lat_sum_ns: self.lat_sum_ns - before.lat_sum_ns,
            depth_sum: self.depth_sum - before.depth_sum,
            depth_max: self.depth_max,
            lats: self
                .lats
                .iter()
                .map(|(b, n)| (*b, n - before.lats.get(b).copied().unwrap_or(0)))
                .filter(|(_, n)| *n > 0)
                .collect(),
        }
    }

    fn per_request(&self, total: u64) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            total as f64 / self.count as f64
        }
    }

    /// Latency quantile q (0..1) in ns, interpolated within its bucket.
    fn quantile_ns(&self, q: f64) -> f64 {
        let total: u64 = self.lats.values().sum();
        let target = q * total as f64;
        let mut seen = 0.0;
        for (b, n) in &self.lats {
            let n = *n as f64;
            if seen + n >= target {
                let (lo, hi) = bucket_range(*b);
                return lo as f64 + (hi - lo) as f64 * ((target - seen) / n).clamp(0.0, 1.0);
            }
            seen += n;
        }
        0.0
    }

    fn to_json(&self) -> Value {
        let ms = |ns: f64| (ns / 1e4).round() / 100.0;
        json!({
            "requests": self.count,
            "bytes": self.bytes,
            "sequential_pct": (self.per_request(self.sequential) * 1e4).round() / 100.0,
            "avg_bytes": self.per_request(self.bytes).round(),
            "lat_avg_ms": ms(self.per_request(self.lat_sum_ns)),
            "lat_p50_ms": ms(self.quantile_ns(0.50)),
            "lat_p95_ms": ms(self.quantile_ns(0.95)),
            "lat_p99_ms": ms(self.quantile_ns(0.99)),
            "queue_depth_avg": (self.per_request(self.depth_sum) * 100.0).round() / 100.0,
            "queue_depth_max": self.depth_max,
        })
    }
}

/// [lo, hi) of a log-linear bucket (bpf/biopattern.bpf.c: loglin_bucket).
fn bucket_range(b: u32) -> (u64, u64) {
    let sub = PATTERN_SUBSLOTS as u64;
    if (b as u64) < sub {
        return (b as u64, b as u64 + 1);
    }
    let shift = b / PATTERN_SUBSLOTS - 1; // k - PATTERN_SUBSLOT_BITS
    let part = (b % PATTERN_SUBSLOTS) as u64;
    ((sub + part) << shift, (sub + part + 1) << shift)
}

type Rows = BTreeMap<(u32, Op), Row>;

fn snapshot(session: &Session) -> Result<Rows> {
    let mut rows = Rows::new();
    let obj = session.obj();
    for (k, s) in
        obj.map(map_name!("stats" in BIOPATTERN, BIOPATTERN_LEGACY))?.entries::<pattern_key, pattern_stats>()?
    {
        rows.entry((k.dev, rwbs::op(&rwbs::from_c(&k.rwbs)))).or_default().add_stats(&s);
    }
    for (k, n) in obj.map(map_name!("lats" in BIOPATTERN, BIOPATTERN_LEGACY))?.entries::<pattern_lat_key, u64>()? {
        let row = rows.entry((k.disk.dev, rwbs::op(&rwbs::from_c(&k.disk.rwbs)))).or_default();
        *row.lats.entry(k.bucket).or_default() += n;
    }
    Ok(rows)
}

fn delta(now: &Rows, before: &Rows) -> Rows {
    now.iter()
        .map(|(k, r)| (*k, before.get(k).map_or_else(|| r.clone(), |b| r.minus(b))))
        .filter(|(_, r)| r.count > 0)
        .collect()
}

/// One disk's rows, and the sum of its data rows ("all": reads and writes;
/// a discard moves no data and a flush none either, so neither is in it).
type DiskRows<'a> = (Vec<(Op, &'a Row)>, Row);

fn by_disk(rows: &Rows) -> BTreeMap<u32, DiskRows<'_>> {
    let mut out: BTreeMap<u32, DiskRows<'_>> = BTreeMap::new();
    for ((dev, op), r) in rows {
        let e = out.entry(*dev).or_default();
        e.0.push((*op, r));
        if matches!(op, Op::Read | Op::Write) {
            e.1.add(r);
        }
    }
    out
}

fn print(rows: &Rows, json: bool, names: &mut Names, out: &mut Out, elapsed: f64) -> Result<bool> {
    let disks = by_disk(rows);
    if json {
        let list: Vec<Value> = disks
            .iter()
            .map(|(dev, (ops, all))| {
                let ops: serde_json::Map<String, Value> =
                    ops.iter().map(|(op, r)| (op.name().to_string(), r.to_json())).collect();
                json!({"disk": names.name(*dev), "all": all.to_json(), "ops": ops})
            })
            .collect();
        let doc = json!({"time": time_of_day(), "elapsed_s": elapsed, "disks": list});
        return out.write(format_args!("{doc}\n"));
    }
    let mut text = format!(
        "{:<10} {:<8} {:>9} {:>6} {:>8} {:>10} {:>9} {:>9} {:>9} {:>9} {:>7} {:>6}\n",
        "DISK", "OP", "REQUESTS", "SEQ%", "AVG_KB", "MB", "LAT_ms", "P50_ms", "P95_ms", "P99_ms", "QD_AVG", "QD_MAX"
    );
    for (dev, (ops, all)) in &disks {
        let name = names.name(*dev);
        let all = (all.count > 0).then_some(("all", all));
        let rows = ops.iter().map(|(op, r)| (op.name(), *r)).chain(all);
        for (op, r) in rows {
            text += &format!(
                "{name:<10} {op:<8} {:>9} {:>6.1} {:>8.1} {:>10.1} {:>9.3} {:>9.3} {:>9.3} {:>9.3} {:>7.2} {:>6}\n",
                r.count,
                r.per_request(r.sequential) * 100.0,
                r.per_request(r.bytes) / 1024.0,
                r.bytes as f64 / 1048576.0,
                r.per_request(r.lat_sum_ns) / 1e6,
                r.quantile_ns(0.50) / 1e6,
                r.quantile_ns(0.95) / 1e6,
                r.quantile_ns(0.99) / 1e6,
                r.per_request(r.depth_sum),
                r.depth_max,
            );
        }
    }
    if disks.is_empty() {
        text += "(no block requests completed)\n";
    }
    out.write(format_args!("{text}\n"))
}

pub fn main(mut args: Args) -> Result<()> {
    let (mut common, mut interval) = (Common::default(), Interval::default());
    while let Some(arg) = args.next()? {
        if let Some(c) = CommonOpt::of(&arg, "dj") {
            common.set(c, &mut args)?;
            continue;
        }
        match arg {
            Arg::Short('h') | Arg::Long("help") => return cli::print_help(HELP),
            Arg::Value(v) => interval.take(v)?,
            other => return Err(cli::unexpected(other)),
        }
    }
    let session = Session::start(&BIOPATTERN, &common, |_| {})?;
    let (mut names, mut out) = (Names::default(), Out::new());
    let mut before = Rows::new();
    cli::note(format_args!("tracing block I/O patterns with strategy {}; Ctrl-C to stop", session.strategy));
    report_intervals(&session, &interval, |elapsed| {
        let now = snapshot(&session)?;
        let d = delta(&now, &before);
        before = now;
        print(&d, common.json, &mut names, &mut out, elapsed)
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shared::PATTERN_SUBSLOT_BITS;

    /// The BPF side's bucket function, for checking the decoding against it.
    fn loglin_bucket(v: u64) -> u32 {
        let sub = PATTERN_SUBSLOTS as u64;
        if v < sub {
            return v as u32;
        }
        let k = 63 - v.leading_zeros();
        (k - PATTERN_SUBSLOT_BITS + 1) * PATTERN_SUBSLOTS + ((v >> (k - PATTERN_SUBSLOT_BITS)) & (sub - 1)) as u32
    }

    #[test]
    fn buckets_decode_to_ranges_holding_their_values() {
        for v in [0u64, 1, 7, 8, 9, 15, 16, 17, 100, 1000, 123_456, 10_000_000, 1 << 40] {
            let (lo, hi) = bucket_range(loglin_bucket(v));
            assert!(lo <= v && v < hi, "{v}: [{lo}, {hi})");
            assert!((hi - lo) as f64 <= (lo as f64 / 8.0).max(1.0), "{v}: bucket too wide");
        }
    }

    #[test]
    fn quantiles_interpolate_within_buckets() {
        let mut r = Row { count: 100, ..Default::default() };
        r.lats.insert(loglin_bucket(1000), 50);
        r.lats.insert(loglin_bucket(100_000), 50);
        let p50 = r.quantile_ns(0.5);
        let (lo, hi) = bucket_range(loglin_bucket(1000));
        assert!(p50 >= lo as f64 && p50 <= hi as f64, "{p50}");
        let p99 = r.quantile_ns(0.99);
        assert!((90_000.0..=110_000.0).contains(&p99), "{p99}");
    }
}
