//! MLP-Mixer layer (Tolstikhin et al. 2021) over patch tokens.

use super::cpu_ops::gelu;
use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::prelude::*;

/// Configuration of a [`MixerLayer`].
#[derive(Config, Debug, PartialEq)]
pub struct MixerLayerConfig {
    /// Number of tokens (patches).
    pub tokens: usize,
    /// Token width.
    pub d_model: usize,
    /// Hidden size of the token-mixing MLP, as a fraction of `tokens` (0.5).
    #[config(default = 0.5)]
    pub token_mlp_ratio: f64,
    /// Hidden size of the channel-mixing MLP, as a multiple of `d_model` (4).
    #[config(default = 4.0)]
    pub channel_mlp_ratio: f64,
}

impl MixerLayerConfig {
    /// Builds the layer with freshly initialised weights.
    pub fn init(&self, device: &Device) -> MixerLayer {
        let token_hidden = ((self.tokens as f64 * self.token_mlp_ratio).round() as usize).max(1);
        let channel_hidden =
            ((self.d_model as f64 * self.channel_mlp_ratio).round() as usize).max(1);
        MixerLayer {
            token_norm: LayerNormConfig::new(self.d_model).init(device),
            token_fc1: LinearConfig::new(self.tokens, token_hidden).init(device),
            token_fc2: LinearConfig::new(token_hidden, self.tokens).init(device),
            channel_norm: LayerNormConfig::new(self.d_model).init(device),
            channel_fc1: LinearConfig::new(self.d_model, channel_hidden).init(device),
            channel_fc2: LinearConfig::new(channel_hidden, self.d_model).init(device),
        }
    }
}

/// Token-mixing MLP then channel-mixing MLP, each pre-normalised and residual.
#[derive(Module, Debug)]
pub struct MixerLayer {
    /// Norm before token mixing.
    pub token_norm: LayerNorm,
    /// Token MLP, first layer.
    pub token_fc1: Linear,
    /// Token MLP, second layer.
    pub token_fc2: Linear,
    /// Norm before channel mixing.
    pub channel_norm: LayerNorm,
    /// Channel MLP, first layer.
    pub channel_fc1: Linear,
    /// Channel MLP, second layer.
    pub channel_fc2: Linear,
}

impl MixerLayer {
    /// `[batch, tokens, d]` → `[batch, tokens, d]`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let y = self.token_norm.forward(x.clone()).swap_dims(1, 2); // [batch, d, tokens]
        let y = gelu(self.token_fc1.forward(y)); // [batch, d, tokens·r]
        let y = self.token_fc2.forward(y).swap_dims(1, 2); // [batch, tokens, d]
        let x = x + y; // [batch, tokens, d]
        let z = gelu(
            self.channel_fc1
                .forward(self.channel_norm.forward(x.clone())),
        ); // [batch, tokens, 4d]
        x + self.channel_fc2.forward(z) // [batch, tokens, d]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixer_keeps_the_token_shape() {
        let device = Device::flex();
        let layer = MixerLayerConfig::new(16, 8).init(&device);
        let x = Tensor::<3>::ones([3, 16, 8], &device);
        assert_eq!(layer.forward(x).dims(), [3, 16, 8]);
    }
}
