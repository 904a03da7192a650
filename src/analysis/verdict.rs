//! Verdicts: from a face's score to a band, from an image's faces and flags to its verdict.
//!
//! Bands use the thresholds in the model's manifest. An image is "not applicable" without a
//! face, and "inconclusive" whenever a condition outside what the model can judge holds (many
//! faces, a face smaller than the model's input, heavy JPEG compression). While the classifier
//! is untrained every band says so: no verdict is presented as real that is not.

use serde::{Deserialize, Serialize};

use crate::weights::store::BandThresholds;

/// The one-line caution that every output carries: neither verdict is proof, either way.
pub const CAUTION: &str = "Caution: verdicts are statistical: likely manipulated is not proof of a forgery, \
     and no evidence found is not proof that an image is authentic.";

/// The verdict band of a face or an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Band {
    /// Score at or above the manipulated threshold.
    LikelyManipulated,
    /// Between the thresholds, or a flag makes the image uncertain.
    Inconclusive,
    /// Score below the clear threshold.
    NoEvidenceFound,
    /// No face to judge.
    NotApplicable,
    /// The classifier has not been trained; the score means nothing.
    Untrained,
}

impl Band {
    /// Words shown to users.
    pub fn label(self) -> &'static str {
        match self {
            Self::LikelyManipulated => "likely manipulated",
            Self::Inconclusive => "inconclusive",
            Self::NoEvidenceFound => "no evidence found",
            Self::NotApplicable => "not applicable (no face)",
            Self::Untrained => "no verdict (untrained)",
        }
    }

    /// The band of a face's score P(manipulated).
    pub fn of_score(score: f32, thresholds: &BandThresholds, trained: bool) -> Self {
        if !trained {
            Self::Untrained
        } else if score >= thresholds.manipulated {
            Self::LikelyManipulated
        } else if score < thresholds.clear {
            Self::NoEvidenceFound
        } else {
            Self::Inconclusive
        }
    }
}

/// A condition that limits what can be said about an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "flag")]
pub enum Flag {
    /// No face was found.
    NoFace,
    /// Five or more faces: a crowd, not a portrait; verdicts per face still stand.
    ManyFaces {
        /// How many.
        count: usize,
    },
    /// A face crop smaller than the smallest size the model gives a verdict for (its
    /// manifest's `min_face_side`, by default its input side).
    SmallFace {
        /// Crop side in pixels.
        side: u32,
        /// The model's smallest face side for a verdict.
        input: u32,
    },
    /// A face's band changes when the image is re-compressed or rescaled.
    Unstable,
    /// Every face was found only by the fallback detector (turned, small or dark faces; it
    /// also takes some animal faces for human ones), so the image gets no verdict.
    FallbackDetector,
    /// JPEG compressed hard enough to wash out the traces the model looks for.
    HeavyCompression {
        /// Estimated quality (IJG scale).
        quality: u8,
    },
}

impl Flag {
    /// Words shown to users.
    pub fn describe(&self) -> String {
        match self {
            Self::NoFace => "no face found".into(),
            Self::ManyFaces { count } => format!("{count} faces (crowd)"),
            Self::SmallFace { side, input } => {
                format!("face {side} px < {input} px, the smallest this model judges")
            }
            Self::HeavyCompression { quality } => {
                format!("heavy JPEG compression (quality about {quality})")
            }
            Self::Unstable => "verdict flips under re-compression or rescaling".into(),
            Self::FallbackDetector => {
                "face found only by the fallback detector (turned, small or dark; check it is a face)"
                    .into()
            }
        }
    }

    /// A short machine-friendly name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::NoFace => "no_face",
            Self::ManyFaces { .. } => "many_faces",
            Self::SmallFace { .. } => "small_face",
            Self::HeavyCompression { .. } => "heavy_compression",
            Self::Unstable => "unstable",
            Self::FallbackDetector => "fallback_detector",
        }
    }
}

/// Limits that raise flags.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FlagRules {
    /// This many faces or more raise [`Flag::ManyFaces`].
    pub many_faces: usize,
    /// JPEG quality below this raises [`Flag::HeavyCompression`].
    pub heavy_jpeg_below: u8,
}

impl Default for FlagRules {
    fn default() -> Self {
        Self {
            many_faces: 5,
            heavy_jpeg_below: 60,
        }
    }
}

/// The image's verdict from its faces' bands and its flags.
pub fn image_band(face_bands: &[Band], flags: &[Flag]) -> Band {
    if face_bands.is_empty() {
        return Band::NotApplicable;
    }
    if face_bands.contains(&Band::Untrained) {
        return Band::Untrained;
    }
    let limiting = flags.iter().any(|f| {
        matches!(
            f,
            Flag::ManyFaces { .. }
                | Flag::SmallFace { .. }
                | Flag::HeavyCompression { .. }
                | Flag::Unstable
                | Flag::FallbackDetector
        )
    });
    if limiting {
        return Band::Inconclusive;
    }
    // The most severe face decides: one likely manipulated face makes the image so.
    face_bands
        .iter()
        .copied()
        .min()
        .unwrap_or(Band::NotApplicable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_follow_the_thresholds() {
        let t = BandThresholds {
            manipulated: 0.8,
            clear: 0.2,
        };
        assert_eq!(Band::of_score(0.8, &t, true), Band::LikelyManipulated);
        assert_eq!(Band::of_score(0.5, &t, true), Band::Inconclusive);
        assert_eq!(Band::of_score(0.19, &t, true), Band::NoEvidenceFound);
        assert_eq!(Band::of_score(0.99, &t, false), Band::Untrained);
    }

    #[test]
    fn image_verdicts() {
        use Band::*;
        assert_eq!(image_band(&[], &[Flag::NoFace]), NotApplicable);
        assert_eq!(
            image_band(&[NoEvidenceFound, LikelyManipulated], &[]),
            LikelyManipulated
        );
        assert_eq!(image_band(&[NoEvidenceFound], &[]), NoEvidenceFound);
        let heavy = [Flag::HeavyCompression { quality: 30 }];
        assert_eq!(image_band(&[NoEvidenceFound], &heavy), Inconclusive);
        assert_eq!(image_band(&[LikelyManipulated], &heavy), Inconclusive);
        assert_eq!(image_band(&[Untrained], &heavy), Untrained);
        assert_eq!(
            image_band(&[LikelyManipulated], &[Flag::Unstable]),
            Inconclusive
        );
        assert_eq!(
            image_band(&[LikelyManipulated], &[Flag::FallbackDetector]),
            Inconclusive
        );
    }
}
