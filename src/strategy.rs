//! Attach strategies, declared as data. Each tool lists its strategies in
//! order of preference (cheapest first); the first whose required features
//! the running kernel has is used, unless the user forces one with
//! `--strategy NAME`. `iotrace doctor` prints the outcome for every tool.

use crate::bpf::{Attach, Embedded};
use crate::error::{Error, Result};
use crate::probe::{Feat, Features};

/// One way of running a tool: which object, which programs attached where.
pub struct Strategy {
    pub name: &'static str,
    pub summary: &'static str,
    pub needs: &'static [Feat],
    /// X.bpf.o, or X.legacy.bpf.o for kernels without global data, ring
    /// buffer or BTF (see bpf/compat.bpf.h).
    pub object: &'static Embedded<[u8]>,
    /// (program name, where it attaches)
    pub probes: &'static [(&'static str, Attach)],
    /// Programs whose tracepoint may be missing on older kernels (skipped then).
    pub optional: &'static [&'static str],
}

pub struct Tool {
    pub name: &'static str,
    /// In order of preference.
    pub strategies: &'static [Strategy],
}

impl Strategy {
    pub fn missing(&self, f: &Features) -> Vec<Feat> {
        self.needs.iter().copied().filter(|n| !f.has(*n)).collect()
    }
}

impl Tool {
    /// The strategy to use: `forced` if given (and possible), else the first
    /// one this kernel supports.
    pub fn choose(&self, f: &Features, forced: Option<&str>) -> Result<&'static Strategy> {
        let names = || self.strategies.iter().map(|s| s.name).collect::<Vec<_>>().join(", ");
        let candidates: Vec<&'static Strategy> = match forced {
            Some(name) => {
                vec![self.strategies.iter().find(|s| s.name == name).ok_or_else(|| {
                    Error::usage(format!("{}: unknown strategy '{name}' (have: {})", self.name, names()))
                })?]
            }
            None => self.strategies.iter().collect(),
        };
        for s in &candidates {
            if s.missing(f).is_empty() {
                return Ok(s);
            }
        }
        let why: Vec<String> = candidates
            .iter()
            .map(|s| {
                // What this kernel lacks, and why (the probe's own finding).
                let m: Vec<String> =
                    s.missing(f).iter().map(|x| format!("no {}: {}", x.name(), f.get(*x).detail)).collect();
                format!("{}: this kernel has {}", s.name, m.join("; "))
            })
            .collect();
        Err(Error::msg(format!(
            "{}: no attach strategy works on kernel {} ({}); see `iotrace doctor`",
            self.name,
            f.kernel,
            why.join("; ")
        )))
    }
}
