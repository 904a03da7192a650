//! Self-blended pseudo-fakes from real faces, after the idea of Shiohara & Yamasaki (CVPR 2022),
//! implemented from its published description (not from the authors' code).
//!
//! A real face is blended with a slightly altered copy of itself inside a soft face-shaped mask:
//! the result carries what every face swap leaves behind (a blending boundary, a colour and
//! sharpness mismatch between the inner face and its surroundings) and nothing else. The mask is
//! the ground truth of where the "forgery" is.
//!
//! The face region is a convex polygon: the hull of the 68 facial landmarks with the lower
//! forehead (`crate::imaging::landmarks::Landmarks68::face_hull`), or [`ellipse_hull`] fitted to the
//! detector's box when the landmarks make no plausible face ([`face_hull`]).

use image::imageops::FilterType;
use image::{GrayImage, Luma, Rgb, RgbImage};
use serde::{Deserialize, Serialize};

use crate::imaging::faces::FaceBox;
use crate::rng::Rng;
use crate::train::blend_region::varied_region;

/// A real face, its self-blended fake, and the blend mask (`[h · w]` in [0, 1]).
#[derive(Debug, Clone, PartialEq)]
pub struct BlendPair {
    /// The real face (the blend target).
    pub real: RgbImage,
    /// The pseudo-fake.
    pub fake: RgbImage,
    /// Blend weight per pixel, row-major, in [0, 1]; 0 where fake and real are identical.
    pub mask: Vec<f32>,
}

impl BlendPair {
    /// The mask as an 8-bit image.
    pub fn mask_image(&self) -> GrayImage {
        let (w, h) = self.real.dimensions();
        GrayImage::from_fn(w, h, |x, y| {
            Luma([(self.mask[(y * w + x) as usize] * 255.0).round() as u8])
        })
    }
}

/// Ranges of the random transforms (at a 256-pixel face; blurs scale with the size).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SelfBlendConfig {
    /// Blend ratios drawn uniformly (repeats weight a value).
    pub blend_ratios: Vec<f32>,
    /// Largest per-channel RGB shift, in 0..255 units.
    pub rgb_shift: f32,
    /// Largest hue shift, as a fraction of the colour circle.
    pub hue_shift: f32,
    /// Largest saturation and value shift.
    pub sv_shift: f32,
    /// Largest brightness and contrast change.
    pub brightness_contrast: f32,
    /// Largest horizontal translation, as a fraction of the width.
    pub translate_x: f32,
    /// Largest vertical translation, as a fraction of the height.
    pub translate_y: f32,
    /// Scale range of the affine mismatch.
    pub scale: [f32; 2],
    /// Largest elastic displacement of the mask, as a fraction of the side.
    pub elastic: f32,
    /// Range of the final mask blur σ, pixels at 256.
    pub blur_sigma: [f32; 2],
    /// Range of the face region's stretch about its centre, per axis (`[1, 1]`: the hull as
    /// it is; see [`crate::train::blend_region`]).
    pub region_scale: [f32; 2],
    /// Largest share of the face region's height cut from its top (0: none).
    pub region_top_cut: f32,
    /// Range of the down-and-up rescale factor of the quality transform (its other half is a
    /// sharpen): how much blurrier one face is than the other.
    pub rescale_factor: [f32; 2],
}

impl Default for SelfBlendConfig {
    fn default() -> Self {
        Self {
            blend_ratios: vec![0.25, 0.5, 0.75, 1.0, 1.0, 1.0],
            rgb_shift: 20.0,
            hue_shift: 0.03,
            sv_shift: 0.1,
            brightness_contrast: 0.1,
            translate_x: 0.03,
            translate_y: 0.015,
            scale: [0.95, 1.05],
            elastic: 0.02,
            blur_sigma: [2.0, 8.0],
            region_scale: [1.0, 1.0],
            region_top_cut: 0.0,
            rescale_factor: [2.0, 4.0],
        }
    }
}

/// The face region for self-blending: the hull of the landmarks (with the lower forehead), or an
/// ellipse in the face box when the landmarks make no plausible face (their hull covers less
/// than a fifth, or more than three times, the box's area).
pub fn face_hull(
    landmarks: Option<&crate::imaging::landmarks::Landmarks68>,
    face: &FaceBox,
) -> Vec<(f32, f32)> {
    let box_area = (face.width * face.height) as f32;
    landmarks
        .map(|l| l.face_hull())
        .filter(|hull| {
            let area = polygon_area(hull);
            hull.len() >= 3 && area > 0.2 * box_area && area < 3.0 * box_area
        })
        .unwrap_or_else(|| ellipse_hull(face, 48))
}

/// Area of a simple polygon (shoelace formula).
fn polygon_area(polygon: &[(f32, f32)]) -> f32 {
    let n = polygon.len();
    (0..n)
        .map(|i| {
            let (a, b) = (polygon[i], polygon[(i + 1) % n]);
            a.0 * b.1 - b.0 * a.1
        })
        .sum::<f32>()
        .abs()
        / 2.0
}

/// An ellipse inscribed in a face box (narrower than the box, reaching from the brows to the
/// chin), as a polygon of `points` vertices.
pub fn ellipse_hull(face: &FaceBox, points: usize) -> Vec<(f32, f32)> {
    let cx = face.x as f32 + face.width as f32 / 2.0;
    let cy = face.y as f32 + face.height as f32 * 0.55;
    let (rx, ry) = (face.width as f32 * 0.40, face.height as f32 * 0.48);
    (0..points.max(3))
        .map(|i| {
            let a = i as f32 / points.max(3) as f32 * std::f32::consts::TAU;
            (cx + rx * a.cos(), cy + ry * a.sin())
        })
        .collect()
}

/// 1 inside a convex polygon, 0 outside, for a `w × h` image (pixel centres).
pub fn fill_convex(w: u32, h: u32, polygon: &[(f32, f32)]) -> Vec<f32> {
    let n = polygon.len();
    // Orientation of the polygon, so that "inside" is the same side of every edge.
    let area: f32 = (0..n)
        .map(|i| {
            let (a, b) = (polygon[i], polygon[(i + 1) % n]);
            a.0 * b.1 - b.0 * a.1
        })
        .sum();
    let sign = if area >= 0.0 { 1.0 } else { -1.0 };
    let mut mask = vec![0.0; (w * h) as usize];
    for y in 0..h {
        for x in 0..w {
            let (px, py) = (x as f32 + 0.5, y as f32 + 0.5);
            let inside = n >= 3
                && (0..n).all(|i| {
                    let (a, b) = (polygon[i], polygon[(i + 1) % n]);
                    sign * ((b.0 - a.0) * (py - a.1) - (b.1 - a.1) * (px - a.0)) >= 0.0
                });
            if inside {
                mask[(y * w + x) as usize] = 1.0;
            }
        }
    }
    mask
}

/// Makes one (real, fake, mask) triple from a real face crop and its face polygon.
pub fn self_blend(
    face: &RgbImage,
    hull: &[(f32, f32)],
    config: &SelfBlendConfig,
    rng: &mut Rng,
) -> BlendPair {
    let (w, h) = face.dimensions();
    let side_scale = w.min(h) as f32 / 256.0;
    // 1. Random horizontal flip, of the face and of its polygon.
    let (image, hull): (RgbImage, Vec<(f32, f32)>) = if rng.chance(0.5) {
        (
            image::imageops::flip_horizontal(face),
            hull.iter().map(|&(x, y)| (w as f32 - x, y)).collect(),
        )
    } else {
        (face.clone(), hull.to_vec())
    };
    // 3. The face mask, in a region reshaped as the recipe asks.
    let hull = varied_region(&hull, config.region_scale, config.region_top_cut, rng);
    let mask = fill_convex(w, h, &hull);
    // 4. Source and target are copies; one of them gets the colour / quality transform.
    let (mut source, mut target) = (image.clone(), image);
    if rng.chance(0.5) {
        source = colour_quality_transform(&source, config, rng);
    } else {
        target = colour_quality_transform(&target, config, rng);
    }
    // 5. Affine mismatch of source and mask, then an elastic deformation of the mask alone.
    let tx = rng.range(-config.translate_x, config.translate_x) * w as f32;
    let ty = rng.range(-config.translate_y, config.translate_y) * h as f32;
    let s = rng.range(config.scale[0], config.scale[1]);
    let map = |x: f32, y: f32| {
        let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
        ((x - cx - tx) / s + cx, (y - cy - ty) / s + cy)
    };
    source = warp_rgb(&source, map);
    let mask = warp_mask(&mask, w, h, map);
    let mask = elastic(
        &mask,
        w,
        h,
        config.elastic * w.min(h) as f32,
        8.0 * side_scale,
        rng,
    );
    // 6. Soften: blur, keep the core, blur again, normalise to a maximum of 1.
    let mask = blur_mask(&mask, w, h, rng.range(1.0, 4.0) * side_scale);
    let mask: Vec<f32> = mask
        .iter()
        .map(|&v| if v < 0.999 { 0.0 } else { v })
        .collect();
    let sigma = rng.range(config.blur_sigma[0], config.blur_sigma[1]) * side_scale;
    let mut mask = blur_mask(&mask, w, h, sigma);
    let peak = mask.iter().copied().fold(0.0f32, f32::max);
    if peak > 0.0 {
        mask.iter_mut()
            .for_each(|v| *v = (*v / peak).clamp(0.0, 1.0));
    }
    // Values a blur leaves near zero would make fake and real differ by rounding alone.
    mask.iter_mut().for_each(|v| {
        if *v < 1e-3 {
            *v = 0.0
        }
    });
    // 7. Blend.
    let ratio = config.blend_ratios[rng.int(0, config.blend_ratios.len() as i64 - 1) as usize];
    let fake = RgbImage::from_fn(w, h, |x, y| {
        let m = ratio * mask[(y * w + x) as usize];
        let (s, t) = (source.get_pixel(x, y).0, target.get_pixel(x, y).0);
        Rgb(std::array::from_fn(|k| {
            (m * s[k] as f32 + (1.0 - m) * t[k] as f32)
                .round()
                .clamp(0.0, 255.0) as u8
        }))
    });
    let mask = mask.iter().map(|&v| v * ratio).collect();
    BlendPair {
        real: target,
        fake,
        mask,
    }
}

/// Colour shifts (RGB, HSV, brightness/contrast), then a down-and-up rescale or a sharpen.
fn colour_quality_transform(image: &RgbImage, config: &SelfBlendConfig, rng: &mut Rng) -> RgbImage {
    let shift: [f32; 3] = std::array::from_fn(|_| rng.range(-config.rgb_shift, config.rgb_shift));
    let hue = rng.range(-config.hue_shift, config.hue_shift);
    let sat = rng.range(-config.sv_shift, config.sv_shift);
    let val = rng.range(-config.sv_shift, config.sv_shift);
    let brightness = rng.range(-config.brightness_contrast, config.brightness_contrast);
    let contrast = 1.0 + rng.range(-config.brightness_contrast, config.brightness_contrast);
    let mut out = RgbImage::from_fn(image.width(), image.height(), |x, y| {
        let p = image.get_pixel(x, y).0;
        let rgb: [f32; 3] =
            std::array::from_fn(|k| ((p[k] as f32 + shift[k]) / 255.0).clamp(0.0, 1.0));
        let (mut hh, mut ss, mut vv) = rgb_to_hsv(rgb);
        hh = (hh + hue).rem_euclid(1.0);
        ss = (ss + sat).clamp(0.0, 1.0);
        vv = (vv + val).clamp(0.0, 1.0);
        let rgb = hsv_to_rgb(hh, ss, vv);
        Rgb(std::array::from_fn(|k| {
            let v = (rgb[k] - 0.5) * contrast + 0.5 + brightness;
            (v * 255.0).round().clamp(0.0, 255.0) as u8
        }))
    });
    if rng.chance(0.5) {
        let factor = rng
            .range(config.rescale_factor[0], config.rescale_factor[1])
            .max(1.0);
        let (w, h) = out.dimensions();
        let small = image::imageops::resize(
            &out,
            ((w as f32 / factor) as u32).max(1),
            ((h as f32 / factor) as u32).max(1),
            FilterType::Triangle,
        );
        out = image::imageops::resize(&small, w, h, FilterType::Triangle);
    } else {
        out = image::imageops::unsharpen(&out, 1.0, 2);
    }
    out
}

fn rgb_to_hsv([r, g, b]: [f32; 3]) -> (f32, f32, f32) {
    let max = r.max(g).max(b);
    let min = r.min(g).min(b);
    let d = max - min;
    let h = if d == 0.0 {
        0.0
    } else if max == r {
        ((g - b) / d).rem_euclid(6.0) / 6.0
    } else if max == g {
        ((b - r) / d + 2.0) / 6.0
    } else {
        ((r - g) / d + 4.0) / 6.0
    };
    let s = if max == 0.0 { 0.0 } else { d / max };
    (h, s, max)
}

fn hsv_to_rgb(h: f32, s: f32, v: f32) -> [f32; 3] {
    let h6 = h * 6.0;
    let c = v * s;
    let x = c * (1.0 - (h6.rem_euclid(2.0) - 1.0).abs());
    let (r, g, b) = match h6 as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let m = v - c;
    [r + m, g + m, b + m]
}

/// Bilinear sample of a single-channel map (0 outside).
fn sample(map: &[f32], w: u32, h: u32, x: f32, y: f32) -> f32 {
    let (fx, fy) = (x - 0.5, y - 0.5);
    let (x0, y0) = (fx.floor(), fy.floor());
    let (tx, ty) = (fx - x0, fy - y0);
    let at = |x: f32, y: f32| {
        if x < 0.0 || y < 0.0 || x >= w as f32 || y >= h as f32 {
            0.0
        } else {
            map[(y as u32 * w + x as u32) as usize]
        }
    };
    let top = at(x0, y0) * (1.0 - tx) + at(x0 + 1.0, y0) * tx;
    let bottom = at(x0, y0 + 1.0) * (1.0 - tx) + at(x0 + 1.0, y0 + 1.0) * tx;
    top * (1.0 - ty) + bottom * ty
}

/// Resamples an RGB image through `map` (output pixel centre → input position), clamping at
/// the border.
pub(crate) fn warp_rgb(image: &RgbImage, map: impl Fn(f32, f32) -> (f32, f32)) -> RgbImage {
    let (w, h) = image.dimensions();
    RgbImage::from_fn(w, h, |x, y| {
        let (sx, sy) = map(x as f32 + 0.5, y as f32 + 0.5);
        let (sx, sy) = (
            (sx - 0.5).clamp(0.0, (w - 1) as f32),
            (sy - 0.5).clamp(0.0, (h - 1) as f32),
        );
        let (x0, y0) = (sx.floor() as u32, sy.floor() as u32);
        let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
        let (tx, ty) = (sx - x0 as f32, sy - y0 as f32);
        let p = |x, y| image.get_pixel(x, y).0;
        Rgb(std::array::from_fn(|k| {
            let top = p(x0, y0)[k] as f32 * (1.0 - tx) + p(x1, y0)[k] as f32 * tx;
            let bottom = p(x0, y1)[k] as f32 * (1.0 - tx) + p(x1, y1)[k] as f32 * tx;
            (top * (1.0 - ty) + bottom * ty).round() as u8
        }))
    })
}

fn warp_mask(mask: &[f32], w: u32, h: u32, map: impl Fn(f32, f32) -> (f32, f32)) -> Vec<f32> {
    let mut out = Vec::with_capacity(mask.len());
    for y in 0..h {
        for x in 0..w {
            let (sx, sy) = map(x as f32 + 0.5, y as f32 + 0.5);
            out.push(sample(mask, w, h, sx, sy));
        }
    }
    out
}

/// Displaces the mask by a smooth random field of up to `amplitude` pixels.
fn elastic(
    mask: &[f32],
    w: u32,
    h: u32,
    amplitude: f32,
    smoothness: f32,
    rng: &mut Rng,
) -> Vec<f32> {
    let noise = |rng: &mut Rng| {
        let field: Vec<f32> = (0..w * h).map(|_| rng.normal()).collect();
        let field = blur_mask(&field, w, h, smoothness.max(1.0));
        let peak = field.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-6);
        field
            .into_iter()
            .map(|v| v / peak * amplitude)
            .collect::<Vec<f32>>()
    };
    let (dx, dy) = (noise(rng), noise(rng));
    warp_mask(mask, w, h, |x, y| {
        let i = ((y - 0.5) as u32 * w + (x - 0.5) as u32) as usize;
        (x + dx[i], y + dy[i])
    })
}

/// Gaussian blur of a single-channel map.
fn blur_mask(mask: &[f32], w: u32, h: u32, sigma: f32) -> Vec<f32> {
    let image = image::ImageBuffer::<Luma<f32>, Vec<f32>>::from_raw(w, h, mask.to_vec())
        .unwrap_or_else(|| image::ImageBuffer::new(w, h));
    image::imageops::blur(&image, sigma.max(0.1)).into_raw()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face() -> (RgbImage, Vec<(f32, f32)>) {
        let image = RgbImage::from_fn(96, 96, |x, y| {
            Rgb([
                (x * 2 + 40) as u8,
                (y * 2 + 30) as u8,
                ((x + y) % 200) as u8,
            ])
        });
        let hull = ellipse_hull(
            &FaceBox {
                x: 24,
                y: 20,
                width: 48,
                height: 56,
            },
            32,
        );
        (image, hull)
    }

    #[test]
    fn fake_equals_real_outside_the_mask_and_the_mask_is_in_range() {
        let (image, hull) = face();
        for seed in 0..8 {
            let pair = self_blend(
                &image,
                &hull,
                &SelfBlendConfig::default(),
                &mut Rng::new(seed),
            );
            assert!(pair.mask.iter().all(|&m| (0.0..=1.0).contains(&m)));
            let mut inside_differs = false;
            for (i, (f, r)) in pair.fake.pixels().zip(pair.real.pixels()).enumerate() {
                if pair.mask[i] == 0.0 {
                    assert_eq!(f, r, "seed {seed}: pixel {i} differs outside the mask");
                } else if f != r {
                    inside_differs = true;
                }
            }
            assert!(
                inside_differs,
                "seed {seed}: the fake is identical to the real face"
            );
            // The mask covers the face region, not the corners.
            assert_eq!(pair.mask[0], 0.0);
            assert!(pair.mask[48 * 96 + 48] > 0.0);
        }
    }

    #[test]
    fn same_seed_gives_the_same_bytes() {
        let (image, hull) = face();
        let config = SelfBlendConfig::default();
        let a = self_blend(&image, &hull, &config, &mut Rng::new(11));
        let b = self_blend(&image, &hull, &config, &mut Rng::new(11));
        assert_eq!(a, b);
        let c = self_blend(&image, &hull, &config, &mut Rng::new(12));
        assert_ne!(a.fake, c.fake);
    }

    #[test]
    fn convex_fill_and_hsv_round_trip() {
        let square = [(1.0, 1.0), (3.0, 1.0), (3.0, 3.0), (1.0, 3.0)];
        let mask = fill_convex(4, 4, &square);
        assert_eq!(mask.iter().sum::<f32>(), 4.0);
        // Clockwise order fills the same pixels.
        let reversed: Vec<_> = square.iter().rev().copied().collect();
        assert_eq!(fill_convex(4, 4, &reversed), mask);
        let rgb = [0.2, 0.7, 0.4];
        let (h, s, v) = rgb_to_hsv(rgb);
        let back = hsv_to_rgb(h, s, v);
        for k in 0..3 {
            assert!((back[k] - rgb[k]).abs() < 1e-5);
        }
    }
}
