//! The inspector's explanation views (attention, style correlations, spectrum, robustness),
//! each with a card saying what it shows, what to look for and what to ignore.

use std::sync::Arc;

use eframe::egui;
use egui_plot::{HLine, Heatmap, Line, Plot, PlotPoints, Points};

use crate::analysis::ImageReport;
use crate::analysis::explain::FaceExplanation;
use crate::analysis::robustness::VARIANTS;
use crate::app::action::Action;
use crate::app::heatmap_shader::HeatmapCallback;
use crate::app::state::View;
use crate::app::textures;
use crate::app::types::Shown;
use crate::inference::scorer::Scorer;

/// How the explanation views draw.
#[derive(Debug, Clone, Copy)]
pub struct Drawing {
    /// The overlay opacity, 0..1.
    pub opacity: f32,
    /// Attention overlays are composited by the WGSL shader rather than on the CPU.
    pub gpu_heatmaps: bool,
}

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
        View::File => super::file_view::FILE_CARD,
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

/// The view tabs (`view` is the inspector's own choice) and the chosen view of the `shown`
/// explanation; `scorer` gives the band thresholds. Returns what the user asked for.
pub fn show(
    ui: &mut egui::Ui,
    report: &ImageReport,
    shown: Option<&Shown>,
    scorer: Option<&Scorer>,
    drawing: Drawing,
    view: &mut View,
) -> Vec<Action> {
    ui.horizontal(|ui| {
        for choice in View::ALL {
            ui.selectable_value(view, choice, choice.label());
        }
    });
    ui.separator();
    if *view == View::File {
        egui::ScrollArea::vertical().show(ui, |ui| {
            super::file_view::show(ui, report);
            ui.add_space(8.0);
            show_card(ui, View::File);
        });
        return Vec::new();
    }
    let Some(shown) = shown else {
        ui.label("No face selected (this image has none).");
        return Vec::new();
    };
    let explanation = match &shown.result {
        None => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("computing the explanation…");
            });
            return Vec::new();
        }
        Some(Err(e)) => {
            ui.colored_label(egui::Color32::RED, e);
            return Vec::new();
        }
        Some(Ok(explanation)) => explanation,
    };
    let view = *view;
    egui::ScrollArea::vertical()
        .show(ui, |ui| {
            let actions = match view {
                View::Attention => attention(ui, shown, explanation, drawing),
                View::Style => {
                    style(ui, explanation);
                    None
                }
                View::Spectrum => {
                    spectrum(ui, shown);
                    None
                }
                View::Robustness => robustness(ui, explanation, scorer),
                View::File => None,
            };
            ui.add_space(8.0);
            show_card(ui, view);
            actions.into_iter().collect()
        })
        .inner
}

/// Amplitude and phase attention over the face, with the opacity slider (the new opacity is
/// returned as an action; the GPU overlays draw at it at once, the CPU ones once re-made).
fn attention(
    ui: &mut egui::Ui,
    shown: &Shown,
    explanation: &Arc<FaceExplanation>,
    drawing: Drawing,
) -> Option<Action> {
    let mut opacity = drawing.opacity;
    let changed = ui
        .add(egui::Slider::new(&mut opacity, 0.0..=1.0).text("heatmap opacity"))
        .changed();
    let side = ((ui.available_width() - 16.0) / 2.0).clamp(96.0, 320.0);
    let gpu = drawing.gpu_heatmaps.then_some(shown.content);
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
                        let callback = HeatmapCallback {
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
    changed.then_some(Action::SetOpacity(opacity))
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
            let c = crate::imaging::heatmap::inferno(i as f32 / 8.0).0;
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

fn spectrum(ui: &mut egui::Ui, shown: &Shown) {
    if let Some(t) = &shown.textures.spectrum {
        let side = ui.available_width().clamp(128.0, 384.0);
        ui.add(egui::Image::from_texture((t.id(), egui::vec2(side, side))));
        ui.small("brightness: ln(1 + |X|), scaled per face; centre = zero frequency");
    }
}

fn robustness(
    ui: &mut egui::Ui,
    explanation: &FaceExplanation,
    scorer: Option<&Scorer>,
) -> Option<Action> {
    if explanation.robustness.is_empty() {
        let clicked = ui.button("Run the robustness check").clicked();
        ui.label("Re-scores the face after JPEG re-compression (95, 75, 50) and rescaling.");
        return clicked.then_some(Action::Explain { robustness: true });
    }
    let scorer = scorer?;
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
    if crate::analysis::robustness::band_flips(
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
    None
}
