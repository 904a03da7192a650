//! PA-PDA, the patch-wise amplitude / phase dual attention: each modality's attention guides the
//! other. The paper describes it only in words; two readings are implemented, selectable in
//! the configuration:
//!
//! - [`DualAttentionKind::CrossAttention`] (default): pre-LayerNorm multi-head cross-attention in
//!   both directions — amplitude tokens query phase tokens and phase tokens query amplitude
//!   tokens — each added back residually. The **phase attention map** is the attention that
//!   phase patches receive from amplitude queries, the **amplitude attention map** the attention
//!   amplitude patches receive from phase queries, both averaged over heads and queries (each
//!   map sums to 1 over the patches).
//! - [`DualAttentionKind::CrossGating`]: a per-patch gate α_A = σ(MLP(T_A)) rescales the phase
//!   tokens, T_Φ ← T_Φ ⊙ (1 + α_A), and α_Φ = σ(MLP(T_Φ)) rescales the amplitude tokens. The maps
//!   are the gates α_A and α_Φ, normalised to sum to 1.

use burn::nn::attention::{MhaInput, MultiHeadAttention, MultiHeadAttentionConfig};
use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::sigmoid;
use serde::{Deserialize, Serialize};

use super::cpu_ops::gelu;

/// Which reading of PA-PDA to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DualAttentionKind {
    /// Bidirectional cross-attention (default).
    #[default]
    CrossAttention,
    /// Patch-wise cross-gating.
    CrossGating,
}

/// Configuration of a [`DualAttention`].
#[derive(Config, Debug, PartialEq)]
pub struct DualAttentionConfig {
    /// Token width.
    pub d_model: usize,
    /// Attention heads (cross-attention only).
    #[config(default = 4)]
    pub heads: usize,
    /// Which reading of PA-PDA.
    #[config(default = "DualAttentionKind::CrossAttention")]
    pub kind: DualAttentionKind,
    /// Dropout on attention weights during training.
    #[config(default = 0.0)]
    pub dropout: f64,
}

impl DualAttentionConfig {
    /// Builds the block with freshly initialised weights.
    pub fn init(&self, device: &Device) -> DualAttention {
        let norm = || LayerNormConfig::new(self.d_model).init(device);
        match self.kind {
            DualAttentionKind::CrossAttention => {
                let attention = || {
                    MultiHeadAttentionConfig::new(self.d_model, self.heads)
                        .with_dropout(self.dropout)
                        .init(device)
                };
                DualAttention::CrossAttention(CrossAttention {
                    amplitude_norm: norm(),
                    phase_norm: norm(),
                    amplitude_queries: attention(),
                    phase_queries: attention(),
                })
            }
            DualAttentionKind::CrossGating => {
                let hidden = (self.d_model / 4).max(1);
                let gate = || Gate {
                    norm: norm(),
                    fc1: LinearConfig::new(self.d_model, hidden).init(device),
                    fc2: LinearConfig::new(hidden, 1).init(device),
                };
                DualAttention::CrossGating(CrossGating {
                    amplitude_gate: gate(),
                    phase_gate: gate(),
                })
            }
        }
    }
}

/// The dual attention module.
// A model holds one dual attention, so the variants' size difference costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum DualAttention {
    /// Bidirectional cross-attention.
    CrossAttention(CrossAttention),
    /// Patch-wise cross-gating.
    CrossGating(CrossGating),
}

/// What the dual attention returns.
#[derive(Debug, Clone)]
pub struct DualAttentionOutput {
    /// Updated amplitude tokens `[batch, n, d]`.
    pub amplitude: Tensor<3>,
    /// Updated phase tokens `[batch, n, d]`.
    pub phase: Tensor<3>,
    /// Per-patch amplitude attention `[batch, n]`, summing to 1 over patches.
    pub amplitude_map: Tensor<2>,
    /// Per-patch phase attention `[batch, n]`, summing to 1 over patches.
    pub phase_map: Tensor<2>,
}

impl DualAttention {
    /// Amplitude and phase tokens `[batch, n, d]` → updated tokens and attention maps.
    pub fn forward(&self, amplitude: Tensor<3>, phase: Tensor<3>) -> DualAttentionOutput {
        match self {
            Self::CrossAttention(block) => block.forward(amplitude, phase),
            Self::CrossGating(block) => block.forward(amplitude, phase),
        }
    }
}

/// Bidirectional multi-head cross-attention between amplitude and phase tokens.
#[derive(Module, Debug)]
pub struct CrossAttention {
    /// Pre-norm of amplitude tokens.
    pub amplitude_norm: LayerNorm,
    /// Pre-norm of phase tokens.
    pub phase_norm: LayerNorm,
    /// Amplitude queries attending to phase keys / values.
    pub amplitude_queries: MultiHeadAttention,
    /// Phase queries attending to amplitude keys / values.
    pub phase_queries: MultiHeadAttention,
}

impl CrossAttention {
    fn forward(&self, amplitude: Tensor<3>, phase: Tensor<3>) -> DualAttentionOutput {
        let a = self.amplitude_norm.forward(amplitude.clone()); // [batch, n, d]
        let p = self.phase_norm.forward(phase.clone()); // [batch, n, d]
        let from_amplitude =
            self.amplitude_queries
                .forward(MhaInput::new(a.clone(), p.clone(), p.clone()));
        let from_phase = self.phase_queries.forward(MhaInput::new(p, a.clone(), a));
        DualAttentionOutput {
            amplitude: amplitude + from_amplitude.context, // [batch, n, d]
            phase: phase + from_phase.context,             // [batch, n, d]
            // Attention received by each key patch, averaged over heads and queries.
            phase_map: received_attention(from_amplitude.weights), // [batch, n]
            amplitude_map: received_attention(from_phase.weights), // [batch, n]
        }
    }
}

/// `[batch, heads, queries, keys]` → `[batch, keys]`: mean over heads and queries.
fn received_attention(weights: Tensor<4>) -> Tensor<2> {
    let [batch, _, _, keys] = weights.dims();
    weights.mean_dim(1).mean_dim(2).reshape([batch, keys]) // [batch, keys]
}

/// A per-patch scalar gate: LayerNorm → Linear → GELU → Linear → sigmoid.
#[derive(Module, Debug)]
pub struct Gate {
    /// Pre-norm.
    pub norm: LayerNorm,
    /// Hidden layer.
    pub fc1: Linear,
    /// Output layer (one value per patch).
    pub fc2: Linear,
}

impl Gate {
    /// `[batch, n, d]` → `[batch, n, 1]` in (0, 1).
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let h = gelu(self.fc1.forward(self.norm.forward(x))); // [batch, n, d/4]
        sigmoid(self.fc2.forward(h)) // [batch, n, 1]
    }
}

/// Patch-wise cross-gating between amplitude and phase tokens.
#[derive(Module, Debug)]
pub struct CrossGating {
    /// α_A, computed from amplitude tokens, applied to phase tokens.
    pub amplitude_gate: Gate,
    /// α_Φ, computed from phase tokens, applied to amplitude tokens.
    pub phase_gate: Gate,
}

impl CrossGating {
    fn forward(&self, amplitude: Tensor<3>, phase: Tensor<3>) -> DualAttentionOutput {
        let alpha_a = self.amplitude_gate.forward(amplitude.clone()); // [batch, n, 1]
        let alpha_p = self.phase_gate.forward(phase.clone()); // [batch, n, 1]
        let [batch, n, _] = alpha_a.dims();
        let normalise = |g: Tensor<3>| {
            let g = g.reshape([batch, n]); // [batch, n]
            g.clone() / g.sum_dim(1) // [batch, n]
        };
        DualAttentionOutput {
            amplitude: amplitude.clone() + amplitude * alpha_p.clone(), // [batch, n, d]
            phase: phase.clone() + phase * alpha_a.clone(),             // [batch, n, d]
            amplitude_map: normalise(alpha_a),
            phase_map: normalise(alpha_p),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(kind: DualAttentionKind) {
        let device = Device::flex();
        let block = DualAttentionConfig::new(8)
            .with_heads(2)
            .with_kind(kind)
            .init(&device);
        let a = Tensor::<3>::random([2, 16, 8], burn::tensor::Distribution::Default, &device);
        let p = Tensor::<3>::random([2, 16, 8], burn::tensor::Distribution::Default, &device);
        let out = block.forward(a, p);
        assert_eq!(out.amplitude.dims(), [2, 16, 8]);
        assert_eq!(out.phase.dims(), [2, 16, 8]);
        for map in [out.amplitude_map, out.phase_map] {
            assert_eq!(map.dims(), [2, 16]);
            let sums = map.sum_dim(1).into_data().try_into_vec::<f32>().unwrap();
            for s in sums {
                assert!((s - 1.0).abs() < 1e-4, "map sums to {s}");
            }
        }
    }

    #[test]
    fn cross_attention_shapes_and_maps_sum_to_one() {
        check(DualAttentionKind::CrossAttention);
    }

    #[test]
    fn cross_gating_shapes_and_maps_sum_to_one() {
        check(DualAttentionKind::CrossGating);
    }
}
