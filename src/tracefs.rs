//! Finding (and if needed mounting) tracefs. Fresh hosts, old and new, boot
//! with neither tracefs nor debugfs mounted; libbpf needs one of them to turn a
//! tracepoint name into an id.

use std::ffi::CString;
use std::path::{Path, PathBuf};

use crate::error::{describe, describe_io, Error, Result};
use crate::shared::tp_field;

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
        describe(err)
    )))
}

impl Tracefs {
    /// Does tracepoint CATEGORY:NAME exist on this kernel?
    pub fn has_event(&self, category: &str, name: &str) -> bool {
        self.path.join("events").join(category).join(name).is_dir()
    }
}

/// One field of a tracepoint record, from the event's `format` file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub offset: u16,
    pub size: u16,
}

/// Parse a `format` file's `field:TYPE NAME[N];\toffset:O;\tsize:S;...` lines.
fn parse_fields(text: &str) -> Vec<Field> {
    text.lines()
        .filter_map(|l| {
            let mut parts = l.trim().split(';').map(str::trim);
            let decl = parts.next()?.strip_prefix("field:")?;
            let name = decl.rsplit(' ').next()?.split('[').next()?.to_string();
            let (mut offset, mut size) = (None, None);
            for p in parts {
                if let Some(v) = p.strip_prefix("offset:") {
                    offset = v.parse().ok();
                } else if let Some(v) = p.strip_prefix("size:") {
                    size = v.parse().ok();
                }
            }
            Some(Field { name, offset: offset?, size: size? })
        })
        .collect()
}

impl Tracefs {
    /// The record layout of tracepoint CATEGORY:NAME.
    pub fn fields(&self, category: &str, name: &str) -> Result<Vec<Field>> {
        let path = self.path.join("events").join(category).join(name).join("format");
        let text = std::fs::read_to_string(&path)
            .map_err(|e| Error::msg(format!("{}: {}", path.display(), describe_io(&e))))?;
        Ok(parse_fields(&text))
    }

    /// Field `field` of CATEGORY:NAME, or an error naming what is missing.
    pub fn field(&self, category: &str, name: &str, field: &str) -> Result<Field> {
        self.fields(category, name)?
            .into_iter()
            .find(|f| f.name == field)
            .ok_or_else(|| Error::msg(format!("tracepoint {category}:{name} has no field {field} on this kernel")))
    }

    /// Where a legacy BPF object finds `field` of CATEGORY:NAME's records,
    /// checked to be one of `sizes` bytes.
    pub fn tp_field(&self, category: &str, name: &str, field: &str, sizes: &[u16]) -> Result<tp_field> {
        let f = self.field(category, name, field)?;
        if !sizes.contains(&f.size) {
            return Err(Error::msg(format!(
                "tracepoint {category}:{name}: field {field} is {} bytes, expected {sizes:?}",
                f.size
            )));
        }
        Ok(tp_field { offset: f.offset, size: f.size })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_files_parse() {
        let text = "name: block_rq_complete\nID: 1\nformat:\n\
            \tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\
            \tfield:dev_t dev;\toffset:8;\tsize:4;\tsigned:0;\n\
            \tfield:char rwbs[10];\toffset:34;\tsize:10;\tsigned:0;\n\
            \tfield:__data_loc char[] cmd;\toffset:44;\tsize:4;\tsigned:0;\n\nprint fmt: \"%d\"\n";
        let f = parse_fields(text);
        assert_eq!(f.len(), 4);
        assert_eq!(f[1], Field { name: "dev".into(), offset: 8, size: 4 });
        assert_eq!(f[2], Field { name: "rwbs".into(), offset: 34, size: 10 });
        assert_eq!(f[3].name, "cmd");
    }
}
