//! The app's data and the one place where what the user asked for ([`Action`]) is carried out:
//! [`MclcrApp::apply`]. Work that waits on the model or the disk is handed to
//! [`Jobs`](super::jobs::Jobs); its reports come back through `events.rs`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use eframe::egui;

use super::action::Action;
use super::export::{self, ExportError, ExportSnapshot};
use super::finetune::TrainingView;
use super::frame_stats::FrameStats;
use super::heatmap_shader;
use super::jobs::Jobs;
use super::queue;
use super::state::{AppState, STATE_KEY, settings_path};
use super::thumbnails::Thumbnails;
use super::types::{ExplainKey, Item, ModelStatus, PickPurpose, Preview, ScanProgress, Shown};
use crate::inference::scorer::Scorer;

/// The app.
pub struct MclcrApp {
    /// Persisted state.
    pub state: AppState,
    /// The worker threads.
    pub(super) jobs: Jobs,
    /// The active model.
    pub model: ModelStatus,
    /// The queue, in the order added.
    pub items: Vec<Item>,
    /// The selected image (index into `items`) and face.
    pub selected: Option<(usize, usize)>,
    /// Paths waiting for the model to be ready.
    pub(super) pending: Vec<PathBuf>,
    /// The current scan.
    pub scan: ScanProgress,
    /// The inspector's explanation.
    pub shown: Option<Shown>,
    /// Fine-tuning progress.
    pub training: TrainingView,
    /// Presentation mode (full screen, large type, arrows step through the queue).
    pub presenting: bool,
    /// A message for the status bar.
    pub status: String,
    /// UI frame times.
    pub frame_stats: FrameStats,
    /// The inspector's zoom / pan rectangle.
    pub scene_rect: egui::Rect,
    /// The selected image as a texture, with its file and size in image pixels.
    pub preview: Option<Preview>,
    /// Attention overlays are drawn by the WGSL shader (the window renders with wgpu);
    /// otherwise they are composited on the CPU.
    pub gpu_heatmaps: bool,
    /// Explanations received so far (numbers [`Shown::content`]).
    pub(super) explanations: u64,
    /// The queue's thumbnail textures (bounded: only rows drawn lately).
    pub thumbnails: Thumbnails,
}

impl MclcrApp {
    /// A new app; `wake` asks the UI for a repaint (background threads call it).
    pub fn new(state: AppState, wake: Arc<dyn Fn() + Send + Sync>) -> Self {
        let jobs = Jobs::new(wake);
        jobs.load_model(state.model.clone(), state.device);
        Self {
            state,
            jobs,
            model: ModelStatus::Loading,
            items: Vec::new(),
            selected: None,
            pending: Vec::new(),
            scan: ScanProgress::default(),
            shown: None,
            training: TrainingView::default(),
            presenting: false,
            status: String::new(),
            frame_stats: FrameStats::default(),
            scene_rect: egui::Rect::NOTHING,
            preview: None,
            gpu_heatmaps: false,
            explanations: 0,
            thumbnails: Thumbnails::default(),
        }
    }

    /// The app as eframe creates it: state restored from storage.
    pub fn from_creation_context(cc: &eframe::CreationContext<'_>) -> Self {
        let state = settings_path()
            .and_then(|path| AppState::read(&path))
            .or_else(|| {
                cc.storage
                    .and_then(|s| eframe::get_value::<AppState>(s, STATE_KEY))
            })
            .unwrap_or_default();
        // Presentation mode's large type is not carried over from a run that ended in it.
        cc.egui_ctx.set_zoom_factor(1.0);
        let ctx = cc.egui_ctx.clone();
        let mut app = Self::new(state, Arc::new(move || ctx.request_repaint()));
        if let Some(render_state) = &cc.wgpu_render_state {
            heatmap_shader::install(render_state);
            app.gpu_heatmaps = true;
        }
        app
    }

    /// The active model, when ready.
    pub fn scorer(&self) -> Option<&Arc<Scorer>> {
        self.model.scorer()
    }

    /// Carries out what the user asked for (`ctx` for what changes the window or re-makes
    /// textures). Never waits on the model: work goes to the worker threads.
    pub fn apply(&mut self, ctx: &egui::Context, action: Action) {
        match action {
            Action::Select { item, face } => self.select(item, face),
            Action::Step(step) => self.step_selection(step),
            Action::Explain { robustness } => self.explain_selected(robustness, false),
            Action::AddPaths(paths) => self.add_paths(paths),
            Action::CancelScan => self.cancel_scan(),
            Action::ClearQueue => {
                self.items.clear();
                self.thumbnails.clear();
                self.selected = None;
                self.shown = None;
            }
            Action::Pick(purpose) => self.jobs.pick(purpose, self.state.last_dir.clone()),
            Action::LoadModel(manifest) => self.load_model(manifest),
            Action::SetDevice(device) => {
                self.state.device = device;
                self.load_model(self.state.model.clone());
            }
            Action::SetPresenting(on) => self.set_presenting(ctx, on),
            Action::SetOpacity(opacity) => {
                self.state.opacity = opacity;
                if let Some(shown) = &mut self.shown
                    && let Some(Ok(explanation)) = &shown.result
                {
                    shown.textures.set_opacity(ctx, explanation, opacity);
                }
            }
            Action::Bookmark { sha256, bookmark } => match bookmark {
                Some(bookmark) => {
                    self.state.bookmarks.insert(sha256, bookmark);
                }
                None => {
                    self.state.bookmarks.remove(&sha256);
                }
            },
            Action::StartTraining(request) => {
                self.training = TrainingView::started();
                self.jobs.train(*request);
            }
            Action::TrainingRefused(e) => self.training.error = Some(e),
            Action::CancelTraining => self.jobs.cancel_training(),
        }
    }

    /// Adds files or folders to the queue and analyses them.
    pub(crate) fn add_paths(&mut self, paths: Vec<PathBuf>) {
        if paths.is_empty() {
            return;
        }
        if let Some(dir) = paths[0].parent() {
            self.state.last_dir = Some(dir.to_path_buf());
        }
        self.pending.extend(paths);
        self.start_pending_scan();
    }

    /// Starts scanning the paths waiting, once the model is ready and no scan runs.
    pub(super) fn start_pending_scan(&mut self) {
        if self.pending.is_empty() || self.scan.running {
            return;
        }
        let Some(scorer) = self.scorer().cloned() else {
            return;
        };
        let paths = std::mem::take(&mut self.pending);
        let id = self.jobs.scan(paths, scorer);
        self.scan = ScanProgress {
            id,
            total: None,
            done: 0,
            running: true,
            started: Some(Instant::now()),
        };
    }

    /// Stops the running scan.
    fn cancel_scan(&mut self) {
        self.pending.clear();
        self.jobs.cancel_scan();
    }

    /// Switches to another model (a manifest, or `None` for the built-in one).
    pub(super) fn load_model(&mut self, manifest: Option<PathBuf>) {
        self.state.model = manifest.clone();
        self.model = ModelStatus::Loading;
        self.jobs.load_model(manifest, self.state.device);
    }

    /// Selects a face and asks for its explanation.
    pub(super) fn select(&mut self, item: usize, face: usize) {
        let new_image = self.selected.map(|(i, _)| i) != Some(item);
        self.selected = Some((item, face));
        if new_image {
            self.scene_rect = egui::Rect::NOTHING;
        }
        let preview = new_image
            && self
                .items
                .get(item)
                .is_some_and(|entry| entry.report.error.is_none());
        self.explain_selected(false, preview);
    }

    /// Asks for the selected face's explanation (with robustness scores when `robustness`)
    /// and, with `preview`, the image's picture: both from one decoding of the file (the
    /// picture alone when there is no face to explain).
    fn explain_selected(&mut self, robustness: bool, preview: bool) {
        let Some((i, f)) = self.selected else { return };
        let Some(item) = self.items.get(i) else {
            return;
        };
        let path = item.report.path.clone();
        let Some(face) = item.report.faces.get(f) else {
            self.shown = None;
            if preview {
                self.jobs.preview(path);
            }
            return;
        };
        let key = ExplainKey {
            path,
            crop: face.crop,
            robustness,
        };
        let scorer = self.scorer().cloned();
        if self.shown.as_ref().is_some_and(|s| s.key == key) || scorer.is_none() {
            if preview {
                self.jobs.preview(key.path);
            }
            return;
        }
        if let Some(scorer) = scorer {
            // The same face explained already: only the robustness scores are missing.
            let known = self.shown.as_ref().and_then(|s| match &s.result {
                Some(Ok(e)) if s.key.path == key.path && s.key.crop == key.crop => Some(e.clone()),
                _ => None,
            });
            match known {
                Some(explanation) if robustness && !preview => {
                    self.jobs.add_robustness(key.clone(), explanation, scorer)
                }
                _ => self.jobs.explain(key.clone(), scorer, preview),
            }
            self.shown = Some(Shown {
                key,
                result: None,
                textures: Default::default(),
                content: 0,
            });
        }
    }

    /// Indices of the items the queue shows, in its order.
    pub fn visible_items(&self) -> Vec<usize> {
        queue::visible(
            &self.items,
            &self.state.filter,
            self.state.sort,
            &self.state.bookmarks,
        )
    }

    /// Moves the selection by `step` through the visible queue.
    fn step_selection(&mut self, step: isize) {
        let visible = self.visible_items();
        if visible.is_empty() {
            return;
        }
        let at = self
            .selected
            .and_then(|(i, _)| visible.iter().position(|&v| v == i))
            .map_or(0, |p| {
                (p as isize + step).clamp(0, visible.len() as isize - 1) as usize
            });
        self.select(visible[at], 0);
    }

    /// Enters or leaves presentation mode.
    fn set_presenting(&mut self, ctx: &egui::Context, on: bool) {
        self.presenting = on;
        ctx.send_viewport_cmd(egui::ViewportCommand::Fullscreen(on));
        ctx.set_zoom_factor(if on { 1.6 } else { 1.0 });
    }

    /// What an export of the queue as shown (order and filter) in the format of `purpose`
    /// writes, copied out of the app.
    pub fn export_snapshot(&self, purpose: PickPurpose) -> Result<ExportSnapshot, ExportError> {
        export::snapshot(
            purpose,
            self.scorer().map(|scorer| &**scorer),
            self.visible_items()
                .into_iter()
                .map(|i| &self.items[i].report),
            &self.state.bookmarks,
            self.shown.as_ref(),
            self.state.opacity,
        )
    }

    /// Exports the queue as shown to `path` right away (on the calling thread).
    pub fn write_export(&self, purpose: PickPurpose, path: &Path) -> Result<(), ExportError> {
        self.export_snapshot(purpose)?.write(path)
    }

    /// Exports the queue as shown to `path` (format by `purpose`), written on a worker thread;
    /// the status bar says when it is done.
    pub fn export_to(&mut self, purpose: PickPurpose, path: PathBuf) {
        match self.export_snapshot(purpose) {
            Ok(snapshot) => {
                self.status = format!("exporting {}…", path.display());
                self.jobs.export(snapshot, path);
            }
            Err(e) => self.status = format!("export failed: {e}"),
        }
    }
}
