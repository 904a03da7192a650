//! From a face crop (an RGB image) to the network's input tensors.
//!
//! Both streams see the same square crop, resized to the model's `image_size`:
//! - spatial: RGB scaled as `(x − 127) / 128` per channel (x in 0..=255), the scaling the
//!   EfficientNet-Lite ImageNet weights were trained with;
//! - frequency: luma in [0, 1] ([`crate::inference::spectrum::luma`]), then per-patch spectra.

use burn::prelude::*;
use image::RgbImage;
use image::imageops::FilterType;

use crate::inference::spectrum::{PatchDft, luma};
use crate::model::{MclcrConfig, MclcrInput};

/// Mean subtracted from 0..=255 pixel values before they enter the backbone.
pub const PIXEL_MEAN: f32 = 127.0;
/// Divisor applied after the mean.
pub const PIXEL_SCALE: f32 = 128.0;

/// One face, prepared on the CPU, ready to be batched.
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedFace {
    /// Normalised RGB, channel-major `[3, side, side]`.
    pub rgb: Vec<f32>,
    /// Log-amplitude spectra `[patches, bins]`.
    pub amplitude: Vec<f32>,
    /// Phase spectra `[patches, bins]`.
    pub phase: Vec<f32>,
}

/// Turns face crops into [`PreparedFace`]s for one model configuration.
#[derive(Debug)]
pub struct Preprocessor {
    side: usize,
    patches: usize,
    bins: usize,
    dft: PatchDft,
}

impl Preprocessor {
    /// A preprocessor for the input size and patch size of `config`.
    pub fn new(config: &MclcrConfig) -> Self {
        Self {
            side: config.image_size,
            patches: config.frequency.patches(),
            bins: config.frequency.spectrum_len(),
            dft: PatchDft::new(config.frequency.patch_size),
        }
    }

    /// Side of the square input, in pixels.
    pub fn side(&self) -> usize {
        self.side
    }

    /// Prepares a face crop of any size: resized (Catmull-Rom) to the model's square input.
    pub fn prepare(&self, face: &RgbImage) -> PreparedFace {
        let side = self.side as u32;
        if face.dimensions() == (side, side) {
            return self.prepare_exact(face);
        }
        let resized = image::imageops::resize(face, side, side, FilterType::CatmullRom);
        self.prepare_exact(&resized)
    }

    /// Prepares a crop that already has the model's input size.
    fn prepare_exact(&self, face: &RgbImage) -> PreparedFace {
        let n = self.side * self.side;
        let mut rgb = vec![0.0f32; 3 * n];
        let mut gray = Vec::with_capacity(n);
        for (i, pixel) in face.pixels().enumerate() {
            for c in 0..3 {
                rgb[c * n + i] = (pixel.0[c] as f32 - PIXEL_MEAN) / PIXEL_SCALE;
            }
            gray.push(luma(pixel.0));
        }
        let spectra = self.dft.compute(&gray, self.side);
        PreparedFace {
            rgb,
            amplitude: spectra.amplitude,
            phase: spectra.phase,
        }
    }

    /// Stacks prepared faces into one batch on `device`.
    pub fn batch(&self, faces: &[PreparedFace], device: &Device) -> MclcrInput {
        let b = faces.len();
        let s = self.side;
        let gather = |f: fn(&PreparedFace) -> &Vec<f32>| -> Vec<f32> {
            faces
                .iter()
                .flat_map(|face| f(face).iter().copied())
                .collect()
        };
        let rgb = TensorData::new(gather(|f| &f.rgb), [b, 3, s, s]);
        let amplitude = TensorData::new(gather(|f| &f.amplitude), [b, self.patches, self.bins]);
        let phase = TensorData::new(gather(|f| &f.phase), [b, self.patches, self.bins]);
        MclcrInput {
            rgb: Tensor::from_data(rgb, device),             // [b, 3, s, s]
            amplitude: Tensor::from_data(amplitude, device), // [b, patches, bins]
            phase: Tensor::from_data(phase, device),         // [b, patches, bins]
        }
    }
}

/// Crops the largest centred square of an image (for whole-image inputs and ImageNet checks).
pub fn center_square(image: &RgbImage) -> RgbImage {
    let (w, h) = image.dimensions();
    let side = w.min(h);
    image::imageops::crop_imm(image, (w - side) / 2, (h - side) / 2, side, side).to_image()
}

/// Normalised RGB tensor `[1, 3, h, w]` of an image as it is (no resizing).
pub fn rgb_tensor(image: &RgbImage, device: &Device) -> Tensor<4> {
    let (w, h) = (image.width() as usize, image.height() as usize);
    let n = w * h;
    let mut data = vec![0.0f32; 3 * n];
    for (i, pixel) in image.pixels().enumerate() {
        for c in 0..3 {
            data[c * n + i] = (pixel.0[c] as f32 - PIXEL_MEAN) / PIXEL_SCALE;
        }
    }
    Tensor::from_data(TensorData::new(data, [1, 3, h, w]), device) // [1, 3, h, w]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepared_face_has_the_model_shapes() {
        let config = MclcrConfig::tiny();
        let pre = Preprocessor::new(&config);
        let face = RgbImage::from_pixel(100, 80, image::Rgb([255, 127, 0]));
        let prepared = pre.prepare(&face);
        assert_eq!(prepared.rgb.len(), 3 * 64 * 64);
        assert_eq!(prepared.amplitude.len(), 16 * 144);
        assert_eq!(prepared.phase.len(), 16 * 144);
        // (255 − 127) / 128 = 1, (127 − 127) / 128 = 0, (0 − 127) / 128.
        assert!((prepared.rgb[0] - 1.0).abs() < 1e-6);
        assert!(prepared.rgb[64 * 64].abs() < 1e-6);
        assert!((prepared.rgb[2 * 64 * 64] + 127.0 / 128.0).abs() < 1e-6);
        let device = Device::flex();
        let batch = pre.batch(&[prepared.clone(), prepared], &device);
        assert_eq!(batch.rgb.dims(), [2, 3, 64, 64]);
        assert_eq!(batch.amplitude.dims(), [2, 16, 144]);
    }

    #[test]
    fn center_square_takes_the_middle() {
        let mut image = RgbImage::new(6, 4);
        image.put_pixel(1, 0, image::Rgb([9, 9, 9]));
        let square = center_square(&image);
        assert_eq!(square.dimensions(), (4, 4));
        assert_eq!(square.get_pixel(0, 0).0, [9, 9, 9]);
    }
}
