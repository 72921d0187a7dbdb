//! Decoding the rwbs strings of the block tracepoints (blk_fill_rwbs()):
//! an optional `F` (preflush), the operation (`R` read, `W` write, `D` discard,
//! `DE` secure erase, `F` flush, `N` other), then flags `F` (FUA), `A`
//! (readahead), `S` (sync), `M` (metadata).

/// The rwbs bytes of a BPF struct, up to the first NUL.
pub fn from_c(raw: &[std::ffi::c_char]) -> String {
    raw.iter().take_while(|c| **c != 0).map(|c| *c as u8 as char).collect()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Op {
    Read,
    Write,
    Flush,
    Discard,
    Other,
}

impl Op {
    pub fn name(self) -> &'static str {
        match self {
            Op::Read => "read",
            Op::Write => "write",
            Op::Flush => "flush",
            Op::Discard => "discard",
            Op::Other => "other",
        }
    }

    /// biosnoop's T column.
    pub fn letter(self) -> char {
        match self {
            Op::Read => 'R',
            Op::Write => 'W',
            Op::Flush => 'F',
            Op::Discard => 'D',
            Op::Other => 'N',
        }
    }
}

/// (preflush, operation letter, flags)
fn split(rwbs: &str) -> (bool, Option<char>, &str) {
    let b = rwbs.as_bytes();
    // A leading F is the preflush flag when an operation letter follows it.
    let preflush = b.len() >= 2 && b[0] == b'F' && matches!(b[1], b'R' | b'W' | b'D' | b'N' | b'F');
    let rest = if preflush { &rwbs[1..] } else { rwbs };
    let mut chars = rest.chars();
    let op = chars.next();
    let mut flags = chars.as_str();
    if op == Some('D') {
        flags = flags.strip_prefix('E').unwrap_or(flags);
    }
    (preflush, op, flags)
}

pub fn op(rwbs: &str) -> Op {
    match split(rwbs).1 {
        Some('R') => Op::Read,
        Some('W') => Op::Write,
        Some('F') => Op::Flush,
        Some('D') => Op::Discard,
        _ => Op::Other,
    }
}

/// The flags, by name.
pub fn flags(rwbs: &str) -> Vec<&'static str> {
    let (preflush, _, rest) = split(rwbs);
    let mut out = Vec::new();
    if preflush {
        out.push("preflush");
    }
    for c in rest.chars() {
        out.push(match c {
            'F' => "fua",
            'A' => "ahead",
            'S' => "sync",
            'M' => "meta",
            _ => continue,
        });
    }
    out
}

/// The request as BCC's biolatency -F names it ("Sync-Write",
/// "Metadata-Sync-Read"): the operation, each flag prepended in BCC's order.
/// BCC has no name for a preflush; it is prepended last, as "PreFlush-".
pub fn bcc_name(rwbs: &str) -> String {
    let (preflush, op, rest) = split(rwbs);
    let mut desc = match op {
        Some('R') => "Read",
        Some('W') => "Write",
        Some('F') => "Flush",
        Some('D') if rwbs.contains("DE") => "SecureErase",
        Some('D') => "Discard",
        _ => "Unknown",
    }
    .to_string();
    for (c, name) in [('S', "Sync-"), ('M', "Metadata-"), ('F', "ForcedUnitAccess-"), ('A', "ReadAhead-")] {
        if rest.contains(c) {
            desc.insert_str(0, name);
        }
    }
    if preflush {
        desc.insert_str(0, "PreFlush-");
    }
    desc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bcc_names() {
        assert_eq!(bcc_name("WS"), "Sync-Write");
        assert_eq!(bcc_name("WSM"), "Metadata-Sync-Write");
        assert_eq!(bcc_name("FWFS"), "PreFlush-ForcedUnitAccess-Sync-Write");
        assert_eq!(bcc_name("RA"), "ReadAhead-Read");
        assert_eq!(bcc_name("R"), "Read");
        assert_eq!(bcc_name("D"), "Discard");
        assert_eq!(bcc_name("DE"), "SecureErase");
        assert_eq!(bcc_name("FF"), "PreFlush-Flush");
        assert_eq!(bcc_name("F"), "Flush");
        assert_eq!(bcc_name("N"), "Unknown");
    }

    #[test]
    fn operations_and_flags() {
        assert_eq!(op("R"), Op::Read);
        assert_eq!(op("RA"), Op::Read);
        assert_eq!(op("WS"), Op::Write);
        assert_eq!(op("FWS"), Op::Write);
        assert_eq!(op("FF"), Op::Flush);
        assert_eq!(op("F"), Op::Flush);
        assert_eq!(op("FS"), Op::Flush);
        assert_eq!(op("DE"), Op::Discard);
        assert_eq!(op("N"), Op::Other);
        assert_eq!(flags("FWFSM"), ["preflush", "fua", "sync", "meta"]);
        assert_eq!(flags("RA"), ["ahead"]);
        assert_eq!(flags("FS"), ["sync"]);
        assert!(flags("DE").is_empty());
    }
}
