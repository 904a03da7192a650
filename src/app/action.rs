//! What the user asked for. Panels and the window chrome draw from the data they are given and
//! return [`Action`]s instead of changing the app; the app carries every action out in one
//! place (`MclcrApp::apply`), as egui's demo app does with its commands.

use std::path::PathBuf;

use super::types::PickPurpose;
use crate::device::DeviceChoice;
use crate::export::html::Bookmark;
use crate::train::TrainRequest;

/// One thing the user asked the app to do.
#[derive(Debug, Clone)]
pub enum Action {
    /// Select a face of a queued image and explain it.
    Select {
        /// Index into the queue.
        item: usize,
        /// Face in the image.
        face: usize,
    },
    /// Move the selection by this many images through the visible queue.
    Step(isize),
    /// Explain the selected face again, with robustness scores when `robustness`.
    Explain {
        /// Also score the face under re-compression and rescaling.
        robustness: bool,
    },
    /// Add files or folders to the queue and analyse them.
    AddPaths(Vec<PathBuf>),
    /// Stop the running scan.
    CancelScan,
    /// Empty the queue.
    ClearQueue,
    /// Open a file dialog; its answer arrives from a worker.
    Pick(PickPurpose),
    /// Switch to another model (a manifest, or `None` for the built-in one).
    LoadModel(Option<PathBuf>),
    /// Run the model on another device (it is loaded again).
    SetDevice(DeviceChoice),
    /// Enter or leave presentation mode.
    SetPresenting(bool),
    /// Draw the attention overlays at another opacity.
    SetOpacity(f32),
    /// Set or remove (`None`) the bookmark of the file with this SHA-256.
    Bookmark {
        /// The file's SHA-256.
        sha256: String,
        /// The new bookmark.
        bookmark: Option<Bookmark>,
    },
    /// Start (or resume) fine-tuning.
    StartTraining(Box<TrainRequest>),
    /// Fine-tuning could not start, for this reason.
    TrainingRefused(String),
    /// Stop fine-tuning after the current step.
    CancelTraining,
}
