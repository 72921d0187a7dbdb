//! One error type: a single human-readable line, plus the exit status it
//! stands for: 2 for a usage error, 1 for a runtime failure, 126/127 for a
//! command that cannot be run.

use std::fmt;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug)]
pub struct Error {
    msg: String,
    status: u8,
}

const USAGE: u8 = 2;

impl Error {
    pub fn msg(msg: impl Into<String>) -> Error {
        Error { msg: msg.into(), status: 1 }
    }

    /// Bad command line: printed with a pointer to --help, exit status 2.
    pub fn usage(msg: impl Into<String>) -> Error {
        Error { msg: msg.into(), status: USAGE }
    }

    /// A command to run that is not there (127) or cannot be executed (126), as in sh.
    pub fn command(status: u8, msg: impl Into<String>) -> Error {
        Error { msg: msg.into(), status }
    }

    pub fn status(&self) -> u8 {
        self.status
    }

    /// A failed system or libbpf call: "what: strerror".
    pub fn os(errno: i32, what: String) -> Error {
        Error::msg(format!("{what}: {}", strerror(errno)))
    }

    pub fn is_usage(&self) -> bool {
        self.status == USAGE
    }

    /// Prefix the message with what was being done.
    pub fn context(self, what: impl fmt::Display) -> Error {
        Error { msg: format!("{what}: {}", self.msg), ..self }
    }
}

/// `strerror` without std's " (os error N)" suffix.
pub fn strerror(errno: i32) -> String {
    let s = std::io::Error::from_raw_os_error(errno).to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        Error::msg(e.to_string())
    }
}

impl From<lexopt::Error> for Error {
    fn from(e: lexopt::Error) -> Error {
        Error::usage(e.to_string())
    }
}
