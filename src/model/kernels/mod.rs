//! Training kernels: operations whose forward *and* backward pass Burn's CPU backend (flex) runs
//! slowly here, as a Burn backend extension ([`TrainingKernels`]).
//!
//! - [`depthwise_conv2d`]: flex computes a depthwise convolution's weight gradient as one dense
//!   convolution per channel (up to 1 152 per layer in EfficientNet-Lite) and its stride-2
//!   forward pass in scalar loops; [`depthwise`] has vectorised row kernels for all three.
//! - [`batch_norm`]: Burn's training batch norm on flex takes its statistics through a
//!   channel-first copy and runs as chains of broadcast operations, about a dozen passes over the
//!   activation forward and twenty backward; here three and two, with the ReLU6 that follows it
//!   fused in ([`batch_norm::forward`], [`batch_norm::backward`]).
//! - [`gelu`]: flex's exact GELU and its gradient call libm's scalar `erff` on one thread; here
//!   a vectorised `erf` on rayon's threads ([`gelu::gelu_in_place`],
//!   [`gelu::gelu_backward_in_place`]).
//! - [`relu6`]: Burn's ReLU6 is a clamp, two comparisons and two masked fills forward and two
//!   masked fills backward, each a branchy scalar loop over the tensor; here it is one
//!   branch-free pass each way.
//!
//! On flex (plain or under autodiff) these run mclcr's kernels (`kernels/flex.rs`); on every
//! other backend (wgpu)
//! the trait's default bodies, made of Burn's own operations, so the GPU path is unchanged.
//! Under autodiff [`autodiff`] records each as one node whose backward calls the kernels.
//! `kernels::tests` checks values and gradients against Burn's operations and against finite
//! differences.

pub mod autodiff;
pub mod batch_norm;
pub mod depthwise;
mod flex;
pub mod gelu;
pub mod relu6;
mod simd;

use burn::backend::ops::ConvOptions;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Cube, Dispatch, backend_extension};
use burn::prelude::*;
use burn::tensor::{DType, TensorData};

use burn::nn::BatchNorm;
use burn::nn::conv::Conv2d;

use burn::nn::PaddingConfig2d;
use depthwise::DepthwiseGeometry;

/// Operations with a fast CPU forward and backward pass (see the module documentation).
#[backend_extension(Flex, Cube, Autodiff)]
pub trait TrainingKernels: Backend {
    /// Depthwise convolution (`groups` = channels, no bias): `x` `[batch, channels, h, w]`,
    /// `weight` `[channels, 1, kh, kw]`.
    fn depthwise_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        Self::conv2d(x, weight, None, options)
    }

    /// The gradient of [`TrainingKernels::depthwise_conv2d`] with respect to `x`.
    fn depthwise_conv2d_x_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        Self::conv2d_x_backward(x, weight, grad, options)
    }

    /// The gradient of [`TrainingKernels::depthwise_conv2d`] with respect to `weight`.
    fn depthwise_conv2d_weight_backward(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        Self::conv2d_weight_backward(x, weight, grad, options)
    }

    /// `min(max(x, 0), 6)`.
    fn relu6(x: FloatTensor<Self>) -> FloatTensor<Self> {
        Self::float_clamp(x, 0.0.into(), 6.0.into())
    }

    /// The gradient of [`TrainingKernels::relu6`]: `grad` where `0 < x < 6`, else 0 (PyTorch's
    /// rule at the two corners).
    fn relu6_backward(x: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        relu6_backward_by_relu::<Self>(x, grad)
    }

    /// The exact GELU, `x · Φ(x)`.
    fn gelu_exact(x: FloatTensor<Self>) -> FloatTensor<Self> {
        <Self as burn::backend::ops::ActivationOps<Self>>::gelu(x)
    }

    /// The gradient of [`TrainingKernels::gelu_exact`]: `grad · (Φ(x) + x · φ(x))`.
    fn gelu_exact_backward(x: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        <Self as burn::backend::ops::ActivationOps<Self>>::gelu_backward(x, grad)
    }

    /// Batch norm of `x` `[batch, channels, …]` on the batch's own statistics, with `gamma` and
    /// `beta` `[channels]`, clamped to `[0, 6]` when `relu6`: (output, mean, biased variance).
    fn batch_norm_act(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
        relu6: bool,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        batch_norm_act_by_burn::<Self>(x, gamma, beta, epsilon, relu6)
    }

    /// The gradients of [`TrainingKernels::batch_norm_act`] with respect to `x`, `gamma` and
    /// `beta`, given `grad` and the `mean` and `variance` it returned.
    #[allow(clippy::too_many_arguments)]
    fn batch_norm_act_backward(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        mean: FloatTensor<Self>,
        variance: FloatTensor<Self>,
        epsilon: f64,
        relu6: bool,
        grad: FloatTensor<Self>,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let stats = (mean, variance, epsilon);
        batch_norm_act_backward_by_burn::<Self>(x, gamma, beta, stats, relu6, grad)
    }
}

/// [`TrainingKernels::batch_norm_act`] from Burn's own operations.
fn batch_norm_act_by_burn<B: TrainingKernels>(
    x: FloatTensor<B>,
    gamma: FloatTensor<B>,
    beta: FloatTensor<B>,
    epsilon: f64,
    relu6: bool,
) -> (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>) {
    let result = B::batch_norm_train(x, gamma, beta, epsilon);
    let output = if relu6 {
        B::relu6(result.output)
    } else {
        result.output
    };
    (output, result.mean, result.variance)
}

/// [`TrainingKernels::batch_norm_act_backward`] from Burn's own operations: the ReLU6 mask from
/// the recomputed normalisation, then Burn's batch-norm gradient.
fn batch_norm_act_backward_by_burn<B: TrainingKernels>(
    x: FloatTensor<B>,
    gamma: FloatTensor<B>,
    beta: FloatTensor<B>,
    (mean, variance, epsilon): (FloatTensor<B>, FloatTensor<B>, f64),
    relu6: bool,
    grad: FloatTensor<B>,
) -> (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>) {
    let grad = if relu6 {
        let z = B::batch_norm(
            x.clone(),
            gamma.clone(),
            beta,
            mean.clone(),
            variance.clone(),
            epsilon,
        );
        B::relu6_backward(z, grad)
    } else {
        grad
    };
    let result = B::batch_norm_train_backward(x, gamma, mean, variance, epsilon, grad);
    (result.x_grad, result.gamma_grad, result.beta_grad)
}

/// wgpu (and any other cubecl runtime): Burn's own operations.
impl TrainingKernels for Cube {}

/// The ReLU6 gradient from Burn's ReLU backward: `relu_backward(out, g)` keeps `g` where
/// `out > 0`, first where `x > 0`, then where `6 − x > 0`.
fn relu6_backward_by_relu<B: Backend>(x: FloatTensor<B>, grad: FloatTensor<B>) -> FloatTensor<B> {
    let grad = B::relu_backward(B::relu(x.clone()), grad);
    let below_six = B::float_add_scalar(B::float_neg(x), 6.0.into());
    B::relu_backward(B::relu(below_six), grad)
}

/// The geometry of a depthwise convolution (`groups` = channels, one filter per channel, no
/// dilation) of `x` `[batch, channels, h, w]` by `weight` `[out, per group, kh, kw]` under
/// `options`; `None` for any other convolution.
fn depthwise_geometry(
    [batch, channels, h, w]: [usize; 4],
    [out, per_group, kh, kw]: [usize; 4],
    options: &ConvOptions<2>,
) -> Option<DepthwiseGeometry> {
    let depthwise = options.groups == channels
        && out == channels
        && per_group == 1
        && options.dilation == [1, 1];
    depthwise.then(|| DepthwiseGeometry {
        batch,
        channels,
        input: [h, w],
        kernel: [kh, kw],
        stride: options.stride,
        pad_begin: options.padding_begin(),
        pad_end: options.padding_end(),
    })
}

/// The options `conv` runs `x` (`height × width`) with: its stride, groups and dilation, and
/// its padding resolved as Burn's `Conv2d` resolves it.
fn conv_options(conv: &Conv2d, height: usize, width: usize) -> ConvOptions<2> {
    let [_, _, kh, kw] = conv.weight.dims();
    let rows = padding(&conv.padding, 0, kh, conv.stride[0], height);
    let columns = padding(&conv.padding, 1, kw, conv.stride[1], width);
    ConvOptions::new_with_padding(conv.stride, [rows, columns], conv.dilation, conv.groups)
}

/// Whether `x` is an f32 tensor on the plain (no autodiff) flex device.
fn plain_f32_flex(x: &Tensor<4>) -> bool {
    let device = x.device();
    !device.is_autodiff() && device == Device::flex() && x.dtype() == DType::F32
}

/// The geometry [`depthwise_conv2d_with_bias`] runs `conv` on `x` with, if it takes them: a
/// depthwise convolution of a plain f32 flex tensor.
fn depthwise_with_bias_geometry(x: &Tensor<4>, conv: &Conv2d) -> Option<DepthwiseGeometry> {
    let [_, _, height, width] = x.dims();
    let options = conv_options(conv, height, width);
    depthwise_geometry(x.dims(), conv.weight.dims(), &options).filter(|_| plain_f32_flex(x))
}

/// Whether [`depthwise_conv2d_with_bias`] takes `x` and `conv`: a depthwise convolution on a
/// plain (no autodiff) f32 flex tensor.
pub fn takes_depthwise_with_bias(x: &Tensor<4>, conv: &Conv2d) -> bool {
    depthwise_with_bias_geometry(x, conv).is_some()
}

/// A depthwise convolution with its bias on the plain flex device (inference: the batch norm
/// folded in), in one pass; see [`takes_depthwise_with_bias`] (others go to `conv.forward`).
pub fn depthwise_conv2d_with_bias(x: Tensor<4>, conv: &Conv2d) -> Tensor<4> {
    let Some(geometry) = depthwise_with_bias_geometry(&x, conv) else {
        return conv.forward(x);
    };
    let device = x.device();
    let values = |t: Tensor<1>| t.into_data().try_to_vec::<f32>().unwrap_or_default();
    let weight = values(conv.weight.val().flatten(0, 3));
    let bias = conv.bias.as_ref().map(|b| values(b.val()));
    let data = x.into_data();
    let Ok(input) = data.as_slice::<f32>() else {
        return conv.forward(Tensor::from_data(data, &device));
    };
    let [out_h, out_w] = geometry.output();
    let y = depthwise::forward(input, &weight, bias.as_deref(), &geometry);
    Tensor::from_data(
        TensorData::new(y, [geometry.batch, geometry.channels, out_h, out_w]),
        &device,
    )
}

/// `conv.forward(x)`, through [`depthwise_conv2d`] when `conv` is a depthwise convolution
/// without bias or dilation (the backbone's), as one batched matrix product when it is a 1×1
/// convolution on the CPU ([`pointwise_conv2d`]), else Burn's own.
pub fn conv2d(x: Tensor<4>, conv: &Conv2d) -> Tensor<4> {
    let [_, channels, height, width] = x.dims();
    let [_, per_group, kh, kw] = conv.weight.dims();
    let options = conv_options(conv, height, width);
    let pointwise = [kh, kw] == [1, 1]
        && options.stride == [1, 1]
        && options.groups == 1
        && per_group == channels
        && options.padding == [(0, 0); 2];
    if pointwise && x.device() == Device::flex() {
        return pointwise_conv2d(x, conv); // [batch, out, h, w]
    }
    let depthwise = depthwise_geometry(x.dims(), conv.weight.dims(), &options).is_some();
    if !depthwise || conv.bias.is_some() {
        return conv.forward(x); // [batch, out, h', w']
    }
    depthwise_conv2d(x, conv.weight.val(), options) // [batch, channels, h', w']
}

/// A 1×1 convolution as `weight [out, in] × x [in, h·w]` for every image: flex's convolution
/// turns NCHW into NHWC and back around its matrix product, forward and backward, which costs
/// twice the product itself; the batched product needs no layout change, and its backward is
/// two more products (Burn's own).
pub fn pointwise_conv2d(x: Tensor<4>, conv: &Conv2d) -> Tensor<4> {
    let [batch, channels, height, width] = x.dims();
    let [out, _, _, _] = conv.weight.dims();
    let weight = conv.weight.val().reshape([1, out, channels]); // [1, out, in]
    let y = weight.matmul(x.reshape([batch, channels, height * width])); // [batch, out, h·w]
    let y = match &conv.bias {
        Some(bias) => y + bias.val().reshape([1, out, 1]), // [batch, out, h·w]
        None => y,
    };
    y.reshape([batch, out, height, width]) // [batch, out, h, w]
}

/// [`TrainingKernels::depthwise_conv2d`] on a [`Tensor`] (any device; recorded for autodiff).
pub fn depthwise_conv2d(x: Tensor<4>, weight: Tensor<4>, options: ConvOptions<2>) -> Tensor<4> {
    Tensor::from_dispatch(Dispatch::depthwise_conv2d(
        x.into_dispatch(),
        weight.into_dispatch(),
        options,
    ))
}

/// `bn` then (when `relu6`) ReLU6 on `x` `[batch, channels, h, w]`. A batch norm that trains
/// (on an autodiff device, not frozen) runs as one [`TrainingKernels::batch_norm_act`] and
/// moves its running statistics as Burn's `BatchNorm` does; any other runs Burn's own.
pub fn batch_norm(bn: &BatchNorm, x: Tensor<4>, relu6: bool) -> Tensor<4> {
    if !(x.device().is_autodiff() && bn.training.is_enabled()) {
        let y = bn.forward(x); // [batch, channels, h, w]
        return if relu6 { self::relu6(y) } else { y };
    }
    let device = x.device();
    let (y, mean, variance) = Dispatch::batch_norm_act(
        x.into_dispatch(),
        bn.gamma.val().into_dispatch(),
        bn.beta.val().into_dispatch(),
        bn.epsilon,
        relu6,
    );
    let (mean, variance) = (
        Tensor::<1>::from_dispatch(mean),     // [channels]
        Tensor::<1>::from_dispatch(variance), // [channels]
    );
    let momentum = bn.momentum;
    let moved = |running: Tensor<1>, batch: Tensor<1>| {
        running
            .to_device(&device)
            .mul_scalar(1.0 - momentum)
            .add(batch.detach().mul_scalar(momentum))
            .detach()
    };
    bn.running_mean
        .update(moved(bn.running_mean.value_sync(), mean));
    bn.running_var
        .update(moved(bn.running_var.value_sync(), variance));
    Tensor::from_dispatch(y) // [batch, channels, h, w]
}

/// [`TrainingKernels::gelu_exact`] on a [`Tensor`] (any device; recorded for autodiff).
pub fn gelu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    Tensor::from_dispatch(Dispatch::gelu_exact(x.into_dispatch()))
}

/// [`TrainingKernels::relu6`] on a [`Tensor`] (any device; recorded for autodiff).
pub fn relu6<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    Tensor::from_dispatch(Dispatch::relu6(x.into_dispatch()))
}

/// (before, after) padding of axis `axis` (0: rows, 1: columns), as Burn's `Conv2d` computes it.
pub(crate) fn padding(
    config: &PaddingConfig2d,
    axis: usize,
    kernel: usize,
    stride: usize,
    size: usize,
) -> (usize, usize) {
    match config {
        PaddingConfig2d::Valid => (0, 0),
        PaddingConfig2d::Same => {
            let out = size.div_ceil(stride);
            let total = (out.saturating_sub(1) * stride + kernel).saturating_sub(size);
            (total / 2, total - total / 2)
        }
        &PaddingConfig2d::Explicit(top, left, bottom, right) => {
            if axis == 0 {
                (top, bottom)
            } else {
                (left, right)
            }
        }
    }
}

#[cfg(test)]
mod tests;
