//! iotrace: where and how applications read and write files and disks, traced
//! with eBPF from one static binary that runs on Linux 4.14 .. newest.

mod block;
mod bpf;
mod cli;
mod clock;
mod doctor;
mod errnames;
mod error;
mod hist;
mod objects;
mod output;
mod privileges;
mod probe;
mod record;
mod report;
mod shared;
mod signals;
mod strategy;
mod tracefs;

use std::process::ExitCode;

use error::{Error, Result};
use strategy::Tool;

/// Every BPF tool, for `doctor`'s strategy table.
pub static TOOLS: &[&Tool] = &[&record::TOOL, &block::BIOSNOOP, &block::BIOLATENCY, &block::BIOPATTERN];

const HELP: &str = "\
Usage: iotrace COMMAND [OPTIONS]

Trace where and how applications read and write files and disks (eBPF).
One static binary; Linux 4.14 or newer; run as root.

Commands:
  doctor     probe the kernel's BPF features and show each tool's attach strategy
  record     record an exact per-file I/O profile of processes or a command
  report     summarise profiles by file or directory tree (no root needed)
  biosnoop   trace block I/O: one line per request, with its submitter and latency
  biolatency block I/O latency histograms
  biopattern per-disk block I/O pattern: sequential share, sizes, latency, queue depth
  heatmap    block I/O heat map (offset or latency over time) as SVG

The block tools also run when the binary is invoked through a symlink named
biosnoop, biolatency or biopattern (ln -s iotrace biosnoop).

Run `iotrace COMMAND --help` for a command's options and examples.

Options:
  -h, --help       this help
  -V, --version    print the version

Examples:
  sudo iotrace doctor
  sudo iotrace doctor --json
  sudo iotrace record -o dd.json -- dd if=/dev/zero of=/tmp/x bs=4k count=256
  iotrace report --by dir --depth 2 dd.json

Environment:
  IOTRACE_DEBUG=1  echo libbpf's messages (verifier logs) to stderr
";

/// `biosnoop` etc. when invoked through a symlink of that name.
fn tool_from_argv0() -> Option<String> {
    let argv0 = std::env::args_os().next()?;
    let name = std::path::Path::new(&argv0).file_name()?.to_str()?.to_string();
    block::SYMLINK_NAMES.contains(&name.as_str()).then_some(name)
}

/// The exit status on success: 0, or for `record -- CMD` the command's own.
fn run() -> Result<ExitCode> {
    let mut parser = lexopt::Parser::from_env();
    if let Some(tool) = tool_from_argv0() {
        return block::main(&tool, cli::Args::new(parser)).expect("a block tool").map(|()| ExitCode::SUCCESS);
    }
    let cmd = match parser.next()? {
        Some(lexopt::Arg::Value(v)) => v.into_string().map_err(|_| Error::usage("invalid command"))?,
        Some(lexopt::Arg::Short('h')) | Some(lexopt::Arg::Long("help")) | None => {
            return cli::print_help(HELP).map(|()| ExitCode::SUCCESS)
        }
        Some(lexopt::Arg::Short('V')) | Some(lexopt::Arg::Long("version")) => {
            println!("iotrace {}", env!("CARGO_PKG_VERSION"));
            return Ok(ExitCode::SUCCESS);
        }
        Some(other) => return Err(cli::unexpected(other)),
    };
    let args = cli::Args::new(parser);
    let done = match cmd.as_str() {
        "doctor" => doctor::main(args),
        "record" => return record::main(args),
        "report" => report::main(args),
        other => block::main(other, args).unwrap_or_else(|| Err(Error::usage(format!("unknown command '{other}'")))),
    };
    done.map(|()| ExitCode::SUCCESS)
}

fn main() -> ExitCode {
    signals::die_on_broken_pipe();
    match run() {
        Ok(code) => code,
        Err(e) if e.is_usage() => {
            eprintln!("iotrace: {e} (see iotrace --help)");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("iotrace: {e}");
            ExitCode::from(e.status())
        }
    }
}
