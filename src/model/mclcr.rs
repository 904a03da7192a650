//! The whole MC-LCR network: spatial stream (backbone + style block), frequency stream, fusion,
//! classifier and the projection head of the supervised contrastive loss.

use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::relu;

use super::backbone::{Backbone, BackboneConfig};
use super::efficientnet::{EfficientNetLiteConfig, global_average_pool};
use super::frequency::{FrequencyStream, FrequencyStreamConfig};
use super::size;
use super::style::{StyleBlock, StyleBlockConfig};

/// Configuration of the whole network. Every design choice the paper leaves open is a field
/// here (see the spec in the module docs of each block).
#[derive(Config, Debug, PartialEq)]
pub struct MclcrConfig {
    /// The spatial backbone.
    pub backbone: BackboneConfig,
    /// Side of the square face crop fed to both streams.
    #[config(default = 256)]
    pub image_size: usize,
    /// Channels each style tap is reduced to (the Gram matrices are this square).
    #[config(default = 32)]
    pub gram_channels: usize,
    /// Size of each tap's style feature.
    #[config(default = 32)]
    pub style_dim: usize,
    /// The frequency stream (its `image_size` must equal this one's).
    pub frequency: FrequencyStreamConfig,
    /// Dropout before the classifier.
    #[config(default = 0.5)]
    pub dropout: f64,
    /// Hidden size of the projection head.
    #[config(default = 256)]
    pub projection_hidden: usize,
    /// Size of the (L2-normalised) projection used by the contrastive loss.
    #[config(default = 128)]
    pub projection_dim: usize,
}

impl MclcrConfig {
    /// The default network: EfficientNet-Lite0, 256×256 faces, 16×16 patches, d = 256.
    pub fn default_config() -> Self {
        Self::new(
            BackboneConfig::EfficientnetLite(EfficientNetLiteConfig::lite0()),
            FrequencyStreamConfig::new(),
        )
    }

    /// The paper's backbone (Xception, random initialisation) with the default streams.
    pub fn xception() -> Self {
        Self::new(
            BackboneConfig::Xception(super::xception::XceptionConfig::new()),
            FrequencyStreamConfig::new(),
        )
    }

    /// A small network for tests: 64×64 faces, 16 patches, narrow layers.
    pub fn tiny() -> Self {
        Self::new(
            BackboneConfig::EfficientnetLite(EfficientNetLiteConfig::tiny()),
            FrequencyStreamConfig::new()
                .with_image_size(64)
                .with_d_model(32)
                .with_heads(2)
                .with_mixer_layers(1),
        )
        .with_image_size(64)
        .with_gram_channels(8)
        .with_style_dim(8)
        .with_projection_hidden(32)
        .with_projection_dim(16)
    }

    /// A configuration by name: `default`, `xception` or `tiny`.
    pub fn named(name: &str) -> Option<Self> {
        match name {
            "default" => Some(Self::default_config()),
            "xception" => Some(Self::xception()),
            "tiny" => Some(Self::tiny()),
            _ => None,
        }
    }

    /// Size of the style block's configuration.
    fn style(&self) -> StyleBlockConfig {
        StyleBlockConfig::new(self.backbone.tap_channels())
            .with_gram_channels(self.gram_channels)
            .with_embed_dim(self.style_dim)
    }

    /// Size of the fused feature `[f_s ‖ f_A ‖ f_Φ]`.
    pub fn feature_dim(&self) -> usize {
        self.backbone.out_channels() + self.style().feature_dim() + 2 * self.frequency.d_model
    }

    /// Checks the configuration; the message says what is wrong.
    pub fn validate(&self) -> Result<(), String> {
        self.backbone.validate()?;
        self.frequency.validate()?;
        if self.frequency.image_size != self.image_size {
            return Err(format!(
                "frequency.image_size {} differs from image_size {}",
                self.frequency.image_size, self.image_size
            ));
        }
        if self.image_size < 32 || !self.image_size.is_multiple_of(32) {
            return Err(format!(
                "image_size {} must be a multiple of 32 (the backbone's stride)",
                self.image_size
            ));
        }
        if self.gram_channels < 4 || self.style_dim == 0 || self.projection_dim == 0 {
            return Err("gram_channels must be ≥ 4, style_dim and projection_dim > 0".into());
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(format!("dropout {} must be in [0, 1)", self.dropout));
        }
        size::check_backbone(&self.backbone)?;
        size::check_frequency(&self.frequency)?;
        size::within("image_size", self.image_size, 32..=2048)?;
        for (what, value) in [
            ("gram_channels", self.gram_channels),
            ("style_dim", self.style_dim),
            ("projection_hidden", self.projection_hidden),
            ("projection_dim", self.projection_dim),
        ] {
            size::within(what, value, 1..=size::MAX_WIDTH)?;
        }
        let bound = size::parameter_bound(
            &self.backbone,
            &self.frequency,
            [
                self.gram_channels,
                self.style_dim,
                self.projection_hidden,
                self.projection_dim,
                self.feature_dim(),
            ],
        );
        if bound > size::MAX_PARAMETERS {
            return Err(format!(
                "the configuration asks for up to {bound} weights, over the limit of {}",
                size::MAX_PARAMETERS
            ));
        }
        Ok(())
    }

    /// Builds the network with freshly initialised weights (the backbone too; see
    /// [`crate::weights::pretrained`] for ImageNet weights). Call [`Self::validate`] first on
    /// configurations that come from users.
    pub fn init(&self, device: &Device) -> Mclcr {
        let feature_dim = self.feature_dim();
        Mclcr {
            backbone: self.backbone.init(device),
            style: self.style().init(device),
            frequency: self.frequency.init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
            classifier: LinearConfig::new(feature_dim, 2).init(device),
            projection1: LinearConfig::new(feature_dim, self.projection_hidden).init(device),
            projection2: LinearConfig::new(self.projection_hidden, self.projection_dim)
                .init(device),
            grid: self.frequency.grid(),
        }
    }
}

/// The MC-LCR network.
#[derive(Module, Debug)]
pub struct Mclcr {
    /// Spatial backbone.
    pub backbone: Backbone,
    /// Shallow Style Representation Block.
    pub style: StyleBlock,
    /// Frequency stream.
    pub frequency: FrequencyStream,
    /// Dropout before the classifier.
    pub dropout: Dropout,
    /// Two-way classifier (index 0 real, 1 manipulated).
    pub classifier: Linear,
    /// Projection head, first layer.
    pub projection1: Linear,
    /// Projection head, second layer.
    pub projection2: Linear,
    /// Patches per side of the attention maps.
    pub grid: usize,
}

/// A batch of prepared faces (see [`crate::inference::preprocess`]).
#[derive(Debug, Clone)]
pub struct MclcrInput {
    /// Normalised RGB `[batch, 3, H, W]`.
    pub rgb: Tensor<4>,
    /// Per-patch log-amplitude spectra `[batch, patches, bins]`.
    pub amplitude: Tensor<3>,
    /// Per-patch phase spectra `[batch, patches, bins]`.
    pub phase: Tensor<3>,
}

/// Everything the forward pass produces.
#[derive(Debug, Clone)]
pub struct MclcrOutput {
    /// Class logits `[batch, 2]` (real, manipulated).
    pub logits: Tensor<2>,
    /// The fused feature `[batch, feature_dim]`.
    pub features: Tensor<2>,
    /// L2-normalised projection `[batch, projection_dim]`.
    pub projection: Tensor<2>,
    /// The three style-correlation (Gram) matrices, each `[batch, g, g]`.
    pub grams: [Tensor<3>; 3],
    /// Amplitude attention over the patch grid `[batch, grid, grid]`.
    pub amplitude_attention: Tensor<3>,
    /// Phase attention over the patch grid `[batch, grid, grid]`.
    pub phase_attention: Tensor<3>,
    /// The backbone's last feature map `[batch, channels, rows, cols]` (what the global
    /// feature averages; training may read it, see [`crate::train::blend_map`]).
    pub spatial: Tensor<4>,
}

impl MclcrOutput {
    /// P(manipulated) per face, `[batch]`.
    pub fn fake_probability(&self) -> Tensor<1> {
        let [batch, _] = self.logits.dims();
        burn::tensor::activation::softmax(self.logits.clone(), 1)
            .narrow(1, 1, 1)
            .reshape([batch]) // [batch]
    }
}

impl Mclcr {
    /// The forward pass.
    pub fn forward(&self, input: MclcrInput) -> MclcrOutput {
        let features = self.backbone.forward_features(input.rgb);
        let spatial = features.last; // [batch, 1280, 8, 8]
        let global = global_average_pool(spatial.clone()); // [batch, 1280]
        let style = self.style.forward(features.taps); // [batch, 96], 3 × [batch, 32, 32]
        let frequency = self.frequency.forward(input.amplitude, input.phase); // 2 × [batch, d]
        let fused = Tensor::cat(
            vec![
                global,
                style.feature,
                frequency.amplitude_feature,
                frequency.phase_feature,
            ],
            1,
        ); // [batch, feature_dim]
        let logits = self.classifier.forward(self.dropout.forward(fused.clone())); // [batch, 2]
        let projection = self.project(fused.clone()); // [batch, 128]
        let [batch, _] = fused.dims();
        let grid = self.grid;
        MclcrOutput {
            logits,
            features: fused,
            projection,
            grams: style.grams,
            amplitude_attention: frequency.amplitude_map.reshape([batch, grid, grid]),
            phase_attention: frequency.phase_map.reshape([batch, grid, grid]),
            spatial,
        }
    }

    /// Projection head: Linear → ReLU → Linear → L2 normalisation, `[batch, d]` → `[batch, 128]`.
    pub fn project(&self, features: Tensor<2>) -> Tensor<2> {
        let z = relu(self.projection1.forward(features)); // [batch, 256]
        let z = self.projection2.forward(z); // [batch, 128]
        let norm = z.clone().powi_scalar(2).sum_dim(1).add_scalar(1e-12).sqrt(); // [batch, 1]
        z / norm // [batch, 128]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::dual_attention::DualAttentionKind;
    use burn::tensor::Distribution;

    fn random_input(config: &MclcrConfig, batch: usize, device: &Device) -> MclcrInput {
        let s = config.image_size;
        let n = config.frequency.patches();
        let bins = config.frequency.spectrum_len();
        MclcrInput {
            rgb: Tensor::random([batch, 3, s, s], Distribution::Default, device),
            amplitude: Tensor::random([batch, n, bins], Distribution::Default, device),
            phase: Tensor::random([batch, n, bins], Distribution::Default, device),
        }
    }

    fn check_shapes(config: MclcrConfig) {
        config.validate().unwrap();
        let device = Device::flex();
        let model = config.init(&device);
        let out = model.forward(random_input(&config, 2, &device));
        let grid = config.frequency.grid();
        let g = config.gram_channels;
        assert_eq!(out.logits.dims(), [2, 2]);
        assert_eq!(out.features.dims(), [2, config.feature_dim()]);
        assert_eq!(out.projection.dims(), [2, config.projection_dim]);
        for gram in &out.grams {
            assert_eq!(gram.dims(), [2, g, g]);
        }
        assert_eq!(out.amplitude_attention.dims(), [2, grid, grid]);
        assert_eq!(out.phase_attention.dims(), [2, grid, grid]);
        let norms = out
            .projection
            .powi_scalar(2)
            .sum_dim(1)
            .into_data()
            .try_into_vec::<f32>()
            .unwrap();
        for n in norms {
            assert!((n - 1.0).abs() < 1e-4, "projection is not unit length: {n}");
        }
    }

    #[test]
    fn tiny_forward_shapes() {
        check_shapes(MclcrConfig::tiny());
    }

    #[test]
    fn tiny_cross_gating_forward_shapes() {
        let mut config = MclcrConfig::tiny();
        config.frequency.dual_attention = DualAttentionKind::CrossGating;
        check_shapes(config);
    }

    #[test]
    fn tiny_xception_forward_shapes() {
        let mut config = MclcrConfig::tiny();
        config.backbone = BackboneConfig::Xception(super::super::xception::XceptionConfig::tiny());
        check_shapes(config);
    }

    #[test]
    fn default_config_dimensions_follow_the_spec() {
        let config = MclcrConfig::default_config();
        config.validate().unwrap();
        // 1280 (Lite0) + 3 × 32 (style) + 2 × 256 (amplitude, phase).
        assert_eq!(config.feature_dim(), 1888);
        assert_eq!(config.frequency.patches(), 256);
        assert_eq!(config.frequency.spectrum_len(), 144);
    }

    #[test]
    fn validate_reports_mismatched_sizes() {
        let config = MclcrConfig::tiny().with_image_size(128);
        let err = config.validate().unwrap_err();
        assert!(err.contains("image_size"), "{err}");
    }

    #[test]
    fn config_round_trips_through_json() {
        let config = MclcrConfig::default_config();
        let json = serde_json::to_string(&config).unwrap();
        let back: MclcrConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(back, config);
    }
}
