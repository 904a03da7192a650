//! The second face detector: MediaPipe BlazeFace (back-camera model, Apache-2.0), for the turned
//! and small faces the SeetaFace frontal cascade misses.
//!
//! The image is scaled to fit 256×256 (keeping its aspect ratio, centred, black borders), the
//! [`BlazeFaceBack`] network scores 896 SSD anchors, and the anchors above the score threshold
//! are decoded and merged by weighted non-maximum suppression, as MediaPipe's
//! `face_detection_back` graph does: anchors from `SsdAnchorsCalculator` with input 256,
//! strides 16, 32, 32, 32, one aspect ratio plus the interpolated scale (2 anchors per cell per
//! layer, layers of one stride sharing a grid) and fixed anchor size; box and keypoint offsets
//! divided by 256; overlaps of IoU above 0.3 averaged, weighted by score.

use std::path::Path;

use burn::prelude::*;
use burn::store::{ModuleSnapshot, SafetensorsStore};
use image::RgbImage;
use image::imageops::FilterType;

use super::faces::{DetectedFace, Detector, FaceBox};
use crate::model::blazeface::{BlazeFaceBack, BlazeFaceBackConfig, COORDS};
use crate::weights::assets;
use crate::weights::error::ModelFileError;

/// MediaPipe's anchor strides for the back-camera model (one per SSD layer).
pub const STRIDES: [usize; 4] = [16, 32, 32, 32];

/// Overlap (IoU) above which two detections are one face.
pub const NMS_IOU: f32 = 0.3;

/// How far below the eyes' midpoint a face's mouth keypoint must lie, in box widths. On the 15
/// hard real faces BlazeFace recovers in realworld-dev (turned, dark, small) the drop is
/// 0.37–0.49 and on well-lit portraits about 0.45; on the coffee cup of `tests/images/coffee.png`
/// (a "face" at probability 0.68) it is 0.28.
pub const MIN_MOUTH_DROP: f32 = 0.33;

/// The centre of one anchor, as a fraction of the input side.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Anchor {
    /// Horizontal centre in [0, 1].
    pub x: f32,
    /// Vertical centre in [0, 1].
    pub y: f32,
}

/// MediaPipe's SSD anchors with fixed size (only the centres matter): consecutive layers of one
/// stride share a grid, each layer giving 2 anchors per cell (aspect ratio 1 and the
/// interpolated scale), in row, column, anchor order.
pub fn ssd_anchors(input_size: usize, strides: &[usize]) -> Vec<Anchor> {
    let mut anchors = Vec::new();
    let mut layer = 0;
    while layer < strides.len() {
        let stride = strides[layer];
        let same = strides[layer..]
            .iter()
            .take_while(|&&s| s == stride)
            .count();
        let cells = input_size.div_ceil(stride);
        for y in 0..cells {
            for x in 0..cells {
                for _ in 0..2 * same {
                    anchors.push(Anchor {
                        x: (x as f32 + 0.5) / cells as f32,
                        y: (y as f32 + 0.5) / cells as f32,
                    });
                }
            }
        }
        layer += same;
    }
    anchors
}

/// A decoded detection in the network's input frame (fractions of the input side).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    /// Probability that this is a face.
    pub score: f32,
    /// Box: x0, y0, x1, y1.
    pub bbox: [f32; 4],
    /// Six keypoints (right eye, left eye, nose tip, mouth, right ear, left ear), (x, y) each.
    pub keypoints: [f32; 12],
}

impl Candidate {
    /// Whether the keypoints are laid out as a face's: the mouth at least [`MIN_MOUTH_DROP`]
    /// box widths below the midpoint of the eyes.
    pub fn face_like(&self) -> bool {
        let width = self.bbox[2] - self.bbox[0];
        let eyes_y = (self.keypoints[1] + self.keypoints[3]) / 2.0;
        width > 0.0 && self.keypoints[7] - eyes_y >= MIN_MOUTH_DROP * width
    }
}

fn iou(a: &[f32; 4], b: &[f32; 4]) -> f32 {
    let w = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let h = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let inter = w * h;
    let union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
    if union > 0.0 { inter / union } else { 0.0 }
}

/// Decodes the anchors whose score passes `threshold`: `logits` `[896]`, `regressions`
/// `[896 · 16]` in input pixels of an `input_size` square.
pub fn decode(
    logits: &[f32],
    regressions: &[f32],
    anchors: &[Anchor],
    input_size: f32,
    threshold: f32,
) -> Vec<Candidate> {
    anchors
        .iter()
        .enumerate()
        .filter_map(|(i, anchor)| {
            let score = 1.0 / (1.0 + (-logits.get(i)?.clamp(-100.0, 100.0)).exp());
            if score < threshold {
                return None;
            }
            let r = regressions.get(i * COORDS..(i + 1) * COORDS)?;
            let (cx, cy) = (anchor.x + r[0] / input_size, anchor.y + r[1] / input_size);
            let (w, h) = (r[2] / input_size, r[3] / input_size);
            let mut keypoints = [0.0; 12];
            for k in 0..6 {
                keypoints[2 * k] = anchor.x + r[4 + 2 * k] / input_size;
                keypoints[2 * k + 1] = anchor.y + r[5 + 2 * k] / input_size;
            }
            Some(Candidate {
                score,
                bbox: [cx - w / 2.0, cy - h / 2.0, cx + w / 2.0, cy + h / 2.0],
                keypoints,
            })
        })
        .collect()
}

/// MediaPipe's weighted non-maximum suppression: the most confident remaining detection and all
/// those overlapping it by more than `iou_threshold` become one, their boxes and keypoints
/// averaged weighted by score, with the top score. Most confident first.
pub fn weighted_nms(mut candidates: Vec<Candidate>, iou_threshold: f32) -> Vec<Candidate> {
    candidates.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut out = Vec::new();
    while let Some(top) = candidates.first().copied() {
        let (cluster, rest): (Vec<Candidate>, Vec<Candidate>) = candidates
            .into_iter()
            .partition(|c| iou(&top.bbox, &c.bbox) > iou_threshold || c == &top);
        let total: f32 = cluster.iter().map(|c| c.score).sum();
        let mut merged = Candidate {
            score: top.score,
            bbox: [0.0; 4],
            keypoints: [0.0; 12],
        };
        for c in &cluster {
            let w = c.score / total;
            merged
                .bbox
                .iter_mut()
                .zip(c.bbox)
                .for_each(|(m, v)| *m += w * v);
            merged
                .keypoints
                .iter_mut()
                .zip(c.keypoints)
                .for_each(|(m, v)| *m += w * v);
        }
        out.push(merged);
        candidates = rest;
    }
    out
}

/// Where an image lies in the network's square input.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Letterbox {
    scale: f32,
    offset_x: f32,
    offset_y: f32,
}

/// The BlazeFace detector on the CPU. Loading reads and checks the weights; keep one per thread.
#[derive(Debug)]
pub struct BlazeFace {
    net: BlazeFaceBack,
    anchors: Vec<Anchor>,
    device: Device,
    input_size: usize,
    threshold: f32,
}

impl BlazeFace {
    /// Loads the shipped weights (checking their SHA-256) onto `device`; faces need a score of
    /// at least `threshold` (a probability).
    pub fn load(device: &Device, threshold: f32) -> Result<Self, ModelFileError> {
        let path = assets::locate(assets::BLAZEFACE_BACK);
        assets::verify_sha256(&path, assets::BLAZEFACE_BACK_SHA256)?;
        Self::from_file(&path, device, threshold)
    }

    /// Loads weights from a converted safetensors file (no checksum check).
    pub fn from_file(path: &Path, device: &Device, threshold: f32) -> Result<Self, ModelFileError> {
        if !path.is_file() {
            return Err(ModelFileError::io(
                path,
                std::io::Error::new(std::io::ErrorKind::NotFound, "file not found"),
            ));
        }
        let config = BlazeFaceBackConfig::new();
        let mut net = config.init(device);
        let mut store = SafetensorsStore::from_file(path);
        let result = net
            .load_from(&mut store)
            .map_err(|e| crate::weights::store::load_error(path, e))?;
        crate::weights::store::check_apply_result(path, &result)?;
        Ok(Self {
            net,
            anchors: ssd_anchors(config.input_size, &STRIDES),
            device: device.clone(),
            input_size: config.input_size,
            threshold,
        })
    }

    /// Raw network output for an already prepared `256 × 256` RGB image: 896 score logits and
    /// 896 · 16 regressions.
    pub fn raw(&self, square: &RgbImage) -> (Vec<f32>, Vec<f32>) {
        let (scores, boxes) = self.net.forward(self.tensor(square)); // [1, 896], [1, 896, 16]
        let to_vec = |data: burn::tensor::TensorData| data.try_to_vec::<f32>().unwrap_or_default();
        (to_vec(scores.into_data()), to_vec(boxes.into_data()))
    }

    /// Faces in an image, most confident first; the confidence is BlazeFace's probability.
    /// Detections whose keypoints are not laid out as a face's ([`Candidate::face_like`]) are
    /// dropped.
    pub fn detect(&self, image: &RgbImage) -> Vec<DetectedFace> {
        let (w, h) = image.dimensions();
        if w < 8 || h < 8 {
            return Vec::new();
        }
        let (square, letterbox) = self.letterbox(image);
        let (logits, regressions) = self.raw(&square);
        let size = self.input_size as f32;
        let found = weighted_nms(
            decode(&logits, &regressions, &self.anchors, size, self.threshold),
            NMS_IOU,
        );
        found
            .into_iter()
            .filter(Candidate::face_like)
            .filter_map(|c| {
                let to_image = |v: f32, offset: f32, limit: u32| {
                    ((v * size - offset) / letterbox.scale)
                        .round()
                        .clamp(0.0, limit as f32) as u32
                };
                let x0 = to_image(c.bbox[0], letterbox.offset_x, w);
                let y0 = to_image(c.bbox[1], letterbox.offset_y, h);
                let x1 = to_image(c.bbox[2], letterbox.offset_x, w);
                let y1 = to_image(c.bbox[3], letterbox.offset_y, h);
                (x1 > x0 && y1 > y0).then_some(DetectedFace {
                    bbox: FaceBox {
                        x: x0,
                        y: y0,
                        width: x1 - x0,
                        height: y1 - y0,
                    },
                    confidence: c.score,
                    detector: Detector::BlazeFace,
                })
            })
            .collect()
    }

    /// The image scaled to fit the input square, centred on black.
    fn letterbox(&self, image: &RgbImage) -> (RgbImage, Letterbox) {
        let (w, h) = image.dimensions();
        let side = self.input_size as u32;
        let (sw, sh) = super::scale::fit_longest_side(w, h, side);
        let (sw, sh) = (sw.clamp(1, side), sh.clamp(1, side));
        let resized = image::imageops::resize(image, sw, sh, FilterType::Triangle);
        let mut square = RgbImage::new(side, side);
        let (ox, oy) = ((side - sw) / 2, (side - sh) / 2);
        image::imageops::replace(&mut square, &resized, ox as i64, oy as i64);
        let letterbox = Letterbox {
            scale: sw as f32 / w as f32,
            offset_x: ox as f32,
            offset_y: oy as f32,
        };
        (square, letterbox)
    }

    fn tensor(&self, square: &RgbImage) -> Tensor<4> {
        let size = self.input_size;
        let mut data = Vec::with_capacity(3 * size * size);
        for c in 0..3 {
            data.extend(square.pixels().map(|p| p.0[c] as f32 / 127.5 - 1.0));
        }
        Tensor::<1>::from_floats(data.as_slice(), &self.device).reshape([1, 3, size, size]) // [1, 3, 256, 256]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_follow_mediapipe_back_options() {
        let anchors = ssd_anchors(256, &STRIDES);
        assert_eq!(anchors.len(), 896);
        assert_eq!(
            anchors[0],
            Anchor {
                x: 0.5 / 16.0,
                y: 0.5 / 16.0
            }
        );
        assert_eq!(anchors[1], anchors[0]);
        assert_eq!(anchors[2].x, 1.5 / 16.0);
        assert_eq!(
            anchors[511],
            Anchor {
                x: 15.5 / 16.0,
                y: 15.5 / 16.0
            }
        );
        assert_eq!(
            anchors[512],
            Anchor {
                x: 0.5 / 8.0,
                y: 0.5 / 8.0
            }
        );
        assert_eq!(anchors[517], anchors[512]);
        assert_eq!(anchors[518].x, 1.5 / 8.0);
    }

    #[test]
    fn weighted_nms_merges_overlaps_and_keeps_the_top_score() {
        let c = |score, x0| Candidate {
            score,
            bbox: [x0, 0.0, x0 + 1.0, 1.0],
            keypoints: [x0; 12],
        };
        let out = weighted_nms(vec![c(0.6, 0.2), c(0.9, 0.0), c(0.7, 5.0)], 0.3);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].score, 0.9);
        // 0.9 · 0 + 0.6 · 0.2, over 1.5.
        assert!((out[0].bbox[0] - 0.08).abs() < 1e-6);
        assert_eq!(out[1].bbox[0], 5.0);
    }

    #[test]
    fn decode_adds_offsets_to_anchor_centres() {
        let anchors = [Anchor { x: 0.5, y: 0.25 }];
        let mut r = vec![0.0; COORDS];
        r[..4].copy_from_slice(&[25.6, 0.0, 51.2, 25.6]);
        let found = decode(&[0.0], &r, &anchors, 256.0, 0.5);
        assert_eq!(found.len(), 1);
        assert!((found[0].bbox[0] - 0.5).abs() < 1e-6);
        assert!((found[0].bbox[3] - 0.3).abs() < 1e-6);
        assert!(decode(&[-1.0], &r, &anchors, 256.0, 0.5).is_empty());
    }

    #[test]
    fn a_face_has_its_mouth_well_below_its_eyes() {
        let mut face = Candidate {
            score: 0.9,
            bbox: [0.0, 0.0, 1.0, 1.0],
            keypoints: [0.3, 0.3, 0.7, 0.3, 0.5, 0.5, 0.5, 0.75, 0.0, 0.4, 1.0, 0.4],
        };
        assert!(face.face_like());
        face.keypoints[7] = 0.5;
        assert!(!face.face_like());
    }
}
