//! The BPF objects build.rs compiled, embedded in the binary with their
//! programs (and the attach point each one's SEC() names) and their maps, so
//! that a name the Rust side uses and no object has is a compile error
//! (`map_name!`, `Tool::check`).

use crate::bpf::{Attach, Embedded};
use crate::strategy::Flavour;

/// A program of an object and where its SEC() says it attaches.
pub struct Prog {
    pub name: &'static str,
    pub attach: Attach,
}

/// One compiled `bpf/X.bpf.c` (or its legacy flavour).
pub struct Obj {
    pub name: &'static str,
    pub flavour: Flavour,
    pub elf: &'static Embedded<[u8]>,
    /// Its programs (a global function in a section of its own).
    pub programs: &'static [Prog],
    /// Its maps, sorted.
    pub maps: &'static [&'static str],
}

// PROBE, RECORD, RECORD_LEGACY, BIOSNOOP, BIOSNOOP_LEGACY, ...: `static X: &Obj`.
include!(concat!(env!("OUT_DIR"), "/objects.rs"));

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() && a[i] == b[i] {
        i += 1;
    }
    i == a.len()
}

/// Is `name` one of `names`? For compile-time checks.
pub const fn has(names: &[&str], name: &str) -> bool {
    let mut i = 0;
    while i < names.len() {
        if str_eq(names[i], name) {
            return true;
        }
        i += 1;
    }
    false
}

impl Obj {
    /// Its program `name` (const: Tool::check asks at compile time).
    pub const fn program(&self, name: &str) -> Option<&Prog> {
        let mut i = 0;
        while i < self.programs.len() {
            if str_eq(self.programs[i].name, name) {
                return Some(&self.programs[i]);
            }
            i += 1;
        }
        None
    }
}

/// A map name, checked at compile time against every object it is used
/// with: `obj.map(map_name!("traced" in RECORD, RECORD_LEGACY))`.
macro_rules! map_name {
    ($name:literal in $($obj:ident),+) => {{
        const _: () = {
            $(
                if !$crate::objects::has($crate::objects::$obj.maps, $name) {
                    panic!("{}", concat!("BPF object ", stringify!($obj), " has no map ", $name));
                }
            )+
        };
        $name
    }};
}
pub(crate) use map_name;

/// A program, checked at compile time against its object:
/// `objects::program!("probe_kprobe" in PROBE)` is its `&Prog`.
macro_rules! program {
    ($name:literal in $obj:ident) => {{
        const P: &$crate::objects::Prog = match $crate::objects::$obj.program($name) {
            Some(p) => p,
            None => panic!("{}", concat!("BPF object ", stringify!($obj), " has no program ", $name)),
        };
        P
    }};
}
pub(crate) use program;
