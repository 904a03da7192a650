//! Batch norm on the batch's own statistics, fused with an optional ReLU6, forward and backward
//! on f32 slices laid out `[batch, channels, plane]` (NCHW).
//!
//! Burn's default `batch_norm_train` (which flex uses) computes each statistic through a
//! channel-first copy of the activation and runs the normalisation and its gradient as chains of
//! broadcast tensor operations: about a dozen passes over the activation forward and twenty
//! backward. Here the forward pass reads the activation three times (mean, variance, output)
//! and the backward pass twice (the two per-channel sums, then the input gradient), with the
//! ReLU6 mask recomputed from the input rather than stored.

use rayon::prelude::*;

use super::simd::vectorised;

/// Shape of a batch-norm operand: `batch × channels` planes of `plane` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NormShape {
    /// Images in the batch.
    pub batch: usize,
    /// Channels (one mean and variance each).
    pub channels: usize,
    /// Values per channel and image (`h · w`).
    pub plane: usize,
}

impl NormShape {
    /// The shape of a tensor with dimensions `[batch, channels, …]`; `None` below rank 2.
    pub fn of(dims: &[usize]) -> Option<Self> {
        let (&batch, rest) = dims.split_first()?;
        let (&channels, rest) = rest.split_first()?;
        Some(Self {
            batch,
            channels,
            plane: rest.iter().product(),
        })
    }

    /// Values per channel over the whole batch.
    fn count(&self) -> usize {
        self.batch * self.plane
    }

    /// The `plane` values of image `n`, channel `c`.
    fn plane_of<'a>(&self, values: &'a [f32], n: usize, c: usize) -> &'a [f32] {
        let start = (n * self.channels + c) * self.plane;
        &values[start..start + self.plane]
    }
}

/// Sum of a slice in eight f32 lanes (vectorised), returned in f64.
#[inline(always)]
fn sum(values: &[f32]) -> f64 {
    let mut lanes = [0.0f32; 8];
    let chunks = values.chunks_exact(8);
    let tail: f32 = chunks.remainder().iter().sum();
    for chunk in chunks {
        for (lane, &v) in lanes.iter_mut().zip(chunk) {
            *lane += v;
        }
    }
    lanes.iter().map(|&v| v as f64).sum::<f64>() + tail as f64
}

/// Sum of `(v - mean)²` in eight f32 lanes, returned in f64.
#[inline(always)]
fn centred_squares(values: &[f32], mean: f32) -> f64 {
    let mut lanes = [0.0f32; 8];
    let chunks = values.chunks_exact(8);
    let tail: f32 = chunks
        .remainder()
        .iter()
        .map(|&v| (v - mean) * (v - mean))
        .sum();
    for chunk in chunks {
        for (lane, &v) in lanes.iter_mut().zip(chunk) {
            *lane += (v - mean) * (v - mean);
        }
    }
    lanes.iter().map(|&v| v as f64).sum::<f64>() + tail as f64
}

/// Per-channel mean and biased variance (two passes, as Burn computes them).
pub fn statistics(x: &[f32], shape: NormShape) -> (Vec<f32>, Vec<f32>) {
    let count = shape.count().max(1) as f64;
    (0..shape.channels)
        .into_par_iter()
        .map(|c| {
            vectorised(
                #[inline(always)]
                || {
                    let mean = (0..shape.batch)
                        .map(|n| sum(shape.plane_of(x, n, c)))
                        .sum::<f64>()
                        / count;
                    let variance = (0..shape.batch)
                        .map(|n| centred_squares(shape.plane_of(x, n, c), mean as f32))
                        .sum::<f64>()
                        / count;
                    (mean as f32, variance as f32)
                },
            )
        })
        .unzip()
}

/// A batch norm's per-channel parameters and statistics, and whether ReLU6 follows it.
#[derive(Debug, Clone, Copy)]
pub struct Norm<'a> {
    /// Scale γ, `[channels]`.
    pub gamma: &'a [f32],
    /// Shift β, `[channels]`.
    pub beta: &'a [f32],
    /// Batch mean μ, `[channels]`.
    pub mean: &'a [f32],
    /// Biased batch variance σ², `[channels]`.
    pub variance: &'a [f32],
    /// Added to the variance.
    pub epsilon: f64,
    /// Clamp the output to `[0, 6]`.
    pub relu6: bool,
}

impl Norm<'_> {
    /// `1 / √(σ² + ε)` per channel.
    fn inv_std(&self) -> Vec<f32> {
        self.variance
            .iter()
            .map(|&v| (1.0 / (v as f64 + self.epsilon).sqrt()) as f32)
            .collect()
    }

    /// Per-channel `scale = γ / √(σ² + ε)` and `shift = β − μ · scale`, from [`Norm::inv_std`].
    fn scale_shift(&self, inv_std: &[f32]) -> (Vec<f32>, Vec<f32>) {
        (0..self.gamma.len())
            .map(|c| {
                let scale = self.gamma[c] * inv_std[c];
                (scale, self.beta[c] - self.mean[c] * scale)
            })
            .unzip()
    }
}

/// `x · scale + shift` per channel, clamped to `[0, 6]` when `relu6`.
pub fn forward(x: &[f32], shape: NormShape, norm: &Norm<'_>) -> Vec<f32> {
    let (scale, shift) = norm.scale_shift(&norm.inv_std());
    let relu6 = norm.relu6;
    let mut y = vec![0.0f32; x.len()];
    y.par_chunks_mut(shape.plane.max(1))
        .zip(x.par_chunks(shape.plane.max(1)))
        .enumerate()
        .for_each(|(i, (out, input))| {
            let c = i % shape.channels;
            let (a, b) = (scale[c], shift[c]);
            vectorised(
                #[inline(always)]
                || {
                    if relu6 {
                        for (o, &v) in out.iter_mut().zip(input) {
                            *o = (v * a + b).clamp(0.0, 6.0);
                        }
                    } else {
                        for (o, &v) in out.iter_mut().zip(input) {
                            *o = v * a + b;
                        }
                    }
                },
            )
        });
    y
}

/// Where the gradient reaches a channel's normalisation: everywhere without ReLU6, else only
/// where the normalised value `x · scale + shift` lies strictly inside `(0, 6)`. Branch-free,
/// with the channel's constants in registers, so that the loops using it vectorise.
#[derive(Debug, Clone, Copy)]
struct Relu6Mask {
    relu6: bool,
    scale: f32,
    shift: f32,
}

impl Relu6Mask {
    fn new(relu6: bool, scale: f32, shift: f32) -> Self {
        Self {
            relu6,
            scale,
            shift,
        }
    }

    /// `g` where the gradient passes at input `v`, else 0.
    #[inline(always)]
    fn apply(self, g: f32, v: f32) -> f32 {
        let z = v * self.scale + self.shift;
        if !self.relu6 | ((z > 0.0) & (z < 6.0)) {
            g
        } else {
            0.0
        }
    }
}

/// Gradients of [`forward`] (on the batch's own `mean` and `variance`): the one with respect
/// to `x` written over the output gradient `grad` (no new buffer), those of `γ` and `β`
/// returned. With `relu6`, `grad` passes only where the
/// normalised value is strictly inside `(0, 6)` (PyTorch's rule at the corners).
pub fn backward(
    x: &[f32],
    shape: NormShape,
    norm: &Norm<'_>,
    grad: &mut [f32],
) -> (Vec<f32>, Vec<f32>) {
    let inv_std = norm.inv_std();
    let (scale, shift) = norm.scale_shift(&inv_std);
    let (relu6, mean) = (norm.relu6, norm.mean);
    // Σ g and Σ g · x̂ per channel, x̂ = (x − μ) / σ.
    let (beta_grad, gamma_grad): (Vec<f32>, Vec<f32>) = (0..shape.channels)
        .into_par_iter()
        .map(|c| {
            let mask = Relu6Mask::new(relu6, scale[c], shift[c]);
            let m = mean[c];
            vectorised(
                #[inline(always)]
                || {
                    let (mut sum_g, mut sum_gx) = (0.0f64, 0.0f64);
                    for n in 0..shape.batch {
                        let (xs, gs) = (shape.plane_of(x, n, c), shape.plane_of(grad, n, c));
                        // Element k goes to lane k mod 8, the tail included.
                        let (mut lane_g, mut lane_gx) = ([0.0f32; 8], [0.0f32; 8]);
                        let (x_chunks, g_chunks) = (xs.chunks_exact(8), gs.chunks_exact(8));
                        let (x_tail, g_tail) = (x_chunks.remainder(), g_chunks.remainder());
                        for (xc, gc) in x_chunks.zip(g_chunks) {
                            for k in 0..8 {
                                let g = mask.apply(gc[k], xc[k]);
                                lane_g[k] += g;
                                lane_gx[k] += g * (xc[k] - m);
                            }
                        }
                        for (k, (&v, &g)) in x_tail.iter().zip(g_tail).enumerate() {
                            let g = mask.apply(g, v);
                            lane_g[k] += g;
                            lane_gx[k] += g * (v - m);
                        }
                        sum_g += lane_g.iter().map(|&v| v as f64).sum::<f64>();
                        sum_gx += lane_gx.iter().map(|&v| v as f64).sum::<f64>();
                    }
                    (sum_g as f32, (sum_gx * inv_std[c] as f64) as f32)
                },
            )
        })
        .unzip();
    let count = shape.count().max(1) as f32;
    grad.par_chunks_mut(shape.plane.max(1))
        .zip(x.par_chunks(shape.plane.max(1)))
        .enumerate()
        .for_each(|(i, (gs, xs))| {
            let c = i % shape.channels;
            let mask = Relu6Mask::new(relu6, scale[c], shift[c]);
            // dx = γ/σ · (g − Σg/M − x̂ · Σ(g·x̂)/M)
            let k = scale[c];
            let mean_g = beta_grad[c] / count;
            let mean_gx = gamma_grad[c] / count * inv_std[c];
            let m = mean[c];
            vectorised(
                #[inline(always)]
                || {
                    for (g, &v) in gs.iter_mut().zip(xs) {
                        *g = k * (mask.apply(*g, v) - mean_g - (v - m) * mean_gx);
                    }
                },
            )
        });
    (gamma_grad, beta_grad)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(len: usize, seed: u32) -> Vec<f32> {
        (0..len)
            .map(|i| {
                let h = (i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) >> 8;
                (h % 1000) as f32 / 250.0 - 1.0
            })
            .collect()
    }

    #[test]
    fn forward_normalises_each_channel() {
        let shape = NormShape {
            batch: 3,
            channels: 2,
            plane: 10,
        };
        let x = data(60, 1);
        let (mean, variance) = statistics(&x, shape);
        let norm = Norm {
            gamma: &[1.0; 2],
            beta: &[0.0; 2],
            mean: &mean,
            variance: &variance,
            epsilon: 1e-5,
            relu6: false,
        };
        let y = forward(&x, shape, &norm);
        let (m, v) = statistics(&y, shape);
        for c in 0..2 {
            assert!(m[c].abs() < 1e-5, "mean {}", m[c]);
            assert!((v[c] - 1.0).abs() < 1e-3, "variance {}", v[c]);
        }
    }
}
