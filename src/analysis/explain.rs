//! Everything the inspector shows about one face: its crop, score, attention maps, style
//! correlations, log-amplitude spectrum and robustness scores, computed on demand.

use image::{GrayImage, Luma, RgbImage};
use rustfft::num_complex::Complex32;

use crate::analysis::robustness::{self, VariantScore};
use crate::analysis::verdict::Band;
use crate::imaging::faces::FaceBox;
use crate::inference::scorer::{FaceScore, Scorer};
use crate::inference::spectrum::{Fft2, luma};

/// The inspector's view of one face.
#[derive(Debug, Clone)]
pub struct FaceExplanation {
    /// The crop the model saw, at the model's input size.
    pub crop: RgbImage,
    /// Score, attention maps and Gram matrices.
    pub score: FaceScore,
    /// The face's band under the model's thresholds.
    pub band: Band,
    /// Centred log-amplitude spectrum of the grayscale crop, scaled to 0..255.
    pub spectrum: GrayImage,
    /// The amplitude and phase attention as inferno colours at the crop's size (the overlays
    /// at full opacity), so that an overlay at any opacity is one blend away.
    pub colour_layers: [RgbImage; 2],
    /// Scores under re-compression and rescaling (empty unless asked for).
    pub robustness: Vec<VariantScore>,
}

/// Why a face could not be explained.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExplainError {
    /// The crop lies outside the image (the file changed since it was scanned).
    #[error("the face crop {0:?} lies outside the image; has the file changed?")]
    Crop(FaceBox),
}

/// Explains the face at `crop` of an already decoded image.
pub fn explain_image(
    scorer: &Scorer,
    image: &RgbImage,
    crop: &FaceBox,
    with_robustness: bool,
) -> Result<FaceExplanation, ExplainError> {
    let (w, h) = image.dimensions();
    if crop.x + crop.width > w || crop.y + crop.height > h || crop.width == 0 {
        return Err(ExplainError::Crop(*crop));
    }
    Ok(explain_crop(
        scorer,
        &crate::imaging::faces::cut(image, crop),
        with_robustness,
    ))
}

/// Explains a face crop (any size; it is resized to the model's input).
pub fn explain_crop(scorer: &Scorer, face: &RgbImage, with_robustness: bool) -> FaceExplanation {
    let side = scorer.input_side();
    let crop = image::imageops::resize(face, side, side, image::imageops::FilterType::CatmullRom);
    let score = scorer
        .score(std::iter::once(&crop))
        .pop()
        .unwrap_or_else(|| FaceScore {
            probability: f32::NAN,
            grid: 0,
            amplitude_map: Vec::new(),
            phase_map: Vec::new(),
            gram_side: 0,
            grams: [Vec::new(), Vec::new(), Vec::new()],
        });
    let manifest = &scorer.manifest;
    let band = Band::of_score(score.probability, &manifest.bands, manifest.trained);
    let robustness = if with_robustness {
        robustness::variant_scores(scorer, &crop)
    } else {
        Vec::new()
    };
    let colour_layers = if score.grid > 0 {
        [
            crate::imaging::heatmap::overlay(&crop, &score.amplitude_map, score.grid, 1.0),
            crate::imaging::heatmap::overlay(&crop, &score.phase_map, score.grid, 1.0),
        ]
    } else {
        [RgbImage::new(1, 1), RgbImage::new(1, 1)]
    };
    FaceExplanation {
        colour_layers,
        spectrum: log_amplitude_spectrum(&crop),
        crop,
        score,
        band,
        robustness,
    }
}

/// `face` blended with a colour layer of the same size: what [`crate::imaging::heatmap::overlay`] gives
/// at `opacity` when `colours` is its result at full opacity.
pub fn blend(face: &RgbImage, colours: &RgbImage, opacity: f32) -> RgbImage {
    let opacity = opacity.clamp(0.0, 1.0);
    let mut out = face.clone();
    if colours.dimensions() != face.dimensions() {
        return out;
    }
    for (o, c) in out.iter_mut().zip(colours.iter()) {
        *o = (*o as f32 * (1.0 - opacity) + *c as f32 * opacity).round() as u8;
    }
    out
}

/// The centred (zero frequency in the middle) log-amplitude spectrum `ln(1 + |X|)` of an
/// image's luma, normalised to 0..255. Upsampling, re-compression and GAN generators leave
/// regular peaks and grids here.
pub fn log_amplitude_spectrum(image: &RgbImage) -> GrayImage {
    let (w, h) = (image.width() as usize, image.height() as usize);
    if w == 0 || h == 0 {
        return GrayImage::new(image.width(), image.height());
    }
    let mut data: Vec<Complex32> = image
        .pixels()
        .map(|p| Complex32::new(luma(p.0), 0.0))
        .collect();
    Fft2::new(w, h).process(&mut data, w);
    let log: Vec<f32> = data.iter().map(|c| c.norm().ln_1p()).collect();
    let (lo, hi) = log
        .iter()
        .fold((f32::MAX, f32::MIN), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    let range = (hi - lo).max(1e-12);
    GrayImage::from_fn(w as u32, h as u32, |x, y| {
        // fftshift: the zero frequency moves to the centre.
        let sx = (x as usize + w.div_ceil(2)) % w;
        let sy = (y as usize + h.div_ceil(2)) % h;
        Luma([((log[sy * w + sx] - lo) / range * 255.0).round() as u8])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blending_a_colour_layer_equals_the_direct_overlay() {
        let face = RgbImage::from_fn(32, 32, |x, y| {
            image::Rgb([(x * 7) as u8, (y * 5) as u8, 90])
        });
        let map: Vec<f32> = (0..16).map(|i| (i * 5 % 7) as f32).collect();
        let colours = crate::imaging::heatmap::overlay(&face, &map, 4, 1.0);
        for opacity in [0.0, 0.35, 0.6, 1.0] {
            assert_eq!(
                blend(&face, &colours, opacity),
                crate::imaging::heatmap::overlay(&face, &map, 4, opacity)
            );
        }
    }

    #[test]
    fn a_flat_image_has_all_its_energy_at_the_centre() {
        let spectrum = log_amplitude_spectrum(&RgbImage::from_pixel(16, 16, image::Rgb([90; 3])));
        assert_eq!(spectrum.get_pixel(8, 8).0[0], 255);
        assert_eq!(spectrum.get_pixel(0, 0).0[0], 0);
        assert_eq!(spectrum.get_pixel(3, 11).0[0], 0);
    }

    #[test]
    fn vertical_stripes_peak_on_the_horizontal_axis() {
        // A cosine of 4 cycles across 32 columns: peaks at x = 16 ± 4 on the centre row.
        let image = RgbImage::from_fn(32, 32, |x, _| {
            let v = 128.0 + 100.0 * (x as f32 * std::f32::consts::TAU * 4.0 / 32.0).cos();
            image::Rgb([v as u8; 3])
        });
        let spectrum = log_amplitude_spectrum(&image);
        let centre_row = 16;
        let at = |x| spectrum.get_pixel(x, centre_row).0[0];
        assert!(at(12) > 200 && at(20) > 200, "{} {}", at(12), at(20));
        assert!(at(8) < 100 && spectrum.get_pixel(16, 12).0[0] < 100);
    }
}
