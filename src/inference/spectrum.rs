//! Per-patch 2-D DFT of a grayscale face: the frequency stream's input.
//!
//! The face is cut into non-overlapping `p × p` patches (row-major, top-left first). For each
//! patch the 2-D DFT `X[u, v] = Σ_y Σ_x g[y, x] · e^{-2πi(u·y + v·x)/p}` is computed with
//! rustfft (rows, then columns). The spectrum of a real patch is Hermitian, so only the
//! one-sided half `v ∈ 0..=p/2` is kept: `p · (p/2 + 1)` values (144 for p = 16), ordered
//! `[u][v]`. Amplitude is `ln(1 + |X|)`, phase `atan2(Im X, Re X)` in (−π, π].

use std::sync::Arc;

use rustfft::num_complex::Complex32;
use rustfft::{Fft, FftPlanner};

pub use crate::model::frequency::one_sided_len;

/// Luma of an sRGB pixel in `[0, 1]`: `0.299 R + 0.587 G + 0.114 B` (ITU-R BT.601).
pub fn luma(rgb: [u8; 3]) -> f32 {
    (0.299 * rgb[0] as f32 + 0.587 * rgb[1] as f32 + 0.114 * rgb[2] as f32) / 255.0
}

/// The log-amplitude and phase spectra of every patch of an image.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchSpectra {
    /// `ln(1 + |X|)`, `[patches, one_sided_len]` row-major.
    pub amplitude: Vec<f32>,
    /// `atan2(Im, Re)`, same layout.
    pub phase: Vec<f32>,
    /// Number of patches.
    pub patches: usize,
    /// Values per patch.
    pub bins: usize,
}

/// A planned 2-D DFT of `width × height` complex values, row-major, in place: the one 2-D
/// transform of the crate (the model's patch spectra and the inspector's spectrum view).
pub struct Fft2 {
    width: usize,
    height: usize,
    rows: Arc<dyn Fft<f32>>,
    columns: Arc<dyn Fft<f32>>,
}

impl std::fmt::Debug for Fft2 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fft2")
            .field("width", &self.width)
            .field("height", &self.height)
            .finish()
    }
}

impl Fft2 {
    /// Plans the transforms.
    pub fn new(width: usize, height: usize) -> Self {
        let mut planner = FftPlanner::new();
        Self {
            width,
            height,
            rows: planner.plan_fft_forward(width),
            columns: planner.plan_fft_forward(height),
        }
    }

    /// Transforms `data` along every row, then along the columns `0..columns` only (the others
    /// are left transformed along x: a one-sided spectrum of real input needs `width/2 + 1`).
    pub fn process(&self, data: &mut [Complex32], columns: usize) {
        let (w, h) = (self.width, self.height);
        assert_eq!(data.len(), w * h, "data is not width × height");
        let scratch_len = self
            .rows
            .get_inplace_scratch_len()
            .max(self.columns.get_inplace_scratch_len());
        let mut scratch = vec![Complex32::default(); scratch_len];
        // Row transforms (along x), all rows at once.
        self.rows.process_with_scratch(data, &mut scratch);
        let mut column = vec![Complex32::default(); h];
        for x in 0..columns.min(w) {
            for (y, c) in column.iter_mut().enumerate() {
                *c = data[y * w + x];
            }
            self.columns.process_with_scratch(&mut column, &mut scratch);
            for (y, c) in column.iter().enumerate() {
                data[y * w + x] = *c;
            }
        }
    }
}

/// A planned per-patch DFT for one patch size; reuse it across images.
#[derive(Debug)]
pub struct PatchDft {
    patch: usize,
    fft: Fft2,
}

impl PatchDft {
    /// Plans the FFTs for `patch × patch` patches.
    pub fn new(patch: usize) -> Self {
        Self {
            patch,
            fft: Fft2::new(patch, patch),
        }
    }

    /// Spectra of a `side × side` grayscale image (row-major); `side` must be a multiple of the
    /// patch size.
    pub fn compute(&self, gray: &[f32], side: usize) -> PatchSpectra {
        let p = self.patch;
        assert_eq!(gray.len(), side * side, "image is not side × side");
        assert_eq!(side % p, 0, "side is not a multiple of the patch size");
        let grid = side / p;
        let half = p / 2 + 1;
        let bins = p * half;
        let mut amplitude = Vec::with_capacity(grid * grid * bins);
        let mut phase = Vec::with_capacity(grid * grid * bins);
        let mut patch = vec![Complex32::default(); p * p];
        for gy in 0..grid {
            for gx in 0..grid {
                for y in 0..p {
                    let src = &gray[(gy * p + y) * side + gx * p..][..p];
                    for (dst, &v) in patch[y * p..(y + 1) * p].iter_mut().zip(src) {
                        *dst = Complex32::new(v, 0.0);
                    }
                }
                // The kept columns v = 0..=p/2 of the one-sided spectrum, row u first.
                self.fft.process(&mut patch, half);
                let kept = (0..p).flat_map(|u| patch[u * p..u * p + half].iter());
                for c in kept {
                    amplitude.push(c.norm().ln_1p());
                    phase.push(c.im.atan2(c.re));
                }
            }
        }
        PatchSpectra {
            amplitude,
            phase,
            patches: grid * grid,
            bins,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The 2-D DFT from its definition, O(p⁴) per patch, in f64.
    fn direct_dft(patch: &[f32], p: usize) -> Vec<(f64, f64)> {
        let mut out = Vec::new();
        for u in 0..p {
            for v in 0..=p / 2 {
                let (mut re, mut im) = (0.0f64, 0.0f64);
                for y in 0..p {
                    for x in 0..p {
                        let angle =
                            -2.0 * std::f64::consts::PI * ((u * y + v * x) as f64) / p as f64;
                        re += patch[y * p + x] as f64 * angle.cos();
                        im += patch[y * p + x] as f64 * angle.sin();
                    }
                }
                out.push((re, im));
            }
        }
        out
    }

    #[test]
    fn patch_dft_matches_the_direct_dft() {
        let (p, side) = (16, 32);
        // A deterministic, non-symmetric test image.
        let gray: Vec<f32> = (0..side * side)
            .map(|i| ((i * 7919 % 251) as f32 / 251.0 + (i % 13) as f32 * 0.01).fract())
            .collect();
        let spectra = PatchDft::new(p).compute(&gray, side);
        assert_eq!(spectra.patches, 4);
        assert_eq!(spectra.bins, 144);
        for patch_index in 0..4 {
            let (gy, gx) = (patch_index / 2, patch_index % 2);
            let patch: Vec<f32> = (0..p * p)
                .map(|i| gray[(gy * p + i / p) * side + gx * p + i % p])
                .collect();
            let expected = direct_dft(&patch, p);
            for (k, (re, im)) in expected.into_iter().enumerate() {
                let amp = (re.hypot(im)).ln_1p() as f32;
                let got_amp = spectra.amplitude[patch_index * 144 + k];
                assert!(
                    (amp - got_amp).abs() < 1e-4,
                    "amplitude {k}: {amp} vs {got_amp}"
                );
                // Phase is ill-defined where the magnitude is ~0.
                if re.hypot(im) > 1e-3 {
                    let ph = im.atan2(re) as f32;
                    let got = spectra.phase[patch_index * 144 + k];
                    let diff = (ph - got).abs();
                    let diff = diff.min((2.0 * std::f32::consts::PI - diff).abs());
                    assert!(diff < 1e-3, "phase {k}: {ph} vs {got}");
                }
            }
        }
    }

    #[test]
    fn constant_patch_has_only_a_dc_term() {
        let spectra = PatchDft::new(4).compute(&[0.5; 16], 4);
        assert!((spectra.amplitude[0] - (8.0f32).ln_1p()).abs() < 1e-6);
        assert!(spectra.amplitude[1..].iter().all(|&a| a.abs() < 1e-6));
    }

    #[test]
    fn luma_weights_sum_to_one() {
        assert!((luma([255, 255, 255]) - 1.0).abs() < 1e-6);
        assert_eq!(luma([0, 0, 0]), 0.0);
    }
}
