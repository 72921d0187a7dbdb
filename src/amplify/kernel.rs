//! What amplify reads from /proc: disk counters.

use std::collections::BTreeMap;

use super::report::Counts;
use crate::block::Names;

/// Every device in /proc/diskstats by kernel dev_t (major << 20 | minor):
/// its reads and writes (bytes from its 512-byte sectors).
pub fn diskstats() -> BTreeMap<u32, Counts> {
    let text = std::fs::read_to_string("/proc/diskstats").unwrap_or_default();
    text.lines().filter_map(parse_line).collect()
}

/// `major minor name reads merged sectors ms writes merged sectors ...`
fn parse_line(line: &str) -> Option<(u32, Counts)> {
    let f: Vec<&str> = line.split_whitespace().collect();
    let n = |i: usize| f.get(i)?.parse::<u64>().ok();
    let dev = crate::block::kernel_dev(n(0)? as u32, n(1)? as u32);
    Some((dev, Counts { read_ops: n(3)?, read_bytes: n(5)? * 512, write_ops: n(7)?, write_bytes: n(9)? * 512 }))
}

/// Per disk (by name) what changed from `before` to `after`; disks with no
/// change are left out.
pub fn delta(before: &BTreeMap<u32, Counts>, after: &BTreeMap<u32, Counts>) -> BTreeMap<String, Counts> {
    let mut names = Names::default();
    after
        .iter()
        .filter_map(|(dev, a)| {
            let d = a.less(before.get(dev).copied().unwrap_or_default());
            (d != Counts::default()).then(|| (names.name(*dev), d))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diskstats_line() {
        let l = "   7       0 loop0 52 0 2320 10 1034 0 8272 400 0 500 410 0 0 0 0 12 0";
        let (dev, c) = parse_line(l).unwrap();
        assert_eq!(dev, 7 << 20);
        assert_eq!(c, Counts { read_ops: 52, read_bytes: 2320 * 512, write_ops: 1034, write_bytes: 8272 * 512 });
    }
}
