//! Where the faces of an image are and the crops the network sees: one rule for analysis,
//! training data and self-blend previews alike.

use image::RgbImage;

use super::blazeface::BlazeFace;
use super::faces::{self, DetectedFace, DetectorError, DetectorSettings, FaceBox, FaceDetector};

/// One face found in an image.
#[derive(Debug, Clone)]
pub struct FoundFace {
    /// The detector's face (`None` when the whole image is taken as the face crop).
    pub detected: Option<DetectedFace>,
    /// The crop around the face, in image pixels (see [`faces::crop_box`]).
    pub crop_box: FaceBox,
    /// The crop's pixels at the image's own resolution.
    pub crop: RgbImage,
}

impl FoundFace {
    /// The face's longer side in image pixels (the detector's box, or the whole crop).
    pub fn face_side(&self) -> u32 {
        match &self.detected {
            Some(face) => face.bbox.width.max(face.bbox.height),
            None => self.crop_box.width.max(self.crop_box.height),
        }
    }

    /// The crop resized to `side × side`, and where the face box lies inside it (for a whole
    /// image, its central three quarters).
    pub fn resized(&self, side: u32) -> (RgbImage, FaceBox) {
        let pixels = super::scale::to_crop_size(&self.crop, side, side);
        let inside = match &self.detected {
            Some(face) => {
                let scale = side as f32 / self.crop_box.width.max(1) as f32;
                FaceBox {
                    x: (face.bbox.x.saturating_sub(self.crop_box.x) as f32 * scale) as u32,
                    y: (face.bbox.y.saturating_sub(self.crop_box.y) as f32 * scale) as u32,
                    width: (face.bbox.width as f32 * scale) as u32,
                    height: (face.bbox.height as f32 * scale) as u32,
                }
            }
            None => FaceBox {
                x: side / 8,
                y: side / 8,
                width: side * 3 / 4,
                height: side * 3 / 4,
            },
        };
        (pixels, inside)
    }
}

/// Finds faces with the SeetaFace detector and, when it finds none, with BlazeFace (see
/// [`DetectorSettings::blazeface_threshold`]), and cuts their crops. Both detectors are loaded
/// on first use (BlazeFace on the CPU); SeetaFace is not `Send`, so each thread keeps its own
/// finder.
#[derive(Debug, Default)]
pub struct FaceFinder {
    settings: DetectorSettings,
    detector: Option<FaceDetector>,
    fallback: Option<BlazeFace>,
}

impl FaceFinder {
    /// A finder with these detector settings.
    pub fn new(settings: DetectorSettings) -> Self {
        Self {
            settings,
            detector: None,
            fallback: None,
        }
    }

    /// Faces of `image`, most confident first: SeetaFace's, or BlazeFace's when SeetaFace finds
    /// none and the fallback is on.
    pub fn detect(&mut self, image: &RgbImage) -> Result<Vec<DetectedFace>, DetectorError> {
        let detector = match &mut self.detector {
            Some(d) => d,
            None => self.detector.insert(FaceDetector::new(self.settings)?),
        };
        let faces = detector.detect(image);
        if !faces.is_empty() || self.settings.blazeface_threshold >= 1.0 {
            return Ok(faces);
        }
        let fallback = match &self.fallback {
            Some(f) => f,
            None => self.fallback.insert(
                BlazeFace::load(
                    &burn::prelude::Device::flex(),
                    self.settings.blazeface_threshold,
                )
                .map_err(|e| DetectorError::new(e.to_string()))?,
            ),
        };
        Ok(fallback.detect(image))
    }

    /// At most `max_faces` faces of `image`, most confident first, each with its crop of
    /// `margin` around the box; with `whole_image` the image itself is the one face crop.
    pub fn find(
        &mut self,
        image: &RgbImage,
        whole_image: bool,
        margin: f32,
        max_faces: usize,
    ) -> Result<Vec<FoundFace>, DetectorError> {
        let (width, height) = image.dimensions();
        if whole_image {
            return Ok(vec![FoundFace {
                detected: None,
                crop_box: FaceBox {
                    x: 0,
                    y: 0,
                    width,
                    height,
                },
                crop: image.clone(),
            }]);
        }
        Ok(self
            .detect(image)?
            .into_iter()
            .take(max_faces)
            .map(|face| {
                let crop_box = faces::crop_box(&face.bbox, width, height, margin);
                FoundFace {
                    crop: faces::cut(image, &crop_box),
                    detected: Some(face),
                    crop_box,
                }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_whole_image_is_one_face_with_its_centre_as_the_box() {
        let image = RgbImage::new(64, 48);
        let found = FaceFinder::default().find(&image, true, 0.25, 8).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].crop.dimensions(), (64, 48));
        let (pixels, inside) = found[0].resized(32);
        assert_eq!(pixels.dimensions(), (32, 32));
        assert_eq!((inside.x, inside.width), (4, 24));
    }

    #[test]
    fn a_blank_image_has_no_face() {
        let image = RgbImage::new(200, 200);
        assert!(
            FaceFinder::default()
                .find(&image, false, 0.25, 8)
                .unwrap()
                .is_empty()
        );
    }
}
