//! The robustness check: a face re-scored after JPEG re-compression and rescaling. Real photos
//! are re-compressed and resized all the time on their way to an analyst; a verdict that flips
//! under such harmless changes says more about the file's history than about the face, so the
//! image is then marked inconclusive.

use image::RgbImage;
use image::imageops::FilterType;
use serde::Serialize;

use crate::analysis::verdict::Band;
use crate::imaging::jpeg::recompress;
use crate::inference::scorer::Scorer;
use crate::weights::store::BandThresholds;

/// The variants a face is re-scored under, by name.
pub const VARIANTS: [&str; 4] = ["jpeg95", "jpeg75", "jpeg50", "rescale50"];

/// A face's score under one variant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VariantScore {
    /// The variant (see [`VARIANTS`]).
    pub variant: &'static str,
    /// P(manipulated) under it.
    pub score: f32,
}

/// The face's score under each of [`VARIANTS`].
pub fn variant_scores(scorer: &Scorer, face: &RgbImage) -> Vec<VariantScore> {
    VARIANTS
        .iter()
        .zip(scorer.score(&variants(face)))
        .map(|(&variant, s)| VariantScore {
            variant,
            score: s.probability,
        })
        .collect()
}

/// Whether `score` falls in another band than `band`: the one test of a changed verdict,
/// used by the robustness check here and by `mclcr eval`'s JPEG stability figures.
pub fn changes_band(score: f32, band: Band, thresholds: &BandThresholds, trained: bool) -> bool {
    Band::of_score(score, thresholds, trained) != band
}

/// Whether any variant's score falls in another band than `band` (the face's own).
pub fn band_flips(
    variants: &[VariantScore],
    band: Band,
    thresholds: &BandThresholds,
    trained: bool,
) -> bool {
    variants
        .iter()
        .any(|v| changes_band(v.score, band, thresholds, trained))
}

/// P(manipulated) of each face after `transform`, scored in batches of 8.
pub fn rescored(
    scorer: &Scorer,
    faces: &[RgbImage],
    transform: impl Fn(&RgbImage) -> RgbImage,
) -> Vec<f32> {
    let changed: Vec<RgbImage> = faces.iter().map(transform).collect();
    scorer.probabilities(&changed, 8)
}

/// The face under each of [`VARIANTS`], in that order.
pub fn variants(face: &RgbImage) -> Vec<RgbImage> {
    let (w, h) = face.dimensions();
    let half = image::imageops::resize(face, (w / 2).max(1), (h / 2).max(1), FilterType::Triangle);
    vec![
        recompress(face, 95),
        recompress(face, 75),
        recompress(face, 50),
        image::imageops::resize(&half, w, h, FilterType::Triangle),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_variant_per_name_with_the_face_size() {
        let face = RgbImage::from_fn(40, 30, |x, y| {
            image::Rgb([(x * 6) as u8, (y * 8) as u8, 90])
        });
        let out = variants(&face);
        assert_eq!(out.len(), VARIANTS.len());
        assert!(out.iter().all(|v| v.dimensions() == (40, 30)));
        assert!(out.iter().all(|v| v != &face));
    }
}
