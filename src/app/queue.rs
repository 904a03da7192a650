//! The queue: every analysed image with its thumbnail, verdict and per-face scores; filters,
//! sorting and scan progress.

use std::collections::BTreeMap;

use eframe::egui;

use super::action::Action;
use super::state::{QueueFilter, SortOrder};
use super::thumbnails::Thumbnails;
use super::types::{Item, ScanProgress};
use crate::analysis::verdict::Band;
use crate::export::html::Bookmark;

/// What the queue panel shows, borrowed from the app for one frame.
pub struct Queued<'a> {
    /// The queue, in the order added.
    pub items: &'a [Item],
    /// The selected image (index into `items`) and face.
    pub selected: Option<(usize, usize)>,
    /// The current scan.
    pub scan: &'a ScanProgress,
    /// Analyst bookmarks by file SHA-256 (for the "bookmarked only" filter).
    pub bookmarks: &'a BTreeMap<String, Bookmark>,
}

/// Colour of a band in the UI.
pub fn band_colour(band: Option<Band>) -> egui::Color32 {
    match band {
        Some(Band::LikelyManipulated) => egui::Color32::from_rgb(220, 50, 60),
        Some(Band::Inconclusive) => egui::Color32::from_rgb(230, 160, 20),
        Some(Band::NoEvidenceFound) => egui::Color32::from_rgb(60, 170, 80),
        Some(Band::NotApplicable) | Some(Band::Untrained) => egui::Color32::GRAY,
        None => egui::Color32::from_rgb(160, 60, 160),
    }
}

/// Indices of the items `filter` lets through, in the order `sort`.
pub fn visible(
    items: &[Item],
    filter: &QueueFilter,
    sort: SortOrder,
    bookmarks: &BTreeMap<String, Bookmark>,
) -> Vec<usize> {
    let mut out: Vec<usize> = items
        .iter()
        .enumerate()
        .filter(|(_, item)| {
            let report = &item.report;
            let band_ok = match report.verdict {
                Some(Band::LikelyManipulated) => filter.likely,
                Some(Band::Inconclusive) => filter.inconclusive,
                Some(Band::NoEvidenceFound) => filter.clear,
                _ => filter.other,
            };
            let flag_ok =
                !filter.flagged_only || !report.flags.is_empty() || report.error.is_some();
            let bookmark_ok = !filter.bookmarked_only
                || report
                    .sha256
                    .as_ref()
                    .is_some_and(|s| bookmarks.contains_key(s));
            band_ok && flag_ok && bookmark_ok
        })
        .map(|(i, _)| i)
        .collect();
    match sort {
        SortOrder::Added => {}
        SortOrder::ScoreDescending => out.sort_by(|&a, &b| {
            let score = |i: usize| items[i].report.max_score.unwrap_or(f32::NEG_INFINITY);
            score(b).total_cmp(&score(a))
        }),
        SortOrder::Name => out.sort_by(|&a, &b| {
            items[a]
                .report
                .path
                .file_name()
                .cmp(&items[b].report.path.file_name())
        }),
    }
    out
}

/// Draws the queue panel; `filter` and `sort` are its own settings, `thumbnails` the textures of
/// the rows drawn lately. Returns the face clicked.
pub fn show(
    ui: &mut egui::Ui,
    queued: &Queued<'_>,
    filter: &mut QueueFilter,
    sort: &mut SortOrder,
    thumbnails: &mut Thumbnails,
) -> Option<Action> {
    let Queued {
        items,
        selected,
        scan,
        bookmarks,
    } = *queued;
    ui.heading("Queue");
    if items.is_empty() && !scan.running {
        ui.label("Drop images or folders on the window, or use Open.");
    }
    ui.horizontal_wrapped(|ui| {
        ui.checkbox(&mut filter.likely, "likely manipulated");
        ui.checkbox(&mut filter.inconclusive, "inconclusive");
        ui.checkbox(&mut filter.clear, "no evidence");
        ui.checkbox(&mut filter.other, "other");
        ui.checkbox(&mut filter.flagged_only, "flagged only");
        ui.checkbox(&mut filter.bookmarked_only, "bookmarked only");
    });
    egui::ComboBox::from_label("sort")
        .selected_text(sort.label())
        .show_ui(ui, |ui| {
            for order in SortOrder::ALL {
                ui.selectable_value(sort, order, order.label());
            }
        });
    if let (true, Some(started)) = (scan.running, scan.started) {
        let rate = scan.done as f64 / started.elapsed().as_secs_f64().max(1e-3);
        ui.label(format!(
            "scanning: {} of {} files, {rate:.1} images/s",
            scan.done,
            scan.total
                .map_or_else(|| "?".to_string(), |t| t.to_string())
        ));
    }
    ui.separator();
    let visible = visible(items, filter, *sort, bookmarks);
    let row_height = 72.0;
    let mut clicked = None;
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show_rows(ui, row_height, visible.len(), |ui, range| {
            for &index in &visible[range] {
                let item = &items[index];
                let report = &item.report;
                let selected_face = selected.filter(|(i, _)| *i == index).map(|(_, f)| f);
                let frame = egui::Frame::group(ui.style()).fill(if selected_face.is_some() {
                    ui.visuals().selection.bg_fill.gamma_multiply(0.4)
                } else {
                    egui::Color32::TRANSPARENT
                });
                let response = frame
                    .show(ui, |ui| {
                        ui.set_min_height(row_height - 12.0);
                        ui.set_width(ui.available_width());
                        ui.horizontal(|ui| {
                            match thumbnails.get(ui.ctx(), index, report.thumbnail.as_ref()) {
                                Some(t) => {
                                    let size = t.size_vec2();
                                    let scale = 56.0 / size.x.max(size.y).max(1.0);
                                    ui.add(egui::Image::from_texture((t.id(), size * scale)));
                                }
                                None => {
                                    ui.allocate_space(egui::vec2(56.0, 56.0));
                                }
                            }
                            ui.vertical(|ui| {
                                let name = report
                                    .path
                                    .file_name()
                                    .map(|n| n.to_string_lossy().into_owned())
                                    .unwrap_or_default();
                                ui.label(egui::RichText::new(name).strong());
                                match (&report.error, report.verdict) {
                                    (Some(error), _) => {
                                        ui.colored_label(
                                            band_colour(None),
                                            format!("error: {error}"),
                                        );
                                    }
                                    (None, Some(verdict)) => {
                                        ui.horizontal(|ui| {
                                            ui.colored_label(
                                                band_colour(Some(verdict)),
                                                verdict.label(),
                                            );
                                            if let Some(score) = report.max_score {
                                                ui.label(format!("{score:.2}"));
                                            }
                                        });
                                    }
                                    _ => {}
                                }
                                ui.horizontal_wrapped(|ui| {
                                    for (f, face) in report.faces.iter().enumerate() {
                                        let text = egui::RichText::new(format!(
                                            "face {} {:.2}",
                                            f + 1,
                                            face.score
                                        ))
                                        .color(band_colour(Some(face.band)))
                                        .small();
                                        if ui
                                            .selectable_label(selected_face == Some(f), text)
                                            .clicked()
                                        {
                                            clicked = Some((index, f));
                                        }
                                    }
                                    for flag in &report.flags {
                                        ui.small(format!("! {}", flag.describe()));
                                    }
                                });
                            });
                        });
                    })
                    .response;
                if response.interact(egui::Sense::click()).clicked() && clicked.is_none() {
                    clicked = Some((index, 0));
                }
            }
        });
    thumbnails.end_frame();
    clicked.map(|(item, face)| Action::Select { item, face })
}
