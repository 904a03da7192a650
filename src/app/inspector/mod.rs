//! The inspector: the selected image with its face boxes (zoom and pan), the face's verdict and
//! flags, the analyst's bookmark, and the explanation [`views`], each with a card saying what
//! it shows, what to look for and what to ignore. Also presentation mode's one screen.

pub mod file_view;
pub mod views;

use std::collections::BTreeMap;

use eframe::egui;

pub use views::card;

use crate::analysis::ImageReport;
use crate::analysis::verdict::CAUTION;
use crate::app::action::Action;
use crate::app::queue::band_colour;
use crate::app::state::View;
use crate::app::types::{Item, Preview, Shown};
use crate::export::html::{Bookmark, BookmarkStatus};
use crate::inference::scorer::Scorer;

/// What the inspector shows, borrowed from the app for one frame.
#[derive(Clone, Copy)]
pub struct Inspected<'a> {
    /// The queue.
    pub items: &'a [Item],
    /// The selected image (index into `items`) and face.
    pub selected: Option<(usize, usize)>,
    /// The selected face's explanation.
    pub shown: Option<&'a Shown>,
    /// The selected image as a texture.
    pub preview: Option<&'a Preview>,
    /// The active model, when ready.
    pub scorer: Option<&'a Scorer>,
    /// Analyst bookmarks by file SHA-256.
    pub bookmarks: &'a BTreeMap<String, Bookmark>,
    /// How the explanation views draw.
    pub drawing: views::Drawing,
}

impl<'a> Inspected<'a> {
    /// The selected item with its index and the selected face, when the selection is in the
    /// queue.
    fn selection(&self) -> Option<(usize, &'a Item, usize)> {
        let (index, face) = self.selected?;
        self.items.get(index).map(|item| (index, item, face))
    }
}

/// Draws the inspector; `view` (the explanation tab) and `scene_rect` (zoom and pan) are its
/// own state. Returns what the user asked for.
pub fn show(
    ui: &mut egui::Ui,
    inspected: &Inspected<'_>,
    view: &mut View,
    scene_rect: &mut egui::Rect,
) -> Vec<Action> {
    let mut actions = Vec::new();
    if inspected.selected.is_none() {
        ui.vertical_centered(|ui| {
            ui.add_space(80.0);
            ui.heading("Drop images or folders here");
            ui.label("Every face is found and scored; select one to see what the network saw.");
            ui.add_space(12.0);
            ui.weak(CAUTION);
        });
        return actions;
    }
    let Some((index, item, face_index)) = inspected.selection() else {
        return actions;
    };
    actions.extend(verdict_header(
        ui,
        &item.report,
        face_index,
        inspected.bookmarks,
    ));
    ui.separator();
    let wide = ui.available_width() > 900.0;
    let explanation = |ui: &mut egui::Ui, view: &mut View| {
        views::show(
            ui,
            &item.report,
            inspected.shown,
            inspected.scorer,
            inspected.drawing,
            view,
        )
    };
    if wide {
        ui.columns(2, |columns| {
            actions.extend(image_view(&mut columns[0], inspected, index, scene_rect));
            actions.extend(explanation(&mut columns[1], view));
        });
    } else {
        let height = (ui.available_height() * 0.45).max(160.0);
        ui.allocate_ui(egui::vec2(ui.available_width(), height), |ui| {
            actions.extend(image_view(ui, inspected, index, scene_rect));
        });
        actions.extend(explanation(ui, view));
    }
    actions
}

/// The file's name and verdict, the face's score, the file's facts, flags and bookmark.
fn verdict_header(
    ui: &mut egui::Ui,
    report: &ImageReport,
    face_index: usize,
    bookmarks: &BTreeMap<String, Bookmark>,
) -> Option<Action> {
    ui.horizontal(|ui| {
        let name = report
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        ui.heading(name);
        if let Some(verdict) = report.verdict {
            ui.label(
                egui::RichText::new(verdict.label())
                    .heading()
                    .color(band_colour(Some(verdict))),
            );
        }
    });
    if let Some(error) = &report.error {
        ui.colored_label(egui::Color32::RED, error);
        return None;
    }
    if let Some(face) = report.faces.get(face_index) {
        ui.label(format!(
            "face {} of {}: score {:.3} · {} · crop {}×{} px",
            face_index + 1,
            report.faces.len(),
            face.score,
            face.band.label(),
            face.crop.width,
            face.crop.height
        ));
    }
    let mut facts = Vec::new();
    if let Some(q) = report.jpeg_quality {
        facts.push(format!("JPEG quality about {q}"));
    }
    if let (Some(w), Some(h)) = (report.width, report.height) {
        facts.push(format!("{w}×{h}"));
    }
    if let Some(sha) = &report.sha256 {
        facts.push(format!("SHA-256 {}…", &sha[..16.min(sha.len())]));
    }
    ui.weak(facts.join(" · "));
    if let Some(note) = report.verdict_note() {
        ui.colored_label(
            egui::Color32::from_rgb(230, 120, 40),
            format!("File: {note}"),
        );
    }
    for flag in &report.flags {
        ui.colored_label(
            egui::Color32::from_rgb(230, 160, 20),
            format!("! {}", flag.describe()),
        );
    }
    ui.weak(CAUTION);
    let sha = report.sha256.as_ref()?;
    ui.horizontal(|ui| bookmark_editor(ui, sha, bookmarks.get(sha)))
        .inner
}

/// The bookmark checkbox, status and note of one file; a change comes back as the file's new
/// bookmark.
fn bookmark_editor(ui: &mut egui::Ui, sha: &str, current: Option<&Bookmark>) -> Option<Action> {
    let mut bookmark = current.cloned();
    let mut marked = bookmark.is_some();
    let mut changed = false;
    if ui.checkbox(&mut marked, "bookmark").changed() {
        bookmark = marked.then(Bookmark::default);
        changed = true;
    }
    if let Some(bookmark) = &mut bookmark {
        egui::ComboBox::from_id_salt("bookmark-status")
            .selected_text(bookmark.status.label())
            .show_ui(ui, |ui| {
                for status in BookmarkStatus::ALL {
                    changed |= ui
                        .selectable_value(&mut bookmark.status, status, status.label())
                        .changed();
                }
            });
        changed |= ui
            .add(
                egui::TextEdit::singleline(&mut bookmark.note)
                    .hint_text("note for the report")
                    .desired_width(f32::INFINITY),
            )
            .changed();
    }
    changed.then(|| Action::Bookmark {
        sha256: sha.to_string(),
        bookmark,
    })
}

/// The image with its face boxes; click a box to select that face; scroll to zoom, drag to pan
/// (`scene_rect`, the inspector's own state).
fn image_view(
    ui: &mut egui::Ui,
    inspected: &Inspected<'_>,
    index: usize,
    scene_rect: &mut egui::Rect,
) -> Option<Action> {
    let report = &inspected.items[index].report;
    let Some((path, texture, [width, height])) = inspected.preview else {
        ui.spinner();
        return None;
    };
    if *path != report.path {
        ui.spinner();
        return None;
    }
    let (width, height) = (*width as f32, *height as f32);
    let faces: Vec<egui::Rect> = report
        .faces
        .iter()
        .map(|f| {
            let b = f.bbox.unwrap_or(f.crop);
            egui::Rect::from_min_size(
                egui::pos2(b.x as f32, b.y as f32),
                egui::vec2(b.width as f32, b.height as f32),
            )
        })
        .collect();
    let bands: Vec<_> = report.faces.iter().map(|f| f.band).collect();
    let selected = inspected.selected.map(|(_, f)| f);
    let texture_id = texture.id();
    let mut clicked = None;
    ui.weak("scroll to zoom, drag to pan, double-click to fit, click a face to inspect it");
    let scene = egui::Scene::new().zoom_range(0.1..=16.0);
    let mut rect = *scene_rect;
    // Screen pixels per image pixel (from the last frame's view), so that boxes and numbers
    // keep a readable size on screen at any zoom.
    let shown_width = if rect.is_finite() && rect.width() > 0.0 {
        rect.width()
    } else {
        width.max(height * ui.available_width() / ui.available_height().max(1.0))
    };
    let per_pixel = (ui.available_width() / shown_width).max(1e-3);
    let response = scene.show(ui, &mut rect, |ui| {
        let image_rect = egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(width, height));
        let response = ui.allocate_rect(image_rect, egui::Sense::click());
        ui.painter().image(
            texture_id,
            image_rect,
            egui::Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(1.0, 1.0)),
            egui::Color32::WHITE,
        );
        let stroke_width = 1.5 / per_pixel;
        for (f, rect) in faces.iter().enumerate() {
            let colour = band_colour(Some(bands[f]));
            let thick = if selected == Some(f) { 2.5 } else { 1.0 };
            ui.painter().rect_stroke(
                *rect,
                0.0,
                egui::Stroke::new(stroke_width * thick, colour),
                egui::StrokeKind::Outside,
            );
            ui.painter().text(
                rect.left_top() - egui::vec2(0.0, stroke_width * 2.0),
                egui::Align2::LEFT_BOTTOM,
                format!("{}", f + 1),
                egui::FontId::proportional(stroke_width * 10.0),
                colour,
            );
        }
        if response.clicked()
            && let Some(pos) = response.interact_pointer_pos()
        {
            clicked = faces.iter().position(|r| r.contains(pos));
        }
    });
    if response.response.double_clicked() {
        rect = egui::Rect::NOTHING;
    }
    *scene_rect = rect;
    clicked.map(|face| Action::Select { item: index, face })
}

/// Presentation mode: image | heatmaps | verdict side by side in large type; arrows step.
/// `scene_rect` is the image's zoom and pan. Returns what the user asked for.
pub fn presentation(
    ui: &mut egui::Ui,
    inspected: &Inspected<'_>,
    scene_rect: &mut egui::Rect,
) -> Vec<Action> {
    egui::CentralPanel::default()
        .show(ui, |ui| {
            let mut actions = Vec::new();
            if inspected.selected.is_none() {
                ui.centered_and_justified(|ui| {
                    ui.heading("Nothing to present: add images first (Esc leaves)")
                });
                return actions;
            }
            let Some((index, item, face)) = inspected.selection() else {
                return actions;
            };
            ui.columns(3, |columns| {
                actions.extend(image_view(&mut columns[0], inspected, index, scene_rect));
                if let Some(shown) = inspected.shown {
                    let side = (columns[1].available_width() - 8.0).max(64.0);
                    for (label, texture) in [
                        ("amplitude attention", &shown.textures.amplitude),
                        ("phase attention", &shown.textures.phase),
                    ] {
                        columns[1].label(label);
                        if let Some(t) = texture {
                            columns[1].add(egui::Image::from_texture((
                                t.id(),
                                egui::vec2(side, side) * 0.8,
                            )));
                        }
                    }
                }
                let report = &item.report;
                let ui = &mut columns[2];
                if let Some(verdict) = report.verdict {
                    ui.add(
                        egui::Label::new(
                            egui::RichText::new(verdict.label())
                                .size(34.0)
                                .color(band_colour(Some(verdict))),
                        )
                        .wrap(),
                    );
                }
                if let Some(f) = report.faces.get(face) {
                    ui.label(
                        egui::RichText::new(format!("face {}: score {:.2}", face + 1, f.score))
                            .size(24.0),
                    );
                }
                for flag in &report.flags {
                    ui.label(egui::RichText::new(format!("! {}", flag.describe())).size(20.0));
                }
                ui.add_space(16.0);
                ui.label(CAUTION);
                ui.add_space(16.0);
                ui.weak("arrow keys step through the queue · Esc leaves");
            });
            actions
        })
        .inner
}
