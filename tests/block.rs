//! Block tools on a loop device with known fio workloads: request counts and
//! bytes against /proc/diskstats, sequential share and queue depth, the same
//! totals from biolatency and biosnoop, heat maps a browser renders.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use common::*;
use serde_json::Value;

const STRATEGIES: [&str; 2] = ["raw_tp", "tracepoint"];

/// A loop device over a file, with direct I/O to the file (no page cache in
/// between, so every fio request is one loop request), detached on drop.
struct Loop {
    dev: String,
    _dir: TempDir,
}

impl Loop {
    fn new(tag: &str) -> Loop {
        let dir = TempDir::new(tag);
        let img = dir.path().join("disk.img");
        std::fs::File::create(&img).unwrap().set_len(128 << 20).unwrap();
        let o = ok(Command::new("losetup").args(["-f", "--show", "--direct-io=on"]).arg(&img));
        Loop { dev: stdout(&o).trim().to_string(), _dir: dir }
    }

    fn name(&self) -> &str {
        self.dev.trim_start_matches("/dev/")
    }

    /// (reads, sectors read, writes, sectors written) completed so far.
    fn diskstats(&self) -> [u64; 4] {
        let text = std::fs::read_to_string("/proc/diskstats").unwrap();
        let f: Vec<&str> =
            text.lines().map(|l| l.split_whitespace().collect::<Vec<_>>()).find(|f| f[2] == self.name()).unwrap();
        [f[3], f[5], f[7], f[9]].map(|v| v.parse().unwrap())
    }

    fn fio(&self, rw: &str, bs: &str, engine: &str, depth: u32, size: &str) {
        ok(Command::new("fio").args([
            "--name=job",
            &format!("--filename={}", self.dev),
            "--direct=1",
            &format!("--rw={rw}"),
            &format!("--bs={bs}"),
            &format!("--ioengine={engine}"),
            &format!("--iodepth={depth}"),
            "--size=64M",
            &format!("--io_size={size}"),
        ]));
    }
}

impl Drop for Loop {
    fn drop(&mut self) {
        let _ = Command::new("losetup").arg("-d").arg(&self.dev).status();
    }
}

/// A block tool running in the background, attached once `start` returns;
/// killed if the test fails before `stop` (and every start gives a duration,
/// so that not even a killed test leaves it attached for long).
struct Tool {
    child: Child,
    err: BufReader<std::process::ChildStderr>,
    early_err: String,
}

impl Tool {
    fn start(args: &[&str]) -> Tool {
        let mut child = iotrace().args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let mut err = BufReader::new(child.stderr.take().unwrap());
        let mut early_err = String::new();
        // The tool says "tracing ..." once its programs are attached.
        loop {
            let mut line = String::new();
            if err.read_line(&mut line).unwrap() == 0 {
                panic!("{args:?} exited before tracing: {early_err}");
            }
            early_err += &line;
            if line.contains("tracing") {
                break;
            }
        }
        Tool { child, err, early_err }
    }

    /// SIGINT, then (stdout, stderr) once it has exited 0.
    fn stop(mut self) -> (String, String) {
        // SAFETY: plain kill(2) of our own child, which has not been reaped.
        assert_eq!(unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) }, 0);
        let mut out = String::new();
        self.child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
        let mut err = std::mem::take(&mut self.early_err);
        self.err.read_to_string(&mut err).unwrap();
        let st = self.child.wait().unwrap();
        assert!(st.success(), "exit {st}\nstdout:\n{out}\nstderr:\n{err}");
        (out, err)
    }
}

impl Drop for Tool {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The requests a tool saw issued but not complete (its stderr summary):
/// completions the kernel ran no BPF program for (README: "How it adapts to
/// the kernel"). Tests count them with the ones seen, so that a request is
/// never lost unsaid.
fn in_flight_at_stop(err: &str) -> u64 {
    let (_, rest) = err.split_once("in flight at stop ").unwrap_or_else(|| panic!("no in-flight count: {err}"));
    let n = rest.split(|c: char| !c.is_ascii_digit()).next().unwrap().parse().unwrap();
    // A few completion batches at most (1 to 11 requests seen so far): more
    // would be the tools losing requests, not the kernel.
    assert!(n <= 64, "{n} requests in flight at the stop: {err}");
    n
}

fn json_lines(out: &str) -> Vec<Value> {
    out.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect()
}

/// biosnoop's requests and bytes equal the loop device's diskstats deltas,
/// for a sequential read and a random write at queue depth 16. The
/// tracepoint strategy may miss completions interrupting another BPF program
/// (the kernel's shared recursion guard): then only as many as it reports.
#[test]
fn biosnoop_matches_diskstats() {
    for strategy in STRATEGIES {
        let lo = Loop::new(&format!("snoop-{strategy}"));
        let tool = Tool::start(&["biosnoop", "--json", "-d", lo.name(), "--strategy", strategy, "120"]);
        let before = lo.diskstats();
        lo.fio("read", "128k", "psync", 1, "32M");
        lo.fio("randwrite", "4k", "libaio", 16, "8M");
        let after = lo.diskstats();
        let (out, err) = tool.stop();
        let lines = json_lines(&out);
        let (summary, reqs) = lines.split_last().unwrap();
        let summary = &summary["summary"];
        let count = |op: &str| reqs.iter().filter(|r| r["op"] == op).count() as u64;
        let bytes = |op: &str| reqs.iter().filter(|r| r["op"] == op).map(|r| r["bytes"].as_u64().unwrap()).sum::<u64>();
        let want =
            [after[0] - before[0], (after[1] - before[1]) * 512, after[2] - before[2], (after[3] - before[3]) * 512];
        assert_eq!((want[0], want[1]), (256, 32 << 20), "fio's reads reached the disk as 128 KiB requests");
        assert_eq!((want[2], want[3]), (2048, 8 << 20));
        let got = [count("read"), bytes("read"), count("write"), bytes("write")];
        let missed = summary["missed_runs"].as_u64().unwrap();
        let in_flight = summary["in_flight_at_stop"].as_u64().unwrap();
        assert_eq!(in_flight, in_flight_at_stop(&err));
        let unseen = want[0] - got[0] + want[2] - got[2];
        if strategy == "raw_tp" && in_flight == 0 {
            assert_eq!(got, want, "{strategy}: {err}");
        } else if strategy == "raw_tp" {
            assert_eq!(unseen, in_flight, "{strategy}: {got:?} vs diskstats {want:?}: {err}");
        } else {
            assert!(
                unseen <= missed + in_flight,
                "{strategy}: {got:?} vs diskstats {want:?}, only {missed} missed runs: {err}"
            );
        }
        assert_eq!(summary["requests"].as_u64().unwrap(), reqs.len() as u64);
        assert_eq!((summary["events_lost"].as_u64(), summary["unmatched_completions"].as_u64()), (Some(0), Some(0)));
        for r in reqs {
            assert_eq!((r["comm"].as_str(), r["disk"].as_str()), (Some("fio"), Some(lo.name())), "{r}");
            assert!(r["latency_ns"].as_u64().unwrap() > 0 && r["error"] == 0, "{r}");
            assert!(r["sector"].as_u64().unwrap() < 128 << 11, "{r}");
        }
        let seq_reads = reqs.iter().filter(|r| r["op"] == "read").all(|r| r["sector"].as_u64().unwrap() % 256 == 0);
        assert!(seq_reads, "128 KiB reads start on 256-sector boundaries");
    }
}

fn pattern(out: &str) -> Value {
    let doc = json_lines(out).pop().unwrap();
    assert_eq!(doc["disks"].as_array().unwrap().len(), 1, "{doc}");
    doc["disks"][0].clone()
}

/// biopattern: a sequential read is ~100 % sequential, a random write ~0 %;
/// queue depth is exactly 1 at iodepth 1 and reaches 16 at iodepth 16.
#[test]
fn biopattern_sequential_share_and_queue_depth() {
    let lo = Loop::new("pattern");
    // The tool's summary (stderr: missed runs, unmatched completions) goes
    // into the messages: a count short of fio's says why there.
    let run = |rw: &str, bs: &str, engine: &str, depth: u32, size: &str| {
        let tool = Tool::start(&["biopattern", "--json", "-d", lo.name(), "120", "1"]);
        lo.fio(rw, bs, engine, depth, size);
        let (out, err) = tool.stop();
        let mut doc = pattern(&out);
        doc["stderr"] = err.into();
        doc
    };
    let read = run("read", "128k", "psync", 1, "32M");
    let r = &read["ops"]["read"];
    let unseen = |doc: &Value| in_flight_at_stop(doc["stderr"].as_str().unwrap());
    assert_eq!(r["requests"].as_u64().unwrap() + unseen(&read), 256, "{read}");
    assert!(r["sequential_pct"].as_f64().unwrap() >= 99.0, "{read}");
    // Depth exactly 1, or up to one more for each completion no program saw
    // (its request stays counted in flight).
    let (avg, max) = (r["queue_depth_avg"].as_f64().unwrap(), r["queue_depth_max"].as_u64().unwrap());
    assert_eq!(r["avg_bytes"].as_f64(), Some(131072.0), "{read}");
    assert!(avg >= 1.0 && avg <= 1.0 + unseen(&read) as f64 && (1..=1 + unseen(&read)).contains(&max), "{read}");

    let write = run("randwrite", "4k", "libaio", 16, "8M");
    let w = &write["ops"]["write"];
    assert_eq!(w["requests"].as_u64().unwrap() + unseen(&write), 2048, "{write}");
    assert!(w["sequential_pct"].as_f64().unwrap() <= 1.0, "{write}");
    let max = w["queue_depth_max"].as_u64().unwrap();
    assert!((16..=16 + unseen(&write)).contains(&max), "{write}");
    // fio keeps 16 in flight; the disk sees fewer between a completion and
    // fio's next submission (diskstats' weighted queue time agrees).
    assert!(w["queue_depth_avg"].as_f64().unwrap() > 4.0, "{write}");
    let (p50, p99) = (w["lat_p50_ms"].as_f64().unwrap(), w["lat_p99_ms"].as_f64().unwrap());
    assert!(p50 > 0.0 && p50 <= p99, "{write}");
}

/// biolatency's histograms count every request biosnoop shows, however they
/// are split (per disk and flags; per size in ms with queue time); biosnoop's
/// text output has a line per request.
#[test]
fn biolatency_total_equals_biosnoop() {
    let lo = Loop::new("latency");
    // Durations: biosnoop SECS, biolatency one INTERVAL (a stop before it prints what it has).
    let snoop = Tool::start(&["biosnoop", "--json", "-d", lo.name(), "120"]);
    let text = Tool::start(&["biosnoop", "-Q", "-d", lo.name(), "120"]);
    let lat = Tool::start(&["biolatency", "--json", "-D", "-F", "-d", lo.name(), "120", "1"]);
    let sizes = Tool::start(&["biolatency", "--json", "-S", "-m", "-Q", "-d", lo.name(), "120", "1"]);
    lo.fio("randrw", "16k", "libaio", 8, "8M");
    let ((lat_out, lat_err), (sizes_out, sizes_err)) = (lat.stop(), sizes.stop());
    let ((snoop_out, snoop_err), (text_out, text_err)) = (snoop.stop(), text.stop());
    let requests = json_lines(&snoop_out).len() as u64 - 1;
    assert_eq!(requests + in_flight_at_stop(&snoop_err), 512, "{snoop_err}");

    let doc = json_lines(&lat_out).pop().unwrap();
    let hists = doc["histograms"].as_array().unwrap();
    let total: u64 = hists.iter().map(|h| h["total"].as_u64().unwrap()).sum();
    assert_eq!(total + in_flight_at_stop(&lat_err), 512, "{doc}\n{lat_err}");
    assert_eq!(doc["unit"], "usecs");
    assert!(hists.iter().all(|h| h["disk"] == lo.name()), "{doc}");
    let flags: Vec<&str> = hists.iter().map(|h| h["flags"].as_str().unwrap()).collect();
    assert!(flags.iter().any(|f| f.starts_with('R')) && flags.iter().any(|f| f.starts_with('W')), "{flags:?}");
    let bucket_sum: u64 =
        hists.iter().flat_map(|h| h["buckets"].as_array().unwrap()).map(|b| b["count"].as_u64().unwrap()).sum();
    assert_eq!(bucket_sum, total);

    let doc = json_lines(&sizes_out).pop().unwrap();
    assert_eq!(doc["unit"], "msecs");
    let hists = doc["histograms"].as_array().unwrap();
    assert_eq!(hists.len(), 1, "every request is 16 KiB: {doc}");
    assert_eq!(
        (&hists[0]["bytes"]["lo"], &hists[0]["bytes"]["hi"], &hists[0]["total"]),
        (&16384.into(), &32767.into(), &(512 - in_flight_at_stop(&sizes_err)).into())
    );

    let lines: Vec<&str> = text_out.lines().collect();
    assert!(
        lines[0]
            .split_whitespace()
            .eq(["TIME(s)", "PID", "COMM", "DISK", "T", "SECTOR", "BYTES", "QUE(ms)", "LAT(ms)"]),
        "{}",
        lines[0]
    );
    assert_eq!(lines.len() as u64 - 1 + in_flight_at_stop(&text_err), 512, "{text_err}");
    assert!(
        lines[1..].iter().all(|l| l.split_whitespace().nth(2) == Some("fio") && l.contains(" 16384 ")),
        "{text_out}"
    );
}

/// Both heat maps: well-formed SVG that headless Chromium renders into a
/// real picture (many colours, much ink).
#[test]
fn heatmaps_render_in_a_browser() {
    let lo = Loop::new("heatmap");
    let dir = TempDir::new("heatmap-out");
    for kind in ["offset", "latency"] {
        let svg: PathBuf = dir.path().join(format!("{kind}.svg"));
        let tool =
            Tool::start(&["heatmap", &format!("--{kind}"), "-d", lo.name(), "-D", "60", "-o", svg.to_str().unwrap()]);
        let before = lo.diskstats();
        lo.fio("randrw", "4k", "libaio", 4, "16M");
        let after = lo.diskstats();
        let (_, err) = tool.stop();
        // Adjacent 4 KiB requests in flight together may merge: count the disk's.
        let requests = after[0] - before[0] + after[2] - before[2];
        assert!((3800..=4096).contains(&requests), "{requests}");
        let seen = requests - in_flight_at_stop(&err);
        assert!(err.contains(&format!("{seen} requests on")), "diskstats: {requests}; {err}");
        let text = std::fs::read_to_string(&svg).unwrap();
        assert!(text.contains("<svg xmlns=\"http://www.w3.org/2000/svg\""), "{text:.200}");
        assert!(
            text.contains(lo.name()) && text.contains(&seen.to_string()),
            "title and summary name the disk and count"
        );
        ok(Command::new("xmllint").arg("--noout").arg(&svg));
        renders_in_chromium(&svg, &dir.path().join(format!("{kind}.png")), 10, 0.05);
    }
}

#[test]
fn symlink_names_run_the_tools() {
    let dir = TempDir::new("symlink");
    for tool in ["biosnoop", "biolatency", "biopattern"] {
        let link = dir.path().join(tool);
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_iotrace"), &link).unwrap();
        let o = ok(Command::new(&link).arg("--help"));
        assert!(stdout(&o).starts_with(&format!("Usage: iotrace {tool} ")), "{}", stdout(&o));
    }
}

#[test]
fn bad_arguments_give_one_line() {
    for (args, code, says) in [
        (&["biosnoop", "-d", "nosuchdisk"][..], 2, "no block device 'nosuchdisk'"),
        (&["biolatency", "1", "2", "3"][..], 2, "unexpected argument '3'"),
        (&["biolatency", "1", "0"][..], 2, "COUNT must be positive"),
        (&["heatmap", "--offset", "--latency", "-o", "/tmp/x.svg"][..], 2, "choose one"),
        (&["biopattern", "0"][..], 2, "INTERVAL must be a positive number"),
        (&["heatmap", "-o", "/tmp/x.svg"][..], 2, "--offset or --latency"),
        (&["heatmap", "--offset", "-o", "/nonexistent/dir/x.svg"][..], 1, "cannot write heat map"),
        (&["biosnoop", "--strategy", "fentry"][..], 2, "unknown strategy 'fentry'"),
    ] {
        let o = run(iotrace().args(args));
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(code), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(err.matches("(see ").count() <= 1, "one hint is enough: {err}");
    }
}

/// Discards move no data: biopattern's `all` row is reads and writes only,
/// the discard row stands apart, and the heat map counts discards apart from
/// reads. The loop device gets 1 MiB of writes and a discard of the whole disk.
#[test]
fn discards_are_not_counted_as_data() {
    let lo = Loop::new("discard");
    let dir = TempDir::new("discard-out");
    let svg = dir.path().join("offset.svg");
    let pattern_tool = Tool::start(&["biopattern", "--json", "-d", lo.name(), "120", "1"]);
    let heat = Tool::start(&["heatmap", "--offset", "-d", lo.name(), "-D", "60", "-o", svg.to_str().unwrap()]);
    let before = lo.diskstats();
    lo.fio("write", "128k", "psync", 1, "1M");
    ok(Command::new("blkdiscard").arg(&lo.dev));
    let after = lo.diskstats();
    let doc = pattern(&pattern_tool.stop().0);
    let (_, heat_err) = heat.stop();
    assert_eq!(after[2] - before[2], 8, "8 writes of 128 KiB");
    let w = &doc["ops"]["write"];
    assert_eq!((w["requests"].as_u64(), w["bytes"].as_u64()), (Some(8), Some(1 << 20)), "{doc}");
    let d = &doc["ops"]["discard"];
    assert!(d["requests"].as_u64().unwrap() >= 1 && d["bytes"].as_u64().unwrap() >= 128 << 20, "{doc}");
    // udev may read the device (blkid) after the discard: reads are data too.
    let n = |op: &str, k: &str| doc["ops"][op][k].as_u64().unwrap_or(0);
    let all = (doc["all"]["requests"].as_u64(), doc["all"]["bytes"].as_u64());
    assert_eq!(all, (Some(n("read", "requests") + 8), Some(n("read", "bytes") + (1 << 20))), "{doc}");
    let text = std::fs::read_to_string(&svg).unwrap();
    let discards = d["requests"].as_u64().unwrap();
    assert!(text.contains(&format!("writes 8, discards {discards})")), "{heat_err}: {text:.3000}");
}
