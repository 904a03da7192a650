//! The training objective: cross-entropy + λ · supervised contrastive loss (Khosla et al. 2020).

use burn::nn::loss::CrossEntropyLossConfig;
use burn::prelude::*;

/// Weights of the loss terms.
#[derive(Config, Debug, PartialEq)]
pub struct LossConfig {
    /// Weight λ of the supervised contrastive term.
    #[config(default = 0.5)]
    pub supcon_weight: f64,
    /// Temperature τ of the supervised contrastive term.
    #[config(default = 0.07)]
    pub temperature: f64,
}

/// The loss and its parts, each a scalar tensor `[1]`.
#[derive(Debug, Clone)]
pub struct LossParts {
    /// CE + λ · SupCon.
    pub total: Tensor<1>,
    /// Cross-entropy.
    pub cross_entropy: Tensor<1>,
    /// Supervised contrastive loss.
    pub supcon: Tensor<1>,
}

impl LossConfig {
    /// Loss of logits `[batch, 2]` and projections `[batch, d]` (unit length) against labels
    /// `[batch]` (0 real, 1 manipulated).
    pub fn compute(
        &self,
        logits: Tensor<2>,
        projection: Tensor<2>,
        labels: Tensor<1, Int>,
    ) -> LossParts {
        let device = logits.device();
        let cross_entropy = CrossEntropyLossConfig::new()
            .init(&device)
            .forward(logits, labels.clone()); // [1]
        let supcon = supervised_contrastive_loss(projection, labels.float(), self.temperature); // [1]
        LossParts {
            total: cross_entropy.clone() + supcon.clone().mul_scalar(self.supcon_weight),
            cross_entropy,
            supcon,
        }
    }
}

/// Supervised contrastive loss (the "L_out" form of Khosla et al. 2020).
///
/// For each anchor `i` with at least one positive (another sample with the same label):
/// `ℓ_i = −1/|P(i)| Σ_{p∈P(i)} log( exp(z_i·z_p/τ) / Σ_{a≠i} exp(z_i·z_a/τ) )`, and the loss is
/// the mean of `ℓ_i` over those anchors. `z` are the L2-normalised projections `[batch, d]`,
/// `labels` `[batch]` (integer-valued floats). Anchors without positives do not count; a batch
/// with none gives 0.
pub fn supervised_contrastive_loss(z: Tensor<2>, labels: Tensor<1>, temperature: f64) -> Tensor<1> {
    let [batch, _] = z.dims();
    let device = z.device();
    let similarity = z.clone().matmul(z.transpose()).div_scalar(temperature); // [batch, batch]
    // Subtract each row's maximum for numerical stability (does not change the loss).
    let row_max = similarity.clone().max_dim(1).detach(); // [batch, 1]
    let logits = similarity - row_max; // [batch, batch]
    let not_self = Tensor::<2>::ones([batch, batch], &device) - Tensor::<2>::eye(batch, &device); // [batch, batch]
    // Same label ⇔ |l_i − l_j| < 1 for integer labels.
    let column = labels.clone().reshape([batch, 1]); // [batch, 1]
    let row = labels.reshape([1, batch]); // [1, batch]
    let difference = (column - row).abs().clamp(0.0, 1.0); // [batch, batch]
    let positives = difference.neg().add_scalar(1.0) * not_self.clone(); // [batch, batch]
    let denominator = (logits.clone().exp() * not_self).sum_dim(1).log(); // [batch, 1]
    let log_probability = logits - denominator; // [batch, batch]
    let positive_count = positives.clone().sum_dim(1); // [batch, 1]
    let has_positive = positive_count.clone().clamp(0.0, 1.0); // [batch, 1]
    let mean_log_probability =
        (positives * log_probability).sum_dim(1) / positive_count.clamp_min(1.0); // [batch, 1]
    let anchors = has_positive.clone().sum().clamp_min(1.0); // [1]
    (mean_log_probability * has_positive).sum().neg() / anchors // [1]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn supcon(z: &[[f32; 2]], labels: &[f32], tau: f64) -> f32 {
        let device = Device::flex();
        let flat: Vec<f32> = z.iter().flatten().copied().collect();
        let z = Tensor::<1>::from_floats(flat.as_slice(), &device).reshape([z.len(), 2]);
        let labels = Tensor::<1>::from_floats(labels, &device);
        supervised_contrastive_loss(z, labels, tau).into_scalar()
    }

    #[test]
    fn supcon_matches_a_hand_computation_for_a_batch_of_four() {
        // z = e1, e1, e2, e2 with labels 0, 0, 1, 1 and τ = 1. For anchor 0 the similarities to
        // the others are 1 (its positive), 0, 0, so ℓ_0 = −log(e / (e + 2)) = ln(e + 2) − 1; by
        // symmetry every anchor has the same loss.
        let z = [[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]];
        let expected = (std::f32::consts::E + 2.0).ln() - 1.0; // 0.551445
        let got = supcon(&z, &[0.0, 0.0, 1.0, 1.0], 1.0);
        assert!((got - expected).abs() < 1e-5, "{got} vs {expected}");
    }

    #[test]
    fn supcon_with_unequal_groups_matches_a_hand_computation() {
        // z = e1, e1, e1, e2 with labels 0, 0, 0, 1 and τ = 0.5 (similarities 2 or 0 after
        // scaling). Anchors 0..3 each have 2 positives at logit 2 and one negative at 0:
        // ℓ = −log(e² / (2e² + 1)). Anchor 3 has no positive and is left out.
        let z = [[1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [0.0, 1.0]];
        let e2 = std::f32::consts::E.powi(2);
        let expected = -(e2 / (2.0 * e2 + 1.0)).ln();
        let got = supcon(&z, &[0.0, 0.0, 0.0, 1.0], 0.5);
        assert!((got - expected).abs() < 1e-5, "{got} vs {expected}");
    }

    #[test]
    fn supcon_is_lower_when_classes_are_separated() {
        let separated = supcon(
            &[[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]],
            &[0.0, 0.0, 1.0, 1.0],
            0.07,
        );
        let mixed = supcon(
            &[[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 1.0]],
            &[0.0, 0.0, 1.0, 1.0],
            0.07,
        );
        assert!(separated < mixed, "{separated} vs {mixed}");
    }

    #[test]
    fn loss_parts_add_up() {
        let device = Device::flex();
        let logits = Tensor::<1>::from_floats([2.0, -1.0, 0.5, 0.5, -1.0, 3.0, 0.0, 0.0], &device)
            .reshape([4, 2]);
        let z = Tensor::<1>::from_floats([1.0, 0.0, 0.6, 0.8, 0.0, 1.0, 0.8, 0.6], &device)
            .reshape([4, 2]);
        let labels = Tensor::<1, Int>::from_ints([0, 0, 1, 1], &device);
        let parts = LossConfig::new().compute(logits, z, labels);
        let (total, ce, sc): (f32, f32, f32) = (
            parts.total.into_scalar(),
            parts.cross_entropy.into_scalar(),
            parts.supcon.into_scalar(),
        );
        assert!((total - (ce + 0.5 * sc)).abs() < 1e-5);
        // CE by hand: mean of −log softmax at the label.
        let lse = |a: f32, b: f32| (a.exp() + b.exp()).ln();
        let expected_ce = ((lse(2.0, -1.0) - 2.0)
            + (lse(0.5, 0.5) - 0.5)
            + (lse(-1.0, 3.0) - 3.0)
            + (lse(0.0, 0.0) - 0.0))
            / 4.0;
        assert!((ce - expected_ce).abs() < 1e-5, "{ce} vs {expected_ce}");
    }
}
