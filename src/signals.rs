//! SIGINT/SIGTERM set a flag that the tools' poll loops check: recording
//! stops cleanly and the profile is still written.

use std::sync::atomic::{AtomicI32, Ordering};

/// The signal that asked to stop; 0: none yet.
static STOP: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(sig: libc::c_int) {
    STOP.store(sig, Ordering::SeqCst);
}

/// Install the handlers without SA_RESTART, so a blocking poll returns EINTR
/// at once instead of waiting for its timeout.
pub fn install() {
    for sig in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: a zeroed sigaction with a handler that only stores an atomic
        // is async-signal-safe.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

/// Let a write to a closed pipe end the program quietly, as it does other
/// Unix tools (`iotrace report big.json | head`): Rust ignores SIGPIPE and
/// turns it into an error instead.
pub fn die_on_broken_pipe() {
    // SAFETY: setting a signal's disposition to its default has no preconditions.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
}

pub fn stop_requested() -> bool {
    stop_signal().is_some()
}

/// The signal (SIGINT, SIGTERM) that asked to stop, if one did.
pub fn stop_signal() -> Option<i32> {
    Some(STOP.load(Ordering::SeqCst)).filter(|s| *s != 0)
}
