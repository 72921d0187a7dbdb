//! Up-front privilege check, so that a missing capability is one clear line
//! rather than an EPERM from deep inside libbpf.

use crate::error::{Error, Result};

const CAP_SYS_ADMIN: u32 = 21;
const CAP_PERFMON: u32 = 38;
const CAP_BPF: u32 = 39;

fn effective_caps() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| l.strip_prefix("CapEff:")).and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        })
        .unwrap_or(0)
}

/// Loading tracing programs needs CAP_SYS_ADMIN, or since 5.8 (a17b53c4a4b5
/// "bpf, capability: Introduce CAP_BPF") CAP_BPF together with CAP_PERFMON.
pub fn check() -> Result<()> {
    let caps = effective_caps();
    let has = |c: u32| caps & (1u64 << c) != 0;
    if has(CAP_SYS_ADMIN) || (has(CAP_BPF) && has(CAP_PERFMON)) {
        return Ok(());
    }
    Err(Error::msg("must run as root (CAP_SYS_ADMIN, or CAP_BPF + CAP_PERFMON on 5.8+): run it with sudo"))
}
