//! One error type: a single human-readable line, plus the exit status it
//! stands for: 2 for a usage error, 1 for a runtime failure, 126/127 for a
//! command that cannot be run.

use std::fmt;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug)]
pub struct Error {
    msg: String,
    status: u8,
    /// The errno of a failed system or libbpf call, for callers that react to one.
    errno: Option<i32>,
}

const USAGE: u8 = 2;

impl Error {
    pub fn msg(msg: impl Into<String>) -> Error {
        Error { msg: msg.into(), status: 1, errno: None }
    }

    /// Bad command line: printed with a pointer to --help, exit status 2.
    pub fn usage(msg: impl Into<String>) -> Error {
        Error { msg: msg.into(), status: USAGE, errno: None }
    }

    /// A command to run that is not there (127) or cannot be executed (126), as in sh.
    pub fn command(status: u8, msg: impl Into<String>) -> Error {
        Error { msg: msg.into(), status, errno: None }
    }

    pub fn status(&self) -> u8 {
        self.status
    }

    /// A failed system or libbpf call: "what: EACCES (Permission denied)".
    pub fn os(errno: i32, what: String) -> Error {
        Error { msg: format!("{what}: {}", describe(errno)), status: 1, errno: Some(errno) }
    }

    pub fn errno(&self) -> Option<i32> {
        self.errno
    }

    pub fn is_usage(&self) -> bool {
        self.status == USAGE
    }

    /// Append a parenthesised detail to the message.
    pub fn detail(self, detail: impl fmt::Display) -> Error {
        Error { msg: format!("{} ({detail})", self.msg), ..self }
    }

    /// Prefix the message with what was being done.
    pub fn context(self, what: impl fmt::Display) -> Error {
        Error { msg: format!("{what}: {}", self.msg), ..self }
    }
}

/// An errno as error lines show it: its symbolic name, which is the same
/// whatever the C library, then the C library's text (musl's differ from
/// glibc's): "ENOMEM (Out of memory)".
pub fn describe(errno: i32) -> String {
    let text = std::io::Error::from_raw_os_error(errno).to_string();
    let text = text.find(" (os error").map_or(&text[..], |i| &text[..i]);
    format!("{} ({text})", crate::errnames::name(errno))
}

/// An I/O error as error lines show it: `describe` for an OS error.
pub fn describe_io(e: &std::io::Error) -> String {
    e.raw_os_error().map_or_else(|| e.to_string(), describe)
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        Error { msg: describe_io(&e), status: 1, errno: e.raw_os_error() }
    }
}

impl From<lexopt::Error> for Error {
    fn from(e: lexopt::Error) -> Error {
        Error::usage(e.to_string())
    }
}
