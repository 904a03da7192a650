//! `mclcr pack`: turns a training checkpoint into a model for distribution (the shipped default
//! model is made this way): a name, the provenance the model card states, and f16 weights.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};

use crate::device::DeviceChoice;
use crate::weights::store::{WeightPrecision, load_model, save_model_as};

/// Flags of `mclcr pack`.
#[derive(Debug, clap::Args)]
pub struct PackArgs {
    /// The checkpoint to pack (a manifest, e.g. a run's best.json).
    #[arg(long)]
    pub model: PathBuf,
    /// The manifest to write; the weights go beside it with the same stem.
    #[arg(long)]
    pub out: PathBuf,
    /// The model's name (shown in every report).
    #[arg(long)]
    pub name: Option<String>,
    /// Store the weights as 16-bit floats (half the size; computed in f32 when loaded).
    #[arg(long)]
    pub f16: bool,
    /// What the network was trained on, for the manifest's provenance.
    #[arg(long)]
    pub training: Option<String>,
    /// Licence of the weights, for the manifest's provenance.
    #[arg(long)]
    pub licence: Option<String>,
    /// Set the "likely manipulated" threshold (default: the checkpoint's own).
    #[arg(long)]
    pub manipulated_threshold: Option<f32>,
    /// Set the "no evidence found" threshold (default: the checkpoint's own).
    #[arg(long)]
    pub clear_threshold: Option<f32>,
    /// Score each face as the mean over it and its mirror image (`true`), or as it is
    /// (`false`); default: the checkpoint's own. Choose the thresholds on scores made the same way.
    #[arg(long)]
    pub mirror_average: Option<bool>,
    /// Held-out results in one line, for the manifest's provenance (shown in the app's model
    /// card).
    #[arg(long)]
    pub evaluation: Option<String>,
}

/// Runs `mclcr pack`.
pub fn run(args: PackArgs) -> anyhow::Result<ExitCode> {
    if args.out.extension().and_then(|e| e.to_str()) != Some("json") {
        bail!("--out must name a .json manifest");
    }
    let selected = crate::cli::select_device(DeviceChoice::Cpu)?;
    let (model, mut manifest) = load_model(&args.model, &selected.device)
        .with_context(|| format!("loading {}", args.model.display()))?;
    if let Some(name) = args.name {
        manifest.name = name;
    }
    if let Some(training) = args.training {
        manifest.provenance.training = training;
    }
    if let Some(licence) = args.licence {
        manifest.provenance.licence = licence;
    }
    if let Some(t) = args.manipulated_threshold {
        manifest.bands.manipulated = t;
    }
    if let Some(t) = args.clear_threshold {
        manifest.bands.clear = t;
    }
    if let Some(mirror) = args.mirror_average {
        manifest.mirror_average = mirror;
    }
    let bands = manifest.bands;
    if !(0.0..=1.0).contains(&bands.clear)
        || !(0.0..=1.0).contains(&bands.manipulated)
        || bands.clear > bands.manipulated
    {
        bail!(
            "thresholds must satisfy 0 ≤ clear ({}) ≤ manipulated ({}) ≤ 1",
            bands.clear,
            bands.manipulated
        );
    }
    if let Some(evaluation) = args.evaluation {
        manifest.provenance.evaluation = evaluation;
    }
    if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let precision = if args.f16 {
        WeightPrecision::F16
    } else {
        WeightPrecision::F32
    };
    let manifest = save_model_as(&model, manifest, &args.out, precision)?;
    println!(
        "{} written: {}, weights {} (sha256 {})",
        manifest.name,
        args.out.display(),
        manifest.weights,
        manifest.weights_sha256
    );
    Ok(ExitCode::SUCCESS)
}
