//! The EXIF thumbnail against the image: a camera writes both at capture; an editor that
//! changes the picture but leaves the camera's thumbnail behind leaves a thumbnail that shows
//! something else (a classic sign of an edit).
//!
//! Both are brought to one coarse grid (the thumbnail's aspect, at most 48 cells wide) in
//! luminance; the overall brightness offset is removed (cameras render thumbnails with their own
//! tone curve), then the mean and the largest cell difference are measured. A local edit shows
//! in the largest cell difference, a different picture or framing in the mean.

use image::imageops::{self, FilterType};
use image::{GrayImage, RgbImage};
use serde::Serialize;

/// Largest thumbnail side decoded.
const MAX_SIDE: u32 = 1024;
/// Grid width the two are compared at.
const GRID: u32 = 48;
/// Mean difference (0–255) above which the thumbnail shows another picture.
pub const MEAN_LIMIT: f32 = 12.0;
/// Largest cell difference (0–255) above which a region differs.
pub const LOCAL_LIMIT: f32 = 60.0;
/// Aspect ratios further apart than this are a different framing (unless letterboxed).
const ASPECT_TOLERANCE: f32 = 0.04;

/// The embedded thumbnail compared with the image.
#[derive(Debug, Clone, Serialize)]
pub struct ThumbnailCheck {
    /// Thumbnail width.
    pub width: u32,
    /// Thumbnail height.
    pub height: u32,
    /// Mean absolute luminance difference (0–255) after removing the brightness offset.
    pub mean_difference: f32,
    /// Largest difference of one grid cell (0–255).
    pub max_local_difference: f32,
    /// Whether the thumbnail shows something other than the image.
    pub mismatch: bool,
    /// Why, in words, when it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The decoded thumbnail (orientation applied), for display.
    #[serde(skip)]
    pub thumbnail: RgbImage,
    /// The image scaled to the thumbnail's size, for display beside it.
    #[serde(skip)]
    pub image_scaled: RgbImage,
}

/// Decodes the thumbnail and compares it with `image` (orientation applied);
/// `orientation` is the main image's EXIF orientation, which the thumbnail shares.
pub(super) fn compare(
    jpeg: &[u8],
    orientation: Option<u16>,
    image: &RgbImage,
) -> Result<Option<ThumbnailCheck>, String> {
    let mut reader =
        image::ImageReader::with_format(std::io::Cursor::new(jpeg), image::ImageFormat::Jpeg);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(16 << 20);
    reader.limits(limits);
    let mut decoded = reader
        .decode()
        .map_err(|e| format!("embedded thumbnail does not decode ({e})"))?;
    if let Some(o) = orientation.and_then(|o| image::metadata::Orientation::from_exif(o as u8)) {
        decoded.apply_orientation(o);
    }
    let thumbnail = decoded.to_rgb8();
    if thumbnail.width() < 8 || thumbnail.height() < 8 || image.width() < 8 || image.height() < 8 {
        return Ok(None);
    }
    Ok(Some(check(thumbnail, image)))
}

/// The comparison itself.
pub(super) fn check(thumbnail: RgbImage, image: &RgbImage) -> ThumbnailCheck {
    let (tw, th) = thumbnail.dimensions();
    let image_scaled = imageops::resize(image, tw, th, FilterType::Triangle);
    let thumb_aspect = tw as f32 / th as f32;
    let image_aspect = image.width() as f32 / image.height() as f32;
    // Letterboxed thumbnails (a 16:9 picture in a 4:3 thumbnail): compare the picture's part.
    let (region, aspect_differs) = if (thumb_aspect / image_aspect - 1.0).abs() > ASPECT_TOLERANCE {
        let (w, h) = if image_aspect > thumb_aspect {
            (tw, ((tw as f32 / image_aspect).round() as u32).clamp(1, th))
        } else {
            (((th as f32 * image_aspect).round() as u32).clamp(1, tw), th)
        };
        let (x, y) = ((tw - w) / 2, (th - h) / 2);
        let bars_dark = bars_are_dark(&thumbnail, x, y, w, h);
        ((x, y, w, h), !bars_dark)
    } else {
        ((0, 0, tw, th), false)
    };
    let (x, y, w, h) = region;
    let thumb_part = imageops::crop_imm(&thumbnail, x, y, w, h).to_image();
    // Without letterbox bars the picture's part is the whole thumbnail: reuse the scaled image.
    let image_part = if (w, h) == (tw, th) {
        image_scaled.clone()
    } else {
        imageops::resize(image, w, h, FilterType::Triangle)
    };
    let gw = GRID.min(w).max(1);
    let gh = ((gw as f32 * h as f32 / w as f32).round() as u32).max(1);
    let a = luminance(&imageops::resize(&thumb_part, gw, gh, FilterType::Triangle));
    let b = luminance(&imageops::resize(&image_part, gw, gh, FilterType::Triangle));
    let n = (gw * gh) as f32;
    let offset: f32 = a
        .pixels()
        .zip(b.pixels())
        .map(|(p, q)| p[0] as f32 - q[0] as f32)
        .sum::<f32>()
        / n;
    let diffs: Vec<f32> = a
        .pixels()
        .zip(b.pixels())
        .map(|(p, q)| (p[0] as f32 - q[0] as f32 - offset).abs())
        .collect();
    let mean = diffs.iter().sum::<f32>() / n;
    let local = diffs.iter().copied().fold(0.0, f32::max);
    // Share of cells that differ visibly: small for a local edit, large for another picture.
    let changed = diffs.iter().filter(|&&d| d > LOCAL_LIMIT / 2.0).count() as f32 / n;
    let reason = if aspect_differs {
        Some(format!(
            "different framing: thumbnail {tw}×{th}, image {}×{}",
            image.width(),
            image.height()
        ))
    } else if mean > MEAN_LIMIT && changed >= 0.3 {
        Some(format!(
            "the thumbnail shows another picture (mean difference {mean:.0}/255)"
        ))
    } else if local > LOCAL_LIMIT || mean > MEAN_LIMIT {
        Some(format!(
            "a region differs from the thumbnail (difference {local:.0}/255)"
        ))
    } else {
        None
    };
    ThumbnailCheck {
        width: tw,
        height: th,
        mean_difference: mean,
        max_local_difference: local,
        mismatch: reason.is_some(),
        reason,
        thumbnail,
        image_scaled,
    }
}

fn luminance(image: &RgbImage) -> GrayImage {
    GrayImage::from_fn(image.width(), image.height(), |x, y| {
        let p = image.get_pixel(x, y);
        let l = 0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32;
        image::Luma([l.round() as u8])
    })
}

/// Whether everything outside the picture's region is near black (letterbox bars).
fn bars_are_dark(thumbnail: &RgbImage, x: u32, y: u32, w: u32, h: u32) -> bool {
    let mut sum = 0u64;
    let mut count = 0u64;
    for (px, py, p) in thumbnail.enumerate_pixels() {
        let inside = px >= x && px < x + w && py >= y && py < y + h;
        if !inside {
            sum += p.0.iter().map(|&v| v as u64).sum::<u64>();
            count += 3;
        }
    }
    count == 0 || sum / count < 24
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scene(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            let v = ((x * 255 / w) as u8).wrapping_add((y * 128 / h) as u8);
            image::Rgb([v, v / 2, 255 - v])
        })
    }

    #[test]
    fn the_camera_thumbnail_matches() {
        let image = scene(640, 480);
        let thumb = imageops::resize(&image, 160, 120, FilterType::Triangle);
        let c = check(thumb, &image);
        assert!(!c.mismatch, "{c:?}");
    }

    #[test]
    fn a_local_edit_leaves_a_stale_thumbnail() {
        let original = scene(640, 480);
        let thumb = imageops::resize(&original, 160, 120, FilterType::Triangle);
        let mut edited = original.clone();
        for y in 150..300 {
            for x in 250..400 {
                edited.put_pixel(x, y, image::Rgb([250, 250, 250]));
            }
        }
        let c = check(thumb, &edited);
        assert!(c.mismatch, "{c:?}");
        assert!(c.reason.unwrap().contains("region"));
    }

    #[test]
    fn letterboxed_thumbnails_match_and_reframing_does_not() {
        let image = scene(1600, 900);
        let mut thumb = RgbImage::new(160, 120);
        let inner = imageops::resize(&image, 160, 90, FilterType::Triangle);
        imageops::replace(&mut thumb, &inner, 0, 15);
        assert!(!check(thumb, &image).mismatch);
        let cropped = imageops::crop_imm(&image, 400, 0, 800, 900).to_image();
        let wide_thumb = imageops::resize(&image, 160, 90, FilterType::Triangle);
        assert!(check(wide_thumb, &cropped).mismatch);
    }
}
