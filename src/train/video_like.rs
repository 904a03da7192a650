//! What a camera and a video codec do to a face before an analyst sees it, drawn once per pair
//! and applied alike to its real and its fake: sensor noise, the smoothing of in-camera noise
//! reduction and of a codec's loop filter (flat skin loses its texture, edges stay), 4:2:0
//! chroma (colour at half resolution both ways) and coarse block coding.
//!
//! Still portraits have none of these; real video frames have all of them. Without them in
//! training, a smooth compressed face is something the model has only seen inside self-blends
//! (whose blended face is often a blurred copy), and real video frames get flagged.

use image::RgbImage;

use crate::imaging::jpeg::recompress;
use crate::rng::Rng;

/// One draw of the video-like degradation; [`VideoLike::apply`] gives both faces of a pair the
/// same noise field, smoothing, chroma and quality.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoLike {
    /// Standard deviation of the sensor noise, in 0–255 units.
    pub noise_sigma: f32,
    /// Seed of the noise field (the same field for both faces).
    pub noise_seed: u64,
    /// Range sigma of the edge-preserving smoothing, in 0–255 units (0: none).
    pub smoothing: f32,
    /// JPEG quality of the block coding.
    pub quality: u8,
}

impl VideoLike {
    /// A random draw: noise σ 0–4, smoothing range σ 0–24, quality in `quality`.
    pub fn draw(quality: [u8; 2], rng: &mut Rng) -> Self {
        let (low, high) = (quality[0].min(quality[1]), quality[0].max(quality[1]));
        Self {
            noise_sigma: rng.range(0.0, 4.0),
            noise_seed: rng.next_u64(),
            smoothing: rng.range(0.0, 24.0),
            quality: rng.int(low as i64, high as i64) as u8,
        }
    }

    /// The image after noise, smoothing, 4:2:0 chroma and block coding, at its own size.
    pub fn apply(&self, image: &RgbImage) -> RgbImage {
        let noisy = add_noise(image, self.noise_sigma, self.noise_seed);
        let smooth = if self.smoothing > 0.5 {
            bilateral(&noisy, self.smoothing)
        } else {
            noisy
        };
        recompress(&chroma_420(&smooth), self.quality)
    }
}

/// Gaussian noise of `sigma` from the field seeded by `seed`.
fn add_noise(image: &RgbImage, sigma: f32, seed: u64) -> RgbImage {
    if sigma <= 0.0 {
        return image.clone();
    }
    let mut rng = Rng::new(seed);
    let mut out = image.clone();
    for value in out.iter_mut() {
        *value = (*value as f32 + sigma * rng.normal())
            .round()
            .clamp(0.0, 255.0) as u8;
    }
    out
}

/// Edge-preserving smoothing: a 5×5 bilateral filter (spatial σ 1.5 px, range σ `range_sigma`
/// on the luma difference), as noise reduction and loop filters flatten skin and keep edges.
fn bilateral(image: &RgbImage, range_sigma: f32) -> RgbImage {
    let (w, h) = image.dimensions();
    let luma = |p: &image::Rgb<u8>| 0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32;
    let spatial: Vec<f32> = (-2i32..=2)
        .flat_map(|dy| (-2i32..=2).map(move |dx| (dx, dy)))
        .map(|(dx, dy)| (-((dx * dx + dy * dy) as f32) / (2.0 * 1.5 * 1.5)).exp())
        .collect();
    let inv_range = 1.0 / (2.0 * range_sigma * range_sigma);
    RgbImage::from_fn(w, h, |x, y| {
        let centre = luma(image.get_pixel(x, y));
        let mut sum = [0.0f32; 3];
        let mut total = 0.0f32;
        for (k, &ws) in spatial.iter().enumerate() {
            let dx = (k % 5) as i64 - 2;
            let dy = (k / 5) as i64 - 2;
            let sx = (x as i64 + dx).clamp(0, w as i64 - 1) as u32;
            let sy = (y as i64 + dy).clamp(0, h as i64 - 1) as u32;
            let p = image.get_pixel(sx, sy);
            let d = luma(p) - centre;
            let weight = ws * (-d * d * inv_range).exp();
            for c in 0..3 {
                sum[c] += weight * p[c] as f32;
            }
            total += weight;
        }
        image::Rgb(std::array::from_fn(|c| {
            (sum[c] / total).round().clamp(0.0, 255.0) as u8
        }))
    })
}

/// 4:2:0 chroma: BT.601 Cb and Cr averaged over 2×2 blocks, luma kept per pixel.
fn chroma_420(image: &RgbImage) -> RgbImage {
    let (w, h) = image.dimensions();
    let ycc: Vec<[f32; 3]> = image
        .pixels()
        .map(|p| {
            let [r, g, b] = p.0.map(|v| v as f32);
            let y = 0.299 * r + 0.587 * g + 0.114 * b;
            [y, 0.564 * (b - y), 0.713 * (r - y)]
        })
        .collect();
    let (bw, bh) = (w.div_ceil(2), h.div_ceil(2));
    let mut chroma = vec![[0.0f32; 2]; (bw * bh) as usize];
    let mut count = vec![0.0f32; (bw * bh) as usize];
    for y in 0..h {
        for x in 0..w {
            let block = ((y / 2) * bw + x / 2) as usize;
            let p = ycc[(y * w + x) as usize];
            chroma[block][0] += p[1];
            chroma[block][1] += p[2];
            count[block] += 1.0;
        }
    }
    RgbImage::from_fn(w, h, |x, y| {
        let block = ((y / 2) * bw + x / 2) as usize;
        let luma = ycc[(y * w + x) as usize][0];
        let (cb, cr) = (
            chroma[block][0] / count[block],
            chroma[block][1] / count[block],
        );
        let r = luma + cr / 0.713;
        let b = luma + cb / 0.564;
        let g = (luma - 0.299 * r - 0.114 * b) / 0.587;
        image::Rgb([r, g, b].map(|v| v.round().clamp(0.0, 255.0) as u8))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face() -> RgbImage {
        // Textured "skin" on the left, a hard edge, flat dark on the right.
        RgbImage::from_fn(64, 64, |x, y| {
            if x < 40 {
                let t = ((x * 7 + y * 13) % 9) as u8 * 3;
                image::Rgb([180 + t, 140 + t, 120 + t])
            } else {
                image::Rgb([20, 30, 200])
            }
        })
    }

    fn mean_abs_diff(a: &RgbImage, b: &RgbImage) -> f64 {
        a.iter()
            .zip(b.iter())
            .map(|(&p, &q)| (p as f64 - q as f64).abs())
            .sum::<f64>()
            / a.len() as f64
    }

    #[test]
    fn both_faces_of_a_pair_get_the_same_degradation() {
        let draw = VideoLike::draw([30, 60], &mut Rng::new(5));
        let a = draw.apply(&face());
        let b = draw.apply(&face());
        assert_eq!(a, b, "same draw, same input, same output");
        assert_eq!(a.dimensions(), (64, 64));
    }

    #[test]
    fn smoothing_flattens_texture_and_keeps_the_edge() {
        let smooth = bilateral(&face(), 20.0);
        let texture = |img: &RgbImage| {
            (1..30)
                .map(|x| {
                    (img.get_pixel(x, 10)[0] as f64 - img.get_pixel(x - 1, 10)[0] as f64).abs()
                })
                .sum::<f64>()
        };
        assert!(texture(&smooth) < 0.5 * texture(&face()));
        // The edge between skin and the flat region stays sharp.
        assert!(smooth.get_pixel(38, 10)[2] < 150 && smooth.get_pixel(41, 10)[2] > 180);
    }

    #[test]
    fn chroma_is_shared_by_each_2x2_block_and_luma_is_kept() {
        let img = RgbImage::from_fn(4, 2, |x, _| {
            if x % 2 == 0 {
                image::Rgb([200, 40, 40])
            } else {
                image::Rgb([40, 40, 200])
            }
        });
        let out = chroma_420(&img);
        let luma =
            |p: &image::Rgb<u8>| 0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32;
        for (p, q) in img.pixels().zip(out.pixels()) {
            assert!((luma(p) - luma(q)).abs() < 2.0);
        }
        // Red and blue neighbours now share one colour difference: both turn purple-ish.
        assert!(mean_abs_diff(&img, &out) > 20.0);
        let (a, b) = (out.get_pixel(0, 0), out.get_pixel(1, 0));
        assert!((a[0] as i32 - a[2] as i32).abs() < 60 && (b[0] as i32 - b[2] as i32).abs() < 60);
    }

    #[test]
    fn noise_has_the_drawn_strength() {
        let flat = RgbImage::from_pixel(64, 64, image::Rgb([128, 128, 128]));
        let noisy = add_noise(&flat, 3.0, 9);
        let d = mean_abs_diff(&flat, &noisy);
        // E|N(0, 3)| = 3·√(2/π) ≈ 2.39 (before rounding).
        assert!((1.8..3.0).contains(&d), "mean |noise| {d}");
    }
}
