//! Where a self-blended fake differs from its real face, as an auxiliary training target.
//!
//! A self-blend and its real face go through the same crop, warp, lighting and compression, so
//! after all of them they still differ only where the blend was made. A small head on the
//! backbone's last feature map learns to point at those cells (binary cross-entropy per cell,
//! the idea of Face X-ray, Li et al. 2020, here as a second loss beside the classifier's). The
//! backbone then has to keep *where* a blend is in its features, not only *whether*: a lighting
//! or a compression that covers the whole face cannot answer that. The head is for training
//! only: it is not part of the network that is saved, and a resumed run starts a fresh one.

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::prelude::*;

use crate::inference::preprocess::{PIXEL_SCALE, PreparedFace};

/// The smallest difference, in 0..255 units, that makes a fake's blend region worth pointing
/// at: a blend this faint (a tiny colour change, or one a heavy rescale wiped out) still counts
/// for the classifier, but says too little about where it is.
const MIN_DIFFERENCE: f32 = 2.0;

/// The share of a fake's largest cell difference from which a cell counts fully as blended
/// (cells below it count in proportion): blend masks fade out, and so do their traces.
const FULL_CELL_SHARE: f32 = 0.3;

/// What is known of where a training face was manipulated.
#[derive(Debug, Clone, PartialEq)]
pub enum BlendTarget {
    /// A real face: nothing was blended anywhere.
    Untouched,
    /// A self-blend: its largest per-channel difference from its real face, per input pixel
    /// (`side × side`, row-major, 0..255 units).
    Blended(Vec<f32>),
    /// Not known (a fake from a folder, or a blend too faint to locate): no target.
    Unknown,
}

impl BlendTarget {
    /// The target of a self-blended `fake` made from `real` (both prepared at one input size).
    pub fn of_pair(real: &PreparedFace, fake: &PreparedFace) -> Self {
        let n = real.rgb.len() / 3;
        if n == 0 || real.rgb.len() != fake.rgb.len() {
            return Self::Unknown;
        }
        let difference: Vec<f32> = (0..n)
            .map(|i| {
                (0..3)
                    .map(|c| (fake.rgb[c * n + i] - real.rgb[c * n + i]).abs() * PIXEL_SCALE)
                    .fold(0.0f32, f32::max)
            })
            .collect();
        if difference.iter().copied().fold(0.0f32, f32::max) < MIN_DIFFERENCE {
            return Self::Unknown;
        }
        Self::Blended(difference)
    }
}

/// Per-cell targets `[faces · rows · cols]` in [0, 1] on a `rows × cols` grid over a
/// `side × side` input, and a weight per face (0 where the target is unknown).
pub fn cell_targets(
    targets: &[BlendTarget],
    side: usize,
    rows: usize,
    cols: usize,
) -> (Vec<f32>, Vec<f32>) {
    let cells = rows * cols;
    let mut values = Vec::with_capacity(targets.len() * cells);
    let mut weights = Vec::with_capacity(targets.len());
    for target in targets {
        match target {
            BlendTarget::Blended(difference) if difference.len() == side * side && cells > 0 => {
                let pooled = pooled(difference, side, rows, cols);
                let peak = pooled.iter().copied().fold(0.0f32, f32::max);
                let full = (FULL_CELL_SHARE * peak).max(f32::MIN_POSITIVE);
                values.extend(pooled.iter().map(|&v| (v / full).min(1.0)));
                weights.push(1.0);
            }
            BlendTarget::Untouched => {
                values.extend(std::iter::repeat_n(0.0, cells));
                weights.push(1.0);
            }
            _ => {
                values.extend(std::iter::repeat_n(0.0, cells));
                weights.push(0.0);
            }
        }
    }
    (values, weights)
}

/// Mean of `map` (`side × side`) over each cell of a `rows × cols` grid.
fn pooled(map: &[f32], side: usize, rows: usize, cols: usize) -> Vec<f32> {
    let mut sums = vec![0.0f32; rows * cols];
    let mut counts = vec![0u32; rows * cols];
    for y in 0..side {
        let row = (y * rows / side).min(rows - 1);
        for x in 0..side {
            let col = (x * cols / side).min(cols - 1);
            sums[row * cols + col] += map[y * side + x];
            counts[row * cols + col] += 1;
        }
    }
    sums.iter()
        .zip(&counts)
        .map(|(&s, &n)| s / n.max(1) as f32)
        .collect()
}

/// Configuration of [`BlendMapHead`].
#[derive(Config, Debug)]
pub struct BlendMapHeadConfig {
    /// Channels of the feature map it reads.
    pub channels: usize,
}

impl BlendMapHeadConfig {
    /// A head with fresh weights.
    pub fn init(&self, device: &Device) -> BlendMapHead {
        BlendMapHead {
            conv: Conv2dConfig::new([self.channels, 1], [1, 1]).init(device),
        }
    }
}

/// A 1×1 convolution from a feature map to one logit per cell: "blended here".
#[derive(Module, Debug)]
pub struct BlendMapHead {
    /// Feature channels → 1.
    pub conv: Conv2d,
}

impl BlendMapHead {
    /// `[batch, channels, rows, cols]` → logits `[batch, 1, rows, cols]`.
    pub fn forward(&self, features: Tensor<4>) -> Tensor<4> {
        self.conv.forward(features) // [batch, 1, rows, cols]
    }
}

/// Binary cross-entropy of per-cell `logits` `[batch, 1, rows, cols]` against `targets` of the
/// same shape in [0, 1]: the mean over cells, then the mean over faces weighted by `weights`
/// `[batch]` (0 if every weight is 0).
pub fn blend_map_loss(logits: Tensor<4>, targets: Tensor<4>, weights: Tensor<1>) -> Tensor<1> {
    let [batch, _, rows, cols] = logits.dims();
    // max(z, 0) − z·t + ln(1 + e^−|z|): the stable form of BCE with logits.
    let per_cell = logits.clone().clamp_min(0.0) - logits.clone() * targets
        + logits.abs().neg().exp().add_scalar(1.0).log(); // [batch, 1, rows, cols]
    let per_face = per_cell
        .reshape([batch, rows * cols])
        .mean_dim(1)
        .reshape([batch]); // [batch]
    let total = weights.clone().sum().clamp_min(1e-6); // [1]
    (per_face * weights).sum() / total // [1]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face(side: usize, value: impl Fn(usize, usize) -> f32) -> PreparedFace {
        let n = side * side;
        let mut rgb = vec![0.0; 3 * n];
        for c in 0..3 {
            for y in 0..side {
                for x in 0..side {
                    rgb[c * n + y * side + x] = value(x, y) / PIXEL_SCALE;
                }
            }
        }
        PreparedFace {
            rgb,
            amplitude: Vec::new(),
            phase: Vec::new(),
        }
    }

    #[test]
    fn a_fake_is_located_where_it_differs_from_its_real_face() {
        let real = face(8, |x, y| (x + y) as f32);
        let fake = face(8, |x, y| {
            (x + y) as f32 + if x < 4 && y < 4 { 30.0 } else { 0.0 }
        });
        let target = BlendTarget::of_pair(&real, &fake);
        let (values, weights) = cell_targets(&[target], 8, 2, 2);
        assert_eq!(weights, vec![1.0]);
        assert_eq!(values, vec![1.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn a_faint_blend_or_a_folder_fake_has_no_target_and_a_real_face_is_zero_everywhere() {
        let real = face(8, |x, _| x as f32);
        let faint = face(8, |x, y| x as f32 + if y < 2 { 1.0 } else { 0.0 });
        assert_eq!(BlendTarget::of_pair(&real, &faint), BlendTarget::Unknown);
        let (values, weights) =
            cell_targets(&[BlendTarget::Untouched, BlendTarget::Unknown], 8, 2, 2);
        assert_eq!(weights, vec![1.0, 0.0]);
        assert!(values.iter().all(|&v| v == 0.0));
    }

    #[test]
    fn cells_fade_with_the_difference_below_the_full_share() {
        // Left half differs by 40, right half by 6: 6 / (0.3 · 40) = 0.5.
        let real = face(4, |_, _| 0.0);
        let fake = face(4, |x, _| if x < 2 { 40.0 } else { 6.0 });
        let (values, _) = cell_targets(&[BlendTarget::of_pair(&real, &fake)], 4, 1, 2);
        assert!(
            (values[0] - 1.0).abs() < 1e-6 && (values[1] - 0.5).abs() < 1e-5,
            "{values:?}"
        );
    }

    #[test]
    fn the_loss_is_lower_where_the_head_agrees_and_ignores_unweighted_faces() {
        let device = Device::flex();
        let targets =
            Tensor::<4>::from_data(TensorData::new(vec![1.0f32, 0.0], [1, 1, 1, 2]), &device);
        let loss = |logits: [f32; 2], weight: f32| {
            let logits =
                Tensor::<4>::from_data(TensorData::new(logits.to_vec(), [1, 1, 1, 2]), &device);
            let weights = Tensor::<1>::from_data(TensorData::new(vec![weight], [1]), &device);
            blend_map_loss(logits, targets.clone(), weights).into_scalar::<f32>()
        };
        let right = loss([4.0, -4.0], 1.0);
        let wrong = loss([-4.0, 4.0], 1.0);
        assert!(right < 0.05 && wrong > 3.0, "{right} {wrong}");
        // ln 2 at zero logits, whatever the target.
        assert!((loss([0.0, 0.0], 1.0) - std::f32::consts::LN_2).abs() < 1e-5);
        assert_eq!(loss([-4.0, 4.0], 0.0), 0.0);
    }

    #[test]
    fn the_head_maps_features_to_one_logit_per_cell() {
        let device = Device::flex();
        let head = BlendMapHeadConfig::new(16).init(&device);
        let features = Tensor::<4>::zeros([2, 16, 8, 8], &device);
        assert_eq!(head.forward(features).dims(), [2, 1, 8, 8]);
    }
}
