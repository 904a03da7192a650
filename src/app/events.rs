//! What the worker threads reported, applied to the app at the start of every frame: the model
//! loaded, images analysed, explanations and pictures made, fine-tuning progress, file dialogs
//! answered, exports written. Only the textures are made here, on the UI thread; nothing waits.

use std::path::PathBuf;

use eframe::egui;

use super::jobs::JobEvent;
use super::mclcr_app::MclcrApp;
use super::textures;
use super::types::{ExplainKey, Item, ModelStatus, PickPurpose};
use crate::analysis::explain::FaceExplanation;

impl MclcrApp {
    /// Applies every report that arrived since the last frame.
    pub(crate) fn handle_events(&mut self, ctx: &egui::Context) {
        for event in self.jobs.poll() {
            self.handle_event(ctx, event);
        }
    }

    fn handle_event(&mut self, ctx: &egui::Context, event: JobEvent) {
        match event {
            JobEvent::ModelReady(scorer) => {
                self.status.clear();
                self.model = ModelStatus::Ready(scorer);
                self.start_pending_scan();
            }
            JobEvent::ModelFailed(e) => {
                self.status = format!("model not loaded: {e}");
                self.model = ModelStatus::Failed(e);
            }
            JobEvent::ScanStarted { scan, total } if scan == self.scan.id => {
                self.scan.total = Some(total);
            }
            JobEvent::Report { scan, report } if scan == self.scan.id => {
                self.scan.done += 1;
                self.items.push(Item { report: *report });
                if self.selected.is_none() {
                    let last = self.items.len() - 1;
                    self.select(last, 0);
                }
            }
            JobEvent::ScanFinished { scan } if scan == self.scan.id => {
                self.scan.running = false;
                self.start_pending_scan();
            }
            JobEvent::Explained { key, result } => {
                let mut robustness = None;
                if let Some(shown) = &mut self.shown
                    && shown.key == key
                {
                    if let Ok(explanation) = &result {
                        shown.textures = textures::ExplanationTextures::new(
                            ctx,
                            explanation,
                            self.state.opacity,
                        );
                        self.explanations += 1;
                        shown.content = self.explanations;
                        if key.robustness {
                            robustness = Some(explanation.clone());
                        }
                    }
                    shown.result = Some(result);
                }
                // A robustness check that flips the band marks the image.
                if let Some(explanation) = robustness {
                    self.apply_robustness(&key, &explanation);
                }
            }
            JobEvent::Preview { path, result } => {
                let current = self
                    .selected
                    .and_then(|(i, _)| self.items.get(i))
                    .map(|item| item.report.path.clone());
                match result {
                    Ok(image) if current.as_ref() == Some(&path) => {
                        let size = self
                            .selected
                            .and_then(|(i, _)| self.items.get(i))
                            .and_then(|item| item.report.width.zip(item.report.height))
                            .map_or([image.width(), image.height()], |(w, h)| [w, h]);
                        let texture = textures::upload(ctx, "preview", &image);
                        self.preview = Some((path, texture, size));
                    }
                    Ok(_) => {}
                    Err(e) => self.status = format!("{}: {e}", path.display()),
                }
            }
            JobEvent::Train(event) => self.training.apply(event),
            JobEvent::TrainEnded(result) => self.training.ended(result),
            JobEvent::Picked(purpose, paths) => self.picked(purpose, paths),
            JobEvent::Exported(path, result) => {
                self.status = match result {
                    Ok(()) => format!("exported {}", path.display()),
                    Err(e) => format!("export failed: {e}"),
                };
            }
            _ => {}
        }
    }

    /// Takes the selected face's robustness scores into its image's report and settles the
    /// image's verdict again (a band that flips under them marks the image unstable).
    fn apply_robustness(&mut self, key: &ExplainKey, explanation: &FaceExplanation) {
        let Some(scorer) = self.scorer().cloned() else {
            return;
        };
        let Some((i, f)) = self.selected else { return };
        let Some(item) = self.items.get_mut(i) else {
            return;
        };
        if item.report.path != key.path {
            return;
        }
        if let Some(face) = item.report.faces.get_mut(f) {
            face.robustness = explanation.robustness.clone();
        }
        item.report
            .settle_verdict(&scorer.manifest.bands, scorer.manifest.trained);
    }

    /// A file dialog's answer.
    fn picked(&mut self, purpose: PickPurpose, paths: Vec<PathBuf>) {
        match purpose {
            PickPurpose::Analyse | PickPurpose::AnalyseFolders => self.add_paths(paths),
            PickPurpose::Model => self.load_model(paths.into_iter().next()),
            PickPurpose::TrainReal => self.state.train.real = paths,
            PickPurpose::TrainFake => self.state.train.fake = paths,
            PickPurpose::TrainOut => self.state.train.out = paths.into_iter().next(),
            PickPurpose::ExportJson | PickPurpose::ExportCsv | PickPurpose::ExportHtml => {
                if let Some(path) = paths.into_iter().next() {
                    self.export_to(purpose, path);
                }
            }
        }
    }
}
