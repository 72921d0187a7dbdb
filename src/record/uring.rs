//! io_uring's programs (bpf/record.bpf.c): which submit tracepoint this
//! kernel has, and where it passes the request. Both need io_uring_complete
//! to pass the request too (Feat::IoUringTracepoints: 5.16+, and 5.10's
//! stable backports).

use crate::error::Result;
use crate::probe::{Feat, Features};
use crate::strategy::{Need, Probe};

const CAT: &str = "io_uring";

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

/// io_uring_submit_sqe passes the ring first, the request second: it has
/// more than the two arguments of 5.19's (record_config.uring_sqe_req_second).
pub fn sqe_req_second() -> bool {
    crate::bpf::raw_tp_arity("io_uring_submit_sqe").is_ok_and(|n| n > 2)
}

fn complete(f: &Features) -> Result<bool> {
    Ok(f.has(Feat::IoUringTracepoints))
}

pub const SUBMIT_REQ: Probe = Probe::new("raw_uring_submit_req").need(Need::When(submit_req));
pub const SUBMIT_SQE: Probe = Probe::new("raw_uring_submit_sqe").need(Need::When(submit_sqe));
pub const COMPLETE: Probe = Probe::new("raw_uring_complete").need(Need::When(complete));
