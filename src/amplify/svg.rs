//! `--svg`: a standalone bar chart (SVG 1.1, no scripts, the heat maps'
//! style) of the bytes of each layer, read and written, per system, or per
//! process when no system was recognised.

use std::fmt::Write as _;

use super::report::{Group, Layers, Report};
use crate::block::{svg_escape as escape, SVG_STYLE};
use crate::table::human;

const WIDTH: u32 = 900;
const LABEL_W: u32 = 200;
const BAR_H: u32 = 12;
/// Three layers, read then written, and a gap.
const GROUP_H: u32 = 6 * BAR_H + 20;
const TOP: u32 = 60;
const COLOURS: [&str; 3] = ["#4e79a7", "#f28e2b", "#e15759"];
const LAYERS: [&str; 3] = ["syscall", "page cache", "device"];

fn bars(l: &Layers) -> [u64; 6] {
    [
        l.syscall.read_bytes,
        l.fs.read_bytes,
        l.device.read_bytes,
        l.syscall.write_bytes,
        l.fs.write_bytes,
        l.device.write_bytes,
    ]
}

pub fn chart(r: &Report) -> String {
    let (what, groups): (&str, &[Group]) =
        if r.systems.is_empty() { ("process", &r.processes) } else { ("system", &r.systems) };
    let max = groups.iter().flat_map(|g| bars(&g.layers)).max().unwrap_or(0).max(1);
    let height = TOP + GROUP_H * groups.len().max(1) as u32 + 40;
    let plot_w = WIDTH - LABEL_W - 120;
    let mut s = String::new();
    let title = format!("iotrace amplify: bytes per layer per {what}");
    let _ = write!(
        s,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"{WIDTH}\" height=\"{height}\" viewBox=\"0 0 {WIDTH} {height}\">\n\
         <title>{t}</title>\n<style>{SVG_STYLE}</style>\n\
         <rect width=\"{WIDTH}\" height=\"{height}\" fill=\"#fff\"/>\n\
         <text x=\"10\" y=\"24\" class=\"h\">{t}</text>\n",
        t = escape(&title)
    );
    for (i, (layer, colour)) in LAYERS.iter().zip(COLOURS).enumerate() {
        let x = LABEL_W + i as u32 * 130;
        let _ = writeln!(
            s,
            "<rect x=\"{x}\" y=\"36\" width=\"12\" height=\"12\" fill=\"{colour}\"/><text x=\"{}\" y=\"46\">{layer}</text>",
            x + 16
        );
    }
    if groups.is_empty() {
        let _ = writeln!(s, "<text x=\"{LABEL_W}\" y=\"{}\" class=\"s\">no I/O</text>", TOP + 20);
    }
    for (gi, g) in groups.iter().enumerate() {
        let y0 = TOP + gi as u32 * GROUP_H;
        let _ = writeln!(s, "<text x=\"10\" y=\"{}\" class=\"h\">{}</text>", y0 + 3 * BAR_H, escape(&g.name));
        for (bi, bytes) in bars(&g.layers).into_iter().enumerate() {
            // the tracepoint strategy charges device bytes to disks only
            let label = match bi % 3 == 2 && !r.meta.device_by_file {
                true => "not measured".to_string(),
                false => human(bytes as f64),
            };
            let y = y0 + bi as u32 * BAR_H + if bi >= 3 { 4 } else { 0 };
            let w = (bytes as f64 / max as f64 * plot_w as f64).round();
            if bi % 3 == 0 {
                let dir = if bi == 0 { "read" } else { "write" };
                let _ = writeln!(s, "<text x=\"{}\" y=\"{}\" class=\"e s\">{dir}</text>", LABEL_W - 6, y + 2 * BAR_H);
            }
            let _ = writeln!(
                s,
                "<rect x=\"{LABEL_W}\" y=\"{y}\" width=\"{w}\" height=\"{}\" fill=\"{}\"><title>{} {} {}: {bytes} bytes</title></rect>\
                 <text x=\"{}\" y=\"{}\" class=\"s\">{}</text>",
                BAR_H - 2,
                COLOURS[bi % 3],
                escape(&g.name),
                LAYERS[bi % 3],
                if bi < 3 { "read" } else { "written" },
                LABEL_W as f64 + w + 4.0,
                y + BAR_H - 2,
                label
            );
        }
    }
    s.push_str("</svg>\n");
    s
}
