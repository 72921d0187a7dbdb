//! `iotrace doctor`: what this kernel offers and how each tool will attach.

use serde_json::{json, Map, Value};

use crate::cli::{self, Args};
use crate::error::Result;
use crate::probe::Features;
use crate::strategy::Tool;

pub const HELP: &str = "\
Usage: iotrace doctor [--json] [--strategy NAME]

Probe the running kernel for every BPF feature iotrace can use (by loading and
attaching tiny programs, not by reading version numbers) and show which attach
strategy each tool will use. Needs root.

Options:
  --json            machine-readable output
  --strategy NAME   show what forcing this strategy (e.g. legacy) would do
  -h, --help        this help

Examples:
  sudo iotrace doctor
  sudo iotrace doctor --json | jq .features.fentry
  sudo iotrace doctor --strategy legacy
";

pub fn main(mut args: Args) -> Result<()> {
    let mut json = false;
    let mut forced = None;
    while let Some(arg) = args.next()? {
        match arg {
            cli::Arg::Long("json") => json = true,
            cli::Arg::Long("strategy") => forced = Some(args.value_str()?),
            cli::Arg::Short('h') | cli::Arg::Long("help") => return cli::print_help(HELP),
            other => return Err(cli::unexpected(other)),
        }
    }
    let features = crate::probe::start()?;
    let tools = crate::commands::tools();
    if json {
        println!("{}", serde_json::to_string_pretty(&to_json(&features, &tools, forced.as_deref())).unwrap());
    } else {
        print_table(&features, &tools, forced.as_deref());
    }
    Ok(())
}

fn choice(tool: &Tool, f: &Features, forced: Option<&str>) -> (String, String) {
    match tool.choose(f, forced) {
        Ok(s) => (s.name.to_string(), s.summary.to_string()),
        Err(e) => ("none".to_string(), e.to_string()),
    }
}

fn print_table(f: &Features, tools: &[&Tool], forced: Option<&str>) {
    println!(
        "kernel {}  tracefs {}{}",
        f.kernel,
        f.tracefs.path.display(),
        if f.tracefs.mounted_by_us { " (mounted by iotrace)" } else { "" }
    );
    println!();
    println!("{:<22} {:<4} DETAIL", "FEATURE", "OK");
    for (feat, p) in f.all() {
        println!("{:<22} {:<4} {}", feat.name(), if p.ok { "yes" } else { "no" }, p.detail);
    }
    println!();
    println!("{:<12} {:<12} HOW", "TOOL", "STRATEGY");
    for t in tools {
        let (name, how) = choice(t, f, forced);
        println!("{:<12} {:<12} {}", t.name, name, how);
    }
}

fn to_json(f: &Features, tools: &[&Tool], forced: Option<&str>) -> Value {
    let mut features = Map::new();
    for (feat, p) in f.all() {
        features.insert(feat.name().into(), json!({"ok": p.ok, "detail": p.detail, "about": feat.about()}));
    }
    let mut strategies = Map::new();
    for t in tools {
        let (name, how) = choice(t, f, forced);
        strategies.insert(t.name.into(), json!({"strategy": name, "detail": how}));
    }
    json!({
        "kernel": f.kernel,
        "tracefs": {"path": f.tracefs.path, "mounted_by_iotrace": f.tracefs.mounted_by_us},
        "features": features,
        "strategies": strategies,
    })
}
