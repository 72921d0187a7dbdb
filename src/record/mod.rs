//! `iotrace record`: exact per-file I/O profiles of chosen processes.

#[macro_use]
mod kinds;
mod legacy;
mod naming;
mod profile;
pub mod uring;

pub use kinds::{Class, Via, IO_SYSCALLS, OPENS};
pub use naming::encode as encode_path;
pub use profile::{FileTotals, Io, FORMAT_VERSION};

use std::cell::RefCell;
use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::bpf::{EventReader, Plain};
use crate::cli::{self, Arg, Args};
use crate::clock;
use crate::error::{Error, Result};
use crate::objects;
use crate::objects::map_name;
use crate::probe::Feat;
use crate::shared::{call_event, file_event, open_event, record_config, RECORD_COMM_LEN, RECORD_MAX_COMMS};
use crate::signals;
use crate::strategy::{Flavour, Loaded, Need, Probe, Strategy, SyscallHooks, Tool};

pub const HELP: &str = "\
Usage: iotrace record [-p PID]... [-c COMM]... [-d SECS] [-i SECS] [-o PROFILE.json] [-- CMD ARGS...]

Record an exact per-file I/O profile: for every named regular file the traced
processes read, write or fsync (one row per mount namespace + path, the path
a file had when it was opened; a path deleted and created again adds up in its
row), per syscall: calls, errors by errno, request and completed size
histograms; per file: bytes, first/last read and write times, sequential-run
histograms, rewrites, fsync count, latency and bytes between fsyncs, opens by
flag (O_DIRECT, O_SYNC, O_DSYNC, O_APPEND). Counting happens in the kernel;
sockets, pipes and devices never appear, directories only for their fsyncs
(a section of their own). A copy between files (sendfile, copy_file_range,
splice) counts as a read of one and a write of the other.

Traced syscalls: read readv pread64 preadv preadv2 write writev pwrite64
pwritev pwritev2 sendfile copy_file_range splice fsync fdatasync mmap close;
Linux AIO per iocb (io_submit, io_getevents; --strategy legacy: 32 iocbs per
call at most, the rest counted as lost); io_uring per request (kernels
5.12+ and 5.10's stable updates, not with --strategy legacy); 32-bit syscalls (int $0x80) with the
tp_btf and raw_tp strategies, under the same names. Of memory-mapped files,
the maps (what is loaded and stored through them makes no syscall).
What a recording cannot see is listed in the profile (`unsupported`).

Options:
  -p, --pid PID        trace this process and its children, also those it
                       has already (repeatable; a thread id means its
                       process); recording ends when they have all exited
  -c, --comm COMM      trace processes with this name, as in /proc/PID/comm,
                       running now or exec'ed later (repeatable): with none
                       running, it waits for one
  -d, --duration SECS  stop after SECS seconds
  -i, --interval SECS  also store a snapshot of every file's counters every
                       SECS seconds (a time series in the profile)
  -o, --output FILE    profile path (default: iotrace-profile.json; - for standard
                       output; a FIFO or device is written, never replaced)
      --strategy NAME  force an attach strategy (see `iotrace doctor`)
  -- CMD ARGS...       run CMD and record until it exits
  -h, --help           this help

Children forked by traced processes (and by CMD) are traced too. With no -p,
-c or CMD, every process except iotrace itself is traced. Recording stops on
Ctrl-C / SIGTERM, after -d, when CMD exits, or (-p alone) when the traced
processes have exited; the profile is always written completely (temporary
file, then rename). A CMD still running then is left running (Ctrl-C in a
terminal reaches it anyway).

Exit status: CMD's own (128 + N if signal N ended it), 127 if CMD is not
found and 126 if it cannot be executed (nothing is recorded then), 128 + N
if signal N stopped the recording before CMD was started (the profile is
written, CMD is not run), 2 for bad usage, 1 for other failures, else 0.

Examples:
  sudo iotrace record -o dd.json -- dd if=/dev/zero of=/tmp/x bs=4k count=256
  sudo iotrace record -c postgres -d 60 -i 5 -o pg.json
  sudo iotrace record -p 1234 -p 1240
  sudo iotrace record -o - -- tar cf /tmp/doc.tar /usr/share/doc | iotrace report -
";

/// Syscalls added after 4.14, whose hooks are attached where present.
const fn need_of(sys: &str) -> Need {
    // openat2: 5.6 (fddb5d430ad9 "open: introduce openat2(2) syscall");
    // io_pgetevents: 4.18 (7a074e96dee6 "aio: implement io_pgetevents").
    if objects::has(&["openat2", "io_pgetevents"], sys) {
        Need::IfPresent
    } else {
        Need::Always
    }
}

/// Programs of one syscall each (bpf/record.bpf.c): `ENTER` + X and `EXIT` + X
/// for each `both` and `aio`, `EXIT` + X only for each `exit`, then `extra`.
macro_rules! per_syscall {
    ($enter:literal, $exit:literal, both: [$($b:literal),*], aio: [$($a:literal),*], exit: [$($x:literal),*],
     extra: [$($e:expr),*]) => {
        &[
            $(
                Probe::new(concat!($enter, $b)).need(need_of($b)),
                Probe::new(concat!($exit, $b)).need(need_of($b)),
            )*
            $(
                Probe::new(concat!($enter, $a)).need(need_of($a)),
                Probe::new(concat!($exit, $a)).need(need_of($a)),
            )*
            $( Probe::new(concat!($exit, $x)).need(need_of($x)), )*
            $($e,)*
        ]
    };
}

/// The legacy strategy's probes (bpf/record_legacy.bpf.c): the I/O syscalls
/// and opens (`both`, `exit`: from bpf/record.h) at entry and exit, then
/// what keeps its fd table: lseek, dup, pipes, cwd at entry and exit, the
/// other fd-making syscalls at exit, fork and exec. AIO batches are walked
/// one item per program, by tail calls (bpf/record.bpf.h: aio_step()).
macro_rules! legacy_tps {
    (both: [$($b:literal),*], aio: [$($a:literal),*], exit: [$($o:literal),*]) => {
        per_syscall!(
            "tp_enter_",
            "tp_exit_",
            both: [$($b,)* $($o,)* "lseek", "dup", "dup2", "dup3", "fcntl", "pipe", "pipe2", "socketpair",
                "chdir", "fchdir"],
            aio: [$($a),*],
            exit: ["socket", "accept", "accept4", "eventfd2", "epoll_create1", "memfd_create", "timerfd_create",
                "signalfd4", "inotify_init1", "eventfd", "epoll_create", "signalfd", "inotify_init"],
            extra: [
                Probe::new("tp_fork_at44").need(Need::When(legacy::fork_at44)),
                Probe::new("tp_fork_at20").need(Need::When(legacy::fork_at20)),
                Probe::new("tp_exec"),
                Probe::new("aio_submit_step"),
                Probe::new("aio_reap_step")
            ]
        )
    };
}

const MODERN: &[Feat] = &[Feat::Btf, Feat::RawTp, Feat::RingBuf, Feat::GlobalData, Feat::BoundedLoops];
const RAW_FORK: Probe = Probe::new("raw_fork");
const RAW_EXEC: Probe = Probe::new("raw_exec");

pub static TOOL: Tool = Tool {
    name: "record",
    strategies: &[
        Strategy {
            name: "tp_btf",
            summary: "BTF-typed sys_enter/sys_exit (one program each), direct reads, CO-RE file identity",
            needs: &[Feat::Btf, Feat::TpBtf, Feat::RawTp, Feat::RingBuf, Feat::GlobalData, Feat::BoundedLoops],
            object: objects::RECORD,
            hooks: SyscallHooks::Raw,
            probes: &[
                Probe::new("tb_sys_enter"),
                Probe::new("tb_sys_exit"),
                RAW_FORK,
                RAW_EXEC,
                uring::SUBMIT_REQ,
                uring::SUBMIT_SQE,
                uring::COMPLETE,
            ],
        },
        Strategy {
            name: "raw_tp",
            summary: "raw_tp sys_enter/sys_exit (one program each), CO-RE file identity",
            needs: MODERN,
            object: objects::RECORD,
            hooks: SyscallHooks::Raw,
            probes: &[
                Probe::new("raw_sys_enter"),
                Probe::new("raw_sys_exit"),
                RAW_FORK,
                RAW_EXEC,
                uring::SUBMIT_REQ,
                uring::SUBMIT_SQE,
                uring::COMPLETE,
            ],
        },
        Strategy {
            name: "tracepoint",
            summary: "syscalls:sys_{enter,exit}_* per traced syscall, CO-RE file identity",
            needs: MODERN,
            object: objects::RECORD,
            hooks: SyscallHooks::Entry,
            probes: io_syscalls!(per_syscall!("tp_enter_", "tp_exit_",), extra: [RAW_FORK, RAW_EXEC, uring::SUBMIT_REQ, uring::SUBMIT_SQE, uring::COMPLETE]),
        },
        Strategy {
            name: "fentry",
            summary: "fentry/fexit on __x64_sys_* (traced syscalls only), CO-RE file identity",
            needs: &[Feat::Btf, Feat::Fentry, Feat::RawTp, Feat::RingBuf, Feat::GlobalData, Feat::BoundedLoops],
            object: objects::RECORD,
            hooks: SyscallHooks::Fexit,
            probes: io_syscalls!(per_syscall!("fe_", "fx_",), extra: [RAW_FORK, RAW_EXEC, uring::SUBMIT_REQ, uring::SUBMIT_SQE, uring::COMPLETE]),
        },
        Strategy {
            name: "kprobe",
            summary: "kprobe/kretprobe on __x64_sys_* (traced syscalls only), CO-RE file identity",
            needs: &[Feat::Btf, Feat::Kprobe, Feat::RawTp, Feat::RingBuf, Feat::GlobalData, Feat::BoundedLoops],
            object: objects::RECORD,
            hooks: SyscallHooks::Entry,
            probes: io_syscalls!(per_syscall!("kp_", "kr_",), extra: [RAW_FORK, RAW_EXEC, uring::SUBMIT_REQ, uring::SUBMIT_SQE, uring::COMPLETE]),
        },
        Strategy {
            name: "legacy",
            summary:
                "syscall tracepoints + fd table from open/dup/close, AIO by tail calls, perf buffer (4.14+, no BTF)",
            needs: &[Feat::Tracepoint, Feat::PerfBuffer],
            object: objects::RECORD_LEGACY,
            hooks: SyscallHooks::Entry,
            probes: io_syscalls!(legacy_tps!()),
        },
    ],
};

const _: () = TOOL.check();

struct Opts {
    pids: Vec<u32>,
    comms: Vec<String>,
    duration: Option<Duration>,
    interval: Option<Duration>,
    /// None: recording for another command, which takes the totals (Embedded).
    output: Option<PathBuf>,
    strategy: Option<String>,
    command: Vec<String>,
    /// Stream a call_event per read, write and sync (Embedded only).
    call_events: bool,
}

fn parse(mut args: Args) -> Result<Option<Opts>> {
    let mut o = Opts {
        pids: vec![],
        comms: vec![],
        duration: None,
        interval: None,
        output: Some("iotrace-profile.json".into()),
        strategy: None,
        command: vec![],
        call_events: false,
    };
    while let Some(arg) = args.next()? {
        match arg {
            Arg::Short('p') | Arg::Long("pid") => o.pids.push(args.value_parsed("--pid")?),
            Arg::Short('c') | Arg::Long("comm") => o.comms.push(args.value_str()?),
            Arg::Short('d') | Arg::Long("duration") => o.duration = Some(args.seconds("--duration")?),
            Arg::Short('i') | Arg::Long("interval") => o.interval = Some(args.seconds("--interval")?),
            Arg::Short('o') | Arg::Long("output") => o.output = Some(args.value_str()?.into()),
            Arg::Long("strategy") => o.strategy = Some(args.value_str()?),
            Arg::Short('h') | Arg::Long("help") => {
                cli::print_help(HELP)?;
                return Ok(None);
            }
            Arg::Value(v) => {
                o.command.push(v.into_string().map_err(|_| Error::usage("invalid UTF-8 in command"))?);
                o.command.extend(args.raw_rest()?);
            }
            other => return Err(cli::unexpected(other)),
        }
    }
    check_comms(&o.comms)?;
    Ok(Some(o))
}

/// -c/--comm values the kernel side can hold.
pub fn check_comms(comms: &[String]) -> Result<()> {
    if comms.len() > RECORD_MAX_COMMS as usize {
        return Err(Error::usage(format!("at most {RECORD_MAX_COMMS} -c/--comm filters")));
    }
    for c in comms {
        if c.is_empty() || c.len() >= RECORD_COMM_LEN as usize {
            return Err(Error::usage(format!(
                "--comm '{c}': a comm is 1 to {} bytes (as in /proc/PID/comm)",
                RECORD_COMM_LEN - 1
            )));
        }
    }
    Ok(())
}

fn comm_of(pid: u32) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/comm")).ok().map(|s| s.trim_end_matches('\n').to_string())
}

/// Processes running now whose comm is one of `comms`.
fn pids_with_comm(comms: &[String]) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return vec![];
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| comm_of(*p).is_some_and(|c| comms.contains(&c)))
        .collect()
}

fn config(o: &Opts) -> record_config {
    let mut cfg = record_config {
        self_tgid: std::process::id(),
        trace_all: (o.pids.is_empty() && o.comms.is_empty() && o.command.is_empty()) as u8,
        follow_children: 1,
        trace_command: !o.command.is_empty() as u8,
        n_comms: o.comms.len() as u8,
        ..Default::default()
    };
    for (slot, c) in cfg.comms.iter_mut().zip(&o.comms) {
        for (d, s) in slot.iter_mut().zip(c.bytes()) {
            *d = s as _;
        }
    }
    cfg
}

/// Monotonic (bpf_ktime_get_ns) and wall clock, read back to back.
fn clocks() -> (u64, u64) {
    (clock::monotonic_ns(), clock::realtime_ns())
}

fn event<T: Plain>(data: &[u8]) -> Option<T> {
    (data.len() >= std::mem::size_of::<T>()).then(|| crate::bpf::from_bytes(data))
}

/// Who names the files: the kernel (path events, CO-RE strategies) or user
/// space from the opens it is told about (legacy).
enum Naming {
    Kernel(naming::Names),
    Opens(legacy::Opens),
}

impl Naming {
    fn on_event(&mut self, data: &[u8]) {
        match self {
            Naming::Kernel(names) => {
                // Only the used part of the path is sent.
                if data.len() >= std::mem::offset_of!(file_event, path) {
                    let mut e: file_event = crate::bpf::from_prefix(data);
                    e.path_len = e.path_len.min((data.len() - std::mem::offset_of!(file_event, path)) as u16);
                    names.add(&e);
                }
            }
            Naming::Opens(opens) => {
                if let Some(e) = event::<open_event>(data) {
                    opens.on_open(&e);
                }
            }
        }
    }

    /// All events are in: returns how many paths shared a 64-bit path hash
    /// with another (their rows are merged).
    fn finish(&mut self) -> u64 {
        match self {
            Naming::Kernel(names) => names.finish(),
            Naming::Opens(_) => 0,
        }
    }

    /// The file of the last path event: ((s_dev, inode), path).
    fn last_named(&self) -> Option<((u32, u64), String)> {
        match self {
            Naming::Kernel(names) => names.last().map(|(dev, ino, path)| ((dev, ino), naming::encode(path))),
            Naming::Opens(_) => None,
        }
    }

    fn identify(&self, k: naming::Key) -> profile::Identity {
        match self {
            Naming::Kernel(names) => names.get(k).map_or(profile::Identity::Unknown, profile::Identity::Named),
            Naming::Opens(opens) => opens.identify(k),
        }
    }
}

/// What a recording with `strategy` does not see: io_uring not with the
/// legacy object (it needs CO-RE) nor where no io_uring tracepoint passes
/// the request (before 5.12); 32-bit syscalls only
/// through the raw syscall tracepoints.
fn unsupported(strategy: &Strategy, f: &crate::probe::Features) -> Vec<&'static str> {
    let legacy = strategy.flavour() == Flavour::Legacy;
    let ia32 = (!strategy.hooks.ia32()).then_some("ia32_syscalls");
    let uring = (legacy || !f.has(Feat::IoUringTracepoints)).then_some("io_uring");
    ia32.into_iter().chain(uring).collect()
}

/// Result-map limits: (map, entries when allocated at run time, entries when
/// preallocated). Preallocated maps cost their full size up front (a 512 MB
/// guest ran out of memory with the large limits), so they are kept smaller.
const RESULT_MAPS: &[(&str, u32, u32)] = &[
    (map_name!("hists" in RECORD, RECORD_LEGACY), 1 << 20, 1 << 17),
    (map_name!("syscall_stats" in RECORD, RECORD_LEGACY), 1 << 18, 1 << 16),
    (map_name!("file_stats" in RECORD, RECORD_LEGACY), 1 << 17, 1 << 15),
    (map_name!("file_opens" in RECORD, RECORD_LEGACY), 1 << 17, 1 << 15),
    (map_name!("file_maps" in RECORD, RECORD_LEGACY), 1 << 17, 1 << 15),
    (map_name!("users" in RECORD, RECORD_LEGACY), 1 << 17, 1 << 15),
    (map_name!("errnos" in RECORD, RECORD_LEGACY), 1 << 16, 1 << 14),
];

/// Size the result maps `obj` has.
fn size_result_maps(open: &mut crate::bpf::OpenObject, f: &crate::probe::Features, obj: &objects::Obj) -> Result<()> {
    let runtime = f.has(Feat::RuntimeAllocMaps);
    for (map, big, small) in RESULT_MAPS {
        if !objects::has(obj.maps, map) {
            continue;
        }
        open.size_map(map, if runtime { *big } else { *small }, !runtime)?;
    }
    Ok(())
}

/// Set the bit of `tgid` in the `traced` bitmap (bpf/record.bpf.h), before
/// the programs that set bits too are attached.
fn mark_traced(traced: &crate::bpf::Map, tgid: u32) -> Result<()> {
    let word = tgid / 64;
    let bits = traced.get::<u32, u64>(&word)?.ok_or_else(|| Error::msg(format!("pid {tgid} above PID_MAX_LIMIT")))?;
    traced.set(&word, &(bits | 1 << (tgid % 64)))
}

fn is_traced(traced: &crate::bpf::Map, tgid: u32) -> bool {
    traced.get::<u32, u64>(&(tgid / 64)).ok().flatten().is_some_and(|bits| bits >> (tgid % 64) & 1 != 0)
}

/// Every process, for seeding fds when tracing them all.
fn all_pids() -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return vec![];
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect()
}

/// "Tgid:" of /proc/ID/status: the process a thread id belongs to.
fn tgid_of(id: u32) -> Option<u32> {
    let status = std::fs::read_to_string(format!("/proc/{id}/status")).ok()?;
    status.lines().find_map(|l| l.strip_prefix("Tgid:")).and_then(|v| v.trim().parse().ok())
}

/// Every process and its parent (field 4 of /proc/PID/stat, after the comm in parentheses).
fn parents() -> Vec<(u32, u32)> {
    all_pids()
        .into_iter()
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let ppid = stat.rsplit_once(')')?.1.split_whitespace().nth(1)?.parse().ok()?;
            Some((pid, ppid))
        })
        .collect()
}

/// Is the process there and not a zombie (exited, waiting for its parent)?
fn alive(pid: u32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .is_some_and(|st| !matches!(st, "Z" | "X"))
}

/// `pids` and all their descendants running now.
fn with_descendants(pids: &[u32]) -> Vec<u32> {
    if pids.is_empty() {
        return Vec::new(); // no need to read every process's stat
    }
    let tree = parents();
    let mut all: Vec<u32> = pids.to_vec();
    let mut i = 0;
    while i < all.len() {
        let p = all[i];
        all.extend(tree.iter().filter(|(c, pp)| *pp == p && !all.contains(c)).map(|(c, _)| *c).collect::<Vec<_>>());
        i += 1;
    }
    all
}

/// Refuse a command that cannot run before anything is attached, with sh's
/// statuses: 127 when it is not found, 126 when it cannot be executed.
pub fn check_command(cmd: &str) -> Result<()> {
    let found = if cmd.contains('/') {
        Some(std::path::PathBuf::from(cmd)).filter(|p| p.exists())
    } else {
        let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
        std::env::split_paths(&path).map(|d| d.join(cmd)).find(|p| p.is_file())
    };
    let Some(path) = found else {
        return Err(Error::command(127, format!("{cmd}: command not found")));
    };
    let executable = path.is_file()
        && std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).is_ok_and(|c| {
            // SAFETY: access(2) on a NUL-terminated path.
            unsafe { libc::access(c.as_ptr(), libc::X_OK) == 0 }
        });
    if !executable {
        return Err(Error::command(126, format!("{}: not an executable file", path.display())));
    }
    Ok(())
}

/// sh's convention for how a command ended: its exit code, or 128 + the signal that killed it.
fn exit_code(st: std::process::ExitStatus) -> ExitCode {
    use std::os::unix::process::ExitStatusExt;
    match (st.code(), st.signal()) {
        (Some(c), _) => ExitCode::from(c as u8),
        (None, Some(sig)) => ExitCode::from(128 + sig as u8),
        _ => ExitCode::FAILURE,
    }
}

pub fn main(args: Args) -> Result<ExitCode> {
    let Some(o) = parse(args)? else { return Ok(ExitCode::SUCCESS) };
    let mut session = Session::start(o)?;
    let recorded = session.run(&mut |_| Ok(()))?;
    session.finish(recorded)
}

/// What an in-process recording traces (record's -p, -c, -d and `-- CMD`).
pub struct Filters {
    pub pids: Vec<u32>,
    pub comms: Vec<String>,
    pub duration: Option<Duration>,
    pub command: Vec<String>,
}

/// A recording run by another command (amplify), which takes its files'
/// syscall totals instead of a profile.
pub struct Embedded(Session);

impl Embedded {
    /// Checks the filters and the command (127/126), loads and seeds.
    /// `call_events`: hand every read, write and sync to `run`'s tick, where
    /// the strategy can ([`Embedded::calls_unsupported`]).
    pub fn start(f: Filters, call_events: bool) -> Result<Embedded> {
        check_comms(&f.comms)?;
        let o = Opts {
            pids: f.pids,
            comms: f.comms,
            duration: f.duration,
            interval: None,
            output: None,
            strategy: None,
            command: f.command,
            call_events,
        };
        Ok(Embedded(Session::start(o)?))
    }

    pub fn strategy(&self) -> &'static str {
        self.0.strategy.name
    }

    /// Why this recording's strategy sends no call events, if it does not.
    pub fn calls_unsupported(&self) -> Option<&'static str> {
        (!has_calls(self.0.strategy)).then_some("the legacy strategy has no ring buffer (5.8+)")
    }

    /// Attaches, runs the command, and returns when record would stop (how
    /// the command ended); `tick` runs every 100 ms, with the call events
    /// read since the last one, and once more after detaching.
    pub fn run(&mut self, tick: &mut dyn FnMut(&Calls) -> Result<()>) -> Result<Ended> {
        Ok(self.0.run(tick)?.ended)
    }

    /// Every file's totals, and what the recording could not see or count.
    pub fn files(self) -> Result<Summary> {
        let Session { strategy, loaded, mut naming, unsupported, .. } = self.0;
        naming.finish();
        let rows = profile::collect(&loaded.obj, open_map(strategy))?.into_rows(|k| naming.identify(k));
        Ok(Summary {
            files: rows.totals()?,
            unsupported,
            lost: rows.lost(0).total(),
            calls_lost: rows.calls_lost(),
            missed_runs: loaded.obj.missed_runs(&[]),
        })
    }
}

/// Does the strategy's object send call events (a ring buffer: CO-RE only)?
fn has_calls(strategy: &Strategy) -> bool {
    objects::has(strategy.object.maps, map_name!("calls" in RECORD))
}

/// Per-open-file state: of struct files (CO-RE), of opens (legacy).
fn open_map(strategy: &Strategy) -> &'static str {
    match strategy.flavour() {
        Flavour::CoRe => map_name!("files" in RECORD),
        Flavour::Legacy => map_name!("opens" in RECORD_LEGACY),
    }
}

/// One recording: `start` checks, loads and seeds; `run` attaches, starts
/// the command and reads events until it is time to stop; `finish` writes
/// the profile.
struct Session {
    o: Opts,
    strategy: &'static Strategy,
    loaded: Loaded,
    naming: Naming,
    /// None when embedded.
    out: Option<crate::output::PendingOutput>,
    snapshots: Option<profile::Snapshots>,
    /// With only -p, recording ends when the processes are gone, as strace -p does.
    until_gone: bool,
    /// Legacy: the open id of our working directory, where the command starts.
    command_cwd: Option<u64>,
    /// Ways of moving file data this recording does not see (the profile's `unsupported`).
    unsupported: Vec<&'static str>,
}

/// What a run saw.
struct Recorded {
    start_mono: u64,
    start_wall: u64,
    end_mono: u64,
    events_lost: u64,
    ended: Ended,
}

/// What an embedded recording hands over at its end.
pub struct Summary {
    pub files: Vec<FileTotals>,
    /// Ways of moving file data it does not see.
    pub unsupported: Vec<&'static str>,
    /// Updates it lost (a profile's `lost`).
    pub lost: u64,
    /// Call events the kernel could not send: their ring buffer was full.
    pub calls_lost: u64,
    /// Runs of its programs the kernel skipped (recursion_misses, 5.12+).
    pub missed_runs: u64,
}

/// What an embedded recording's tick gets: the call events read since the
/// last tick (none unless asked for), and the files named meanwhile.
pub struct Calls<'a> {
    pub events: &'a [call_event],
    /// ((s_dev, inode), path as the profile writes it) of each file first
    /// seen, when call events are on.
    pub named: &'a [((u32, u64), String)],
    /// Every call that completed before this time is in `events` (or an
    /// earlier tick's); u64::MAX after the last.
    pub read_ns: u64,
}

/// How `-- CMD` ended, if there was one.
pub struct Ended {
    status: Option<std::process::ExitStatus>,
    /// It was never started: this signal stopped the recording while it attached.
    not_run: Option<i32>,
}

impl Ended {
    /// The tool's exit status (`cmd`: the command's name): the command's, as
    /// sh reports it, also 128 + N for a command not run because of signal N.
    pub fn exit_code(&self, cmd: &str) -> ExitCode {
        if let Some(sig) = self.not_run {
            cli::note(format_args!("stopped by signal {sig} while attaching: {cmd} was not run"));
            return ExitCode::from(128 + sig as u8);
        }
        match self.status {
            Some(status) if !status.success() => {
                cli::note(format_args!("{cmd} exited with {status}"));
                exit_code(status)
            }
            _ => ExitCode::SUCCESS,
        }
    }
}

impl Session {
    fn start(mut o: Opts) -> Result<Session> {
        if o.command.is_empty() && std::env::args_os().any(|a| a == "--") {
            return Err(Error::usage("no command after --"));
        }
        if let Some(cmd) = o.command.first() {
            check_command(cmd)?;
        }
        let mut pids = Vec::new();
        for &p in &o.pids {
            match tgid_of(p) {
                None => return Err(Error::msg(format!("no such process: {p}"))),
                Some(t) if t != p => {
                    cli::note(format_args!("{p} is a thread of process {t}: tracing process {t}"));
                    pids.push(t);
                }
                Some(t) => pids.push(t),
            }
        }
        // Children a traced process forks are traced; so are those it has already.
        let mut initial: Vec<u32> = with_descendants(&pids);
        if !o.comms.is_empty() {
            let found = pids_with_comm(&o.comms);
            if found.is_empty() {
                cli::note(format_args!("no process named {} yet: waiting for one to start", o.comms.join(" or ")));
            }
            initial.extend(found);
        }
        let until_gone = !pids.is_empty() && o.comms.is_empty() && o.command.is_empty();
        let out = o.output.as_ref().map(|p| crate::output::PendingOutput::create(p, "profile")).transpose()?;
        let features = crate::probe::start()?;
        let strategy = TOOL.choose(&features, o.strategy.as_deref())?;

        let mut cfg = config(&o);
        o.call_events &= has_calls(strategy);
        cfg.call_events = o.call_events as u8;
        // An embedding command's per-process totals.
        cfg.user_bytes = o.output.is_none() as u8;
        // Reads and writes accounted at their exit alone (bpf/record.bpf.h:
        // io_exit_from), unless call events want their latency.
        cfg.exit_args = (strategy.hooks.exit_args() && cfg.call_events == 0) as u8;
        cfg.uring_sqe_req_second = uring::sqe_req_second() as u8;
        // Completions without the request are matched by ring and user_data.
        cfg.uring_by_data =
            (features.has(Feat::IoUringTracepoints) && !uring::complete_has_req(&features.tracefs)) as u8;
        let mut naming = match strategy.flavour() {
            Flavour::Legacy => Naming::Opens(legacy::Opens::default()),
            Flavour::CoRe => Naming::Kernel(naming::Names::default()),
        };
        let loaded = strategy.load(&features, |open| {
            size_result_maps(open, &features, strategy.object)?;
            if has_calls(strategy) {
                // 4 MiB for a stream; one page, unused, without
                open.size_map(map_name!("calls" in RECORD), if cfg.call_events != 0 { 1 << 22 } else { 4096 }, true)?;
            }
            open.configure(&cfg)
        })?;
        let traced = loaded.obj.map(map_name!("traced" in RECORD, RECORD_LEGACY))?;
        for p in &initial {
            mark_traced(&traced, *p)?;
        }
        if let Naming::Opens(opens) = &mut naming {
            let seed = if cfg.trace_all != 0 { all_pids() } else { initial.clone() };
            opens.seed(&loaded.obj, &seed)?;
        }
        let snapshots = match (o.interval, &out) {
            (Some(_), Some(out)) => Some(profile::Snapshots::new(out.scratch_file("snapshots")?)),
            _ => None,
        };
        let command_cwd = match &mut naming {
            Naming::Opens(opens) if !o.command.is_empty() => {
                let cwd = std::env::current_dir().map_err(|e| Error::from(e).context("working directory"))?;
                Some(opens.seed_dir(&cwd, std::process::id()))
            }
            _ => None,
        };
        let unsupported = unsupported(strategy, &features);
        Ok(Session { o, strategy, loaded, naming, out, snapshots, until_gone, command_cwd, unsupported })
    }

    fn run(&mut self, tick: &mut dyn FnMut(&Calls) -> Result<()>) -> Result<Recorded> {
        let Session { o, strategy, loaded, naming, snapshots, until_gone, command_cwd, .. } = self;
        let obj = &loaded.obj;
        // Read events before anything can send one: a perf buffer drops what
        // arrives before it is open.
        let events = obj.map(map_name!("events" in RECORD, RECORD_LEGACY))?;
        // Legacy sends an event per open: room for bursts (4 MiB per CPU).
        let perf_pages = if strategy.flavour() == Flavour::Legacy { 1024 } else { 64 };
        let streaming = o.call_events;
        let (calls, named) = (RefCell::new(Vec::new()), RefCell::new(Vec::new()));
        let mut reader = EventReader::new(&events, perf_pages, |data| {
            naming.on_event(data);
            if streaming {
                named.borrow_mut().extend(naming.last_named());
            }
        })?;
        let mut calls_reader = match streaming {
            true => Some(EventReader::new(&obj.map(map_name!("calls" in RECORD))?, 0, |data| {
                calls.borrow_mut().extend(event::<call_event>(data))
            })?),
            false => None,
        };
        // The caller's tick, with what arrived since the last one.
        let mut pass_calls = |reader: &mut EventReader, calls_reader: &mut Option<EventReader>, drain| -> Result<()> {
            let read_ns = if drain { u64::MAX } else { clock::monotonic_ns() };
            if let Some(r) = calls_reader.as_mut() {
                if drain {
                    r.drain()?
                } else {
                    r.poll(0)?
                }
                // The path of a call's file was sent before the call.
                reader.drain()?;
            }
            let (events, named) = (calls.take(), named.take());
            tick(&Calls { events: &events, named: &named, read_ns })
        };
        let (start_mono, start_wall) = clocks();
        loaded.attach()?;
        cli::note(format_args!("recording with strategy {}; Ctrl-C to stop", strategy.name));
        // A Ctrl-C while attaching: stop before starting anything.
        let mut ended = Ended { status: None, not_run: signals::stop_signal().filter(|_| !o.command.is_empty()) };
        let mut child = if o.command.is_empty() || ended.not_run.is_some() {
            None
        } else {
            let mut cmd = Command::new(&o.command[0]);
            cmd.args(&o.command[1..]);
            // The fork marks the child traced (cfg.trace_command), so not one
            // of its syscalls is missed; legacy also tells it its working
            // directory before exec.
            if let Some(id) = command_cwd {
                crate::bpf::insert_self_before_exec(
                    &mut cmd,
                    vec![(obj.map(map_name!("cwds" in RECORD_LEGACY))?.handle(), id.to_le_bytes().to_vec())],
                );
            }
            Some(cmd.spawn().map_err(|e| Error::from(e).context(format!("cannot run {}", o.command[0])))?)
        };
        let deadline = o.duration.map(|d| Instant::now() + d);
        let mut next_liveness = Instant::now();
        let mut next_snapshot = o.interval.map(|i| Instant::now() + i);
        loop {
            reader.poll(100)?;
            pass_calls(&mut reader, &mut calls_reader, false)?;
            if let (Some(at), Some(every)) = (next_snapshot, o.interval) {
                if Instant::now() >= at {
                    if let Some(s) = snapshots.as_mut() {
                        s.take(obj, clocks().0)?;
                    }
                    next_snapshot = Some(at + every);
                }
            }
            if signals::stop_requested() || deadline.is_some_and(|d| Instant::now() >= d) {
                break;
            }
            if let Some(c) = child.as_mut() {
                if let Some(st) = c.try_wait()? {
                    ended.status = Some(st);
                    break;
                }
            }
            if *until_gone && Instant::now() >= next_liveness {
                next_liveness = Instant::now() + Duration::from_secs(1);
                let traced = obj.map(map_name!("traced" in RECORD, RECORD_LEGACY))?;
                if !all_pids().into_iter().any(|p| is_traced(&traced, p) && alive(p)) {
                    cli::note(format_args!("the traced processes have exited"));
                    break;
                }
            }
        }
        obj.detach_all();
        reader.drain()?; // paths of files first seen just before detaching
        pass_calls(&mut reader, &mut calls_reader, true)?;
        let events_lost = reader.lost();
        let (end_mono, _) = clocks();
        if let Some(s) = snapshots.as_mut() {
            s.stop();
        }
        Ok(Recorded { start_mono, start_wall, end_mono, events_lost, ended })
    }

    fn finish(self, r: Recorded) -> Result<ExitCode> {
        let Session { o, strategy, loaded, mut naming, out, mut snapshots, unsupported, .. } = self;
        let out = out.expect("record's own sessions have an output");
        let collisions = naming.finish();
        let rows = profile::collect(&loaded.obj, open_map(strategy))?.into_rows(|k| naming.identify(k));
        let header = profile::Header {
            start_ns: r.start_mono,
            end_ns: r.end_mono,
            boot_wall_ns: r.start_wall - r.start_mono,
            filters: json!({"pids": o.pids, "comms": o.comms, "command": o.command}),
            strategy: strategy.name.to_string(),
            events_lost: r.events_lost,
            skipped_runs: loaded.obj.missed_runs(&[]),
            interval_ns: o.interval.map(|i| i.as_nanos() as u64),
            unsupported,
        };
        let shown = out.shown().to_string();
        out.commit_with(|w| profile::write_document(w, &header, &rows, snapshots.as_mut()))?;
        let lost = rows.lost(r.events_lost).total();
        if lost > 0 {
            cli::note(format_args!("warning: {lost} updates were dropped (see \"lost\" in the profile)"));
        }
        if header.skipped_runs > 0 {
            cli::note(format_args!(
                "warning: the kernel skipped {} runs of record's programs (a BPF program was already running on that CPU): \
                 traced calls among them are missing (see \"skipped_runs\" in the profile)",
                header.skipped_runs
            ));
        }
        if collisions > 0 {
            cli::note(format_args!("warning: {collisions} paths shared a 64-bit path hash: their rows are merged"));
        }
        cli::note(format_args!("{} files, profile written to {shown}", rows.len()));
        Ok(r.ended.exit_code(o.command.first().map_or("", |c| c.as_str())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bpf::Attach;

    /// The syscall of a per-syscall probe and whether it is the exit one.
    fn syscall_of(how: &Attach) -> Option<(&str, bool)> {
        match how {
            Attach::Tracepoint { category: "syscalls", name } => name
                .strip_prefix("sys_enter_")
                .map(|s| (s, false))
                .or_else(|| name.strip_prefix("sys_exit_").map(|s| (s, true))),
            Attach::Fentry { func } => func.strip_prefix("__x64_sys_").map(|s| (s, false)),
            Attach::Kprobe { func, ret } => func.strip_prefix("__x64_sys_").map(|s| (s, *ret)),
            _ => None,
        }
    }

    /// Strategies with a probe per syscall trace all of bpf/record.h's (all
    /// through io_syscalls!), AIO's too. fentry's exit
    /// programs are fexit, on the same function.
    #[test]
    fn per_syscall_strategies_trace_the_one_list() {
        for s in TOOL.strategies {
            let probes: Vec<(&str, &str, bool)> = s
                .probes
                .iter()
                .filter_map(|p| syscall_of(&s.program(p).attach).map(|(sys, exit)| (p.prog, sys, exit)))
                .collect();
            if probes.is_empty() {
                continue; // one program for every syscall (raw_tp, tp_btf)
            }
            let has = |sys: &str, exit: bool| {
                probes.iter().any(|(prog, p, e)| *p == sys && (*e == exit || prog.starts_with("fx_") == exit))
            };
            for sys in IO_SYSCALLS.iter().chain(kinds::AIO_SYSCALLS.iter()) {
                assert!(has(sys, false) && has(sys, true), "{}: {sys} not traced at entry and exit", s.name);
            }
            for sys in OPENS {
                assert!(has(sys, true), "{}: exit of {sys} not traced", s.name);
            }
        }
    }
}
