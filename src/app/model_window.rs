//! The model and device window: which model gives the verdicts (name, checksum, card), loading
//! another one, and the device it runs on (GPU adapter, or the CPU and why).

use eframe::egui;

use super::jobs::PickPurpose;
use super::{MclcrApp, ModelStatus};
use crate::device::DeviceChoice;

/// Draws the window when it is open.
pub fn show(app: &mut MclcrApp, ctx: &egui::Context) {
    let mut open = app.state.show_model;
    egui::Window::new("Model & device")
        .open(&mut open)
        .default_width(460.0)
        .show(ctx, |ui| contents(app, ui));
    app.state.show_model = open;
}

fn contents(app: &mut MclcrApp, ui: &mut egui::Ui) {
    match &app.model {
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
                        "no evidence below {:.2}, likely manipulated from {:.2}",
                        m.bands.clear, m.bands.manipulated
                    ),
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
                        ui.label(value);
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
            app.jobs
                .pick(PickPurpose::Model, app.state.last_dir.clone());
        }
        if ui
            .add_enabled(
                app.state.model.is_some(),
                egui::Button::new("Built-in model"),
            )
            .clicked()
        {
            app.load_model(None);
        }
    });
    ui.horizontal(|ui| {
        ui.label("device");
        let before = app.state.device;
        for (choice, label) in [
            (DeviceChoice::Auto, "auto"),
            (DeviceChoice::Gpu, "GPU"),
            (DeviceChoice::Cpu, "CPU"),
        ] {
            ui.selectable_value(&mut app.state.device, choice, label);
        }
        if app.state.device != before {
            let model = app.state.model.clone();
            app.load_model(model);
        }
    });
}
