//! Where the faces of a training file are, remembered between runs: the crop boxes, detector
//! boxes and blend regions that face detection and landmarks found, keyed by the file's content
//! hash and the settings they depend on. A second run over the same folders decodes the files
//! but skips detection and landmarks, which are most of the time spent reading faces.
//!
//! One small JSON file per image under the cache folder: `$MCLCR_CACHE/faces`, else
//! `$XDG_CACHE_HOME/mclcr/faces`, else `~/.cache/mclcr/faces`. An entry that cannot be read is
//! recomputed; a write that fails only costs the next run its time. Entries are written
//! atomically ([`crate::atomic_file`]), so a killed run leaves no torn entry.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::imaging::faces::{DetectedFace, FaceBox};

/// Bump when the meaning of an entry changes.
const VERSION: u32 = 1;

/// What was found in one file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CachedFace {
    /// The detector's face (`None` for a whole-image crop).
    pub detected: Option<DetectedFace>,
    /// The crop around it, in image pixels.
    pub crop_box: FaceBox,
    /// The blend region in the resized crop's pixels.
    pub hull: Vec<(f32, f32)>,
}

/// A cache folder and the settings its entries are valid for.
#[derive(Debug, Clone)]
pub struct FaceCache {
    dir: PathBuf,
    settings: String,
}

impl FaceCache {
    /// The cache in the default folder (see the module docs) for entries made with `settings`
    /// (every setting the faces depend on, e.g. detector settings, margin, crop side, faces per
    /// image, the landmark model's checksum); `None` without a home or cache folder.
    pub fn open_default(settings: &str) -> Option<Self> {
        let base = std::env::var_os("MCLCR_CACHE")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("mclcr")))
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/mclcr")))?;
        Some(Self::open(&base.join("faces"), settings))
    }

    /// The cache in `dir`.
    pub fn open(dir: &Path, settings: &str) -> Self {
        Self {
            dir: dir.to_path_buf(),
            settings: format!("v{VERSION}|{settings}"),
        }
    }

    /// The entry file of the content with SHA-256 `sha256`.
    fn entry(&self, sha256: &str) -> PathBuf {
        let mut hasher = Sha256::new();
        hasher.update(self.settings.as_bytes());
        hasher.update(b"|");
        hasher.update(sha256.as_bytes());
        let key: String = hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        self.dir.join(&key[..2]).join(format!("{}.json", &key[2..]))
    }

    /// The faces remembered for this content, if any.
    pub fn get(&self, sha256: &str) -> Option<Vec<CachedFace>> {
        let text = std::fs::read_to_string(self.entry(sha256)).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Remembers the faces of this content.
    pub fn put(&self, sha256: &str, faces: &[CachedFace]) -> std::io::Result<()> {
        let path = self.entry(sha256);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let json = serde_json::to_string(faces).map_err(std::io::Error::other)?;
        Ok(crate::atomic_file::write(&path, json)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("mclcr-face-cache-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn an_entry_comes_back_for_the_same_content_and_settings_only() {
        let dir = folder("roundtrip");
        let cache = FaceCache::open(&dir, "side=256");
        let faces = vec![CachedFace {
            detected: Some(DetectedFace {
                bbox: FaceBox {
                    x: 10,
                    y: 12,
                    width: 40,
                    height: 44,
                },
                confidence: 7.5,
                detector: Default::default(),
            }),
            crop_box: FaceBox {
                x: 0,
                y: 0,
                width: 64,
                height: 64,
            },
            hull: vec![(1.0, 2.0), (30.0, 2.0), (15.0, 40.0)],
        }];
        assert_eq!(cache.get("abc"), None);
        cache.put("abc", &faces).expect("writable");
        assert_eq!(cache.get("abc"), Some(faces));
        assert_eq!(cache.get("abd"), None, "other content");
        assert_eq!(
            FaceCache::open(&dir, "side=224").get("abc"),
            None,
            "other settings"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_damaged_entry_is_a_miss() {
        let dir = folder("damaged");
        let cache = FaceCache::open(&dir, "s");
        cache.put("abc", &[]).expect("writable");
        std::fs::write(cache.entry("abc"), "{not json").expect("writable");
        assert_eq!(cache.get("abc"), None);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
