//! `mclcr analyze`: images and folders to verdicts, as a table, JSON Lines or CSV.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};

use crate::analysis::{self, ScanOptions};
use crate::device::DeviceChoice;
use crate::export::escape::printable;
use crate::export::records::{Format, ReportWriter, RunInfo, Summary};

use super::load_scorer;

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
    #[arg(long, default_value_t = crate::imaging::faces::DEFAULT_MARGIN)]
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

/// Runs `mclcr analyze`.
pub fn run(args: AnalyzeArgs) -> anyhow::Result<ExitCode> {
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
    let inputs = crate::imaging::inputs::collect_inputs(&args.paths);
    let total = inputs.len();
    let progress = !args.no_progress && total > 1 && std::io::stderr().is_terminal();
    let stdout = std::io::stdout();
    let mut writer = ReportWriter::new(stdout.lock(), format, info);
    let mut summary = Summary::default();
    let mut failures = Vec::new();
    let mut write_error = None;
    let mut done = 0usize;
    analysis::scan(inputs, &scorer, &options, |report| {
        done += 1;
        summary.add(&report);
        if let Some(error) = &report.error {
            failures.push(printable(&format!("{}: {error}", report.path.display())));
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
