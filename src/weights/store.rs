//! Whole MC-LCR models on disk: a safetensors weights file plus a JSON manifest holding the
//! configuration, the weights' SHA-256, their provenance and the verdict band thresholds.
//!
//! `model.json` names `model.safetensors` beside it. Both are written atomically
//! ([`crate::atomic_file`]: temporary file, `fsync`, rename), and loading checks the checksum before a single tensor is read.

use std::path::{Path, PathBuf};

use burn::prelude::*;
use burn::store::{
    ApplyResult, FloatCastAdapter, ModuleSnapshot, SafetensorsStore, SafetensorsStoreError,
};
use burn::tensor::DType;
use serde::{Deserialize, Serialize};

use super::error::ModelFileError;
use crate::atomic_file::{Staged, WriteError};
use crate::model::{Mclcr, MclcrConfig};
use crate::weights::{assets, model_files};

/// Version of the manifest format this build writes and reads.
pub const MANIFEST_FORMAT: u32 = 1;

/// Score thresholds that turn P(manipulated) into a verdict band.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BandThresholds {
    /// At or above: "likely manipulated".
    pub manipulated: f32,
    /// Below: "no evidence found". In between: "inconclusive".
    pub clear: f32,
}

impl Default for BandThresholds {
    fn default() -> Self {
        Self {
            manipulated: 0.7,
            clear: 0.3,
        }
    }
}

/// Where a model's weights came from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Provenance {
    /// Origin of the backbone's initial weights, e.g. the package they were converted from.
    pub backbone: String,
    /// What the whole network was trained on, if it was.
    pub training: String,
    /// Licence of the weights.
    pub licence: String,
    /// How well it did on data it never saw, in one line (the model card has the details).
    pub evaluation: String,
}

/// The manifest of a saved model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelManifest {
    /// Manifest format version.
    pub format: u32,
    /// Human-readable model name.
    pub name: String,
    /// The network's configuration.
    pub config: MclcrConfig,
    /// Weights file, relative to the manifest.
    pub weights: String,
    /// SHA-256 of the weights file.
    pub weights_sha256: String,
    /// Whether the classifier was trained to detect forgeries. An untrained classifier gives
    /// scores that mean nothing, and every output says so.
    pub trained: bool,
    /// Verdict band thresholds.
    #[serde(default)]
    pub bands: BandThresholds,
    /// The smallest face (longer side of the crop, in pixels) this model's verdicts are given
    /// for: below it an image is inconclusive. Chosen from the model's figures by face size;
    /// `None` means the network's input side.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_face_side: Option<u32>,
    /// Whether a face's score is the mean of the network's P(manipulated) for the face and for
    /// its mirror image (test-time flip averaging). Part of the model because its thresholds
    /// were chosen on scores made this way.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub mirror_average: bool,
    /// Provenance of the weights.
    #[serde(default)]
    pub provenance: Provenance,
    /// The program that wrote the manifest.
    #[serde(default)]
    pub created_by: String,
}

impl ModelManifest {
    /// A manifest for `config`; the weights fields are filled in by [`save_model`].
    pub fn new(name: impl Into<String>, config: MclcrConfig, trained: bool) -> Self {
        Self {
            format: MANIFEST_FORMAT,
            name: name.into(),
            config,
            weights: String::new(),
            weights_sha256: String::new(),
            trained,
            bands: BandThresholds::default(),
            min_face_side: None,
            mirror_average: false,
            provenance: Provenance::default(),
            created_by: format!("mclcr {}", env!("CARGO_PKG_VERSION")),
        }
    }

    /// Path of the weights file of the manifest at `manifest_path`.
    pub fn weights_path(&self, manifest_path: &Path) -> PathBuf {
        manifest_path
            .parent()
            .unwrap_or_else(|| Path::new("."))
            .join(&self.weights)
    }
}

/// How the weights are stored on disk. Models always compute in f32; f16 files halve the size
/// and are widened to f32 when loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WeightPrecision {
    /// 32-bit floats, bit for bit what was trained.
    #[default]
    F32,
    /// 16-bit floats.
    F16,
}

/// Saves `model` as `<manifest_path>` + the weights file beside it (same stem, `.safetensors`),
/// filling in the manifest's weights fields. Returns the completed manifest.
pub fn save_model(
    model: &Mclcr,
    manifest: ModelManifest,
    manifest_path: &Path,
) -> Result<ModelManifest, ModelFileError> {
    save_model_as(model, manifest, manifest_path, WeightPrecision::F32)
}

/// [`save_model`] with the weights stored at `precision`.
pub fn save_model_as(
    model: &Mclcr,
    mut manifest: ModelManifest,
    manifest_path: &Path,
    precision: WeightPrecision,
) -> Result<ModelManifest, ModelFileError> {
    let weights_path = manifest_path.with_extension("safetensors");
    let staged = Staged::new(&weights_path);
    let tmp_weights = staged.path().to_path_buf();
    // One metadata entry only: burn's defaults sit in a hash map whose order changes from run
    // to run, and the same weights should give the same bytes (and checksum).
    let mut store = SafetensorsStore::from_file(&tmp_weights)
        .overwrite(true)
        .clear_metadata()
        .metadata("producer", format!("mclcr {}", env!("CARGO_PKG_VERSION")));
    if precision == WeightPrecision::F16 {
        store = store.with_to_adapter(FloatCastAdapter::to(DType::F16));
    }
    model.save_into(&mut store).map_err(|e| WriteError {
        path: weights_path.clone(),
        step: "writing the weights",
        error: std::io::Error::other(e.to_string()),
    })?;
    manifest.weights_sha256 =
        assets::sha256_file(&tmp_weights).map_err(|e| ModelFileError::io(&weights_path, e))?;
    manifest.format = MANIFEST_FORMAT;
    // Both files replaced so that the manifest on disk always names complete weights.
    let sha256 = manifest.weights_sha256.clone();
    model_files::replace_together(staged, &sha256, |weights| {
        manifest.weights = weights.to_string();
        let json =
            serde_json::to_string_pretty(&manifest).map_err(|e| ModelFileError::Manifest {
                path: manifest_path.to_path_buf(),
                message: e.to_string(),
            })?;
        crate::atomic_file::write(manifest_path, json)?;
        Ok(())
    })?;
    Ok(manifest)
}

/// Reads and checks a manifest (format, configuration).
pub fn read_manifest(manifest_path: &Path) -> Result<ModelManifest, ModelFileError> {
    let text =
        std::fs::read_to_string(manifest_path).map_err(|e| ModelFileError::io(manifest_path, e))?;
    let invalid = |message: String| ModelFileError::Manifest {
        path: manifest_path.to_path_buf(),
        message,
    };
    let manifest: ModelManifest =
        serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))?;
    if manifest.format != MANIFEST_FORMAT {
        return Err(invalid(format!(
            "format {} is not supported (this build reads format {MANIFEST_FORMAT})",
            manifest.format
        )));
    }
    manifest.config.validate().map_err(invalid)?;
    Ok(manifest)
}

/// Loads the model of the manifest at `manifest_path` onto `device`, verifying the weights'
/// SHA-256 and that every tensor of the network is in the file with the right shape.
pub fn load_model(
    manifest_path: &Path,
    device: &Device,
) -> Result<(Mclcr, ModelManifest), ModelFileError> {
    let manifest = read_manifest(manifest_path)?;
    let weights_path = manifest.weights_path(manifest_path);
    assets::verify_sha256(&weights_path, &manifest.weights_sha256)?;
    let mut model = manifest.config.init(device);
    // f16 files (shipped models) are widened; f32 files pass through unchanged.
    let mut store = SafetensorsStore::from_file(&weights_path)
        .with_from_adapter(FloatCastAdapter::to(DType::F32));
    let result = model
        .load_from(&mut store)
        .map_err(|e| load_error(&weights_path, e))?;
    check_apply_result(&weights_path, &result)?;
    Ok((model, manifest))
}

/// Classifies a store error: tensors that do not fit are a mismatch, the rest a format error.
pub(crate) fn load_error(path: &Path, error: SafetensorsStoreError) -> ModelFileError {
    match error {
        SafetensorsStoreError::ValidationFailed(message)
        | SafetensorsStoreError::TensorNotFound(message) => ModelFileError::Mismatch {
            path: path.to_path_buf(),
            message: shorten(&message, 400),
        },
        other => ModelFileError::Format {
            path: path.to_path_buf(),
            message: shorten(&other.to_string(), 400),
        },
    }
}

/// Cuts a long message, saying how much was left out.
fn shorten(message: &str, limit: usize) -> String {
    if message.chars().count() <= limit {
        return message.to_string();
    }
    let head: String = message.chars().take(limit).collect();
    format!(
        "{head}… ({} more characters)",
        message.chars().count() - limit
    )
}

/// Turns missing tensors or shape errors of a load into an error naming the file.
pub(crate) fn check_apply_result(path: &Path, result: &ApplyResult) -> Result<(), ModelFileError> {
    let mut problems = Vec::new();
    if !result.errors.is_empty() {
        problems.push(format!(
            "{} tensor(s) could not be applied: {}",
            result.errors.len(),
            summarise(result.errors.iter().map(|e| format!("{e:?}")))
        ));
    }
    if !result.missing.is_empty() {
        problems.push(format!(
            "{} tensor(s) missing: {}",
            result.missing.len(),
            summarise(result.missing.iter().map(|(p, _)| p.clone()))
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ModelFileError::Mismatch {
            path: path.to_path_buf(),
            message: problems.join("; "),
        })
    }
}

fn summarise(items: impl Iterator<Item = String>) -> String {
    let items: Vec<String> = items.collect();
    let shown = items.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
    if items.len() > 5 {
        format!("{shown}, …")
    } else {
        shown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirror_average_is_off_unless_the_manifest_says_so() {
        let manifest = ModelManifest::new("m", MclcrConfig::tiny(), true);
        let json = serde_json::to_string(&manifest).expect("serialises");
        assert!(!json.contains("mirror_average"), "{json}");
        let mut on = manifest.clone();
        on.mirror_average = true;
        let json = serde_json::to_string(&on).expect("serialises");
        let back: ModelManifest = serde_json::from_str(&json).expect("parses");
        assert!(back.mirror_average);
    }
}
