//! Channel Gram matrices: the style-correlation representation of a feature map.

use burn::prelude::*;

/// `[batch, c, h, w]` → `[batch, c, c]`, G = F·Fᵀ / (c·h·w) with F the map flattened to
/// `[c, h·w]`: the pairwise correlation of channels, normalised as in Gatys et al.'s style loss.
pub fn gram_matrix(features: Tensor<4>) -> Tensor<3> {
    let [batch, channels, height, width] = features.dims();
    let flat = features.reshape([batch, channels, height * width]); // [batch, c, h·w]
    let gram = flat.clone().matmul(flat.swap_dims(1, 2)); // [batch, c, c]
    gram.div_scalar((channels * height * width) as f32) // [batch, c, c]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gram_matches_a_hand_computation() {
        let device = Device::flex();
        // One sample, two channels, a 1×2 map: F = [[1, 2], [3, 4]].
        let x = Tensor::<1>::from_floats([1.0, 2.0, 3.0, 4.0], &device).reshape([1, 2, 1, 2]);
        let g = gram_matrix(x).into_data().try_into_vec::<f32>().unwrap();
        // F·Fᵀ = [[1+4, 3+8], [3+8, 9+16]] = [[5, 11], [11, 25]], divided by c·h·w = 4.
        assert_eq!(g, vec![1.25, 2.75, 2.75, 6.25]);
    }

    #[test]
    fn gram_is_symmetric_per_sample() {
        let device = Device::flex();
        let x = Tensor::<4>::random([3, 5, 4, 6], burn::tensor::Distribution::Default, &device);
        let g = gram_matrix(x);
        let gt = g.clone().swap_dims(1, 2);
        let diff: f32 = (g - gt).abs().max().into_scalar();
        assert!(diff < 1e-6);
    }
}
