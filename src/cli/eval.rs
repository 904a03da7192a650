//! `mclcr eval`: a model's figures on labelled folders or on self-blends of real faces.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};

use crate::atomic_file;
use crate::device::DeviceChoice;
use crate::export::escape::csv_field;
use crate::export::escape::printable;
use crate::train::eval::{Breakdown, EvalRequest, Evaluation, evaluate};
use crate::train::manifest::Manifest;

use super::train::read_options;

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
    /// Skip the JPEG re-encoding check (faster).
    #[arg(long, conflicts_with = "jpeg_qualities")]
    pub no_jpeg_check: bool,
    /// A data set's manifest.csv (path,label,method,…,source_path) naming each file's method
    /// and video, for per-method rows and video-level figures. Default: `manifest.csv` in the
    /// folder above the first --fake (or --real) folder, when there is one.
    #[arg(long)]
    pub manifest: Option<PathBuf>,
    /// Compute device: auto, cpu, gpu, wgpu.
    #[arg(long, default_value = "auto")]
    pub device: DeviceChoice,
}

/// The manifest given, or `manifest.csv` beside the first labelled folder.
fn manifest_of(args: &EvalArgs) -> anyhow::Result<Option<Manifest>> {
    let path = match &args.manifest {
        Some(path) => Some(path.clone()),
        None => args
            .fake
            .first()
            .or(args.real.first())
            .and_then(|root| root.parent())
            .map(|dir| dir.join("manifest.csv"))
            .filter(|path| path.is_file()),
    };
    path.map(|path| {
        let manifest = Manifest::read(&path)?;
        println!("manifest {}: {} files", path.display(), manifest.len());
        Ok(manifest)
    })
    .transpose()
}

/// Runs `mclcr eval`.
pub fn run(args: EvalArgs) -> anyhow::Result<ExitCode> {
    let scorer = crate::cli::load_scorer(args.model.as_deref(), args.device)?;
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
    let evaluation = evaluate(
        &scorer,
        &EvalRequest {
            real: args.real.clone(),
            fake: args.fake.clone(),
            whole_image: args.whole_image,
            seed: args.seed,
            faces_per_image,
            only,
            jpeg_qualities: if args.no_jpeg_check {
                Vec::new()
            } else {
                args.jpeg_qualities.clone()
            },
            manifest: manifest_of(&args)?,
        },
    )?;
    let Evaluation {
        metrics: m,
        band_rates: rates,
        bands,
        jpeg: stability,
        self_blended,
        identities,
        data,
        methods,
        by_face_size,
        videos,
        no_face,
        auc_interval,
        ..
    } = &evaluation;
    for skipped in &data.skipped {
        eprintln!("mclcr: skipped {}", printable(skipped));
    }
    println!(
        "model {}: {} real, {} manipulated{} faces from {} identities",
        scorer.model_id(),
        m.negatives,
        m.positives,
        if *self_blended { " (self-blended)" } else { "" },
        identities.len()
    );
    println!("ACC {:.4}  AUC {:.4}  EER {:.4}", m.accuracy, m.auc, m.eer);
    if let Some(i) = auc_interval {
        println!(
            "AUC {:.0} % interval over {} resamples of the videos (a file without a video is its own): {:.4}–{:.4}",
            100.0 * i.level,
            i.resamples,
            i.low,
            i.high
        );
    }
    println!(
        "bands (manipulated ≥ {}, no evidence < {}): real faces {:.1} % likely manipulated (false positives), {:.1} % inconclusive, {:.1} % no evidence; manipulated faces {:.1} % likely manipulated, {:.1} % no evidence (missed)",
        bands.manipulated,
        bands.clear,
        100.0 * rates.real[0],
        100.0 * rates.real[1],
        100.0 * rates.real[2],
        100.0 * rates.fake[0],
        100.0 * rates.fake[2],
    );
    if let Some(stability) = stability {
        println!(
            "JPEG re-encoding at quality {:?}: the band of {:.1} % of real faces changes at one quality or more",
            args.jpeg_qualities,
            100.0 * stability.changed_share
        );
    }
    if no_face.iter().sum::<usize>() > 0 {
        println!(
            "left out, no detectable face: {} real and {} manipulated file(s)",
            no_face[0], no_face[1]
        );
    }
    if let Some(v) = videos {
        println!(
            "videos (frames grouped, mean score): {} real, {} manipulated, AUC {}",
            v.real,
            v.manipulated,
            figure(v.auc)
        );
    }
    print_breakdown("method", methods);
    print_breakdown("face size", by_face_size);
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
        atomic_file::write(&out.join("roc.csv"), csv)?;
        let plot = crate::export::roc_plot::plot(&m.roc, m.auc);
        atomic_file::write_with(&out.join("roc.png"), |file| {
            plot.write_to(file, image::ImageFormat::Png)
                .map_err(std::io::Error::other)
        })?;
        let summary = serde_json::json!({
            "model": scorer.model_id(),
            "real_faces": m.negatives,
            "manipulated_faces": m.positives,
            "self_blended": self_blended,
            "identities": identities,
            "accuracy": m.accuracy,
            "auc": m.auc,
            "auc_interval": auc_interval,
            "eer": m.eer,
            "bands": bands,
            "real_band_shares": rates.real,
            "manipulated_band_shares": rates.fake,
            "jpeg_qualities": args.jpeg_qualities,
            "jpeg_band_change_share": stability.as_ref().map(|s| s.changed_share),
            "jpeg_band_change_by_quality": stability.as_ref().map(|s| s.by_quality.clone()),
            "no_face": {"real": no_face[0], "manipulated": no_face[1]},
            "videos": videos,
            "methods": methods,
            "by_face_size": by_face_size,
        });
        let mut scores = String::from("path,label,method,video,face_side,score\n");
        for face in &evaluation.faces {
            scores.push_str(&format!(
                "{},{},{},{},{},{}\n",
                csv_field(&face.path.display().to_string()),
                if face.fake { "fake" } else { "real" },
                csv_field(face.method.as_deref().unwrap_or("")),
                csv_field(&face.video),
                face.source_side,
                face.score
            ));
        }
        atomic_file::write(&out.join("scores.csv"), scores)?;
        atomic_file::write(
            &out.join("metrics.json"),
            serde_json::to_string_pretty(&summary)?,
        )?;
        println!(
            "ROC, metrics and per-face scores written to {}",
            out.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// An optional figure with 4 decimals, or `-`.
fn figure(value: Option<f64>) -> String {
    value.map_or("-".into(), |v| format!("{v:.4}"))
}

/// A share as a percentage with one decimal, or `-`.
fn percent(value: Option<f64>) -> String {
    value.map_or("-".into(), |v| format!("{:.1} %", 100.0 * v))
}

/// Prints a breakdown as a table (nothing when empty).
fn print_breakdown(what: &str, rows: &[Breakdown]) {
    if rows.is_empty() {
        return;
    }
    println!(
        "{what:<24} {:>6} {:>6} {:>8} {:>9} {:>8} {:>8} {:>8}",
        "real", "manip", "AUC", "video AUC", "caught", "flagged", "no face"
    );
    for row in rows {
        println!(
            "{:<24} {:>6} {:>6} {:>8} {:>9} {:>8} {:>8} {:>8}",
            row.name,
            row.real,
            row.manipulated,
            figure(row.auc),
            figure(row.video_auc),
            percent(row.caught),
            percent(row.flagged),
            row.no_face
        );
    }
}
