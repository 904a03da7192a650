//! What the app remembers across restarts (serde, every field defaulted so that old or damaged
//! state never stops the app from starting). Runtime handles live elsewhere.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::atomic_file::{self, WriteError};
use crate::device::DeviceChoice;
use crate::export::html::Bookmark;

/// Key under which eframe stores [`AppState`] (read when `settings.json` is missing, from
/// versions that kept the settings there only).
pub const STATE_KEY: &str = "mclcr-state";

/// The app's own settings file, `settings.json` in the app's data folder (beside eframe's
/// `app.ron`). mclcr writes it atomically; eframe's file is rewritten in place, and a kill
/// half-way through would lose the settings it held.
pub fn settings_path() -> Option<PathBuf> {
    eframe::storage_dir("mclcr").map(|dir| dir.join("settings.json"))
}

/// The fine-tuning network choice that fine-tunes the active model (its configuration and
/// weights) rather than starting a named network from the ImageNet backbone.
pub const ACTIVE_MODEL: &str = "active model";

/// How the queue is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum SortOrder {
    /// The order files were added in.
    #[default]
    Added,
    /// Highest score first.
    ScoreDescending,
    /// By file name.
    Name,
}

impl SortOrder {
    /// All orders, in menu order.
    pub const ALL: [Self; 3] = [Self::Added, Self::ScoreDescending, Self::Name];

    /// Words shown to users.
    pub fn label(self) -> &'static str {
        match self {
            Self::Added => "order added",
            Self::ScoreDescending => "highest score first",
            Self::Name => "file name",
        }
    }
}

/// Which images the queue shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct QueueFilter {
    /// Show "likely manipulated".
    pub likely: bool,
    /// Show "inconclusive".
    pub inconclusive: bool,
    /// Show "no evidence found".
    pub clear: bool,
    /// Show the rest (no face, untrained, errors).
    pub other: bool,
    /// Only images with a flag.
    pub flagged_only: bool,
    /// Only bookmarked images.
    pub bookmarked_only: bool,
}

impl Default for QueueFilter {
    fn default() -> Self {
        Self {
            likely: true,
            inconclusive: true,
            clear: true,
            other: true,
            flagged_only: false,
            bookmarked_only: false,
        }
    }
}

/// The inspector's explanation views.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum View {
    /// Amplitude and phase attention over the face.
    #[default]
    Attention,
    /// The three style-correlation (Gram) matrices.
    Style,
    /// The face's log-amplitude spectrum.
    Spectrum,
    /// Scores under re-compression and rescaling.
    Robustness,
    /// What the file says about itself (metadata, thumbnail, encoder, C2PA).
    File,
}

impl View {
    /// All views, in tab order.
    pub const ALL: [Self; 5] = [
        Self::Attention,
        Self::Style,
        Self::Spectrum,
        Self::Robustness,
        Self::File,
    ];

    /// Tab title.
    pub fn label(self) -> &'static str {
        match self {
            Self::Attention => "Attention",
            Self::Style => "Style correlations",
            Self::Spectrum => "Spectrum",
            Self::Robustness => "Robustness",
            Self::File => "File",
        }
    }
}

/// Fine-tuning form values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainForm {
    /// Folders of real faces.
    pub real: Vec<PathBuf>,
    /// Folders of manipulated faces (none: self-blended fakes only).
    pub fake: Vec<PathBuf>,
    /// Output folder for checkpoints.
    pub out: Option<PathBuf>,
    /// Network: the active model (fine-tuned from its weights), or default, xception or tiny
    /// (from the ImageNet backbone).
    pub network: String,
    /// Epochs.
    pub epochs: usize,
    /// Faces per batch.
    pub batch: usize,
    /// Peak learning rate.
    pub learning_rate: f64,
    /// Seed.
    pub seed: u64,
    /// Inputs are face crops already.
    pub whole_image: bool,
}

impl Default for TrainForm {
    fn default() -> Self {
        Self {
            real: Vec::new(),
            fake: Vec::new(),
            out: None,
            network: ACTIVE_MODEL.into(),
            epochs: 10,
            batch: 16,
            learning_rate: 3e-4,
            seed: 0,
            whole_image: false,
        }
    }
}

/// Everything persisted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AppState {
    /// Compute device.
    pub device: DeviceChoice,
    /// The active model's manifest (`None`: the built-in model).
    pub model: Option<PathBuf>,
    /// Queue order.
    pub sort: SortOrder,
    /// Queue filter.
    pub filter: QueueFilter,
    /// Selected explanation view.
    pub view: View,
    /// Heatmap opacity over the face, 0..1.
    pub opacity: f32,
    /// Analyst bookmarks by file SHA-256.
    pub bookmarks: BTreeMap<String, Bookmark>,
    /// The fine-tuning form.
    pub train: TrainForm,
    /// The last folder a dialog was opened in.
    pub last_dir: Option<PathBuf>,
    /// Show the fine-tuning panel.
    pub show_training: bool,
    /// Show the model and device window.
    pub show_model: bool,
}

impl Default for AppState {
    fn default() -> Self {
        Self {
            device: DeviceChoice::Auto,
            model: None,
            sort: SortOrder::default(),
            filter: QueueFilter::default(),
            view: View::default(),
            opacity: 0.6,
            bookmarks: BTreeMap::new(),
            train: TrainForm::default(),
            last_dir: None,
            show_training: false,
            show_model: false,
        }
    }
}

impl AppState {
    /// The settings in `path`; `None` when the file is missing or not readable as settings.
    pub fn read(path: &Path) -> Option<Self> {
        serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
    }

    /// Writes the settings to `path` atomically (its folder is created when missing).
    pub fn write(&self, path: &Path) -> Result<(), WriteError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|error| WriteError {
                path: path.to_path_buf(),
                step: "creating its folder",
                error,
            })?;
        }
        let json = serde_json::to_string_pretty(self).map_err(|e| WriteError {
            path: path.to_path_buf(),
            step: "serialising the settings",
            error: std::io::Error::other(e),
        })?;
        atomic_file::write(path, json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_and_a_failed_write_keeps_the_old_file() {
        let dir = std::env::temp_dir().join(format!("mclcr-settings-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("nested/settings.json");
        let mut state = AppState {
            opacity: 0.25,
            ..AppState::default()
        };
        state.write(&path).unwrap();
        assert_eq!(AppState::read(&path), Some(state.clone()));
        // A folder where the file should go: the write fails, clearly, and nothing changes.
        let blocked = dir.join("blocked");
        std::fs::create_dir_all(blocked.join("settings.json/inside")).unwrap();
        state.opacity = 0.9;
        let err = state.write(&blocked.join("settings.json")).unwrap_err();
        assert!(err.to_string().contains("settings.json"), "{err}");
        assert!(blocked.join("settings.json/inside").is_dir());
        // Below a regular file: no folder can be made there, even as root.
        let err = state.write(&path.join("settings.json")).unwrap_err();
        assert_eq!(err.step, "creating its folder");
        assert_eq!(AppState::read(&path).map(|s| s.opacity), Some(0.25));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn old_or_partial_state_still_loads() {
        let state: AppState = serde_json::from_str(r#"{"opacity": 0.3, "unknown": 1}"#).unwrap();
        assert_eq!(state.opacity, 0.3);
        assert_eq!(state.train, TrainForm::default());
        let round: AppState =
            serde_json::from_str(&serde_json::to_string(&state).unwrap()).unwrap();
        assert_eq!(round, state);
    }
}
