//! The BPF objects build.rs compiled, embedded in the binary with the names
//! of their programs and maps, so that a name the Rust side uses and no
//! object has is a compile error (`map_name!`, `Tool::check`).

use crate::bpf::Embedded;
use crate::strategy::Flavour;

/// One compiled `bpf/X.bpf.c` (or its legacy flavour).
pub struct Obj {
    pub name: &'static str,
    pub flavour: Flavour,
    pub elf: &'static Embedded<[u8]>,
    /// Its programs (a global function in a section of its own), sorted.
    pub programs: &'static [&'static str],
    /// Its maps, sorted.
    pub maps: &'static [&'static str],
}

// PROBE, RECORD, RECORD_LEGACY, BIOSNOOP, BIOSNOOP_LEGACY, ...: `static X: &Obj`.
include!(concat!(env!("OUT_DIR"), "/objects.rs"));

/// Is `name` one of `names`? For compile-time checks.
pub const fn has(names: &[&str], name: &str) -> bool {
    let mut i = 0;
    while i < names.len() {
        let (a, b) = (names[i].as_bytes(), name.as_bytes());
        if a.len() == b.len() {
            let mut j = 0;
            while j < a.len() && a[j] == b[j] {
                j += 1;
            }
            if j == a.len() {
                return true;
            }
        }
        i += 1;
    }
    false
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
