//! A manifest and its weights file replaced together. Each file alone is written atomically
//! ([`crate::atomic_file`]), but a pair is two renames, and a process killed between them would
//! leave a manifest whose checksum names the other weights. So the new weights first go in
//! beside the old under a hidden name of their own (`.<weights file>.<checksum digits>`), the
//! manifest moves to them, the usual name gets the same bytes, the manifest moves back to it,
//! and the side file goes. At every moment the manifest on disk names a complete weights file
//! with its checksum; a side file left by a kill is removed by the next save of the same file.
//! Side files are named after the weights file and hidden, so no file of the user's matches.

use std::path::{Path, PathBuf};

use crate::atomic_file::{self, Staged};
use crate::weights::error::ModelFileError;

/// Hex digits of the checksum in a side file's name.
const SIDE_DIGITS: usize = 12;

/// Puts the weights written to `staged` (whose destination is the usual weights path, and whose
/// checksum is `sha256`) in place together with their manifest, in an order that survives a
/// kill at any moment (see the module docs). `write_manifest` writes the manifest, atomically,
/// naming the weights file it is given (a file name beside the manifest); it is called twice,
/// last with the usual name.
pub(crate) fn replace_together(
    staged: Staged,
    sha256: &str,
    mut write_manifest: impl FnMut(&str) -> Result<(), ModelFileError>,
) -> Result<(), ModelFileError> {
    let weights_path = staged.destination().to_path_buf();
    let side = side_path(&weights_path, sha256);
    staged.commit_as(&side)?;
    write_manifest(&file_name(&side))?;
    let usual = Staged::new(&weights_path);
    if std::fs::hard_link(&side, usual.path()).is_err() {
        std::fs::copy(&side, usual.path()).map_err(|e| ModelFileError::io(&weights_path, e))?;
    }
    usual.commit()?;
    write_manifest(&file_name(&weights_path))?;
    remove_side_files(&weights_path);
    Ok(())
}

/// The last component of `path`, as text.
fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `.<weights file name>.<first digits of the checksum>` beside `weights_path`.
fn side_path(weights_path: &Path, sha256: &str) -> PathBuf {
    let digits: String = sha256.chars().take(SIDE_DIGITS).collect();
    weights_path.with_file_name(format!("{}{digits}", side_prefix(weights_path)))
}

/// What every side file of `weights_path` is named with before its checksum digits.
fn side_prefix(weights_path: &Path) -> String {
    format!(".{}.", file_name(weights_path))
}

/// Removes the side files of `weights_path`: once the manifest names the usual file, none is in
/// use. Best effort.
fn remove_side_files(weights_path: &Path) {
    let prefix = side_prefix(weights_path);
    let Ok(entries) = std::fs::read_dir(atomic_file::folder_of(weights_path)) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let digits = name.strip_prefix(&prefix);
        if digits
            .is_some_and(|d| d.len() == SIDE_DIGITS && d.chars().all(|c| c.is_ascii_hexdigit()))
        {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// Replaces `last.json` + `last.safetensors` in `dir` with `bytes`; the manifest is the line
    /// "<weights file> <checksum>". Returns each manifest written, in order.
    fn save(dir: &Path, bytes: &[u8]) -> Vec<String> {
        let staged = Staged::new(&dir.join("last.safetensors"));
        std::fs::write(staged.path(), bytes).unwrap();
        let sha = crate::weights::assets::sha256_file(staged.path()).unwrap();
        let mut written = Vec::new();
        replace_together(staged, &sha, |weights| {
            // What the manifest names must be complete when the manifest is written.
            assert_eq!(std::fs::read(dir.join(weights)).unwrap(), bytes);
            let line = format!("{weights} {sha}");
            crate::atomic_file::write(&dir.join("last.json"), &line)?;
            written.push(line);
            Ok(())
        })
        .unwrap();
        written
    }

    #[test]
    fn the_pair_ends_under_the_usual_names_with_no_side_file_left() {
        let dir = std::env::temp_dir().join(format!("mclcr-model-files-{}-a", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for bytes in [&b"first weights"[..], &b"second weights"[..]] {
            let written = save(&dir, bytes);
            assert_eq!(written.len(), 2);
            assert!(
                written[0].starts_with(".last.safetensors."),
                "{}",
                written[0]
            );
            assert!(written[1].starts_with("last.safetensors "));
            assert_eq!(std::fs::read(dir.join("last.safetensors")).unwrap(), bytes);
            assert_eq!(
                std::fs::read_to_string(dir.join("last.json")).unwrap(),
                written[1]
            );
            assert_eq!(files_in(&dir), ["last.json", "last.safetensors"]);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_side_file_left_by_a_kill_is_removed_by_the_next_save_and_others_are_kept() {
        let dir = std::env::temp_dir().join(format!("mclcr-model-files-{}-b", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // What a kill after the first rename leaves: the new weights beside the old.
        std::fs::write(dir.join(".last.safetensors.0123456789ab"), b"orphan").unwrap();
        std::fs::write(
            dir.join(".best.safetensors.0123456789ab"),
            b"another file's",
        )
        .unwrap();
        // A user's file that only looks like one.
        std::fs::write(
            dir.join("last.0123456789ab.safetensors"),
            b"not a side file",
        )
        .unwrap();
        save(&dir, b"weights");
        assert_eq!(
            files_in(&dir),
            [
                ".best.safetensors.0123456789ab",
                "last.0123456789ab.safetensors",
                "last.json",
                "last.safetensors"
            ]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
