//! Attach strategies, declared as data. Each tool lists its strategies in
//! order of preference (cheapest first); the first whose required features
//! the running kernel has is used, unless the user forces one with
//! `--strategy NAME`. `iotrace doctor` prints the outcome for every tool.

use crate::bpf::{Attach, Object, OpenObject};
use crate::error::{Error, Result};
use crate::objects::{Obj, Prog};
use crate::probe::{Feat, Features};

/// Which kind of object a strategy loads (bpf/compat.bpf.h; build.rs tells
/// them apart by name: X_legacy.bpf.o, or compiled with -DIOTRACE_LEGACY).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavour {
    /// X.bpf.o: CO-RE against the kernel's BTF, global data, BPF-to-BPF calls.
    CoRe,
    /// X_legacy.bpf.o: what 4.14 offers (perf-event tracepoints, perf buffer,
    /// everything inlined, no BTF).
    Legacy,
}

/// When a strategy's program is loaded and attached, as ebpf-manager's
/// probe selectors.
#[derive(Clone, Copy)]
pub enum Need {
    Always,
    /// Where the kernel has its hook (a tracepoint or function added later).
    IfPresent,
    /// Where the tool's test says so: one of several programs for a
    /// tracepoint whose layout differs between kernels.
    When(fn(&Features) -> Result<bool>),
    /// Where the kernel has its hook and the tool's test says so.
    IfPresentAnd(fn(&Features) -> Result<bool>),
}

/// One program of a strategy; where it attaches is its SEC() in C
/// (objects::Prog).
#[derive(Clone, Copy)]
pub struct Probe {
    pub prog: &'static str,
    pub need: Need,
}

impl Probe {
    pub const fn new(prog: &'static str) -> Probe {
        Probe { prog, need: Need::Always }
    }

    pub const fn need(self, need: Need) -> Probe {
        Probe { need, ..self }
    }

    /// Is `prog`, this probe's program, wanted on this kernel?
    fn wanted(&self, prog: &Prog, f: &Features) -> Result<bool> {
        let present = || match prog.attach {
            Attach::Tracepoint { category, name } => f.tracefs.has_event(category, name),
            Attach::Fentry { func } | Attach::Kprobe { func, .. } => crate::bpf::kernel_has_func(func),
            Attach::RawTracepoint { .. } | Attach::TpBtf { .. } | Attach::TailCall => true,
        };
        Ok(match self.need {
            Need::Always => true,
            Need::IfPresent => present(),
            Need::When(test) => test(f)?,
            Need::IfPresentAnd(test) => test(f)? && present(),
        })
    }
}

/// One way of running a tool: which object, which programs attached where.
pub struct Strategy {
    pub name: &'static str,
    pub summary: &'static str,
    pub needs: &'static [Feat],
    pub object: &'static Obj,
    pub hooks: SyscallHooks,
    pub probes: &'static [Probe],
}

/// How a strategy's programs meet syscalls, and what follows from that.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum SyscallHooks {
    /// None (the block tools).
    None,
    /// The raw sys_enter/sys_exit tracepoints (raw_tp, tp_btf): every
    /// syscall, 32-bit ones included; the arguments are in the registers at
    /// the exit.
    Raw,
    /// fentry/fexit on `__x64_sys_*`: 64-bit syscalls, arguments at the exit.
    Fexit,
    /// `syscalls:sys_{enter,exit}_*` (the kernel skips 32-bit syscalls there:
    /// ARCH_TRACE_IGNORE_COMPAT_SYSCALLS) or kprobes on `__x64_sys_*`:
    /// 64-bit syscalls, arguments at the entry only.
    Entry,
}

impl SyscallHooks {
    /// The exit programs see the syscall's arguments: reads and writes need
    /// no entry program work.
    pub fn exit_args(self) -> bool {
        matches!(self, SyscallHooks::Raw | SyscallHooks::Fexit)
    }

    /// 32-bit syscalls (int $0x80, sysenter) are seen.
    pub fn ia32(self) -> bool {
        self == SyscallHooks::Raw
    }
}

pub struct Tool {
    pub name: &'static str,
    /// In order of preference.
    pub strategies: &'static [Strategy],
}

/// A strategy's object loaded, its programs not attached yet.
pub struct Loaded {
    pub obj: Object,
    /// The programs wanted on this kernel, attached by `attach`.
    pub progs: Vec<&'static Prog>,
}

impl Loaded {
    pub fn attach(&self) -> Result<()> {
        self.progs.iter().try_for_each(|p| self.obj.attach(p.name, &p.attach))
    }
}

impl Strategy {
    pub fn flavour(&self) -> Flavour {
        self.object.flavour
    }

    pub fn missing(&self, f: &Features) -> Vec<Feat> {
        self.needs.iter().copied().filter(|n| !f.has(*n)).collect()
    }

    /// Load the object with the programs wanted on this kernel; `configure`
    /// sizes maps and writes the configuration first.
    pub fn load(&'static self, f: &Features, configure: impl FnOnce(&mut OpenObject) -> Result<()>) -> Result<Loaded> {
        let mut progs = Vec::new();
        for p in self.probes {
            let prog = self.program(p);
            if p.wanted(prog, f)? {
                progs.push(prog);
            }
        }
        let names: Vec<&str> = progs.iter().map(|p| p.name).collect();
        let obj = Object::load(self.object, &names, configure);
        crate::bpf::forget_kernel_caches();
        Ok(Loaded { obj: obj?, progs })
    }

    /// The object's program of `probe` (there is one: Tool::check).
    pub fn program(&self, probe: &Probe) -> &'static Prog {
        self.object.program(probe.prog).expect("checked at compile time by Tool::check")
    }
}

impl Tool {
    /// Every program a strategy names is in its object: a compile-time check,
    /// `const _: () = TOOL.check();` next to each tool.
    pub const fn check(&self) {
        let mut i = 0;
        while i < self.strategies.len() {
            let s = &self.strategies[i];
            let mut j = 0;
            while j < s.probes.len() {
                if s.object.program(s.probes[j].prog).is_none() {
                    panic!("{}", s.probes[j].prog); // a program its object does not have
                }
                j += 1;
            }
            i += 1;
        }
    }

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
