//! Times mclcr's depthwise-convolution kernels (`src/model/kernels/depthwise.rs`) on the
//! shapes of the default network's backbone at batch 8: forward, input gradient and weight
//! gradient, milliseconds per call (mean of 3 after one warm-up); and, for comparison, Burn's
//! own depthwise convolution on the CPU (flex under autodiff), forward plus both gradients.
//! Then the training batch norm + ReLU6 on the backbone's activation shapes, forward and
//! backward under autodiff: mclcr's fused kernel (`src/model/kernels/batch_norm.rs`) against
//! Burn's `BatchNorm` followed by a clamp. Last, the exact GELU of the frequency mixers
//! (`src/model/kernels/gelu.rs` against Burn's), forward and backward.
//!
//! `cargo bench --bench kernels` (threads: `RAYON_NUM_THREADS`).

use std::time::Instant;

use burn::backend::ops::ConvOptions;
use burn::prelude::*;
use burn::tensor::module::conv2d;
use mclcr::model::kernels::depthwise::{DepthwiseGeometry, forward, input_grad, weight_grad};

/// (channels, input side, kernel, stride) of each depthwise layer shape in EfficientNet-Lite0
/// at 256 × 256.
const LAYERS: [(usize, usize, usize, usize); 12] = [
    (32, 128, 3, 1),
    (96, 128, 3, 2),
    (144, 64, 3, 1),
    (144, 64, 5, 2),
    (240, 32, 5, 1),
    (240, 32, 3, 2),
    (480, 16, 3, 1),
    (480, 16, 5, 1),
    (672, 16, 5, 1),
    (672, 16, 5, 2),
    (1152, 8, 5, 1),
    (1152, 8, 3, 1),
];

fn main() {
    mclcr::device::keep_freed_memory();
    let batch = 8;
    let mut total = [0.0f64; 4];
    println!(
        "channels  side  kernel  stride   forward ms  input grad ms  weight grad ms   all three   Burn's"
    );
    for (channels, side, kernel, stride) in LAYERS {
        let out = side.div_ceil(stride);
        let pad = ((out - 1) * stride + kernel).saturating_sub(side);
        let g = DepthwiseGeometry {
            batch,
            channels,
            input: [side, side],
            kernel: [kernel; 2],
            stride: [stride; 2],
            pad_begin: [pad / 2; 2],
            pad_end: [pad - pad / 2; 2],
        };
        let x = vec![0.5f32; batch * channels * side * side];
        let w = vec![0.1f32; channels * kernel * kernel];
        let [oh, ow] = g.output();
        let dy = vec![0.3f32; batch * channels * oh * ow];
        let mut ms = [0.0f64; 3];
        let mut burn = 0.0f64;
        for round in 0..4 {
            let burns = time(|| burn_depthwise(&x, &w, &g));
            let timed: [f64; 3] = [
                time(|| forward(&x, &w, None, &g).len()),
                time(|| input_grad(&dy, &w, &g).len()),
                time(|| weight_grad(&x, &dy, &g).len()),
            ];
            if round > 0 {
                for k in 0..3 {
                    ms[k] += timed[k] / 3.0;
                }
                burn += burns / 3.0;
            }
        }
        for k in 0..3 {
            total[k] += ms[k];
        }
        total[3] += burn;
        let ours = ms.iter().sum::<f64>();
        println!(
            "{channels:>8}  {side:>4}  {kernel:>6}  {stride:>6}   {:>10.1}  {:>13.1}  {:>14.1}  {ours:>10.1}  {burn:>7.1}",
            ms[0], ms[1], ms[2]
        );
    }
    println!(
        "all layer shapes once          {:>10.1}  {:>13.1}  {:>14.1}  {:>10.1}  {:>7.1}",
        total[0],
        total[1],
        total[2],
        total[0] + total[1] + total[2],
        total[3]
    );
    batch_norms(batch);
    gelus(2 * batch);
}

/// The GELU table: the mixers' channel-MLP activation `[batch, 256, 1024]` (four per network),
/// forward + backward under autodiff, mclcr's kernel and Burn's.
fn gelus(batch: usize) {
    let device = Device::flex().autodiff();
    let shape = [batch, 256, 1024];
    let x = Tensor::<3>::random(shape, burn::tensor::Distribution::Normal(0.0, 1.0), &device);
    let run = |ours: bool| {
        let x = x.clone().require_grad();
        let y = if ours {
            mclcr::model::kernels::gelu(x.clone())
        } else {
            burn::tensor::activation::gelu(x.clone())
        };
        let grads = y.sum().backward();
        x.grad(&grads)
            .map(|t| t.into_data().num_elements())
            .unwrap_or(0)
    };
    let ms = both_ways(run);
    println!(
        "\nGELU {shape:?}, forward + backward (autodiff): mclcr {:.1} ms, Burn's {:.1} ms",
        ms[0], ms[1]
    );
}

/// (channels, side) of the activations a training batch norm + ReLU6 sees in EfficientNet-Lite0
/// at 256 × 256 (stem, expansions).
const NORMS: [(usize, usize); 7] = [
    (32, 128),
    (96, 128),
    (144, 64),
    (240, 32),
    (480, 16),
    (672, 16),
    (1152, 8),
];

/// The batch-norm table: forward + backward per shape, mclcr's fused kernel and Burn's.
fn batch_norms(batch: usize) {
    let device = Device::flex().autodiff();
    println!(
        "\nbatch norm + ReLU6, forward + backward (autodiff)\nchannels  side      mclcr ms   Burn's ms"
    );
    let mut total = [0.0f64; 2];
    for (channels, side) in NORMS {
        let bn = burn::nn::BatchNormConfig::new(channels)
            .with_epsilon(1e-3)
            .init(&device);
        let shape = [batch, channels, side, side];
        let x = Tensor::<4>::random(shape, burn::tensor::Distribution::Normal(0.0, 2.0), &device);
        let run = |fused: bool| {
            let x = x.clone().require_grad();
            let y = if fused {
                mclcr::model::kernels::batch_norm(&bn, x.clone(), true)
            } else {
                bn.forward(x.clone()).clamp(0.0, 6.0)
            };
            let grads = y.sum().backward();
            x.grad(&grads)
                .map(|t| t.into_data().num_elements())
                .unwrap_or(0)
        };
        let ms = both_ways(run);
        total[0] += ms[0];
        total[1] += ms[1];
        println!("{channels:>8}  {side:>4}  {:>12.1}  {:>10.1}", ms[0], ms[1]);
    }
    println!("all shapes once {:>12.1}  {:>10.1}", total[0], total[1]);
}

/// Burn's depthwise convolution on flex under autodiff, forward and both gradients (through a
/// sum, which adds one cheap pass); returns a value so that nothing is optimised away.
fn burn_depthwise(x: &[f32], w: &[f32], g: &DepthwiseGeometry) -> usize {
    let device = Device::flex().autodiff();
    let [h, wd] = g.input;
    let x = Tensor::<4>::from_data(
        TensorData::new(x.to_vec(), [g.batch, g.channels, h, wd]),
        &device,
    )
    .require_grad();
    let weight = Tensor::<4>::from_data(
        TensorData::new(w.to_vec(), [g.channels, 1, g.kernel[0], g.kernel[1]]),
        &device,
    )
    .require_grad();
    let options = ConvOptions::new_with_padding(
        g.stride,
        [
            (g.pad_begin[0], g.pad_end[0]),
            (g.pad_begin[1], g.pad_end[1]),
        ],
        [1, 1],
        g.channels,
    );
    let grads = conv2d(x.clone(), weight.clone(), None, options)
        .sum()
        .backward();
    let dx = x
        .grad(&grads)
        .map(|t| t.into_data().num_elements())
        .unwrap_or(0);
    let dw = weight
        .grad(&grads)
        .map(|t| t.into_data().num_elements())
        .unwrap_or(0);
    dx + dw
}

/// Milliseconds of `run(true)` (mclcr's kernel) and `run(false)` (Burn's), alternated, the
/// mean of 3 rounds after one warm-up round.
fn both_ways(run: impl Fn(bool) -> usize) -> [f64; 2] {
    let mut ms = [0.0f64; 2];
    for round in 0..4 {
        let timed = [time(|| run(true)), time(|| run(false))];
        if round > 0 {
            for k in 0..2 {
                ms[k] += timed[k] / 3.0;
            }
        }
    }
    ms
}

/// Milliseconds `f` takes.
fn time(f: impl FnOnce() -> usize) -> f64 {
    let start = Instant::now();
    std::hint::black_box(f());
    start.elapsed().as_secs_f64() * 1e3
}
