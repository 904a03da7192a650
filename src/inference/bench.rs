//! `mclcr bench`: inference speed of the MC-LCR network per device and batch size.
//!
//! Each measurement runs the whole path a face takes after detection: CPU preprocessing (resize,
//! normalisation, per-patch DFT), upload, forward pass, and download of the verdict and the
//! explanation maps (which also waits for the device to finish). Preprocessing is timed on its
//! own too. Weights are freshly initialised: speed does not depend on their values.

use std::time::Instant;

use image::RgbImage;
use serde::Serialize;

use crate::device::{self, DeviceChoice, DeviceError, SelectedDevice};
use crate::inference::preprocess::{PreparedFace, Preprocessor};
use crate::model::MclcrConfig;

/// What to measure.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Devices to measure, in order.
    pub devices: Vec<DeviceChoice>,
    /// Batch sizes.
    pub batches: Vec<usize>,
    /// Timed iterations per batch size.
    pub iterations: usize,
    /// Untimed iterations before timing (kernel compilation, autotuning, allocator warm-up).
    pub warmup: usize,
    /// The network to measure.
    pub config: MclcrConfig,
}

/// One device × batch size measurement.
#[derive(Debug, Clone, Serialize)]
pub struct BenchResult {
    /// The device, in words.
    pub device: String,
    /// Faces per batch.
    pub batch: usize,
    /// Milliseconds per face, whole path.
    pub ms_per_face: f64,
    /// Faces per second, whole path.
    pub faces_per_second: f64,
    /// Milliseconds per face spent in CPU preprocessing alone.
    pub preprocess_ms_per_face: f64,
    /// Milliseconds of the first (untimed) call, kernel compilation included.
    pub first_call_ms: f64,
    /// Peak resident memory of the process so far, MiB.
    pub peak_rss_mib: Option<f64>,
    /// Memory the device's allocator holds after the run, MiB (GPU backends).
    pub device_memory_mib: Option<f64>,
}

/// Devices to measure by default: the CPU, and the GPU when a hardware one exists.
pub fn default_devices() -> Vec<DeviceChoice> {
    let mut devices = vec![DeviceChoice::Cpu];
    if device::list_adapters().iter().any(|a| a.hardware) {
        devices.push(DeviceChoice::Gpu);
    }
    devices
}

/// Runs the benchmark, calling `report` after each measurement. Fails when a requested device
/// cannot be had (e.g. `gpu` without a GPU), before anything is measured on it.
pub fn run(
    options: &BenchOptions,
    mut report: impl FnMut(&SelectedDevice, &BenchResult),
) -> Result<Vec<BenchResult>, DeviceError> {
    let selected: Vec<SelectedDevice> = options
        .devices
        .iter()
        .map(|&choice| device::select(choice))
        .collect::<Result<_, _>>()?;
    let preprocessor = Preprocessor::new(&options.config);
    let max_batch = options.batches.iter().copied().max().unwrap_or(1);
    let faces: Vec<RgbImage> = (0..max_batch)
        .map(|i| synthetic_face(options.config.image_size as u32, i as u32))
        .collect();
    let mut results = Vec::new();
    for target in &selected {
        let model = options.config.init(&target.device);
        for &batch in &options.batches {
            let faces = &faces[..batch];
            let run_once = || {
                let prepared: Vec<PreparedFace> =
                    faces.iter().map(|f| preprocessor.prepare(f)).collect();
                let input = preprocessor.batch(&prepared, &target.device);
                let out = model.forward(input);
                // Download what the app shows: scores and maps. This also waits for the device.
                let _ = out.fake_probability().into_data();
                let _ = out.amplitude_attention.into_data();
                let _ = out.phase_attention.into_data();
                for gram in out.grams {
                    let _ = gram.into_data();
                }
            };
            let start = Instant::now();
            run_once();
            let first_call_ms = start.elapsed().as_secs_f64() * 1e3;
            for _ in 1..options.warmup {
                run_once();
            }
            let iterations = options.iterations.max(1);
            let start = Instant::now();
            for _ in 0..iterations {
                run_once();
            }
            let total = start.elapsed().as_secs_f64();
            let start = Instant::now();
            for _ in 0..iterations {
                for f in faces {
                    std::hint::black_box(preprocessor.prepare(f));
                }
            }
            let preprocess = start.elapsed().as_secs_f64();
            let per_face = total / (iterations * batch) as f64;
            let result = BenchResult {
                device: target.label.clone(),
                batch,
                ms_per_face: per_face * 1e3,
                faces_per_second: 1.0 / per_face,
                preprocess_ms_per_face: preprocess * 1e3 / (iterations * batch) as f64,
                first_call_ms,
                peak_rss_mib: peak_rss_mib(),
                device_memory_mib: target
                    .device
                    .memory_pool_usage()
                    .map(|u| u.bytes_reserved as f64 / (1024.0 * 1024.0)),
            };
            report(target, &result);
            results.push(result);
        }
    }
    Ok(results)
}

/// A deterministic face-sized test image with texture at several scales (not a real face:
/// the network's cost does not depend on the content).
pub fn synthetic_face(side: u32, seed: u32) -> RgbImage {
    RgbImage::from_fn(side, side, |x, y| {
        let v = x.wrapping_mul(73) ^ y.wrapping_mul(151) ^ seed.wrapping_mul(2_654_435_761);
        let r = (v.wrapping_mul(2_246_822_519) >> 24) as u8;
        image::Rgb([r, r.wrapping_add((x / 4) as u8), ((x + y) / 2) as u8])
    })
}

/// Peak resident set size of this process in MiB (Linux `VmHWM`); `None` elsewhere.
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiny_bench_on_the_cpu_reports_each_batch() {
        let options = BenchOptions {
            devices: vec![DeviceChoice::Cpu],
            batches: vec![1, 2],
            iterations: 1,
            warmup: 1,
            config: MclcrConfig::tiny(),
        };
        let mut seen = 0;
        let results = run(&options, |_, _| seen += 1).unwrap();
        assert_eq!(seen, 2);
        assert_eq!(results.len(), 2);
        assert!(
            results
                .iter()
                .all(|r| r.ms_per_face > 0.0 && r.faces_per_second > 0.0)
        );
    }
}
