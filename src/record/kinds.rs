//! What `record` counts, from the one list in bpf/record.h (RECORD_KINDS,
//! RECORD_SYSCALLS, RECORD_OPENS), expanded by build.rs.

/// What a syscall does to a file.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Class {
    Read,
    Write,
    Sync,
    Close,
    /// Counted calls and errors, no data (io_uring's fallocate, sync_file_range).
    Other,
    /// A syscall that carries other I/O (io_submit, io_getevents): no file's.
    Batch,
}

/// The interface an I/O is done through.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Via {
    /// A syscall on one file.
    Call,
    /// One side of a copy between files (sendfile, copy_file_range, splice).
    Copy,
    /// Linux AIO.
    Aio,
    /// io_uring.
    Uring,
}

impl Via {
    /// The interface of a syscall by its profile name.
    pub fn of_name(name: &str) -> Option<Via> {
        KIND_NAMES.iter().position(|n| *n == name).map(|i| KIND_VIAS[i])
    }
}

include!(concat!(env!("OUT_DIR"), "/record_lists.rs"));

impl Class {
    /// The class of an io_kind (bpf/record.h), None for an unknown one.
    pub fn of_kind(kind: u32) -> Option<Class> {
        KIND_CLASSES.get(kind as usize).copied()
    }

    /// The class of a syscall by its profile name.
    pub fn of_name(name: &str) -> Option<Class> {
        KIND_NAMES.iter().position(|n| *n == name).map(|i| KIND_CLASSES[i])
    }
}
