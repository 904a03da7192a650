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
//!
//! `reference --stages MODEL.json INPUTS.bin FACES.bin MAX_BATCH BATCHES ITERATIONS WARMUP`
//! times the stages of the forward pass one by one instead (EfficientNet-Lite backbones only),
//! each fed the previous stage's output, and the three phases of a training step. FACES.bin
//! holds the same `MAX_BATCH` faces as 8-bit RGB, `[b, s, s, 3]`, for the preprocessing stage.
//! Flex runs every operation eagerly on the calling thread (rayon inside an operation joins
//! before it returns), so a stage's time ends when its last operation returns; each stage
//! still reads one value of its output back to be sure.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};
use burn::prelude::*;
use image::RgbImage;
use mclcr::inference::preprocess::{PreparedFace, Preprocessor};
use mclcr::model::backbone::Backbone;
use mclcr::model::dual_attention::DualAttention;
use mclcr::model::efficientnet::global_average_pool;
use mclcr::model::{Mclcr, MclcrConfig};
use mclcr::train::step::{OptimConfig, Trainer};
use mclcr::weights::store::load_model;

fn main() -> ExitCode {
    mclcr::device::keep_freed_memory();
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
    let mut args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if args.is_empty() {
        println!("run `python3 tools/bench/bench.py`: it writes the inputs and calls this program");
        return Ok(());
    }
    if args[0] == "--stages" {
        args.remove(0);
        return run_stages(&args);
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
    let (max_batch, iterations, warmup, batches) = counts(max_batch, iterations, warmup, batches)?;
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

/// `--stages`: times each stage of the forward pass and the phases of a training step.
fn run_stages(args: &[String]) -> anyhow::Result<()> {
    let [
        model_path,
        inputs_path,
        faces_path,
        max_batch,
        batches,
        iterations,
        warmup,
    ] = args
    else {
        bail!(
            "usage: reference --stages MODEL.json INPUTS.bin FACES.bin MAX_BATCH BATCHES ITERATIONS WARMUP"
        );
    };
    let (max_batch, iterations, warmup, batches) = counts(max_batch, iterations, warmup, batches)?;
    let device = Device::flex();
    let (model, manifest) = load_model(Path::new(model_path), &device)?;
    let config = manifest.config;
    let faces = read_faces(Path::new(inputs_path), &config, max_batch)?;
    let images = read_images(Path::new(faces_path), config.image_size, max_batch)?;
    let pre = Preprocessor::new(&config);
    for &batch in &batches {
        if batch == 0 || batch > max_batch {
            bail!("batch {batch} is not in 1..={max_batch}");
        }
        for (name, ms) in time_stages(
            &model,
            &config,
            &pre,
            &images[..batch],
            &faces[..batch],
            iterations,
            warmup,
        )? {
            report_named("stage", &name, batch, ms);
        }
        let chunk = &faces[..batch];
        let labels: Vec<bool> = (0..batch).map(|i| i % 2 == 1).collect();
        let mut trainer = Trainer::new(model.clone(), &config, &OptimConfig::default(), &device);
        for _ in 0..warmup {
            trainer.step_timed(chunk, &labels, 2e-4);
        }
        let mut phases = [Vec::new(), Vec::new(), Vec::new()];
        for _ in 0..iterations.max(1) {
            let (_, t) = trainer.step_timed(chunk, &labels, 2e-4);
            for (list, ms) in phases
                .iter_mut()
                .zip([t.forward_ms, t.backward_ms, t.optimizer_ms])
            {
                list.push(ms);
            }
        }
        for (name, list) in ["forward", "backward", "optimizer"].iter().zip(phases) {
            report_named("train_phase", name, batch, median(list));
        }
    }
    Ok(())
}

/// Reads one element of `t` back (flex is eager: this only makes sure `t` exists).
fn sync<const D: usize>(t: &Tensor<D>) {
    let _ = t.clone().flatten::<1>(0, D - 1).narrow(0, 0, 1).into_data();
}

/// (stage, median ms) for each stage of the forward pass, in order, then their sum and the
/// whole forward pass in one call.
fn time_stages(
    model: &Mclcr,
    config: &MclcrConfig,
    pre: &Preprocessor,
    images: &[RgbImage],
    faces: &[PreparedFace],
    iterations: usize,
    warmup: usize,
) -> anyhow::Result<Vec<(String, f64)>> {
    let Backbone::EfficientnetLite(net) = &model.backbone else {
        bail!("--stages needs an EfficientNet-Lite backbone");
    };
    let mclcr::model::backbone::BackboneConfig::EfficientnetLite(net_config) = &config.backbone
    else {
        bail!("--stages needs an EfficientNet-Lite backbone");
    };
    let device = Device::flex();
    let mut out = Vec::new();
    let mut stage = |name: String, f: &mut dyn FnMut()| {
        out.push((name, time(iterations, warmup, f)));
    };
    stage("preprocess".into(), &mut || {
        let prepared: Vec<PreparedFace> = images.iter().map(|f| pre.prepare(f)).collect();
        let input = pre.batch(&prepared, &device);
        sync(&input.rgb);
        sync(&input.phase);
    });
    let input = pre.batch(faces, &device);
    let stem_out = net.stem.forward(input.rgb.clone());
    stage("backbone stem".into(), &mut || {
        sync(&net.stem.forward(input.rgb.clone()))
    });
    let mut x = stem_out;
    let mut stage_outputs = Vec::new();
    let mut first = 0;
    for (i, st) in net_config.stages.iter().enumerate() {
        let blocks = &net.blocks[first..first + st.repeats];
        first += st.repeats;
        let run = |mut h: Tensor<4>| {
            for block in blocks {
                h = block.forward(h);
            }
            h
        };
        let name = format!(
            "backbone stage {i} (k{} s{} e{}, {} ch)",
            st.kernel, st.stride, st.expand, st.channels
        );
        stage(name, &mut || sync(&run(x.clone())));
        x = run(x);
        stage_outputs.push(x.clone());
    }
    stage("backbone head (1x1 conv)".into(), &mut || {
        sync(&net.head.forward(x.clone()))
    });
    let last = net.head.forward(x);
    let taps = net_config.tap_stages.map(|s| stage_outputs[s].clone());
    stage("style block (3 Gram branches)".into(), &mut || {
        sync(&model.style.forward(taps.clone()).feature)
    });
    let style = model.style.forward(taps);
    let freq = &model.frequency;
    let embed = || {
        let a = freq.amplitude_embed.forward(input.amplitude.clone())
            + freq.amplitude_position.val().unsqueeze_dim::<3>(0);
        let p = freq.phase_embed.forward(input.phase.clone())
            + freq.phase_position.val().unsqueeze_dim::<3>(0);
        (a, p)
    };
    stage("frequency embeddings".into(), &mut || {
        let (a, p) = embed();
        sync(&a);
        sync(&p);
    });
    let (a, p) = embed();
    let DualAttention::CrossAttention(_) = &freq.dual_attention else {
        bail!("--stages expects the cross-attention dual attention");
    };
    stage("frequency dual attention".into(), &mut || {
        let d = freq.dual_attention.forward(a.clone(), p.clone());
        sync(&d.amplitude);
        sync(&d.phase);
        sync(&d.amplitude_map);
    });
    let dual = freq.dual_attention.forward(a, p);
    let mix = || {
        let mut a = dual.amplitude.clone();
        for layer in &freq.amplitude_mixers {
            a = layer.forward(a);
        }
        let mut p = dual.phase.clone();
        for layer in &freq.phase_mixers {
            p = layer.forward(p);
        }
        (a, p)
    };
    stage("frequency mixers".into(), &mut || {
        let (a, p) = mix();
        sync(&a);
        sync(&p);
    });
    let (a, p) = mix();
    let fuse = || {
        let pool = |x: Tensor<3>| {
            let [batch, _, d] = x.dims();
            x.mean_dim(1).reshape([batch, d])
        };
        let fused = Tensor::cat(
            vec![
                global_average_pool(last.clone()),
                style.feature.clone(),
                pool(freq.amplitude_norm.forward(a.clone())),
                pool(freq.phase_norm.forward(p.clone())),
            ],
            1,
        );
        let logits = model
            .classifier
            .forward(model.dropout.forward(fused.clone()));
        let projection = model.project(fused);
        (logits, projection)
    };
    stage(
        "pooling, fusion, classifier, projection".into(),
        &mut || {
            let (logits, projection) = fuse();
            sync(&logits);
            sync(&projection);
        },
    );
    let sum = out.iter().map(|(_, ms)| ms).sum();
    out.push(("sum of the stages".into(), sum));
    let whole = time(iterations, warmup, || {
        let prepared: Vec<PreparedFace> = images.iter().map(|f| pre.prepare(f)).collect();
        let o = model.forward(pre.batch(&prepared, &device));
        sync(&o.logits);
        sync(&o.projection);
        sync(&o.amplitude_attention);
    });
    out.push(("whole forward (preprocess included)".into(), whole));
    Ok(out)
}

/// Reads `count` 8-bit RGB faces (`[count, side, side, 3]`) from the script's file.
fn read_images(path: &Path, side: usize, count: usize) -> anyhow::Result<Vec<RgbImage>> {
    let bytes = std::fs::read(path).with_context(|| path.display().to_string())?;
    let each = side * side * 3;
    if bytes.len() != count * each {
        bail!(
            "{}: {} bytes, expected {count} faces of {side}x{side}",
            path.display(),
            bytes.len()
        );
    }
    bytes
        .chunks_exact(each)
        .map(|c| {
            RgbImage::from_raw(side as u32, side as u32, c.to_vec())
                .context("face buffer has the wrong size")
        })
        .collect()
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
    let ms: Vec<f64> = (0..iterations.max(1))
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    median(ms)
}

/// Median of a non-empty list (the upper one of the two middle values).
fn median(mut ms: Vec<f64>) -> f64 {
    ms.sort_by(f64::total_cmp);
    ms[ms.len() / 2]
}

fn report(what: &str, batch: usize, ms: f64) {
    println!("{{\"what\": \"{what}\", \"batch\": {batch}, \"ms\": {ms:.4}}}");
}

fn report_named(what: &str, name: &str, batch: usize, ms: f64) {
    println!("{{\"what\": \"{what}\", \"name\": \"{name}\", \"batch\": {batch}, \"ms\": {ms:.4}}}");
}

/// MAX_BATCH, ITERATIONS, WARMUP and the comma-separated BATCHES of the command line.
fn counts(
    max_batch: &str,
    iterations: &str,
    warmup: &str,
    batches: &str,
) -> anyhow::Result<(usize, usize, usize, Vec<usize>)> {
    let batches = batches
        .split(',')
        .map(|b| b.parse().context("BATCHES"))
        .collect::<anyhow::Result<_>>()?;
    Ok((
        max_batch.parse().context("MAX_BATCH")?,
        iterations.parse().context("ITERATIONS")?,
        warmup.parse().context("WARMUP")?,
        batches,
    ))
}
