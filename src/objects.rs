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
pub static BIOSNOOP: &Embedded<[u8]> = object!("biosnoop.bpf.o");
pub static BIOLATENCY: &Embedded<[u8]> = object!("biolatency.bpf.o");
pub static BIOPATTERN: &Embedded<[u8]> = object!("biopattern.bpf.o");
pub static BIOSNOOP_LEGACY: &Embedded<[u8]> = object!("biosnoop_legacy.bpf.o");
pub static BIOLATENCY_LEGACY: &Embedded<[u8]> = object!("biolatency_legacy.bpf.o");
pub static BIOPATTERN_LEGACY: &Embedded<[u8]> = object!("biopattern_legacy.bpf.o");
