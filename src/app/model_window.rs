//! The model and device window: which model gives the verdicts (name, checksum, card), loading
//! another one, and the device it runs on (GPU adapter, or the CPU and why).

use eframe::egui;

use super::action::Action;
use super::types::{ModelStatus, PickPurpose};
use crate::device::DeviceChoice;

/// Draws the window when `open` (its own setting; the close button clears it). `device` is the
/// device chosen, `custom_model` whether a model file rather than the built-in model is active.
/// Returns what the user asked for.
pub fn show(
    ctx: &egui::Context,
    model: &ModelStatus,
    open: &mut bool,
    device: DeviceChoice,
    custom_model: bool,
) -> Vec<Action> {
    egui::Window::new("Model & device")
        .open(open)
        .default_width(460.0)
        .max_width(720.0)
        .show(ctx, |ui| contents(ui, model, device, custom_model))
        .and_then(|response| response.inner)
        .unwrap_or_default()
}

fn contents(
    ui: &mut egui::Ui,
    model: &ModelStatus,
    device: DeviceChoice,
    custom_model: bool,
) -> Vec<Action> {
    let mut actions = Vec::new();
    match model {
        ModelStatus::Loading => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("loading…");
            });
        }
        ModelStatus::Failed(e) => {
            ui.colored_label(egui::Color32::RED, e);
        }
        ModelStatus::Ready(scorer) => {
            let m = &scorer.manifest;
            let trained = if m.trained {
                "yes".to_string()
            } else {
                "no: ImageNet backbone, untrained classifier; it gives no verdicts".to_string()
            };
            // (label, value, monospace)
            let rows = [
                ("model", m.name.clone(), false),
                ("id", scorer.model_id(), true),
                ("weights SHA-256", m.weights_sha256.clone(), true),
                ("trained", trained, false),
                (
                    "thresholds",
                    format!(
                        // Exactly as applied (0.9863 must not read as 0.99).
                        "no evidence below {}, likely manipulated from {}",
                        m.bands.clear, m.bands.manipulated
                    ),
                    false,
                ),
                (
                    "smallest face judged",
                    format!("{} px (crop side)", scorer.min_face_side()),
                    false,
                ),
                (
                    "scoring",
                    if scorer.mirror_average() {
                        "each face averaged with its mirror image".to_string()
                    } else {
                        "each face as it is".to_string()
                    },
                    false,
                ),
                ("backbone", m.provenance.backbone.clone(), false),
                ("training", m.provenance.training.clone(), false),
                ("evaluation", m.provenance.evaluation.clone(), false),
                ("licence", m.provenance.licence.clone(), false),
                ("device", scorer.device.label.clone(), false),
            ];
            egui::Grid::new("model-card").num_columns(2).show(ui, |ui| {
                for (label, value, monospace) in rows {
                    ui.label(label);
                    if monospace {
                        ui.monospace(value);
                    } else {
                        // Provenance lines can be long: wrap them in the window's width.
                        ui.add(egui::Label::new(value).wrap());
                    }
                    ui.end_row();
                }
            });
            if let Some(notice) = &scorer.device.notice {
                ui.weak(notice);
            }
        }
    }
    ui.separator();
    ui.horizontal(|ui| {
        if ui.button("Load a model…").clicked() {
            actions.push(Action::Pick(PickPurpose::Model));
        }
        if ui
            .add_enabled(custom_model, egui::Button::new("Built-in model"))
            .clicked()
        {
            actions.push(Action::LoadModel(None));
        }
    });
    ui.horizontal(|ui| {
        ui.label("device");
        let mut chosen = device;
        for (choice, label) in [
            (DeviceChoice::Auto, "auto"),
            (DeviceChoice::Gpu, "GPU"),
            (DeviceChoice::Cpu, "CPU"),
        ] {
            ui.selectable_value(&mut chosen, choice, label);
        }
        if chosen != device {
            actions.push(Action::SetDevice(chosen));
        }
    });
    actions
}
