//! The window's chrome around the panels: the menu bar, the status bar, keyboard shortcuts and
//! files dragged onto the window. Each draws from what it is given and returns what the user
//! asked for.

use std::path::PathBuf;

use eframe::egui;

use super::action::Action;
use super::frame_stats::FrameStats;
use super::types::{ModelStatus, PickPurpose, ScanProgress};

/// The menu bar. `has_items`: the queue is not empty (exports are possible); `show_training`
/// and `show_model` are the panel toggles it owns.
pub(crate) fn menu_bar(
    ui: &mut egui::Ui,
    has_items: bool,
    show_training: &mut bool,
    show_model: &mut bool,
) -> Vec<Action> {
    egui::Panel::top("menu")
        .show(ui, |ui| {
            let mut actions = Vec::new();
            ui.horizontal(|ui| {
                if ui.button("Open images…").clicked() {
                    actions.push(Action::Pick(PickPurpose::Analyse));
                }
                if ui.button("Open folder…").clicked() {
                    actions.push(Action::Pick(PickPurpose::AnalyseFolders));
                }
                ui.menu_button("Export", |ui| {
                    for (label, purpose) in [
                        ("HTML report…", PickPurpose::ExportHtml),
                        ("JSON Lines…", PickPurpose::ExportJson),
                        ("CSV…", PickPurpose::ExportCsv),
                    ] {
                        if ui
                            .add_enabled(has_items, egui::Button::new(label))
                            .clicked()
                        {
                            actions.push(Action::Pick(purpose));
                        }
                    }
                });
                if ui.button("Clear queue").clicked() {
                    actions.push(Action::ClearQueue);
                }
                ui.separator();
                ui.toggle_value(show_training, "Fine-tuning");
                ui.toggle_value(show_model, "Model & device");
                if ui.button("Present (F11)").clicked() {
                    actions.push(Action::SetPresenting(true));
                }
            });
            actions
        })
        .inner
}

/// The status bar: the model, the scan's progress (with its Stop button), the last message and
/// the UI frame time.
pub(crate) fn status_bar(
    ui: &mut egui::Ui,
    model: &ModelStatus,
    scan: &ScanProgress,
    status: &str,
    frame_stats: &FrameStats,
) -> Option<Action> {
    egui::Panel::bottom("status")
        .show(ui, |ui| {
            let mut action = None;
            ui.horizontal(|ui| {
                match model {
                    ModelStatus::Loading => {
                        ui.spinner();
                        ui.label("loading the model…");
                    }
                    ModelStatus::Ready(scorer) => {
                        ui.label(format!("{} · {}", scorer.model_id(), scorer.device.label));
                        if !scorer.manifest.trained {
                            ui.colored_label(
                                egui::Color32::from_rgb(200, 120, 0),
                                "untrained model: no verdicts",
                            );
                        }
                    }
                    ModelStatus::Failed(e) => {
                        ui.colored_label(egui::Color32::RED, format!("no model: {e}"));
                    }
                }
                ui.separator();
                if scan.running {
                    let total = scan.total.unwrap_or(0).max(1);
                    ui.add(
                        egui::ProgressBar::new(scan.done as f32 / total as f32)
                            .desired_width(160.0)
                            .text(format!("{} / {}", scan.done, scan.total.unwrap_or(0))),
                    );
                    if ui.button("Stop").clicked() {
                        action = Some(Action::CancelScan);
                    }
                }
                ui.label(status);
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    ui.weak(format!(
                        "UI frame {:.1} ms (max {:.1})",
                        frame_stats.last.as_secs_f64() * 1e3,
                        frame_stats.max.as_secs_f64() * 1e3
                    ));
                });
            });
            action
        })
        .inner
}

/// Keyboard shortcuts: F11 enters or leaves presentation mode (Esc leaves it); the arrow keys
/// step through the queue when no text field has the focus.
pub(crate) fn keys(ctx: &egui::Context, presenting: bool) -> Vec<Action> {
    let (f11, escape, next, previous) = ctx.input(|i| {
        (
            i.key_pressed(egui::Key::F11),
            i.key_pressed(egui::Key::Escape),
            i.key_pressed(egui::Key::ArrowRight) || i.key_pressed(egui::Key::ArrowDown),
            i.key_pressed(egui::Key::ArrowLeft) || i.key_pressed(egui::Key::ArrowUp),
        )
    });
    let mut actions = Vec::new();
    if f11 || (escape && presenting) {
        actions.push(Action::SetPresenting(!presenting));
    }
    if ctx.memory(|m| m.focused().is_none()) {
        if next {
            actions.push(Action::Step(1));
        }
        if previous {
            actions.push(Action::Step(-1));
        }
    }
    actions
}

/// Files dropped on the window (to be analysed), and the hover overlay while they are dragged
/// over it.
pub(crate) fn drops(ui: &mut egui::Ui) -> Option<Action> {
    let (hovering, dropped): (bool, Vec<PathBuf>) = ui.ctx().input(|i| {
        (
            !i.raw.hovered_files.is_empty(),
            i.raw
                .dropped_files
                .iter()
                .map(|f| f.path().to_path_buf())
                .collect(),
        )
    });
    if hovering {
        let painter = ui.ctx().layer_painter(egui::LayerId::new(
            egui::Order::Foreground,
            egui::Id::unique("drop-overlay"),
        ));
        let rect = ui.ctx().content_rect();
        painter.rect_filled(rect, 0.0, egui::Color32::from_black_alpha(180));
        painter.text(
            rect.center(),
            egui::Align2::CENTER_CENTER,
            "Drop images or folders to analyse them",
            egui::FontId::proportional(28.0),
            egui::Color32::WHITE,
        );
    }
    (!dropped.is_empty()).then_some(Action::AddPaths(dropped))
}
