//! Block I/O heat maps as standalone SVG 1.1 documents: no scripts and no
//! external references, so a map can be attached to a ticket or mailed and
//! still opens in any browser.
//!
//! Both maps share one layout. Time runs along x in at most 100 columns whose
//! width is 1, 2 or 5 x 10^k ns, so that column edges fall on round times.
//! Rows, and what colours a cell, differ:
//! - [`offset_map`]: rows are power-of-two slices of the disk and a cell's
//!   colour is the mean latency of its requests: where slow I/O lands, and when.
//! - [`latency_map`]: rows are log2 latency buckets and a cell's colour is its
//!   request count: the latency distribution over time, which shows the modes
//!   (cache hits, media, queued writes) that one mean hides.
//!
//! Only cells with requests are drawn, so a document grows with the number of
//! busy cells, not with the number of requests.

use super::rwbs::Op;
use std::fmt::{self, Write as _};

/// One completed block request.
pub struct Sample {
    /// Completion time, monotonic ns.
    pub t_ns: u64,
    /// First sector, in 512-byte units.
    pub sector: u64,
    /// Issue to completion.
    pub lat_ns: u64,
    pub op: Op,
}

pub struct Meta<'a> {
    /// e.g. "vda" or "loop0"
    pub disk: &'a str,
    /// Device size in 512-byte sectors (0 = unknown: use max sector seen).
    pub disk_sectors: u64,
    /// Window start (monotonic ns); x axis is seconds since start.
    pub start_ns: u64,
    /// Window end.
    pub end_ns: u64,
    /// e.g. "iotrace heatmap --offset vda, 10 s"
    pub title: &'a str,
}

/// Offset heat map: x = time, y = disk offset (sector bins, axis labelled in GiB/MiB),
/// cell colour = mean latency of requests in that cell (empty cells not drawn), with a colour legend in ms.
pub fn offset_map(samples: &[Sample], meta: &Meta) -> String {
    let Some(win) = Window::new(samples, meta) else {
        return empty_document(meta);
    };
    // Requests are placed by their first sector; one past the highest first
    // sector seen keeps every request inside the axis even if `disk_sectors`
    // is unknown or smaller than the device the sectors count in.
    let extent = win.samples.iter().map(|s| s.sector.saturating_add(1)).max().unwrap_or(1).max(meta.disk_sectors);
    let row_sectors = extent.div_ceil(MAX_OFFSET_ROWS).next_power_of_two();
    let rows = extent.div_ceil(row_sectors);
    let grid = Grid::fill(&win, rows as usize, |s| (s.sector / row_sectors) as usize);
    let axis_bytes = (rows as f64) * (row_sectors as f64) * 512.0;
    let chart = Chart {
        meta,
        win: &win,
        y: linear_axis("disk offset", axis_bytes, extent as f64 * 512.0, BYTE_UNITS, PLOT_H),
        row_size: fmt_quantity(row_sectors as f64 * 512.0, BYTE_UNITS),
        measure: Measure::MeanLatency,
        grid,
    };
    chart.render()
}

/// Latency heat map: x = time, y = log2 latency bucket (labels like 64us, 128us, 1ms...),
/// cell colour = number of requests in that cell, legend with counts.
pub fn latency_map(samples: &[Sample], meta: &Meta) -> String {
    let Some(win) = Window::new(samples, meta) else {
        return empty_document(meta);
    };
    let slots = win.samples.iter().map(|s| latency_slot(s.lat_ns));
    let (lo, hi) = (slots.clone().min().unwrap_or(0), slots.max().unwrap_or(0));
    let grid = Grid::fill(&win, (hi - lo + 1) as usize, |s| (latency_slot(s.lat_ns) - lo) as usize);
    let chart = Chart {
        meta,
        win: &win,
        y: latency_axis(lo, hi),
        row_size: "log2 latency".to_string(),
        measure: Measure::Requests,
        grid,
    };
    chart.render()
}

/// Time columns at most; with the plot [`PLOT_W`] px wide a column keeps >= 8 px.
const MAX_COLS: f64 = 100.0;
/// Offset rows at most. Rows are power-of-two slices of the disk, so a map has 33 to 64.
const MAX_OFFSET_ROWS: u64 = 64;
/// Ticks at most on a linear axis.
const MAX_TICKS: f64 = 10.0;
/// A colour range at least this wide (max / min) is drawn on a log scale:
/// on a linear one a few hot cells would leave all others the same colour.
const LOG_RANGE: f64 = 20.0;

const WIDTH: u32 = 1060;
const HEIGHT: u32 = 660;
const PLOT_X: u32 = 96;
const PLOT_Y: u32 = 64;
const PLOT_W: u32 = 800;
const PLOT_H: u32 = 512;
const LEGEND_X: u32 = PLOT_X + PLOT_W + 28;
const LEGEND_W: u32 = 14;
/// Closest two labels along an axis or the legend may be, in px (12 px text).
const LABEL_GAP: f64 = 16.0;

pub(crate) const STYLE: &str = "text{font-family:'DejaVu Sans',Verdana,Arial,sans-serif;font-size:12px;fill:#222}\
.h{font-size:16px;font-weight:bold}.s{fill:#555}.e{text-anchor:end}.m{text-anchor:middle}\
line{stroke:#444}.g{stroke:#e4e4e4}";

/// viridis at 9 evenly spaced points: perceptually uniform, legible to the
/// colour-blind and in greyscale. Dark is low, yellow is high.
const VIRIDIS: [[u8; 3]; 9] = [
    [0x44, 0x01, 0x54],
    [0x47, 0x2d, 0x7b],
    [0x3b, 0x52, 0x8b],
    [0x2c, 0x72, 0x8e],
    [0x21, 0x90, 0x8c],
    [0x27, 0xad, 0x81],
    [0x5d, 0xc8, 0x63],
    [0xaa, 0xdc, 0x32],
    [0xfd, 0xe7, 0x25],
];

/// A unit of an axis or a quantity: its name and its size in base units (ns, bytes).
type Unit = (&'static str, f64);

const TIME_UNITS: &[Unit] = &[("ns", 1.0), ("us", 1e3), ("ms", 1e6), ("s", 1e9)];
const BYTE_UNITS: &[Unit] =
    &[("B", 1.0), ("KiB", 1024.0), ("MiB", 1_048_576.0), ("GiB", 1_073_741_824.0), ("TiB", 1_099_511_627_776.0)];

/// The largest unit that `v` is at least one of (the smallest if none).
fn pick_unit(units: &[Unit], v: f64) -> Unit {
    units.iter().rev().find(|u| v >= u.1).copied().unwrap_or(units[0])
}

/// "256 MiB", "100 ms".
fn fmt_quantity(v: f64, units: &[Unit]) -> String {
    let (name, size) = pick_unit(units, v);
    format!("{} {name}", sig3(v / size))
}

/// At most three significant digits, no exponent, no trailing zeros.
fn sig3(v: f64) -> String {
    let magnitude = if v == 0.0 { 0 } else { v.abs().log10().floor() as i32 };
    let s = format!("{v:.*}", (2 - magnitude).clamp(0, 9) as usize);
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// The smallest of 1, 2, 5 x 10^k that cuts `range` into at most `max_parts` parts.
fn nice_step(range: f64, max_parts: f64) -> f64 {
    let raw = range / max_parts;
    let base = 10f64.powi(raw.log10().floor() as i32);
    [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * base).find(|s| *s >= raw).unwrap_or(10.0 * base)
}

/// Log2 latency bucket, as the BPF histograms count: bucket 0 holds < 1 us,
/// bucket k >= 1 holds [2^(k-1), 2^k) us.
fn latency_slot(lat_ns: u64) -> u32 {
    64 - (lat_ns / 1000).leading_zeros()
}

/// Lower edge of a latency bucket in us.
fn slot_floor_us(slot: u32) -> u64 {
    match slot {
        0 => 0,
        k => 1 << (k - 1),
    }
}

/// A power-of-two number of us in binary steps, as log2 histograms are
/// usually read: 1024us is "1ms", 2^20 us is "1s".
fn fmt_pow2_us(us: u64) -> String {
    match us {
        0 => "0".to_string(),
        1..=1023 => format!("{us}us"),
        1024..=1_048_575 => format!("{}ms", us >> 10),
        _ => format!("{}s", us >> 20),
    }
}

/// Text for XML content and attribute values. Characters XML 1.0 does not
/// allow (most controls) are dropped: a title could come from a user's tty.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c < ' ' || c == '\u{fffe}' || c == '\u{ffff}' => {}
            c => out.push(c),
        }
    }
    out
}

/// A coordinate to 0.1 px: enough for a screen, and no 15-digit floats.
struct Px(f64);

impl fmt::Display for Px {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        // + 0.0 turns -0 into 0.
        write!(f, "{}", (self.0 * 10.0).round() / 10.0 + 0.0)
    }
}

/// A `class` attribute, or nothing for the default style.
struct Class<'a>(&'a str);

impl fmt::Display for Class<'_> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self.0 {
            "" => Ok(()),
            c => write!(f, " class=\"{c}\""),
        }
    }
}

/// The samples inside the window and the time columns that cut it.
struct Window<'s> {
    samples: Vec<&'s Sample>,
    /// Samples that completed outside the window, left out of the map.
    outside: usize,
    start_ns: u64,
    span_ns: u64,
    col_ns: u64,
    cols: usize,
}

impl<'s> Window<'s> {
    /// None when no sample completed in the window.
    fn new(samples: &'s [Sample], meta: &Meta) -> Option<Window<'s>> {
        let inside: Vec<&Sample> = samples.iter().filter(|s| (meta.start_ns..=meta.end_ns).contains(&s.t_ns)).collect();
        if inside.is_empty() {
            return None;
        }
        let span_ns = (meta.end_ns - meta.start_ns).max(1);
        let col_ns = (nice_step(span_ns as f64, MAX_COLS) as u64).max(1);
        Some(Window {
            outside: samples.len() - inside.len(),
            samples: inside,
            start_ns: meta.start_ns,
            span_ns,
            col_ns,
            cols: span_ns.div_ceil(col_ns) as usize,
        })
    }

    /// Seconds (or ms, us) since the start of the window.
    fn axis(&self) -> Axis {
        let extent = self.cols as f64 * self.col_ns as f64;
        linear_axis("time", extent, self.span_ns as f64, TIME_UNITS, PLOT_W)
    }

    /// A sample at the very end of the window goes in the last column.
    fn col(&self, s: &Sample) -> usize {
        (((s.t_ns - self.start_ns) / self.col_ns) as usize).min(self.cols - 1)
    }
}

/// The requests that fell in one cell.
#[derive(Clone, Copy, Default)]
struct Cell {
    requests: u64,
    lat_sum_ns: u128,
}

/// What a cell's colour stands for.
#[derive(Clone, Copy)]
enum Measure {
    MeanLatency,
    Requests,
}

impl Measure {
    fn of(self, c: &Cell) -> f64 {
        match self {
            Measure::MeanLatency => c.lat_sum_ns as f64 / c.requests as f64 / 1e6,
            Measure::Requests => c.requests as f64,
        }
    }

    fn legend_title(self) -> &'static str {
        match self {
            Measure::MeanLatency => "mean latency (ms)",
            Measure::Requests => "requests per cell",
        }
    }

    /// The finest step between legend labels: there are no fractional requests.
    fn resolution(self) -> f64 {
        match self {
            Measure::MeanLatency => 0.0,
            Measure::Requests => 1.0,
        }
    }
}

/// Cells by column and row; row 0 is at the bottom of the plot.
struct Grid {
    cols: usize,
    rows: usize,
    cells: Vec<Cell>,
}

impl Grid {
    fn fill(win: &Window, rows: usize, row_of: impl Fn(&Sample) -> usize) -> Grid {
        let mut grid = Grid { cols: win.cols, rows, cells: vec![Cell::default(); win.cols * rows] };
        for s in &win.samples {
            let cell = &mut grid.cells[row_of(s) * win.cols + win.col(s)];
            cell.requests += 1;
            cell.lat_sum_ns += u128::from(s.lat_ns);
        }
        grid
    }

    /// (column, row, cell) of every cell with requests.
    fn occupied(&self) -> impl Iterator<Item = (usize, usize, &Cell)> {
        self.cells.iter().enumerate().filter(|(_, c)| c.requests > 0).map(|(i, c)| (i % self.cols, i / self.cols, c))
    }
}

/// A labelled position along an axis, 0 at its start and 1 at its end.
struct Tick {
    at: f64,
    label: String,
}

struct Axis {
    title: String,
    ticks: Vec<Tick>,
}

/// An axis over 0..=`extent` (in the units' base: ns, bytes) with ticks every
/// nice step up to `last`, the end of the data (the axis may overrun it by
/// less than a bin).
fn linear_axis(name: &str, extent: f64, last: f64, units: &[Unit], len_px: u32) -> Axis {
    let (unit, size) = pick_unit(units, last);
    let max_ticks = MAX_TICKS.min(f64::from(len_px) / (4.0 * LABEL_GAP));
    let step = nice_step(last / size, max_ticks);
    let decimals = (-step.log10().floor()).max(0.0) as usize;
    let ticks = (0..)
        .map(|i| f64::from(i) * step)
        .take_while(|v| v * size <= last * (1.0 + 1e-9))
        .map(|v| Tick { at: v * size / extent, label: format!("{v:.decimals$}") })
        .collect();
    Axis { title: format!("{name} ({unit})"), ticks }
}

/// Bucket edges from bucket `lo` to `hi`, thinned out so that labels do not touch.
fn latency_axis(lo: u32, hi: u32) -> Axis {
    let rows = hi - lo + 1;
    let stride = (LABEL_GAP * f64::from(rows) / f64::from(PLOT_H)).ceil().max(1.0) as u32;
    let ticks = (lo..=hi + 1)
        .filter(|edge| edge % stride == 0)
        .map(|edge| Tick { at: f64::from(edge - lo) / f64::from(rows), label: fmt_pow2_us(slot_floor_us(edge)) })
        .collect();
    Axis { title: "latency (log2 buckets, 1ms = 1024us)".to_string(), ticks }
}

/// Maps cell values to 0..=1 along the colour ramp.
struct Scale {
    lo: f64,
    hi: f64,
    log: bool,
    /// The finest step between round values (1 for counts, 0 for none).
    resolution: f64,
}

impl Scale {
    fn of(values: impl Iterator<Item = f64>, resolution: f64) -> Scale {
        let (lo, mut hi) = values.fold((f64::INFINITY, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
        if hi <= lo {
            // One value: put it at the dark end, which stands out on white.
            hi = if lo > 0.0 { 2.0 * lo } else { 1.0 };
        }
        Scale { lo, hi, log: lo > 0.0 && hi / lo >= LOG_RANGE, resolution }
    }

    /// Both ends, and the round values between that leave room for their labels.
    fn labels(&self) -> Vec<f64> {
        let px = |v: f64| self.fraction(v) * f64::from(PLOT_H);
        let mut labels = vec![self.lo, self.hi];
        let mut last = px(self.lo);
        for v in self.inner_ticks() {
            if px(v) - last >= LABEL_GAP && px(self.hi) - px(v) >= LABEL_GAP {
                last = px(v);
                labels.push(v);
            }
        }
        labels
    }

    fn fraction(&self, v: f64) -> f64 {
        let f =
            if self.log { (v / self.lo).ln() / (self.hi / self.lo).ln() } else { (v - self.lo) / (self.hi - self.lo) };
        f.clamp(0.0, 1.0)
    }

    /// Round values strictly inside the range: 1, 2, 5 x 10^k on a log
    /// scale (only 10^k beyond three decades), multiples of a nice step on a
    /// linear one.
    fn inner_ticks(&self) -> Vec<f64> {
        let inside = |v: &f64| *v > self.lo && *v < self.hi;
        if self.log {
            let (first, last) = (self.lo.log10().floor() as i32, self.hi.log10().ceil() as i32);
            let mantissas: &[f64] = if self.hi / self.lo > 1e3 { &[1.0] } else { &[1.0, 2.0, 5.0] };
            (first..=last).flat_map(|e| mantissas.iter().map(move |m| m * 10f64.powi(e))).filter(inside).collect()
        } else {
            let step = nice_step(self.hi - self.lo, 6.0).max(self.resolution);
            let first = (self.lo / step).floor() as i64;
            (first..).map(|i| i as f64 * step).skip_while(|v| *v <= self.lo).take_while(|v| *v < self.hi).collect()
        }
    }
}

/// "#rrggbb" at `f` (0..=1) along [`VIRIDIS`], interpolated in sRGB as SVG
/// gradients are, so that cells match the legend.
fn colour(f: f64) -> String {
    let pos = f.clamp(0.0, 1.0) * (VIRIDIS.len() - 1) as f64;
    let i = (pos.floor() as usize).min(VIRIDIS.len() - 2);
    let t = pos - i as f64;
    let (a, b) = (VIRIDIS[i], VIRIDIS[i + 1]);
    let mix = |k: usize| (f64::from(a[k]) + (f64::from(b[k]) - f64::from(a[k])) * t).round() as u8;
    format!("#{:02x}{:02x}{:02x}", mix(0), mix(1), mix(2))
}

/// A map ready to draw: what differs between the offset and the latency map.
struct Chart<'a> {
    meta: &'a Meta<'a>,
    win: &'a Window<'a>,
    grid: Grid,
    y: Axis,
    /// The height of a row, for the summary: "256 MiB".
    row_size: String,
    measure: Measure,
}

impl Chart<'_> {
    fn render(&self) -> String {
        let x = self.win.axis();
        let m = self.measure;
        let scale = Scale::of(self.grid.occupied().map(|(_, _, c)| m.of(c)), m.resolution());
        let mut svg = Svg::new(self.meta.title);
        svg.grid_lines(&x, &self.y);
        svg.cells(&self.grid, |c| colour(scale.fraction(m.of(c))));
        svg.axes(&x, &self.y);
        svg.legend(m.legend_title(), &scale);
        svg.footer(&self.summary());
        svg.finish()
    }

    /// "vda (20 GiB), 10 s: requests 1200 (reads 1000, writes 200); cells 100 ms x 256 MiB",
    /// discards and other requests (flushes) counted apart where there are any.
    fn summary(&self) -> String {
        let count = |op: Op| self.win.samples.iter().filter(|s| s.op == op).count();
        let (reads, writes, discards) = (count(Op::Read), count(Op::Write), count(Op::Discard));
        let other = self.win.samples.len() - reads - writes - discards;
        let mut kinds = format!("reads {reads}, writes {writes}");
        if discards > 0 {
            let _ = write!(kinds, ", discards {discards}");
        }
        if other > 0 {
            let _ = write!(kinds, ", other {other}");
        }
        let mut s = format!(
            "{}: requests {} ({kinds}); cells {} \u{d7} {}",
            disk_and_window(self.meta),
            self.win.samples.len(),
            fmt_quantity(self.win.col_ns as f64, TIME_UNITS),
            self.row_size,
        );
        if self.win.outside > 0 {
            let _ = write!(s, "; not shown: {} outside the window", self.win.outside);
        }
        s
    }
}

/// "vda (20 GiB), 10 s", without the size when it is unknown.
fn disk_and_window(meta: &Meta) -> String {
    let window = fmt_quantity(meta.end_ns.saturating_sub(meta.start_ns) as f64, TIME_UNITS);
    match meta.disk_sectors {
        0 => format!("{}, {window}", meta.disk),
        n => format!("{} ({}), {window}", meta.disk, fmt_quantity(n as f64 * 512.0, BYTE_UNITS)),
    }
}

/// The document for a window without requests: the frame and a message, so
/// that a tool run that saw no I/O still leaves a readable file.
fn empty_document(meta: &Meta) -> String {
    let mut svg = Svg::new(meta.title);
    svg.frame();
    svg.text(PLOT_X + PLOT_W / 2, PLOT_Y + PLOT_H / 2, "m s", "no completed requests in the window");
    svg.footer(&disk_and_window(meta));
    svg.finish()
}

/// An SVG document being written, in the fixed layout of both maps.
struct Svg(String);

impl Svg {
    fn new(title: &str) -> Svg {
        let mut svg = Svg(String::with_capacity(16 * 1024));
        let _ = write!(
            svg.0,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"{WIDTH}\" height=\"{HEIGHT}\" viewBox=\"0 0 {WIDTH} {HEIGHT}\">\n\
             <title>{}</title>\n<style>{STYLE}</style>\n\
             <rect width=\"{WIDTH}\" height=\"{HEIGHT}\" fill=\"#fff\"/>\n",
            escape(title)
        );
        svg.text(PLOT_X, PLOT_Y / 2, "h", title);
        svg
    }

    fn finish(mut self) -> String {
        self.0.push_str("</svg>\n");
        self.0
    }

    fn text(&mut self, x: impl Into<f64>, y: impl Into<f64>, class: &str, s: &str) {
        let _ = writeln!(
            self.0,
            "<text x=\"{}\" y=\"{}\"{}>{}</text>",
            Px(x.into()),
            Px(y.into()),
            Class(class),
            escape(s)
        );
    }

    fn line(&mut self, x1: impl Into<f64>, y1: impl Into<f64>, x2: impl Into<f64>, y2: impl Into<f64>, class: &str) {
        let (x1, y1, x2, y2) = (Px(x1.into()), Px(y1.into()), Px(x2.into()), Px(y2.into()));
        let _ = writeln!(self.0, "<line x1=\"{x1}\" y1=\"{y1}\" x2=\"{x2}\" y2=\"{y2}\"{}/>", Class(class));
    }

    /// Faint lines at the ticks, drawn first so that they show only through empty cells.
    fn grid_lines(&mut self, x: &Axis, y: &Axis) {
        for t in &x.ticks {
            let px = x_px(t.at);
            self.line(px, PLOT_Y, px, PLOT_Y + PLOT_H, "g");
        }
        for t in &y.ticks {
            let py = y_px(t.at);
            self.line(PLOT_X, py, PLOT_X + PLOT_W, py, "g");
        }
    }

    /// One rectangle per busy cell, on whole pixels so that neighbours
    /// neither overlap nor leave hairline gaps.
    fn cells(&mut self, grid: &Grid, fill: impl Fn(&Cell) -> String) {
        let edge = |i: usize, n: usize, len: u32| (i * len as usize + n / 2) / n;
        self.0.push_str("<g shape-rendering=\"crispEdges\">\n");
        for (col, row, cell) in grid.occupied() {
            let x = PLOT_X as usize + edge(col, grid.cols, PLOT_W);
            let w = edge(col + 1, grid.cols, PLOT_W) - edge(col, grid.cols, PLOT_W);
            let bottom = (PLOT_Y + PLOT_H) as usize;
            let y = bottom - edge(row + 1, grid.rows, PLOT_H);
            let h = edge(row + 1, grid.rows, PLOT_H) - edge(row, grid.rows, PLOT_H);
            let _ =
                writeln!(self.0, "<rect x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{h}\" fill=\"{}\"/>", fill(cell));
        }
        self.0.push_str("</g>\n");
    }

    fn frame(&mut self) {
        let _ = writeln!(self.0, "<rect x=\"{PLOT_X}\" y=\"{PLOT_Y}\" width=\"{PLOT_W}\" height=\"{PLOT_H}\" fill=\"none\" stroke=\"#444\"/>");
    }

    /// The frame, tick marks, tick labels and axis titles.
    fn axes(&mut self, x: &Axis, y: &Axis) {
        self.frame();
        let bottom = PLOT_Y + PLOT_H;
        for t in &x.ticks {
            let px = x_px(t.at);
            self.line(px, bottom, px, bottom + 5, "");
            self.text(px, bottom + 19, "m", &t.label);
        }
        for t in &y.ticks {
            let py = y_px(t.at);
            self.line(PLOT_X - 5, py, PLOT_X, py, "");
            self.text(PLOT_X - 8, py + 4.0, "e", &t.label);
        }
        self.text(PLOT_X + PLOT_W / 2, bottom + 40, "m", &x.title);
        let (tx, ty) = (PLOT_X - 62, PLOT_Y + PLOT_H / 2);
        let _ = writeln!(
            self.0,
            "<text transform=\"rotate(-90 {tx} {ty})\" x=\"{tx}\" y=\"{ty}\" class=\"m\">{}</text>",
            escape(&y.title)
        );
    }

    /// A vertical gradient bar beside the plot, labelled at both ends and at
    /// round values between, with the scale's kind under it.
    fn legend(&mut self, title: &str, scale: &Scale) {
        self.0.push_str("<defs><linearGradient id=\"ramp\" x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\">");
        for i in 0..VIRIDIS.len() {
            let f = i as f64 / (VIRIDIS.len() - 1) as f64;
            let _ = write!(self.0, "<stop offset=\"{}\" stop-color=\"{}\"/>", Px(f), colour(f));
        }
        self.0.push_str("</linearGradient></defs>\n");
        let _ = writeln!(self.0, "<rect x=\"{LEGEND_X}\" y=\"{PLOT_Y}\" width=\"{LEGEND_W}\" height=\"{PLOT_H}\" fill=\"url(#ramp)\" stroke=\"#444\"/>");
        self.text(LEGEND_X, PLOT_Y - 16, "", title);
        let right = LEGEND_X + LEGEND_W;
        for v in scale.labels() {
            let y = y_px(scale.fraction(v));
            self.line(right, y, right + 4, y, "");
            self.text(right + 7, y + 4.0, "", &sig3(v));
        }
        self.text(LEGEND_X, PLOT_Y + PLOT_H + 19, "s", if scale.log { "log scale" } else { "linear scale" });
    }

    fn footer(&mut self, summary: &str) {
        self.text(PLOT_X, HEIGHT - 14, "s", summary);
    }
}

/// x of a position along the time axis.
fn x_px(at: f64) -> f64 {
    f64::from(PLOT_X) + at * f64::from(PLOT_W)
}

/// y of a position along a y axis, which grows upwards.
fn y_px(at: f64) -> f64 {
    f64::from(PLOT_Y + PLOT_H) - at * f64::from(PLOT_H)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    fn meta(disk_sectors: u64) -> Meta<'static> {
        Meta { disk: "vda", disk_sectors, start_ns: 5 * S, end_ns: 15 * S, title: "t" }
    }

    fn sample(t_ns: u64, sector: u64, lat_ns: u64) -> Sample {
        Sample { t_ns, sector, lat_ns, op: Op::Read }
    }

    /// (x, y, width, height) of every drawn cell.
    fn cells(svg: &str) -> Vec<(u32, u32, u32, u32)> {
        let attr = |r: &str, name: &str| -> u32 {
            let v = &r[r.find(&format!(" {name}=\"")).unwrap() + name.len() + 3..];
            v[..v.find('"').unwrap()].parse().unwrap()
        };
        svg.lines()
            .filter(|l| l.starts_with("<rect x=") && l.contains("fill=\"#") && !l.contains("stroke"))
            .map(|r| (attr(r, "x"), attr(r, "y"), attr(r, "width"), attr(r, "height")))
            .collect()
    }

    #[test]
    fn nice_steps() {
        assert_eq!(nice_step(10e9, 100.0), 1e8);
        assert_eq!(nice_step(60e9, 100.0), 1e9);
        assert_eq!(nice_step(7.0, 10.0), 1.0);
        assert_eq!(nice_step(12.0, 10.0), 2.0);
        assert_eq!(nice_step(40.0, 10.0), 5.0);
        assert!((nice_step(1.5, 8.0) - 0.2).abs() < 1e-12);
    }

    #[test]
    fn time_columns_are_nice_and_at_most_100() {
        for (span, col) in [(10 * S, 100_000_000), (60 * S, S), (S, 10_000_000), (3 * S / 2, 20_000_000), (1, 1)] {
            let m = Meta { end_ns: 5 * S + span, ..meta(0) };
            let s = [sample(5 * S, 0, 1)];
            let w = Window::new(&s, &m).unwrap();
            assert_eq!(w.col_ns, col, "span {span}");
            assert!(w.cols <= 100);
        }
    }

    #[test]
    fn log2_buckets() {
        assert_eq!(latency_slot(999), 0);
        assert_eq!(latency_slot(1_000), 1);
        assert_eq!(latency_slot(1_999), 1);
        assert_eq!(latency_slot(64_000), 7);
        assert_eq!(latency_slot(127_999), 7);
        assert_eq!(slot_floor_us(7), 64);
        assert_eq!(fmt_pow2_us(slot_floor_us(7)), "64us");
        assert_eq!(fmt_pow2_us(1024), "1ms");
        assert_eq!(fmt_pow2_us(1 << 21), "2s");
        assert_eq!(fmt_pow2_us(0), "0");
    }

    #[test]
    fn latency_labels_do_not_touch() {
        for (lo, hi) in [(0, 54), (3, 40), (10, 30), (7, 7)] {
            let axis = latency_axis(lo, hi);
            assert!(axis.ticks.windows(2).all(|w| (w[1].at - w[0].at) * f64::from(PLOT_H) >= LABEL_GAP));
            assert!(axis.ticks.len() >= 2);
        }
    }

    #[test]
    fn offset_sample_lands_in_its_cell() {
        // 64 GiB disk: 64 rows of 1 GiB; 10 s window: 100 columns of 8 px, rows of 8 px.
        let m = meta(64 << 21);
        let s = [sample(5 * S + 2_350_000_000, (10 << 21) + 7, 3_000_000)];
        let svg = offset_map(&s, &m);
        // column 23, row 10 from the bottom
        assert_eq!(cells(&svg), [(PLOT_X + 23 * 8, PLOT_Y + PLOT_H - 11 * 8, 8, 8)]);
        assert!(svg.contains("cells 100 ms \u{d7} 1 GiB"));
        assert!(svg.contains(">disk offset (GiB)<"));
    }

    #[test]
    fn latency_sample_lands_in_its_cell() {
        let m = meta(0);
        // buckets 4us..8us (slot 3) up to 1ms..2ms (slot 11): 9 rows
        let s = [sample(5 * S, 0, 5_000), sample(15 * S, 0, 1_500_000), sample(15 * S, 0, 1_600_000)];
        let svg = latency_map(&s, &m);
        let h = |row: u32| (row * PLOT_H + 4) / 9;
        let bottom = PLOT_Y + PLOT_H;
        assert_eq!(cells(&svg), [(PLOT_X, bottom - h(1), 8, h(1)), (PLOT_X + 99 * 8, PLOT_Y, 8, h(9) - h(8))]);
        assert!(svg.contains(">4us<") && svg.contains(">1ms<") && svg.contains(">2ms<"));
    }

    #[test]
    fn one_rect_per_busy_cell() {
        let s: Vec<Sample> = (0..1000).map(|i| sample(5 * S + i % 10 * S, 0, 100_000)).collect();
        assert_eq!(cells(&latency_map(&s, &meta(0))).len(), 10);
    }

    #[test]
    fn samples_outside_the_window_are_left_out() {
        let s = [sample(S, 0, 1), sample(6 * S, 0, 1), sample(16 * S, 0, 1)];
        let svg = offset_map(&s, &meta(0));
        assert_eq!(cells(&svg).len(), 1);
        assert!(svg.contains("vda, 10 s: requests 1 (reads 1, writes 0);") && svg.contains("not shown: 2 outside"));
    }

    #[test]
    fn wide_ranges_get_a_log_scale() {
        assert!(Scale::of([1.0, 500.0].into_iter(), 1.0).log);
        assert!(!Scale::of([2.0, 30.0].into_iter(), 1.0).log);
        let s = Scale::of([0.05, 20.0].into_iter(), 0.0);
        assert_eq!(s.fraction(0.05), 0.0);
        assert_eq!(s.fraction(20.0), 1.0);
        assert_eq!(s.inner_ticks()[..3], [0.1, 0.2, 0.5]);
        assert_eq!(Scale::of([0.001, 4000.0].into_iter(), 0.0).inner_ticks(), [0.01, 0.1, 1.0, 10.0, 100.0, 1000.0]);
        assert_eq!(Scale::of([3.0].into_iter(), 1.0).fraction(3.0), 0.0);
    }

    #[test]
    fn legend_labels_leave_room() {
        for (lo, hi) in [(0.001, 4000.0), (1.0, 1.5), (0.05, 20.0), (1.0, 100_000.0)] {
            let s = Scale::of([lo, hi].into_iter(), 0.0);
            let mut px: Vec<f64> = s.labels().iter().map(|v| s.fraction(*v) * f64::from(PLOT_H)).collect();
            px.sort_by(f64::total_cmp);
            assert!(px.windows(2).all(|w| w[1] - w[0] >= LABEL_GAP), "{lo}..{hi}: {px:?}");
            assert!(px.len() >= 4, "{lo}..{hi}: {px:?}");
        }
    }

    #[test]
    fn count_legends_have_whole_numbers() {
        assert_eq!(Scale::of([2.0, 3.0].into_iter(), 1.0).inner_ticks(), [] as [f64; 0]);
        assert_eq!(Scale::of([1.0, 7.0].into_iter(), 1.0).inner_ticks(), [2.0, 3.0, 4.0, 5.0, 6.0]);
        let ms: Vec<String> = Scale::of([1.0, 2.0].into_iter(), 0.0).inner_ticks().into_iter().map(sig3).collect();
        assert_eq!(ms, ["1.2", "1.4", "1.6", "1.8"]);
    }

    #[test]
    fn compact_numbers() {
        assert_eq!(sig3(0.0487312), "0.0487");
        assert_eq!(sig3(20.0), "20");
        assert_eq!(sig3(12345.6), "12346");
        assert_eq!(sig3(9.996), "10");
        assert_eq!(Px(0.1 + 0.2).to_string(), "0.3");
        assert_eq!(Px(-0.01).to_string(), "0");
        assert_eq!(fmt_quantity(268435456.0, BYTE_UNITS), "256 MiB");
        assert_eq!(colour(0.0), "#440154");
        assert_eq!(colour(1.0), "#fde725");
    }

    #[test]
    fn no_long_floats_in_output() {
        let s: Vec<Sample> =
            (0..500u64).map(|i| sample(5 * S + i * 19_999_999, i * 7919 % 4000, 50_000 + i * 40_000)).collect();
        for svg in [offset_map(&s, &meta(4000)), latency_map(&s, &meta(4000))] {
            let longest = svg.split(|c: char| !c.is_ascii_digit() && c != '.').map(str::len).max().unwrap();
            assert!(longest <= 8, "a {longest}-character number");
        }
    }

    #[test]
    fn xml_escaping() {
        assert_eq!(escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&apos;");
        assert_eq!(escape("x\u{1b}[0my\tz"), "x[0my\tz");
        let m = Meta { disk: "<d&>", title: "a < b & \"c\"", ..meta(0) };
        let svg = offset_map(&[], &m);
        assert!(svg.contains("<title>a &lt; b &amp; &quot;c&quot;</title>"));
        assert!(svg.contains(">&lt;d&amp;&gt;, 10 s<"));
    }

    #[test]
    fn empty_input_is_a_document_that_says_so() {
        for svg in [offset_map(&[], &meta(0)), latency_map(&[], &meta(0))] {
            assert!(svg
                .starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\""));
            assert!(svg.contains(">no completed requests in the window<"));
            assert!(svg.ends_with("</svg>\n"));
        }
    }
}
