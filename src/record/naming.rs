//! What a profile row is: a mount namespace plus a path, kept as the raw bytes
//! the kernel gave, and how those bytes are written into the profile
//! (docs/profile-format.md: "Paths").

use std::collections::BTreeSet;

use crate::shared::{file_event, file_key, FILE_TRUNCATED, FILE_UNLINKED};

/// A file as the BPF maps key it: (mount namespace, id). The id is a path
/// hash (CO-RE strategies) or one open (legacy).
pub type Key = (u32, u64);

pub fn key(k: &file_key) -> Key {
    (k.mntns, k.id)
}

/// The name of a file as it was opened.
#[derive(Clone, Debug, Default)]
pub struct FileName {
    pub mntns: u32,
    /// Components from the root, each preceded by '/' unless the head is
    /// missing (`truncated`): then the first component has no '/'.
    pub path: Vec<u8>,
    pub truncated: bool,
    /// It had no name left when first seen (unlinked, O_TMPFILE): its path
    /// is somebody else's next, so it is a row of its own.
    pub unlinked: bool,
    /// (dev as the kernel's s_dev, inode number)
    pub inodes: BTreeSet<(u32, u64)>,
}

impl FileName {
    /// Decode a file_event: components leaf first, NUL-terminated each.
    pub fn from_event(e: &file_event) -> (Key, FileName) {
        let len = (e.path_len as usize).min(e.path.len());
        let raw: Vec<u8> = e.path[..len].iter().map(|c| *c as u8).collect();
        let truncated = e.flags as u32 & FILE_TRUNCATED != 0;
        let mut path = Vec::with_capacity(len + 1);
        for (i, comp) in raw.split(|b| *b == 0).filter(|c| !c.is_empty()).rev().enumerate() {
            if i > 0 || !truncated {
                path.push(b'/');
            }
            path.extend_from_slice(comp);
        }
        if path.is_empty() {
            path.push(b'/');
        }
        let name = FileName {
            mntns: e.key.mntns,
            path,
            truncated,
            unlinked: e.flags as u32 & FILE_UNLINKED != 0,
            inodes: [(e.dev, e.ino)].into(),
        };
        (key(&e.key), name)
    }

    /// The path as the profile writes it.
    pub fn display(&self) -> String {
        encode(&self.path)
    }
}

/// Lossless text for any file name: a backslash becomes `\\`, and every byte
/// that is not part of valid UTF-8 or is a control character becomes `\xHH`.
/// Everything else stays as it is, so ordinary paths read as themselves.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    let mut rest = bytes;
    while !rest.is_empty() {
        let (valid, bad) = match std::str::from_utf8(rest) {
            Ok(s) => (s, 0),
            Err(e) => {
                let s = std::str::from_utf8(&rest[..e.valid_up_to()]).unwrap_or_default();
                (s, e.error_len().unwrap_or(rest.len() - e.valid_up_to()))
            }
        };
        for c in valid.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                c if c.is_ascii_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
                c => out.push(c),
            }
        }
        let at = valid.len();
        for b in &rest[at..at + bad] {
            out.push_str(&format!("\\x{b:02x}"));
        }
        rest = &rest[at + bad..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The inverse of [`encode`]; None for text `encode` cannot produce.
    pub fn decode(s: &str) -> Option<Vec<u8>> {
        let mut out = Vec::with_capacity(s.len());
        let mut it = s.bytes();
        while let Some(b) = it.next() {
            if b != b'\\' {
                out.push(b);
                continue;
            }
            match it.next()? {
                b'\\' => out.push(b'\\'),
                b'x' => {
                    let hex = [it.next()?, it.next()?];
                    out.push(u8::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()?);
                }
                _ => return None,
            }
        }
        Some(out)
    }

    #[test]
    fn names_survive_encoding() {
        let names: &[&[u8]] = &[
            b"/plain/file.txt",
            b"/x\xff",
            b"/x\xfe",
            "/x\u{fffd}".as_bytes(),
            b"/a\nb",
            b"/back\\slash",
            b"/lit\\x41",
            b"/\xe2\x82",
            b"/caf\xc3\xa9",
        ];
        let mut seen = BTreeSet::new();
        for n in names {
            let e = encode(n);
            assert!(!e.contains(['\n', '\0']), "{e}");
            assert_eq!(decode(&e).as_deref(), Some(*n), "{e}");
            assert!(seen.insert(e.clone()), "two names encode as {e}");
        }
        assert_eq!(encode(b"/x\xff"), "/x\\xff");
        assert_eq!(encode("/café".as_bytes()), "/café");
        assert_eq!(encode(b"/a\nb"), "/a\\x0ab");
        assert_eq!(decode("/bad\\q"), None);
    }
}
