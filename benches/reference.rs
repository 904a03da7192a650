//! mclcr's side of `tools/bench/bench.py`: times inference and one training step on the CPU
//! for a saved model and inputs written by the script, and prints one JSON object per line.
//!
//! Built as the `reference` bench target (`cargo build --release --bench reference`); `cargo
//! bench` alone only points at the script.
//!
//! Usage: `reference MODEL.json INPUTS.bin MAX_BATCH BATCHES ITERATIONS WARMUP`, where
//! INPUTS.bin holds `MAX_BATCH` prepared faces as little-endian f32: all RGB `[b, 3, s, s]`,
//! then all amplitude spectra `[b, n, bins]`, then all phase spectra. BATCHES is
//! comma-separated (e.g. `1,16`). Threads: set `RAYON_NUM_THREADS`.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};
use burn::prelude::*;
use mclcr::model::store::load_model;
use mclcr::preprocess::{PreparedFace, Preprocessor};
use mclcr::training::{OptimConfig, Trainer};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("reference bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    // `cargo bench` appends `--bench`.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if args.is_empty() {
        println!("run `python3 tools/bench/bench.py`: it writes the inputs and calls this program");
        return Ok(());
    }
    let [
        model_path,
        inputs_path,
        max_batch,
        batches,
        iterations,
        warmup,
    ] = args.as_slice()
    else {
        bail!("usage: reference MODEL.json INPUTS.bin MAX_BATCH BATCHES ITERATIONS WARMUP");
    };
    let max_batch: usize = max_batch.parse().context("MAX_BATCH")?;
    let iterations: usize = iterations.parse().context("ITERATIONS")?;
    let warmup: usize = warmup.parse().context("WARMUP")?;
    let batches: Vec<usize> = batches
        .split(',')
        .map(|b| b.parse().context("BATCHES"))
        .collect::<anyhow::Result<_>>()?;
    let device = Device::flex();
    let (model, manifest) = load_model(Path::new(model_path), &device)?;
    let config = manifest.config;
    let faces = read_faces(Path::new(inputs_path), &config, max_batch)?;
    let pre = Preprocessor::new(&config);
    for &batch in &batches {
        if batch == 0 || batch > max_batch {
            bail!("batch {batch} is not in 1..={max_batch}");
        }
        let chunk = &faces[..batch];
        let infer = || {
            let out = model.forward(pre.batch(chunk, &device));
            // Reading the outputs back finishes the computation.
            let _ = out.logits.into_data();
            let _ = out.amplitude_attention.into_data();
            let _ = out.phase_attention.into_data();
        };
        report("inference", batch, time(iterations, warmup, infer));
        let labels: Vec<bool> = (0..batch).map(|i| i % 2 == 1).collect();
        let mut trainer = Trainer::new(model.clone(), &config, &OptimConfig::default(), &device);
        let step = || {
            trainer.step(chunk, &labels, 2e-4);
        };
        report("train_step", batch, time(iterations, warmup, step));
    }
    Ok(())
}

/// Reads `count` prepared faces from the script's input file.
fn read_faces(
    path: &Path,
    config: &mclcr::model::MclcrConfig,
    count: usize,
) -> anyhow::Result<Vec<PreparedFace>> {
    let bytes = std::fs::read(path).with_context(|| path.display().to_string())?;
    let s = config.image_size;
    let (rgb, spectrum) = (
        3 * s * s,
        config.frequency.patches() * config.frequency.spectrum_len(),
    );
    if bytes.len() != 4 * count * (rgb + 2 * spectrum) {
        bail!(
            "{}: {} bytes, expected {count} faces of {s}x{s}",
            path.display(),
            bytes.len()
        );
    }
    let values: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let (rgb_all, rest) = values.split_at(count * rgb);
    let (amplitude_all, phase_all) = rest.split_at(count * spectrum);
    Ok((0..count)
        .map(|i| PreparedFace {
            rgb: rgb_all[i * rgb..(i + 1) * rgb].to_vec(),
            amplitude: amplitude_all[i * spectrum..(i + 1) * spectrum].to_vec(),
            phase: phase_all[i * spectrum..(i + 1) * spectrum].to_vec(),
        })
        .collect())
}

/// Median milliseconds of `iterations` calls after `warmup` untimed ones.
fn time(iterations: usize, warmup: usize, mut f: impl FnMut()) -> f64 {
    for _ in 0..warmup {
        f();
    }
    let mut ms: Vec<f64> = (0..iterations.max(1))
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    ms[ms.len() / 2]
}

fn report(what: &str, batch: usize, ms: f64) {
    println!("{{\"what\": \"{what}\", \"batch\": {batch}, \"ms\": {ms:.4}}}");
}
