//! What a profile row is: a mount namespace plus a path, kept as the raw bytes
//! the kernel gave, and how those bytes are written into the profile
//! (docs/profile-format.md: "Paths").

use std::ops::Range;

use crate::shared::{file_event, file_key, FILE_DIR, FILE_TRUNCATED, FILE_UNLINKED};

/// A file as the BPF maps key it: (mount namespace, id). The id is a path
/// hash (CO-RE strategies) or one open (legacy).
pub type Key = (u32, u64);

pub fn key(k: &file_key) -> Key {
    (k.mntns, k.id)
}

/// The kernel's form of a key (its padding is zero there too: the BPF side
/// builds keys with initializers and copies).
pub fn kernel_key(k: Key) -> file_key {
    file_key { mntns: k.0, id: k.1, ..Default::default() }
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
    /// A directory: only its fsyncs count, in the profile's `directories`.
    pub dir: bool,
    /// (dev as the kernel's s_dev, inode number), sorted, each once.
    pub inodes: Vec<(u32, u64)>,
}

/// One path event (file_event), its path in [`Names::bytes`].
struct Named {
    key: Key,
    ino: u64,
    dev: u32,
    path: Range<u32>,
    truncated: bool,
    unlinked: bool,
    dir: bool,
}

/// The names the kernel sent (CO-RE strategies): one entry per event and
/// the paths' bytes back to back, a few MB for 100k files. A key's events
/// are brought together by [`Names::finish`].
#[derive(Default)]
pub struct Names {
    events: Vec<Named>,
    bytes: Vec<u8>,
}

impl Names {
    /// Add a file_event: the path's components come leaf first, NUL-terminated each.
    pub fn add(&mut self, e: &file_event) {
        let len = (e.path_len as usize).min(e.path.len());
        let raw = &e.path[..len];
        let truncated = e.flags as u32 & FILE_TRUNCATED != 0;
        let start = self.bytes.len();
        for (i, comp) in raw.split(|c| *c == 0).filter(|c| !c.is_empty()).rev().enumerate() {
            if i > 0 || !truncated {
                self.bytes.push(b'/');
            }
            self.bytes.extend(comp.iter().map(|c| *c as u8));
        }
        if self.bytes.len() == start {
            self.bytes.push(b'/');
        }
        self.events.push(Named {
            key: key(&e.key),
            ino: e.ino,
            dev: e.dev,
            path: start as u32..self.bytes.len() as u32,
            truncated,
            unlinked: e.flags as u32 & FILE_UNLINKED != 0,
            dir: e.flags as u32 & FILE_DIR != 0,
        });
    }

    /// The last event added: (dev, inode, path).
    pub fn last(&self) -> Option<(u32, u64, &[u8])> {
        self.events.last().map(|n| (n.dev, n.ino, self.path(n)))
    }

    /// Bring each key's events together, in arrival order: the first names
    /// the file, the others add inodes. Returns how many events had another
    /// path than the first of their key: 64-bit hash collisions, which
    /// merged two rows.
    pub fn finish(&mut self) -> u64 {
        // By arrival within a key: the paths' bytes were appended in that order.
        self.events.sort_unstable_by_key(|n| (n.key, n.path.start));
        let mut collisions = 0;
        for run in self.events.chunk_by(|a, b| a.key == b.key) {
            collisions += run.iter().filter(|n| self.path(n) != self.path(&run[0])).count() as u64;
        }
        collisions
    }

    fn path(&self, n: &Named) -> &[u8] {
        &self.bytes[n.path.start as usize..n.path.end as usize]
    }

    /// The name of `k` (after [`Names::finish`]).
    pub fn get(&self, k: Key) -> Option<FileName> {
        let at = self.events.partition_point(|n| n.key < k);
        let run = &self.events[at..at + self.events[at..].partition_point(|n| n.key == k)];
        let first = run.first()?;
        let mut inodes: Vec<(u32, u64)> = run.iter().map(|n| (n.dev, n.ino)).collect();
        inodes.sort_unstable();
        inodes.dedup();
        Some(FileName {
            mntns: k.0,
            path: self.path(first).to_vec(),
            truncated: first.truncated,
            unlinked: first.unlinked,
            dir: first.dir,
            inodes,
        })
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
    use std::collections::BTreeSet;

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
