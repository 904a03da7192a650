//! `mclcr bench`: inference speed per device and batch size, or with `--train` the speed of a
//! training step with more or less of the backbone frozen.

use std::process::ExitCode;

use anyhow::bail;

use crate::device::DeviceChoice;
use crate::inference::bench::{self, BenchOptions};
use crate::model::MclcrConfig;
use crate::train::bench::{self as train_bench, Frozen};

use super::load_config;

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
    /// Time training steps (forward, backward, optimiser) instead of inference.
    #[arg(long)]
    pub train: bool,
    /// With --train: how much of the backbone to freeze, comma-separated: a number of first
    /// stages (with the stem), or `all`.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "0,2,4,all",
        requires = "train"
    )]
    pub frozen_stages: Vec<Frozen>,
}

/// Runs `mclcr bench`.
pub fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    let config = load_config(&args.config)?;
    if args.batch.contains(&0) {
        bail!("--batch sizes must be at least 1");
    }
    if args.train {
        return run_train(&args, &config);
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

/// `mclcr bench --train`: training steps per device, batch size and frozen stages.
fn run_train(args: &BenchArgs, config: &MclcrConfig) -> anyhow::Result<ExitCode> {
    let devices = if args.device.is_empty() {
        bench::default_devices()
    } else {
        args.device.clone()
    };
    if !args.json {
        println!(
            "{:<40} {:>5} {:>20} {:>10} {:>9} {:>22} {:>9}",
            "device", "batch", "frozen", "ms/step", "faces/s", "fwd / bwd / optim ms", "peak RSS"
        );
    }
    for choice in devices {
        let device = super::select_device(choice)?;
        for &batch in &args.batch {
            train_bench::run(
                config,
                &device,
                batch,
                &args.frozen_stages,
                args.iterations,
                args.warmup,
                |r| {
                    if args.json {
                        if let Ok(line) = serde_json::to_string(r) {
                            println!("{line}");
                        }
                    } else {
                        let [f, b, o] = r.phases_ms;
                        println!(
                            "{:<40} {:>5} {:>20} {:>10.1} {:>9.2} {:>22} {:>9}",
                            r.device,
                            r.batch,
                            r.frozen,
                            r.ms_per_step,
                            r.faces_per_second,
                            format!("{f:.0} / {b:.0} / {o:.0}"),
                            r.peak_rss_mib.map_or("-".into(), |v| format!("{v:.0}"))
                        );
                    }
                },
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
