//! /proc/kallsyms: the kernel's symbols, for what BTF cannot tell (a kernel
//! without it, or the address of a function).

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
