//! Analysing many images with flat memory: decoding and face detection on worker threads,
//! faces batched to the model on the calling thread, reports delivered in input order.
//!
//! ```text
//! inputs ──► [bounded jobs] ──► N workers: read, decode, detect, crop ──► [bounded] ──►
//!     model thread: batch faces across images, score, verdict ──► callback, in input order
//! ```
//! Every queue is bounded, so at most a few decoded images are alive at a time however large
//! the folder. A file that fails gives a report with its error; the scan goes on.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError};
use std::sync::{Arc, Mutex};

use image::RgbImage;
use serde::Serialize;

use crate::evidence::{self, LoadLimits};
use crate::faces::{self, DetectedFace, DetectorSettings, FaceBox, FaceDetector};
use crate::heatmap;
use crate::robustness::{self, VariantScore};
use crate::scorer::{FaceScore, Scorer};
use crate::verdict::{Band, Flag, FlagRules, image_band};

/// File extensions picked up when walking folders (files named explicitly are always read).
pub const IMAGE_EXTENSIONS: [&str; 13] = [
    "jpg", "jpeg", "jpe", "png", "webp", "tif", "tiff", "bmp", "gif", "heic", "heif", "avif",
    "jfif",
];

/// At most this many faces per image are scored (the most confident ones).
pub const MAX_FACES_PER_IMAGE: usize = 32;

/// How to analyse.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Decoding limits.
    pub limits: LoadLimits,
    /// Face detector settings.
    pub detector: DetectorSettings,
    /// Crop margin around a face box, as a fraction of its longer side on each side.
    pub margin: f32,
    /// Treat every image as one face crop (inputs that are already crops).
    pub whole_image: bool,
    /// Faces per model batch.
    pub batch: usize,
    /// Decoding / detection threads.
    pub workers: usize,
    /// What raises flags.
    pub flag_rules: FlagRules,
    /// Write explanation maps as PNG files here.
    pub maps_dir: Option<PathBuf>,
    /// Re-score every face under JPEG re-compression and rescaling.
    pub robustness: bool,
    /// Attach a thumbnail whose longer side is this many pixels to every report.
    pub thumbnail: Option<u32>,
    /// Set from another thread to stop: inputs not yet started are dropped, the scan returns
    /// once those in flight are reported.
    pub cancel: Option<Arc<AtomicBool>>,
}

impl Default for ScanOptions {
    fn default() -> Self {
        Self {
            limits: LoadLimits::default(),
            detector: DetectorSettings::default(),
            margin: faces::DEFAULT_MARGIN,
            whole_image: false,
            batch: 8,
            workers: crate::device::cpu_threads().saturating_sub(1).max(1),
            flag_rules: FlagRules::default(),
            maps_dir: None,
            robustness: false,
            thumbnail: None,
            cancel: None,
        }
    }
}

/// One face's result.
#[derive(Debug, Clone, Serialize)]
pub struct FaceReport {
    /// The detector's box (`None` with `--whole-image`).
    pub bbox: Option<FaceBox>,
    /// The detector's confidence.
    pub detector_confidence: Option<f32>,
    /// The crop the model saw.
    pub crop: FaceBox,
    /// P(manipulated).
    pub score: f32,
    /// The face's band.
    pub band: Band,
    /// Explanation map files written for this face.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub maps: Vec<PathBuf>,
    /// Scores under re-compression and rescaling (with `--robustness`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub robustness: Vec<VariantScore>,
}

/// One image's result.
#[derive(Debug, Clone, Serialize)]
pub struct ImageReport {
    /// Position in the input order.
    #[serde(skip)]
    pub index: usize,
    /// The file.
    pub path: PathBuf,
    /// SHA-256 of the file's bytes.
    pub sha256: Option<String>,
    /// Container format.
    pub format: Option<&'static str>,
    /// Width in pixels (after EXIF orientation).
    pub width: Option<u32>,
    /// Height in pixels.
    pub height: Option<u32>,
    /// Estimated JPEG quality.
    pub jpeg_quality: Option<u8>,
    /// The image's verdict (`None` when the file could not be analysed).
    pub verdict: Option<Band>,
    /// The highest face score.
    pub max_score: Option<f32>,
    /// Per-face results.
    pub faces: Vec<FaceReport>,
    /// Conditions that limit the verdict.
    pub flags: Vec<Flag>,
    /// Why the file could not be analysed.
    pub error: Option<String>,
    /// A small copy of the image (with [`ScanOptions::thumbnail`]).
    #[serde(skip)]
    pub thumbnail: Option<RgbImage>,
}

impl ImageReport {
    fn failed(index: usize, path: PathBuf, error: String) -> Self {
        Self {
            index,
            path,
            sha256: None,
            format: None,
            width: None,
            height: None,
            jpeg_quality: None,
            verdict: None,
            max_score: None,
            faces: Vec::new(),
            flags: Vec::new(),
            error: Some(error),
            thumbnail: None,
        }
    }
}

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

/// A decoded image with its face crops, on its way to the model.
struct Decoded {
    index: usize,
    path: PathBuf,
    result: Result<DecodedImage, String>,
}

struct DecodedImage {
    sha256: String,
    format: &'static str,
    width: u32,
    height: u32,
    jpeg_quality: Option<u8>,
    faces: Vec<(Option<DetectedFace>, FaceBox, RgbImage)>,
    flags: Vec<Flag>,
    thumbnail: Option<RgbImage>,
}

fn decode_one(
    path: &Path,
    options: &ScanOptions,
    detector: &mut Option<FaceDetector>,
    input_side: u32,
) -> Result<DecodedImage, String> {
    let loaded = evidence::load(path, &options.limits).map_err(|e| e.to_string())?;
    let (width, height) = loaded.rgb.dimensions();
    let faces: Vec<(Option<DetectedFace>, FaceBox, RgbImage)> = if options.whole_image {
        let crop = FaceBox {
            x: 0,
            y: 0,
            width,
            height,
        };
        vec![(None, crop, loaded.rgb.clone())]
    } else {
        let detector = match detector {
            Some(d) => d,
            None => {
                detector.insert(FaceDetector::new(options.detector).map_err(|e| e.to_string())?)
            }
        };
        detector
            .detect(&loaded.rgb)
            .into_iter()
            .take(MAX_FACES_PER_IMAGE)
            .map(|face| {
                let crop = faces::crop_box(&face.bbox, width, height, options.margin);
                (Some(face), crop, faces::cut(&loaded.rgb, &crop))
            })
            .collect()
    };
    let mut flags = Vec::new();
    if faces.is_empty() {
        flags.push(Flag::NoFace);
    }
    if faces.len() >= options.flag_rules.many_faces {
        flags.push(Flag::ManyFaces { count: faces.len() });
    }
    if let Some(side) = faces
        .iter()
        .map(|(_, crop, _)| crop.width.min(crop.height))
        .filter(|&side| side < input_side)
        .min()
    {
        flags.push(Flag::SmallFace {
            side,
            input: input_side,
        });
    }
    if let Some(quality) = loaded.jpeg_quality
        && quality < options.flag_rules.heavy_jpeg_below
    {
        flags.push(Flag::HeavyCompression { quality });
    }
    let thumbnail = options.thumbnail.map(|side| {
        let scale = side.max(1) as f32 / width.max(height).max(1) as f32;
        let (w, h) = (
            ((width as f32 * scale).round() as u32).max(1),
            ((height as f32 * scale).round() as u32).max(1),
        );
        image::imageops::thumbnail(&loaded.rgb, w, h)
    });
    Ok(DecodedImage {
        sha256: loaded.sha256,
        format: loaded.format,
        width,
        height,
        jpeg_quality: loaded.jpeg_quality,
        faces,
        flags,
        thumbnail,
    })
}

/// Analyses `inputs` (from [`collect_inputs`]) and calls `on_report` once per input, in input
/// order. Returns when every input has been reported.
pub fn scan(
    inputs: Vec<(PathBuf, Option<String>)>,
    scorer: &Scorer,
    options: &ScanOptions,
    mut on_report: impl FnMut(ImageReport),
) {
    let workers = options.workers.max(1);
    let (job_tx, job_rx) = mpsc::sync_channel::<(usize, PathBuf, Option<String>)>(workers * 2);
    let (done_tx, done_rx) = mpsc::sync_channel::<Decoded>(workers + 2);
    let job_rx = Arc::new(Mutex::new(job_rx));
    let input_side = scorer.input_side();
    std::thread::scope(|scope| {
        let cancel = options.cancel.clone();
        scope.spawn(move || {
            for (index, (path, error)) in inputs.into_iter().enumerate() {
                if cancel.as_ref().is_some_and(|c| c.load(Ordering::Relaxed))
                    || job_tx.send((index, path, error)).is_err()
                {
                    break;
                }
            }
        });
        for _ in 0..workers {
            let job_rx = Arc::clone(&job_rx);
            let done_tx: SyncSender<Decoded> = done_tx.clone();
            scope.spawn(move || {
                let mut detector = None;
                loop {
                    let job = match job_rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => break,
                    };
                    let Ok((index, path, error)) = job else { break };
                    let result = match error {
                        Some(e) => Err(e),
                        // A decoder bug on one file must not take the batch down with it.
                        None => std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            decode_one(&path, options, &mut detector, input_side)
                        }))
                        .unwrap_or_else(|_| {
                            detector = None;
                            Err("internal error while decoding this file".to_string())
                        }),
                    };
                    if done_tx
                        .send(Decoded {
                            index,
                            path,
                            result,
                        })
                        .is_err()
                    {
                        break;
                    }
                }
            });
        }
        drop(done_tx);
        infer(done_rx, scorer, options, &mut on_report);
    });
}

/// The model side: batches faces across images and delivers reports in order.
fn infer(
    done_rx: Receiver<Decoded>,
    scorer: &Scorer,
    options: &ScanOptions,
    on_report: &mut impl FnMut(ImageReport),
) {
    let batch = options.batch.max(1);
    let mut waiting: Vec<(usize, PathBuf, DecodedImage)> = Vec::new();
    let mut finished: BTreeMap<usize, ImageReport> = BTreeMap::new();
    let mut next = 0usize;
    let mut open = true;
    while open || !waiting.is_empty() {
        let received = if waiting.is_empty() {
            done_rx.recv().map_err(|_| TryRecvError::Disconnected)
        } else {
            done_rx.try_recv()
        };
        let idle = received.is_err();
        match received {
            Ok(decoded) => match decoded.result {
                Ok(image) if !image.faces.is_empty() => {
                    waiting.push((decoded.index, decoded.path, image));
                }
                Ok(image) => {
                    let report = build_report(decoded.index, decoded.path, image);
                    finished.insert(report.index, report);
                }
                Err(error) => {
                    finished.insert(
                        decoded.index,
                        ImageReport::failed(decoded.index, decoded.path, error),
                    );
                }
            },
            Err(TryRecvError::Empty) => {}
            Err(TryRecvError::Disconnected) => open = false,
        }
        let pending: usize = waiting.iter().map(|(_, _, image)| image.faces.len()).sum();
        if pending > 0 && (pending >= batch || idle) {
            for report in score_waiting(std::mem::take(&mut waiting), scorer, options, batch) {
                finished.insert(report.index, report);
            }
        }
        while let Some(report) = finished.remove(&next) {
            on_report(report);
            next += 1;
        }
    }
    // Nothing is left behind should an input never have come back.
    for report in finished.into_values() {
        on_report(report);
    }
}

fn score_waiting(
    waiting: Vec<(usize, PathBuf, DecodedImage)>,
    scorer: &Scorer,
    options: &ScanOptions,
    batch: usize,
) -> Vec<ImageReport> {
    let crops: Vec<&RgbImage> = waiting
        .iter()
        .flat_map(|(_, _, image)| image.faces.iter().map(|(_, _, crop)| crop))
        .collect();
    let mut scores: Vec<FaceScore> = Vec::with_capacity(crops.len());
    for chunk in crops.chunks(batch) {
        scores.extend(scorer.score(chunk.iter().copied()));
    }
    // Per face, its score under each robustness variant (empty without the check).
    let mut variant_scores: Vec<Vec<VariantScore>> = vec![Vec::new(); crops.len()];
    if options.robustness {
        for (face, crop) in variant_scores.iter_mut().zip(&crops) {
            *face = robustness::variant_scores(scorer, crop);
        }
    }
    let mut variant_scores = variant_scores.into_iter();
    let mut scores = scores.into_iter();
    waiting
        .into_iter()
        .map(|(index, path, image)| {
            let image_scores: Vec<FaceScore> = scores.by_ref().take(image.faces.len()).collect();
            let image_variants: Vec<Vec<VariantScore>> =
                variant_scores.by_ref().take(image.faces.len()).collect();
            let maps = match &options.maps_dir {
                Some(dir) => write_maps(dir, &path, &image, &image_scores, scorer.input_side()),
                None => vec![Vec::new(); image_scores.len()],
            };
            let mut report = build_report(index, path, image);
            report.faces = image_faces(&report, &image_scores, maps, image_variants, scorer);
            finalise(&mut report, scorer);
            report
        })
        .collect()
}

/// The report of a decoded image, with its faces' boxes but no scores yet.
fn build_report(index: usize, path: PathBuf, image: DecodedImage) -> ImageReport {
    let mut report = ImageReport {
        index,
        path,
        sha256: Some(image.sha256),
        format: Some(image.format),
        width: Some(image.width),
        height: Some(image.height),
        jpeg_quality: image.jpeg_quality,
        verdict: None,
        max_score: None,
        faces: Vec::new(),
        flags: image.flags,
        error: None,
        thumbnail: image.thumbnail,
    };
    report.faces = image
        .faces
        .into_iter()
        .map(|(face, crop, _)| FaceReport {
            bbox: face.map(|f| f.bbox),
            detector_confidence: face.map(|f| f.confidence),
            crop,
            score: f32::NAN,
            band: Band::NotApplicable,
            maps: Vec::new(),
            robustness: Vec::new(),
        })
        .collect();
    if report.faces.is_empty() {
        report.verdict = Some(image_band(&[], &report.flags));
    }
    report
}

fn image_faces(
    report: &ImageReport,
    scores: &[FaceScore],
    maps: Vec<Vec<PathBuf>>,
    variants: Vec<Vec<VariantScore>>,
    scorer: &Scorer,
) -> Vec<FaceReport> {
    report
        .faces
        .iter()
        .zip(scores)
        .zip(maps)
        .zip(variants)
        .map(|(((face, score), maps), robustness)| FaceReport {
            score: score.probability,
            band: Band::of_score(
                score.probability,
                &scorer.manifest.bands,
                scorer.manifest.trained,
            ),
            maps,
            robustness,
            ..face.clone()
        })
        .collect()
}

/// The image's verdict and highest score from its scored faces.
fn finalise(report: &mut ImageReport, scorer: &Scorer) {
    let manifest = &scorer.manifest;
    let flips = report.faces.iter().any(|face| {
        robustness::band_flips(
            &face.robustness,
            face.band,
            &manifest.bands,
            manifest.trained,
        )
    });
    if flips {
        report.flags.push(Flag::Unstable);
    }
    let bands: Vec<Band> = report.faces.iter().map(|f| f.band).collect();
    report.verdict = Some(image_band(&bands, &report.flags));
    report.max_score = report
        .faces
        .iter()
        .map(|f| f.score)
        .filter(|s| s.is_finite())
        .reduce(f32::max);
}

/// Writes each face's maps as PNGs; returns the files per face. A write failure is reported on
/// stderr and leaves that face without maps; it does not stop the scan.
fn write_maps(
    dir: &Path,
    path: &Path,
    image: &DecodedImage,
    scores: &[FaceScore],
    side: u32,
) -> Vec<Vec<PathBuf>> {
    let stem: String = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let prefix = format!("{stem}-{}", &image.sha256[..8.min(image.sha256.len())]);
    image
        .faces
        .iter()
        .zip(scores)
        .enumerate()
        .map(|(k, ((_, _, crop), score))| {
            let face =
                image::imageops::resize(crop, side, side, image::imageops::FilterType::CatmullRom);
            let cell = (side as usize / score.gram_side.max(1)).max(1) as u32;
            let views = [
                (
                    "amplitude",
                    heatmap::overlay(&face, &score.amplitude_map, score.grid, 0.55),
                ),
                (
                    "phase",
                    heatmap::overlay(&face, &score.phase_map, score.grid, 0.55),
                ),
                (
                    "style1",
                    heatmap::matrix(&score.grams[0], score.gram_side, cell),
                ),
                (
                    "style2",
                    heatmap::matrix(&score.grams[1], score.gram_side, cell),
                ),
                (
                    "style3",
                    heatmap::matrix(&score.grams[2], score.gram_side, cell),
                ),
            ];
            let mut written = Vec::new();
            for (name, picture) in views {
                let file = dir.join(format!("{prefix}-face{}-{name}.png", k + 1));
                match picture.save(&file) {
                    Ok(()) => written.push(file),
                    Err(e) => eprintln!("mclcr: cannot write {}: {e}", file.display()),
                }
            }
            written
        })
        .collect()
}
