//! The Shallow Style Representation Block (SSRB): Gram matrices of the backbone's shallow
//! feature maps, embedded into a small style feature per tap.
//!
//! Per tap (choices of ours, the paper gives no sizes): conv 3×3 → `gram_channels` (32), BN,
//! ReLU → Gram matrix `[32, 32]` → conv 3×3 s2 (1 → 16) BN ReLU → conv 3×3 s2 (16 → 32) BN ReLU
//! → global average pool → 32-d, times a learnable scale (initialised to 1).

use burn::module::Param;
use burn::nn::PaddingConfig2d;
use burn::prelude::*;

use super::conv_bn::{ConvBn, ConvBnConfig};
use super::efficientnet::global_average_pool;
use super::gram::gram_matrix;

/// Configuration of a [`StyleBlock`].
#[derive(Config, Debug, PartialEq)]
pub struct StyleBlockConfig {
    /// Channels of the three taps it reads.
    pub tap_channels: [usize; 3],
    /// Channels each tap is reduced to before its Gram matrix (the Gram is this square).
    #[config(default = 32)]
    pub gram_channels: usize,
    /// Channels of the first Gram embedding conv.
    #[config(default = 16)]
    pub embed_hidden: usize,
    /// Size of each tap's style feature.
    #[config(default = 32)]
    pub embed_dim: usize,
}

impl StyleBlockConfig {
    /// Size of the concatenated style feature (three taps).
    pub fn feature_dim(&self) -> usize {
        3 * self.embed_dim
    }

    /// Builds the block with freshly initialised weights.
    pub fn init(&self, device: &Device) -> StyleBlock {
        let conv = |i, o, s| {
            ConvBnConfig::new(i, o, 3)
                .with_stride(s)
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .init(device)
        };
        StyleBlock {
            taps: self
                .tap_channels
                .iter()
                .map(|&c| StyleTap {
                    reduce: conv(c, self.gram_channels, 1),
                    embed1: conv(1, self.embed_hidden, 2),
                    embed2: conv(self.embed_hidden, self.embed_dim, 2),
                    scale: Param::from_tensor(Tensor::ones([1], device)),
                })
                .collect(),
        }
    }
}

/// The style representation of one tap.
#[derive(Module, Debug)]
pub struct StyleTap {
    /// 3×3 conv to `gram_channels`.
    pub reduce: ConvBn,
    /// First Gram embedding conv (stride 2).
    pub embed1: ConvBn,
    /// Second Gram embedding conv (stride 2).
    pub embed2: ConvBn,
    /// Learnable scale of the style feature.
    pub scale: Param<Tensor<1>>,
}

impl StyleTap {
    /// `[batch, c, h, w]` → (style feature `[batch, embed_dim]`, Gram `[batch, g, g]`).
    pub fn forward(&self, tap: Tensor<4>) -> (Tensor<2>, Tensor<3>) {
        let reduced = self.reduce.forward(tap); // [batch, 32, h, w]
        let gram = gram_matrix(reduced); // [batch, 32, 32]
        let [batch, g, _] = gram.dims();
        let x = gram.clone().reshape([batch, 1, g, g]); // [batch, 1, 32, 32]
        let x = self.embed1.forward(x); // [batch, 16, 16, 16]
        let x = self.embed2.forward(x); // [batch, 32, 8, 8]
        let feature = global_average_pool(x); // [batch, 32]
        let feature = feature * self.scale.val().unsqueeze_dim::<2>(0); // [batch, 32]
        (feature, gram)
    }
}

/// The SSRB over three taps.
#[derive(Module, Debug)]
pub struct StyleBlock {
    /// One representation per tap.
    pub taps: Vec<StyleTap>,
}

/// What the style block returns.
#[derive(Debug, Clone)]
pub struct StyleOutput {
    /// The three style features concatenated, `[batch, 3·embed_dim]`.
    pub feature: Tensor<2>,
    /// The three Gram matrices (style-correlation maps), each `[batch, g, g]`.
    pub grams: [Tensor<3>; 3],
}

impl StyleBlock {
    /// Three taps → the style feature and the Gram matrices.
    pub fn forward(&self, taps: [Tensor<4>; 3]) -> StyleOutput {
        let mut features = Vec::with_capacity(3);
        let mut grams = Vec::with_capacity(3);
        for (block, tap) in self.taps.iter().zip(taps) {
            let (feature, gram) = block.forward(tap); // [batch, 32], [batch, 32, 32]
            features.push(feature);
            grams.push(gram);
        }
        let [g1, g2, g3]: [Tensor<3>; 3] = grams
            .try_into()
            .unwrap_or_else(|_| unreachable!("a style block has three taps"));
        StyleOutput {
            feature: Tensor::cat(features, 1), // [batch, 96]
            grams: [g1, g2, g3],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn style_block_shapes() {
        let device = Device::flex();
        let block = StyleBlockConfig::new([4, 6, 8]).init(&device);
        let taps = [
            Tensor::<4>::ones([2, 4, 16, 16], &device),
            Tensor::<4>::ones([2, 6, 8, 8], &device),
            Tensor::<4>::ones([2, 8, 4, 4], &device),
        ];
        let out = block.forward(taps);
        assert_eq!(out.feature.dims(), [2, 96]);
        for g in &out.grams {
            assert_eq!(g.dims(), [2, 32, 32]);
        }
    }
}
