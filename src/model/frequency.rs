//! The frequency stream: embeddings of the per-patch log-amplitude and phase spectra with
//! position, the PA-PDA dual attention, MLP-Mixer layers and average pooling.
//!
//! The spectra themselves are computed from the grayscale face on the CPU
//! ([`crate::inference::spectrum`]); the paper applies the DFT to the input image, so no gradient has to
//! flow through it.

use burn::module::Param;
use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::Distribution;

use super::dual_attention::{DualAttention, DualAttentionConfig, DualAttentionKind};
use super::mixer::{MixerLayer, MixerLayerConfig};

/// Values in a one-sided spectrum of a `p × p` patch: `p · (p/2 + 1)` (the layout of the
/// stream's input, which [`crate::inference::spectrum`] computes).
pub fn one_sided_len(patch: usize) -> usize {
    patch * (patch / 2 + 1)
}

/// Configuration of a [`FrequencyStream`].
#[derive(Config, Debug, PartialEq)]
pub struct FrequencyStreamConfig {
    /// Side of the square face crop, in pixels (a multiple of `patch_size`).
    #[config(default = 256)]
    pub image_size: usize,
    /// Side of a patch, a power of two (16 → 256 patches at 256×256).
    #[config(default = 16)]
    pub patch_size: usize,
    /// Token width.
    #[config(default = 256)]
    pub d_model: usize,
    /// Attention heads of the dual attention.
    #[config(default = 4)]
    pub heads: usize,
    /// Which reading of PA-PDA.
    #[config(default = "DualAttentionKind::CrossAttention")]
    pub dual_attention: DualAttentionKind,
    /// MLP-Mixer layers per modality.
    #[config(default = 2)]
    pub mixer_layers: usize,
    /// Token-mixing hidden size as a fraction of the number of patches.
    #[config(default = 0.5)]
    pub token_mlp_ratio: f64,
    /// Channel-mixing hidden size as a multiple of `d_model`.
    #[config(default = 4.0)]
    pub channel_mlp_ratio: f64,
}

impl FrequencyStreamConfig {
    /// Patches per side.
    pub fn grid(&self) -> usize {
        self.image_size / self.patch_size
    }

    /// Number of patches (tokens).
    pub fn patches(&self) -> usize {
        self.grid() * self.grid()
    }

    /// Values per patch spectrum: the one-sided 2-D spectrum, `p · (p/2 + 1)`.
    pub fn spectrum_len(&self) -> usize {
        one_sided_len(self.patch_size)
    }

    /// Checks what `init` and the spectra would otherwise trip over.
    pub fn validate(&self) -> Result<(), String> {
        if !self.patch_size.is_power_of_two() || self.patch_size < 2 {
            return Err(format!(
                "patch_size {} must be a power of two ≥ 2",
                self.patch_size
            ));
        }
        if self.image_size == 0 || !self.image_size.is_multiple_of(self.patch_size) {
            return Err(format!(
                "image_size {} must be a positive multiple of patch_size {}",
                self.image_size, self.patch_size
            ));
        }
        if self.d_model == 0 || self.heads == 0 || !self.d_model.is_multiple_of(self.heads) {
            return Err(format!(
                "d_model {} must be a positive multiple of heads {}",
                self.d_model, self.heads
            ));
        }
        Ok(())
    }

    /// Builds the stream with freshly initialised weights.
    pub fn init(&self, device: &Device) -> FrequencyStream {
        let n = self.patches();
        let embed = || LinearConfig::new(self.spectrum_len(), self.d_model).init(device);
        // Learned position embeddings, N(0, 0.02²) as in ViT.
        let position = || {
            Param::from_tensor(Tensor::random(
                [n, self.d_model],
                Distribution::Normal(0.0, 0.02),
                device,
            ))
        };
        let mixers = || {
            (0..self.mixer_layers)
                .map(|_| {
                    MixerLayerConfig::new(n, self.d_model)
                        .with_token_mlp_ratio(self.token_mlp_ratio)
                        .with_channel_mlp_ratio(self.channel_mlp_ratio)
                        .init(device)
                })
                .collect()
        };
        FrequencyStream {
            amplitude_embed: embed(),
            phase_embed: embed(),
            amplitude_position: position(),
            phase_position: position(),
            dual_attention: DualAttentionConfig::new(self.d_model)
                .with_heads(self.heads)
                .with_kind(self.dual_attention)
                .init(device),
            amplitude_mixers: mixers(),
            phase_mixers: mixers(),
            amplitude_norm: LayerNormConfig::new(self.d_model).init(device),
            phase_norm: LayerNormConfig::new(self.d_model).init(device),
        }
    }
}

/// The frequency stream module.
#[derive(Module, Debug)]
pub struct FrequencyStream {
    /// Linear embedding of a patch's log-amplitude spectrum.
    pub amplitude_embed: Linear,
    /// Linear embedding of a patch's phase spectrum.
    pub phase_embed: Linear,
    /// Position embedding of amplitude tokens `[n, d]`.
    pub amplitude_position: Param<Tensor<2>>,
    /// Position embedding of phase tokens `[n, d]`.
    pub phase_position: Param<Tensor<2>>,
    /// PA-PDA.
    pub dual_attention: DualAttention,
    /// Mixer layers of the amplitude branch.
    pub amplitude_mixers: Vec<MixerLayer>,
    /// Mixer layers of the phase branch.
    pub phase_mixers: Vec<MixerLayer>,
    /// Final norm of the amplitude branch.
    pub amplitude_norm: LayerNorm,
    /// Final norm of the phase branch.
    pub phase_norm: LayerNorm,
}

/// What the frequency stream returns.
#[derive(Debug, Clone)]
pub struct FrequencyOutput {
    /// Amplitude feature `[batch, d]`.
    pub amplitude_feature: Tensor<2>,
    /// Phase feature `[batch, d]`.
    pub phase_feature: Tensor<2>,
    /// Amplitude attention per patch `[batch, n]`.
    pub amplitude_map: Tensor<2>,
    /// Phase attention per patch `[batch, n]`.
    pub phase_map: Tensor<2>,
}

impl FrequencyStream {
    /// Spectra `[batch, n, p·(p/2+1)]` (log-amplitude, phase) → features and attention maps.
    pub fn forward(&self, amplitude: Tensor<3>, phase: Tensor<3>) -> FrequencyOutput {
        let a = self.amplitude_embed.forward(amplitude); // [batch, n, d]
        let a = a + self.amplitude_position.val().unsqueeze_dim::<3>(0); // [batch, n, d]
        let p = self.phase_embed.forward(phase); // [batch, n, d]
        let p = p + self.phase_position.val().unsqueeze_dim::<3>(0); // [batch, n, d]
        let dual = self.dual_attention.forward(a, p);
        let mut a = dual.amplitude; // [batch, n, d]
        for layer in &self.amplitude_mixers {
            a = layer.forward(a); // [batch, n, d]
        }
        let mut p = dual.phase; // [batch, n, d]
        for layer in &self.phase_mixers {
            p = layer.forward(p); // [batch, n, d]
        }
        let pool = |x: Tensor<3>| {
            let [batch, _, d] = x.dims();
            x.mean_dim(1).reshape([batch, d]) // [batch, d]
        };
        FrequencyOutput {
            amplitude_feature: pool(self.amplitude_norm.forward(a)),
            phase_feature: pool(self.phase_norm.forward(p)),
            amplitude_map: dual.amplitude_map,
            phase_map: dual.phase_map,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_shapes_for_a_small_configuration() {
        let device = Device::flex();
        let config = FrequencyStreamConfig::new()
            .with_image_size(64)
            .with_d_model(32)
            .with_heads(2)
            .with_mixer_layers(1);
        config.validate().unwrap();
        assert_eq!(config.patches(), 16);
        assert_eq!(config.spectrum_len(), 144);
        let stream = config.init(&device);
        let x = Tensor::<3>::ones([3, 16, 144], &device);
        let out = stream.forward(x.clone(), x);
        assert_eq!(out.amplitude_feature.dims(), [3, 32]);
        assert_eq!(out.phase_feature.dims(), [3, 32]);
        assert_eq!(out.amplitude_map.dims(), [3, 16]);
        assert_eq!(out.phase_map.dims(), [3, 16]);
    }

    #[test]
    fn validate_rejects_bad_patch_sizes() {
        assert!(
            FrequencyStreamConfig::new()
                .with_patch_size(12)
                .validate()
                .is_err()
        );
        assert!(
            FrequencyStreamConfig::new()
                .with_image_size(250)
                .validate()
                .is_err()
        );
        assert!(
            FrequencyStreamConfig::new()
                .with_heads(3)
                .validate()
                .is_err()
        );
    }
}
