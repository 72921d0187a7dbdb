//! The block tools' attach strategies: each tool's two objects (bpf/block.bpf.h).

use crate::objects::{self, Obj};
use crate::probe::Feat;
use crate::strategy::{Probe, Strategy, SyscallHooks, Tool};

const BIO_QUEUE: Probe = Probe::new("tp_bio_queue");

/// The two raw_tp programs on block_rq_complete, first and second
/// (bpf/block.bpf.h), which stand in for each other (session.rs: missed_runs).
pub const RAW_COMPLETE: [&str; 2] = ["raw_rq_complete", "raw_rq_complete_again"];

const CORE_PROBES: &[Probe] = &[
    BIO_QUEUE,
    Probe::new("raw_rq_insert"),
    Probe::new("raw_rq_issue"),
    Probe::new(RAW_COMPLETE[0]),
    Probe::new(RAW_COMPLETE[1]),
];
const LEGACY_PROBES: &[Probe] =
    &[BIO_QUEUE, Probe::new("tp_rq_insert"), Probe::new("tp_rq_issue"), Probe::new("tp_rq_complete")];

/// Strategies of every block tool, over its two objects (bpf/block.bpf.h).
/// raw_tp first: exact (requests known by pointer) and without the
/// perf-event tracepoints' shared recursion guard, which makes a completion
/// interrupting another BPF program go unseen. Its guard is per program, so
/// a second program on block_rq_complete sees the completions that
/// interrupt the first (bpf/block.bpf.h: raw_rq_complete_again).
const fn strategies(modern: &'static Obj, legacy: &'static Obj) -> [Strategy; 2] {
    [
        Strategy {
            name: "raw_tp",
            summary:
                "raw_tp block_rq_{insert,issue,complete} with CO-RE (requests by pointer), tracepoint block_bio_queue",
            needs: &[Feat::Btf, Feat::RawTp, Feat::GlobalData, Feat::BlockTracepoints, Feat::PerfBuffer],
            object: modern,
            hooks: SyscallHooks::None,
            probes: CORE_PROBES,
        },
        Strategy {
            name: "tracepoint",
            summary: "block:block_{bio_queue,rq_insert,rq_issue,rq_complete}, fields from format files (4.14+)",
            needs: &[Feat::Tracepoint, Feat::BlockTracepoints, Feat::PerfBuffer],
            object: legacy,
            hooks: SyscallHooks::None,
            probes: LEGACY_PROBES,
        },
    ]
}

pub static BIOSNOOP: Tool =
    Tool { name: "biosnoop", strategies: &strategies(objects::BIOSNOOP, objects::BIOSNOOP_LEGACY) };
pub static BIOLATENCY: Tool =
    Tool { name: "biolatency", strategies: &strategies(objects::BIOLATENCY, objects::BIOLATENCY_LEGACY) };
pub static BIOPATTERN: Tool =
    Tool { name: "biopattern", strategies: &strategies(objects::BIOPATTERN, objects::BIOPATTERN_LEGACY) };
const _: () = BIOSNOOP.check();
const _: () = BIOLATENCY.check();
const _: () = BIOPATTERN.check();
