//! User-space half of the legacy strategy (bpf/record_legacy.bpf.c): the
//! kernel side counts per open, under an id; this module says which file each
//! id is, and seeds the fds and working directories that existed before
//! recording started.
//!
//! An open's name is its path argument, made absolute from what it is
//! relative to: its dirfd's open or the process' working directory (a chdir
//! or fchdir the kernel side saw, inherited over fork, or seeded). Those are
//! ids too, so names are resolved after the recording from the events alone:
//! nothing depends on /proc still showing the process, its cwd or its fds
//! when an event is read, however late that is.
//!
//! Limits, inherent to having no BTF: the path is the one given to open
//! (through symlinks, not canonical, `..` applied lexically) as seen from
//! iotrace's root; whether it is a regular file, its inode and its mount
//! namespace are read from /proc and the file system when the event is read
//! (a process gone by then counts in iotrace's mount namespace); renames and
//! unlinks are not seen.

use std::collections::HashMap;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::naming::{FileName, Key};
use super::profile::Identity;
use crate::bpf::Object;
use crate::error::{Error, Result};
use crate::objects::map_name;
use crate::probe::Features;
use crate::shared::{fd_key, open_event, open_file, OPEN_EVENT_CWD, RECORD_LEGACY_PATH_MAX};

const AT_FDCWD: i32 = -100;
/// Longest chain of relative opens followed (each is relative to an older one).
const MAX_BASES: usize = 256;

/// One open or chdir, as its event told it.
struct Open {
    /// The path argument, or for a seed the absolute path from /proc.
    arg: Vec<u8>,
    /// The id `arg` is relative to (0: none known).
    base: u64,
    /// For a relative `arg` without a known base: the directory /proc showed when the event was read.
    fallback_base: Option<Vec<u8>>,
    truncated: bool,
    mntns: u32,
    /// What the path led to when the event was read.
    file: Option<(u32, u64, Is)>,
    unlinked: bool,
}

impl Open {
    /// An absolute path /proc showed before recording started.
    fn seeded(path: &[u8], mntns: u32) -> Open {
        Open { arg: path.to_vec(), base: 0, fallback_base: None, truncated: false, mntns, file: None, unlinked: false }
    }
}

#[derive(Default)]
pub struct Opens {
    ids: HashMap<u64, Open>,
    mntns: HashMap<u32, u32>,
    last_seed: u64,
}

/// The kernel's s_dev encoding (MINORBITS = 20) of a user-space st_dev.
fn kernel_dev(dev: u64) -> u32 {
    let (major, minor) = (libc::major(dev), libc::minor(dev));
    (major << 20) | minor
}

fn mntns_of(pid: u32) -> Option<u32> {
    std::fs::read_link(format!("/proc/{pid}/ns/mnt"))
        .ok()
        .and_then(|l| l.to_str()?.strip_prefix("mnt:[")?.strip_suffix(']')?.parse().ok())
}

fn c_bytes(c: &[std::ffi::c_char]) -> Vec<u8> {
    c.iter().take_while(|c| **c != 0).map(|c| *c as u8).collect()
}

/// Join `rel` to the absolute `base` and clean it lexically ("." and "..").
fn join_clean(base: &[u8], rel: &[u8]) -> Vec<u8> {
    let mut out: Vec<&[u8]> = Vec::new();
    let whole = if rel.starts_with(b"/") { None } else { Some(base) };
    for c in whole.into_iter().chain([rel]).flat_map(|p| p.split(|b| *b == b'/')) {
        match c {
            b"" | b"." => {}
            b".." => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    let mut p = Vec::new();
    for c in out {
        p.push(b'/');
        p.extend_from_slice(c);
    }
    if p.is_empty() {
        p.push(b'/');
    }
    p
}

/// Was `path`, gone before its open event was read, a regular file? Yes,
/// unless where it was holds no such files: procfs, sysfs and other pseudo
/// file systems, or the devtmpfs of /dev (not a tmpfs mounted below it, such
/// as /dev/shm).
fn gone_was_regular(path: &[u8]) -> bool {
    const PSEUDO: [i64; 6] = [
        0x9fa0,     // proc
        0x62656572, // sysfs
        0x64626720, // debugfs
        0x74726163, // tracefs
        0x63677270, // cgroup2
        0x27e0eb,   // cgroup
    ];
    let mut dir = Path::new(std::ffi::OsStr::from_bytes(path));
    while let Some(parent) = dir.parent() {
        dir = parent;
        let Ok(m) = std::fs::metadata(dir) else { continue };
        let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else { return true };
        // SAFETY: statfs(2) on a NUL-terminated path into a zeroed struct.
        let magic = unsafe {
            let mut st: libc::statfs = std::mem::zeroed();
            if libc::statfs(c.as_ptr(), &mut st) != 0 {
                return true;
            }
            st.f_type as i64
        };
        let dev_of = |p: &str| std::fs::metadata(p).map(|m| m.dev()).ok();
        let on_dev = dev_of("/dev") != dev_of("/") && dev_of("/dev") == Some(m.dev());
        return !PSEUDO.contains(&magic) && !on_dev;
    }
    true
}

/// What an open led to: only regular files are rows, and directories for their fsyncs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Is {
    File,
    Dir,
    Other,
}

impl Is {
    fn of(m: &std::fs::Metadata) -> Is {
        if m.is_file() {
            Is::File
        } else if m.is_dir() {
            Is::Dir
        } else {
            Is::Other
        }
    }
}

fn meta(p: &Path) -> Option<(u32, u64, Is)> {
    std::fs::metadata(p).ok().map(|m| (kernel_dev(m.dev()), m.ino(), Is::of(&m)))
}

impl Opens {
    fn mntns(&mut self, tgid: u32) -> u32 {
        let own = || mntns_of(std::process::id()).unwrap_or(0);
        *self.mntns.entry(tgid).or_insert_with(|| mntns_of(tgid).unwrap_or_else(own))
    }

    /// One open or chdir event. Names are resolved later (`identify`); what
    /// the file is (regular? which inode?) can only be asked now.
    pub fn on_open(&mut self, e: &open_event) {
        let arg = c_bytes(&e.path);
        let relative = !arg.starts_with(b"/");
        let fallback_base = (relative && e.base_id == 0).then(|| {
            let dir = if e.dirfd == AT_FDCWD {
                format!("/proc/{}/cwd", e.tgid)
            } else {
                format!("/proc/{}/fd/{}", e.tgid, e.dirfd)
            };
            std::fs::read_link(dir).map(|d| d.as_os_str().as_bytes().to_vec()).unwrap_or_default()
        });
        // O_TMPFILE opens a directory and makes an unnamed file in it.
        let tmpfile = e.flags as i32 & (libc::O_TMPFILE & !libc::O_DIRECTORY) != 0;
        let mut open = Open {
            truncated: arg.len() >= RECORD_LEGACY_PATH_MAX as usize - 1,
            arg,
            base: e.base_id,
            fallback_base,
            mntns: self.mntns(e.tgid),
            file: None,
            unlinked: tmpfile,
        };
        if tmpfile {
            // Named as the kernel names it, "#" and the inode number, where that can still be read.
            let fd = meta(Path::new(&format!("/proc/{}/fd/{}", e.tgid, e.fd)));
            open.arg.extend(format!("/#{}", fd.map_or(String::new(), |(_, ino, _)| ino.to_string())).bytes());
            open.file = Some(fd.unwrap_or((0, 0, Is::File)));
        } else if e.kind != OPEN_EVENT_CWD {
            // By the path: by now the fd may be closed and its number reused
            // (fio does it within microseconds).
            // Not the fd's number in /proc either: a process that already
            // closed it may have it for another file, a pipe or a directory.
            let path = self.path_of_open(&open);
            open.file = path.and_then(|p| meta(Path::new(std::ffi::OsStr::from_bytes(&p))));
        }
        self.ids.insert(e.open_id, open);
    }

    /// The absolute path of an open: back through its bases to an absolute
    /// one (or a base /proc showed), then joined forward.
    fn path_of_open(&self, open: &Open) -> Option<Vec<u8>> {
        let mut chain = vec![open];
        let mut path = loop {
            let o = *chain.last()?;
            if o.arg.starts_with(b"/") {
                break b"/".to_vec();
            }
            match self.ids.get(&o.base) {
                Some(base) if o.base != 0 && chain.len() < MAX_BASES => chain.push(base),
                _ => break o.fallback_base.clone().filter(|b| !b.is_empty())?,
            }
        };
        for o in chain.iter().rev() {
            path = join_clean(&path, &o.arg);
        }
        Some(path)
    }

    /// What the per-open key `k` is.
    pub fn identify(&self, k: Key) -> Identity {
        let Some(open) = self.ids.get(&k.1) else {
            return Identity::Unknown;
        };
        let path = self.path_of_open(open);
        let is = match open.file {
            Some((_, _, is)) => is,
            None if path.as_deref().is_none_or(gone_was_regular) => Is::File,
            None => Is::Other,
        };
        if is == Is::Other {
            return Identity::NotAFile;
        }
        match path {
            Some(path) => Identity::Named(FileName {
                mntns: open.mntns,
                path,
                truncated: open.truncated,
                unlinked: open.unlinked,
                dir: is == Is::Dir,
                inodes: open.file.filter(|f| f.1 != 0).map(|(dev, ino, _)| (dev, ino)).into_iter().collect(),
            }),
            None => Identity::Unknown,
        }
    }

    /// An id like the kernel's (open time << 8 | CPU), with a time before
    /// recording started, as the open it stands for: the kernel side compares
    /// open times with fork times (fd_open_id), and no id it makes later can
    /// be the same.
    fn seed_id(&mut self) -> u64 {
        self.last_seed = crate::clock::monotonic_ns().max(self.last_seed + 1);
        (self.last_seed << 8) | 0xff
    }

    /// An id for the directory `dir` (absolute), to be the cwd of `tgid` or of a child of it.
    pub fn seed_dir(&mut self, dir: &Path, tgid: u32) -> u64 {
        let id = self.seed_id();
        let mntns = self.mntns(tgid);
        self.ids.insert(id, Open::seeded(dir.as_os_str().as_bytes(), mntns));
        id
    }

    /// Give every file and directory the selected processes have open now,
    /// and their working directories, an id (with a position for files), as
    /// if opened under the recording.
    pub fn seed(&mut self, obj: &Object, pids: &[u32]) -> Result<()> {
        let (fds, opens, cwds) = (
            obj.map(map_name!("fds" in RECORD_LEGACY))?,
            obj.map(map_name!("opens" in RECORD_LEGACY))?,
            obj.map(map_name!("cwds" in RECORD_LEGACY))?,
        );
        for &pid in pids {
            let mntns = self.mntns(pid);
            if let Ok(cwd) = std::fs::read_link(format!("/proc/{pid}/cwd")) {
                let id = self.seed_dir(&cwd, pid);
                cwds.set(&pid, &id)?;
            }
            let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
                continue;
            };
            for ent in dir.flatten() {
                let Some(fd) = ent.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
                    continue;
                };
                let (Ok(target), Ok(m)) = (std::fs::read_link(ent.path()), std::fs::metadata(ent.path())) else {
                    continue;
                };
                if !(m.is_file() || m.is_dir()) || !target.is_absolute() {
                    continue;
                }
                let id = self.seed_id();
                // A directory is only a base for relative opens: no state, nothing counted.
                if m.is_file() {
                    let (pos, flags) = fdinfo(pid, fd);
                    let mut of = open_file {
                        regular: 1,
                        pos,
                        append: (flags & libc::O_APPEND as u64 != 0) as u8,
                        ..Default::default()
                    };
                    of.key.id = id;
                    opens.set(&id, &of)?;
                }
                fds.set(&fd_key { tgid: pid, fd }, &id)?;
                let path = target.as_os_str().as_bytes();
                let unlinked = path.ends_with(b" (deleted)");
                let open = Open {
                    file: Some((kernel_dev(m.dev()), m.ino(), Is::of(&m))),
                    unlinked,
                    ..Open::seeded(path.strip_suffix(b" (deleted)").unwrap_or(path), mntns)
                };
                self.ids.insert(id, open);
            }
        }
        Ok(())
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

/// Where sched:sched_process_fork's format file puts child_pid: offset 44
/// while the comms were char[16], 20 since they are __data_loc strings. Each
/// layout has its fork program (tp_fork_at44, tp_fork_at20).
fn fork_child_pid_at(f: &Features) -> Result<u16> {
    match f.tracefs.field("sched", "sched_process_fork", "child_pid")?.offset {
        off @ (44 | 20) => Ok(off),
        off => Err(Error::msg(format!("sched_process_fork has child_pid at offset {off}: cannot follow children"))),
    }
}

pub fn fork_at44(f: &Features) -> Result<bool> {
    Ok(fork_child_pid_at(f)? == 44)
}

pub fn fork_at20(f: &Features) -> Result<bool> {
    Ok(fork_child_pid_at(f)? == 20)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_joined_and_cleaned_lexically() {
        assert_eq!(join_clean(b"/", b"/a/./b/../c"), b"/a/c");
        assert_eq!(join_clean(b"/", b"/../x"), b"/x");
        assert_eq!(join_clean(b"/srv/d", b"x/../y"), b"/srv/d/y");
        assert_eq!(join_clean(b"/srv/d", b"/abs"), b"/abs");
        assert_eq!(join_clean(b"/srv", b".."), b"/");
    }

    #[test]
    fn dev_encoding_matches_the_kernel() {
        assert_eq!(kernel_dev(libc::makedev(254, 1)), (254 << 20) | 1);
    }
}
