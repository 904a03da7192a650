//! The small types the app's files share: what a file dialog is for, which face an explanation
//! belongs to, a queued image, the model as the app knows it, scan progress and the inspector's
//! explanation. A leaf of the app: of its files it imports only [`super::textures`].

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use eframe::egui;

use super::textures::ExplanationTextures;
use crate::analysis::ImageReport;
use crate::analysis::explain::FaceExplanation;
use crate::imaging::faces::FaceBox;
use crate::inference::scorer::Scorer;

/// What a file dialog's answer is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PickPurpose {
    /// Images to analyse.
    Analyse,
    /// Folders of images to analyse.
    AnalyseFolders,
    /// A model manifest to load.
    Model,
    /// Folders of real faces for fine-tuning.
    TrainReal,
    /// Folders of manipulated faces for fine-tuning.
    TrainFake,
    /// The fine-tuning output folder.
    TrainOut,
    /// Where to write a JSON Lines export.
    ExportJson,
    /// Where to write a CSV export.
    ExportCsv,
    /// Where to write an HTML report.
    ExportHtml,
}

/// Identifies one explanation request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExplainKey {
    /// The image file.
    pub path: PathBuf,
    /// The face crop in it.
    pub crop: FaceBox,
    /// Whether robustness scores were asked for.
    pub robustness: bool,
}

/// One analysed image in the queue.
pub struct Item {
    /// The analysis result (its thumbnail's texture is in [`super::thumbnails::Thumbnails`]).
    pub report: ImageReport,
}

/// The model as the app knows it.
pub enum ModelStatus {
    /// Being loaded.
    Loading,
    /// Ready.
    Ready(Arc<Scorer>),
    /// Loading failed.
    Failed(String),
}

impl ModelStatus {
    /// The model, when ready.
    pub fn scorer(&self) -> Option<&Arc<Scorer>> {
        match self {
            Self::Ready(scorer) => Some(scorer),
            _ => None,
        }
    }
}

/// A running or finished scan.
#[derive(Debug, Clone, Copy, Default)]
pub struct ScanProgress {
    /// Scan id.
    pub id: u64,
    /// Files in the scan (once known).
    pub total: Option<usize>,
    /// Files reported.
    pub done: usize,
    /// Still running.
    pub running: bool,
    /// When it started.
    pub started: Option<Instant>,
}

/// The explanation shown in the inspector, with its textures.
pub struct Shown {
    /// Which face.
    pub key: ExplainKey,
    /// The result, once it arrived.
    pub result: Option<Result<Arc<FaceExplanation>, String>>,
    /// Textures made from it (crop, overlays at the current opacity, spectrum).
    pub textures: ExplanationTextures,
    /// A number that changes with every explanation received (the GPU overlays re-upload
    /// their textures when it does).
    pub content: u64,
}

/// The selected image as a texture: its file, the texture and its size in image pixels.
pub type Preview = (PathBuf, egui::TextureHandle, [u32; 2]);
