//! The inspector's File view: what the file says about itself (metadata, the EXIF thumbnail
//! beside the image, the encoder's tables, C2PA Content Credentials), with its card. Facts read
//! from the file, shown apart from the network's verdict.

use eframe::egui;

use crate::analysis::ImageReport;
use crate::app::textures;
use crate::provenance::{CARD, FileEvidence, FileFinding};

/// What the File view shows, what to look for, what to ignore.
pub const FILE_CARD: [&str; 3] = [
    CARD,
    "A declared AI origin (C2PA action, IPTC digital source type, a generator's PNG text), an \
     editor in the software fields or the edit history, a thumbnail that shows another picture, \
     a C2PA manifest that no longer validates.",
    "Missing metadata: platforms strip it on upload, so its absence says nothing about the face. \
     Camera names and times can be rewritten by anyone.",
];

/// Draws the File view of `report`.
pub fn show(ui: &mut egui::Ui, report: &ImageReport) {
    let Some(file) = &report.file else {
        ui.label("The file could not be read.");
        return;
    };
    if file.findings.is_empty() {
        ui.label("No findings in the file's own metadata.");
    }
    for finding in &file.findings {
        let colour = match finding {
            FileFinding::C2paSigned { .. } => egui::Color32::from_rgb(90, 170, 90),
            FileFinding::ResavedHint | FileFinding::DatesDisagree { .. } => {
                egui::Color32::from_rgb(200, 170, 60)
            }
            _ => egui::Color32::from_rgb(230, 120, 40),
        };
        ui.colored_label(
            colour,
            format!("{} — {}", finding.name(), finding.describe()),
        );
    }
    ui.add_space(6.0);
    thumbnails(ui, report, file);
    let facts = file.facts();
    if facts.is_empty() {
        ui.weak("The file carries no metadata (which proves nothing: most platforms strip it).");
    } else {
        egui::Grid::new("file-facts")
            .num_columns(2)
            .striped(true)
            .show(ui, |ui| {
                for fact in facts {
                    ui.label(egui::RichText::new(fact.label).strong());
                    ui.add(egui::Label::new(fact.value).wrap());
                    ui.end_row();
                }
            });
    }
    if let Some(gps) = file.exif.as_ref().and_then(|x| x.gps.as_ref())
        && ui.button("Copy map link").clicked()
    {
        ui.ctx().copy_text(gps.map_link.clone());
    }
}

/// The EXIF thumbnail beside the image scaled to its size.
fn thumbnails(ui: &mut egui::Ui, report: &ImageReport, file: &FileEvidence) {
    let Some(check) = &file.thumbnail else {
        return;
    };
    let key = report.sha256.clone().unwrap_or_default();
    let ctx = ui.ctx().clone();
    // One texture per picture, kept for the image on show and replaced when another is
    // selected, so browsing a long queue does not pile textures up.
    let texture = |name: &str, image: &image::RgbImage| {
        let id = egui::Id::unique(("file-view", name));
        let cached = ctx.data_mut(|d| d.get_temp::<(String, egui::TextureHandle)>(id));
        match cached {
            Some((shown, handle)) if shown == key => handle,
            _ => {
                let handle = textures::upload(&ctx, name, image);
                ctx.data_mut(|d| d.insert_temp(id, (key.clone(), handle.clone())));
                handle
            }
        }
    };
    let thumb = texture("exif-thumbnail", &check.thumbnail);
    let scaled = texture("image-scaled", &check.image_scaled);
    // Two side by side in the panel, never larger than twice the thumbnail.
    let fit = ((ui.available_width() - 16.0) / 2.0 / check.width as f32).clamp(0.25, 2.0);
    let size = egui::vec2(check.width as f32, check.height as f32) * fit.min(1.0);
    ui.horizontal(|ui| {
        for (label, handle) in [("EXIF thumbnail", &thumb), ("the image, scaled", &scaled)] {
            ui.vertical(|ui| {
                ui.add(egui::Image::new((handle.id(), size)));
                ui.weak(label);
            });
        }
    });
}
