//! Which files to read: files and folders given by a person expanded into image files.

use std::path::{Path, PathBuf};

/// File extensions picked up when walking folders (files named explicitly are always read).
pub const IMAGE_EXTENSIONS: [&str; 13] = [
    "jpg", "jpeg", "jpe", "png", "webp", "tif", "tiff", "bmp", "gif", "heic", "heif", "avif",
    "jfif",
];

/// Expands files and folders (recursively, in name order) into the image files to analyse.
/// Folders contribute files with an image extension; files named explicitly are always taken.
/// Symbolic links to folders are not followed (no loops). Paths that cannot be listed come back
/// with their error.
pub fn collect_inputs(paths: &[PathBuf]) -> Vec<(PathBuf, Option<String>)> {
    let mut out = Vec::new();
    for path in paths {
        match std::fs::metadata(path) {
            Ok(m) if m.is_dir() => walk(path, &mut out),
            Ok(_) => out.push((path.clone(), None)),
            Err(e) => out.push((path.clone(), Some(format!("cannot read file: {e}")))),
        }
    }
    out
}

fn walk(dir: &Path, out: &mut Vec<(PathBuf, Option<String>)>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            out.push((dir.to_path_buf(), Some(format!("cannot list folder: {e}"))));
            return;
        }
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        let Ok(link) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if link.is_dir() {
            walk(&path, out);
            continue;
        }
        let is_image = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()));
        if !is_image {
            continue;
        }
        if link.file_type().is_symlink() {
            // A link to a file is followed; a broken or looping link is reported.
            match std::fs::metadata(&path) {
                Ok(m) if m.is_dir() => {}
                Ok(_) => out.push((path, None)),
                Err(e) => out.push((path, Some(format!("cannot read file: {e}")))),
            }
        } else {
            out.push((path, None));
        }
    }
}
