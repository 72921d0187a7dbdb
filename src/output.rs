//! Output files written whole or not at all: a temporary file beside the
//! destination, renamed into place once complete. What is not a regular file
//! (`-` for standard output, a FIFO, a device, `/dev/stdout`) is written
//! through, never replaced; a symlink is followed and its target replaced.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::{describe_io, Error, Result};

/// Where the output goes.
enum Target {
    /// A regular file (or none yet): written to `tmp` beside it, then renamed over it.
    Replace {
        tmp: PathBuf,
        dest: PathBuf,
        file: File,
    },
    /// Standard output, a FIFO, a device: written in place.
    Through(File),
    Stdout,
}

/// Created up front, so that an unwritable destination fails before anything
/// is traced; `commit` puts the contents in place, dropping it uncommitted
/// removes the temporary file.
pub struct PendingOutput {
    target: Target,
    shown: String,
    what: &'static str,
}

/// Symlinks followed to the file they lead to, which need not exist yet.
fn resolve(dest: &Path) -> Result<PathBuf> {
    let mut p = dest.to_path_buf();
    for _ in 0..40 {
        match std::fs::read_link(&p) {
            Ok(target) => p = p.parent().unwrap_or(Path::new("/")).join(target),
            Err(_) => return Ok(p),
        }
    }
    Err(Error::msg(format!("{}: too many levels of symbolic links", dest.display())))
}

/// `.NAME.tmp.PID` files beside `dest` of processes that are gone (killed before they could clean up).
fn remove_stale(dest: &Path) {
    let (Some(dir), Some(name)) = (dest.parent(), dest.file_name()) else { return };
    let prefix = format!(".{}.tmp.", name.to_string_lossy());
    let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let file = e.file_name();
        let Some(pid) = file.to_str().and_then(|f| f.strip_prefix(&prefix)).and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

impl PendingOutput {
    /// `what` names the file in errors ("profile", "heat map"); `-` is standard output.
    pub fn create(dest: &Path, what: &'static str) -> Result<PendingOutput> {
        let shown = dest.display().to_string();
        let cannot = |e: std::io::Error| Error::msg(format!("cannot write {what} {shown}: {}", describe_io(&e)));
        if dest == Path::new("-") {
            return Ok(PendingOutput { target: Target::Stdout, shown: "standard output".into(), what });
        }
        let target = match std::fs::metadata(dest) {
            Ok(m) if m.is_dir() => return Err(Error::usage(format!("-o {shown}: is a directory"))),
            Ok(m) if !m.is_file() => Target::Through(File::options().write(true).open(dest).map_err(cannot)?),
            _ => {
                let dest = resolve(dest)?;
                let name = dest.file_name().ok_or_else(|| Error::usage(format!("-o {shown}: not a file name")))?;
                remove_stale(&dest);
                let tmp = dest.with_file_name(format!(".{}.tmp.{}", name.to_string_lossy(), std::process::id()));
                let file = File::create(&tmp).map_err(cannot)?;
                Target::Replace { tmp, dest, file }
            }
        };
        Ok(PendingOutput { target, shown, what })
    }

    /// How the destination is named in messages.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// A scratch file beside the destination (on its file system, not in
    /// memory; in the temporary directory for standard output and devices),
    /// already unlinked: it goes away with the process.
    pub fn scratch_file(&self, tag: &str) -> Result<File> {
        let path = match &self.target {
            Target::Replace { tmp, .. } => tmp.with_extension(tag),
            _ => std::env::temp_dir().join(format!(".iotrace.{}.{tag}", std::process::id())),
        };
        let err = |e: std::io::Error| {
            Error::msg(format!("cannot create scratch file {}: {}", path.display(), describe_io(&e)))
        };
        let file = File::options().read(true).write(true).create_new(true).open(&path).map_err(err)?;
        std::fs::remove_file(&path).map_err(err)?;
        Ok(file)
    }

    pub fn commit(self, contents: &[u8]) -> Result<()> {
        self.commit_with(|w| w.write_all(contents))
    }

    /// Stream the contents through `write` (buffered) into place. If a
    /// regular file cannot be written to the end (a full file system), the
    /// contents go to a file in the temporary directory instead, and the
    /// error says where: nothing recorded is lost.
    pub fn commit_with(mut self, mut write: impl FnMut(&mut dyn Write) -> std::io::Result<()>) -> Result<()> {
        let (what, shown) = (self.what, self.shown.clone());
        let res = match &mut self.target {
            Target::Stdout => write_all(&mut std::io::stdout().lock(), &mut write),
            Target::Through(file) => write_all(file, &mut write),
            Target::Replace { tmp, dest, file } => {
                write_all(file, &mut write).and_then(|()| file.sync_all()).and_then(|()| std::fs::rename(tmp, dest))
            }
        };
        let Err(e) = res else { return Ok(()) };
        if !matches!(self.target, Target::Replace { .. }) {
            return Err(Error::msg(format!("cannot write {what} to {shown}: {}", describe_io(&e))));
        }
        let Target::Replace { dest, .. } = &self.target else { unreachable!() };
        let name = dest.file_name().unwrap_or_default().to_string_lossy();
        let fallback = std::env::temp_dir().join(format!("iotrace.{}.{name}", std::process::id()));
        let saved = File::create(&fallback).and_then(|mut f| write_all(&mut f, &mut write).and_then(|()| f.sync_all()));
        match saved {
            Ok(()) => Err(Error::msg(format!(
                "cannot write {what} {shown} ({}): saved to {} instead",
                describe_io(&e),
                fallback.display()
            ))),
            Err(e2) => {
                let _ = std::fs::remove_file(&fallback);
                Err(Error::msg(format!(
                    "cannot write {what} {shown} ({}), nor {} ({})",
                    describe_io(&e),
                    fallback.display(),
                    describe_io(&e2)
                )))
            }
        }
    }
}

fn write_all(
    out: &mut dyn Write,
    write: &mut impl FnMut(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut w = BufWriter::new(out);
    write(&mut w)?;
    w.flush()
}

impl Drop for PendingOutput {
    fn drop(&mut self) {
        if let Target::Replace { tmp, .. } = &self.target {
            let _ = std::fs::remove_file(tmp); // no-op after a successful rename
        }
    }
}
