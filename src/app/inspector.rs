//! The inspector: the selected image with its face boxes (zoom and pan), the face's verdict and
//! flags, the analyst's bookmark, and the explanation views, each with a card saying what it
//! shows, what to look for and what to ignore.

use std::sync::Arc;

use eframe::egui;
use egui_plot::{HLine, Heatmap, Line, Plot, PlotPoints, Points};

use super::queue::band_colour;
use super::state::View;
use super::{MclcrApp, textures};
use crate::explain::FaceExplanation;
use crate::report::{Bookmark, BookmarkStatus};
use crate::robustness::VARIANTS;
use crate::verdict::CAUTION;

/// What each view shows, what to look for, what to ignore.
pub fn card(view: View) -> [&'static str; 3] {
    match view {
        View::Attention => [
            "Where the frequency stream's dual attention put its weight: amplitude (left) and \
             phase (right), one cell per 16×16-pixel patch of the face crop, brighter = more weight.",
            "Weight gathered on the borders of a blended region: the jaw line, the hairline, \
             around the eyes and the mouth.",
            "This is not a map of fakeness: every face, real or not, has bright cells. The maps \
             are scaled per face, so compare shapes, not brightness between faces.",
        ],
        View::Style => [
            "Style correlations: Gram matrices of 32 feature channels at three shallow stages of \
             the network (fine to coarse), how the face's texture features vary together.",
            "Differences from faces of the same camera or source; blocky or striped structure \
             that blending, resampling or generators leave in textures.",
            "Absolute colours (each matrix is scaled on its own) and the diagonal, which only \
             says how strong each channel is.",
        ],
        View::Spectrum => [
            "The face's log-amplitude spectrum (2-D Fourier transform of its brightness), zero \
             frequency in the centre.",
            "Isolated bright dots or a regular grid away from the centre (upsampling and \
             generator artefacts), a sharp square cut-off (resizing).",
            "The bright cross through the centre (the crop's edges) and the central glow, which \
             every natural image has.",
        ],
        View::Robustness => [
            "The face's score after JPEG re-compression at quality 95, 75 and 50 and after \
             halving its size, against the band thresholds.",
            "A band that changes under these harmless edits: the verdict is then marked \
             inconclusive, because it says more about the file's history than about the face.",
            "Small moves that stay within one band.",
        ],
    }
}

fn show_card(ui: &mut egui::Ui, view: View) {
    let [shows, look, ignore] = card(view);
    egui::Frame::group(ui.style()).show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.label(egui::RichText::new("What it shows").strong());
        ui.label(shows);
        ui.label(egui::RichText::new("What to look for").strong());
        ui.label(look);
        ui.label(egui::RichText::new("What to ignore").strong());
        ui.label(ignore);
    });
}

/// Draws the inspector.
pub fn show(app: &mut MclcrApp, ui: &mut egui::Ui) {
    let Some((index, face_index)) = app.selected else {
        ui.vertical_centered(|ui| {
            ui.add_space(80.0);
            ui.heading("Drop images or folders here");
            ui.label("Every face is found and scored; select one to see what the network saw.");
            ui.add_space(12.0);
            ui.weak(CAUTION);
        });
        return;
    };
    if index >= app.items.len() {
        app.selected = None;
        return;
    }
    verdict_header(app, ui, index, face_index);
    ui.separator();
    let wide = ui.available_width() > 900.0;
    if wide {
        ui.columns(2, |columns| {
            image_view(app, &mut columns[0], index);
            explanation_view(app, &mut columns[1]);
        });
    } else {
        let height = (ui.available_height() * 0.45).max(160.0);
        ui.allocate_ui(egui::vec2(ui.available_width(), height), |ui| {
            image_view(app, ui, index)
        });
        explanation_view(app, ui);
    }
}

fn verdict_header(app: &mut MclcrApp, ui: &mut egui::Ui, index: usize, face_index: usize) {
    let report = &app.items[index].report;
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
        return;
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
    for flag in &report.flags {
        ui.colored_label(
            egui::Color32::from_rgb(230, 160, 20),
            format!("! {}", flag.describe()),
        );
    }
    ui.weak(CAUTION);
    if let Some(sha) = report.sha256.clone() {
        ui.horizontal(|ui| {
            let bookmarks = &mut app.state.bookmarks;
            let mut marked = bookmarks.contains_key(&sha);
            if ui.checkbox(&mut marked, "bookmark").changed() {
                if marked {
                    bookmarks.insert(sha.clone(), Bookmark::default());
                } else {
                    bookmarks.remove(&sha);
                }
            }
            if let Some(bookmark) = bookmarks.get_mut(&sha) {
                egui::ComboBox::from_id_salt("bookmark-status")
                    .selected_text(bookmark.status.label())
                    .show_ui(ui, |ui| {
                        for status in BookmarkStatus::ALL {
                            ui.selectable_value(&mut bookmark.status, status, status.label());
                        }
                    });
                ui.add(
                    egui::TextEdit::singleline(&mut bookmark.note)
                        .hint_text("note for the report")
                        .desired_width(f32::INFINITY),
                );
            }
        });
    }
}

/// The image with its face boxes; click a box to select that face; scroll to zoom, drag to pan.
fn image_view(app: &mut MclcrApp, ui: &mut egui::Ui, index: usize) {
    let report = &app.items[index].report;
    let Some((path, texture, [width, height])) = &app.preview else {
        ui.spinner();
        return;
    };
    if *path != report.path {
        ui.spinner();
        return;
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
    let selected = app.selected.map(|(_, f)| f);
    let texture_id = texture.id();
    let mut clicked = None;
    ui.weak("scroll to zoom, drag to pan, double-click to fit, click a face to inspect it");
    let scene = egui::Scene::new().zoom_range(0.1..=16.0);
    let mut rect = app.scene_rect;
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
    app.scene_rect = rect;
    if let Some(face) = clicked {
        app.select(index, face);
    }
}

fn explanation_view(app: &mut MclcrApp, ui: &mut egui::Ui) {
    ui.horizontal(|ui| {
        for view in View::ALL {
            ui.selectable_value(&mut app.state.view, view, view.label());
        }
    });
    ui.separator();
    let Some(shown) = &app.shown else {
        ui.label("No face selected (this image has none).");
        return;
    };
    let explanation = match &shown.result {
        None => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("computing the explanation…");
            });
            return;
        }
        Some(Err(e)) => {
            ui.colored_label(egui::Color32::RED, e);
            return;
        }
        Some(Ok(explanation)) => explanation.clone(),
    };
    egui::ScrollArea::vertical().show(ui, |ui| {
        match app.state.view {
            View::Attention => attention(app, ui, &explanation),
            View::Style => style(ui, &explanation),
            View::Spectrum => spectrum(app, ui),
            View::Robustness => robustness(app, ui, &explanation),
        }
        ui.add_space(8.0);
        show_card(ui, app.state.view);
    });
}

fn attention(app: &mut MclcrApp, ui: &mut egui::Ui, explanation: &Arc<FaceExplanation>) {
    let ctx = ui.ctx().clone();
    if ui
        .add(egui::Slider::new(&mut app.state.opacity, 0.0..=1.0).text("heatmap opacity"))
        .changed()
        && let Some(shown) = &mut app.shown
    {
        shown
            .textures
            .set_opacity(&ctx, explanation, app.state.opacity);
    }
    let Some(shown) = &app.shown else { return };
    let side = ((ui.available_width() - 16.0) / 2.0).clamp(96.0, 320.0);
    let gpu = app.gpu_heatmaps.then_some(shown.content);
    let opacity = app.state.opacity;
    ui.horizontal(|ui| {
        for (slot, (label, texture)) in [
            ("amplitude attention", &shown.textures.amplitude),
            ("phase attention", &shown.textures.phase),
        ]
        .into_iter()
        .enumerate()
        {
            ui.vertical(|ui| {
                ui.label(label);
                match &gpu {
                    // Drawn by shaders/heatmap.wgsl through a paint callback.
                    Some(content) => {
                        let (rect, _) =
                            ui.allocate_exact_size(egui::vec2(side, side), egui::Sense::hover());
                        let callback = super::heatmap_shader::HeatmapCallback {
                            slot,
                            content: *content,
                            explanation: Arc::clone(explanation),
                            opacity,
                        };
                        ui.painter()
                            .add(eframe::egui_wgpu::Callback::new_paint_callback(
                                rect, callback,
                            ));
                    }
                    None => {
                        if let Some(t) = texture {
                            ui.add(egui::Image::from_texture((t.id(), egui::vec2(side, side))));
                        }
                    }
                }
            });
        }
    });
    ui.weak(if gpu.is_some() {
        "composited on the GPU (WGSL)"
    } else {
        "composited on the CPU"
    });
    legend(ui, side * 2.0, "low weight", "high weight");
}

/// The colour map with its two ends named.
fn legend(ui: &mut egui::Ui, width: f32, low: &str, high: &str) {
    let ctx = ui.ctx().clone();
    let legend = ctx.memory_mut(|m| {
        m.data
            .get_temp::<egui::TextureHandle>(egui::Id::unique("inferno-legend"))
    });
    let legend = legend.unwrap_or_else(|| {
        let t = textures::legend(&ctx);
        ctx.memory_mut(|m| {
            m.data
                .insert_temp(egui::Id::unique("inferno-legend"), t.clone())
        });
        t
    });
    ui.horizontal(|ui| {
        ui.small(low);
        ui.add(egui::Image::from_texture((
            legend.id(),
            egui::vec2(width * 0.7, 12.0),
        )));
        ui.small(high);
    });
}

fn inferno_palette() -> Vec<egui::Color32> {
    (0..9)
        .map(|i| {
            let c = crate::heatmap::inferno(i as f32 / 8.0).0;
            egui::Color32::from_rgb(c[0], c[1], c[2])
        })
        .collect()
}

fn style(ui: &mut egui::Ui, explanation: &FaceExplanation) {
    let score = &explanation.score;
    let side = score.gram_side;
    if side == 0 {
        return;
    }
    let size = ((ui.available_width() - 24.0) / 3.0).clamp(100.0, 260.0);
    ui.horizontal(|ui| {
        for (stage, gram) in ["stage 1 (fine)", "stage 2", "stage 3 (coarse)"]
            .iter()
            .zip(&score.grams)
        {
            ui.vertical(|ui| {
                ui.label(*stage);
                // Rows top to bottom: flip so that channel 0 is at the top as in a matrix.
                let mut values = Vec::with_capacity(gram.len());
                for row in (0..side).rev() {
                    values.extend(gram[row * side..(row + 1) * side].iter().map(|&v| v as f64));
                }
                Plot::new(("gram", *stage))
                    .width(size)
                    .height(size)
                    .data_aspect(1.0)
                    .show_grid(false)
                    .allow_scroll(false)
                    .x_axis_label("channel")
                    .y_axis_label("channel")
                    .show(ui, |plot| {
                        plot.add(
                            Heatmap::new(values, side)
                                .palette(&inferno_palette())
                                .show_labels(false),
                        );
                    });
            });
        }
    });
    legend(ui, size * 3.0, "weak correlation", "strong correlation");
}

fn spectrum(app: &MclcrApp, ui: &mut egui::Ui) {
    let Some(shown) = &app.shown else { return };
    if let Some(t) = &shown.textures.spectrum {
        let side = ui.available_width().clamp(128.0, 384.0);
        ui.add(egui::Image::from_texture((t.id(), egui::vec2(side, side))));
        ui.small("brightness: ln(1 + |X|), scaled per face; centre = zero frequency");
    }
}

fn robustness(app: &mut MclcrApp, ui: &mut egui::Ui, explanation: &FaceExplanation) {
    if explanation.robustness.is_empty() {
        if ui.button("Run the robustness check").clicked() {
            app.request_explanation(true);
        }
        ui.label("Re-scores the face after JPEG re-compression (95, 75, 50) and rescaling.");
        return;
    }
    let Some(scorer) = app.scorer() else { return };
    let bands = scorer.manifest.bands;
    let mut points = vec![[0.0, explanation.score.probability as f64]];
    points.extend(
        explanation
            .robustness
            .iter()
            .enumerate()
            .map(|(i, v)| [(i + 1) as f64, v.score as f64]),
    );
    let names: Vec<&str> = std::iter::once("original").chain(VARIANTS).collect();
    Plot::new("robustness")
        .height(220.0)
        .legend(egui_plot::Legend::default())
        .include_y(0.0)
        .include_y(1.0)
        .y_axis_label("P(manipulated)")
        .x_axis_formatter(move |mark, _| {
            let i = mark.value.round();
            if (mark.value - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < names.len() {
                names[i as usize].to_string()
            } else {
                String::new()
            }
        })
        .show(ui, |plot| {
            let blue = egui::Color32::from_rgb(90, 150, 230);
            plot.line(Line::new("score", PlotPoints::from(points.clone())).color(blue));
            plot.points(
                Points::new("score", PlotPoints::from(points))
                    .radius(4.0)
                    .color(blue),
            );
            plot.hline(
                HLine::new("likely manipulated from", bands.manipulated as f64)
                    .color(egui::Color32::from_rgb(220, 50, 60)),
            );
            plot.hline(
                HLine::new("no evidence below", bands.clear as f64)
                    .color(egui::Color32::from_rgb(60, 170, 80)),
            );
        });
    if crate::robustness::band_flips(
        &explanation.robustness,
        explanation.band,
        &bands,
        scorer.manifest.trained,
    ) {
        ui.colored_label(
            egui::Color32::from_rgb(230, 160, 20),
            "The band changes under these edits: the verdict is inconclusive.",
        );
    } else {
        ui.label("The band holds under every edit.");
    }
}

/// Presentation mode: image | heatmaps | verdict side by side in large type; arrows step.
pub fn presentation(app: &mut MclcrApp, ui: &mut egui::Ui) {
    egui::CentralPanel::default().show(ui, |ui| {
        let Some((index, face)) = app.selected else {
            ui.centered_and_justified(|ui| {
                ui.heading("Nothing to present: add images first (Esc leaves)")
            });
            return;
        };
        if index >= app.items.len() {
            return;
        }
        ui.columns(3, |columns| {
            image_view(app, &mut columns[0], index);
            if let Some(shown) = &app.shown {
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
            let report = &app.items[index].report;
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
    });
}
