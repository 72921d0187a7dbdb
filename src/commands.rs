//! The one registry of iotrace's commands: dispatch, the list in `--help`,
//! the names the binary answers to as a symlink and doctor's strategy table
//! all come from it.

use std::process::ExitCode;

use crate::cli::Args;
use crate::error::Result;
use crate::strategy::Tool;
use crate::{amplify, block, diff, doctor, fio, record, report};

pub struct Command {
    pub name: &'static str,
    /// One line for `iotrace --help`.
    pub about: &'static str,
    /// Runs it; the exit status on success (`record -- CMD`: the command's own).
    pub run: fn(Args) -> Result<ExitCode>,
    /// Its attach strategies, if it has its own BPF object (doctor lists them).
    pub tool: Option<&'static Tool>,
    /// Also run when the binary is invoked through a symlink of this name.
    pub symlink: bool,
}

fn done(r: Result<()>) -> Result<ExitCode> {
    match r {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) => Err(e),
    }
}

pub static COMMANDS: &[Command] = &[
    Command {
        name: "doctor",
        about: "probe the kernel's BPF features and show each tool's attach strategy",
        run: |a| done(doctor::main(a)),
        tool: None,
        symlink: false,
    },
    Command {
        name: "record",
        about: "record an exact per-file I/O profile of processes or a command",
        run: record::main,
        tool: Some(&record::TOOL),
        symlink: false,
    },
    Command {
        name: "amplify",
        about: "I/O amplification per file, process and system: syscall, page cache and device bytes",
        run: amplify::main,
        tool: Some(&amplify::TOOL),
        symlink: false,
    },
    Command {
        name: "report",
        about: "summarise profiles by file or directory tree (no root needed)",
        run: |a| done(report::main(a)),
        tool: None,
        symlink: false,
    },
    Command {
        name: "diff",
        about: "what changed from one profile to another, per file or directory",
        run: |a| done(diff::main(a)),
        tool: None,
        symlink: false,
    },
    Command {
        name: "fio",
        about: "write a fio job file that reproduces the I/O of profiles",
        run: |a| done(fio::main(a)),
        tool: None,
        symlink: false,
    },
    Command {
        name: "biosnoop",
        about: "trace block I/O: one line per request, with its submitter and latency",
        run: |a| done(block::biosnoop::main(a)),
        tool: Some(&block::BIOSNOOP),
        symlink: true,
    },
    Command {
        name: "biolatency",
        about: "block I/O latency histograms",
        run: |a| done(block::biolatency::main(a)),
        tool: Some(&block::BIOLATENCY),
        symlink: true,
    },
    Command {
        name: "biopattern",
        about: "per-disk block I/O pattern: sequential share, sizes, latency, queue depth",
        run: |a| done(block::biopattern::main(a)),
        tool: Some(&block::BIOPATTERN),
        symlink: true,
    },
    Command {
        name: "heatmap",
        about: "block I/O heat map (offset or latency over time) as SVG",
        // biosnoop's object and strategies
        run: |a| done(block::heatmap::main(a)),
        tool: None,
        symlink: false,
    },
];

pub fn find(name: &str) -> Option<&'static Command> {
    COMMANDS.iter().find(|c| c.name == name)
}

/// Every command's attach strategies, for doctor.
pub fn tools() -> Vec<&'static Tool> {
    COMMANDS.iter().filter_map(|c| c.tool).collect()
}
