//! The fine-tuning panel: folders, the main hyper-parameters, start / pause / resume / cancel,
//! live loss and AUC curves, the ROC at the end, and making the result the active model.
//! It drives the same engine as `mclcr train`, on a worker thread.

use std::path::{Path, PathBuf};

use eframe::egui;
use egui_plot::{Legend, Line, Plot, PlotPoints};

use super::action::Action;
pub use super::state::ACTIVE_MODEL;
use super::state::TrainForm;
use super::types::PickPurpose;
use crate::device::DeviceChoice;
use crate::inference::scorer::Scorer;
use crate::train::metrics::DetectionMetrics;
use crate::train::{TrainEvent, TrainOptions, TrainRequest};

/// What the fine-tuning panel needs to know of the app besides its form.
#[derive(Clone, Copy)]
pub struct Setting<'a> {
    /// The active model, when loaded (the "active model" network fine-tunes it).
    pub scorer: Option<&'a Scorer>,
    /// The active model's manifest (`None`: the built-in model).
    pub manifest: Option<&'a Path>,
    /// The device chosen for the app.
    pub device: DeviceChoice,
}

/// Progress of the current (or last) fine-tuning run, as the panel shows it.
#[derive(Debug, Default)]
pub struct TrainingView {
    /// A run is going.
    pub running: bool,
    /// (global step, total loss).
    pub loss: Vec<[f64; 2]>,
    /// (global step, cross-entropy).
    pub cross_entropy: Vec<[f64; 2]>,
    /// (epoch, validation AUC).
    pub auc: Vec<[f64; 2]>,
    /// The last validation metrics.
    pub last_metrics: Option<DetectionMetrics>,
    /// Epoch, step and the figures of the last step.
    pub progress: String,
    /// Fraction of the run done.
    pub fraction: f32,
    /// The best checkpoint of the finished run.
    pub best: Option<PathBuf>,
    /// Why the last run failed.
    pub error: Option<String>,
    steps_per_epoch: usize,
    epochs: usize,
}

impl TrainingView {
    /// The view of a run that has just started.
    pub fn started() -> Self {
        Self {
            running: true,
            ..Default::default()
        }
    }

    /// Takes one engine event into account.
    pub fn apply(&mut self, event: TrainEvent) {
        match event {
            TrainEvent::Reading => self.progress = "reading faces…".into(),
            TrainEvent::ReadProgress { .. } => {
                self.progress = event.read_line().unwrap_or_default();
            }
            TrainEvent::DataRead { data, device, .. } => {
                self.progress = format!(
                    "{} + {} training faces, {} + {} validation, on {device}",
                    data.train_real, data.train_fake, data.val_real, data.val_fake
                );
            }
            TrainEvent::Started {
                first_epoch,
                epochs,
                steps_per_epoch,
                data,
            } => {
                self.steps_per_epoch = steps_per_epoch;
                self.epochs = epochs;
                self.progress = format!(
                    "epochs {first_epoch}..={epochs}: {} real + {} manipulated training faces, {} + {} validation",
                    data.train_real, data.train_fake, data.val_real, data.val_fake
                );
            }
            TrainEvent::Step {
                epoch,
                step,
                steps,
                ref loss,
                ..
            } => {
                let global = ((epoch - 1) * steps + step) as f64;
                self.loss.push([global, loss.total as f64]);
                self.cross_entropy.push([global, loss.cross_entropy as f64]);
                let total = (self.epochs * self.steps_per_epoch).max(1) as f64;
                self.fraction = (global / total) as f32;
                self.progress = event.step_line().unwrap_or_default();
            }
            TrainEvent::Validated { epoch, metrics } => {
                self.auc.push([epoch as f64, metrics.auc]);
                self.last_metrics = Some(metrics);
            }
            TrainEvent::Checkpoint { .. } => {}
            TrainEvent::Cancelled => self.progress = "stopped; the last checkpoint stands".into(),
            TrainEvent::Finished => self.progress = "finished".into(),
        }
    }

    /// The run ended.
    pub fn ended(&mut self, result: Result<Option<PathBuf>, String>) {
        self.running = false;
        match result {
            Ok(best) => self.best = best,
            Err(e) => self.error = Some(e),
        }
    }
}

/// Draws the panel: the progress of `view`, the form (its own state) and the controls.
/// Returns what the user asked for.
pub fn show(
    ui: &mut egui::Ui,
    view: &TrainingView,
    form: &mut TrainForm,
    setting: Setting<'_>,
) -> Vec<Action> {
    ui.heading("Fine-tuning");
    egui::ScrollArea::vertical()
        .show(ui, |ui| {
            let mut actions = form_ui(ui, form, view.running);
            ui.separator();
            actions.extend(controls(ui, view, form, setting));
            curves(ui, view);
            actions
        })
        .inner
}

fn folder_list(ui: &mut egui::Ui, label: &str, folders: &[PathBuf]) {
    ui.label(label);
    if folders.is_empty() {
        ui.weak("none");
    }
    for f in folders {
        ui.monospace(f.display().to_string());
    }
}

fn form_ui(ui: &mut egui::Ui, form: &mut TrainForm, running: bool) -> Vec<Action> {
    let mut actions = Vec::new();
    ui.add_enabled_ui(!running, |ui| {
        folder_list(ui, "Real faces (one subfolder per person):", &form.real);
        if ui.button("Choose real folders…").clicked() {
            actions.push(Action::Pick(PickPurpose::TrainReal));
        }
        folder_list(
            ui,
            "Manipulated faces (optional; without them fakes are self-blended):",
            &form.fake,
        );
        ui.horizontal(|ui| {
            if ui.button("Choose fake folders…").clicked() {
                actions.push(Action::Pick(PickPurpose::TrainFake));
            }
            if !form.fake.is_empty() && ui.button("Real only").clicked() {
                form.fake.clear();
            }
        });
        ui.label("Checkpoints go to:");
        ui.horizontal(|ui| {
            match &form.out {
                Some(out) => ui.monospace(out.display().to_string()),
                None => ui.weak("not chosen"),
            };
            if ui.button("Choose…").clicked() {
                actions.push(Action::Pick(PickPurpose::TrainOut));
            }
        });
        egui::Grid::new("train-form").num_columns(2).show(ui, |ui| {
            ui.label("network");
            egui::ComboBox::from_id_salt("network")
                .selected_text(form.network.clone())
                .show_ui(ui, |ui| {
                    for name in [ACTIVE_MODEL, "default", "xception", "tiny"] {
                        ui.selectable_value(&mut form.network, name.to_string(), name);
                    }
                });
            ui.end_row();
            ui.label("epochs");
            ui.add(egui::DragValue::new(&mut form.epochs).range(1..=1000));
            ui.end_row();
            ui.label("batch (faces)");
            ui.add(egui::DragValue::new(&mut form.batch).range(2..=256));
            ui.end_row();
            ui.label("learning rate");
            ui.add(
                egui::DragValue::new(&mut form.learning_rate)
                    .range(1e-6..=1e-1)
                    .speed(1e-5)
                    .custom_formatter(|v, _| format!("{v:.1e}")),
            );
            ui.end_row();
            ui.label("seed");
            ui.add(egui::DragValue::new(&mut form.seed));
            ui.end_row();
            ui.label("inputs are face crops");
            ui.checkbox(&mut form.whole_image, "");
            ui.end_row();
        });
    });
    actions
}

fn options(form: &TrainForm, setting: Setting<'_>) -> Result<TrainOptions, String> {
    let mut options = if form.network == ACTIVE_MODEL {
        let scorer = setting
            .scorer
            .ok_or_else(|| "the active model is not loaded yet".to_string())?;
        let mut options = TrainOptions::new(scorer.manifest.config.clone());
        if scorer.manifest.trained {
            options.init_from = Some(setting.manifest.map_or_else(
                || crate::weights::assets::locate(crate::weights::assets::DEFAULT_MODEL),
                Path::to_path_buf,
            ));
        }
        options
    } else {
        let config = crate::model::MclcrConfig::named(&form.network)
            .ok_or_else(|| format!("unknown network {}", form.network))?;
        TrainOptions::new(config)
    };
    options.epochs = form.epochs.max(1);
    options.batch_size = form.batch.max(2);
    options.optim.learning_rate = form.learning_rate;
    options.seed = form.seed;
    Ok(options)
}

/// The run the form asks for, into `out`; with `resume`, the options of the run there (with
/// the epochs asked for here).
fn request(
    form: &TrainForm,
    setting: Setting<'_>,
    out: &Path,
    resume: bool,
) -> Result<TrainRequest, String> {
    let mut options = options(form, setting)?;
    if resume && let Ok(state) = crate::train::read_state(&out.join("state.json")) {
        // The run's own options, with the epochs asked for here.
        let epochs = options.epochs.max(state.epochs_done + 1);
        options = state.options;
        options.epochs = epochs;
    }
    Ok(TrainRequest {
        real: form.real.clone(),
        fake: form.fake.clone(),
        whole_image: form.whole_image,
        val_fraction: crate::train::dataset::DataOptions::default().val_fraction,
        options,
        out: out.to_path_buf(),
        resume,
        device: setting.device,
    })
}

fn controls(
    ui: &mut egui::Ui,
    view: &TrainingView,
    form: &TrainForm,
    setting: Setting<'_>,
) -> Vec<Action> {
    let mut actions = Vec::new();
    let ready = !form.real.is_empty() && form.out.is_some();
    ui.horizontal(|ui| {
        if view.running {
            ui.spinner();
            if ui
                .button("Pause")
                .on_hover_text(
                    "Stops after the current step; Resume continues from the last checkpoint",
                )
                .clicked()
            {
                actions.push(Action::CancelTraining);
            }
            return;
        }
        let out = form.out.clone().unwrap_or_default();
        let can_resume = ready && out.join("state.json").is_file();
        for (label, resume, enabled) in [("Start", false, ready), ("Resume", true, can_resume)] {
            if ui.add_enabled(enabled, egui::Button::new(label)).clicked() {
                actions.push(match request(form, setting, &out, resume) {
                    Ok(request) => Action::StartTraining(Box::new(request)),
                    Err(e) => Action::TrainingRefused(e),
                });
            }
        }
        if !ready {
            ui.weak("choose real folders and an output folder");
        }
    });
    if view.running || view.fraction > 0.0 {
        ui.add(egui::ProgressBar::new(view.fraction).show_percentage());
    }
    if !view.progress.is_empty() {
        ui.label(&view.progress);
    }
    if let Some(e) = &view.error {
        ui.colored_label(egui::Color32::RED, e);
    }
    if let Some(best) = view.best.clone()
        && !view.running
    {
        ui.horizontal(|ui| {
            ui.label(format!("best checkpoint: {}", best.display()));
            if ui.button("Use this model").clicked() {
                actions.push(Action::LoadModel(Some(best)));
            }
        });
    }
    actions
}

fn curves(ui: &mut egui::Ui, view: &TrainingView) {
    if view.loss.is_empty() && view.auc.is_empty() {
        return;
    }
    ui.label("loss per step");
    Plot::new("loss")
        .height(150.0)
        .legend(Legend::default())
        .x_axis_label("step")
        .show(ui, |plot| {
            plot.line(Line::new("total", PlotPoints::from(view.loss.clone())));
            plot.line(Line::new(
                "cross-entropy",
                PlotPoints::from(view.cross_entropy.clone()),
            ));
        });
    ui.label("validation AUC per epoch");
    Plot::new("auc")
        .height(120.0)
        .include_y(0.0)
        .include_y(1.0)
        .x_axis_label("epoch")
        .show(ui, |plot| {
            plot.line(Line::new("AUC", PlotPoints::from(view.auc.clone())));
        });
    if let Some(metrics) = &view.last_metrics {
        ui.label(format!(
            "last validation: ACC {:.3} · AUC {:.3} · EER {:.3} ({} real, {} manipulated)",
            metrics.accuracy, metrics.auc, metrics.eer, metrics.negatives, metrics.positives
        ));
        let roc: Vec<[f64; 2]> = metrics.roc.iter().map(|p| [p.fpr, p.tpr]).collect();
        Plot::new("roc")
            .height(180.0)
            .data_aspect(1.0)
            .include_x(0.0)
            .include_x(1.0)
            .include_y(1.0)
            .x_axis_label("false-positive rate")
            .y_axis_label("true-positive rate")
            .show(ui, |plot| {
                plot.line(Line::new("ROC", PlotPoints::from(roc)));
                plot.line(Line::new(
                    "chance",
                    PlotPoints::from(vec![[0.0, 0.0], [1.0, 1.0]]),
                ));
            });
    }
}
