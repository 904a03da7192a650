//! `mclcr train` and `mclcr eval`: the fine-tuning engine and evaluation on the command line.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;

use anyhow::{Context, bail};

use crate::dataset::{self, DataOptions};
use crate::device::DeviceChoice;
use crate::metrics;
use crate::rng::Rng;
use crate::selfblend::SelfBlendConfig;
use crate::train::{self, TrainEvent, TrainOptions};

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
    /// Training options as JSON, in the form of the `options` object of a run's state.json;
    /// flags given here override it.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Network: default, xception, tiny, or a JSON network configuration.
    #[arg(long)]
    pub network: Option<String>,
    /// Continue from the last checkpoint in --out.
    #[arg(long)]
    pub resume: bool,
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

/// Flags of `mclcr eval`.
#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// Folders of real faces.
    #[arg(long, required = true)]
    pub real: Vec<PathBuf>,
    /// Folders of manipulated faces; without them, self-blends of the real faces (fixed seed).
    #[arg(long)]
    pub fake: Vec<PathBuf>,
    /// The model to evaluate (a manifest); default: the built-in model.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Write roc.csv and roc.png here.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Inputs are face crops already (no detection).
    #[arg(long)]
    pub whole_image: bool,
    /// Seed of the self-blended fakes.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
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
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            serde_json::from_str::<TrainOptions>(&text)
                .with_context(|| format!("{}: not valid training options", path.display()))?
        }
        None => TrainOptions::new(crate::model::MclcrConfig::default_config()),
    };
    if let Some(network) = &args.network {
        options.config = crate::cli::load_config(network)?;
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
    if options.epochs == 0 {
        bail!("--epochs must be at least 1");
    }
    Ok(options)
}

/// Runs `mclcr train`.
pub fn run_train(args: TrainArgs) -> anyhow::Result<ExitCode> {
    let options = options_from(&args)?;
    let selected = crate::cli::select_device(args.device)?;
    eprintln!("mclcr: reading faces…");
    let data = dataset::load(
        &args.real,
        &args.fake,
        &DataOptions {
            side: options.config.image_size as u32,
            whole_image: args.whole_image,
            val_fraction: args.val_fraction,
            seed: options.seed,
            faces_per_image: 1,
        },
    )?;
    for skipped in &data.summary.skipped {
        eprintln!("mclcr: skipped {skipped}");
    }
    let s = &data.summary;
    eprintln!(
        "mclcr: training on {} real + {} manipulated faces ({} identities), validating on {} real + {} manipulated ({} identities), {}",
        s.train_real,
        s.train_fake,
        s.identities[0],
        s.val_real,
        s.val_fake,
        s.identities[1],
        selected.label
    );
    let (tx, rx) = std::sync::mpsc::channel();
    let cancel = AtomicBool::new(false);
    let terminal = std::io::stderr().is_terminal();
    let result = std::thread::scope(|scope| {
        let worker = scope.spawn(|| {
            train::train(
                &data,
                &options,
                &args.out,
                args.resume,
                &selected.device,
                &tx,
                &cancel,
            )
        });
        // Dropping our sender lets the loop end when the worker is done.
        for event in rx.iter() {
            render(&event, terminal);
            if matches!(event, TrainEvent::Finished | TrainEvent::Cancelled) {
                break;
            }
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
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn render(event: &TrainEvent, terminal: bool) {
    match event {
        TrainEvent::Started {
            first_epoch,
            epochs,
            steps_per_epoch,
            ..
        } => eprintln!("mclcr: epochs {first_epoch}..={epochs}, {steps_per_epoch} steps each"),
        TrainEvent::Step { step, steps, .. } => {
            let line = event.step_line().unwrap_or_default();
            if terminal {
                eprint!("\r{line}   ");
            } else if step == steps {
                eprintln!("{line}");
            }
        }
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

/// Runs `mclcr eval`.
pub fn run_eval(args: EvalArgs) -> anyhow::Result<ExitCode> {
    let scorer = crate::cli::load_scorer(args.model.as_deref(), args.device)?;
    let side = scorer.input_side();
    let data = dataset::load(
        &args.real,
        &args.fake,
        &DataOptions {
            side,
            whole_image: args.whole_image,
            val_fraction: 0.0,
            seed: args.seed,
            faces_per_image: 1,
        },
    )?;
    for skipped in &data.summary.skipped {
        eprintln!("mclcr: skipped {skipped}");
    }
    let mut crops = Vec::new();
    let mut labels = Vec::new();
    let self_blended = args.fake.is_empty();
    for (i, sample) in data.train.iter().enumerate() {
        crops.push(sample.crop.clone());
        labels.push(sample.fake);
        if self_blended {
            let mut rng = Rng::derive(args.seed, i as u64);
            let (_, fake) = sample.self_blended(&SelfBlendConfig::default(), &mut rng);
            crops.push(fake);
            labels.push(true);
        }
    }
    let mut scores = Vec::with_capacity(crops.len());
    for chunk in crops.chunks(8) {
        scores.extend(scorer.score(chunk).into_iter().map(|s| s.probability));
    }
    let m = metrics::evaluate(&scores, &labels)?;
    println!(
        "model {}: {} real, {} manipulated{}",
        scorer.model_id(),
        m.negatives,
        m.positives,
        if self_blended { " (self-blended)" } else { "" }
    );
    println!("ACC {:.4}  AUC {:.4}  EER {:.4}", m.accuracy, m.auc, m.eer);
    if !scorer.manifest.trained {
        println!(
            "note: this model's classifier is untrained; these figures are chance level by design"
        );
    }
    if let Some(out) = &args.out {
        std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
        let mut csv = String::from("threshold,fpr,tpr\n");
        for p in &m.roc {
            csv.push_str(&format!("{},{},{}\n", p.threshold, p.fpr, p.tpr));
        }
        std::fs::write(out.join("roc.csv"), csv).context("writing roc.csv")?;
        crate::roc_plot::plot(&m.roc, m.auc)
            .save(out.join("roc.png"))
            .context("writing roc.png")?;
        println!("ROC written to {}", out.display());
    }
    Ok(ExitCode::SUCCESS)
}
