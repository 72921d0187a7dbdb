//! io_uring's programs (bpf/record.bpf.c): which submit tracepoint this
//! kernel has, where it passes the request, and how a completion finds its
//! request (Feat::IoUringTracepoints tells whether one can).

use crate::bpf::raw_tp_arity;
use crate::error::Result;
use crate::probe::{Feat, Features};
use crate::strategy::{Need, Probe};
use crate::tracefs::Tracefs;

pub const CAT: &str = "io_uring";

/// io_uring_submit_req(req): 6.3+.
fn submit_req(f: &Features) -> Result<bool> {
    Ok(f.has(Feat::IoUringTracepoints) && f.tracefs.has_event(CAT, "io_uring_submit_req"))
}

/// Its name before, io_uring_submit_sqe: the request first (req,
/// force_nonblock) from 5.19, second (ctx, req, opcode, ...) before
/// (sqe_req_second()).
fn submit_sqe(f: &Features) -> Result<bool> {
    Ok(f.has(Feat::IoUringTracepoints)
        && !f.tracefs.has_event(CAT, "io_uring_submit_req")
        && f.tracefs.has_event(CAT, "io_uring_submit_sqe"))
}

/// io_uring_submit_sqe passes the ring first, the request second: (ctx, req,
/// opcode, user_data, flags, force_nonblock, sq_thread), not 5.19's (req,
/// force_nonblock) nor the earlier (ctx, opcode, user_data, ...) without it
/// (record_config.uring_sqe_req_second).
pub fn sqe_req_second() -> bool {
    raw_tp_arity("io_uring_submit_sqe").is_ok_and(|n| n >= 6)
}

/// io_uring_complete passes the request: in its record (5.19+) or as its
/// second argument (ctx, req, user_data, res, cflags, ...: 5.16+).
pub fn complete_has_req(tracefs: &Tracefs) -> bool {
    tracefs.field(CAT, "io_uring_complete", "req").is_ok() || raw_tp_arity("io_uring_complete").is_ok_and(|n| n >= 5)
}

fn complete(f: &Features) -> Result<bool> {
    Ok(f.has(Feat::IoUringTracepoints))
}

pub const SUBMIT_REQ: Probe = Probe::new("raw_uring_submit_req").need(Need::When(submit_req));
pub const SUBMIT_SQE: Probe = Probe::new("raw_uring_submit_sqe").need(Need::When(submit_sqe));
pub const COMPLETE: Probe = Probe::new("raw_uring_complete").need(Need::When(complete));
