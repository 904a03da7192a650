//! Background work for the app: loading a model, scanning, explaining a face, fine-tuning,
//! file dialogs. Each runs on its own thread and reports through one channel that the UI drains
//! every frame; the UI thread never waits on the model or the disk.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, mpsc};

use super::export::ExportSnapshot;
pub use super::types::{ExplainKey, PickPurpose};
use crate::analysis::explain::{self, FaceExplanation};
use crate::analysis::{self, ImageReport, ScanOptions};
use crate::device::DeviceChoice;
use crate::inference::scorer::Scorer;
use crate::train::{self, TrainEvent, TrainRequest};

/// Longer side of queue thumbnails, in pixels.
pub const THUMBNAIL_SIDE: u32 = 96;

/// Longer side of the inspector's picture, in pixels.
pub const PREVIEW_SIDE: u32 = 1600;

/// What the background threads report.
#[derive(Debug)]
pub enum JobEvent {
    /// A model is ready.
    ModelReady(Arc<Scorer>),
    /// Loading a model failed.
    ModelFailed(String),
    /// A scan knows how many files it has.
    ScanStarted {
        /// Scan id.
        scan: u64,
        /// Files to analyse.
        total: usize,
    },
    /// One file analysed.
    Report {
        /// Scan id.
        scan: u64,
        /// The result.
        report: Box<ImageReport>,
    },
    /// A scan ended (finished or cancelled).
    ScanFinished {
        /// Scan id.
        scan: u64,
    },
    /// A face's explanation.
    Explained {
        /// Which face: (file, crop, robustness asked for).
        key: ExplainKey,
        /// The result.
        result: Result<Arc<FaceExplanation>, String>,
    },
    /// An image for the inspector, at most [`PREVIEW_SIDE`] pixels on its longer side.
    Preview {
        /// The file.
        path: PathBuf,
        /// The picture, or why it could not be read.
        result: Result<image::RgbImage, String>,
    },
    /// Fine-tuning progress.
    Train(TrainEvent),
    /// Fine-tuning ended: the best checkpoint's manifest, or why it failed.
    TrainEnded(Result<Option<PathBuf>, String>),
    /// Paths picked in a dialog, for a purpose.
    Picked(PickPurpose, Vec<PathBuf>),
    /// An export was written (or why not).
    Exported(PathBuf, Result<(), String>),
}

/// Decodes an image file as analysis does.
fn load(path: &std::path::Path) -> Result<image::RgbImage, String> {
    crate::imaging::evidence::load(path, &crate::imaging::evidence::LoadLimits::default())
        .map(|loaded| loaded.rgb)
        .map_err(|e| e.to_string())
}

/// The image scaled down to at most [`PREVIEW_SIDE`] on its longer side.
fn preview_of(image: &image::RgbImage) -> image::RgbImage {
    let (w, h) = image.dimensions();
    if w.max(h) <= PREVIEW_SIDE {
        return image.clone();
    }
    let scale = PREVIEW_SIDE as f32 / w.max(h) as f32;
    image::imageops::thumbnail(
        image,
        ((w as f32 * scale) as u32).max(1),
        ((h as f32 * scale) as u32).max(1),
    )
}

/// A job's handle on the channel back to the UI; wakes the UI when it sends.
#[derive(Clone)]
pub struct Reporter {
    tx: Sender<JobEvent>,
    wake: Arc<dyn Fn() + Send + Sync>,
}

impl Reporter {
    /// Sends an event and asks for a repaint.
    pub fn send(&self, event: JobEvent) {
        let _ = self.tx.send(event);
        (self.wake)();
    }
}

/// The jobs of one app.
pub struct Jobs {
    reporter: Reporter,
    rx: Receiver<JobEvent>,
    scan_cancel: Option<Arc<AtomicBool>>,
    train_cancel: Option<Arc<AtomicBool>>,
    next_scan: u64,
}

impl std::fmt::Debug for Jobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jobs")
            .field("next_scan", &self.next_scan)
            .finish()
    }
}

impl Jobs {
    /// Jobs whose events wake the UI through `wake` (e.g. `ctx.request_repaint()`).
    pub fn new(wake: Arc<dyn Fn() + Send + Sync>) -> Self {
        let (tx, rx) = mpsc::channel();
        Self {
            reporter: Reporter { tx, wake },
            rx,
            scan_cancel: None,
            train_cancel: None,
            next_scan: 0,
        }
    }

    /// Events that arrived since the last call.
    pub fn poll(&self) -> Vec<JobEvent> {
        self.rx.try_iter().collect()
    }

    /// Loads the model of `manifest` (or the built-in one) on the device for `choice`.
    pub fn load_model(&self, manifest: Option<PathBuf>, choice: DeviceChoice) {
        let reporter = self.reporter.clone();
        std::thread::spawn(move || {
            let result = Scorer::load(manifest.as_deref(), choice).map_err(|e| e.to_string());
            reporter.send(match result {
                Ok(scorer) => JobEvent::ModelReady(Arc::new(scorer)),
                Err(e) => JobEvent::ModelFailed(e),
            });
        });
    }

    /// Starts analysing `paths` with `scorer`; returns the scan's id.
    pub fn scan(&mut self, paths: Vec<PathBuf>, scorer: Arc<Scorer>) -> u64 {
        let id = self.next_scan;
        self.next_scan += 1;
        let cancel = Arc::new(AtomicBool::new(false));
        self.scan_cancel = Some(Arc::clone(&cancel));
        let reporter = self.reporter.clone();
        std::thread::spawn(move || {
            let inputs = crate::imaging::inputs::collect_inputs(&paths);
            reporter.send(JobEvent::ScanStarted {
                scan: id,
                total: inputs.len(),
            });
            let options = ScanOptions {
                thumbnail: Some(THUMBNAIL_SIDE),
                cancel: Some(cancel),
                ..ScanOptions::default()
            };
            analysis::scan(inputs, &scorer, &options, |report| {
                reporter.send(JobEvent::Report {
                    scan: id,
                    report: Box::new(report),
                });
            });
            reporter.send(JobEvent::ScanFinished { scan: id });
        });
        id
    }

    /// Stops the running scan (files in flight are still reported).
    pub fn cancel_scan(&self) {
        if let Some(cancel) = &self.scan_cancel {
            cancel.store(true, Ordering::Relaxed);
        }
    }

    /// Explains one face, from one decoding of its file; with `preview`, the inspector's
    /// picture of the file comes from that same decoding.
    pub fn explain(&self, key: ExplainKey, scorer: Arc<Scorer>, preview: bool) {
        let reporter = self.reporter.clone();
        std::thread::spawn(move || {
            let result = match load(&key.path) {
                Ok(image) => {
                    if preview {
                        reporter.send(JobEvent::Preview {
                            path: key.path.clone(),
                            result: Ok(preview_of(&image)),
                        });
                    }
                    explain::explain_image(&scorer, &image, &key.crop, key.robustness)
                        .map(Arc::new)
                        .map_err(|e| e.to_string())
                }
                Err(e) => Err(e),
            };
            reporter.send(JobEvent::Explained { key, result });
        });
    }

    /// Adds robustness scores to an explanation already made (its crop is re-scored; nothing
    /// is decoded or explained again).
    pub fn add_robustness(
        &self,
        key: ExplainKey,
        explanation: Arc<FaceExplanation>,
        scorer: Arc<Scorer>,
    ) {
        let reporter = self.reporter.clone();
        std::thread::spawn(move || {
            let mut explained = FaceExplanation::clone(&explanation);
            explained.robustness =
                crate::analysis::robustness::variant_scores(&scorer, &explained.crop);
            reporter.send(JobEvent::Explained {
                key,
                result: Ok(Arc::new(explained)),
            });
        });
    }

    /// Reads an image for the inspector (for files without a face to explain).
    pub fn preview(&self, path: PathBuf) {
        let reporter = self.reporter.clone();
        std::thread::spawn(move || {
            let result = load(&path).map(|image| preview_of(&image));
            reporter.send(JobEvent::Preview { path, result });
        });
    }

    /// Starts fine-tuning.
    pub fn train(&mut self, request: TrainRequest) {
        let cancel = Arc::new(AtomicBool::new(false));
        self.train_cancel = Some(Arc::clone(&cancel));
        let reporter = self.reporter.clone();
        std::thread::spawn(move || {
            let (tx, rx) = mpsc::channel();
            let forward = reporter.clone();
            let relay = std::thread::spawn(move || {
                for event in rx.iter() {
                    forward.send(JobEvent::Train(event));
                }
            });
            let state = train::run(&request, &tx, &cancel);
            drop(tx);
            let _ = relay.join();
            let result = state.map_err(|e| e.to_string()).map(|state| {
                let best = request.out.join("best.json");
                (state.epochs_done > 0 && best.is_file()).then_some(best)
            });
            reporter.send(JobEvent::TrainEnded(result));
        });
    }

    /// Asks the running fine-tuning to stop after the current step.
    pub fn cancel_training(&self) {
        if let Some(cancel) = &self.train_cancel {
            cancel.store(true, Ordering::Relaxed);
        }
    }

    /// Writes an export on a worker thread.
    pub fn export(&self, snapshot: ExportSnapshot, path: PathBuf) {
        let reporter = self.reporter.clone();
        std::thread::spawn(move || {
            let result = snapshot.write(&path).map_err(|e| e.to_string());
            reporter.send(JobEvent::Exported(path, result));
        });
    }

    /// Opens a native file dialog on its own thread; the answer arrives as [`JobEvent::Picked`].
    pub fn pick(&self, purpose: PickPurpose, start: Option<PathBuf>) {
        let reporter = self.reporter.clone();
        std::thread::spawn(move || {
            let mut dialog = rfd::FileDialog::new();
            if let Some(dir) = start {
                dialog = dialog.set_directory(dir);
            }
            let picked: Vec<PathBuf> = match purpose {
                PickPurpose::Analyse => dialog
                    .add_filter("images", &crate::imaging::inputs::IMAGE_EXTENSIONS)
                    .pick_files()
                    .unwrap_or_default(),
                PickPurpose::Model => dialog
                    .add_filter("mclcr model manifest", &["json"])
                    .pick_file()
                    .into_iter()
                    .collect(),
                PickPurpose::AnalyseFolders | PickPurpose::TrainReal | PickPurpose::TrainFake => {
                    dialog.pick_folders().unwrap_or_default()
                }
                PickPurpose::TrainOut => dialog.pick_folder().into_iter().collect(),
                PickPurpose::ExportJson => dialog
                    .set_file_name("mclcr-report.jsonl")
                    .save_file()
                    .into_iter()
                    .collect(),
                PickPurpose::ExportCsv => dialog
                    .set_file_name("mclcr-report.csv")
                    .save_file()
                    .into_iter()
                    .collect(),
                PickPurpose::ExportHtml => dialog
                    .set_file_name("mclcr-report.html")
                    .save_file()
                    .into_iter()
                    .collect(),
            };
            if !picked.is_empty() {
                reporter.send(JobEvent::Picked(purpose, picked));
            }
        });
    }
}
