//! A manifest and its weights file replaced together. Each file alone is written atomically
//! ([`crate::atomic_file`]), but a pair is two renames, and a process killed between them would
//! leave a manifest whose checksum names the other weights. So the new weights first go in
//! beside the old under a name of their own (`<stem>.<checksum>.safetensors`), the manifest
//! moves to them, the usual name (`<stem>.safetensors`) gets the same bytes, the manifest moves
//! back to it, and the side file goes. At every moment the manifest on disk names a complete
//! weights file with its checksum; a side file left by a kill is removed by the next save.

use std::path::{Path, PathBuf};

use crate::atomic_file::{self, Staged};
use crate::weights::error::ModelFileError;
use crate::weights::store::ModelManifest;

/// Hex digits of the checksum in a side file's name.
const SIDE_DIGITS: usize = 12;

/// Puts the weights written to `staged` (whose destination is the usual weights path) and
/// `manifest` (its checksum already filled in) in place, in an order that survives a kill at any
/// moment (see the module docs). The manifest's `weights` field ends as the usual file name.
pub(crate) fn replace_together(
    staged: Staged,
    mut manifest: ModelManifest,
    manifest_path: &Path,
) -> Result<ModelManifest, ModelFileError> {
    let weights_path = staged.destination().to_path_buf();
    let side = side_path(&weights_path, &manifest.weights_sha256);
    staged.commit_as(&side)?;
    write_manifest(&mut manifest, manifest_path, &side)?;
    let usual = Staged::new(&weights_path);
    if std::fs::hard_link(&side, usual.path()).is_err() {
        std::fs::copy(&side, usual.path()).map_err(|e| ModelFileError::io(&weights_path, e))?;
    }
    usual.commit()?;
    write_manifest(&mut manifest, manifest_path, &weights_path)?;
    remove_side_files(&weights_path);
    Ok(manifest)
}

/// `<stem>.<first digits of the checksum>.safetensors` beside `weights_path`.
fn side_path(weights_path: &Path, sha256: &str) -> PathBuf {
    let stem = weights_path
        .file_stem()
        .unwrap_or_default()
        .to_string_lossy();
    let digits: String = sha256.chars().take(SIDE_DIGITS).collect();
    weights_path.with_file_name(format!("{stem}.{digits}.safetensors"))
}

/// Writes `manifest` naming `weights` (a file beside it), atomically.
fn write_manifest(
    manifest: &mut ModelManifest,
    manifest_path: &Path,
    weights: &Path,
) -> Result<(), ModelFileError> {
    manifest.weights = weights
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let json = serde_json::to_string_pretty(manifest).map_err(|e| ModelFileError::Manifest {
        path: manifest_path.to_path_buf(),
        message: e.to_string(),
    })?;
    atomic_file::write(manifest_path, json)?;
    Ok(())
}

/// Removes the side files of `weights_path` (`<stem>.<hex digits>.safetensors`): once the
/// manifest names the usual file, none is in use. Best effort.
fn remove_side_files(weights_path: &Path) {
    let Some(folder) = weights_path.parent() else {
        return;
    };
    let folder = if folder.as_os_str().is_empty() {
        Path::new(".")
    } else {
        folder
    };
    let stem = weights_path
        .file_stem()
        .unwrap_or_default()
        .to_string_lossy();
    let Ok(entries) = std::fs::read_dir(folder) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let digits = name
            .strip_prefix(&format!("{stem}."))
            .and_then(|rest| rest.strip_suffix(".safetensors"));
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
    use crate::model::MclcrConfig;

    fn files_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    fn staged_weights(path: &Path, bytes: &[u8]) -> (Staged, String) {
        let staged = Staged::new(path);
        std::fs::write(staged.path(), bytes).unwrap();
        let sha = crate::weights::assets::sha256_file(staged.path()).unwrap();
        (staged, sha)
    }

    #[test]
    fn the_pair_ends_under_the_usual_names_with_no_side_file_left() {
        let dir = std::env::temp_dir().join(format!("mclcr-model-files-{}-a", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let manifest_path = dir.join("last.json");
        let weights = dir.join("last.safetensors");
        for bytes in [&b"first weights"[..], &b"second weights"[..]] {
            let (staged, sha) = staged_weights(&weights, bytes);
            let mut manifest = ModelManifest::new("m", MclcrConfig::tiny(), true);
            manifest.weights_sha256 = sha.clone();
            let written = replace_together(staged, manifest, &manifest_path).unwrap();
            assert_eq!(written.weights, "last.safetensors");
            assert_eq!(std::fs::read(&weights).unwrap(), bytes);
            let on_disk: ModelManifest =
                serde_json::from_str(&std::fs::read_to_string(&manifest_path).unwrap()).unwrap();
            assert_eq!(on_disk.weights, "last.safetensors");
            assert_eq!(on_disk.weights_sha256, sha);
            assert_eq!(files_in(&dir), ["last.json", "last.safetensors"]);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_side_file_left_by_a_kill_is_removed_by_the_next_save_and_others_are_kept() {
        let dir = std::env::temp_dir().join(format!("mclcr-model-files-{}-b", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // What a kill after the first rename leaves: the new weights beside the old.
        std::fs::write(dir.join("last.0123456789ab.safetensors"), b"orphan").unwrap();
        std::fs::write(dir.join("best.0123456789ab.safetensors"), b"another stem").unwrap();
        std::fs::write(dir.join("last.notes.safetensors"), b"not a side file").unwrap();
        let weights = dir.join("last.safetensors");
        let (staged, sha) = staged_weights(&weights, b"weights");
        let mut manifest = ModelManifest::new("m", MclcrConfig::tiny(), true);
        manifest.weights_sha256 = sha;
        replace_together(staged, manifest, &dir.join("last.json")).unwrap();
        assert_eq!(
            files_in(&dir),
            [
                "best.0123456789ab.safetensors",
                "last.json",
                "last.notes.safetensors",
                "last.safetensors"
            ]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
