//! Finding faces and cutting the crop the network sees.
//!
//! Detection uses the SeetaFace frontal cascade of the `rustface` crate (BSD-2; the model file
//! ships in `assets/models/` and is compiled into the binary). The crop rule is shared by
//! training and inference: a square centred on the detection box, `1 + 2·margin` times its
//! longer side, clamped to the image (shifted inwards, shrunk only when the image is smaller).

use image::{GrayImage, RgbImage};
use serde::{Deserialize, Serialize};

/// The SeetaFace frontal face detection model.
const SEETA_MODEL: &[u8] = include_bytes!("../../assets/models/seeta_fd_frontal_v1.0.bin");

/// The crop margin used for analysis and training alike (fraction of the longer box side,
/// on each side).
pub const DEFAULT_MARGIN: f32 = 0.25;

/// The default [`DetectorSettings::blazeface_threshold`].
pub const DEFAULT_BLAZEFACE_THRESHOLD: f32 = 0.5;

/// A box in image pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaceBox {
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
}

/// Which detector found a face.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Detector {
    /// The SeetaFace frontal cascade (the first detector).
    #[default]
    Seeta,
    /// MediaPipe BlazeFace, back-camera model (the fallback for turned and small faces).
    BlazeFace,
}

/// One detected face.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DetectedFace {
    /// The detector's box.
    pub bbox: FaceBox,
    /// The detector's confidence, higher is surer: SeetaFace's score (about 2 to 30), or
    /// BlazeFace's probability (0 to 1).
    pub confidence: f32,
    /// The detector that found the face.
    #[serde(default)]
    pub detector: Detector,
}

/// Detector settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DetectorSettings {
    /// Smallest face side searched for, in pixels (≥ 20).
    pub min_face: u32,
    /// Score threshold of the cascade.
    pub score_threshold: f64,
    /// Scale factor between pyramid levels.
    pub pyramid_scale: f32,
    /// Sliding-window step in pixels.
    pub window_step: u32,
    /// Images are searched at most this large (longer side, pixels); boxes are mapped back.
    pub max_side: u32,
    /// Score (probability) a BlazeFace face needs when SeetaFace finds none; 1 or more turns
    /// the fallback off.
    pub blazeface_threshold: f32,
}

impl Default for DetectorSettings {
    fn default() -> Self {
        Self {
            min_face: 40,
            score_threshold: 2.0,
            pyramid_scale: 0.8,
            window_step: 4,
            max_side: 1600,
            blazeface_threshold: DEFAULT_BLAZEFACE_THRESHOLD,
        }
    }
}

/// A face detector. It is not `Send`: each worker thread creates its own.
pub struct FaceDetector {
    inner: Box<dyn rustface::Detector>,
    settings: DetectorSettings,
}

impl std::fmt::Debug for FaceDetector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaceDetector")
            .field("settings", &self.settings)
            .finish()
    }
}

/// The detector model could not be read.
#[derive(Debug, thiserror::Error)]
#[error("face detector model: {0}")]
pub struct DetectorError(String);

impl DetectorError {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

impl FaceDetector {
    /// A detector with the built-in SeetaFace model.
    pub fn new(settings: DetectorSettings) -> Result<Self, DetectorError> {
        let model = rustface::read_model(SEETA_MODEL).map_err(|e| DetectorError(e.to_string()))?;
        let mut inner = rustface::create_detector_with_model(model);
        inner.set_min_face_size(settings.min_face.max(20));
        inner.set_score_thresh(settings.score_threshold.max(f64::MIN_POSITIVE));
        inner.set_pyramid_scale_factor(settings.pyramid_scale.clamp(0.1, 0.99));
        inner.set_slide_window_step(settings.window_step.max(1), settings.window_step.max(1));
        Ok(Self { inner, settings })
    }

    /// Faces in an image, most confident first.
    pub fn detect(&mut self, image: &RgbImage) -> Vec<DetectedFace> {
        let (w, h) = image.dimensions();
        if w < 20 || h < 20 {
            return Vec::new();
        }
        let longer = w.max(h);
        let scale = if longer > self.settings.max_side {
            self.settings.max_side as f32 / longer as f32
        } else {
            1.0
        };
        let gray: GrayImage = if scale < 1.0 {
            let (sw, sh) = super::scale::fit_longest_side(w, h, self.settings.max_side);
            let (sw, sh) = (sw.max(20), sh.max(20));
            image::imageops::resize(
                &image::imageops::grayscale(image),
                sw,
                sh,
                image::imageops::FilterType::Triangle,
            )
        } else {
            image::imageops::grayscale(image)
        };
        let min_face = ((self.settings.min_face as f32 * scale).round() as u32).max(20);
        self.inner.set_min_face_size(min_face);
        let data = rustface::ImageData::new(gray.as_raw(), gray.width(), gray.height());
        let mut faces: Vec<DetectedFace> = self
            .inner
            .detect(&data)
            .into_iter()
            .filter_map(|f| {
                let b = f.bbox();
                let x0 = (b.x().max(0) as f32 / scale).round() as u32;
                let y0 = (b.y().max(0) as f32 / scale).round() as u32;
                let x1 = (((b.x() + b.width() as i32).max(0) as f32) / scale).round() as u32;
                let y1 = (((b.y() + b.height() as i32).max(0) as f32) / scale).round() as u32;
                let (x1, y1) = (x1.min(w), y1.min(h));
                (x1 > x0 && y1 > y0).then_some(DetectedFace {
                    bbox: FaceBox {
                        x: x0,
                        y: y0,
                        width: x1 - x0,
                        height: y1 - y0,
                    },
                    confidence: f.score() as f32,
                    detector: Detector::Seeta,
                })
            })
            .collect();
        faces.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
        faces
    }
}

/// The square crop around a face: side `(1 + 2·margin) · max(w, h)`, centred on the box,
/// shifted to stay inside the image and shrunk only when the image is smaller than that.
pub fn crop_box(face: &FaceBox, image_width: u32, image_height: u32, margin: f32) -> FaceBox {
    let side = (face.width.max(face.height) as f32 * (1.0 + 2.0 * margin)).round() as u32;
    let side = side.min(image_width).min(image_height).max(1);
    let cx = face.x as f32 + face.width as f32 / 2.0;
    let cy = face.y as f32 + face.height as f32 / 2.0;
    let place = |centre: f32, limit: u32| {
        let start = (centre - side as f32 / 2.0).round().max(0.0) as u32;
        start.min(limit - side)
    };
    FaceBox {
        x: place(cx, image_width),
        y: place(cy, image_height),
        width: side,
        height: side,
    }
}

/// Cuts a crop out of an image.
pub fn cut(image: &RgbImage, crop: &FaceBox) -> RgbImage {
    image::imageops::crop_imm(image, crop.x, crop.y, crop.width, crop.height).to_image()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crop_box_is_square_centred_and_inside() {
        let face = FaceBox {
            x: 100,
            y: 100,
            width: 50,
            height: 60,
        };
        let crop = crop_box(&face, 400, 300, 0.25);
        assert_eq!((crop.width, crop.height), (90, 90));
        assert_eq!((crop.x, crop.y), (80, 85));
        // Near the edge the crop shifts inwards.
        let corner = FaceBox {
            x: 0,
            y: 0,
            width: 40,
            height: 40,
        };
        let crop = crop_box(&corner, 400, 300, 0.5);
        assert_eq!((crop.x, crop.y, crop.width), (0, 0, 80));
        // Larger than the image: shrunk to fit.
        let crop = crop_box(&face, 70, 70, 1.0);
        assert_eq!((crop.x, crop.y, crop.width, crop.height), (0, 0, 70, 70));
    }

    #[test]
    fn no_faces_in_a_flat_image() {
        let mut detector = FaceDetector::new(DetectorSettings::default()).unwrap();
        assert!(detector.detect(&RgbImage::new(200, 200)).is_empty());
        assert!(detector.detect(&RgbImage::new(10, 10)).is_empty());
    }
}
