//! Self-blending at the size the face had in its file.
//!
//! Training crops are stored at the network's input side, and most training faces are smaller
//! than that in their files: an 81-pixel portrait face becomes a 256-pixel crop, upsampled more
//! than twofold. A blend made on the stored crop puts full-resolution blending traces (a
//! sharpened inner face, a crisp colour step) on a face that was upsampled from far less
//! detail, and the "downscaled source" transform of the blend barely changes an image that is
//! already soft. A face swap in a video frame is the other way round: it is blended at the
//! frame's own resolution, and its inner face is often the blurrier part. Here the crop goes
//! back to the face's size in its file, is blended there, and both faces of the pair return to
//! the stored side through the same resampling, so that resampling alone tells them nothing.

use image::RgbImage;

use crate::imaging::scale::{scaled_by, to_crop_size};
use crate::rng::Rng;
use crate::train::selfblend::{SelfBlendConfig, self_blend};

/// Below this ratio of source size to crop size the blend is made at the source size; above it
/// the two are near enough that the stored crop is blended as it is.
const LARGEST_SHRINK: f32 = 0.9;

/// The smallest side a crop is shrunk to for blending.
const SMALLEST_SIDE: u32 = 32;

/// A (real, fake) self-blended pair of `crop`, blended at `source_scale` of its size (the
/// face's size in its file over its size in the crop; 1 or more blends the crop as it is), then
/// both brought back to the crop's size. `hull` is the face region in crop pixels.
pub fn self_blend_at_source_size(
    crop: &RgbImage,
    hull: &[(f32, f32)],
    source_scale: f32,
    config: &SelfBlendConfig,
    rng: &mut Rng,
) -> (RgbImage, RgbImage) {
    let (width, height) = crop.dimensions();
    if source_scale.is_nan() || source_scale >= LARGEST_SHRINK || width == 0 || height == 0 {
        let pair = self_blend(crop, hull, config, rng);
        return (pair.real, pair.fake);
    }
    let scale = source_scale
        .max(SMALLEST_SIDE as f32 / width.min(height) as f32)
        .min(1.0);
    let small = scaled_by(crop, scale);
    let (sx, sy) = (
        small.width() as f32 / width as f32,
        small.height() as f32 / height as f32,
    );
    let small_hull: Vec<(f32, f32)> = hull.iter().map(|&(x, y)| (x * sx, y * sy)).collect();
    let pair = self_blend(&small, &small_hull, config, rng);
    // Back to the stored side with the filter that made the stored crop.
    (
        to_crop_size(&pair.real, width, height),
        to_crop_size(&pair.fake, width, height),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imaging::faces::FaceBox;
    use crate::train::selfblend::ellipse_hull;

    fn crop() -> (RgbImage, Vec<(f32, f32)>) {
        // A fine checkerboard: detail that a shrink to a third of the side cannot keep.
        let image = RgbImage::from_fn(192, 192, |x, y| {
            let v = if (x + y) % 2 == 0 { 40 } else { 210 };
            image::Rgb([v, (x / 2) as u8, (y / 2) as u8])
        });
        let hull = ellipse_hull(
            &FaceBox {
                x: 48,
                y: 40,
                width: 96,
                height: 112,
            },
            32,
        );
        (image, hull)
    }

    /// Mean absolute difference between horizontal neighbours of the red channel.
    fn detail(image: &RgbImage) -> f64 {
        let (w, h) = image.dimensions();
        let mut sum = 0.0;
        for y in 0..h {
            for x in 1..w {
                sum += (image.get_pixel(x, y).0[0] as f64 - image.get_pixel(x - 1, y).0[0] as f64)
                    .abs();
            }
        }
        sum / ((w - 1) * h) as f64
    }

    #[test]
    fn a_small_source_is_blended_small_and_both_faces_lose_the_same_detail() {
        let (image, hull) = crop();
        let config = SelfBlendConfig::default();
        let (real, fake) =
            self_blend_at_source_size(&image, &hull, 0.33, &config, &mut Rng::new(3));
        assert_eq!(real.dimensions(), image.dimensions());
        assert_eq!(fake.dimensions(), image.dimensions());
        // Both went through the same shrink: the checkerboard is gone from both.
        assert!(
            detail(&real) < detail(&image) / 3.0,
            "{} vs {}",
            detail(&real),
            detail(&image)
        );
        assert!(detail(&fake) < detail(&image) / 3.0);
        // Outside the face they are the same pixels; inside they differ.
        assert_eq!(real.get_pixel(2, 2), fake.get_pixel(2, 2));
        assert!(real.pixels().zip(fake.pixels()).any(|(a, b)| a != b));
    }

    #[test]
    fn a_source_as_large_as_the_crop_is_blended_as_it_is() {
        let (image, hull) = crop();
        let config = SelfBlendConfig::default();
        let direct = self_blend(&image, &hull, &config, &mut Rng::new(5));
        let (real, fake) = self_blend_at_source_size(&image, &hull, 1.4, &config, &mut Rng::new(5));
        assert_eq!(real, direct.real);
        assert_eq!(fake, direct.fake);
    }
}
