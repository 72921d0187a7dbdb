//! One error type: a single human-readable line, plus whether it was a usage
//! error (exit status 2) or a runtime failure (exit status 1).

use std::fmt;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug)]
pub struct Error {
    msg: String,
    usage: bool,
}

impl Error {
    pub fn msg(msg: impl Into<String>) -> Error {
        Error { msg: msg.into(), usage: false }
    }

    /// Bad command line: printed with a pointer to --help, exit status 2.
    pub fn usage(msg: impl Into<String>) -> Error {
        Error { msg: msg.into(), usage: true }
    }

    /// A failed system or libbpf call: "what: strerror".
    pub fn os(errno: i32, what: String) -> Error {
        Error::msg(format!("{what}: {}", strerror(errno)))
    }

    pub fn is_usage(&self) -> bool {
        self.usage
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
