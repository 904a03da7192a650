//! The command-line interface. Flags are defined once here; every command writes results to
//! stdout (a table, or JSON Lines with `--json`) and notices and errors to stderr.
//!
//! Exit codes: 0 success, 1 a run-time failure (no GPU for `--device gpu`, an unreadable
//! file), 2 a usage error.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

use crate::bench::{self, BenchOptions};
use crate::device::{self, DeviceChoice};
use crate::model::MclcrConfig;
use crate::output::{Format, ReportWriter, RunInfo, Summary};
use crate::scan::{self, ScanOptions};
use crate::scorer::Scorer;

/// Inspect still images for face forgeries with the MC-LCR network.
#[derive(Debug, Parser)]
#[command(name = "mclcr", version, about, long_about = None)]
pub struct Cli {
    /// What to do; without a command, the desktop app opens.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Open the desktop app, optionally with images or folders to analyse.
    Gui(GuiArgs),
    /// Analyse images and folders (recursively): faces, scores, verdicts, explanation maps.
    Analyze(AnalyzeArgs),
    /// Make self-blended pseudo-fakes from real faces, for a person to inspect: real, fake and
    /// blend mask as PNG files.
    Synth(SynthArgs),
    /// Fine-tune MC-LCR on folders of real (and optionally manipulated) faces.
    Train(crate::train_cli::TrainArgs),
    /// Evaluate a model on labelled folders: ACC, AUC, EER and the ROC curve.
    Eval(crate::train_cli::EvalArgs),
    /// Write a model for distribution: a new name, provenance and (optionally) f16 weights.
    Pack(crate::pack::PackArgs),
    /// Measure inference speed (ms per face, faces/s, memory) per device and batch size.
    Bench(BenchArgs),
    /// List the compute devices mclcr can see and say which one `auto` picks.
    Devices(DevicesArgs),
}

/// Arguments of `mclcr gui`.
#[derive(Debug, clap::Args)]
pub struct GuiArgs {
    /// Images or folders to analyse at start.
    pub inputs: Vec<PathBuf>,
    /// Window renderer: auto (wgpu, then OpenGL if wgpu cannot start), wgpu, or glow (OpenGL).
    #[arg(long, default_value = "auto")]
    pub renderer: crate::app::RendererChoice,
}

/// Flags of `mclcr bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Devices to measure, comma-separated: auto, cpu, gpu (hardware GPU, fails without one),
    /// wgpu (any wgpu adapter, software renderers included). Default: cpu, plus gpu when a
    /// hardware GPU exists.
    #[arg(long, value_delimiter = ',')]
    pub device: Vec<DeviceChoice>,
    /// Batch sizes, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [1usize, 16])]
    pub batch: Vec<usize>,
    /// Timed iterations per batch size.
    #[arg(long, default_value_t = 5)]
    pub iterations: usize,
    /// Untimed warm-up iterations (the first one's time is reported separately).
    #[arg(long, default_value_t = 2)]
    pub warmup: usize,
    /// Network: default, xception, tiny, or a JSON configuration file.
    #[arg(long, default_value = "default")]
    pub config: String,
    /// Print JSON Lines instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Flags of `mclcr analyze`.
#[derive(Debug, clap::Args)]
pub struct AnalyzeArgs {
    /// Image files and folders (folders are searched recursively for image files).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Compute device: auto, cpu, gpu, wgpu.
    #[arg(long, default_value = "auto")]
    pub device: DeviceChoice,
    /// A saved model (its JSON manifest). Default: the built-in model.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Shorthand for --format json (JSON Lines).
    #[arg(long, conflicts_with_all = ["format", "csv"])]
    pub json: bool,
    /// Shorthand for --format csv.
    #[arg(long, conflicts_with_all = ["format", "json"])]
    pub csv: bool,
    /// Write each face's explanation maps (amplitude / phase attention over the face, the three
    /// style-correlation matrices) as PNG files into this folder.
    #[arg(long, value_name = "DIR")]
    pub maps: Option<PathBuf>,
    /// Treat every image as one face crop (skip face detection).
    #[arg(long)]
    pub whole_image: bool,
    /// Smallest face searched for, in pixels.
    #[arg(long, default_value_t = 40, value_parser = clap::value_parser!(u32).range(20..))]
    pub min_face: u32,
    /// Margin around a face box, as a fraction of its longer side on each side.
    #[arg(long, default_value_t = crate::faces::DEFAULT_MARGIN)]
    pub margin: f32,
    /// Faces per model batch.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..))]
    pub batch: u64,
    /// Decoding and detection threads (default: cores − 1).
    #[arg(long)]
    pub workers: Option<usize>,
    /// Re-score every face after JPEG re-compression (quality 95, 75, 50) and rescaling (½);
    /// an image whose verdict flips is marked inconclusive.
    #[arg(long)]
    pub robustness: bool,
    /// No progress bar on stderr.
    #[arg(long)]
    pub no_progress: bool,
}

/// Flags of `mclcr synth`.
#[derive(Debug, clap::Args)]
pub struct SynthArgs {
    /// Images or folders of real faces.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Folder to write the pairs to.
    #[arg(long)]
    pub out: PathBuf,
    /// Pairs per face.
    #[arg(long, default_value_t = 2)]
    pub count: u32,
    /// Random seed: the same seed gives the same files.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Side of the written images, in pixels.
    #[arg(long, default_value_t = 256)]
    pub size: u32,
    /// Treat every image as one face crop (skip face detection).
    #[arg(long)]
    pub whole_image: bool,
}

/// Flags of `mclcr devices`.
#[derive(Debug, clap::Args)]
pub struct DevicesArgs {
    /// Print JSON Lines instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs the CLI and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return if err.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("mclcr: error: {err:#}");
            ExitCode::from(1)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let Some(command) = cli.command else {
        crate::app::run(Vec::new(), crate::app::RendererChoice::Auto)?;
        return Ok(ExitCode::SUCCESS);
    };
    match command {
        Command::Gui(args) => {
            crate::app::run(args.inputs, args.renderer)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Analyze(args) => run_analyze(args),
        Command::Synth(args) => crate::synth::run(&args),
        Command::Train(args) => crate::train_cli::run_train(args),
        Command::Eval(args) => crate::train_cli::run_eval(args),
        Command::Pack(args) => crate::pack::run_pack(args),
        Command::Bench(args) => run_bench(args),
        Command::Devices(args) => run_devices(args),
    }
}

/// The device for `choice`, telling the user on stderr when `auto` fell back to the CPU.
pub fn select_device(choice: DeviceChoice) -> anyhow::Result<device::SelectedDevice> {
    let selected = device::select(choice)?;
    if let Some(notice) = &selected.notice {
        eprintln!("mclcr: {notice}");
    }
    Ok(selected)
}

/// The model of a manifest file, or the built-in model, on the device for `choice`.
pub fn load_scorer(
    model: Option<&std::path::Path>,
    choice: DeviceChoice,
) -> anyhow::Result<Scorer> {
    let selected = select_device(choice)?;
    Ok(match model {
        Some(path) => Scorer::from_file(path, selected)?,
        None => Scorer::builtin(selected)?,
    })
}

/// A configuration by name or from a JSON file.
pub fn load_config(name_or_path: &str) -> anyhow::Result<MclcrConfig> {
    if let Some(config) = MclcrConfig::named(name_or_path) {
        return Ok(config);
    }
    let path = PathBuf::from(name_or_path);
    if !path.is_file() {
        bail!(
            "unknown configuration '{name_or_path}': expected default, xception, tiny or a JSON file"
        );
    }
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let config: MclcrConfig = serde_json::from_str(&text)
        .with_context(|| format!("{}: not a valid MC-LCR configuration", path.display()))?;
    config
        .validate()
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok(config)
}

fn run_bench(args: BenchArgs) -> anyhow::Result<ExitCode> {
    let config = load_config(&args.config)?;
    if args.batch.contains(&0) {
        bail!("--batch sizes must be at least 1");
    }
    let options = BenchOptions {
        devices: if args.device.is_empty() {
            bench::default_devices()
        } else {
            args.device.clone()
        },
        batches: args.batch.clone(),
        iterations: args.iterations,
        warmup: args.warmup,
        config,
    };
    let mut noticed = std::collections::HashSet::new();
    let mut header = !args.json;
    bench::run(&options, |device, r| {
        if let Some(notice) = &device.notice
            && noticed.insert(notice.clone())
        {
            eprintln!("mclcr: {notice}");
        }
        if std::mem::take(&mut header) {
            println!(
                "{:<40} {:>5} {:>10} {:>9} {:>12} {:>11} {:>9} {:>9}",
                "device",
                "batch",
                "ms/face",
                "faces/s",
                "prep ms/face",
                "first ms",
                "peak RSS",
                "dev MiB"
            );
        }
        if args.json {
            if let Ok(line) = serde_json::to_string(r) {
                println!("{line}");
            }
        } else {
            let mib = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.0}"));
            println!(
                "{:<40} {:>5} {:>10.2} {:>9.1} {:>12.2} {:>11.0} {:>9} {:>9}",
                r.device,
                r.batch,
                r.ms_per_face,
                r.faces_per_second,
                r.preprocess_ms_per_face,
                r.first_call_ms,
                mib(r.peak_rss_mib),
                mib(r.device_memory_mib)
            );
        }
    })?;
    Ok(ExitCode::SUCCESS)
}

fn run_analyze(args: AnalyzeArgs) -> anyhow::Result<ExitCode> {
    use std::io::IsTerminal;
    if !(0.0..=2.0).contains(&args.margin) {
        bail!("--margin must be between 0 and 2");
    }
    if let Some(dir) = &args.maps {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the maps folder {}", dir.display()))?;
    }
    let scorer = load_scorer(args.model.as_deref(), args.device)?;
    let format = if args.json {
        Format::Json
    } else if args.csv {
        Format::Csv
    } else {
        args.format
    };
    let mut options = ScanOptions {
        whole_image: args.whole_image,
        margin: args.margin,
        batch: args.batch as usize,
        maps_dir: args.maps.clone(),
        robustness: args.robustness,
        ..ScanOptions::default()
    };
    options.detector.min_face = args.min_face;
    if let Some(workers) = args.workers {
        options.workers = workers.max(1);
    }
    let info = RunInfo::of(&scorer);
    let inputs = scan::collect_inputs(&args.paths);
    let total = inputs.len();
    let progress = !args.no_progress && total > 1 && std::io::stderr().is_terminal();
    let stdout = std::io::stdout();
    let mut writer = ReportWriter::new(stdout.lock(), format, info);
    let mut summary = Summary::default();
    let mut failures = Vec::new();
    let mut write_error = None;
    let mut done = 0usize;
    scan::scan(inputs, &scorer, &options, |report| {
        done += 1;
        summary.add(&report);
        if let Some(error) = &report.error {
            failures.push(format!("{}: {error}", report.path.display()));
        }
        if write_error.is_none()
            && let Err(e) = writer.write(&report)
        {
            write_error = Some(e);
        }
        if progress {
            eprint!(
                "\r[{done:>6}/{total}] {:>5.1}%",
                100.0 * done as f64 / total as f64
            );
        }
    });
    if progress {
        eprintln!();
    }
    if let Some(e) = write_error {
        return Err(e).context("writing results");
    }
    writer.finish(&summary).context("writing results")?;
    if total == 0 {
        eprintln!("mclcr: no image files found");
        return Ok(ExitCode::from(1));
    }
    if failures.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("mclcr: {} file(s) could not be analysed:", failures.len());
        for failure in &failures {
            eprintln!("  {failure}");
        }
        Ok(ExitCode::from(1))
    }
}

fn run_devices(args: DevicesArgs) -> anyhow::Result<ExitCode> {
    let adapters = device::list_adapters();
    if args.json {
        for adapter in &adapters {
            println!("{}", serde_json::to_string(adapter)?);
        }
    } else if adapters.is_empty() {
        println!("wgpu adapters: none");
    } else {
        println!("wgpu adapters:");
        for adapter in &adapters {
            let kind = if adapter.hardware { "GPU" } else { "software" };
            println!("  {adapter} [{kind}]");
        }
    }
    let selected = device::select(DeviceChoice::Auto)?;
    if !args.json {
        println!("auto picks: {}", selected.label);
        if let Some(notice) = &selected.notice {
            println!("  ({notice})");
        }
    }
    Ok(ExitCode::SUCCESS)
}
