//! `iotrace amplify`: how the bytes processes read and write become bytes
//! at the devices, per file, process and storage system, in three layers:
//! syscalls (an in-process `record`), the page cache and block requests
//! (bpf/amplify.bpf.c), joined on (s_dev, inode).

mod events;
mod kernel;
mod legacy;
mod output;
mod report;
mod svg;
mod systems;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::cli::{self, Arg, Args};
use crate::error::{Error, Result};
use crate::objects::{self, map_name};
use crate::output::PendingOutput;
use crate::probe::{Feat, Features};
use crate::record;
use crate::shared::{amp_config, amp_counts, amp_drop, amp_issued, amp_key};
use crate::strategy::{Flavour, Need, Probe, Strategy, SyscallHooks, Tool};

pub const HELP: &str = "\
Usage: iotrace amplify [-p PID]... [-c COMM]... [-d SECS] [-o FILE] [--json|--csv] [--events]
                       [--svg FILE] [--system NAME=COMM[,COMM]]... [--strategy NAME]
                       [-- CMD ARGS...]

I/O amplification: for each file the traced processes read or write, and per
process, storage system and disk, the bytes and operations of three layers:
  syscall  what the processes asked for (read/write families, as `record`)
  fs       the page cache: folios added on a miss or by read-ahead (reads),
           folios dirtied (writes); direct I/O bypasses it
  device   completed block requests (reads and writes, as /proc/diskstats)
and read_amp / write_amp = device bytes / syscall bytes.

Block I/O is charged to the file whose pages it carries, whoever submits it
(write-back by kworkers, ordered data by jbd2), and direct I/O to its file.
What is no file's data has rows of its own per disk: [journal] (jbd2),
[metadata] (the block device's own pages: inode tables, bitmaps,
directories), [unattributed] (no page mapping, no known submitter) and
[other files] (files the traced processes did not read or write). A disk's
rows add up to what /proc/diskstats counted for it during the run, shown
beside it.

Processes are rows by name (comm). Device bytes of write-back go to the
process that last dirtied the file, the journal written during an fsync
(ext4) to the process in the fsync; a file's syscall bytes to each process
that read or wrote it, its own.
Systems (postgres, etcd, minio, ceph-osd, glusterfsd, mysqld, mongod,
redis-server, ...) are processes grouped by name.

Options:
  -p, --pid PID        trace this process and its children (repeatable)
  -c, --comm COMM      trace processes with this name (repeatable)
  -d, --duration SECS  stop after SECS seconds
  -o, --output FILE    write the report there (default: standard output)
      --json           JSON (docs/amplify-format.md)
      --csv            CSV: one line per row of every table
      --svg FILE       also draw bytes per layer per system and process (SVG)
      --events         also print a line per event as it comes, before the
                       report: TIME(s) LAYER PID TID COMM FILE SIZE OFFSET
                       LAT(us) RET, LAYER one of SYSCALL_R, SYSCALL_W,
                       SYSCALL_F (a read, write or fsync returned: SIZE asked
                       for, RET returned, LAT from its entry), FS_R (folio
                       added to the page cache), FS_W (folio dirtied),
                       BLOCK_R, BLOCK_W (bio completed; PID, TID, COMM of its
                       submitter, OFFSET on the disk, LAT from queueing);
                       spaces in COMM and FILE are written \\x20
      --system NAME=COMM[,COMM]
                       processes named COMM are the system NAME (repeatable;
                       replaces a built-in system of that name)
      --strategy NAME  raw_tp (BTF) or tracepoint (4.14+, no BTF: no device
                       bytes per file or process, no --events); default: the
                       first this kernel supports (`iotrace doctor`)
  -- CMD ARGS...       run CMD and trace it until it exits
  -h, --help           this help

With no -p, -c or CMD, every process is traced. Tracing stops on Ctrl-C,
after -d, when CMD exits, or when the -p processes have exited.
Exit status: CMD's own, 127/126 if it cannot run, 128 + N if signal N
stopped the recording before CMD was started, 2 for bad usage, 1 for
other failures, else 0.

Examples:
  sudo iotrace amplify -- dd if=/dev/zero of=/mnt/x bs=4k count=256 oflag=sync
  sudo iotrace amplify -c postgres -d 60 --json -o pg.json
  sudo iotrace amplify -d 30 --system myapp=myappd,myapp-wal --svg amp.svg
  sudo iotrace amplify --events -o report.txt -- fio job.fio
";

fn dirty_folio(f: &Features) -> Result<bool> {
    Ok(f.tracefs.has_event("writeback", DIRTY_FOLIO))
}

fn dirty_page(f: &Features) -> Result<bool> {
    Ok(f.tracefs.has_event("writeback", DIRTY_PAGE))
}

/// The tracepoint of a dirtied page, renamed in 5.17.
const DIRTY_PAGE: &str = "writeback_dirty_page";
const DIRTY_FOLIO: &str = "writeback_dirty_folio";

/// Before 5.15 (no bpf_task_pt_regs) the pages a write adds to the page
/// cache are told from misses by VFS hooks (bpf/amplify_writes.bpf.h):
/// fentry, else kprobes; the tracepoint strategy's by kprobes.
fn task_pt_regs() -> bool {
    crate::bpf::helper_supported(crate::bpf::Helper::TaskPtRegs)
}

fn vfs_fentry(f: &Features) -> Result<bool> {
    Ok(!task_pt_regs() && f.has(Feat::Fentry))
}

fn vfs_kprobe(f: &Features) -> Result<bool> {
    Ok(!task_pt_regs() && !f.has(Feat::Fentry) && f.has(Feat::Kprobe))
}

fn legacy_vfs_kprobe(f: &Features) -> Result<bool> {
    Ok(f.has(Feat::Kprobe))
}

/// A strategy's probes, with the VFS hooks at both ends of each write
/// function (bpf/amplify_writes.bpf.h: WRITE_HOOKS) for each program
/// prefix, attached where its test says and the function exists.
macro_rules! with_write_hooks {
    ([$($probe:expr),* $(,)?], $($prefix:literal if $need:expr),+) => {
        &[
            $($probe,)*
            $(
                Probe::new(concat!($prefix, "_vfs_write")).need(Need::IfPresentAnd($need)),
                Probe::new(concat!($prefix, "_vfs_write_end")).need(Need::IfPresentAnd($need)),
                Probe::new(concat!($prefix, "_vfs_writev")).need(Need::IfPresentAnd($need)),
                Probe::new(concat!($prefix, "_vfs_writev_end")).need(Need::IfPresentAnd($need)),
                Probe::new(concat!($prefix, "_vfs_iter_write")).need(Need::IfPresentAnd($need)),
                Probe::new(concat!($prefix, "_vfs_iter_write_end")).need(Need::IfPresentAnd($need)),
            )+
        ]
    };
}

fn ext4_sync(f: &Features) -> Result<bool> {
    Ok(f.tracefs.has_event("ext4", "ext4_sync_file_enter"))
}

/// How long requests in flight are given to complete, at the end of a run.
const SETTLE: std::time::Duration = std::time::Duration::from_millis(50);

/// The two programs on block_rq_complete (bpf/amplify.bpf.c): the second
/// counts the completions the kernel skips the first for.
const RQ_COMPLETE: [&str; 2] = ["amp_rq_complete", "amp_rq_complete_again"];

pub static TOOL: Tool = Tool {
    name: "amplify",
    strategies: &[
        Strategy {
            name: "raw_tp",
            summary: "raw_tp block_bio_queue/block_rq_complete (bio -> page -> inode, CO-RE), \
                  mm_filemap_add_to_page_cache, writeback_dirty_folio, ext4_sync_file_*; syscalls by record",
            needs: &[Feat::Btf, Feat::RawTp, Feat::GlobalData, Feat::BoundedLoops],
            object: objects::AMPLIFY,
            hooks: SyscallHooks::None,
            probes: with_write_hooks!([
                Probe::new("amp_bio_queue"),
                Probe::new("amp_rq_issue"),
                Probe::new(RQ_COMPLETE[0]),
                Probe::new(RQ_COMPLETE[1]),
                Probe::new("amp_page_cache_add"),
                // 5.17 renamed it (and passes a folio)
                Probe::new("amp_dirty_folio").need(Need::When(dirty_folio)),
                Probe::new("amp_dirty_page").need(Need::When(dirty_page)),
                // ext4 may be a module, not loaded
                Probe::new("amp_sync_enter").need(Need::When(ext4_sync)),
                Probe::new("amp_sync_exit").need(Need::When(ext4_sync)),
            ], "amp_fe" if vfs_fentry, "amp_kp" if vfs_kprobe),
        },
        Strategy {
            name: "tracepoint",
            summary: "filemap and writeback tracepoints, fields from format files (4.14+, no BTF): \
                  the page cache per file; the device layer per disk only (/proc/diskstats)",
            needs: &[Feat::Tracepoint],
            object: objects::AMPLIFY_LEGACY,
            hooks: SyscallHooks::None,
            probes: with_write_hooks!([
                Probe::new("lg_page_cache_add"),
                Probe::new("lg_dirty_folio").need(Need::When(dirty_folio)),
                Probe::new("lg_dirty_page").need(Need::When(dirty_page)),
            ], "amp_kp" if legacy_vfs_kprobe),
        },
    ],
};

const _: () = TOOL.check();

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Csv,
}

struct Opts {
    filters: record::Filters,
    strategy: Option<String>,
    output: PathBuf,
    format: Format,
    svg: Option<PathBuf>,
    events: bool,
    systems: systems::Systems,
}

fn parse(mut args: Args) -> Result<Option<Opts>> {
    let mut o = Opts {
        filters: record::Filters { pids: vec![], comms: vec![], duration: None, command: vec![] },
        strategy: None,
        output: "-".into(),
        format: Format::Text,
        svg: None,
        events: false,
        systems: systems::Systems::builtin(),
    };
    let set_format = |o: &mut Opts, f: Format| {
        if o.format != Format::Text && o.format != f {
            return Err(Error::usage("--json and --csv: choose one"));
        }
        o.format = f;
        Ok(())
    };
    while let Some(arg) = args.next()? {
        match arg {
            Arg::Short('p') | Arg::Long("pid") => o.filters.pids.push(args.value_parsed("--pid")?),
            Arg::Short('c') | Arg::Long("comm") => o.filters.comms.push(args.value_str()?),
            Arg::Short('d') | Arg::Long("duration") => o.filters.duration = Some(args.seconds("--duration")?),
            Arg::Short('o') | Arg::Long("output") => o.output = args.value_str()?.into(),
            Arg::Long("json") => set_format(&mut o, Format::Json)?,
            Arg::Long("csv") => set_format(&mut o, Format::Csv)?,
            Arg::Long("svg") => o.svg = Some(args.value_str()?.into()),
            Arg::Long("events") => o.events = true,
            Arg::Long("system") => o.systems.define(&args.value_str()?)?,
            Arg::Long("strategy") => o.strategy = Some(args.value_str()?),
            Arg::Short('h') | Arg::Long("help") => {
                cli::print_help(HELP)?;
                return Ok(None);
            }
            Arg::Value(v) => {
                o.filters.command.push(v.into_string().map_err(|_| Error::usage("invalid UTF-8 in command"))?);
                o.filters.command.extend(args.raw_rest()?);
            }
            other => return Err(cli::unexpected(other)),
        }
    }
    Ok(Some(o))
}

/// The configuration: kernel function addresses bios are recognised by,
/// where the tracepoints' bio and request are.
fn config(events: bool) -> Result<amp_config> {
    let syms: Vec<u64> = crate::kallsyms::addresses(&["iomap_dio_bio_end_io", "bio_chain_endio"])
        .into_iter()
        .map(|a| a.unwrap_or(0))
        .collect();
    // An enum since 6.10 (5f89154e8e9e "block: Use enum to define RQF_x bit
    // indexes"): unnamed in 6.12 (out of CO-RE's reach), rqf_flags by 6.18; 1 << 4 before.
    let flush_seq = crate::bpf::kernel_enum_value("__RQF_FLUSH_SEQ").unwrap_or(4);
    Ok(amp_config {
        dio_end_io: syms[0],
        chain_end_io: syms[1],
        rqf_flush_seq: 1 << (flush_seq & 31),
        events: events as u8,
        bio_arg: crate::block::last_arg("block_bio_queue")?,
        rq_arg: crate::block::last_arg("block_rq_issue")?,
    })
}

/// Per disk, the requests followed while counting whose end no program saw:
/// completions the kernel ran no program for (README: "How it adapts to the
/// kernel"), which /proc/diskstats counted.
fn unseen_completions(obj: &crate::bpf::Object) -> Result<Vec<(u32, report::Counts)>> {
    let mut by_disk: BTreeMap<u32, report::Counts> = BTreeMap::new();
    for (disk, c) in obj.map(map_name!("unseen" in AMPLIFY))?.entries::<u32, amp_counts>()? {
        *by_disk.entry(disk).or_default() += report::Counts::from(&c);
    }
    // and those still waiting for their end: requests issued, empty flushes queued
    for map in [map_name!("issued" in AMPLIFY), map_name!("flushes" in AMPLIFY)] {
        obj.map(map)?.for_each_value(|i: amp_issued| {
            if i.counted != 0 {
                let c = by_disk.entry(i.disk).or_default();
                let (bytes, ops) = if i.write != 0 {
                    (&mut c.write_bytes, &mut c.write_ops)
                } else {
                    (&mut c.read_bytes, &mut c.read_ops)
                };
                *bytes += i.bytes as u64;
                *ops += 1;
            }
        })?;
    }
    Ok(by_disk.into_iter().collect())
}

/// What the BPF side could not count, one sentence each (none: nothing).
fn losses(obj: &crate::bpf::Object) -> Result<Vec<String>> {
    let drops = obj.map(map_name!("amp_drops" in AMPLIFY, AMPLIFY_LEGACY))?;
    let mut out = Vec::new();
    for (drop, what) in [
        (amp_drop::AMP_MAP_FULL, "updates lost: the counts map was full"),
        (amp_drop::AMP_EVENTS_LOST, "events lost: the ring buffer was full"),
        (amp_drop::AMP_LONG_CHAIN, "requests had more bios than are walked: their rest is unattributed"),
        (
            amp_drop::AMP_ISSUED_FULL,
            "requests not tracked from their issue (too many in flight): unseen completions may be missed",
        ),
    ] {
        let n: u64 = drops.get_percpu::<u32, u64>(&(drop as u32))?.unwrap_or_default().iter().sum();
        if n > 0 {
            out.push(format!("{n} {what}"));
        }
    }
    match obj.missed_runs(&[RQ_COMPLETE]) {
        0 => {}
        n => out.push(format!("{n} program runs skipped by the kernel (another BPF program was running on the CPU): their counts are missing")),
    }
    Ok(out)
}

/// The BPF side of one run: amplify.bpf.c (BTF) or amplify_legacy.bpf.c.
struct Tracer {
    loaded: crate::strategy::Loaded,
    strategy: &'static Strategy,
}

impl Tracer {
    fn legacy(&self) -> bool {
        self.strategy.flavour() == Flavour::Legacy
    }

    fn load(features: &Features, forced: Option<&str>, events: bool) -> Result<(Tracer, Vec<String>)> {
        let strategy = TOOL.choose(features, forced)?;
        let mut notes = Vec::new();
        if strategy.flavour() == Flavour::Legacy {
            if events {
                return Err(Error::msg(format!(
                    "amplify: --events needs the raw_tp strategy (BTF, a ring buffer), not {}",
                    strategy.name
                )));
            }
            let dirty = if dirty_folio(features)? { DIRTY_FOLIO } else { DIRTY_PAGE };
            let cfg = legacy::config(&features.tracefs, dirty)?;
            let loaded = strategy.load(features, |open| open.configure(&cfg))?;
            notes.push(
                "device bytes are per disk only (the tracepoint strategy: a bio names no file without BTF); \
                 each disk's device row is its /proc/diskstats change"
                    .to_string(),
            );
            if !legacy_vfs_kprobe(features)? {
                notes.push("fs reads include the pages writes add to the cache: no BTF, no kprobes".to_string());
            }
            notes.push("fs writes count 4 KiB per dirtied page or folio (no BTF)".to_string());
            return Ok((Tracer { loaded, strategy }, notes));
        }
        let cfg = config(events)?;
        let loaded = strategy.load(features, |open| {
            // 4 MiB for a stream; one page, unused, without
            open.size_map(map_name!("events" in AMPLIFY), if events { 1 << 22 } else { 4096 }, true)?;
            open.configure(&cfg)
        })?;
        if cfg.dio_end_io == 0 {
            notes.push("direct I/O is unattributed: no iomap_dio_bio_end_io in /proc/kallsyms".to_string());
        }
        if !dirty_folio(features)? && !dirty_page(features)? {
            notes.push("no fs write layer: no writeback_dirty_folio tracepoint".to_string());
        }
        if !task_pt_regs() && !vfs_fentry(features)? && !vfs_kprobe(features)? {
            notes.push(
                "fs reads include the pages writes add to the cache: no bpf_task_pt_regs (5.15), fentry or kprobes"
                    .to_string(),
            );
        }
        if !ext4_sync(features)? {
            notes.push("journal I/O is charged to jbd2, not to fsync callers: no ext4 tracepoints".to_string());
        }
        Ok((Tracer { loaded, strategy }, notes))
    }

    /// Block completions are counted between the two diskstats readings
    /// (bpf/amplify.bpf.c: counting); the legacy object counts none.
    fn count_completions(&self, on: bool) -> Result<()> {
        match self.legacy() {
            true => Ok(()),
            false => self.loaded.obj.map(map_name!("counting" in AMPLIFY))?.set(&0u32, &(on as u32)),
        }
    }

    /// Its rows (the legacy object's writes on the file systems of `files`).
    fn counts(&self, files: &[record::FileTotals]) -> Result<Vec<(amp_key, amp_counts)>> {
        let counts = self.loaded.obj.map(map_name!("counts" in AMPLIFY, AMPLIFY_LEGACY))?.entries()?;
        Ok(match self.legacy() {
            true => legacy::dirtied_on_file_systems(counts, files, &crate::block::partitions().into_iter().collect()),
            false => counts,
        })
    }
}

pub fn main(args: Args) -> Result<ExitCode> {
    let Some(o) = parse(args)? else { return Ok(ExitCode::SUCCESS) };
    let command = o.filters.command.first().cloned();
    let out = PendingOutput::create(&o.output, "report")?;
    let svg_out = o.svg.as_ref().map(|p| PendingOutput::create(p, "chart")).transpose()?;
    // A missing command first (127/126), then a kernel without a strategy,
    // before record's object is loaded (minutes under QEMU for the legacy one).
    if let Some(c) = &command {
        record::check_command(c)?;
    }
    let features = crate::probe::start()?;
    let (tracer, mut notes) = Tracer::load(&features, o.strategy.as_deref(), o.events)?;
    let mut recording = record::Embedded::start(o.filters, o.events)?;
    if let Some(why) = recording.calls_unsupported().filter(|_| o.events) {
        notes.push(format!("--events has no SYSCALL lines: {why}"));
    }
    let start_ns = crate::clock::monotonic_ns();
    let printer = std::cell::RefCell::new(events::Printer::new(start_ns));
    let mut stream = match o.events {
        true => {
            println!("{}", events::HEADER);
            let map = tracer.loaded.obj.map(map_name!("events" in AMPLIFY))?;
            Some(crate::bpf::EventReader::new(&map, 0, |data| printer.borrow_mut().add(data))?)
        }
        false => None,
    };
    tracer.loaded.attach()?;
    tracer.count_completions(true)?;
    let before = kernel::diskstats();
    let status = recording.run(&mut |calls| {
        let Some(s) = stream.as_mut() else { return Ok(()) };
        printer.borrow_mut().add_calls(calls);
        s.poll(0)?;
        printer.borrow_mut().flush(calls.read_ns);
        Ok(())
    });
    // What the command left on its way to the disks (read-ahead it started)
    // completes within the window, counted as its page-cache layer was.
    std::thread::sleep(SETTLE);
    let after = kernel::diskstats();
    tracer.count_completions(false)?;
    // Requests still on their disks complete (out of `issued`) before the programs go.
    std::thread::sleep(SETTLE);
    tracer.loaded.obj.detach_all();
    if let Some(s) = stream.as_mut() {
        s.drain()?;
        printer.borrow_mut().flush(u64::MAX);
    }
    drop(stream);
    let end_ns = crate::clock::monotonic_ns();
    let status = status?;
    let record_strategy = recording.strategy();
    let record::Summary { files, unsupported, lost, calls_lost, missed_runs } = recording.files()?;
    if missed_runs > 0 {
        notes.push(format!(
            "{missed_runs} runs of the syscall layer's programs skipped by the kernel (another BPF program was \
             running on the CPU): their calls are missing"
        ));
    }
    if calls_lost > 0 {
        notes.push(format!("{calls_lost} SYSCALL events lost: the ring buffer was full"));
    }
    let counts = tracer.counts(&files)?;
    let unseen = match tracer.legacy() {
        true => vec![],
        false => unseen_completions(&tracer.loaded.obj)?,
    };
    notes.extend(losses(&tracer.loaded.obj)?);
    if lost > 0 {
        notes.push(format!("{lost} syscall-layer updates lost: the recording's maps or ring buffer were full"));
    }
    notes.extend(unsupported.iter().map(|u| format!("syscall layer does not see: {u}")));
    let report = report::build(
        &files,
        &counts,
        &o.systems,
        kernel::delta(&before, &after),
        &unseen,
        report::Meta {
            duration_ns: end_ns - start_ns,
            strategy: tracer.strategy.name,
            record_strategy,
            device_by_file: !tracer.legacy(),
            notes,
        },
    );
    if let Some(svg_out) = svg_out {
        svg_out.commit(svg::chart(&report).as_bytes())?;
    }
    out.commit_with(|w| output::write(w, &report, o.format))?;
    Ok(status.exit_code(&command.unwrap_or_default()))
}
