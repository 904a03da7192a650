//! The command-line interface, one file per command with its flags beside its runner; every command writes results to
//! stdout (a table, or JSON Lines with `--json`) and notices and errors to stderr.
//!
//! Exit codes: 0 success, 1 a run-time failure (no GPU for `--device gpu`, an unreadable
//! file), 2 a usage error.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

use crate::device::{self, DeviceChoice};
use crate::inference::scorer::Scorer;
use crate::model::MclcrConfig;

pub mod analyze;
pub mod bench;
pub mod devices;
pub mod eval;
pub mod gui;
pub mod pack;
pub mod synth;
pub mod train;

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
    Gui(gui::GuiArgs),
    /// Analyse images and folders (recursively): faces, scores, verdicts, explanation maps.
    Analyze(analyze::AnalyzeArgs),
    /// Make self-blended pseudo-fakes from real faces, for a person to inspect: real, fake and
    /// blend mask as PNG files.
    Synth(synth::SynthArgs),
    /// Fine-tune MC-LCR on folders of real (and optionally manipulated) faces.
    Train(train::TrainArgs),
    /// Evaluate a model on labelled folders: ACC, AUC, EER and the ROC curve.
    Eval(eval::EvalArgs),
    /// Write a model for distribution: a new name, provenance and (optionally) f16 weights.
    Pack(pack::PackArgs),
    /// Measure inference speed (ms per face, faces/s, memory) per device and batch size.
    Bench(bench::BenchArgs),
    /// List the compute devices mclcr can see and say which one `auto` picks.
    Devices(devices::DevicesArgs),
}

/// Runs the CLI and returns the process exit code.
pub fn main() -> ExitCode {
    crate::device::keep_freed_memory();
    quiet_driver_probes();
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
        Command::Analyze(args) => analyze::run(args),
        Command::Synth(args) => synth::run(&args),
        Command::Train(args) => train::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Pack(args) => pack::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Devices(args) => devices::run(args),
    }
}

/// Keeps graphics drivers from writing to stderr while wgpu probes for adapters. Without a
/// Wayland session, Mesa's Vulkan drivers print "error: XDG_RUNTIME_DIR is invalid or not set
/// in the environment." when `XDG_RUNTIME_DIR` is unset (as under `ssh`, `su` or a service);
/// pointing it at the temporary folder satisfies that check and changes nothing else (there is
/// no Wayland display to find there). Called first thing in `main`, before any thread starts.
fn quiet_driver_probes() {
    if std::env::var_os("XDG_RUNTIME_DIR").is_none()
        && std::env::var_os("WAYLAND_DISPLAY").is_none()
    {
        // SAFETY: no other thread exists yet, so nothing reads the environment concurrently.
        unsafe { std::env::set_var("XDG_RUNTIME_DIR", std::env::temp_dir()) };
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
    let scorer = Scorer::load(model, choice)?;
    if let Some(notice) = &scorer.device.notice {
        eprintln!("mclcr: {notice}");
    }
    Ok(scorer)
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
