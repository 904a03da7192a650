//! The 68-point face landmark network of face-api (MIT), written in Burn.
//!
//! A 112×112 RGB face crop goes through four densely connected blocks of depthwise-separable
//! convolutions (32, 64, 128, 256 channels, each halving the resolution), a global average and
//! one linear layer giving 68 (x, y) points in [0, 1] of the crop, in the iBUG 300-W order
//! (jaw 0–16, brows 17–26, nose 27–35, eyes 36–47, mouth 48–67).
//!
//! Weights: `assets/weights/face_landmark_68.safetensors`, converted from the npm package by
//! `tools/convert_face_landmark_68.py`; `tools/face_landmark_68_reference.py` is an independent
//! numpy forward pass used for the parity fixture. Convolutions pad as TensorFlow's `same` does
//! (the extra row and column go after the image when a strided convolution needs one).

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::activation::relu;

/// Mean RGB the network's inputs are centred on (then divided by 255).
pub const MEAN_RGB: [f32; 3] = [122.782, 117.001, 104.298];

/// Configuration of a [`Landmark68`].
#[derive(Config, Debug)]
pub struct Landmark68Config {
    /// Output channels of the four dense blocks.
    #[config(default = "[32, 64, 128, 256]")]
    pub channels: [usize; 4],
    /// Number of landmarks.
    #[config(default = 68)]
    pub points: usize,
    /// Side of the square input, in pixels.
    #[config(default = 112)]
    pub input_size: usize,
}

/// Depthwise 3×3 convolution then pointwise 1×1 convolution with bias.
#[derive(Module, Debug)]
pub struct SeparableConv {
    /// Depthwise 3×3, no bias.
    pub depthwise: Conv2d,
    /// Pointwise 1×1, with the block's bias.
    pub pointwise: Conv2d,
}

impl SeparableConv {
    fn new(channels_in: usize, channels_out: usize, stride: usize, device: &Device) -> Self {
        Self {
            depthwise: Conv2dConfig::new([channels_in, channels_in], [3, 3])
                .with_stride([stride, stride])
                .with_groups(channels_in)
                .with_padding(PaddingConfig2d::Same)
                .with_bias(false)
                .init(device),
            pointwise: Conv2dConfig::new([channels_in, channels_out], [1, 1]).init(device),
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.pointwise.forward(self.depthwise.forward(x))
    }
}

/// The first convolution of a dense block: plain in the first block, separable after it.
// Four of these exist per network; boxing the larger variant would save nothing that matters.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum EntryConv {
    /// A plain 3×3 convolution with bias (first block, on RGB).
    Plain(Conv2d),
    /// A separable convolution.
    Separable(SeparableConv),
}

/// Four convolutions, each fed the ReLU of the sum of all earlier outputs; the first one
/// strides by 2.
#[derive(Module, Debug)]
pub struct DenseBlock {
    /// Strided entry convolution.
    pub conv0: EntryConv,
    /// Second convolution.
    pub conv1: SeparableConv,
    /// Third convolution.
    pub conv2: SeparableConv,
    /// Fourth convolution.
    pub conv3: SeparableConv,
}

impl DenseBlock {
    fn new(channels_in: usize, channels_out: usize, first: bool, device: &Device) -> Self {
        let conv0 = if first {
            EntryConv::Plain(
                Conv2dConfig::new([channels_in, channels_out], [3, 3])
                    .with_stride([2, 2])
                    .with_padding(PaddingConfig2d::Same)
                    .init(device),
            )
        } else {
            EntryConv::Separable(SeparableConv::new(channels_in, channels_out, 2, device))
        };
        Self {
            conv0,
            conv1: SeparableConv::new(channels_out, channels_out, 1, device),
            conv2: SeparableConv::new(channels_out, channels_out, 1, device),
            conv3: SeparableConv::new(channels_out, channels_out, 1, device),
        }
    }

    /// `[batch, c_in, h, w]` → `[batch, c_out, h/2, w/2]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let out1 = relu(match &self.conv0 {
            EntryConv::Plain(conv) => conv.forward(x),
            EntryConv::Separable(conv) => conv.forward(x),
        }); // [batch, c_out, h/2, w/2]
        let out2 = self.conv1.forward(out1.clone()); // [batch, c_out, h/2, w/2]
        let out3 = self.conv2.forward(relu(out1.clone() + out2.clone())); // [batch, c_out, h/2, w/2]
        let out4 = self
            .conv3
            .forward(relu(out1.clone() + out2.clone() + out3.clone())); // [batch, c_out, h/2, w/2]
        relu(out1 + out2 + out3 + out4) // [batch, c_out, h/2, w/2]
    }
}

/// The landmark network.
#[derive(Module, Debug)]
pub struct Landmark68 {
    /// 112 → 56.
    pub dense0: DenseBlock,
    /// 56 → 28.
    pub dense1: DenseBlock,
    /// 28 → 14.
    pub dense2: DenseBlock,
    /// 14 → 7.
    pub dense3: DenseBlock,
    /// 256 → 2 · points.
    pub fc: Linear,
}

impl Landmark68Config {
    /// Builds the network with freshly initialised weights.
    pub fn init(&self, device: &Device) -> Landmark68 {
        let [c0, c1, c2, c3] = self.channels;
        Landmark68 {
            dense0: DenseBlock::new(3, c0, true, device),
            dense1: DenseBlock::new(c0, c1, false, device),
            dense2: DenseBlock::new(c1, c2, false, device),
            dense3: DenseBlock::new(c2, c3, false, device),
            fc: LinearConfig::new(c3, 2 * self.points).init(device),
        }
    }
}

impl Landmark68 {
    /// Normalised input `[batch, 3, 112, 112]` (`(rgb - MEAN_RGB) / 255`) → interleaved
    /// `[batch, 2 · points]` coordinates (x0, y0, x1, y1, …) in [0, 1] of the input.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let x = self.dense0.forward(x); // [batch, 32, 56, 56]
        let x = self.dense1.forward(x); // [batch, 64, 28, 28]
        let x = self.dense2.forward(x); // [batch, 128, 14, 14]
        let x = self.dense3.forward(x); // [batch, 256, 7, 7]
        // face-api pools 7×7 with stride 2 and no padding: on a 7×7 map, the global mean.
        let x = super::efficientnet::global_average_pool(x); // [batch, 256]
        self.fc.forward(x) // [batch, 136]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let device = Device::default();
        let net = Landmark68Config::new().init(&device);
        let out = net.forward(Tensor::zeros([2, 3, 112, 112], &device));
        assert_eq!(out.dims(), [2, 136]);
    }
}
