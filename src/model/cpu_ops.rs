//! CPU inference fast paths for a few operations Burn's `flex` backend does slowly here.
//!
//! - ReLU6 (a clamp) and the exact GELU run in flex as scalar loops on one thread (GELU through
//!   libm's `erff`). On the plain flex device (inference: no autodiff) [`relu6`] and [`gelu`]
//!   take the tensor's buffer (no copy when it is not shared), apply a branch-free loop that
//!   the compiler vectorises, split across rayon's threads for large tensors, and hand the
//!   buffer back.
//! - [`conv2d`]: dense convolutions with few input values per output (the RGB stem) as
//!   im2col + one matrix product per image; depthwise ones with their bias through
//!   [`super::kernels`]' row kernels.
//!
//! On every other device they use Burn's operations (under autodiff, ReLU6, GELU and depthwise
//! convolutions go to [`super::kernels`], with their own backward pass; `erf` lives there).
//! The results match Burn's to rounding: ReLU6 exactly (NaN and −0 included); GELU to about
//! 6·10⁻⁷ absolute in `erf` (Abramowitz & Stegun 7.1.26, the formula PyTorch's vectorised CPU
//! `erf` uses); the convolution to float summation order. `tools/bench/bench.py --stages` shows their effect.

use burn::nn::conv::Conv2d;
use burn::prelude::*;
use rayon::prelude::*;

use super::kernels::gelu::gelu_slice;
use super::kernels::padding;
use super::kernels::relu6::relu6_slice;

/// Elements per rayon task; smaller tensors run on the calling thread.
const CHUNK: usize = 1 << 14;

/// ReLU6, `min(max(x, 0), 6)`.
pub fn relu6<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    map_on_flex(x, relu6_slice, super::kernels::relu6)
}

/// GELU, exact form `x · Φ(x) = x/2 · (1 + erf(x/√2))`.
pub fn gelu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    map_on_flex(x, gelu_slice, super::kernels::gelu)
}

/// Applies `f` to the values of `x` in place when `x` lives on the plain flex device as f32;
/// otherwise `burn_op(x)`.
fn map_on_flex<const D: usize>(
    x: Tensor<D>,
    f: fn(&mut [f32]),
    burn_op: fn(Tensor<D>) -> Tensor<D>,
) -> Tensor<D> {
    let device = x.device();
    // Device equality ignores autodiff: check it separately (the buffer round trip would cut
    // the tensor out of the autodiff graph).
    if device.is_autodiff() || device != Device::flex() || x.dtype() != burn::tensor::DType::F32 {
        return burn_op(x);
    }
    let mut data = x.into_data();
    match data.as_mut_slice::<f32>() {
        Ok(values) if values.len() >= 4 * CHUNK => {
            values.par_chunks_mut(CHUNK).for_each(f);
        }
        Ok(values) => f(values),
        // Not reachable for an f32 tensor; let Burn do it.
        Err(_) => return burn_op(Tensor::from_data(data, &device)),
    }
    Tensor::from_data(data, &device)
}

/// Largest `channels · kh · kw` [`conv2d`] takes on its im2col path. Above it flex's own tiled im2col +
/// gemm is as fast or faster (measured on the style block's 16- to 40-channel 3×3 convolutions).
const MAX_IM2COL_ROWS: usize = 32;

/// A dense (`groups` = 1) convolution with a bias and few input values per output
/// (`channels · kh · kw` ≤ 32: the RGB stem, the style block's one-channel Gram embedding) on
/// the plain flex device, as im2col (built here, one image at a time, in parallel over its
/// rows) and one matrix product per image (the bias rides along as an extra row of ones).
/// Flex's own dense path converts to NHWC and builds im2col tiles of 512 positions, an inner
/// loop of only 3 channels for the stem, then scatters each tile's product back to NCHW: about
/// three times slower there. Depthwise convolutions go to
/// [`super::kernels::depthwise_conv2d_with_bias`]; every other convolution to
/// [`super::kernels::conv2d`] (1×1 ones as a matrix product on the CPU, the rest to
/// `conv.forward`).
pub fn conv2d(x: Tensor<4>, conv: &Conv2d) -> Tensor<4> {
    if super::kernels::takes_depthwise_with_bias(&x, conv) {
        return super::kernels::depthwise_conv2d_with_bias(x, conv);
    }
    let device = x.device();
    let [out_channels, in_channels, kh, kw] = conv.weight.dims();
    let usable = !device.is_autodiff()
        && device == Device::flex()
        && x.dtype() == burn::tensor::DType::F32
        && conv.groups == 1
        && conv.dilation == [1, 1]
        && kh * kw > 1
        && in_channels * kh * kw <= MAX_IM2COL_ROWS;
    let (Some(bias), [batch, channels, height, width]) = (conv.bias.as_ref(), x.dims()) else {
        return super::kernels::conv2d(x, conv);
    };
    if !usable || channels != in_channels {
        return super::kernels::conv2d(x, conv);
    }
    let (top, bottom) = padding(&conv.padding, 0, kh, conv.stride[0], height);
    let (left, right) = padding(&conv.padding, 1, kw, conv.stride[1], width);
    let (padded_h, padded_w) = (height + top + bottom, width + left + right);
    if padded_h < kh || padded_w < kw {
        return super::kernels::conv2d(x, conv);
    }
    let geometry = Geometry {
        channels,
        height,
        width,
        kernel: [kh, kw],
        stride: conv.stride,
        before: [top, left],
        out: [
            (padded_h - kh) / conv.stride[0] + 1,
            (padded_w - kw) / conv.stride[1] + 1,
        ],
    };
    let k = channels * kh * kw;
    let weight = Tensor::cat(
        vec![
            conv.weight.val().reshape([out_channels, k]),
            bias.val().reshape([out_channels, 1]),
        ],
        1,
    ); // [out, k + 1]
    let data = x.into_data();
    let Ok(values) = data.as_slice::<f32>() else {
        return super::kernels::conv2d(Tensor::from_data(data, &device), conv);
    };
    let [oh, ow] = geometry.out;
    let image_len = channels * height * width;
    let outputs: Vec<Tensor<2>> = values
        .chunks_exact(image_len)
        .map(|image| {
            let cols = geometry.im2col(image); // [k + 1, oh · ow]
            let cols = Tensor::<2>::from_data(TensorData::new(cols, [k + 1, oh * ow]), &device);
            weight.clone().matmul(cols) // [out, oh · ow]
        })
        .collect();
    Tensor::stack::<3>(outputs, 0).reshape([batch, out_channels, oh, ow])
}

/// Shapes of one image's convolution.
struct Geometry {
    channels: usize,
    height: usize,
    width: usize,
    kernel: [usize; 2],
    stride: [usize; 2],
    before: [usize; 2],
    out: [usize; 2],
}

impl Geometry {
    /// `[channels · kh · kw + 1, oh · ow]`: row `(c, i, j)` holds input channel `c` at kernel
    /// offset `(i, j)` for every output position (0 in the padding); the last row is ones.
    fn im2col(&self, image: &[f32]) -> Vec<f32> {
        let [kh, kw] = self.kernel;
        let [oh, ow] = self.out;
        let plane = oh * ow;
        let rows = self.channels * kh * kw;
        let mut cols = vec![0.0f32; (rows + 1) * plane];
        let (body, ones) = cols.split_at_mut(rows * plane);
        ones.fill(1.0);
        body.par_chunks_mut(plane)
            .enumerate()
            .for_each(|(row, out)| {
                let (c, i, j) = (row / (kh * kw), row / kw % kh, row % kw);
                let channel = &image[c * self.height * self.width..][..self.height * self.width];
                for (y, out_row) in out.chunks_exact_mut(ow).enumerate() {
                    let Some(iy) = (y * self.stride[0] + i).checked_sub(self.before[0]) else {
                        continue;
                    };
                    if iy >= self.height {
                        continue;
                    }
                    let src = &channel[iy * self.width..][..self.width];
                    for (x, o) in out_row.iter_mut().enumerate() {
                        if let Some(ix) = (x * self.stride[1] + j).checked_sub(self.before[1])
                            && ix < self.width
                        {
                            *o = src[ix];
                        }
                    }
                }
            });
        cols
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::PaddingConfig2d;
    use burn::tensor::Distribution;
    use burn::tensor::activation;

    #[test]
    fn activations_match_burn_on_flex() {
        let device = Device::flex();
        let values: Vec<f32> = (0..100_000)
            .map(|i| (i as f32 - 50_000.0) / 3000.0)
            .collect();
        let x = Tensor::<1>::from_floats(values.as_slice(), &device).reshape([10, 10_000]);
        let ours = relu6(x.clone()).into_data().try_to_vec::<f32>().unwrap();
        let burn = activation::relu6(x.clone())
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        assert_eq!(ours, burn);
        let ours = gelu(x.clone()).into_data().try_to_vec::<f32>().unwrap();
        let burn = activation::gelu(x.clone())
            .into_data()
            .try_to_vec::<f32>()
            .unwrap();
        for (a, b) in ours.iter().zip(&burn) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
        // The input is still usable (its buffer was shared, so it was copied).
        assert_eq!(x.dims(), [10, 10_000]);
    }

    #[test]
    fn autodiff_tensors_keep_their_gradients() {
        let device = Device::flex().autodiff();
        let x = Tensor::<1>::from_floats([-1.0, 0.5, 2.0, 7.0], &device).require_grad();
        let y = (relu6(x.clone()) + gelu(x.clone())).sum();
        let grads = y.backward();
        let g = x.grad(&grads).expect("x has a gradient");
        let g = g.into_data().try_to_vec::<f32>().unwrap();
        // relu6' + gelu' at 2.0: 1 + 1.0852; at 7.0: 0 + 1.0.
        assert!(
            (g[2] - 2.0852).abs() < 1e-3 && (g[3] - 1.0).abs() < 1e-4,
            "{g:?}"
        );
    }

    #[test]
    fn im2col_convolution_matches_burn() {
        use burn::nn::conv::Conv2dConfig;
        let device = Device::flex();
        let cases = [
            (3, 8, 3, 2, PaddingConfig2d::Same, 17),
            (3, 5, 3, 1, PaddingConfig2d::Explicit(1, 1, 1, 1), 9),
            (1, 6, 3, 2, PaddingConfig2d::Explicit(1, 1, 1, 1), 8),
            (1, 3, 5, 2, PaddingConfig2d::Same, 12),
            (2, 3, 3, 1, PaddingConfig2d::Valid, 7),
            (3, 4, 3, 2, PaddingConfig2d::Explicit(0, 1, 2, 0), 10),
            (4, 5, 3, 1, PaddingConfig2d::Explicit(1, 1, 1, 1), 9), // flex's own path
        ];
        for (c_in, c_out, k, s, padding, side) in cases {
            let conv = Conv2dConfig::new([c_in, c_out], [k, k])
                .with_stride([s, s])
                .with_padding(padding)
                .init(&device);
            let x = Tensor::<4>::random([2, c_in, side, side], Distribution::Default, &device);
            let expected = conv.forward(x.clone());
            let ours = conv2d(x, &conv);
            assert_eq!(ours.dims(), expected.dims());
            let diff: f32 = (ours - expected).abs().max().into_scalar();
            assert!(diff < 1e-5, "k{k} s{s}: {diff}");
        }
    }

    #[test]
    fn relu6_keeps_nan_and_signed_zero() {
        let mut v = [f32::NAN, -0.0, -1.0, 7.0, 3.5];
        relu6_slice(&mut v);
        assert!(v[0].is_nan());
        assert!(v[1] == 0.0 && v[1].is_sign_negative());
        assert_eq!(&v[2..], &[0.0, 6.0, 3.5]);
    }
}
