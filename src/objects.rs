//! The BPF objects build.rs compiled, embedded in the binary.

use crate::bpf::Embedded;

macro_rules! object {
    ($file:literal) => {
        &Embedded(*include_bytes!(concat!(env!("OUT_DIR"), "/", $file)))
    };
}

pub static PROBE: &Embedded<[u8]> = object!("probe.bpf.o");
pub static RECORD: &Embedded<[u8]> = object!("record.bpf.o");
pub static RECORD_LEGACY: &Embedded<[u8]> = object!("record_legacy.bpf.o");
