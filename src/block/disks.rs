//! Block devices by name and by the kernel's dev_t, from sysfs.

use std::collections::HashMap;
use std::path::Path;

use crate::error::{Error, Result};

const SYSFS: &str = "/sys/class/block";

/// The kernel's dev_t encoding (MINORBITS = 20), as the block tracepoints record it.
pub fn kernel_dev(major: u32, minor: u32) -> u32 {
    (major << 20) | minor
}

pub fn major_minor(dev: u32) -> (u32, u32) {
    (dev >> 20, dev & ((1 << 20) - 1))
}

fn read_dev(name: &str) -> Option<u32> {
    let text = std::fs::read_to_string(Path::new(SYSFS).join(name).join("dev")).ok()?;
    let (maj, min) = text.trim().split_once(':')?;
    Some(kernel_dev(maj.parse().ok()?, min.parse().ok()?))
}

/// A whole disk (the block tracepoints report disks, not partitions).
#[derive(Clone, Debug)]
pub struct Disk {
    pub name: String,
    pub dev: u32,
}

impl Disk {
    /// `-d` argument: `vda` or `/dev/vda`.
    pub fn find(arg: &str) -> Result<Disk> {
        let name = arg.strip_prefix("/dev/").unwrap_or(arg);
        let dir = Path::new(SYSFS).join(name);
        let dev = read_dev(name).ok_or_else(|| Error::usage(format!("no block device '{arg}'")))?;
        if dir.join("partition").exists() {
            return Err(Error::usage(format!(
                "{name} is a partition; block tracepoints report whole disks: use -d {}",
                disk_of(name).unwrap_or_else(|| "DISK".into())
            )));
        }
        Ok(Disk { name: name.to_string(), dev })
    }
}

/// The disk a partition is on: /sys/class/block/vda1 links to .../block/vda/vda1.
fn disk_of(partition: &str) -> Option<String> {
    let real = std::fs::canonicalize(Path::new(SYSFS).join(partition)).ok()?;
    Some(real.parent()?.file_name()?.to_string_lossy().into_owned())
}

/// (partition dev, its disk's dev) for every partition now.
pub fn partitions() -> Vec<(u32, u32)> {
    let Ok(dir) = std::fs::read_dir(SYSFS) else {
        return vec![];
    };
    dir.flatten()
        .filter(|e| e.path().join("partition").exists())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            Some((read_dev(&name)?, read_dev(&disk_of(&name)?)?))
        })
        .collect()
}

/// Size of a block device in 512-byte sectors (0 if unknown).
pub fn sectors(name: &str) -> u64 {
    std::fs::read_to_string(Path::new(SYSFS).join(name).join("size"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// dev_t -> device name, reloaded when an unknown device shows up
/// (a loop device attached while tracing).
#[derive(Default)]
pub struct Names(HashMap<u32, String>);

impl Names {
    fn load(&mut self) {
        let Ok(dir) = std::fs::read_dir(SYSFS) else {
            return;
        };
        for e in dir.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(dev) = read_dev(&name) {
                self.0.insert(dev, name);
            }
        }
    }

    /// The device's name, or "major:minor" for one sysfs does not know
    /// (remembered: sysfs is read again only for a new dev_t, not per event).
    pub fn name(&mut self, dev: u32) -> String {
        if !self.0.contains_key(&dev) {
            self.load();
        }
        self.0
            .entry(dev)
            .or_insert_with(|| {
                let (maj, min) = major_minor(dev);
                format!("{maj}:{min}")
            })
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_encoding_round_trips() {
        assert_eq!(kernel_dev(254, 1), (254 << 20) | 1);
        assert_eq!(major_minor(kernel_dev(7, 3)), (7, 3));
    }
}
