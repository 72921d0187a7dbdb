//! Finding (and if needed mounting) tracefs. Fresh hosts, old and new, boot
//! with neither tracefs nor debugfs mounted; libbpf needs one of them to turn a
//! tracepoint name into an id.

use std::ffi::CString;
use std::path::{Path, PathBuf};

use crate::error::{strerror, Error, Result};

const TRACEFS: &str = "/sys/kernel/tracing";
const DEBUGFS: &str = "/sys/kernel/debug";

/// Where tracefs is, and whether iotrace mounted it.
pub struct Tracefs {
    pub path: PathBuf,
    pub mounted_by_us: bool,
}

fn usable(dir: &Path) -> bool {
    dir.join("events").is_dir()
}

fn mount(source: &str, target: &str, fstype: &str) -> Result<(), i32> {
    let (s, t, f) = (CString::new(source).unwrap(), CString::new(target).unwrap(), CString::new(fstype).unwrap());
    // SAFETY: valid C strings, no mount data.
    let ret = unsafe { libc::mount(s.as_ptr(), t.as_ptr(), f.as_ptr(), 0, std::ptr::null()) };
    if ret == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    }
}

/// Return a usable tracefs, mounting tracefs (4.1+) or, failing that,
/// debugfs (whose `tracing/` auto-mounts tracefs) when none is mounted.
pub fn ensure() -> Result<Tracefs> {
    let debug_tracing = Path::new(DEBUGFS).join("tracing");
    for dir in [Path::new(TRACEFS), debug_tracing.as_path()] {
        if usable(dir) {
            return Ok(Tracefs { path: dir.to_path_buf(), mounted_by_us: false });
        }
    }
    let err = match mount("nodev", TRACEFS, "tracefs") {
        Ok(()) if usable(Path::new(TRACEFS)) => {
            return Ok(Tracefs { path: TRACEFS.into(), mounted_by_us: true });
        }
        Ok(()) => libc::ENOENT,
        Err(e) => e,
    };
    if mount("nodev", DEBUGFS, "debugfs").is_ok() && usable(&debug_tracing) {
        return Ok(Tracefs { path: debug_tracing, mounted_by_us: true });
    }
    Err(Error::msg(format!(
        "tracefs is not mounted and mounting it failed ({}); as root run: mount -t tracefs nodev {TRACEFS}",
        strerror(err)
    )))
}

impl Tracefs {
    /// Does tracepoint CATEGORY:NAME exist on this kernel?
    pub fn has_event(&self, category: &str, name: &str) -> bool {
        self.path.join("events").join(category).join(name).is_dir()
    }
}
