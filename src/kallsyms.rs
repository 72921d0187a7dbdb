//! /proc/kallsyms: the kernel's symbols, for what BTF cannot tell (a kernel
//! without it, or the address of a function).

use std::collections::HashSet;
use std::sync::Mutex;

/// The kernel's function names, read once for the probes a strategy asks
/// about (each read of the whole file took a legacy start about 6 reads)
/// until [`forget`].
static FUNCTIONS: Mutex<Option<HashSet<String>>> = Mutex::new(None);

/// Is `name` a function of the kernel's text (a kprobe can attach to it)?
pub fn has_function(name: &str) -> bool {
    let mut functions = FUNCTIONS.lock().unwrap_or_else(|e| e.into_inner());
    functions.get_or_insert_with(read_functions).contains(name)
}

/// The setup is over: free the names, a few MB.
pub fn forget() {
    drop(FUNCTIONS.lock().unwrap_or_else(|e| e.into_inner()).take());
}

fn read_functions() -> HashSet<String> {
    let text = std::fs::read_to_string("/proc/kallsyms").unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let mut f = line.split_whitespace();
            let (_, kind, name) = (f.next()?, f.next()?, f.next()?);
            matches!(kind, "t" | "T").then(|| name.to_string())
        })
        .collect()
}

/// Each of `names` in /proc/kallsyms: None where it is not listed (not in
/// this kernel, or inlined everywhere), its address else (0: hidden by
/// kptr_restrict).
pub fn addresses(names: &[&str]) -> Vec<Option<u64>> {
    let text = std::fs::read_to_string("/proc/kallsyms").unwrap_or_default();
    let mut found = vec![None; names.len()];
    for line in text.lines() {
        let mut f = line.split_whitespace();
        let (Some(addr), Some(_), Some(name)) = (f.next(), f.next(), f.next()) else { continue };
        if let Some(i) = names.iter().position(|n| *n == name) {
            found[i] = Some(u64::from_str_radix(addr, 16).unwrap_or(0));
        }
    }
    found
}
