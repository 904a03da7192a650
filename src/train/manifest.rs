//! A data set's `manifest.csv`: which method made each file and which video a frame came from,
//! so that evaluation can report per-method rows and video-level figures.
//!
//! Format: a header line, then one line per file, comma-separated with `"…"` quoting:
//!
//! ```text
//! path,label,method,source_repo,source_path
//! fake/DFDC_fake/a_f0000.png,fake,DFDC_fake,owner/repo@commit,"videos/a.mp4#frame=0#crop=798,80,303"
//! ```
//!
//! `path` is relative to the manifest's folder; `label` is `real` or `fake`; `method` names the
//! manipulation (or the kind of real footage); `source_path` before its first `#` names the
//! video (frames of one video are near-copies). Only `path` is required; other columns may be
//! missing or empty, and columns not named here are ignored.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// What the manifest says about one file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ManifestEntry {
    /// The manipulation method (or kind of real footage), if given.
    pub method: Option<String>,
    /// The video the file is a frame of (`source_path` before `#`), if given.
    pub video: Option<String>,
}

/// The entries of a manifest, by absolute file path.
#[derive(Debug, Clone, Default)]
pub struct Manifest {
    entries: HashMap<PathBuf, ManifestEntry>,
}

/// Why a manifest could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The manifest.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// No `path` column in the header.
    #[error("{0}: the header has no `path` column")]
    NoPathColumn(PathBuf),
}

impl Manifest {
    /// Reads `path`; file paths in it are taken relative to its folder.
    pub fn read(path: &Path) -> Result<Self, ManifestError> {
        let text = std::fs::read_to_string(path).map_err(|source| ManifestError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new(""));
        Self::parse(&text, base).ok_or_else(|| ManifestError::NoPathColumn(path.to_path_buf()))
    }

    /// Parses manifest text; `None` without a `path` column.
    pub fn parse(text: &str, base: &Path) -> Option<Self> {
        let mut lines = text.lines().filter(|l| !l.trim().is_empty());
        let header = fields(lines.next()?);
        let column = |name: &str| header.iter().position(|h| h.trim() == name);
        let path_column = column("path")?;
        let (method_column, source_column) = (column("method"), column("source_path"));
        let mut entries = HashMap::new();
        for line in lines {
            let row = fields(line);
            let Some(file) = row.get(path_column).filter(|p| !p.is_empty()) else {
                continue;
            };
            let get = |c: Option<usize>| {
                c.and_then(|c| row.get(c))
                    .map(|v| v.trim().to_string())
                    .filter(|v| !v.is_empty())
            };
            let video = get(source_column)
                .map(|source| source.split('#').next().unwrap_or_default().to_string());
            entries.insert(
                key(&base.join(file)),
                ManifestEntry {
                    method: get(method_column),
                    video,
                },
            );
        }
        Some(Self { entries })
    }

    /// The entry of `file`, if the manifest lists it.
    pub fn get(&self, file: &Path) -> Option<&ManifestEntry> {
        self.entries.get(&key(file))
    }

    /// Files listed.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no file is listed.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// The key of a file: its canonical path where it exists, else the path with `.` and `..`
/// resolved lexically.
fn key(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| normalise(path))
}

/// `a/./b/../c` → `a/c`, without touching the file system.
fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// The fields of one CSV line (`"…"` quotes, `""` inside quotes for a quote).
fn fields(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut field)),
            other => field.push(other),
        }
    }
    out.push(field);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "path,label,method,source_repo,source_path\n\
        fake/DFDC_fake/a_f0000.png,fake,DFDC_fake,o/r@c,\"videos/a.mp4#frame=0#crop=798,80,303\"\n\
        fake/DFDC_fake/a_f0033.png,fake,DFDC_fake,o/r@c,videos/a.mp4#frame=33\n\
        real/x/one.jpg,real,,o/r@c,\n";

    #[test]
    fn frames_of_one_video_share_it_and_quoted_commas_stay_in_their_field() {
        let manifest = Manifest::parse(TEXT, Path::new("/sets/dfdc")).expect("has a path column");
        assert_eq!(manifest.len(), 3);
        let first = manifest
            .get(Path::new("/sets/dfdc/fake/DFDC_fake/a_f0000.png"))
            .expect("listed");
        assert_eq!(first.method.as_deref(), Some("DFDC_fake"));
        assert_eq!(first.video.as_deref(), Some("videos/a.mp4"));
        let second = manifest
            .get(Path::new("/sets/dfdc/./fake/DFDC_fake/a_f0033.png"))
            .expect("listed, whatever the spelling of the path");
        assert_eq!(second.video, first.video);
        let real = manifest
            .get(Path::new("/sets/dfdc/real/x/one.jpg"))
            .expect("listed");
        assert_eq!(real, &ManifestEntry::default());
    }

    #[test]
    fn a_manifest_without_a_path_column_is_refused() {
        assert!(Manifest::parse("file,label\na.png,fake\n", Path::new("")).is_none());
    }
}
