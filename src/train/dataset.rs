//! Training data: labelled folders of real and manipulated images (frames or face crops), or
//! real faces alone, made into face crops with the same rule as analysis, split into training
//! and validation by identity.
//!
//! An identity is the first folder level below a given root (`real/<person>/frame.png`); files
//! directly in a root are each their own identity. Whole identities go to one side of the split,
//! so the validation faces belong to people the model has not trained on.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use image::RgbImage;
use serde::{Deserialize, Serialize};

use crate::imaging::evidence::{self, LoadLimits};
use crate::imaging::face_finder::{FaceFinder, FoundFace};
use crate::imaging::faces::{self, DetectorSettings, FaceBox};
use crate::imaging::inputs::collect_inputs;
use crate::imaging::landmarks::Landmarker;
use crate::rng::Rng;
use crate::train::face_cache::{CachedFace, FaceCache};
use crate::train::selfblend::{SelfBlendConfig, face_hull};
use crate::train::source_size::self_blend_at_source_size;
use crate::weights::assets;

/// One face ready for training: the crop at the model's input size and the face box in it.
#[derive(Debug, Clone)]
pub struct FaceSample {
    /// Square crop, `side × side`.
    pub crop: RgbImage,
    /// The detector's face box inside the crop (the whole crop with `whole_image`).
    pub face: FaceBox,
    /// The face region in crop pixels: the landmarks' hull (see [`face_hull`]).
    pub hull: Vec<(f32, f32)>,
    /// True for a manipulated face from a fake folder.
    pub fake: bool,
    /// The identity (see the module docs).
    pub identity: String,
    /// The file it came from.
    pub path: PathBuf,
    /// The face's size in the file: the longer side of the detector's box in image pixels (of
    /// the whole image with `whole_image`).
    pub source_side: u32,
}

impl FaceSample {
    /// A self-blended (real, fake) pair made from this face: on the stored crop, or with
    /// `at_source_size` at the face's size in its file (see [`self_blend_at_source_size`]).
    pub fn self_blended(
        &self,
        config: &SelfBlendConfig,
        at_source_size: bool,
        rng: &mut Rng,
    ) -> (RgbImage, RgbImage) {
        let scale = if at_source_size {
            self.source_side as f32 / self.face.width.max(self.face.height).max(1) as f32
        } else {
            1.0
        };
        self_blend_at_source_size(&self.crop, &self.hull, scale, config, rng)
    }
}

/// What was found in the folders, for the checkpoint and the user.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DataSummary {
    /// Real faces in training.
    pub train_real: usize,
    /// Manipulated faces (from folders) in training.
    pub train_fake: usize,
    /// Real faces in validation.
    pub val_real: usize,
    /// Manipulated faces (from folders) in validation.
    pub val_fake: usize,
    /// Identities in training / validation.
    pub identities: [usize; 2],
    /// Files that could not be used, with the reason.
    pub skipped: Vec<String>,
}

/// The training and validation faces.
#[derive(Debug, Clone, Default)]
pub struct DataSplit {
    /// Training faces.
    pub train: Vec<FaceSample>,
    /// Validation faces.
    pub val: Vec<FaceSample>,
    /// Counts and skipped files.
    pub summary: DataSummary,
    /// Files in which no face was found, and whether they came from a fake folder.
    pub no_face: Vec<(PathBuf, bool)>,
}

/// Why no data set could be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DataError {
    /// No real face at all.
    #[error("no usable real face found in {0} (need at least one image with a detectable face)")]
    NoRealFaces(String),
    /// Too few identities to hold some out.
    #[error("validation needs faces of at least 2 identities; found {0}")]
    TooFewIdentities(usize),
    /// The landmark model could not be loaded.
    #[error("cannot load the landmark model: {0}")]
    Landmarks(String),
}

/// A face crop made from an image file.
#[derive(Debug, Clone)]
pub struct FaceCrop {
    /// Square crop, `side × side`.
    pub crop: RgbImage,
    /// The detector's face box inside the crop.
    pub face: FaceBox,
    /// The face region inside the crop (see [`face_hull`]).
    pub hull: Vec<(f32, f32)>,
    /// The longer side of the face in the file, in pixels.
    pub source_side: u32,
}

/// Reads image files into face crops with their blend regions: the faces by the
/// [`FaceFinder`] that analysis uses, the regions from 68-point landmarks. The models are loaded
/// on first use.
#[derive(Debug, Default)]
pub struct CropReader {
    finder: FaceFinder,
    landmarker: Option<Landmarker>,
    cache: Option<FaceCache>,
}

/// How to read the folders.
#[derive(Debug, Clone)]
pub struct DataOptions {
    /// Side of the crops (the model's input).
    pub side: u32,
    /// Inputs are face crops already: no detection.
    pub whole_image: bool,
    /// Fraction of identities held out for validation.
    pub val_fraction: f32,
    /// Seed of the split.
    pub seed: u64,
    /// At most this many faces per image (the most confident).
    pub faces_per_image: usize,
    /// Identities left out entirely (a test set kept apart from training and validation).
    pub exclude: Vec<String>,
    /// When not empty, only these identities are read.
    pub only: Vec<String>,
}

impl Default for DataOptions {
    fn default() -> Self {
        Self {
            side: 256,
            whole_image: false,
            val_fraction: 0.2,
            seed: 0,
            faces_per_image: 1,
            exclude: Vec::new(),
            only: Vec::new(),
        }
    }
}

/// The identity of `path` under `root`.
pub fn identity(root: &Path, path: &Path) -> String {
    let relative = path.strip_prefix(root).unwrap_or(path);
    let mut parts = relative.components();
    match (parts.next(), parts.next()) {
        (Some(first), Some(_)) => first.as_os_str().to_string_lossy().into_owned(),
        _ => path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default(),
    }
}

/// Called after each file read with (files read, files to read), from the reading threads.
pub type ReadProgress<'a> = &'a (dyn Fn(usize, usize) + Sync);

/// Reads real and fake folders into face samples and splits them by identity, calling
/// `progress` after each file.
pub fn load(
    real: &[PathBuf],
    fake: &[PathBuf],
    options: &DataOptions,
    progress: ReadProgress<'_>,
) -> Result<DataSplit, DataError> {
    let mut skipped = Vec::new();
    let mut no_face = Vec::new();
    let mut samples = Vec::new();
    // The files to read, in order: (path, from a fake folder, identity).
    let mut files = Vec::new();
    for (roots, is_fake) in [(real, false), (fake, true)] {
        for root in roots {
            for (path, error) in collect_inputs(std::slice::from_ref(root)) {
                if let Some(error) = error {
                    skipped.push(format!("{}: {error}", path.display()));
                    continue;
                }
                let who = identity(root, &path);
                if options.exclude.contains(&who)
                    || (!options.only.is_empty() && !options.only.contains(&who))
                {
                    continue;
                }
                files.push((path, is_fake, who));
            }
        }
    }
    let results = read_in_parallel(&files, options, progress);
    for ((path, is_fake, who), result) in files.into_iter().zip(results) {
        match result {
            Ok(found) if found.is_empty() => {
                skipped.push(format!("{}: no face found", path.display()));
                no_face.push((path, is_fake));
            }
            Ok(found) => {
                // Real and fake faces of a person share an identity when the folder names
                // match, so both land on the same side of the split.
                for FaceCrop {
                    crop,
                    face,
                    hull,
                    source_side,
                } in found
                {
                    samples.push(FaceSample {
                        crop,
                        face,
                        hull,
                        source_side,
                        fake: is_fake,
                        identity: who.clone(),
                        path: path.clone(),
                    });
                }
            }
            Err(FaceError::Landmarks(e)) => return Err(DataError::Landmarks(e)),
            Err(FaceError::File(e)) => skipped.push(format!("{}: {e}", path.display())),
        }
    }
    if !samples.iter().any(|s| !s.fake) {
        let roots: Vec<String> = real.iter().map(|p| p.display().to_string()).collect();
        return Err(DataError::NoRealFaces(if roots.is_empty() {
            "(no --real folder given)".into()
        } else {
            roots.join(", ")
        }));
    }
    let mut by_identity: BTreeMap<String, Vec<FaceSample>> = BTreeMap::new();
    for sample in samples {
        by_identity
            .entry(sample.identity.clone())
            .or_default()
            .push(sample);
    }
    let mut identities: Vec<String> = by_identity.keys().cloned().collect();
    if options.val_fraction > 0.0 && identities.len() < 2 {
        return Err(DataError::TooFewIdentities(identities.len()));
    }
    Rng::new(options.seed).shuffle(&mut identities);
    let held_out = if options.val_fraction > 0.0 {
        ((identities.len() as f32 * options.val_fraction).round() as usize)
            .clamp(1, identities.len() - 1)
    } else {
        0
    };
    let mut split = DataSplit {
        no_face,
        ..DataSplit::default()
    };
    for (i, id) in identities.iter().enumerate() {
        let faces = by_identity.remove(id).unwrap_or_default();
        if i < held_out {
            split.val.extend(faces);
        } else {
            split.train.extend(faces);
        }
    }
    let count = |v: &[FaceSample], fake| v.iter().filter(|s| s.fake == fake).count();
    split.summary = DataSummary {
        train_real: count(&split.train, false),
        train_fake: count(&split.train, true),
        val_real: count(&split.val, false),
        val_fake: count(&split.val, true),
        identities: [identities.len() - held_out, held_out],
        skipped,
    };
    if split.summary.train_real == 0 {
        return Err(DataError::NoRealFaces(
            "the training side of the split".into(),
        ));
    }
    Ok(split)
}

/// Why the faces of one file could not be had.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FaceError {
    /// The file (unreadable, not an image, ...): skip it.
    #[error("{0}")]
    File(String),
    /// The landmark model is missing or broken: nothing can proceed.
    #[error("cannot load the landmark model: {0}")]
    Landmarks(String),
}

impl CropReader {
    /// A reader that remembers what it finds in `cache` (see [`FaceCache`]).
    pub fn with_cache(cache: Option<FaceCache>) -> Self {
        Self {
            cache,
            ..Self::default()
        }
    }

    /// The face crops of one image file (at most `faces_per_image`, most confident first),
    /// resized to `side`, each with the face box and the face region in crop pixels.
    pub fn face_crops(
        &mut self,
        path: &Path,
        options: &DataOptions,
    ) -> Result<Vec<FaceCrop>, FaceError> {
        let loaded = evidence::load(path, &LoadLimits::default())
            .map_err(|e| FaceError::File(e.to_string()))?;
        let image = &loaded.rgb;
        let cached = self.cache.as_ref().and_then(|c| c.get(&loaded.sha256));
        let faces = match cached {
            Some(faces) => faces,
            None => {
                let faces = self.find(image, options)?;
                if let Some(cache) = &self.cache {
                    // A cache that cannot be written only costs the next run its time.
                    let _ = cache.put(&loaded.sha256, &faces);
                }
                faces
            }
        };
        Ok(faces
            .into_iter()
            .map(|cached| {
                let found = FoundFace {
                    crop: faces::cut(image, &cached.crop_box),
                    detected: cached.detected,
                    crop_box: cached.crop_box,
                };
                let (crop, face) = found.resized(options.side);
                FaceCrop {
                    crop,
                    face,
                    hull: cached.hull,
                    source_side: found.face_side(),
                }
            })
            .collect())
    }

    /// Detection and landmarks: the faces of `image` with their blend regions.
    fn find(
        &mut self,
        image: &RgbImage,
        options: &DataOptions,
    ) -> Result<Vec<CachedFace>, FaceError> {
        let found = self
            .finder
            .find(
                image,
                options.whole_image,
                faces::DEFAULT_MARGIN,
                options.faces_per_image.max(1),
            )
            .map_err(|e| FaceError::File(e.to_string()))?;
        if found.is_empty() {
            return Ok(Vec::new());
        }
        let landmarker = match &self.landmarker {
            Some(l) => l,
            None => self.landmarker.insert(
                Landmarker::load(&burn::prelude::Device::flex())
                    .map_err(|e| FaceError::Landmarks(e.to_string()))?,
            ),
        };
        Ok(found
            .into_iter()
            .map(|found| {
                let (crop, face) = found.resized(options.side);
                let marks = landmarker.detect(&crop, std::slice::from_ref(&face));
                CachedFace {
                    hull: face_hull(marks.first(), &face),
                    detected: found.detected,
                    crop_box: found.crop_box,
                }
            })
            .collect())
    }
}

/// Everything the faces depend on, for the cache key.
fn cache_settings(options: &DataOptions) -> String {
    format!(
        "side={}|whole={}|faces={}|margin={}|detector={:?}|landmarks={}|blazeface={}",
        options.side,
        options.whole_image,
        options.faces_per_image.max(1),
        faces::DEFAULT_MARGIN,
        DetectorSettings::default(),
        assets::FACE_LANDMARK_68_SHA256,
        assets::BLAZEFACE_BACK_SHA256
    )
}

/// What reading one file gave: its face crops, or why there are none.
type FileFaces = Result<Vec<FaceCrop>, FaceError>;

/// The face crops of every file, read on one thread per core (each with its own detector and
/// landmark model), in the order of `files`.
fn read_in_parallel(
    files: &[(PathBuf, bool, String)],
    options: &DataOptions,
    progress: ReadProgress<'_>,
) -> Vec<FileFaces> {
    let next = AtomicUsize::new(0);
    let finished = AtomicUsize::new(0);
    let cache = FaceCache::open_default(&cache_settings(options));
    let threads = crate::device::cpu_threads().clamp(1, files.len().max(1));
    // Each thread takes the next file until none is left and keeps (index, result) pairs.
    let read: Vec<Vec<(usize, FileFaces)>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut reader = CropReader::with_cache(cache.clone());
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some((path, _, _)) = files.get(i) else {
                            break;
                        };
                        // A decoder bug on one file must not take the whole read with it.
                        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            reader.face_crops(path, options)
                        }))
                        .unwrap_or_else(|_| {
                            reader = CropReader::with_cache(cache.clone());
                            Err(FaceError::File(
                                "internal error while reading this file".into(),
                            ))
                        });
                        done.push((i, result));
                        progress(finished.fetch_add(1, Ordering::Relaxed) + 1, files.len());
                    }
                    done
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_default())
            .collect()
    });
    let mut results: Vec<FileFaces> = files
        .iter()
        .map(|_| Err(FaceError::File("not read".into())))
        .collect();
    for (i, result) in read.into_iter().flatten() {
        results[i] = result;
    }
    results
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_is_the_first_folder_below_the_root() {
        let root = Path::new("/data/real");
        assert_eq!(
            identity(root, Path::new("/data/real/alice/f1.png")),
            "alice"
        );
        assert_eq!(
            identity(root, Path::new("/data/real/alice/clip2/f1.png")),
            "alice"
        );
        assert_eq!(identity(root, Path::new("/data/real/bob.jpg")), "bob");
    }
}
