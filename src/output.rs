//! Output files written whole or not at all: a temporary file beside the
//! destination, renamed into place once complete. What is not a regular file
//! (`-` for standard output, a FIFO, a device, `/dev/stdout`) is written
//! through, never replaced; a symlink is followed and its target replaced.

use std::fs::File;
use std::io::Write;
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
    pub fn commit_with(mut self, mut write: impl FnMut(&mut SmallWrites) -> std::io::Result<()>) -> Result<()> {
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
    write: &mut impl FnMut(&mut SmallWrites) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut w = SmallWrites::new(out);
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

/// A buffered writer for documents written a few bytes at a time, as
/// serde_json writes them (given the concrete type, so that its writes are
/// inlined): each piece is copied by two fixed-size moves, not by a call to
/// the C library's memcpy. With the static musl build, whose
/// memcpy starts every copy with `rep movs`, those calls were half of the
/// time to write the profile of 100k files.
pub struct SmallWrites<'a> {
    buf: Box<[u8]>,
    len: usize,
    out: &'a mut dyn Write,
}

impl<'a> SmallWrites<'a> {
    const CAPACITY: usize = 64 << 10;

    pub fn new(out: &'a mut dyn Write) -> SmallWrites<'a> {
        SmallWrites { buf: vec![0; Self::CAPACITY].into_boxed_slice(), len: 0, out }
    }

    fn flush_buf(&mut self) -> std::io::Result<()> {
        let len = std::mem::take(&mut self.len);
        self.out.write_all(&self.buf[..len])
    }
}

/// Copy `src` to the start of `dst`: up to 32 bytes with two overlapping
/// moves of one width, each of a size known at compile time.
fn copy_small(dst: &mut [u8], src: &[u8]) {
    fn two<const W: usize>(dst: &mut [u8], src: &[u8]) {
        let n = src.len();
        let (a, b): ([u8; W], [u8; W]) = (src[..W].try_into().unwrap(), src[n - W..].try_into().unwrap());
        dst[..W].copy_from_slice(&a);
        dst[n - W..n].copy_from_slice(&b);
    }
    match src.len() {
        0 => {}
        n @ 1..=3 => {
            dst[0] = src[0];
            dst[n / 2] = src[n / 2];
            dst[n - 1] = src[n - 1];
        }
        4..=7 => two::<4>(dst, src),
        8..=15 => two::<8>(dst, src),
        16..=32 => two::<16>(dst, src),
        _ => dst[..src.len()].copy_from_slice(src),
    }
}

impl Write for SmallWrites<'_> {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.write_all(b).map(|()| b.len())
    }

    #[inline]
    fn write_all(&mut self, b: &[u8]) -> std::io::Result<()> {
        if self.len + b.len() > Self::CAPACITY {
            self.flush_buf()?;
            if b.len() > Self::CAPACITY / 2 {
                return self.out.write_all(b);
            }
        }
        copy_small(&mut self.buf[self.len..], b);
        self.len += b.len();
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.flush_buf()?;
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pieces of every length up to 100, a piece of 40 KiB and one past half the
    /// buffer, in an order that crosses the buffer's end many times: written
    /// exactly, in order.
    #[test]
    fn small_writes_keeps_every_byte_in_order() {
        let mut pieces: Vec<Vec<u8>> = Vec::new();
        for round in 0..40u32 {
            for len in 0..100usize {
                pieces.push((0..len).map(|i| (i as u32 * 7 + len as u32 + round) as u8).collect());
            }
            pieces.push(vec![round as u8; 40 << 10]);
        }
        pieces.push(vec![1; SmallWrites::CAPACITY / 2 + 1]);
        let mut out = Vec::new();
        let mut w = SmallWrites::new(&mut out);
        for p in &pieces {
            w.write_all(p).unwrap();
        }
        w.flush().unwrap();
        drop(w);
        assert_eq!(out, pieces.concat());
    }
}
