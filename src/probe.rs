//! Kernel feature probing, done once at start-up by *trying* each feature
//! (loading or attaching something tiny), never by comparing version numbers:
//! distribution kernels backport features and some hosts forbid what their
//! version offers (this project's build host has BTF, yet fentry gets EPERM).

use std::io::Read;

use crate::bpf::{self, Insn, MapType, Object, RawMap};
use crate::error::{describe, describe_io, Error, Result};
use crate::objects::map_name;
use crate::objects::{self, program, Prog};
use crate::shared::probe_slot;
use crate::tracefs::Tracefs;

/// Every probed feature, in the order `doctor` prints them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Feat {
    Btf,
    RingBuf,
    PerfBuffer,
    GlobalData,
    BoundedLoops,
    ProbeReadKernel,
    Tracepoint,
    RawTp,
    TpBtf,
    Fentry,
    Kprobe,
    SyscallTracepoints,
    BlockTracepoints,
    IoUringTracepoints,
    RuntimeAllocMaps,
    Jit,
}

impl Feat {
    pub const ALL: [Feat; 16] = [
        Feat::Btf,
        Feat::RingBuf,
        Feat::PerfBuffer,
        Feat::GlobalData,
        Feat::BoundedLoops,
        Feat::ProbeReadKernel,
        Feat::Tracepoint,
        Feat::RawTp,
        Feat::TpBtf,
        Feat::Fentry,
        Feat::Kprobe,
        Feat::SyscallTracepoints,
        Feat::BlockTracepoints,
        Feat::IoUringTracepoints,
        Feat::RuntimeAllocMaps,
        Feat::Jit,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Feat::Btf => "btf",
            Feat::RingBuf => "ringbuf",
            Feat::PerfBuffer => "perf_buffer",
            Feat::GlobalData => "global_data",
            Feat::BoundedLoops => "bounded_loops",
            Feat::ProbeReadKernel => "probe_read_kernel",
            Feat::Tracepoint => "tracepoint",
            Feat::RawTp => "raw_tp",
            Feat::TpBtf => "tp_btf",
            Feat::Fentry => "fentry",
            Feat::Kprobe => "kprobe",
            Feat::SyscallTracepoints => "syscall_tracepoints",
            Feat::BlockTracepoints => "block_tracepoints",
            Feat::IoUringTracepoints => "io_uring_tracepoints",
            Feat::RuntimeAllocMaps => "runtime_alloc_maps",
            Feat::Jit => "bpf_jit",
        }
    }

    /// What the feature is and the kernel that introduced it upstream.
    pub fn about(self) -> &'static str {
        match self {
            Feat::Btf => "kernel BTF for CO-RE (5.4, CONFIG_DEBUG_INFO_BTF)",
            Feat::RingBuf => "BPF ring buffer (5.8)",
            Feat::PerfBuffer => "perf event array output (4.3)",
            Feat::GlobalData => "global data / .rodata config (5.2)",
            Feat::BoundedLoops => "bounded loops in the verifier (5.3)",
            Feat::ProbeReadKernel => "bpf_probe_read_kernel/user helpers (5.5)",
            Feat::Tracepoint => "perf-event tracepoint programs (4.7)",
            Feat::RawTp => "raw tracepoints (4.17)",
            Feat::TpBtf => "BTF-typed raw tracepoints (5.5)",
            Feat::Fentry => "fentry/fexit trampolines (5.5)",
            Feat::Kprobe => "kprobes (CONFIG_KPROBES)",
            Feat::SyscallTracepoints => "syscalls:sys_{enter,exit}_* for every traced syscall",
            Feat::BlockTracepoints => "block:block_rq_{issue,complete}",
            Feat::IoUringTracepoints => "io_uring tracepoints that pass the request, for record (5.12+, 5.10 updates)",
            Feat::RuntimeAllocMaps => "BPF_F_NO_PREALLOC hash maps in tracing programs without a kernel WARN (6.1)",
            Feat::Jit => "BPF JIT enabled (net.core.bpf_jit_enable)",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Probed {
    pub ok: bool,
    pub detail: String,
}

/// What the running kernel can do, each feature probed when first asked
/// about: a tool pays only for the probes of the strategies it considers
/// (each attach probe ends in a detach that waits for an RCU grace period).
pub struct Features {
    pub kernel: String,
    pub tracefs: Tracefs,
    results: std::cell::RefCell<Vec<(Feat, Probed)>>,
}

impl Features {
    pub fn has(&self, f: Feat) -> bool {
        self.get(f).ok
    }

    pub fn get(&self, f: Feat) -> Probed {
        if let Some((_, p)) = self.results.borrow().iter().find(|(g, _)| *g == f) {
            return p.clone();
        }
        let p = self.probe(f);
        self.results.borrow_mut().push((f, p.clone()));
        p
    }

    /// Every feature, probed (doctor).
    pub fn all(&self) -> Vec<(Feat, Probed)> {
        Feat::ALL.iter().map(|f| (*f, self.get(*f))).collect()
    }

    fn probe(&self, f: Feat) -> Probed {
        let attach = |prog, slot, needs_btf| probe_attach(prog, slot, needs_btf, self.has(Feat::Btf));
        match f {
            Feat::Btf => probe_btf(),
            Feat::RingBuf if bpf::map_type_supported(MapType::RingBuf) => yes("BPF_MAP_TYPE_RINGBUF"),
            Feat::RingBuf => no("no BPF_MAP_TYPE_RINGBUF: events use the perf buffer"),
            Feat::PerfBuffer if bpf::map_type_supported(MapType::PerfEventArray) => {
                yes("BPF_MAP_TYPE_PERF_EVENT_ARRAY")
            }
            Feat::PerfBuffer => no("no BPF_MAP_TYPE_PERF_EVENT_ARRAY"),
            Feat::GlobalData => probe_global_data(),
            Feat::BoundedLoops => probe_bounded_loops(),
            Feat::ProbeReadKernel if bpf::helper_supported(bpf::Helper::ProbeReadKernel) => yes("helper accepted"),
            Feat::ProbeReadKernel => no("falls back to bpf_probe_read"),
            Feat::Tracepoint => attach(program!("probe_tracepoint" in PROBE), probe_slot::PROBE_TRACEPOINT, false),
            Feat::RawTp => attach(program!("probe_raw_tp" in PROBE), probe_slot::PROBE_RAW_TP, false),
            Feat::TpBtf => attach(program!("probe_tp_btf" in PROBE), probe_slot::PROBE_TP_BTF, true),
            Feat::Fentry => attach(program!("probe_fentry" in PROBE), probe_slot::PROBE_FENTRY, true),
            Feat::Kprobe => attach(program!("probe_kprobe" in PROBE), probe_slot::PROBE_KPROBE, false),
            Feat::SyscallTracepoints => {
                let names: Vec<String> = crate::record::IO_SYSCALLS
                    .iter()
                    .chain(&crate::record::OPENS)
                    .chain(MORE_SYSCALLS)
                    .flat_map(|s| [format!("sys_enter_{s}"), format!("sys_exit_{s}")])
                    .collect();
                probe_events(&self.tracefs, "syscalls", &names)
            }
            Feat::BlockTracepoints => {
                probe_events(&self.tracefs, "block", &["block_rq_issue", "block_rq_complete"].map(String::from))
            }
            Feat::IoUringTracepoints => probe_io_uring(&self.tracefs),
            Feat::RuntimeAllocMaps => probe_runtime_alloc(&self.kernel),
            Feat::Jit => probe_jit(),
        }
    }
}

/// Syscall tracepoints used besides record's own (RECORD_SYSCALLS and
/// RECORD_OPENS): legacy's fd tracking and the async interfaces.
const MORE_SYSCALLS: &[&str] = &["dup", "dup2", "dup3", "fcntl", "lseek", "io_submit", "io_uring_enter"];

pub fn kernel_release() -> String {
    // SAFETY: utsname is plain data filled by the kernel.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: u is writable.
    if unsafe { libc::uname(&mut u) } != 0 {
        return "unknown".into();
    }
    // SAFETY: release is NUL-terminated by the kernel.
    unsafe { std::ffi::CStr::from_ptr(u.release.as_ptr()) }.to_string_lossy().into_owned()
}

fn yes(detail: impl Into<String>) -> Probed {
    Probed { ok: true, detail: detail.into() }
}

fn no(detail: impl Into<String>) -> Probed {
    Probed { ok: false, detail: detail.into() }
}

/// BPF_LD_IMM64 of a map value address (BPF_PSEUDO_MAP_VALUE), then a store through it.
fn probe_global_data() -> Probed {
    let map = match RawMap::array(8) {
        Ok(m) => m,
        Err(e) => return no(e.to_string()),
    };
    let insns = [
        Insn::new(0x18, 1, 2, 0, map.fd()), // r1 = &map[0] (ld_imm64, src=PSEUDO_MAP_VALUE)
        Insn::new(0, 0, 0, 0, 0),
        Insn::new(0x7a, 1, 0, 0, 42), // *(u64 *)(r1 + 0) = 42
        Insn::new(0xb7, 0, 0, 0, 0),  // r0 = 0
        Insn::new(0x95, 0, 0, 0, 0),  // exit
    ];
    match bpf::socket_filter_loads(&insns) {
        Ok(()) => yes("direct map value access accepted"),
        Err(e) => no(format!("verifier refused map value access: {}", describe(e))),
    }
}

/// A loop with a back-edge: refused by verifiers before 5.3.
fn probe_bounded_loops() -> Probed {
    let insns = [
        Insn::new(0xb7, 0, 0, 0, 4),  // r0 = 4
        Insn::new(0x17, 0, 0, 0, 1),  // r0 -= 1
        Insn::new(0x55, 0, 0, -2, 0), // if r0 != 0 goto -2
        Insn::new(0x95, 0, 0, 0, 0),  // exit
    ];
    match bpf::socket_filter_loads(&insns) {
        Ok(()) => yes("back-edge accepted"),
        Err(e) => no(format!("verifier refused a bounded loop: {}", describe(e))),
    }
}

fn probe_btf() -> Probed {
    match bpf::kernel_btf() {
        Ok(()) => yes("vmlinux BTF loaded"),
        Err(e) => no(e.to_string()),
    }
}

/// Load one program of probe.bpf.o, attach it, trigger it, and require a hit.
fn probe_attach(prog: &Prog, slot: probe_slot, needs_btf: bool, btf: bool) -> Probed {
    let how = &prog.attach;
    if needs_btf && !btf {
        return no("needs kernel BTF");
    }
    let run = || -> Result<u64> {
        let obj = Object::load(objects::PROBE, &[prog.name], |_| Ok(()))?;
        obj.attach(prog.name, how)?;
        trigger();
        let hits: Option<u64> = obj.map(map_name!("hits" in PROBE))?.get(&(slot as u32))?;
        Ok(hits.unwrap_or(0))
    };
    match run() {
        Ok(0) => no(format!("{} attached but never ran", how.describe())),
        Ok(_) => yes(how.describe()),
        Err(e) => no(e.to_string()),
    }
}

/// Hit every probe point: getpid (sys_enter_getpid, sys_enter) and a read
/// of /proc (vfs_read).
fn trigger() {
    // SAFETY: a plain getpid syscall (glibc no longer caches it, but be explicit).
    unsafe { libc::syscall(libc::SYS_getpid) };
    if let Ok(mut f) = std::fs::File::open("/proc/self/stat") {
        let _ = f.read(&mut [0u8; 64]);
    }
}

fn probe_events(tracefs: &Tracefs, category: &str, names: &[String]) -> Probed {
    let missing: Vec<&str> = names.iter().filter(|n| !tracefs.has_event(category, n)).map(|s| s.as_str()).collect();
    if missing.len() == names.len() {
        no(format!("no {category} tracepoints in {}", tracefs.path.display()))
    } else if missing.is_empty() {
        yes(format!("all {} present", names.len()))
    } else {
        yes(format!("missing: {}", missing.join(" ")))
    }
}

/// record's io_uring programs need the request: from io_uring_complete, whose
/// arguments were the ring, user_data and result before 5.16 (502c87d65564
/// "io_uring: Add to traces the req pointer when available"), or from
/// io_uring_submit_sqe. Without either nothing names a request's file.
fn probe_io_uring(tracefs: &Tracefs) -> Probed {
    use crate::record::uring;
    if !tracefs.has_event(uring::CAT, "io_uring_complete") {
        return no(format!("no io_uring tracepoints in {}", tracefs.path.display()));
    }
    // Its record has the request from 5.19, its arguments from 5.16 (the
    // kernel's BTF shows them); before, io_uring_submit_sqe passes it from
    // 5.12 and in 5.10's stable updates, and completions are matched by ring
    // and user_data.
    if uring::complete_has_req(tracefs) {
        return yes("io_uring_complete has the request");
    }
    if uring::sqe_req_second() {
        return yes("io_uring_submit_sqe passes the request: completions matched by ring and user_data");
    }
    no("neither io_uring_complete nor io_uring_submit_sqe passes the request: io_uring I/O is not recorded")
}

/// "major.minor" of a release string.
fn release_version(release: &str) -> Option<(u32, u32)> {
    let mut it = release.split(|c: char| !c.is_ascii_digit()).filter(|s| !s.is_empty());
    Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
}

/// The one feature decided by version, because trying it harms the host:
/// before 6.1, check_map_prog_compatibility() fires WARN_ONCE("trace type BPF
/// program uses run-time allocation") and taints the kernel when a tracing
/// program uses a hash map without preallocation (the warning went with the
/// BPF memory allocator, 7c8199e24fa0 "bpf: Introduce any context BPF
/// specific memory allocator", 6.1).
fn probe_runtime_alloc(release: &str) -> Probed {
    match release_version(release) {
        Some(v) if v >= (6, 1) => yes("kernel >= 6.1 (by version: trying would taint older kernels)"),
        Some(_) => no("kernel < 6.1 would WARN and taint: maps are preallocated, with smaller limits"),
        None => no(format!("cannot parse kernel release {release}")),
    }
}

fn probe_jit() -> Probed {
    match std::fs::read_to_string("/proc/sys/net/core/bpf_jit_enable") {
        Ok(v) if v.trim() != "0" => yes(format!("bpf_jit_enable={}", v.trim())),
        Ok(_) => no("bpf_jit_enable=0: programs run in the interpreter (sysctl net.core.bpf_jit_enable=1)"),
        // CONFIG_BPF_JIT_ALWAYS_ON kernels drop nothing here but may hide the file.
        Err(e) => no(format!("cannot read bpf_jit_enable: {}", describe_io(&e))),
    }
}

/// Is BPF usable at all? Distinguishes "no bpf() syscall" from "not allowed".
fn check_bpf_syscall() -> Result<()> {
    match RawMap::array(8) {
        Ok(_) => Ok(()),
        Err(e) => {
            let hint = if e.errno() == Some(libc::ENOSYS) {
                "this kernel has no bpf() syscall (built without CONFIG_BPF_SYSCALL)"
            } else {
                "the kernel refused bpf() although we have the privileges: kernel lockdown, or a seccomp/LSM policy"
            };
            Err(Error::msg(format!("{hint} ({e})")))
        }
    }
}

/// Ready to probe: requires privileges and tracefs; an error means BPF is
/// unusable on this host at all.
pub fn probe(tracefs: Tracefs) -> Result<Features> {
    check_bpf_syscall()?;
    Ok(Features { kernel: kernel_release(), tracefs, results: Default::default() })
}

/// Everything a BPF-using command needs before its first load: privileges,
/// libbpf logging, signal handlers, tracefs, and one probe of the kernel.
pub fn start() -> Result<Features> {
    crate::privileges::check()?;
    bpf::init_logging();
    crate::signals::install();
    let tracefs = crate::tracefs::ensure()?;
    probe(tracefs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_versions() {
        assert_eq!(release_version("6.18.44-fc-v669"), Some((6, 18)));
        assert_eq!(release_version("5.10.0-46-cloud-amd64"), Some((5, 10)));
        assert_eq!(release_version("4.14.67"), Some((4, 14)));
        assert!(!probe_runtime_alloc("5.10.0-46-cloud-amd64").ok);
        assert!(probe_runtime_alloc("6.1.0-56-cloud-amd64").ok);
    }
}
