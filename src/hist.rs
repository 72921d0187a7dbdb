//! Power-of-two histograms as the BPF side keeps them: slot 0 holds zero,
//! slot k >= 1 holds [2^(k-1), 2^k). In profiles a histogram is a list of
//! non-empty buckets `{"lo", "hi", "count"}` with `hi` inclusive.

use std::collections::BTreeMap;

use serde::ser::{Serialize, SerializeStruct, Serializer};
use serde_json::Value;

/// Inclusive value range of a slot.
pub fn slot_range(slot: u32) -> (u64, u64) {
    match slot {
        0 => (0, 0),
        64.. => (1 << 63, u64::MAX),
        k => (1 << (k - 1), (1 << k) - 1),
    }
}

/// The slot a value falls in (the same function as log2_slot() in the BPF code).
pub fn slot_of(v: u64) -> u32 {
    if v == 0 {
        0
    } else {
        64 - v.leading_zeros()
    }
}

/// Sparse histogram: slot -> count.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Hist(pub BTreeMap<u32, u64>);

impl Hist {
    pub fn add(&mut self, slot: u32, count: u64) {
        *self.0.entry(slot).or_default() += count;
    }

    pub fn merge(&mut self, other: &Hist) {
        for (s, c) in &other.0 {
            self.add(*s, *c);
        }
    }

    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }

    /// The most common bucket.
    pub fn mode(&self) -> Option<u32> {
        self.0.iter().filter(|(_, c)| **c > 0).max_by_key(|(s, c)| (**c, std::cmp::Reverse(**s))).map(|(s, _)| *s)
    }

    /// The slot holding quantile `q` (0..1) of the values: None if empty.
    pub fn quantile_slot(&self, q: f64) -> Option<u32> {
        let total = self.total();
        let rank = ((q * total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        self.0
            .iter()
            .find(|(_, n)| {
                seen += **n;
                seen >= rank
            })
            .map(|(s, _)| *s)
            .filter(|_| total > 0)
    }

    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).expect("a histogram is plain JSON")
    }

    /// BCC's log2 histogram display: one row per slot from the lowest to the
    /// highest non-empty one, `unit` naming the values.
    pub fn ascii(&self, unit: &str) -> String {
        // BCC's print_log2_hist layout, so that its users can diff and grep
        // ours: rows from "0 -> 1" (slot 1, which BCC labels so; slot 0,
        // values of 0, is counted there too) to the highest non-empty slot,
        // counts 8 wide, 40 stars (20 and wider columns past slot 32).
        let Some(&top) = self.0.iter().filter(|(_, n)| **n > 0).map(|(s, _)| s).max() else {
            return String::new();
        };
        let top = top.max(1);
        let count = |slot: u32| {
            self.0.get(&slot).copied().unwrap_or(0) + if slot == 1 { self.0.get(&0).copied().unwrap_or(0) } else { 0 }
        };
        let max = (1..=top).map(count).max().unwrap_or(0).max(1);
        let (width, stars): (usize, usize) = if top <= 32 { (10, 40) } else { (20, 20) };
        let mut s = if top <= 32 {
            format!("     {unit:<19} : count     distribution\n")
        } else {
            format!("               {unit:<29} : count     distribution\n")
        };
        for slot in 1..=top {
            let n = count(slot);
            let (lo, hi) = slot_range(slot);
            let lo = if lo == hi { lo - 1 } else { lo };
            let bar = "*".repeat((n * stars as u64 / max) as usize);
            s += &format!("{lo:>width$} -> {hi:<width$} : {n:<8} |{bar:<stars$}|\n");
        }
        s
    }

    /// Parse the profile form; None if it is not a list of buckets at slot boundaries.
    pub fn from_json(v: &Value) -> Option<Hist> {
        let mut h = Hist::default();
        for b in v.as_array()? {
            let (lo, hi, count) = (b["lo"].as_u64()?, b["hi"].as_u64()?, b["count"].as_u64()?);
            let slot = slot_of(lo);
            if slot_range(slot) != (lo, hi) {
                return None;
            }
            h.add(slot, count);
        }
        Some(h)
    }
}

/// The profile form, written without building a JSON tree.
impl Serialize for Hist {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().filter(|(_, c)| **c > 0).map(|(slot, count)| Bucket { slot: *slot, count: *count }))
    }
}

struct Bucket {
    slot: u32,
    count: u64,
}

impl Serialize for Bucket {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (lo, hi) = slot_range(self.slot);
        // Sorted members, as serde_json's maps have always written them.
        let mut m = s.serialize_struct("bucket", 3)?;
        m.serialize_field("count", &self.count)?;
        m.serialize_field("hi", &hi)?;
        m.serialize_field("lo", &lo)?;
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn slots_partition_u64() {
        assert_eq!(slot_range(0), (0, 0));
        assert_eq!(slot_range(1), (1, 1));
        assert_eq!(slot_range(13), (4096, 8191));
        assert_eq!(slot_range(64), (1 << 63, u64::MAX));
        for v in [0u64, 1, 2, 3, 4095, 4096, 8191, 8192, u64::MAX] {
            let (lo, hi) = slot_range(slot_of(v));
            assert!(lo <= v && v <= hi, "{v}");
        }
    }

    #[test]
    fn ascii_is_bccs_layout() {
        let mut h = Hist::default();
        h.add(slot_of(100), 4);
        h.add(slot_of(1000), 2);
        h.add(0, 1);
        let text = h.ascii("usecs");
        let rows: Vec<&str> = text.lines().collect();
        // BCC biolatency's own output, from "0 -> 1" up, empty buckets included.
        assert_eq!(rows[0], "     usecs               : count     distribution");
        assert_eq!(rows[1], format!("         0 -> 1          : 1        |{:<40}|", "*".repeat(10)));
        assert_eq!(rows[2], format!("         2 -> 3          : 0        |{:<40}|", ""));
        assert_eq!(rows[7], format!("        64 -> 127        : 4        |{}|", "*".repeat(40)));
        assert_eq!(rows[10], format!("       512 -> 1023       : 2        |{:<40}|", "*".repeat(20)));
        assert_eq!(rows.len(), 11, "{text}");
        assert!(Hist::default().ascii("usecs").is_empty());
    }

    #[test]
    fn quantiles_are_slots() {
        let mut h = Hist::default();
        h.add(10, 50);
        h.add(12, 49);
        h.add(20, 1);
        assert_eq!(h.quantile_slot(0.5), Some(10));
        assert_eq!(h.quantile_slot(0.51), Some(12));
        assert_eq!(h.quantile_slot(0.99), Some(12));
        assert_eq!(h.quantile_slot(1.0), Some(20));
        assert_eq!(Hist::default().quantile_slot(0.5), None);
    }

    #[test]
    fn json_round_trip() {
        let mut h = Hist::default();
        h.add(13, 2048);
        h.add(0, 3);
        assert_eq!(Hist::from_json(&h.to_json()), Some(h.clone()));
        assert_eq!(h.to_json()[1], json!({"lo": 4096, "hi": 8191, "count": 2048}));
        assert_eq!(Hist::from_json(&json!([{"lo": 5, "hi": 9, "count": 1}])), None);
    }
}
