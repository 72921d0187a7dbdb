//! Standard output of the block tools.

use std::io::Write;

use crate::error::{Error, Result};

/// Standard output that turns a closed pipe (`| head`) into a clean stop.
pub struct Out(std::io::StdoutLock<'static>);

impl Out {
    pub fn new() -> Out {
        Out(std::io::stdout().lock())
    }

    /// Write; Ok(false) once the reader has gone.
    pub fn write(&mut self, args: std::fmt::Arguments<'_>) -> Result<bool> {
        match self.0.write_fmt(args).and_then(|_| self.0.flush()) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
            Err(e) => Err(Error::msg(format!("cannot write output: {}", crate::error::describe_io(&e)))),
        }
    }
}

/// Wall-clock time of day (UTC) for -T.
pub fn time_of_day() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    format!("{:02}:{:02}:{:02}", secs / 3600 % 24, secs / 60 % 60, secs % 60)
}
