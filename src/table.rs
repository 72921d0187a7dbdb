//! Text output shared by `report` and `diff`: human sizes, CSV fields,
//! aligned columns.

use std::fmt::Write as _;

/// 1536 -> "1.5K": powers of 1024.
pub fn human(v: f64) -> String {
    let units = ["", "K", "M", "G", "T", "P"];
    let mut v = v;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < units.len() {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}{}", units[i])
    }
}

/// RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Rows in columns two spaces apart: the first `left` columns aligned left
/// (names), the others right (numbers).
pub fn write_aligned(w: &mut impl std::io::Write, lines: &[Vec<String>], left: usize) -> std::io::Result<()> {
    let cols = lines.first().map_or(0, Vec::len);
    let widths: Vec<usize> = (0..cols).map(|i| lines.iter().map(|l| l[i].len()).max().unwrap_or(0)).collect();
    for l in lines {
        let mut line = String::new();
        for (i, (c, width)) in l.iter().zip(&widths).enumerate() {
            let sep = if i == 0 { "" } else { "  " };
            let _ = if i < left { write!(line, "{sep}{c:<width$}") } else { write!(line, "{sep}{c:>width$}") };
        }
        writeln!(w, "{}", line.trim_end())?;
    }
    Ok(())
}
