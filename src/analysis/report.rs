//! What the analysis says about one image and each of its faces.

use std::path::PathBuf;

use image::RgbImage;
use serde::Serialize;

use super::robustness::{VariantScore, band_flips};
use super::verdict::{Band, Flag, image_band};
use crate::imaging::faces::{Detector, FaceBox};
use crate::provenance::{FileEvidence, FileFinding};
use crate::weights::store::BandThresholds;

/// One face's result.
#[derive(Debug, Clone, Serialize)]
pub struct FaceReport {
    /// The detector's box (`None` with `--whole-image`).
    pub bbox: Option<FaceBox>,
    /// The detector's confidence (SeetaFace's score, or BlazeFace's probability).
    pub detector_confidence: Option<f32>,
    /// The detector that found the face (`None` with `--whole-image`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detector: Option<Detector>,
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
    /// The file's own testimony (metadata, thumbnail, encoder, C2PA): facts, not a verdict.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<FileEvidence>,
    /// A small copy of the image (with [`super::options::ScanOptions::thumbnail`]).
    #[serde(skip)]
    pub thumbnail: Option<RgbImage>,
}

impl ImageReport {
    /// The report of a file that could not be analysed, with why.
    pub fn failed(index: usize, path: PathBuf, error: String) -> Self {
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
            file: None,
            thumbnail: None,
        }
    }
}

impl ImageReport {
    /// The file's findings (empty when it has none or could not be read).
    pub fn file_findings(&self) -> &[FileFinding] {
        self.file.as_ref().map_or(&[], |f| f.findings.as_slice())
    }

    /// What the verdict line adds beside the face score: a declared AI origin.
    pub fn verdict_note(&self) -> Option<String> {
        self.file_findings().iter().find_map(|f| match f {
            FileFinding::AiGeneratedDeclared { source } => {
                Some(format!("the file declares AI generation ({source})"))
            }
            _ => None,
        })
    }

    /// Settles the image's verdict from its faces: flags it [`Flag::Unstable`] when a face's
    /// band flips under the robustness variants, then sets the image band from the faces' bands
    /// and the flags, and the highest face score. The one place an image's verdict is made: the
    /// pipeline calls it once the faces are scored, the app again when the inspector's
    /// robustness check adds variant scores.
    pub fn settle_verdict(&mut self, thresholds: &BandThresholds, trained: bool) {
        let flips = self
            .faces
            .iter()
            .any(|face| band_flips(&face.robustness, face.band, thresholds, trained));
        if flips && !self.flags.contains(&Flag::Unstable) {
            self.flags.push(Flag::Unstable);
        }
        let bands: Vec<Band> = self.faces.iter().map(|f| f.band).collect();
        self.verdict = Some(image_band(&bands, &self.flags));
        self.max_score = self
            .faces
            .iter()
            .map(|f| f.score)
            .filter(|s| s.is_finite())
            .reduce(f32::max);
    }
}
