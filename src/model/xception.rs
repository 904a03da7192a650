//! Xception (Chollet 2017), the backbone of the MC-LCR paper. Selectable; no pretrained weights
//! are available here, so it starts from random initialisation.
//!
//! Entry flow: conv 3×3 s2 → 32, conv 3×3 → 64, then three residual blocks of separable
//! convolutions that each halve the resolution (blocks 1–3: 128, 256, 728 channels at strides
//! 4, 8, 16 — the style taps). Middle flow: `middle_blocks` residual blocks of three separable
//! convolutions at 728 channels. Exit flow: a downsampling block to 1024 channels, then
//! separable convolutions to 1536 and 2048.

use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig};
use burn::prelude::*;
use burn::tensor::activation::relu;

use super::conv_bn::{Activation, ConvBn, ConvBnConfig};
use super::efficientnet::BackboneFeatures;

/// Configuration of an [`Xception`].
#[derive(Config, Debug, PartialEq)]
pub struct XceptionConfig {
    /// Channels of entry blocks 1–3 (the style taps).
    #[config(default = "[128, 256, 728]")]
    pub entry_channels: [usize; 3],
    /// Number of middle-flow blocks (8 in the original).
    #[config(default = 8)]
    pub middle_blocks: usize,
    /// Channels of the exit flow: the downsampling block, then the two separable convolutions.
    /// The last is the size of the global feature.
    #[config(default = "[1024, 1536, 2048]")]
    pub exit_channels: [usize; 3],
}

impl XceptionConfig {
    /// A narrow, shallow Xception for tests.
    pub fn tiny() -> Self {
        Self::new()
            .with_entry_channels([16, 24, 32])
            .with_middle_blocks(1)
            .with_exit_channels([48, 64, 96])
    }

    /// Builds the network with freshly initialised weights.
    pub fn init(&self, device: &Device) -> Xception {
        let [c1, c2, c3] = self.entry_channels;
        let [e1, e2, e3] = self.exit_channels;
        let conv = |i, o, s| {
            ConvBnConfig::new(i, o, 3)
                .with_stride(s)
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .init(device)
        };
        Xception {
            conv1: conv(3, 32, 2),
            conv2: conv(32, 64, 1),
            entry: vec![
                XceptionBlock::new(&[64, c1, c1], false, true, device),
                XceptionBlock::new(&[c1, c2, c2], true, true, device),
                XceptionBlock::new(&[c2, c3, c3], true, true, device),
            ],
            middle: (0..self.middle_blocks)
                .map(|_| XceptionBlock::new(&[c3, c3, c3, c3], true, false, device))
                .collect(),
            exit: XceptionBlock::new(&[c3, c3, e1], true, true, device),
            exit_conv1: SeparableConvBn::new(e1, e2, device),
            exit_conv2: SeparableConvBn::new(e2, e3, device),
        }
    }
}

/// Depthwise 3×3 + pointwise 1×1 convolution, then batch norm.
#[derive(Module, Debug)]
pub struct SeparableConvBn {
    /// Depthwise 3×3.
    pub depthwise: Conv2d,
    /// Pointwise 1×1 with its batch norm.
    pub pointwise: ConvBn,
}

impl SeparableConvBn {
    fn new(in_channels: usize, out_channels: usize, device: &Device) -> Self {
        Self {
            depthwise: Conv2dConfig::new([in_channels, in_channels], [3, 3])
                .with_groups(in_channels)
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .with_bias(false)
                .init(device),
            pointwise: ConvBnConfig::new(in_channels, out_channels, 1)
                .with_activation(Activation::None)
                .init(device),
        }
    }

    /// `[batch, in, h, w]` → `[batch, out, h, w]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let x = self.depthwise.forward(x); // [batch, in, h, w]
        self.pointwise.forward(x) // [batch, out, h, w]
    }
}

/// A residual block of ReLU → separable conv units, optionally ending in a stride-2 max pool
/// with a 1×1 stride-2 convolution on the skip path.
#[derive(Module, Debug)]
pub struct XceptionBlock {
    /// The separable convolutions.
    pub convs: Vec<SeparableConvBn>,
    /// Skip projection (when the block changes channels or resolution).
    pub skip: Option<Conv2d>,
    /// Batch norm of the skip projection.
    pub skip_bn: Option<BatchNorm>,
    /// Stride-2 max pool at the end of downsampling blocks.
    pub pool: Option<MaxPool2d>,
    /// Whether a ReLU precedes the first separable conv (false only for entry block 1).
    pub relu_first: bool,
}

impl XceptionBlock {
    /// `channels` lists input then each conv's output channels.
    fn new(channels: &[usize], relu_first: bool, downsample: bool, device: &Device) -> Self {
        let convs = channels
            .windows(2)
            .map(|w| SeparableConvBn::new(w[0], w[1], device))
            .collect();
        let (c_in, c_out) = (channels[0], channels[channels.len() - 1]);
        let project = downsample || c_in != c_out;
        let stride = if downsample { 2 } else { 1 };
        Self {
            convs,
            skip: project.then(|| {
                Conv2dConfig::new([c_in, c_out], [1, 1])
                    .with_stride([stride; 2])
                    .with_bias(false)
                    .init(device)
            }),
            skip_bn: project.then(|| BatchNormConfig::new(c_out).init(device)),
            pool: downsample.then(|| {
                MaxPool2dConfig::new([3, 3])
                    .with_strides([2, 2])
                    .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                    .init()
            }),
            relu_first,
        }
    }

    /// `[batch, c_in, h, w]` → `[batch, c_out, h / s, w / s]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let mut h = x.clone();
        for (i, conv) in self.convs.iter().enumerate() {
            if i > 0 || self.relu_first {
                h = relu(h);
            }
            h = conv.forward(h); // [batch, c_i, h, w]
        }
        if let Some(pool) = &self.pool {
            h = pool.forward(h); // [batch, c_out, h/2, w/2]
        }
        let skip = match (&self.skip, &self.skip_bn) {
            (Some(conv), Some(bn)) => bn.forward(conv.forward(x)), // [batch, c_out, h/s, w/s]
            _ => x,
        };
        h + skip
    }
}

/// The Xception network.
#[derive(Module, Debug)]
pub struct Xception {
    /// 3×3 stride-2 convolution to 32 channels.
    pub conv1: ConvBn,
    /// 3×3 convolution to 64 channels.
    pub conv2: ConvBn,
    /// Entry blocks 1–3 (the style taps).
    pub entry: Vec<XceptionBlock>,
    /// Middle-flow blocks.
    pub middle: Vec<XceptionBlock>,
    /// Exit downsampling block.
    pub exit: XceptionBlock,
    /// Exit separable convolution 1.
    pub exit_conv1: SeparableConvBn,
    /// Exit separable convolution 2 (the global feature's channels).
    pub exit_conv2: SeparableConvBn,
}

impl Xception {
    /// `[batch, 3, H, W]` → taps (strides 4, 8, 16) and the last map (stride 32).
    pub fn forward_features(&self, x: Tensor<4>) -> BackboneFeatures {
        let x = self.conv1.forward(x); // [batch, 32, H/2, W/2]
        let x = self.conv2.forward(x); // [batch, 64, H/2, W/2]
        let t1 = self.entry[0].forward(x); // [batch, 128, H/4, W/4]
        let t2 = self.entry[1].forward(t1.clone()); // [batch, 256, H/8, W/8]
        let t3 = self.entry[2].forward(t2.clone()); // [batch, 728, H/16, W/16]
        let mut x = t3.clone();
        for block in &self.middle {
            x = block.forward(x); // [batch, 728, H/16, W/16]
        }
        let x = self.exit.forward(x); // [batch, 1024, H/32, W/32]
        let x = relu(self.exit_conv1.forward(x)); // [batch, 1536, H/32, W/32]
        let last = relu(self.exit_conv2.forward(x)); // [batch, 2048, H/32, W/32]
        BackboneFeatures {
            taps: [t1, t2, t3],
            last,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiny_xception_has_the_documented_strides() {
        let device = Device::flex();
        let net = XceptionConfig::tiny().init(&device);
        let out = net.forward_features(Tensor::zeros([2, 3, 64, 64], &device));
        assert_eq!(out.taps[0].dims(), [2, 16, 16, 16]);
        assert_eq!(out.taps[1].dims(), [2, 24, 8, 8]);
        assert_eq!(out.taps[2].dims(), [2, 32, 4, 4]);
        assert_eq!(out.last.dims(), [2, 96, 2, 2]);
    }
}
