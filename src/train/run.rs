//! A whole training run from folders: the one entry of `mclcr train` and the app's fine-tuning
//! panel. It picks the device, reads the faces and runs the epochs of [`super::session`].

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc::Sender;

use crate::device::{self, DeviceChoice};
use crate::train::dataset::{self, DataOptions};
use crate::train::events::{TrainError, TrainEvent, TrainState};
use crate::train::options::TrainOptions;
use crate::train::session::train;

/// A run to start.
#[derive(Debug, Clone)]
pub struct TrainRequest {
    /// Folders of real faces; subfolders name identities.
    pub real: Vec<PathBuf>,
    /// Folders of manipulated faces (empty: self-blended fakes only).
    pub fake: Vec<PathBuf>,
    /// Inputs are face crops already (no detection).
    pub whole_image: bool,
    /// Fraction of identities held out for validation.
    pub val_fraction: f32,
    /// Training options.
    pub options: TrainOptions,
    /// Checkpoint folder.
    pub out: PathBuf,
    /// Continue the run in `out`.
    pub resume: bool,
    /// Compute device.
    pub device: DeviceChoice,
}

/// Runs `request`: [`TrainEvent::Reading`], [`TrainEvent::ReadProgress`] after each file,
/// [`TrainEvent::DataRead`], then the events of the
/// epochs. Returns the final state; a cancelled run returns the state of its last completed
/// epoch.
pub fn run(
    request: &TrainRequest,
    events: &Sender<TrainEvent>,
    cancel: &AtomicBool,
) -> Result<TrainState, TrainError> {
    let selected = device::select(request.device)?;
    let options = &request.options;
    let _ = events.send(TrainEvent::Reading);
    let began = std::time::Instant::now();
    let progress = |read: usize, total: usize| {
        let _ = events.send(TrainEvent::ReadProgress {
            read,
            total,
            elapsed_seconds: began.elapsed().as_secs_f64(),
        });
    };
    let data = dataset::load(
        &request.real,
        &request.fake,
        &DataOptions {
            side: options.config.image_size as u32,
            whole_image: request.whole_image,
            val_fraction: request.val_fraction,
            seed: options.seed,
            faces_per_image: options.faces_per_image,
            exclude: options.held_out_identities.clone(),
            only: Vec::new(),
        },
        &progress,
    )?;
    let _ = events.send(TrainEvent::DataRead {
        data: data.summary.clone(),
        device: selected.label.clone(),
        notice: selected.notice.clone(),
    });
    train(
        &data,
        options,
        &request.out,
        request.resume,
        &selected.device,
        events,
        cancel,
    )
}
