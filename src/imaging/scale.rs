//! Scaling an image: by its longer side (thumbnails, previews, the detector's working copy), by
//! a factor, and to the side of a face crop.

use image::RgbImage;

/// `width × height` scaled so that the longer side becomes `side` (rounded, each at least 1).
pub fn fit_longest_side(width: u32, height: u32, side: u32) -> (u32, u32) {
    let scale = side.max(1) as f32 / width.max(height).max(1) as f32;
    (
        ((width as f32 * scale).round() as u32).max(1),
        ((height as f32 * scale).round() as u32).max(1),
    )
}

/// The image shrunk to at most `side` pixels on its longer side; a copy when it is already
/// that small (never enlarged).
pub fn shrink_to_longest_side(image: &RgbImage, side: u32) -> RgbImage {
    let (w, h) = image.dimensions();
    if w.max(h) <= side {
        return image.clone();
    }
    let (tw, th) = fit_longest_side(w, h, side);
    image::imageops::thumbnail(image, tw, th)
}

/// The image scaled by `scale` (triangle filter, at least 1 pixel a side).
pub fn scaled_by(image: &RgbImage, scale: f32) -> RgbImage {
    let (w, h) = image.dimensions();
    let (w, h) = (
        ((w as f32 * scale).round() as u32).max(1),
        ((h as f32 * scale).round() as u32).max(1),
    );
    image::imageops::resize(image, w, h, image::imageops::FilterType::Triangle)
}

/// The image resized to `width × height` with the filter that cuts every face crop
/// (Catmull-Rom): a crop brought to the network's input side, or a small face brought back up.
pub fn to_crop_size(image: &RgbImage, width: u32, height: u32) -> RgbImage {
    image::imageops::resize(
        image,
        width,
        height,
        image::imageops::FilterType::CatmullRom,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longer_side_becomes_the_target() {
        assert_eq!(fit_longest_side(4000, 3000, 1600), (1600, 1200));
        assert_eq!(fit_longest_side(300, 600, 96), (48, 96));
        assert_eq!(fit_longest_side(10_000, 1, 100), (100, 1));
    }

    #[test]
    fn small_images_are_not_enlarged() {
        let image = RgbImage::new(40, 30);
        assert_eq!(shrink_to_longest_side(&image, 96).dimensions(), (40, 30));
        let big = RgbImage::new(400, 300);
        assert_eq!(shrink_to_longest_side(&big, 96).dimensions(), (96, 72));
    }
}
