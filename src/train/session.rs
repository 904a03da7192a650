//! The fine-tuning engine: epochs of balanced real / fake batches (fakes from folders or
//! self-blended on the fly), validation metrics each epoch, atomic checkpoints, resume and
//! cancellation. Progress goes out as [`TrainEvent`]s through a channel, for the CLI's progress
//! line and the app's live curves alike.
//!
//! Output folder: `last.json` + `last.safetensors` after every epoch, `best.json` +
//! `best.safetensors` for the best validation AUC, and `state.json` (epochs done, history, seed,
//! data summary), with `keep_epochs` also `epoch-N.json` + `.safetensors` for every epoch, and
//! for resuming `resume.model.bpk` (the weights with their parameter ids) and
//! `resume.optim.bpk` (Adam's moments). Resuming continues with the next epoch exactly where the
//! last completed one left off: same weights, optimiser state, schedule position and data order.

use std::ops::ControlFlow;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::time::Instant;

use burn::prelude::*;
use burn::store::{BurnpackStore, ModuleSnapshot};

use crate::inference::preprocess::Preprocessor;
use crate::model::backbone::Backbone;
use crate::rng::Rng;
use crate::train::ahead;
use crate::train::batches::{epoch_batches, make_batch};
use crate::train::checkpoint::{checkpoint_manifest, read_state, save_resume_files, write_state};
use crate::train::dataset::{DataSplit, DataSummary, FaceSample};
use crate::train::events::{EpochRecord, TrainError, TrainEvent, TrainState};
use crate::train::metrics::{self, DetectionMetrics};
use crate::train::options::TrainOptions;
use crate::train::step::Trainer;
use crate::weights::error::ModelFileError;
use crate::weights::pretrained;
use crate::weights::store::{BandThresholds, load_model, save_model};

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
    trainer.enable_blend_map_loss(f64::from(options.blend_map_loss), &options.optim);
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
        trainer.set_frozen(
            epoch <= options.freeze_backbone_epochs,
            options.frozen_stages,
        );
        // Dropout draws from the device's generator: seed it per epoch so that a resumed run
        // draws what an uninterrupted one would have.
        device.seed(options.seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9));
        let mut rng = Rng::derive(options.seed, epoch as u64);
        let batches = epoch_batches(data, pairs_per_batch, &mut rng);
        // Each batch draws from its own generator, so batches can be made ahead on worker
        // threads while the device runs the step before, alike for any number of workers.
        let batch_seed = rng.next_u64();
        let workers = ahead::prep_workers(crate::device::cpu_threads());
        let mut losses = Vec::new();
        let mut cancelled = false;
        ahead::in_order(
            batches.len(),
            workers,
            2 * workers,
            |i| {
                let mut rng = Rng::derive(batch_seed, i as u64);
                make_batch(&batches[i], options, &preprocessor, &mut rng)
            },
            |i, batch| {
                if cancel.load(Ordering::Relaxed) {
                    cancelled = true;
                    return ControlFlow::Break(());
                }
                let learning_rate = options.optim.learning_rate_at(trainer.steps, total_steps);
                let (loss, _) = trainer.step_with_blend_targets(
                    &batch.faces,
                    &batch.labels,
                    &batch.blend_targets,
                    learning_rate,
                );
                losses.push(loss.total);
                samples_seen += batch.faces.len();
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
                ControlFlow::Continue(())
            },
        );
        if cancelled {
            let _ = events.send(TrainEvent::Cancelled);
            return Ok(state);
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
        if options.keep_epochs {
            let kept = out.join(format!("epoch-{epoch}.json"));
            save_model(&model, manifest.clone(), &kept)?;
            let _ = events.send(TrainEvent::Checkpoint {
                path: kept,
                best: false,
            });
        }
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
    let workers = ahead::prep_workers(crate::device::cpu_threads());
    // Each face's self-blend draws from its own generator: the same set in every epoch.
    let prepare = |i: usize| {
        let sample = &val[i];
        if sample.fake {
            return vec![(preprocessor.prepare(&sample.crop), true)];
        }
        let mut rng = Rng::derive(options.seed ^ 0x5EED, i as u64);
        let at_source_size = options.blend_at_source_size;
        let (real, fake) = sample.self_blended(&options.self_blend, at_source_size, &mut rng);
        // Blended at the source size, the real face went through the same resampling as its
        // fake and is the one to compare with; otherwise the stored crop is (as before).
        let real = preprocessor.prepare(if at_source_size { &real } else { &sample.crop });
        vec![(real, false), (preprocessor.prepare(&fake), true)]
    };
    ahead::in_order(val.len(), workers, 4 * workers, prepare, |_, prepared| {
        for (face, label) in prepared {
            faces.push(face);
            labels.push(label);
        }
        ControlFlow::Continue(())
    });
    let mut scores = Vec::with_capacity(faces.len());
    for chunk in faces.chunks(options.batch_size.max(1)) {
        scores.extend(trainer.predict(chunk));
    }
    let bands = options.band_targets.choose(&scores, &labels);
    metrics::evaluate(&scores, &labels).ok().map(|m| (m, bands))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imaging::faces::FaceBox;
    use crate::model::MclcrConfig;
    use std::path::PathBuf;
    use std::sync::mpsc;

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
            hull: crate::train::selfblend::ellipse_hull(&face, 48),
            face,
            fake: false,
            identity: identity.into(),
            path: PathBuf::from(format!("{identity}.png")),
            source_side: 64,
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
            no_face: Vec::new(),
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

    /// Trains `opts` on [`data`] into `out` to the end: the final state and every event sent.
    fn run_to_end(opts: &TrainOptions, out: &Path) -> (TrainState, Vec<TrainEvent>) {
        let (tx, rx) = mpsc::channel();
        let state = train(
            &data(),
            opts,
            out,
            false,
            &Device::flex(),
            &tx,
            &AtomicBool::new(false),
        )
        .expect("training runs");
        drop(tx);
        (state, rx.iter().collect())
    }

    #[test]
    fn events_report_steps_validation_and_checkpoints() {
        let out = std::env::temp_dir().join(format!("mclcr-events-{}", std::process::id()));
        let mut opts = options();
        opts.epochs = 1;
        let (state, events) = run_to_end(&opts, &out);
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

    #[test]
    fn keep_epochs_saves_every_epoch_and_steps_come_in_order() {
        let out = std::env::temp_dir().join(format!("mclcr-keep-{}", std::process::id()));
        let mut opts = options();
        opts.epochs = 2;
        opts.keep_epochs = true;
        let (_, events) = run_to_end(&opts, &out);
        for epoch in 1..=2 {
            let kept = out.join(format!("epoch-{epoch}.json"));
            assert!(
                load_model(&kept, &Device::flex()).is_ok(),
                "{}",
                kept.display()
            );
        }
        assert!(!out.join("epoch-3.json").exists());
        // Batches are made ahead on other threads but stepped in order.
        let steps: Vec<(usize, usize)> = events
            .into_iter()
            .filter_map(|e| match e {
                TrainEvent::Step { epoch, step, .. } => Some((epoch, step)),
                _ => None,
            })
            .collect();
        let expected: Vec<(usize, usize)> =
            (1..=2).flat_map(|e| (1..=4).map(move |s| (e, s))).collect();
        assert_eq!(steps, expected);
        let _ = std::fs::remove_dir_all(&out);
    }
}
