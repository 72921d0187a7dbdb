//! io_uring's programs (bpf/record.bpf.c): which submit tracepoint passes the
//! request as its first argument on this kernel. Both need io_uring_complete
//! to pass the request too (Feat::IoUringTracepoints, 5.19+).

use crate::error::Result;
use crate::probe::{Feat, Features};
use crate::strategy::{Need, Probe};

const CAT: &str = "io_uring";

/// io_uring_submit_req(req): 6.3+.
fn submit_req(f: &Features) -> Result<bool> {
    Ok(f.has(Feat::IoUringTracepoints) && f.tracefs.has_event(CAT, "io_uring_submit_req"))
}

/// Its name before, io_uring_submit_sqe(req, force_nonblock), from 5.19 (the
/// earlier one with the ring first never meets a complete that passes the
/// request).
fn submit_sqe(f: &Features) -> Result<bool> {
    Ok(f.has(Feat::IoUringTracepoints)
        && !f.tracefs.has_event(CAT, "io_uring_submit_req")
        && f.tracefs.has_event(CAT, "io_uring_submit_sqe"))
}

fn complete(f: &Features) -> Result<bool> {
    Ok(f.has(Feat::IoUringTracepoints))
}

pub const SUBMIT_REQ: Probe = Probe::new("raw_uring_submit_req").need(Need::When(submit_req));
pub const SUBMIT_SQE: Probe = Probe::new("raw_uring_submit_sqe").need(Need::When(submit_sqe));
pub const COMPLETE: Probe = Probe::new("raw_uring_complete").need(Need::When(complete));
