//! Output files written whole or not at all: a temporary file beside the
//! destination, renamed into place once complete.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Created up front, so that an unwritable destination fails before anything
/// is traced; `commit` renames it into place, dropping it uncommitted removes it.
pub struct PendingOutput {
    tmp: PathBuf,
    dest: PathBuf,
    file: File,
    what: &'static str,
}

impl PendingOutput {
    /// `what` names the file in errors ("profile", "heat map").
    pub fn create(dest: &Path, what: &'static str) -> Result<PendingOutput> {
        let name = dest.file_name().ok_or_else(|| Error::usage(format!("{}: not a file name", dest.display())))?;
        let tmp = dest.with_file_name(format!(".{}.tmp.{}", name.to_string_lossy(), std::process::id()));
        let file =
            File::create(&tmp).map_err(|e| Error::msg(format!("cannot write {what} {}: {e}", dest.display())))?;
        Ok(PendingOutput { tmp, dest: dest.to_path_buf(), file, what })
    }

    /// A scratch file beside the destination (on its file system, not in
    /// memory), already unlinked: it goes away with the process.
    pub fn scratch_file(&self, tag: &str) -> Result<File> {
        let path = self.tmp.with_extension(tag);
        let err = |e: std::io::Error| Error::msg(format!("cannot create scratch file {}: {e}", path.display()));
        let file = File::options().read(true).write(true).create_new(true).open(&path).map_err(err)?;
        std::fs::remove_file(&path).map_err(err)?;
        Ok(file)
    }

    pub fn commit(self, contents: &[u8]) -> Result<()> {
        self.commit_with(|w| w.write_all(contents))
    }

    /// Stream the contents through `write` (buffered), then rename into place.
    pub fn commit_with(mut self, write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> Result<()> {
        let res = (|| -> std::io::Result<()> {
            let mut w = BufWriter::new(&mut self.file);
            write(&mut w)?;
            w.flush()?;
            drop(w);
            self.file.sync_all()?;
            std::fs::rename(&self.tmp, &self.dest)
        })();
        res.map_err(|e| Error::msg(format!("cannot write {} {}: {e}", self.what, self.dest.display())))
    }
}

impl Drop for PendingOutput {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.tmp); // no-op after a successful rename
    }
}
