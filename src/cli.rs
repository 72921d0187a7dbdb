//! Command-line plumbing shared by the subcommands (lexopt based).

use std::time::Duration;

use crate::error::{Error, Result};

pub use lexopt::Arg;

/// A subcommand's argument parser.
pub struct Args(lexopt::Parser);

impl Args {
    pub fn new(parser: lexopt::Parser) -> Args {
        Args(parser)
    }

    pub fn next(&mut self) -> Result<Option<Arg<'_>>> {
        Ok(self.0.next()?)
    }

    pub fn value_str(&mut self) -> Result<String> {
        let v = self.0.value()?;
        v.into_string().map_err(|v| Error::usage(format!("invalid UTF-8 in argument {v:?}")))
    }

    /// The next value parsed as T, with the option name in the error.
    pub fn value_parsed<T: std::str::FromStr>(&mut self, what: &str) -> Result<T> {
        let v = self.value_str()?;
        v.parse().map_err(|_| Error::usage(format!("invalid value '{v}' for {what}")))
    }

    /// The next value as a positive number of seconds.
    pub fn seconds(&mut self, what: &str) -> Result<Duration> {
        let v = self.value_str()?;
        parse_seconds(&v, what)
    }

    /// Everything after `--` (or the remaining positionals).
    pub fn raw_rest(&mut self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for v in self.0.raw_args()? {
            out.push(v.into_string().map_err(|v| Error::usage(format!("invalid UTF-8 in argument {v:?}")))?);
        }
        Ok(out)
    }
}

/// A positive number of seconds (fractions allowed).
pub fn parse_seconds(v: &str, what: &str) -> Result<Duration> {
    match v.parse::<f64>() {
        Ok(s) if s > 0.0 && s < 1e9 => Ok(Duration::from_secs_f64(s)),
        _ => Err(Error::usage(format!("{what} must be a positive number of seconds, not '{v}'"))),
    }
}

pub fn unexpected(arg: Arg<'_>) -> Error {
    Error::from(arg.unexpected())
}

/// A status line on stderr; a closed stderr must not abort a recording.
pub fn note(msg: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "iotrace: {msg}");
}

/// What the profile readers (report, diff, fio) do with an argument none of
/// their own options took: `-h` prints `help` (false: stop there), a value is
/// a profile path, anything else is a usage error.
pub fn profile_arg(arg: Arg<'_>, help: &str, profiles: &mut Vec<String>) -> Result<bool> {
    match arg {
        Arg::Short('h') | Arg::Long("help") => {
            print_help(help)?;
            Ok(false)
        }
        Arg::Value(v) => {
            profiles.push(v.into_string().map_err(|_| Error::usage("invalid UTF-8 in a file name"))?);
            Ok(true)
        }
        other => Err(unexpected(other)),
    }
}

pub fn print_help(text: &str) -> Result<()> {
    print!("{text}");
    Ok(())
}
