//! Convolution + batch normalisation + optional ReLU/ReLU6, the unit most CNN blocks are made of.

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::activation::{relu, relu6};
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
            Self::Relu6 => relu6(x),
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
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let x = self.conv.forward(x); // [batch, out, h', w']
        let x = self.bn.forward(x); // [batch, out, h', w']
        self.activation.apply(x)
    }
}
