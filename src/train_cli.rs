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
use crate::verdict::Band;

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
    /// Evaluate only the identities a training run held out: its training options (a recipe
    /// JSON or a run's state.json) name them. Their faces-per-image setting is used too.
    #[arg(long)]
    pub held_out_of: Option<PathBuf>,
    /// At most this many faces per image (default 1, or the --held-out-of run's setting).
    #[arg(long)]
    pub faces_per_image: Option<usize>,
    /// Also score every real face re-encoded as JPEG at these qualities and report how often
    /// its verdict band changes.
    #[arg(long, value_delimiter = ',', default_value = "60,70,80,90,95")]
    pub jpeg_qualities: Vec<u8>,
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
            crate::assets::locate(crate::assets::DEFAULT_MODEL)
        } else {
            PathBuf::from(start)
        };
        let manifest = crate::model::store::read_manifest(&path)?;
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
            faces_per_image: options.faces_per_image,
            exclude: options.held_out_identities.clone(),
            only: Vec::new(),
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

/// Training options from a recipe JSON (the `options` object of a run's state) or a whole
/// run's `state.json`.
fn read_options(path: &std::path::Path) -> anyhow::Result<TrainOptions> {
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

/// Runs `mclcr eval`.
pub fn run_eval(args: EvalArgs) -> anyhow::Result<ExitCode> {
    let scorer = crate::cli::load_scorer(args.model.as_deref(), args.device)?;
    let side = scorer.input_side();
    let held_out = args.held_out_of.as_deref().map(read_options).transpose()?;
    let only = match &held_out {
        Some(options) if options.held_out_identities.is_empty() => {
            bail!("the run given to --held-out-of holds out no identities")
        }
        Some(options) => options.held_out_identities.clone(),
        None => Vec::new(),
    };
    let faces_per_image = args
        .faces_per_image
        .or(held_out.as_ref().map(|o| o.faces_per_image))
        .unwrap_or(1);
    let data = dataset::load(
        &args.real,
        &args.fake,
        &DataOptions {
            side,
            whole_image: args.whole_image,
            val_fraction: 0.0,
            seed: args.seed,
            faces_per_image,
            exclude: Vec::new(),
            only,
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
    let identities: std::collections::BTreeSet<&str> =
        data.train.iter().map(|s| s.identity.as_str()).collect();
    println!(
        "model {}: {} real, {} manipulated{} faces from {} identities",
        scorer.model_id(),
        m.negatives,
        m.positives,
        if self_blended { " (self-blended)" } else { "" },
        identities.len()
    );
    println!("ACC {:.4}  AUC {:.4}  EER {:.4}", m.accuracy, m.auc, m.eer);
    let bands = scorer.manifest.bands;
    let trained = scorer.manifest.trained;
    let rates = BandRates::of(&scores, &labels, &bands);
    println!(
        "bands (manipulated ≥ {:.3}, no evidence < {:.3}): real faces {:.1} % likely manipulated (false positives), {:.1} % inconclusive, {:.1} % no evidence; manipulated faces {:.1} % likely manipulated, {:.1} % no evidence (missed)",
        bands.manipulated,
        bands.clear,
        100.0 * rates.real[0],
        100.0 * rates.real[1],
        100.0 * rates.real[2],
        100.0 * rates.fake[0],
        100.0 * rates.fake[2],
    );
    let stability = jpeg_stability(&scorer, &crops, &labels, &scores, &args.jpeg_qualities);
    if let Some(stability) = &stability {
        println!(
            "JPEG re-encoding at quality {:?}: the band of {:.1} % of real faces changes at one quality or more",
            args.jpeg_qualities,
            100.0 * stability.changed_share
        );
    }
    if !trained {
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
        let summary = serde_json::json!({
            "model": scorer.model_id(),
            "real_faces": m.negatives,
            "manipulated_faces": m.positives,
            "self_blended": self_blended,
            "identities": identities,
            "accuracy": m.accuracy,
            "auc": m.auc,
            "eer": m.eer,
            "bands": bands,
            "real_band_shares": rates.real,
            "manipulated_band_shares": rates.fake,
            "jpeg_qualities": args.jpeg_qualities,
            "jpeg_band_change_share": stability.as_ref().map(|s| s.changed_share),
            "jpeg_band_change_by_quality": stability.as_ref().map(|s| s.by_quality.clone()),
        });
        std::fs::write(
            out.join("metrics.json"),
            serde_json::to_string_pretty(&summary)?,
        )
        .context("writing metrics.json")?;
        println!("ROC and metrics written to {}", out.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// Shares of faces per band, `[likely manipulated, inconclusive, no evidence]`, for the real
/// and the manipulated faces.
#[derive(Debug, Clone, PartialEq)]
struct BandRates {
    real: [f64; 3],
    fake: [f64; 3],
}

impl BandRates {
    fn of(scores: &[f32], labels: &[bool], bands: &crate::model::store::BandThresholds) -> Self {
        let share = |fake: bool| {
            let mut counts = [0usize; 3];
            for (&score, _) in scores.iter().zip(labels).filter(|(_, l)| **l == fake) {
                counts[band_index(Band::of_score(score, bands, true))] += 1;
            }
            let n = counts.iter().sum::<usize>().max(1) as f64;
            counts.map(|c| c as f64 / n)
        };
        Self {
            real: share(false),
            fake: share(true),
        }
    }
}

fn band_index(band: Band) -> usize {
    match band {
        Band::LikelyManipulated => 0,
        Band::NoEvidenceFound => 2,
        _ => 1,
    }
}

/// How often a real face's band changes when re-encoded as JPEG.
#[derive(Debug, Clone, PartialEq)]
struct JpegStability {
    /// Share of real faces whose band changes at one quality or more.
    changed_share: f64,
    /// Per quality: (quality, share of real faces whose band changes).
    by_quality: Vec<(u8, f64)>,
}

fn jpeg_stability(
    scorer: &crate::scorer::Scorer,
    crops: &[image::RgbImage],
    labels: &[bool],
    scores: &[f32],
    qualities: &[u8],
) -> Option<JpegStability> {
    let bands = &scorer.manifest.bands;
    let reals: Vec<usize> = (0..crops.len()).filter(|&i| !labels[i]).collect();
    if reals.is_empty() || qualities.is_empty() {
        return None;
    }
    let mut changed = vec![false; reals.len()];
    let mut by_quality = Vec::new();
    for &q in qualities {
        let encoded: Vec<image::RgbImage> = reals
            .iter()
            .map(|&i| crate::jpeg::recompress(&crops[i], q))
            .collect();
        let mut flips = 0usize;
        for (k, chunk) in encoded.chunks(8).enumerate() {
            for (j, s) in scorer.score(chunk).into_iter().enumerate() {
                let index = k * 8 + j;
                let original = Band::of_score(scores[reals[index]], bands, true);
                if Band::of_score(s.probability, bands, true) != original {
                    flips += 1;
                    changed[index] = true;
                }
            }
        }
        by_quality.push((q, flips as f64 / reals.len() as f64));
    }
    Some(JpegStability {
        changed_share: changed.iter().filter(|c| **c).count() as f64 / reals.len() as f64,
        by_quality,
    })
}
