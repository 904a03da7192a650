//! The desktop app: drop images or folders, see each face's verdict beside what the network
//! saw, fine-tune on your own faces, export a report.
//!
//! The UI only sends commands ([`jobs::Jobs`]); loading, scanning, explaining and training run
//! on worker threads and report through a channel drained at the start of every frame.
//! [`state::AppState`] is what persists across restarts; everything else is runtime.

pub mod export;
pub mod finetune;
pub mod heatmap_shader;
pub mod inspector;
pub mod jobs;
pub mod model_window;
pub mod queue;
pub mod state;
pub mod textures;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use eframe::egui;

use crate::explain::FaceExplanation;
use crate::scan::ImageReport;
use crate::scorer::Scorer;
use jobs::{ExplainKey, JobEvent, Jobs, PickPurpose};
use state::AppState;

/// Key under which eframe stores [`AppState`].
pub const STATE_KEY: &str = "mclcr-state";

/// One analysed image in the queue.
pub struct Item {
    /// The analysis result.
    pub report: ImageReport,
    /// Its thumbnail, uploaded to the GPU.
    pub thumbnail: Option<egui::TextureHandle>,
}

/// The model as the app knows it.
pub enum ModelStatus {
    /// Being loaded.
    Loading,
    /// Ready.
    Ready(Arc<Scorer>),
    /// Loading failed.
    Failed(String),
}

/// A running or finished scan.
#[derive(Debug, Clone, Copy, Default)]
pub struct ScanProgress {
    /// Scan id.
    pub id: u64,
    /// Files in the scan (once known).
    pub total: Option<usize>,
    /// Files reported.
    pub done: usize,
    /// Still running.
    pub running: bool,
    /// When it started.
    pub started: Option<Instant>,
}

/// The explanation shown in the inspector, with its textures.
pub struct Shown {
    /// Which face.
    pub key: ExplainKey,
    /// The result, once it arrived.
    pub result: Option<Result<Arc<FaceExplanation>, String>>,
    /// Textures made from it (crop, overlays at the current opacity, spectrum).
    pub textures: textures::ExplanationTextures,
    /// A number that changes with every explanation received (the GPU overlays re-upload
    /// their textures when it does).
    pub content: u64,
}

/// How long UI frames take (the time spent building the UI, not waiting for vsync).
#[derive(Debug, Clone, Copy, Default)]
pub struct FrameStats {
    /// Frames measured.
    pub frames: u64,
    /// The last frame.
    pub last: Duration,
    /// The slowest frame.
    pub max: Duration,
    /// Sum of all frames.
    pub total: Duration,
}

impl FrameStats {
    fn record(&mut self, took: Duration) {
        self.frames += 1;
        self.last = took;
        self.max = self.max.max(took);
        self.total += took;
    }

    /// Mean frame time.
    pub fn mean(&self) -> Duration {
        if self.frames == 0 {
            Duration::ZERO
        } else {
            self.total / self.frames as u32
        }
    }
}

/// The app.
pub struct MclcrApp {
    /// Persisted state.
    pub state: AppState,
    jobs: Jobs,
    /// The active model.
    pub model: ModelStatus,
    /// The queue, in the order added.
    pub items: Vec<Item>,
    /// The selected image (index into `items`) and face.
    pub selected: Option<(usize, usize)>,
    /// Paths waiting for the model to be ready.
    pending: Vec<PathBuf>,
    /// The current scan.
    pub scan: ScanProgress,
    /// The inspector's explanation.
    pub shown: Option<Shown>,
    /// Fine-tuning progress.
    pub training: finetune::TrainingView,
    /// Presentation mode (full screen, large type, arrows step through the queue).
    pub presenting: bool,
    /// A message for the status bar.
    pub status: String,
    /// UI frame times.
    pub frame_stats: FrameStats,
    /// The inspector's zoom / pan rectangle.
    pub scene_rect: egui::Rect,
    /// The selected image as a texture, with its file and size in image pixels.
    pub preview: Option<(PathBuf, egui::TextureHandle, [u32; 2])>,
    /// Attention overlays are drawn by the WGSL shader (the window renders with wgpu);
    /// otherwise they are composited on the CPU.
    pub gpu_heatmaps: bool,
    explanations: u64,
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
            training: finetune::TrainingView::default(),
            presenting: false,
            status: String::new(),
            frame_stats: FrameStats::default(),
            scene_rect: egui::Rect::NOTHING,
            preview: None,
            gpu_heatmaps: false,
            explanations: 0,
        }
    }

    /// The app as eframe creates it: state restored from storage.
    pub fn from_creation_context(cc: &eframe::CreationContext<'_>) -> Self {
        let state = cc
            .storage
            .and_then(|s| eframe::get_value::<AppState>(s, STATE_KEY))
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
        match &self.model {
            ModelStatus::Ready(scorer) => Some(scorer),
            _ => None,
        }
    }

    /// Adds files or folders to the queue and analyses them.
    pub fn add_paths(&mut self, paths: Vec<PathBuf>) {
        if paths.is_empty() {
            return;
        }
        if let Some(dir) = paths[0].parent() {
            self.state.last_dir = Some(dir.to_path_buf());
        }
        self.pending.extend(paths);
        self.start_pending_scan();
    }

    fn start_pending_scan(&mut self) {
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
    pub fn cancel_scan(&mut self) {
        self.pending.clear();
        self.jobs.cancel_scan();
    }

    /// Switches to another model (a manifest, or `None` for the built-in one).
    pub fn load_model(&mut self, manifest: Option<PathBuf>) {
        self.state.model = manifest.clone();
        self.model = ModelStatus::Loading;
        self.jobs.load_model(manifest, self.state.device);
    }

    /// Selects a face and asks for its explanation.
    pub fn select(&mut self, item: usize, face: usize) {
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

    /// Asks for the selected face's explanation (with robustness scores when `robustness`).
    pub fn request_explanation(&mut self, robustness: bool) {
        self.explain_selected(robustness, false);
    }

    /// Asks for the selected face's explanation and, with `preview`, the image's picture: both
    /// from one decoding of the file (the picture alone when there is no face to explain).
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

    /// Applies what the background threads reported.
    fn handle_events(&mut self, ctx: &egui::Context) {
        for event in self.jobs.poll() {
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
                    let thumbnail = report
                        .thumbnail
                        .as_ref()
                        .map(|t| textures::upload(ctx, "thumbnail", t));
                    self.items.push(Item {
                        report: *report,
                        thumbnail,
                    });
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
    }

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
        let manifest = &scorer.manifest;
        let flips = crate::robustness::band_flips(
            &explanation.robustness,
            explanation.band,
            &manifest.bands,
            manifest.trained,
        );
        if let Some(face) = item.report.faces.get_mut(f) {
            face.robustness = explanation.robustness.clone();
        }
        let report = &mut item.report;
        if flips && !report.flags.contains(&crate::verdict::Flag::Unstable) {
            report.flags.push(crate::verdict::Flag::Unstable);
            let bands: Vec<_> = report.faces.iter().map(|face| face.band).collect();
            report.verdict = Some(crate::verdict::image_band(&bands, &report.flags));
        }
    }

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

    /// Exports the queue as shown to `path` (format by `purpose`), written on a worker thread;
    /// the status bar says when it is done.
    pub fn export_to(&mut self, purpose: PickPurpose, path: PathBuf) {
        match export::snapshot(self, purpose) {
            Ok(snapshot) => {
                self.status = format!("exporting {}…", path.display());
                self.jobs.export(snapshot, path);
            }
            Err(e) => self.status = format!("export failed: {e}"),
        }
    }

    /// Files dropped on the window, and the hover overlay while they are dragged over it.
    fn handle_drops(&mut self, ui: &mut egui::Ui) {
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
        if !dropped.is_empty() {
            self.add_paths(dropped);
        }
    }

    /// Indices of the items the queue shows, in its order.
    pub fn visible_items(&self) -> Vec<usize> {
        queue::visible(self)
    }

    /// Moves the selection by `step` through the visible queue.
    pub fn step_selection(&mut self, step: isize) {
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

    /// Builds the whole UI for one frame.
    pub fn show(&mut self, ui: &mut egui::Ui) {
        let started = Instant::now();
        let ctx = ui.ctx().clone();
        self.handle_events(&ctx);
        self.handle_keys(&ctx);
        if self.presenting {
            inspector::presentation(self, ui);
        } else {
            self.menu_bar(ui);
            self.status_bar(ui);
            egui::Panel::left("queue")
                .resizable(true)
                .default_size(300.0)
                .show(ui, |ui| queue::show(self, ui));
            if self.state.show_training {
                egui::Panel::right("fine-tuning")
                    .resizable(true)
                    .default_size(380.0)
                    .show(ui, |ui| finetune::show(self, ui));
            }
            egui::CentralPanel::default().show(ui, |ui| inspector::show(self, ui));
            model_window::show(self, &ctx);
        }
        self.handle_drops(ui);
        if self.scan.running || self.training.running {
            // Progress keeps moving even when no event arrives for a while.
            ctx.request_repaint_after(Duration::from_millis(250));
        }
        self.frame_stats.record(started.elapsed());
    }

    fn handle_keys(&mut self, ctx: &egui::Context) {
        let (f11, escape, next, previous) = ctx.input(|i| {
            (
                i.key_pressed(egui::Key::F11),
                i.key_pressed(egui::Key::Escape),
                i.key_pressed(egui::Key::ArrowRight) || i.key_pressed(egui::Key::ArrowDown),
                i.key_pressed(egui::Key::ArrowLeft) || i.key_pressed(egui::Key::ArrowUp),
            )
        });
        if f11 || (escape && self.presenting) {
            self.set_presenting(ctx, !self.presenting);
        }
        if ctx.memory(|m| m.focused().is_none()) {
            if next {
                self.step_selection(1);
            }
            if previous {
                self.step_selection(-1);
            }
        }
    }

    /// Enters or leaves presentation mode.
    pub fn set_presenting(&mut self, ctx: &egui::Context, on: bool) {
        self.presenting = on;
        ctx.send_viewport_cmd(egui::ViewportCommand::Fullscreen(on));
        ctx.set_zoom_factor(if on { 1.6 } else { 1.0 });
    }

    fn menu_bar(&mut self, ui: &mut egui::Ui) {
        egui::Panel::top("menu").show(ui, |ui| {
            ui.horizontal(|ui| {
                if ui.button("Open images…").clicked() {
                    self.jobs
                        .pick(PickPurpose::Analyse, self.state.last_dir.clone());
                }
                if ui.button("Open folder…").clicked() {
                    self.jobs
                        .pick(PickPurpose::AnalyseFolders, self.state.last_dir.clone());
                }
                ui.menu_button("Export", |ui| {
                    let enabled = !self.items.is_empty();
                    for (label, purpose) in [
                        ("HTML report…", PickPurpose::ExportHtml),
                        ("JSON Lines…", PickPurpose::ExportJson),
                        ("CSV…", PickPurpose::ExportCsv),
                    ] {
                        if ui.add_enabled(enabled, egui::Button::new(label)).clicked() {
                            self.jobs.pick(purpose, self.state.last_dir.clone());
                        }
                    }
                });
                if ui.button("Clear queue").clicked() {
                    self.items.clear();
                    self.selected = None;
                    self.shown = None;
                }
                ui.separator();
                ui.toggle_value(&mut self.state.show_training, "Fine-tuning");
                ui.toggle_value(&mut self.state.show_model, "Model & device");
                if ui.button("Present (F11)").clicked() {
                    let ctx = ui.ctx().clone();
                    self.set_presenting(&ctx, true);
                }
            });
        });
    }

    fn status_bar(&mut self, ui: &mut egui::Ui) {
        egui::Panel::bottom("status").show(ui, |ui| {
            ui.horizontal(|ui| {
                match &self.model {
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
                if self.scan.running {
                    let total = self.scan.total.unwrap_or(0).max(1);
                    ui.add(
                        egui::ProgressBar::new(self.scan.done as f32 / total as f32)
                            .desired_width(160.0)
                            .text(format!(
                                "{} / {}",
                                self.scan.done,
                                self.scan.total.unwrap_or(0)
                            )),
                    );
                    if ui.button("Stop").clicked() {
                        self.cancel_scan();
                    }
                }
                ui.label(&self.status);
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    ui.weak(format!(
                        "UI frame {:.1} ms (max {:.1})",
                        self.frame_stats.last.as_secs_f64() * 1e3,
                        self.frame_stats.max.as_secs_f64() * 1e3
                    ));
                });
            });
        });
    }
}

impl eframe::App for MclcrApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.show(ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, STATE_KEY, &self.state);
    }
}

/// Which renderer draws the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum RendererChoice {
    /// wgpu, then glow when wgpu cannot start.
    #[default]
    Auto,
    /// wgpu only (Vulkan, Metal, DX12 or GL through wgpu).
    Wgpu,
    /// OpenGL through glow only; heatmaps are composited on the CPU.
    Glow,
}

/// Opens the window with `choice`'s renderers, in order, until one starts.
pub fn run(initial: Vec<PathBuf>, choice: RendererChoice) -> anyhow::Result<()> {
    let renderers: &[eframe::Renderer] = match choice {
        RendererChoice::Auto => &[eframe::Renderer::Wgpu, eframe::Renderer::Glow],
        RendererChoice::Wgpu => &[eframe::Renderer::Wgpu],
        RendererChoice::Glow => &[eframe::Renderer::Glow],
    };
    let mut last_error = None;
    for &renderer in renderers {
        let options = eframe::NativeOptions {
            renderer,
            viewport: egui::ViewportBuilder::default()
                .with_title("mclcr")
                .with_inner_size([1280.0, 800.0])
                .with_min_inner_size([640.0, 400.0])
                .with_drag_and_drop(true),
            ..Default::default()
        };
        let initial = initial.clone();
        let result = eframe::run_native(
            "mclcr",
            options,
            Box::new(move |cc| {
                let mut app = MclcrApp::from_creation_context(cc);
                app.add_paths(initial);
                Ok(Box::new(app))
            }),
        );
        match result {
            Ok(()) => return Ok(()),
            Err(e) => {
                eprintln!("mclcr: the {renderer:?} renderer could not start: {e}");
                last_error = Some(e);
            }
        }
    }
    Err(anyhow::anyhow!(
        "no window could be opened ({}); is a display available (DISPLAY / WAYLAND_DISPLAY)?",
        last_error.map_or_else(String::new, |e| e.to_string())
    ))
}
