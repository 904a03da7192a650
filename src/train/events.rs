//! What a run reports while it goes (events for the CLI's progress lines and the app's curves),
//! what it keeps in `state.json`, and why it can fail.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::device::DeviceError;
use crate::train::dataset::{DataError, DataSummary};
use crate::train::metrics::DetectionMetrics;
use crate::train::options::TrainOptions;
use crate::train::step::StepLoss;
use crate::weights::error::ModelFileError;

/// One epoch's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// 1-based epoch.
    pub epoch: usize,
    /// Mean training loss.
    pub train_loss: f32,
    /// Validation accuracy, AUC and EER.
    pub val: Option<[f64; 3]>,
}

/// What `state.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainState {
    /// Epochs completed.
    pub epochs_done: usize,
    /// Optimisation steps taken.
    pub steps: usize,
    /// Best validation AUC so far.
    pub best_auc: Option<f64>,
    /// Per-epoch figures.
    pub history: Vec<EpochRecord>,
    /// The options of the run.
    pub options: TrainOptions,
    /// The data it saw.
    #[serde(default)]
    pub data: DataSummary,
}

/// Progress of a run.
#[derive(Debug, Clone)]
pub enum TrainEvent {
    /// The faces are being read (detection and landmarks), before the first step.
    Reading,
    /// Files read so far (sent after each file while the faces are read).
    ReadProgress {
        /// Files read (with or without a face).
        read: usize,
        /// Files to read.
        total: usize,
        /// Seconds since reading began.
        elapsed_seconds: f64,
    },
    /// The faces are read.
    DataRead {
        /// What was found, including the files that could not be used.
        data: DataSummary,
        /// The device the run uses.
        device: String,
        /// Why `auto` chose the CPU, if it did.
        notice: Option<String>,
    },
    /// Training begins (or resumes).
    Started {
        /// First epoch to run (1-based).
        first_epoch: usize,
        /// Last epoch.
        epochs: usize,
        /// Steps per epoch.
        steps_per_epoch: usize,
        /// The data.
        data: DataSummary,
    },
    /// One optimisation step done.
    Step {
        /// 1-based epoch.
        epoch: usize,
        /// 1-based step within the epoch.
        step: usize,
        /// Steps in the epoch.
        steps: usize,
        /// Loss parts.
        loss: StepLoss,
        /// Learning rate used.
        learning_rate: f64,
        /// Training throughput.
        samples_per_second: f64,
        /// Estimated seconds to the end of the run.
        eta_seconds: f64,
    },
    /// Validation after an epoch.
    Validated {
        /// 1-based epoch.
        epoch: usize,
        /// The metrics (ROC included).
        metrics: DetectionMetrics,
    },
    /// A checkpoint was written.
    Checkpoint {
        /// Its manifest.
        path: PathBuf,
        /// Whether it is the new best.
        best: bool,
    },
    /// The run stopped on request; the last checkpoint stands.
    Cancelled,
    /// The run is complete.
    Finished,
}

impl TrainEvent {
    /// While reading: one line with the files read, the rate and the time left (`None` for
    /// other events).
    pub fn read_line(&self) -> Option<String> {
        let Self::ReadProgress {
            read,
            total,
            elapsed_seconds,
        } = *self
        else {
            return None;
        };
        let rate = read as f64 / elapsed_seconds.max(1e-3);
        let left = total.saturating_sub(read) as f64 / rate.max(1e-9);
        Some(format!(
            "reading faces: {read}/{total} files  {rate:.1} files/s  eta {left:.0}s"
        ))
    }

    /// For a step: one line with the epoch, step, loss parts (the blend map's when it is on),
    /// learning rate, speed and ETA.
    pub fn step_line(&self) -> Option<String> {
        let Self::Step {
            epoch,
            step,
            steps,
            loss,
            learning_rate,
            samples_per_second,
            eta_seconds,
        } = self
        else {
            return None;
        };
        let blend_map = if loss.blend_map > 0.0 {
            format!(", blend map {:.4}", loss.blend_map)
        } else {
            String::new()
        };
        Some(format!(
            "epoch {epoch} step {step}/{steps}  loss {:.4} (ce {:.4}, supcon {:.4}{blend_map})  lr {learning_rate:.2e}  {samples_per_second:.1} faces/s  eta {:.0}s",
            loss.total, loss.cross_entropy, loss.supcon, eta_seconds
        ))
    }
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// No device for the choice.
    #[error(transparent)]
    Device(#[from] DeviceError),
    /// No usable data in the folders.
    #[error(transparent)]
    Data(#[from] DataError),
    /// Reading or writing a model or checkpoint.
    #[error(transparent)]
    Model(#[from] ModelFileError),
    /// Writing the state file.
    #[error("{path}: {message}")]
    State {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// Options that cannot work.
    #[error("{0}")]
    Options(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_read_line_gives_files_rate_and_time_left() {
        let event = TrainEvent::ReadProgress {
            read: 1000,
            total: 3831,
            elapsed_seconds: 100.0,
        };
        assert_eq!(
            event.read_line().as_deref(),
            Some("reading faces: 1000/3831 files  10.0 files/s  eta 283s")
        );
        assert_eq!(TrainEvent::Reading.read_line(), None);
    }

    #[test]
    fn the_step_line_shows_the_blend_map_loss_only_while_it_is_on() {
        let step = |blend_map| TrainEvent::Step {
            epoch: 1,
            step: 2,
            steps: 10,
            loss: StepLoss {
                total: 1.5,
                cross_entropy: 0.5,
                supcon: 1.0,
                blend_map,
            },
            learning_rate: 1e-4,
            samples_per_second: 4.0,
            eta_seconds: 20.0,
        };
        assert_eq!(
            step(0.0).step_line().as_deref(),
            Some(
                "epoch 1 step 2/10  loss 1.5000 (ce 0.5000, supcon 1.0000)  lr 1.00e-4  4.0 faces/s  eta 20s"
            )
        );
        assert!(
            step(0.25)
                .step_line()
                .is_some_and(|line| line.contains("supcon 1.0000, blend map 0.2500)"))
        );
    }
}
