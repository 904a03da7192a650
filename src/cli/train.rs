//! `mclcr train` and `mclcr eval`: the fine-tuning engine and evaluation on the command line.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::device::DeviceChoice;
use crate::export::escape::printable;
use crate::train::{self, TrainEvent, TrainOptions, TrainRequest};

/// Flags of `mclcr train`.
#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    /// Folders of real faces (frames or crops); subfolders name identities.
    #[arg(long, required = true)]
    pub real: Vec<PathBuf>,
    /// Folders of manipulated faces. Without them, fakes are self-blended from the real faces.
    #[arg(long)]
    pub fake: Vec<PathBuf>,
    /// Output folder for checkpoints (last, best) and state.
    #[arg(long)]
    pub out: PathBuf,
    /// Training options as JSON, in the form of the `options` object of a run's state.json (or
    /// a run's state.json itself); flags given here override it.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Network: default, xception, tiny, or a JSON network configuration.
    #[arg(long)]
    pub network: Option<String>,
    /// Start from a saved model (a manifest, or `default` for the shipped model) instead of
    /// the ImageNet backbone; the network configuration is that model's.
    #[arg(long)]
    pub init_from: Option<String>,
    /// Continue from the last checkpoint in --out.
    #[arg(long)]
    pub resume: bool,
    /// Also keep every epoch's weights in --out (epoch-N.json + .safetensors).
    #[arg(long)]
    pub keep_epochs: bool,
    /// Total epochs.
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Faces per batch (half real, half manipulated).
    #[arg(long)]
    pub batch: Option<usize>,
    /// Peak learning rate.
    #[arg(long)]
    pub lr: Option<f64>,
    /// Seed of initialisation, split and augmentation.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Fraction of identities held out for validation.
    #[arg(long, default_value_t = 0.2)]
    pub val_fraction: f32,
    /// Inputs are face crops already (no detection).
    #[arg(long)]
    pub whole_image: bool,
    /// Compute device: auto, cpu, gpu, wgpu.
    #[arg(long, default_value = "auto")]
    pub device: DeviceChoice,
}

/// The run's options: a resumed run's own (from its `state.json`), else `--config` or the
/// defaults; then the flags given on the command line.
fn options_from(args: &TrainArgs) -> anyhow::Result<TrainOptions> {
    let state_file = args.out.join("state.json");
    let mut options = match &args.config {
        _ if args.resume && state_file.is_file() => train::read_state(&state_file)?.options,
        Some(path) => read_options(path)?,
        None => TrainOptions::new(crate::model::MclcrConfig::default_config()),
    };
    if let Some(network) = &args.network {
        options.config = crate::cli::load_config(network)?;
    }
    if let Some(start) = &args.init_from {
        let path = if start == "default" {
            crate::weights::assets::locate(crate::weights::assets::DEFAULT_MODEL)
        } else {
            PathBuf::from(start)
        };
        let manifest = crate::weights::store::read_manifest(&path)?;
        options.config = manifest.config;
        options.init_from = Some(path);
    }
    if let Some(epochs) = args.epochs {
        options.epochs = epochs;
    }
    if let Some(batch) = args.batch {
        options.batch_size = batch;
    }
    if let Some(lr) = args.lr {
        options.optim.learning_rate = lr;
    }
    if let Some(seed) = args.seed {
        options.seed = seed;
    }
    if args.keep_epochs {
        options.keep_epochs = true;
    }
    if options.epochs == 0 {
        bail!("--epochs must be at least 1");
    }
    Ok(options)
}

/// Runs `mclcr train`.
pub fn run(args: TrainArgs) -> anyhow::Result<ExitCode> {
    let request = TrainRequest {
        options: options_from(&args)?,
        real: args.real,
        fake: args.fake,
        whole_image: args.whole_image,
        val_fraction: args.val_fraction,
        out: args.out,
        resume: args.resume,
        device: args.device,
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let cancel = AtomicBool::new(false);
    let mut progress = Progress::new(std::io::stderr().is_terminal());
    let result = std::thread::scope(|scope| {
        let worker = scope.spawn(|| {
            let events = tx;
            train::run(&request, &events, &cancel)
        });
        // The loop ends when the worker is done and its sender dropped.
        for event in rx.iter() {
            progress.render(&event);
        }
        worker.join()
    });
    let state = match result {
        Ok(state) => state?,
        Err(_) => bail!("training stopped on an internal error"),
    };
    println!(
        "{} epoch(s) done; best validation AUC {}; checkpoints in {}",
        state.epochs_done,
        state
            .best_auc
            .map_or("-".to_string(), |a| format!("{a:.4}")),
        request.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// How often a step line is printed when stderr is not a terminal (a log file).
const LOG_EVERY: Duration = Duration::from_secs(30);

/// Renders a run's events on stderr: a live line on a terminal, a line every
/// [`LOG_EVERY`] (and at each epoch's end) in a log.
struct Progress {
    terminal: bool,
    last_line: Option<Instant>,
}

impl Progress {
    fn new(terminal: bool) -> Self {
        Self {
            terminal,
            last_line: None,
        }
    }

    /// A line of progress: rewritten in place on a terminal; in a log, printed when `last` or
    /// when [`LOG_EVERY`] has passed since the previous one.
    fn progress_line(&mut self, line: &str, last: bool) {
        if self.terminal {
            eprint!("\r{line}   ");
        } else if last || self.last_line.is_none_or(|t| t.elapsed() >= LOG_EVERY) {
            self.last_line = Some(Instant::now());
            eprintln!("{line}");
        }
    }

    fn render(&mut self, event: &TrainEvent) {
        let terminal = self.terminal;
        match event {
            TrainEvent::Reading => eprintln!("mclcr: reading faces…"),
            TrainEvent::ReadProgress { read, total, .. } => {
                let line = event.read_line().unwrap_or_default();
                self.progress_line(&format!("mclcr: {line}"), read == total);
                if terminal && read == total {
                    eprintln!();
                }
            }
            TrainEvent::DataRead {
                data: s,
                device,
                notice,
            } => {
                if let Some(notice) = notice {
                    eprintln!("mclcr: {notice}");
                }
                for skipped in &s.skipped {
                    eprintln!("mclcr: skipped {}", printable(skipped));
                }
                eprintln!(
                    "mclcr: training on {} real + {} manipulated faces ({} identities), validating on {} real + {} manipulated ({} identities), {device}",
                    s.train_real,
                    s.train_fake,
                    s.identities[0],
                    s.val_real,
                    s.val_fake,
                    s.identities[1],
                );
            }
            TrainEvent::Step { step, steps, .. } => {
                let line = event.step_line().unwrap_or_default();
                self.progress_line(&line, step == steps);
            }
            TrainEvent::Started {
                first_epoch,
                epochs,
                steps_per_epoch,
                ..
            } => eprintln!("mclcr: epochs {first_epoch}..={epochs}, {steps_per_epoch} steps each"),
            TrainEvent::Validated { epoch, metrics } => {
                if terminal {
                    eprintln!();
                }
                eprintln!(
                    "epoch {epoch} validation: ACC {:.4}  AUC {:.4}  EER {:.4}",
                    metrics.accuracy, metrics.auc, metrics.eer
                );
            }
            TrainEvent::Checkpoint { path, best } => {
                eprintln!(
                    "checkpoint{} {}",
                    if *best { " (best)" } else { "" },
                    path.display()
                );
            }
            TrainEvent::Cancelled => eprintln!("cancelled; the last checkpoint stands"),
            TrainEvent::Finished => {}
        }
    }
}

/// Training options from a recipe JSON (the `options` object of a run's state) or a whole
/// run's `state.json`.
pub(crate) fn read_options(path: &std::path::Path) -> anyhow::Result<TrainOptions> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    if let Ok(state) = serde_json::from_str::<train::TrainState>(&text) {
        return Ok(state.options);
    }
    serde_json::from_str::<TrainOptions>(&text).with_context(|| {
        format!(
            "{}: neither training options nor a run's state",
            path.display()
        )
    })
}
