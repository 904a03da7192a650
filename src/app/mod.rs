//! The desktop app: drop images or folders, see each face's verdict beside what the network
//! saw, fine-tune on your own faces, export a report.
//!
//! The panels ([`queue`], [`inspector`], [`finetune`], [`model_window`]) and the window's
//! chrome draw from the data they are given and return [`Action`]s; [`MclcrApp::apply`]
//! carries them out, in one place. Loading, scanning, explaining and training run on worker
//! threads ([`jobs`]) and report through a channel drained at the start of every frame; the UI
//! thread never waits on the model. [`state::AppState`] is what persists across restarts;
//! everything else is runtime.
//!
//! Files: this one composes a frame and opens the window; `mclcr_app.rs` holds the app and its
//! actions, `events.rs` the workers' reports, `chrome.rs` the menu and status bars, keys and
//! dropped files; `types.rs` the small types the files share.

pub mod action;
mod chrome;
mod events;
pub mod export;
pub mod finetune;
mod frame_stats;
pub mod heatmap_shader;
pub mod inspector;
pub mod jobs;
mod mclcr_app;
pub mod model_window;
pub mod queue;
pub mod state;
pub mod textures;
pub mod thumbnails;
mod types;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use eframe::egui;

pub use action::Action;
pub use frame_stats::FrameStats;
pub use mclcr_app::MclcrApp;
pub use state::STATE_KEY;
pub use types::{ExplainKey, Item, ModelStatus, PickPurpose, Preview, ScanProgress, Shown};

impl MclcrApp {
    /// Builds the whole UI for one frame: the workers' reports first, then the keys (so that
    /// the frame shows their effect), the panels, and what the user asked for in them.
    pub fn show(&mut self, ui: &mut egui::Ui) {
        let started = Instant::now();
        let ctx = ui.ctx().clone();
        self.handle_events(&ctx);
        for action in chrome::keys(&ctx, self.presenting) {
            self.apply(&ctx, action);
        }
        if self.selected.is_some_and(|(i, _)| i >= self.items.len()) {
            self.selected = None;
        }
        let mut actions = self.panels(ui);
        actions.extend(chrome::drops(ui));
        if !actions.is_empty() {
            ctx.request_repaint();
        }
        for action in actions {
            self.apply(&ctx, action);
        }
        if self.scan.running || self.training.running {
            // Progress keeps moving even when no event arrives for a while.
            ctx.request_repaint_after(Duration::from_millis(250));
        }
        self.frame_stats.record(started.elapsed());
    }

    /// Draws the panels (or presentation mode) from the app's data; returns what the user
    /// asked for in them.
    fn panels(&mut self, ui: &mut egui::Ui) -> Vec<Action> {
        let ctx = ui.ctx().clone();
        let inspected = inspector::Inspected {
            items: &self.items,
            selected: self.selected,
            shown: self.shown.as_ref(),
            preview: self.preview.as_ref(),
            scorer: self.model.scorer().map(|scorer| &**scorer),
            bookmarks: &self.state.bookmarks,
            drawing: inspector::views::Drawing {
                opacity: self.state.opacity,
                gpu_heatmaps: self.gpu_heatmaps,
            },
        };
        if self.presenting {
            return inspector::presentation(ui, &inspected, &mut self.scene_rect);
        }
        let mut actions = chrome::menu_bar(
            ui,
            !self.items.is_empty(),
            &mut self.state.show_training,
            &mut self.state.show_model,
        );
        actions.extend(chrome::status_bar(
            ui,
            &self.model,
            &self.scan,
            &self.status,
            &self.frame_stats,
        ));
        let queued = queue::Queued {
            items: &self.items,
            selected: self.selected,
            scan: &self.scan,
            bookmarks: &self.state.bookmarks,
        };
        let queue = egui::Panel::left("queue")
            .resizable(true)
            .default_size(300.0)
            .show(ui, |ui| {
                queue::show(
                    ui,
                    &queued,
                    &mut self.state.filter,
                    &mut self.state.sort,
                    &mut self.thumbnails,
                )
            });
        actions.extend(queue.inner);
        if self.state.show_training {
            let setting = finetune::Setting {
                scorer: inspected.scorer,
                manifest: self.state.model.as_deref(),
                device: self.state.device,
            };
            let training = egui::Panel::right("fine-tuning")
                .resizable(true)
                .default_size(380.0)
                .show(ui, |ui| {
                    finetune::show(ui, &self.training, &mut self.state.train, setting)
                });
            actions.extend(training.inner);
        }
        let central = egui::CentralPanel::default().show(ui, |ui| {
            inspector::show(ui, &inspected, &mut self.state.view, &mut self.scene_rect)
        });
        actions.extend(central.inner);
        actions.extend(model_window::show(
            &ctx,
            &self.model,
            &mut self.state.show_model,
            self.state.device,
            self.state.model.is_some(),
        ));
        actions
    }
}

impl eframe::App for MclcrApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.show(ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, STATE_KEY, &self.state);
        if let Some(path) = state::settings_path()
            && let Err(e) = self.state.write(&path)
        {
            self.status = format!("settings not saved: {e}");
        }
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
