//! Depthwise 2-D convolution on f32 NCHW slices: forward, input gradient and weight gradient.
//!
//! One image plane per task (rayon). The plane is copied once into a zero-padded buffer split
//! by stride phase (one sub-plane per row and column phase, so stride 2 reads contiguous
//! values), and the output is computed on rows as wide as that buffer's: every kernel tap is
//! then one contiguous `y += w · x` over the whole plane (forward, input gradient) or one dot
//! product (weight gradient), and the few extra columns are dropped at the end. The loops are
//! compiled for the CPU's widest vector unit (AVX2, AVX-512, NEON) and chosen at run time by
//! `pulp`. Burn's own depthwise backward on the CPU loops over the channels, one small dense
//! convolution each, and its stride-2 forward pass is a scalar loop.

use super::simd::vectorised;
use rayon::prelude::*;

/// The shape of one depthwise convolution: `[batch, channels, height, width]` in, a
/// `channels × kernel_h × kernel_w` kernel, the same stride and zero padding `(begin, end)` on
/// both axes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DepthwiseGeometry {
    /// Images in the batch.
    pub batch: usize,
    /// Channels (one kernel each).
    pub channels: usize,
    /// Input height and width.
    pub input: [usize; 2],
    /// Kernel height and width.
    pub kernel: [usize; 2],
    /// Stride along height and width.
    pub stride: [usize; 2],
    /// Zero padding before the first row and column.
    pub pad_begin: [usize; 2],
    /// Zero padding after the last row and column.
    pub pad_end: [usize; 2],
}

impl DepthwiseGeometry {
    /// Output height and width.
    pub fn output(&self) -> [usize; 2] {
        [0, 1].map(|a| {
            let padded = self.input[a] + self.pad_begin[a] + self.pad_end[a];
            if padded < self.kernel[a] {
                0
            } else {
                (padded - self.kernel[a]) / self.stride[a] + 1
            }
        })
    }

    fn input_plane(&self) -> usize {
        self.input[0] * self.input[1]
    }

    fn output_plane(&self) -> usize {
        let [h, w] = self.output();
        h * w
    }

    fn taps(&self) -> usize {
        self.kernel[0] * self.kernel[1]
    }
}

/// The padded, phase-split buffer of one plane: padded position `(py, px)` lives in sub-plane
/// `(py mod sh, px mod sw)` at row `py / sh`, column `px / sw`; each sub-plane is
/// `rows × cols` plus a little slack, so that every tap's flat range stays inside.
struct Planes {
    stride: [usize; 2],
    pad: [usize; 2],
    cols: usize,
    phase_len: usize,
    out_rows: usize,
}

impl Planes {
    fn new(g: &DepthwiseGeometry) -> Self {
        let padded = [0, 1].map(|a| g.input[a] + g.pad_begin[a] + g.pad_end[a]);
        let rows = padded[0].div_ceil(g.stride[0]);
        let cols = padded[1].div_ceil(g.stride[1]);
        Self {
            stride: g.stride,
            pad: g.pad_begin,
            cols,
            phase_len: rows * cols + g.kernel[1],
            out_rows: g.output()[0],
        }
    }

    /// Length of the whole buffer.
    fn len(&self) -> usize {
        self.stride[0] * self.stride[1] * self.phase_len
    }

    /// Length of an output plane on the buffer's rows (and of each tap's flat range).
    fn span(&self) -> usize {
        self.out_rows * self.cols
    }

    /// Start of tap `(ky, kx)`'s flat range: the value output `(0, 0)` reads.
    fn tap(&self, ky: usize, kx: usize) -> usize {
        ((ky % self.stride[0]) * self.stride[1] + kx % self.stride[1]) * self.phase_len
            + (ky / self.stride[0]) * self.cols
            + kx / self.stride[1]
    }

    /// Every tap's start, in kernel order.
    fn taps(&self, g: &DepthwiseGeometry) -> Vec<usize> {
        (0..g.kernel[0])
            .flat_map(|ky| (0..g.kernel[1]).map(move |kx| (ky, kx)))
            .map(|(ky, kx)| self.tap(ky, kx))
            .collect()
    }

    /// For input row `iy` and each column phase `q`: the first input column of that phase, and
    /// where it lives (the next ones of the phase follow contiguously, `stride` columns apart
    /// in the row).
    #[inline(always)]
    fn row_runs(&self, iy: usize) -> impl Iterator<Item = (usize, usize)> + '_ {
        let py = iy + self.pad[0];
        let (sh, sw) = (self.stride[0], self.stride[1]);
        (0..sw).map(move |q| {
            let first = (q + sw - self.pad[1] % sw) % sw;
            let px = first + self.pad[1];
            let at = ((py % sh) * sw + q) * self.phase_len + (py / sh) * self.cols + px / sw;
            (first, at)
        })
    }

    /// `plane` (row-major, `g.input`) into the zeroed `buffer`.
    #[inline(always)]
    fn load(&self, plane: &[f32], g: &DepthwiseGeometry, buffer: &mut [f32]) {
        buffer.fill(0.0);
        for (iy, row) in plane.chunks_exact(g.input[1]).enumerate() {
            for (first, at) in self.row_runs(iy) {
                let values = row.iter().skip(first).step_by(self.stride[1]);
                for (slot, &v) in buffer[at..].iter_mut().zip(values) {
                    *slot = v;
                }
            }
        }
    }

    /// The inverse of [`Planes::load`] (padding dropped).
    #[inline(always)]
    fn store(&self, buffer: &[f32], g: &DepthwiseGeometry, plane: &mut [f32]) {
        for (iy, row) in plane.chunks_exact_mut(g.input[1]).enumerate() {
            for (first, at) in self.row_runs(iy) {
                let values = row.iter_mut().skip(first).step_by(self.stride[1]);
                for (v, &slot) in values.zip(&buffer[at..]) {
                    *v = slot;
                }
            }
        }
    }

    /// An output plane (row-major, `out_w` wide) onto the buffer's rows, extra columns zero.
    #[inline(always)]
    fn widen(&self, plane: &[f32], out_w: usize, wide: &mut [f32]) {
        wide.fill(0.0);
        for (row, wide_row) in plane
            .chunks_exact(out_w)
            .zip(wide.chunks_exact_mut(self.cols))
        {
            wide_row[..out_w].copy_from_slice(row);
        }
    }

    /// The inverse of [`Planes::widen`].
    #[inline(always)]
    fn narrow(&self, wide: &[f32], out_w: usize, plane: &mut [f32]) {
        for (row, wide_row) in plane
            .chunks_exact_mut(out_w)
            .zip(wide.chunks_exact(self.cols))
        {
            row.copy_from_slice(&wide_row[..out_w]);
        }
    }
}

/// `y = depthwise(x, w) + bias`: `x` is `[batch, channels, h, w]`, `weight`
/// `[channels, 1, kh, kw]`, `bias` (if any) `[channels]`; returns `[batch, channels, h_out, w_out]`.
pub fn forward(x: &[f32], weight: &[f32], bias: Option<&[f32]>, g: &DepthwiseGeometry) -> Vec<f32> {
    let [_, out_w] = g.output();
    let mut out = vec![0.0f32; g.batch * g.channels * g.output_plane()];
    if out.is_empty() {
        return out;
    }
    let planes = Planes::new(g);
    let taps = planes.taps(g);
    out.par_chunks_mut(g.output_plane())
        .enumerate()
        .for_each_init(
            || (vec![0.0f32; planes.len()], vec![0.0f32; planes.span()]),
            |(buffer, wide), (plane, y)| {
                vectorised(
                    #[inline(always)]
                    || {
                        let c = plane % g.channels;
                        planes.load(&x[plane * g.input_plane()..][..g.input_plane()], g, buffer);
                        wide.fill(bias.map_or(0.0, |b| b[c]));
                        for (&start, &w) in taps.iter().zip(&weight[c * g.taps()..][..g.taps()]) {
                            axpy(w, &buffer[start..start + wide.len()], wide);
                        }
                        planes.narrow(wide, out_w, y);
                    },
                )
            },
        );
    out
}

/// The gradient with respect to the input: `grad` is `[batch, channels, h_out, w_out]`.
pub fn input_grad(grad: &[f32], weight: &[f32], g: &DepthwiseGeometry) -> Vec<f32> {
    let [_, out_w] = g.output();
    let mut out = vec![0.0f32; g.batch * g.channels * g.input_plane()];
    if out.is_empty() || g.output_plane() == 0 {
        return out;
    }
    let planes = Planes::new(g);
    let taps = planes.taps(g);
    out.par_chunks_mut(g.input_plane())
        .enumerate()
        .for_each_init(
            || (vec![0.0f32; planes.len()], vec![0.0f32; planes.span()]),
            |(buffer, wide), (plane, dx)| {
                vectorised(
                    #[inline(always)]
                    || {
                        let c = plane % g.channels;
                        let dy = &grad[plane * g.output_plane()..][..g.output_plane()];
                        planes.widen(dy, out_w, wide);
                        buffer.fill(0.0);
                        for (&start, &w) in taps.iter().zip(&weight[c * g.taps()..][..g.taps()]) {
                            axpy(w, wide, &mut buffer[start..start + wide.len()]);
                        }
                        planes.store(buffer, g, dx);
                    },
                )
            },
        );
    out
}

/// The gradient with respect to the weight, `[channels, 1, kh, kw]`.
pub fn weight_grad(x: &[f32], grad: &[f32], g: &DepthwiseGeometry) -> Vec<f32> {
    let [_, out_w] = g.output();
    let mut out = vec![0.0f32; g.channels * g.taps()];
    if g.output_plane() == 0 {
        return out;
    }
    let planes = Planes::new(g);
    let taps = planes.taps(g);
    out.par_chunks_mut(g.taps()).enumerate().for_each_init(
        || (vec![0.0f32; planes.len()], vec![0.0f32; planes.span()]),
        |(buffer, wide), (c, dw)| {
            vectorised(
                #[inline(always)]
                || {
                    for b in 0..g.batch {
                        let plane = b * g.channels + c;
                        planes.load(&x[plane * g.input_plane()..][..g.input_plane()], g, buffer);
                        planes.widen(
                            &grad[plane * g.output_plane()..][..g.output_plane()],
                            out_w,
                            wide,
                        );
                        for (&start, dw) in taps.iter().zip(dw.iter_mut()) {
                            *dw += dot(&buffer[start..start + wide.len()], wide);
                        }
                    }
                },
            )
        },
    );
    out
}

/// `y += a · x`.
#[inline(always)]
fn axpy(a: f32, x: &[f32], y: &mut [f32]) {
    for (y, &x) in y.iter_mut().zip(x) {
        *y += a * x;
    }
}

/// `Σ a·b` with eight partial sums (vectorisable; the order differs from a serial sum only by
/// rounding).
#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let (a_chunks, b_chunks) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = a_chunks
        .remainder()
        .iter()
        .zip(b_chunks.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (a, b) in a_chunks.zip(b_chunks) {
        for k in 0..8 {
            lanes[k] += a[k] * b[k];
        }
    }
    lanes.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition, one output value at a time.
    fn naive(x: &[f32], w: &[f32], g: &DepthwiseGeometry) -> Vec<f32> {
        let [oh, ow] = g.output();
        let mut out = vec![0.0; g.batch * g.channels * oh * ow];
        for b in 0..g.batch {
            for c in 0..g.channels {
                for oy in 0..oh {
                    for ox in 0..ow {
                        let mut sum = 0.0;
                        for ky in 0..g.kernel[0] {
                            for kx in 0..g.kernel[1] {
                                let iy = (oy * g.stride[0] + ky) as isize - g.pad_begin[0] as isize;
                                let ix = (ox * g.stride[1] + kx) as isize - g.pad_begin[1] as isize;
                                if iy < 0
                                    || ix < 0
                                    || iy >= g.input[0] as isize
                                    || ix >= g.input[1] as isize
                                {
                                    continue;
                                }
                                let xi = ((b * g.channels + c) * g.input[0] + iy as usize)
                                    * g.input[1]
                                    + ix as usize;
                                sum += x[xi] * w[(c * g.kernel[0] + ky) * g.kernel[1] + kx];
                            }
                        }
                        out[((b * g.channels + c) * oh + oy) * ow + ox] = sum;
                    }
                }
            }
        }
        out
    }

    fn values(n: usize, seed: u32) -> Vec<f32> {
        let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
        (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                (state % 2001) as f32 / 1000.0 - 1.0
            })
            .collect()
    }

    fn geometries() -> Vec<DepthwiseGeometry> {
        let mut all = Vec::new();
        for (kernel, stride, input, pad_begin, pad_end) in [
            (3, 1, [7, 9], [1, 1], [1, 1]),
            (3, 2, [8, 8], [0, 0], [1, 1]),
            (5, 2, [9, 6], [2, 1], [2, 2]),
            (5, 1, [4, 5], [2, 2], [2, 2]),
            (3, 2, [1, 1], [1, 1], [1, 1]),
            (5, 1, [1, 2], [1, 2], [3, 2]),
        ] {
            all.push(DepthwiseGeometry {
                batch: 2,
                channels: 3,
                input,
                kernel: [kernel; 2],
                stride: [stride; 2],
                pad_begin,
                pad_end,
            });
        }
        all
    }

    #[test]
    fn forward_matches_the_definition() {
        for g in geometries() {
            let x = values(g.batch * g.channels * g.input_plane(), 1);
            let w = values(g.channels * g.taps(), 2);
            let fast = forward(&x, &w, None, &g);
            let slow = naive(&x, &w, &g);
            assert_eq!(fast.len(), slow.len(), "{g:?}");
            for (a, b) in fast.iter().zip(&slow) {
                assert!((a - b).abs() < 1e-5, "{g:?}: {a} vs {b}");
            }
        }
    }

    /// Both gradients are the adjoints of the forward map: ⟨dy, F(x)⟩ is linear in x and in w,
    /// so its gradients are exact sums that the definition gives one by one.
    #[test]
    fn gradients_are_the_adjoints_of_the_forward_map() {
        for g in geometries() {
            let x = values(g.batch * g.channels * g.input_plane(), 3);
            let w = values(g.channels * g.taps(), 4);
            let dy = values(g.batch * g.channels * g.output_plane(), 5);
            let dx = input_grad(&dy, &w, &g);
            let dw = weight_grad(&x, &dy, &g);
            let inner = |x: &[f32], w: &[f32]| -> f64 {
                naive(x, w, &g)
                    .iter()
                    .zip(&dy)
                    .map(|(a, b)| (*a as f64) * (*b as f64))
                    .sum()
            };
            for i in 0..x.len() {
                let mut unit = vec![0.0; x.len()];
                unit[i] = 1.0;
                let expected = inner(&unit, &w);
                assert!((dx[i] as f64 - expected).abs() < 1e-4, "{g:?} dx[{i}]");
            }
            for i in 0..w.len() {
                let mut unit = vec![0.0; w.len()];
                unit[i] = 1.0;
                let expected = inner(&x, &unit);
                assert!((dw[i] as f64 - expected).abs() < 1e-4, "{g:?} dw[{i}]");
            }
        }
    }
}
