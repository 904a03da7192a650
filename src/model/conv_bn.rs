//! Convolution + batch normalisation + optional ReLU/ReLU6, the unit most CNN blocks are made of.

use burn::module::Param;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::activation::relu;
use serde::{Deserialize, Serialize};

/// The activation after the batch norm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Activation {
    /// No activation (linear bottleneck).
    #[default]
    None,
    /// max(x, 0).
    Relu,
    /// min(max(x, 0), 6), as in EfficientNet-Lite.
    Relu6,
}

impl Activation {
    /// Applies the activation.
    pub fn apply<const D: usize>(self, x: Tensor<D>) -> Tensor<D> {
        match self {
            Self::None => x,
            Self::Relu => relu(x),
            Self::Relu6 => super::cpu_ops::relu6(x),
        }
    }
}

/// Configuration of a [`ConvBn`].
#[derive(Config, Debug)]
pub struct ConvBnConfig {
    /// Input channels.
    pub in_channels: usize,
    /// Output channels.
    pub out_channels: usize,
    /// Square kernel size.
    pub kernel: usize,
    /// Stride (both axes).
    #[config(default = 1)]
    pub stride: usize,
    /// Groups (`in_channels` for a depthwise convolution).
    #[config(default = 1)]
    pub groups: usize,
    /// Padding. `Same` is TensorFlow's rule (asymmetric for strided convs at even sizes), the
    /// one EfficientNet-Lite was trained with.
    #[config(default = "PaddingConfig2d::Same")]
    pub padding: PaddingConfig2d,
    /// Batch-norm epsilon.
    #[config(default = 1e-5)]
    pub bn_epsilon: f64,
    /// Activation after the batch norm.
    #[config(default = "Activation::Relu")]
    pub activation: Activation,
}

/// Convolution (no bias) → batch norm → activation.
#[derive(Module, Debug)]
pub struct ConvBn {
    /// The convolution.
    pub conv: Conv2d,
    /// The batch norm.
    pub bn: BatchNorm,
    /// The activation.
    #[module(skip)]
    pub activation: Activation,
}

impl ConvBnConfig {
    /// Builds the block with freshly initialised weights.
    pub fn init(&self, device: &Device) -> ConvBn {
        ConvBn {
            conv: Conv2dConfig::new([self.in_channels, self.out_channels], [self.kernel; 2])
                .with_stride([self.stride; 2])
                .with_groups(self.groups)
                .with_padding(self.padding.clone())
                .with_bias(false)
                .init(device),
            bn: BatchNormConfig::new(self.out_channels)
                .with_epsilon(self.bn_epsilon)
                .init(device),
            activation: self.activation,
        }
    }
}

impl ConvBn {
    /// `[batch, in, h, w]` → `[batch, out, h / stride, w / stride]`.
    ///
    /// Off an autodiff device the batch norm can only run on its running statistics, so it is
    /// folded into the convolution: weights scaled by `γ / √(σ² + ε)` per output channel and
    /// a bias `β − μ · γ / √(σ² + ε)`, one pass over the output instead of the batch norm's
    /// four. On an autodiff device the two stay separate (training statistics, gradients), and
    /// a ReLU6 runs inside the batch norm's kernel ([`super::kernels::batch_norm`]).
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        if x.device().is_autodiff() {
            let x = super::kernels::conv2d(x, &self.conv); // [batch, out, h', w']
            // ReLU6 is fused into the batch norm's kernel, forward and backward.
            return match self.activation {
                Activation::Relu6 => super::kernels::batch_norm(&self.bn, x, true),
                other => other.apply(super::kernels::batch_norm(&self.bn, x, false)),
            }; // [batch, out, h', w']
        }
        let x = super::cpu_ops::conv2d(x, &self.folded()); // [batch, out, h', w']
        self.activation.apply(x)
    }

    /// The convolution with the batch norm (running statistics) folded in.
    fn folded(&self) -> Conv2d {
        let bn = &self.bn;
        let scale = bn.gamma.val() / bn.running_var.value().add_scalar(bn.epsilon).sqrt(); // [out]
        let shift = bn.beta.val() - bn.running_mean.value() * scale.clone(); // [out]
        let [out] = scale.dims();
        let bias = match &self.conv.bias {
            Some(b) => b.val() * scale.clone() + shift,
            None => shift,
        }; // [out]
        let weight = self.conv.weight.val() * scale.reshape([out, 1, 1, 1]); // [out, in/g, k, k]
        Conv2d {
            weight: Param::from_tensor(weight),
            bias: Some(Param::from_tensor(bias)),
            stride: self.conv.stride,
            kernel_size: self.conv.kernel_size,
            dilation: self.conv.dilation,
            groups: self.conv.groups,
            padding: self.conv.padding.clone(),
        }
    }
}
