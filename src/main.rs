//! iotrace: where and how applications read and write files and disks, traced
//! with eBPF from one static binary that runs on Linux 4.14 .. newest.

mod amplify;
mod block;
mod bpf;
mod cli;
mod clock;
mod commands;
mod diff;
mod doctor;
mod errnames;
mod error;
mod fio;
mod hist;
mod kallsyms;
mod metrics;
mod objects;
mod output;
mod privileges;
mod probe;
mod profile_read;
mod record;
mod report;
mod shared;
mod signals;
mod strategy;
mod table;
mod tracefs;

use std::process::ExitCode;

use error::{Error, Result};

const HELP_HEAD: &str = "\
Usage: iotrace COMMAND [OPTIONS]

Trace where and how applications read and write files and disks (eBPF).
One static binary; Linux 4.14 or newer; run as root.

Commands:
";

const HELP_TAIL: &str = "
Run `iotrace COMMAND --help` for a command's options and examples.

Options:
  -h, --help       this help
  -V, --version    print the version

Examples:
  sudo iotrace doctor
  sudo iotrace doctor --json
  sudo iotrace record -o dd.json -- dd if=/dev/zero of=/tmp/x bs=4k count=256
  iotrace report --by dir --depth 2 dd.json
  iotrace fio --top 5 dd.json -o dd.fio
  iotrace diff before.json after.json

Environment:
  IOTRACE_DEBUG=1  echo libbpf's messages (verifier logs) to stderr
";

fn help() -> String {
    let list: String = commands::COMMANDS.iter().map(|c| format!("  {:<10} {}\n", c.name, c.about)).collect();
    let links: Vec<&str> = commands::COMMANDS.iter().filter(|c| c.symlink).map(|c| c.name).collect();
    let (last, rest) = links.split_last().expect("symlinked commands");
    format!(
        "{HELP_HEAD}{list}\nThe block tools also run when the binary is invoked through a symlink named\n\
         {} or {last} (ln -s iotrace {}).\n{HELP_TAIL}",
        rest.join(", "),
        links[0]
    )
}

/// `biosnoop` etc. when invoked through a symlink of that name.
fn command_from_argv0() -> Option<&'static commands::Command> {
    let argv0 = std::env::args_os().next()?;
    let name = std::path::Path::new(&argv0).file_name()?.to_str()?;
    commands::find(name).filter(|c| c.symlink)
}

/// The exit status on success: 0, or for `record -- CMD` the command's own.
fn run() -> Result<ExitCode> {
    let mut parser = lexopt::Parser::from_env();
    if let Some(c) = command_from_argv0() {
        return (c.run)(cli::Args::new(parser));
    }
    let cmd = match parser.next()? {
        Some(lexopt::Arg::Value(v)) => v.into_string().map_err(|_| Error::usage("invalid command"))?,
        Some(lexopt::Arg::Short('h')) | Some(lexopt::Arg::Long("help")) | None => {
            return cli::print_help(&help()).map(|()| ExitCode::SUCCESS)
        }
        Some(lexopt::Arg::Short('V')) | Some(lexopt::Arg::Long("version")) => {
            println!("iotrace {}", env!("CARGO_PKG_VERSION"));
            return Ok(ExitCode::SUCCESS);
        }
        Some(other) => return Err(cli::unexpected(other)),
    };
    match commands::find(&cmd) {
        Some(c) => (c.run)(cli::Args::new(parser)),
        None => Err(Error::usage(format!("unknown command '{cmd}'"))),
    }
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
