//! EfficientNet-Lite (Tan & Le 2019, the "lite" variant for mobile: ReLU6, no squeeze-excite,
//! fixed stem and head), the default spatial backbone. ImageNet weights for Lite0 ship in
//! `assets/weights/` (see [`crate::weights::pretrained`]).
//!
//! The block list is flat (`blocks.0` … `blocks.15` for Lite0), the same order as the
//! reference implementation's `_blocks.N`, so the pretrained keys map one to one.

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;

use super::conv_bn::{Activation, ConvBn, ConvBnConfig};

/// One stage of MBConv blocks.
#[derive(Config, Debug, PartialEq)]
pub struct MbStageConfig {
    /// Number of blocks in the stage.
    pub repeats: usize,
    /// Depthwise kernel size.
    pub kernel: usize,
    /// Stride of the first block (the others have stride 1).
    pub stride: usize,
    /// Expansion ratio of the inverted bottleneck.
    pub expand: usize,
    /// Output channels.
    pub channels: usize,
}

/// Configuration of an [`EfficientNetLite`].
#[derive(Config, Debug, PartialEq)]
pub struct EfficientNetLiteConfig {
    /// Channels of the stem convolution (3×3, stride 2).
    pub stem_channels: usize,
    /// The MBConv stages.
    pub stages: Vec<MbStageConfig>,
    /// Channels of the 1×1 head convolution; the backbone's global feature has this size.
    pub head_channels: usize,
    /// Stages whose outputs feed the style block. Lite0's first three downsampling stages
    /// (strides 2, 4, 8; 16, 24, 40 channels) are stages 0, 1, 2.
    #[config(default = "[0, 1, 2]")]
    pub tap_stages: [usize; 3],
    /// Batch-norm epsilon (1e-3 in the reference weights).
    #[config(default = 1e-3)]
    pub bn_epsilon: f64,
    /// Size of an ImageNet classifier on top (1000 to check pretrained weights); `None` in MC-LCR.
    #[config(default = "None")]
    pub classes: Option<usize>,
}

impl EfficientNetLiteConfig {
    /// Blocks in the first `stages` stages (all of them when `stages` exceeds the count).
    pub fn blocks_in_stages(&self, stages: usize) -> usize {
        self.stages.iter().take(stages).map(|s| s.repeats).sum()
    }

    /// EfficientNet-Lite0: 4.7 M parameters, 1280-d feature.
    pub fn lite0() -> Self {
        let stage = MbStageConfig::new;
        Self::new(
            32,
            vec![
                stage(1, 3, 1, 1, 16),
                stage(2, 3, 2, 6, 24),
                stage(2, 5, 2, 6, 40),
                stage(3, 3, 2, 6, 80),
                stage(3, 5, 1, 6, 112),
                stage(4, 5, 2, 6, 192),
                stage(1, 3, 1, 6, 320),
            ],
            1280,
        )
    }

    /// A small network of the same shape for tests: 4 stages, 64-d feature.
    pub fn tiny() -> Self {
        let stage = MbStageConfig::new;
        Self::new(
            8,
            vec![
                stage(1, 3, 1, 1, 8),
                stage(1, 3, 2, 2, 12),
                stage(1, 3, 2, 2, 16),
                stage(1, 3, 2, 2, 24),
            ],
            64,
        )
    }

    /// Channels of the three tapped stages.
    pub fn tap_channels(&self) -> [usize; 3] {
        self.tap_stages.map(|s| self.stages[s].channels)
    }

    /// Builds the network with freshly initialised weights.
    pub fn init(&self, device: &Device) -> EfficientNetLite {
        let conv = |i, o, k, s, g, act| {
            ConvBnConfig::new(i, o, k)
                .with_stride(s)
                .with_groups(g)
                .with_bn_epsilon(self.bn_epsilon)
                .with_activation(act)
                .init(device)
        };
        let stem = conv(3, self.stem_channels, 3, 2, 1, Activation::Relu6);
        let mut blocks = Vec::new();
        let mut stage_ends = Vec::new();
        let mut channels = self.stem_channels;
        for stage in &self.stages {
            for r in 0..stage.repeats {
                let stride = if r == 0 { stage.stride } else { 1 };
                let hidden = channels * stage.expand;
                blocks.push(MbConv {
                    expand: (stage.expand != 1)
                        .then(|| conv(channels, hidden, 1, 1, 1, Activation::Relu6)),
                    depthwise: conv(
                        hidden,
                        hidden,
                        stage.kernel,
                        stride,
                        hidden,
                        Activation::Relu6,
                    ),
                    project: conv(hidden, stage.channels, 1, 1, 1, Activation::None),
                    residual: stride == 1 && channels == stage.channels,
                });
                channels = stage.channels;
            }
            stage_ends.push(blocks.len() - 1);
        }
        let head = conv(channels, self.head_channels, 1, 1, 1, Activation::Relu6);
        EfficientNetLite {
            stem,
            blocks,
            head,
            classifier: self
                .classes
                .map(|n| LinearConfig::new(self.head_channels, n).init(device)),
            tap_blocks: self.tap_stages.map(|s| stage_ends[s]),
        }
    }
}

/// Inverted residual block without squeeze-excite: expand 1×1 → depthwise k×k → project 1×1.
#[derive(Module, Debug)]
pub struct MbConv {
    /// 1×1 expansion (absent when the expansion ratio is 1).
    pub expand: Option<ConvBn>,
    /// Depthwise convolution, carries the stride.
    pub depthwise: ConvBn,
    /// 1×1 linear projection.
    pub project: ConvBn,
    /// Whether the input is added back (stride 1 and same channels).
    pub residual: bool,
}

impl MbConv {
    /// `[batch, c_in, h, w]` → `[batch, c_out, h / stride, w / stride]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let h = match &self.expand {
            Some(expand) => expand.forward(x.clone()), // [batch, c_in·e, h, w]
            None => x.clone(),
        };
        let h = self.depthwise.forward(h); // [batch, c_in·e, h/s, w/s]
        let h = self.project.forward(h); // [batch, c_out, h/s, w/s]
        if self.residual { h + x } else { h }
    }
}

/// The EfficientNet-Lite network.
#[derive(Module, Debug)]
pub struct EfficientNetLite {
    /// 3×3 stride-2 stem.
    pub stem: ConvBn,
    /// All MBConv blocks, in order.
    pub blocks: Vec<MbConv>,
    /// 1×1 head convolution.
    pub head: ConvBn,
    /// Optional ImageNet classifier.
    pub classifier: Option<Linear>,
    /// Indices of the blocks whose outputs are the three style taps.
    pub tap_blocks: [usize; 3],
}

/// What a backbone hands to the rest of MC-LCR.
#[derive(Debug, Clone)]
pub struct BackboneFeatures {
    /// Outputs of the three shallow stages, e.g. `[batch, 16, H/2, W/2]`, `[batch, 24, H/4, W/4]`,
    /// `[batch, 40, H/8, W/8]` for Lite0.
    pub taps: [Tensor<4>; 3],
    /// The last feature map, `[batch, head_channels, H/32, W/32]`.
    pub last: Tensor<4>,
}

impl EfficientNetLite {
    /// The stem and the first `blocks` blocks frozen (no gradient, no autodiff graph: they cost
    /// a forward pass only), the rest as they were.
    pub fn freeze_first(mut self, blocks: usize) -> Self {
        self.stem = self.stem.freeze();
        self.blocks = self
            .blocks
            .into_iter()
            .enumerate()
            .map(|(i, block)| if i < blocks { block.freeze() } else { block })
            .collect();
        self
    }

    /// `[batch, 3, H, W]` (normalised as in [`crate::inference::preprocess`]) → taps and last feature map.
    pub fn forward_features(&self, x: Tensor<4>) -> BackboneFeatures {
        let mut x = self.stem.forward(x); // [batch, 32, H/2, W/2]
        let mut taps = Vec::with_capacity(3);
        for (i, block) in self.blocks.iter().enumerate() {
            x = block.forward(x); // [batch, c_i, H/s_i, W/s_i]
            if self.tap_blocks.contains(&i) {
                taps.push(x.clone());
            }
        }
        let last = self.head.forward(x); // [batch, 1280, H/32, W/32]
        let taps: [Tensor<4>; 3] = taps
            .try_into()
            .unwrap_or_else(|_| panic!("tap_blocks must name three distinct blocks"));
        BackboneFeatures { taps, last }
    }

    /// ImageNet logits `[batch, classes]`; `None` when the network has no classifier.
    pub fn forward_classifier(&self, x: Tensor<4>) -> Option<Tensor<2>> {
        let classifier = self.classifier.as_ref()?;
        let last = self.forward_features(x).last; // [batch, 1280, h, w]
        let pooled = global_average_pool(last); // [batch, 1280]
        Some(classifier.forward(pooled)) // [batch, classes]
    }
}

/// `[batch, c, h, w]` → `[batch, c]`, the mean over the spatial axes.
pub fn global_average_pool(x: Tensor<4>) -> Tensor<2> {
    let [batch, channels, _, _] = x.dims();
    x.mean_dim(3).mean_dim(2).reshape([batch, channels]) // [batch, c]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lite0_taps_have_the_documented_shapes() {
        let device = Device::flex();
        let config = EfficientNetLiteConfig::lite0();
        assert_eq!(config.tap_channels(), [16, 24, 40]);
        let net = config.init(&device);
        assert_eq!(net.blocks.len(), 16);
        let x = Tensor::<4>::zeros([1, 3, 64, 64], &device);
        let out = net.forward_features(x);
        assert_eq!(out.taps[0].dims(), [1, 16, 32, 32]);
        assert_eq!(out.taps[1].dims(), [1, 24, 16, 16]);
        assert_eq!(out.taps[2].dims(), [1, 40, 8, 8]);
        assert_eq!(out.last.dims(), [1, 1280, 2, 2]);
    }

    #[test]
    fn classifier_gives_one_logit_per_class() {
        let device = Device::flex();
        let net = EfficientNetLiteConfig::tiny()
            .with_classes(Some(7))
            .init(&device);
        let logits = net
            .forward_classifier(Tensor::zeros([2, 3, 32, 32], &device))
            .unwrap();
        assert_eq!(logits.dims(), [2, 7]);
    }
}
