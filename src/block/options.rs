//! Options every block tool takes, and the positional INTERVAL [COUNT].

use std::time::Duration;

use super::Disk;
use crate::cli::{self, Arg, Args};
use crate::error::{Error, Result};
use crate::shared::BLOCK_COMM_LEN;

/// Options every block tool takes.
#[derive(Default)]
pub struct Common {
    pub disk: Option<Disk>,
    pub pid: Option<u32>,
    pub comm: Option<String>,
    pub json: bool,
    pub strategy: Option<String>,
}

/// A common option recognised on the command line (owned, so that the
/// parser is free again to read its value).
#[derive(Clone, Copy)]
pub enum CommonOpt {
    Disk,
    Pid,
    Comm,
    Json,
    Strategy,
}

impl CommonOpt {
    /// Is `arg` one of the common options in `which` (letters among "dpcj";
    /// --strategy always)?
    pub fn of(arg: &Arg<'_>, which: &str) -> Option<CommonOpt> {
        let opt = match arg {
            Arg::Short('d') | Arg::Long("disk") => (CommonOpt::Disk, 'd'),
            Arg::Short('p') | Arg::Long("pid") => (CommonOpt::Pid, 'p'),
            Arg::Short('c') | Arg::Long("comm") => (CommonOpt::Comm, 'c'),
            Arg::Long("json") => (CommonOpt::Json, 'j'),
            Arg::Long("strategy") => return Some(CommonOpt::Strategy),
            _ => return None,
        };
        which.contains(opt.1).then_some(opt.0)
    }
}

impl Common {
    pub fn set(&mut self, opt: CommonOpt, args: &mut Args) -> Result<()> {
        match opt {
            CommonOpt::Disk => self.disk = Some(Disk::find(&args.value_str()?)?),
            CommonOpt::Pid => {
                let pid = args.value_parsed("--pid")?;
                if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
                    return Err(Error::msg(format!("no such process: {pid}")));
                }
                self.pid = Some(pid);
            }
            CommonOpt::Comm => {
                let c = args.value_str()?;
                if c.is_empty() || c.len() >= BLOCK_COMM_LEN as usize {
                    return Err(Error::usage(format!("--comm '{c}': a comm is 1 to {} bytes", BLOCK_COMM_LEN - 1)));
                }
                self.comm = Some(c);
            }
            CommonOpt::Json => self.json = true,
            CommonOpt::Strategy => self.strategy = Some(args.value_str()?),
        }
        Ok(())
    }
}

/// Positional `INTERVAL [COUNT]` (biolatency, biopattern).
#[derive(Default)]
pub struct Interval {
    pub every: Option<Duration>,
    pub count: Option<u64>,
}

impl Interval {
    pub fn take(&mut self, value: std::ffi::OsString) -> Result<()> {
        let v = value.into_string().map_err(|_| Error::usage("invalid UTF-8 in argument"))?;
        let bad = || Error::usage(format!("unexpected argument '{v}' (expected INTERVAL [COUNT])"));
        if self.every.is_none() {
            self.every = Some(cli::parse_seconds(&v, "INTERVAL")?);
        } else if self.count.is_none() {
            let count: u64 = v.parse().map_err(|_| Error::usage(format!("COUNT '{v}' is not a whole number")))?;
            if count == 0 {
                return Err(Error::usage("COUNT must be positive (the number of intervals to print)"));
            }
            self.count = Some(count);
        } else {
            return Err(bad());
        }
        Ok(())
    }
}
