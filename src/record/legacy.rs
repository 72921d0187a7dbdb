//! User-space half of the legacy strategy (bpf/record_legacy.bpf.c): the
//! kernel side counts per open, under an id; this module says which file each
//! id is, from the open's path and /proc, and seeds the fds that were open
//! before recording started.
//!
//! Limits, inherent to having no BTF: a process that exits before its open
//! event is handled is resolved from the path alone (relative paths need its
//! cwd: they stay relative), and the path is the one given to open (through
//! symlinks, not canonical) as seen from iotrace's root.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::profile::{FileName, Key};
use crate::bpf::Object;
use crate::error::{Error, Result};
use crate::shared::{fd_key, open_event, open_file};
use crate::tracefs::Tracefs;

/// Ids of opens seeded from /proc, disjoint from the kernel's (ktime << 8 | cpu).
const SEEDED_ID_BASE: u64 = 1 << 62;
const AT_FDCWD: i32 = -100;

/// What an open id turned out to be.
pub struct Resolved {
    key: Key,
    name: FileName,
    regular: bool,
}

#[derive(Default)]
pub struct Opens {
    ids: BTreeMap<u64, Resolved>,
    next_seed: u64,
}

/// The kernel's s_dev encoding (MINORBITS = 20) of a user-space st_dev.
fn kernel_dev(dev: u64) -> u32 {
    let (major, minor) = (libc::major(dev), libc::minor(dev));
    (major << 20) | minor
}

fn mntns_of(pid: u32) -> u32 {
    std::fs::read_link(format!("/proc/{pid}/ns/mnt"))
        .ok()
        .and_then(|l| l.to_str()?.strip_prefix("mnt:[")?.strip_suffix(']')?.parse().ok())
        .unwrap_or(0)
}

fn c_str(c: &[std::ffi::c_char]) -> String {
    let b: Vec<u8> = c.iter().take_while(|c| **c != 0).map(|c| *c as u8).collect();
    String::from_utf8_lossy(&b).into_owned()
}

/// Lexically clean an absolute path ("." and ".." components).
fn clean(p: &Path) -> String {
    let mut out: Vec<&str> = Vec::new();
    for c in p.to_str().unwrap_or("").split('/') {
        match c {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    format!("/{}", out.join("/"))
}

impl Opens {
    /// Resolve one open event, ideally while its fd is still open.
    pub fn on_open(&mut self, e: &open_event) {
        let arg = c_str(&e.path);
        let proc_fd = format!("/proc/{}/fd/{}", e.tgid, e.fd);
        let path = if arg.starts_with('/') {
            Some(PathBuf::from(&arg))
        } else {
            let base = if e.dirfd == AT_FDCWD {
                format!("/proc/{}/cwd", e.tgid)
            } else {
                format!("/proc/{}/fd/{}", e.tgid, e.dirfd)
            };
            std::fs::read_link(base).ok().map(|b| b.join(&arg))
        };
        // By the time this runs the fd may be closed and its number reused
        // (fio does it within microseconds), so the path that was opened comes
        // first; the fd only when the path no longer leads anywhere.
        let meta = path.as_ref().and_then(|p| std::fs::metadata(p).ok()).or_else(|| std::fs::metadata(&proc_fd).ok());
        let name = FileName {
            path: path.as_deref().map_or(arg.clone(), clean),
            unlinked: false,
            truncated: arg.len() >= crate::shared::RECORD_LEGACY_PATH_MAX as usize - 1,
        };
        let (key, regular) = match meta {
            Some(m) => ((mntns_of(e.tgid), kernel_dev(m.dev()), m.ino()), m.is_file()),
            // Unknown: keep it under its own id, named by its path.
            None => ((0, 0, e.open_id), !arg.starts_with("/dev/") && !arg.starts_with("/proc/")),
        };
        self.ids.insert(e.open_id, Resolved { key, name, regular });
    }

    /// Give every regular file the selected processes have open now an id
    /// and a position, as if opened under the recording.
    pub fn seed(&mut self, obj: &Object, pids: &[u32]) -> Result<()> {
        let (fds, opens) = (obj.map("fds")?, obj.map("opens")?);
        for &pid in pids {
            let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
                continue;
            };
            for ent in dir.flatten() {
                let Some(fd) = ent.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
                    continue;
                };
                let Ok(target) = std::fs::read_link(ent.path()) else {
                    continue;
                };
                let Ok(meta) = std::fs::metadata(ent.path()) else {
                    continue;
                };
                if !meta.is_file() || !target.is_absolute() {
                    continue;
                }
                let (pos, flags) = fdinfo(pid, fd);
                self.next_seed += 1;
                let id = SEEDED_ID_BASE + self.next_seed;
                let mut of = open_file {
                    regular: 1,
                    pos,
                    append: (flags & libc::O_APPEND as u64 != 0) as u8,
                    ..Default::default()
                };
                of.key.ino = id;
                opens.set(&id, &of)?;
                fds.set(&fd_key { tgid: pid, fd }, &id)?;
                let path = target.to_string_lossy();
                let unlinked = path.ends_with(" (deleted)");
                let name =
                    FileName { path: path.trim_end_matches(" (deleted)").to_string(), unlinked, truncated: false };
                self.ids.insert(
                    id,
                    Resolved { key: (mntns_of(pid), kernel_dev(meta.dev()), meta.ino()), name, regular: true },
                );
            }
        }
        Ok(())
    }

    /// The real identity of a per-open key; None for what is not a regular file.
    pub fn remap(&self, k: Key) -> Option<Key> {
        match self.ids.get(&k.2) {
            Some(r) => r.regular.then_some(r.key),
            None => Some(k),
        }
    }

    /// Names by real identity (the first open of a file names it).
    pub fn names(&self) -> BTreeMap<Key, FileName> {
        let mut names = BTreeMap::new();
        for r in self.ids.values().filter(|r| r.regular) {
            names.entry(r.key).or_insert_with(|| r.name.clone());
        }
        names
    }
}

/// "pos:" and "flags:" (octal) of /proc/PID/fdinfo/FD.
fn fdinfo(pid: u32, fd: i32) -> (u64, u64) {
    let text = std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}")).unwrap_or_default();
    let field = |name: &str, radix| {
        text.lines().find_map(|l| l.strip_prefix(name)).and_then(|v| u64::from_str_radix(v.trim(), radix).ok())
    };
    (field("pos:", 10).unwrap_or(0), field("flags:", 8).unwrap_or(0))
}

/// The fork program reading child_pid where sched:sched_process_fork's format
/// file says it is: offset 44 while the comms were char[16], 20 since they
/// are __data_loc strings.
pub fn fork_program(tracefs: &Tracefs) -> Result<&'static str> {
    let f = tracefs.field("sched", "sched_process_fork", "child_pid")?;
    match f.offset {
        44 => Ok("tp_fork_at44"),
        20 => Ok("tp_fork_at20"),
        off => Err(Error::msg(format!("sched_process_fork has child_pid at offset {off}: cannot follow children"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_cleaned_lexically() {
        assert_eq!(clean(Path::new("/a/./b/../c")), "/a/c");
        assert_eq!(clean(Path::new("/../x")), "/x");
    }

    #[test]
    fn dev_encoding_matches_the_kernel() {
        assert_eq!(kernel_dev(libc::makedev(254, 1)), (254 << 20) | 1);
    }
}
