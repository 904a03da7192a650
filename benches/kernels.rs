//! Times mclcr's depthwise-convolution kernels (`src/model/kernels/depthwise.rs`) on the
//! shapes of the default network's backbone at batch 8: forward, input gradient and weight
//! gradient, milliseconds per call (mean of 3 after one warm-up).
//!
//! `cargo bench --bench kernels` (threads: `RAYON_NUM_THREADS`).

use std::time::Instant;

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
    let mut total = [0.0f64; 3];
    println!("channels  side  kernel  stride   forward ms  input grad ms  weight grad ms");
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
        for round in 0..4 {
            let timed: [f64; 3] = [
                time(|| forward(&x, &w, None, &g).len()),
                time(|| input_grad(&dy, &w, &g).len()),
                time(|| weight_grad(&x, &dy, &g).len()),
            ];
            if round > 0 {
                for k in 0..3 {
                    ms[k] += timed[k] / 3.0;
                }
            }
        }
        for k in 0..3 {
            total[k] += ms[k];
        }
        println!(
            "{channels:>8}  {side:>4}  {kernel:>6}  {stride:>6}   {:>10.1}  {:>13.1}  {:>14.1}",
            ms[0], ms[1], ms[2]
        );
    }
    println!(
        "all layer shapes once          {:>10.1}  {:>13.1}  {:>14.1}",
        total[0], total[1], total[2]
    );
}

/// Milliseconds `f` takes.
fn time(f: impl FnOnce() -> usize) -> f64 {
    let start = Instant::now();
    std::hint::black_box(f());
    start.elapsed().as_secs_f64() * 1e3
}
