//! The report as text tables, JSON (docs/amplify-format.md) or CSV.

use std::io::Write;

use serde_json::{json, Value};

use super::report::{Counts, Device, FileRow, Group, Layers, Report};
use super::Format;
use crate::table::{csv_field, human, write_aligned};

pub fn write(w: &mut dyn Write, r: &Report, format: Format) -> std::io::Result<()> {
    match format {
        Format::Text => text(w, r),
        Format::Json => {
            serde_json::to_writer_pretty(&mut *w, &to_json(r))?;
            writeln!(w)
        }
        Format::Csv => csv(w, r),
    }
}

fn counts_json(c: &Counts) -> Value {
    json!({"read_bytes": c.read_bytes, "write_bytes": c.write_bytes, "read_ops": c.read_ops, "write_ops": c.write_ops})
}

/// Is a row's device layer measured? Not per file or process where the
/// strategy charges device bytes to disks only.
fn device_known(r: &Report, per_disk: bool) -> bool {
    per_disk || r.meta.device_by_file
}

/// The members every row has: the three layers and the ratios (null where
/// the device layer is not known).
fn layers_json(l: &Layers, device: bool) -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    let known = |v: Value| if device { v } else { Value::Null };
    m.insert("syscall".into(), counts_json(&l.syscall));
    m.insert("fs".into(), counts_json(&l.fs));
    m.insert("device".into(), known(counts_json(&l.device)));
    m.insert("read_amp".into(), known(json!(l.read_amp())));
    m.insert("write_amp".into(), known(json!(l.write_amp())));
    m.insert("read_ops_amp".into(), known(json!(l.read_ops_amp())));
    m.insert("write_ops_amp".into(), known(json!(l.write_ops_amp())));
    m
}

fn file_json(r: &Report, f: &FileRow) -> Value {
    let mut m = layers_json(&f.layers, device_known(r, f.disk.is_some()));
    m.insert("name".into(), json!(f.name));
    m.insert("kind".into(), json!(f.kind.name()));
    m.insert("disk".into(), json!(f.disk));
    m.insert("mntns".into(), json!(f.mntns));
    let inodes: Vec<Value> = f
        .inodes
        .iter()
        .map(|&(dev, ino)| json!({"dev": format!("{}:{}", dev >> 20, dev & ((1 << 20) - 1)), "ino": ino}))
        .collect();
    m.insert("inodes".into(), json!(inodes));
    m.insert("comms".into(), json!(f.comms));
    Value::Object(m)
}

fn group_json(r: &Report, g: &Group, with_comms: bool) -> Value {
    let mut m = layers_json(&g.layers, device_known(r, false));
    m.insert("name".into(), json!(g.name));
    if with_comms {
        m.insert("comms".into(), json!(g.comms));
    }
    Value::Object(m)
}

fn device_json(d: &Device) -> Value {
    let mut m = match counts_json(&d.counted) {
        Value::Object(m) => m,
        _ => unreachable!("counts_json makes an object"),
    };
    m.insert("name".into(), json!(d.name));
    m.insert("diskstats".into(), counts_json(&d.diskstats));
    m.insert("unseen".into(), counts_json(&d.unseen));
    Value::Object(m)
}

fn to_json(r: &Report) -> Value {
    json!({
        "tool": "iotrace amplify",
        "version": 1,
        "kernel": crate::probe::kernel_release(),
        "duration_ns": r.meta.duration_ns,
        "strategy": r.meta.strategy,
        "record_strategy": r.meta.record_strategy,
        "notes": r.meta.notes,
        "files": r.files.iter().map(|f| file_json(r, f)).collect::<Vec<_>>(),
        "processes": r.processes.iter().map(|g| group_json(r, g, false)).collect::<Vec<_>>(),
        "systems": r.systems.iter().map(|g| group_json(r, g, true)).collect::<Vec<_>>(),
        "devices": r.devices.iter().map(device_json).collect::<Vec<_>>(),
    })
}

fn amp(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.2}"))
}

const COLUMNS: [&str; 8] = ["SYS_R", "SYS_W", "FS_R", "FS_W", "DEV_R", "DEV_W", "R_AMP", "W_AMP"];

/// A row's cells; "-" for the device layer where it is not known.
fn layer_cells(l: &Layers, device: bool) -> Vec<String> {
    let b = |v: u64| human(v as f64);
    let mut cells = vec![b(l.syscall.read_bytes), b(l.syscall.write_bytes), b(l.fs.read_bytes), b(l.fs.write_bytes)];
    match device {
        true => cells.extend([b(l.device.read_bytes), b(l.device.write_bytes), amp(l.read_amp()), amp(l.write_amp())]),
        false => cells.extend(["-"; 4].map(String::from)),
    }
    cells
}

fn table<'a>(
    w: &mut dyn Write,
    first: &str,
    rows: impl Iterator<Item = (&'a str, &'a Layers, bool)>,
) -> std::io::Result<()> {
    let mut lines = vec![std::iter::once(first).chain(COLUMNS).map(String::from).collect::<Vec<_>>()];
    lines.extend(
        rows.map(|(name, l, device)| std::iter::once(name.to_string()).chain(layer_cells(l, device)).collect()),
    );
    if lines.len() > 1 {
        write_aligned(&mut &mut *w, &lines, 1)?;
        writeln!(w)?;
    }
    Ok(())
}

fn text(w: &mut dyn Write, r: &Report) -> std::io::Result<()> {
    writeln!(
        w,
        "iotrace amplify: {:.1} s, bytes per layer (syscall, page cache, device) and device/syscall bytes\n",
        r.meta.duration_ns as f64 / 1e9
    )?;
    let files = r.files.iter().map(|f| (f.name.as_str(), &f.layers, device_known(r, f.disk.is_some())));
    table(w, "FILE", files)?;
    let device = device_known(r, false);
    table(w, "PROCESS", r.processes.iter().map(|g| (g.name.as_str(), &g.layers, device)))?;
    table(w, "SYSTEM", r.systems.iter().map(|g| (g.name.as_str(), &g.layers, device)))?;
    let mut lines =
        vec![["DISK", "DEV_R", "DEV_W", "READS", "WRITES", "DISKSTATS_R", "DISKSTATS_W", "READS", "WRITES"]
            .map(String::from)
            .to_vec()];
    for d in &r.devices {
        let (c, s) = (&d.counted, &d.diskstats);
        lines.push(vec![
            d.name.clone(),
            human(c.read_bytes as f64),
            human(c.write_bytes as f64),
            c.read_ops.to_string(),
            c.write_ops.to_string(),
            human(s.read_bytes as f64),
            human(s.write_bytes as f64),
            s.read_ops.to_string(),
            s.write_ops.to_string(),
        ]);
    }
    write_aligned(&mut &mut *w, &lines, 1)?;
    for n in &r.meta.notes {
        writeln!(w, "note: {n}")?;
    }
    Ok(())
}

fn csv_counts(c: &Counts) -> [String; 4] {
    [c.read_bytes, c.write_bytes, c.read_ops, c.write_ops].map(|v| v.to_string())
}

fn csv(w: &mut dyn Write, r: &Report) -> std::io::Result<()> {
    let mut head = vec!["table".to_string(), "name".into(), "kind".into(), "disk".into()];
    for layer in ["syscall", "fs", "device"] {
        head.extend(["read_bytes", "write_bytes", "read_ops", "write_ops"].map(|c| format!("{layer}_{c}")));
    }
    head.extend(["read_amp", "write_amp", "read_ops_amp", "write_ops_amp"].map(String::from));
    writeln!(w, "{}", head.join(","))?;
    let ratio = |v: Option<f64>| v.map_or_else(String::new, |v| format!("{v:.4}"));
    // empty device fields where the layer is not known
    let mut line = |table: &str, name: &str, kind: &str, disk: &str, l: &Layers, device: bool| {
        let mut f = vec![table.to_string(), csv_field(name), kind.to_string(), csv_field(disk)];
        f.extend(csv_counts(&l.syscall));
        f.extend(csv_counts(&l.fs));
        match device {
            true => {
                f.extend(csv_counts(&l.device));
                f.extend([l.read_amp(), l.write_amp(), l.read_ops_amp(), l.write_ops_amp()].map(ratio));
            }
            false => f.extend(std::iter::repeat_n(String::new(), 8)),
        }
        writeln!(w, "{}", f.join(","))
    };
    for f in &r.files {
        let device = device_known(r, f.disk.is_some());
        line("files", &f.name, f.kind.name(), f.disk.as_deref().unwrap_or(""), &f.layers, device)?;
    }
    let device = device_known(r, false);
    for g in &r.processes {
        line("processes", &g.name, "", "", &g.layers, device)?;
    }
    for g in &r.systems {
        line("systems", &g.name, "", "", &g.layers, device)?;
    }
    for d in &r.devices {
        let l = Layers { device: d.counted, ..Default::default() };
        line("devices", &d.name, "", "", &l, true)?;
        let s = Layers { device: d.diskstats, ..Default::default() };
        line("devices", &d.name, "diskstats", "", &s, true)?;
    }
    Ok(())
}
