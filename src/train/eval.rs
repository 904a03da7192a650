//! A model measured on labelled folders (or on self-blends of real faces): the faces and their
//! scores, ACC / AUC / EER with the ROC, the share of faces in each verdict band, and how stable
//! the bands of real faces are under JPEG re-encoding. `mclcr eval` prints and writes it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use image::RgbImage;

use crate::analysis::robustness;
use crate::analysis::verdict::Band;
use crate::imaging::jpeg::recompress;
use crate::inference::scorer::Scorer;
use crate::rng::Rng;
use crate::train::auc_interval::{self, AucInterval};
use crate::train::dataset::{self, DataError, DataOptions, DataSummary};
use crate::train::manifest::Manifest;
use crate::train::metrics::{self, DetectionMetrics, MetricsError};
use crate::train::selfblend::SelfBlendConfig;
use crate::weights::store::BandThresholds;

/// What to evaluate on.
#[derive(Debug, Clone, Default)]
pub struct EvalRequest {
    /// Folders of real faces.
    pub real: Vec<PathBuf>,
    /// Folders of manipulated faces; empty: self-blends of the real faces (seeded).
    pub fake: Vec<PathBuf>,
    /// Inputs are face crops already.
    pub whole_image: bool,
    /// Seed of the self-blends.
    pub seed: u64,
    /// At most this many faces per image.
    pub faces_per_image: usize,
    /// When not empty, only these identities (a run's held-out test set).
    pub only: Vec<String>,
    /// JPEG qualities of the stability check (empty: no check).
    pub jpeg_qualities: Vec<u8>,
    /// Methods and videos of the files (see [`crate::train::manifest`]).
    pub manifest: Option<Manifest>,
}

/// Why an evaluation could not be made.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// No usable faces.
    #[error(transparent)]
    Data(#[from] DataError),
    /// Too few faces of one class for the figures.
    #[error(transparent)]
    Metrics(#[from] MetricsError),
}

/// One evaluated face.
#[derive(Debug, Clone)]
pub struct ScoredFace {
    /// The file it came from.
    pub path: PathBuf,
    /// Its identity (see [`crate::train::dataset`]).
    pub identity: String,
    /// Manipulated (from a fake folder, or a self-blend).
    pub fake: bool,
    /// P(manipulated).
    pub score: f32,
    /// The face's longer side in its file, in pixels.
    pub source_side: u32,
    /// The manipulation method (manifest, else the first folder under the fake root); `None`
    /// for real faces and self-blends.
    pub method: Option<String>,
    /// The video the face's file is a frame of (manifest), else the file itself.
    pub video: String,
}

/// A model's figures on a set of faces.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// Every face scored, real ones followed by their self-blends where there are no fake
    /// folders.
    pub faces: Vec<ScoredFace>,
    /// Whether the manipulated faces are self-blends.
    pub self_blended: bool,
    /// The identities evaluated.
    pub identities: BTreeSet<String>,
    /// Files that could not be used.
    pub data: DataSummary,
    /// ACC, AUC, EER and the ROC.
    pub metrics: DetectionMetrics,
    /// The AUC's interval over resamples of the videos (see [`crate::train::auc_interval`]);
    /// `None` with fewer than two videos (files) of a class.
    pub auc_interval: Option<AucInterval>,
    /// The thresholds the band shares were counted at (the model's).
    pub bands: BandThresholds,
    /// Share of faces per band.
    pub band_rates: BandRates,
    /// JPEG stability of the real faces' bands.
    pub jpeg: Option<JpegStability>,
    /// Per manipulation method, against all real faces.
    pub methods: Vec<Breakdown>,
    /// By the face's size in its file.
    pub by_face_size: Vec<Breakdown>,
    /// Videos (frames grouped, mean score), when some video has more than one frame.
    pub videos: Option<VideoFigures>,
    /// Files without a detectable face, left out: `[real, manipulated]`.
    pub no_face: [usize; 2],
}

/// Figures for a part of the faces.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Breakdown {
    /// What the part is (a method, a size range).
    pub name: String,
    /// Real faces in it.
    pub real: usize,
    /// Manipulated faces in it.
    pub manipulated: usize,
    /// AUC, where both classes are present.
    pub auc: Option<f64>,
    /// Video-level AUC (frames grouped, mean score), where both classes are present.
    pub video_auc: Option<f64>,
    /// Share of its manipulated faces called "likely manipulated".
    pub caught: Option<f64>,
    /// Share of its real faces called "likely manipulated".
    pub flagged: Option<f64>,
    /// Files of this part without a detectable face (methods only).
    pub no_face: usize,
}

/// Video-level figures: each video's score is the mean of its frames' scores.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct VideoFigures {
    /// Real videos.
    pub real: usize,
    /// Manipulated videos.
    pub manipulated: usize,
    /// AUC over videos.
    pub auc: Option<f64>,
}

/// Upper bounds (exclusive) of the face-size ranges, in pixels of the face's longer side.
pub const FACE_SIZE_BOUNDS: [u32; 6] = [64, 96, 128, 192, 256, u32::MAX];

/// Evaluates `scorer` on the faces `request` names.
pub fn evaluate(scorer: &Scorer, request: &EvalRequest) -> Result<Evaluation, EvalError> {
    let data = dataset::load(
        &request.real,
        &request.fake,
        &DataOptions {
            side: scorer.input_side(),
            whole_image: request.whole_image,
            val_fraction: 0.0,
            seed: request.seed,
            faces_per_image: request.faces_per_image.max(1),
            exclude: Vec::new(),
            only: request.only.clone(),
        },
        &|_, _| {},
    )?;
    let mut crops = Vec::new();
    let mut faces = Vec::new();
    let self_blended = request.fake.is_empty();
    // A fake file's method: the manifest's, else the first folder under its fake root.
    let method_of = |path: &Path| {
        let entry = request.manifest.as_ref().and_then(|m| m.get(path));
        entry.and_then(|e| e.method.clone()).unwrap_or_else(|| {
            let root = request.fake.iter().find(|r| path.starts_with(r));
            root.map(|r| dataset::identity(r, path)).unwrap_or_default()
        })
    };
    for (i, sample) in data.train.iter().enumerate() {
        let entry = request.manifest.as_ref().and_then(|m| m.get(&sample.path));
        let method = sample.fake.then(|| method_of(&sample.path));
        let video = entry
            .and_then(|e| e.video.clone())
            .unwrap_or_else(|| sample.path.display().to_string());
        let face = |fake| ScoredFace {
            path: sample.path.clone(),
            identity: sample.identity.clone(),
            fake,
            score: f32::NAN,
            source_side: sample.source_side,
            method: if fake { method.clone() } else { None },
            video: video.clone(),
        };
        crops.push(sample.crop.clone());
        faces.push(face(sample.fake));
        if self_blended {
            let mut rng = Rng::derive(request.seed, i as u64);
            let (_, fake) = sample.self_blended(&SelfBlendConfig::default(), false, &mut rng);
            crops.push(fake);
            faces.push(face(true));
        }
    }
    let scores = scorer.probabilities(&crops, 8);
    for (face, score) in faces.iter_mut().zip(&scores) {
        face.score = *score;
    }
    let labels: Vec<bool> = faces.iter().map(|f| f.fake).collect();
    let metrics = metrics::evaluate(&scores, &labels)?;
    let bands = scorer.manifest.bands;
    let no_face_fakes: Vec<String> = data
        .no_face
        .iter()
        .filter(|(_, fake)| *fake)
        .map(|(path, _)| method_of(path))
        .collect();
    let no_face = [
        data.no_face.len() - no_face_fakes.len(),
        no_face_fakes.len(),
    ];
    Ok(Evaluation {
        methods: by_method(&faces, &bands, &no_face_fakes),
        by_face_size: by_face_size(&faces, &bands),
        videos: videos(&faces),
        auc_interval: auc_interval::video_resampled(
            faces.iter().map(|f| (f.video.as_str(), f.fake, f.score)),
            auc_interval::LEVEL,
            auc_interval::RESAMPLES,
            request.seed,
        ),
        no_face,
        identities: data.train.iter().map(|s| s.identity.clone()).collect(),
        band_rates: BandRates::of(&scores, &labels, &bands),
        jpeg: jpeg_stability(scorer, &crops, &labels, &scores, &request.jpeg_qualities),
        data: data.summary,
        faces,
        self_blended,
        metrics,
        bands,
    })
}

/// One row per manipulation method (each against all real faces); empty with one method or
/// none (self-blends).
fn by_method(faces: &[ScoredFace], bands: &BandThresholds, no_face: &[String]) -> Vec<Breakdown> {
    let methods: BTreeSet<&str> = faces.iter().filter_map(|f| f.method.as_deref()).collect();
    if methods.len() < 2 {
        return Vec::new();
    }
    methods
        .into_iter()
        .map(|method| {
            let part: Vec<&ScoredFace> = faces
                .iter()
                .filter(|f| !f.fake || f.method.as_deref() == Some(method))
                .collect();
            let mut row = breakdown(method, &part, bands);
            row.no_face = no_face.iter().filter(|m| m.as_str() == method).count();
            row
        })
        .collect()
}

/// One row per face-size range (see [`FACE_SIZE_BOUNDS`]) that holds faces.
fn by_face_size(faces: &[ScoredFace], bands: &BandThresholds) -> Vec<Breakdown> {
    let mut low = 0;
    let mut rows = Vec::new();
    for high in FACE_SIZE_BOUNDS {
        let part: Vec<&ScoredFace> = faces
            .iter()
            .filter(|f| (low..high).contains(&f.source_side))
            .collect();
        if !part.is_empty() {
            let name = if high == u32::MAX {
                format!("≥ {low} px")
            } else {
                format!("{low}–{} px", high - 1)
            };
            rows.push(breakdown(&name, &part, bands));
        }
        low = high;
    }
    rows
}

/// The figures of `part`.
fn breakdown(name: &str, part: &[&ScoredFace], bands: &BandThresholds) -> Breakdown {
    let scores: Vec<f32> = part.iter().map(|f| f.score).collect();
    let labels: Vec<bool> = part.iter().map(|f| f.fake).collect();
    let manipulated = labels.iter().filter(|l| **l).count();
    let real = labels.len() - manipulated;
    let called = |fake: bool| {
        let n = labels.iter().filter(|l| **l == fake).count();
        (n > 0).then(|| {
            let hits = scores
                .iter()
                .zip(&labels)
                .filter(|(s, l)| {
                    **l == fake && Band::of_score(**s, bands, true) == Band::LikelyManipulated
                })
                .count();
            hits as f64 / n as f64
        })
    };
    Breakdown {
        name: name.to_string(),
        real,
        manipulated,
        auc: metrics::evaluate(&scores, &labels).ok().map(|m| m.auc),
        video_auc: videos(part.iter().copied()).and_then(|v| v.auc),
        caught: called(true),
        flagged: called(false),
        no_face: 0,
    }
}

/// Video-level figures, when frames can be grouped (some video has two or more faces).
fn videos<'a>(faces: impl IntoIterator<Item = &'a ScoredFace>) -> Option<VideoFigures> {
    let mut groups: std::collections::BTreeMap<(&str, bool), (f64, usize)> = Default::default();
    for face in faces {
        let entry = groups.entry((face.video.as_str(), face.fake)).or_default();
        entry.0 += face.score as f64;
        entry.1 += 1;
    }
    if groups.values().all(|(_, n)| *n < 2) {
        return None;
    }
    let scores: Vec<f32> = groups
        .values()
        .map(|(sum, n)| (sum / *n as f64) as f32)
        .collect();
    let labels: Vec<bool> = groups.keys().map(|(_, fake)| *fake).collect();
    let manipulated = labels.iter().filter(|l| **l).count();
    Some(VideoFigures {
        real: labels.len() - manipulated,
        manipulated,
        auc: metrics::evaluate(&scores, &labels).ok().map(|m| m.auc),
    })
}

/// Shares of faces per band, `[likely manipulated, inconclusive, no evidence]`, for the real
/// and the manipulated faces.
#[derive(Debug, Clone, PartialEq)]
pub struct BandRates {
    /// Real faces: `[likely manipulated, inconclusive, no evidence]`.
    pub real: [f64; 3],
    /// Manipulated faces, same order.
    pub fake: [f64; 3],
}

impl BandRates {
    /// The shares of `scores` (labelled `true` = manipulated) in each band of `bands`.
    pub fn of(scores: &[f32], labels: &[bool], bands: &BandThresholds) -> Self {
        let share = |fake: bool| {
            let mut counts = [0usize; 3];
            for (&score, _) in scores.iter().zip(labels).filter(|(_, l)| **l == fake) {
                counts[band_index(Band::of_score(score, bands, true))] += 1;
            }
            let n = counts.iter().sum::<usize>().max(1) as f64;
            counts.map(|c| c as f64 / n)
        };
        Self {
            real: share(false),
            fake: share(true),
        }
    }
}

fn band_index(band: Band) -> usize {
    match band {
        Band::LikelyManipulated => 0,
        Band::NoEvidenceFound => 2,
        _ => 1,
    }
}

/// How often a real face's band changes when re-encoded as JPEG.
#[derive(Debug, Clone, PartialEq)]
pub struct JpegStability {
    /// Share of real faces whose band changes at one quality or more.
    pub changed_share: f64,
    /// Per quality: (quality, share of real faces whose band changes).
    pub by_quality: Vec<(u8, f64)>,
}

/// How often the band of the real faces among `crops` changes when each is re-encoded as JPEG at
/// `qualities`; `None` without real faces or qualities.
pub fn jpeg_stability(
    scorer: &Scorer,
    crops: &[RgbImage],
    labels: &[bool],
    scores: &[f32],
    qualities: &[u8],
) -> Option<JpegStability> {
    let bands = &scorer.manifest.bands;
    let reals: Vec<usize> = (0..crops.len()).filter(|&i| !labels[i]).collect();
    if reals.is_empty() || qualities.is_empty() {
        return None;
    }
    let real_crops: Vec<RgbImage> = reals.iter().map(|&i| crops[i].clone()).collect();
    let mut changed = vec![false; reals.len()];
    let mut by_quality = Vec::new();
    for &q in qualities {
        let rescored = robustness::rescored(scorer, &real_crops, |c| recompress(c, q));
        let mut flips = 0usize;
        for (k, score) in rescored.into_iter().enumerate() {
            let original = Band::of_score(scores[reals[k]], bands, true);
            if robustness::changes_band(score, original, bands, true) {
                flips += 1;
                changed[k] = true;
            }
        }
        by_quality.push((q, flips as f64 / reals.len() as f64));
    }
    Some(JpegStability {
        changed_share: changed.iter().filter(|c| **c).count() as f64 / reals.len() as f64,
        by_quality,
    })
}
