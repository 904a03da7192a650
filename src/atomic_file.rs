//! Files written whole or not at all: every file mclcr writes goes to a temporary file beside
//! its destination, is flushed to disk (`fsync`), then renamed over the destination, and the
//! folder is synced so the rename itself survives a power cut. A failure at any step (a full
//! disk, a folder that cannot be written, a kill half-way) leaves the old file as it was and no
//! temporary file behind, and the error says which file and which step failed.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A write that did not happen: the destination is unchanged.
// The OS error is part of the message, not a `source`: callers printing the error chain would
// otherwise show it twice.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {}: {step}: {error}", path.display())]
pub struct WriteError {
    /// The file that was to be written.
    pub path: PathBuf,
    /// The step that failed, e.g. "creating a temporary file beside it".
    pub step: &'static str,
    /// The operating system's error.
    pub error: std::io::Error,
}

impl From<WriteError> for std::io::Error {
    fn from(e: WriteError) -> Self {
        std::io::Error::new(e.error.kind(), e.to_string())
    }
}

/// A temporary file beside a destination, renamed over it by [`Staged::commit`]; dropped
/// uncommitted, it is removed. For writers that want a path of their own (weight stores).
#[derive(Debug)]
pub struct Staged {
    temporary: PathBuf,
    destination: PathBuf,
    committed: bool,
}

impl Staged {
    /// A temporary path beside `destination` (hidden, named after it, unique in this process).
    pub fn new(destination: &Path) -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let mut name = std::ffi::OsString::from(".");
        name.push(destination.file_name().unwrap_or_default());
        name.push(format!(
            ".tmp-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        Self {
            temporary: destination.with_file_name(name),
            destination: destination.to_path_buf(),
            committed: false,
        }
    }

    /// Where to write.
    pub fn path(&self) -> &Path {
        &self.temporary
    }

    /// The destination.
    pub fn destination(&self) -> &Path {
        &self.destination
    }

    fn failed(&self, step: &'static str, error: std::io::Error) -> WriteError {
        WriteError {
            path: self.destination.clone(),
            step,
            error,
        }
    }

    /// Flushes the temporary file to disk and renames it over the destination.
    pub fn commit(self) -> Result<(), WriteError> {
        let destination = self.destination.clone();
        self.commit_as(&destination)
    }

    /// [`Staged::commit`] to another destination in the same folder (a name known only once
    /// the content is written, such as one carrying its checksum).
    pub fn commit_as(mut self, destination: &Path) -> Result<(), WriteError> {
        self.destination = destination.to_path_buf();
        let file = File::open(&self.temporary)
            .map_err(|e| self.failed("reopening the temporary file", e))?;
        file.sync_all()
            .map_err(|e| self.failed("flushing to disk", e))?;
        drop(file);
        std::fs::rename(&self.temporary, &self.destination)
            .map_err(|e| self.failed("replacing it with the new file", e))?;
        self.committed = true;
        sync_folder(&self.destination);
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.temporary);
        }
    }
}

/// The folder `path` is in (`.` for a bare file name).
pub(crate) fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Makes a rename in `path`'s folder durable; best effort (not every system syncs folders).
fn sync_folder(path: &Path) {
    if let Ok(dir) = File::open(folder_of(path)) {
        let _ = dir.sync_all();
    }
}

/// Writes `path` through `fill`, atomically: `fill` writes the whole content to a buffered
/// temporary file; when it fails, the destination is left as it was.
pub fn write_with<F>(path: &Path, fill: F) -> Result<(), WriteError>
where
    F: FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
{
    let mut staged = Staged::new(path);
    let file = File::create(staged.path())
        .map_err(|e| staged.failed("creating a temporary file beside it", e))?;
    let mut writer = BufWriter::new(file);
    fill(&mut writer).map_err(|e| staged.failed("writing", e))?;
    let file = writer
        .into_inner()
        .map_err(|e| staged.failed("writing", e.into_error()))?;
    file.sync_all()
        .map_err(|e| staged.failed("flushing to disk", e))?;
    drop(file);
    std::fs::rename(staged.path(), path)
        .map_err(|e| staged.failed("replacing it with the new file", e))?;
    staged.committed = true;
    sync_folder(path);
    Ok(())
}

/// Writes `bytes` to `path` atomically.
pub fn write(path: &Path, bytes: impl AsRef<[u8]>) -> Result<(), WriteError> {
    write_with(path, |file| file.write_all(bytes.as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("mclcr-atomic-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn leftovers(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".tmp-"))
            .collect()
    }

    #[test]
    fn a_write_replaces_the_file_and_leaves_nothing_behind() {
        let dir = folder("replace");
        let path = dir.join("out.csv");
        write(&path, "old").unwrap();
        write(&path, "new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        assert!(leftovers(&dir).is_empty());
    }

    #[test]
    fn a_write_failing_half_way_keeps_the_old_file() {
        let dir = folder("half");
        let path = dir.join("out.csv");
        write(&path, "old").unwrap();
        let err = write_with(&path, |file| {
            file.write_all(&[b'x'; 100_000])?;
            Err(std::io::Error::from_raw_os_error(28)) // ENOSPC, as a full disk gives
        })
        .unwrap_err();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        assert!(leftovers(&dir).is_empty(), "{:?}", leftovers(&dir));
        let message = err.to_string();
        assert!(
            message.contains("out.csv") && message.contains("writing"),
            "{message}"
        );
    }

    #[test]
    fn a_folder_that_cannot_be_written_is_a_clear_error() {
        // A path below a regular file: no writes there, even as root.
        let dir = folder("blocked");
        let file = dir.join("file");
        write(&file, "in the way").unwrap();
        let err = write(&file.join("out.csv"), "x").unwrap_err();
        assert_eq!(err.step, "creating a temporary file beside it");
        assert!(err.to_string().contains("out.csv"), "{err}");
    }

    #[test]
    fn a_failed_rename_keeps_what_is_there() {
        // The destination is a non-empty folder: the rename fails, the folder stays.
        let dir = folder("rename");
        let path = dir.join("taken");
        std::fs::create_dir_all(path.join("inside")).unwrap();
        let err = write(&path, "x").unwrap_err();
        assert_eq!(err.step, "replacing it with the new file");
        assert!(path.join("inside").is_dir());
        assert!(leftovers(&dir).is_empty());
    }

    #[test]
    fn a_staged_file_is_removed_unless_committed() {
        let dir = folder("staged");
        let path = dir.join("weights.bin");
        let staged = Staged::new(&path);
        std::fs::write(staged.path(), "partial").unwrap();
        drop(staged);
        assert!(leftovers(&dir).is_empty() && !path.exists());
        let staged = Staged::new(&path);
        std::fs::write(staged.path(), "whole").unwrap();
        staged.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "whole");
    }
}
