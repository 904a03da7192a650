//! What a training run is configured by (a recipe JSON, or the `options` of a run's
//! `state.json`), and how its checkpoints' verdict bands are chosen on validation scores.

use serde::{Deserialize, Serialize};

use crate::model::MclcrConfig;
use crate::train::selfblend::SelfBlendConfig;
use crate::train::step::OptimConfig;
use crate::weights::store::BandThresholds;

/// Everything a training run is configured by (saved in `state.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainOptions {
    /// The network.
    pub config: MclcrConfig,
    /// Optimiser and schedule.
    pub optim: OptimConfig,
    /// Epochs to train (in total, counting those done before a resume).
    pub epochs: usize,
    /// Faces per batch, half real and half manipulated.
    pub batch_size: usize,
    /// Seed of initialisation, pairing and augmentation.
    pub seed: u64,
    /// Epochs at the start during which the backbone is frozen.
    pub freeze_backbone_epochs: usize,
    /// After those epochs, the stem and this many first backbone stages stay frozen for the
    /// whole run (EfficientNet-Lite; 0 trains the whole backbone). Frozen stages cost only their
    /// forward pass: the shallow stages (large maps) are where a step spends most.
    #[serde(default)]
    pub frozen_stages: usize,
    /// Probability of re-encoding a pair as JPEG.
    pub jpeg_probability: f32,
    /// JPEG quality range of that re-encoding.
    pub jpeg_quality: [u8; 2],
    /// With fake folders: the share of fakes made by self-blending instead.
    pub self_blend_share: f32,
    /// Self-blending ranges.
    pub self_blend: SelfBlendConfig,
    /// Start the EfficientNet backbone from the ImageNet weights.
    pub pretrained_backbone: bool,
    /// Start from this saved model's weights (a manifest) instead of the ImageNet backbone;
    /// its configuration replaces `config`. Fine-tuning the shipped model starts here.
    #[serde(default)]
    pub init_from: Option<std::path::PathBuf>,
    /// Also keep each epoch's weights as `epoch-N.json` + `.safetensors` in the output folder,
    /// to choose among them afterwards on the analyst's own set.
    #[serde(default)]
    pub keep_epochs: bool,
    /// At most this many faces per image (the most confident first); group photos give more.
    #[serde(default = "one")]
    pub faces_per_image: usize,
    /// Identities (first-level folder names) kept out of training and validation: the test
    /// set. `mclcr eval --held-out-of` reads this list back.
    #[serde(default)]
    pub held_out_identities: Vec<String>,
    /// Random zoom and shift applied alike to both faces of a pair: the crop keeps a side of
    /// `1 - crop_jitter ..= 1` of the face crop, anywhere inside it. 0 turns it off.
    #[serde(default)]
    pub crop_jitter: f32,
    /// Make each self-blend at the face's size in its file and only then bring the pair up to
    /// the crop's side, as a face swap in a video frame is blended at the frame's resolution
    /// (see [`crate::train::source_size`]); off, the blend is made on the stored crop.
    #[serde(default)]
    pub blend_at_source_size: bool,
    /// Largest in-plane rotation, degrees, drawn alike for both faces of a pair (heads tilt in
    /// video frames; portraits are upright). 0 turns it off.
    #[serde(default)]
    pub crop_rotation: f32,
    /// Largest displacement, as a fraction of the side, of a smooth random reshaping given
    /// alike to both faces of a pair (see [`crate::train::pair_warp`]): the face's layout then
    /// tells nothing about the label. 0 turns it off.
    #[serde(default)]
    pub pair_warp: f32,
    /// Share of pairs that get the `pair_warp` reshaping; the others keep the face's own
    /// layout, so that a model still sees blends untouched by the resampling. 1 reshapes every
    /// pair (and draws no extra random number, so older recipes keep their random streams).
    #[serde(default = "always")]
    pub pair_warp_probability: f32,
    /// Strength of a random change of lighting given alike to both faces of a pair (a
    /// brightness gradient across the face, an exposure change and a colour cast; see
    /// [`crate::train::pair_relight`]): uneven light then tells nothing about the label. 0 turns
    /// it off and draws no random number, so older recipes keep their random streams.
    #[serde(default)]
    pub pair_relight: f32,
    /// Probability of making a pair look like a small face in a video frame: both faces are
    /// shrunk so that the face's longer side is a random size in `small_face_side`, re-encoded
    /// there (with `jpeg_probability`), then scaled back up to the input, as a 60–250 px face
    /// is at inference. Only faces larger than the drawn size are shrunk. 0 turns it off.
    #[serde(default)]
    pub small_face_probability: f32,
    /// Range of the drawn face size, pixels of its longer side.
    #[serde(default = "small_face_side")]
    pub small_face_side: [u32; 2],
    /// Probability of giving a pair what a camera and video codec give a frame (sensor noise,
    /// edge-preserving smoothing, 4:2:0 chroma, coarse block coding; see
    /// [`crate::train::video_like`]) in place of the plain JPEG re-encoding, at the small size
    /// when the pair was shrunk. 0 turns it off.
    #[serde(default)]
    pub video_probability: f32,
    /// Block-coding quality range of that degradation.
    #[serde(default = "video_quality")]
    pub video_quality: [u8; 2],
    /// Probability that a pair given the video degradation is then also saved as a JPEG file
    /// (quality drawn from `jpeg_quality`), as a video frame exported as `.jpg` is: compressed
    /// twice, once by the codec and once by the file. 0 turns it off and draws no extra random
    /// number, so older recipes keep their random streams.
    #[serde(default)]
    pub frame_jpeg_probability: f32,
    /// Weight of the blend-map loss (see [`crate::train::blend_map`]): a training-only head
    /// learns where each self-blend differs from its real face, beside the classifier. 0 turns
    /// it off; it draws no random number, so the batches are the same either way.
    #[serde(default)]
    pub blend_map_loss: f32,
    /// How the checkpoints' verdict bands are set from the validation scores.
    #[serde(default)]
    pub band_targets: BandTargets,
}

fn always() -> f32 {
    1.0
}

fn small_face_side() -> [u32; 2] {
    [60, 250]
}

fn video_quality() -> [u8; 2] {
    [25, 70]
}

fn one() -> usize {
    1
}

/// Targets the verdict bands are chosen for, on the validation faces (never the test set).
///
/// The "likely manipulated" threshold is the lowest whose false-positive rate on the real
/// validation faces is at most `max_false_positive_rate`; the "no evidence found" threshold
/// the highest that still lets at most `max_miss_rate` of the manipulated validation faces
/// below it. Both are clamped to `manipulated_range` and `clear_range`, and `clear` never exceeds
/// `manipulated`. With few validation faces these rates are coarse; the model card says so.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BandTargets {
    /// Largest share of real faces allowed in "likely manipulated".
    pub max_false_positive_rate: f64,
    /// Largest share of manipulated faces allowed in "no evidence found".
    pub max_miss_rate: f64,
    /// Allowed range of the "likely manipulated" threshold.
    pub manipulated_range: [f32; 2],
    /// Allowed range of the "no evidence found" threshold.
    pub clear_range: [f32; 2],
}

impl Default for BandTargets {
    fn default() -> Self {
        Self {
            max_false_positive_rate: 0.05,
            max_miss_rate: 0.10,
            manipulated_range: [0.5, 0.95],
            clear_range: [0.05, 0.5],
        }
    }
}

impl BandTargets {
    /// The thresholds for these targets from validation scores (`true` = manipulated).
    pub fn choose(&self, scores: &[f32], labels: &[bool]) -> BandThresholds {
        let mut real: Vec<f32> = scores
            .iter()
            .zip(labels)
            .filter(|(_, fake)| !**fake)
            .map(|(s, _)| *s)
            .collect();
        let mut fake: Vec<f32> = scores
            .iter()
            .zip(labels)
            .filter(|(_, fake)| **fake)
            .map(|(s, _)| *s)
            .collect();
        real.sort_by(f32::total_cmp);
        fake.sort_by(f32::total_cmp);
        let defaults = BandThresholds::default();
        // Lowest t with #{real ≥ t} ≤ max_fpr·n: just above the (n - allowed)-th highest score.
        let manipulated = if real.is_empty() {
            defaults.manipulated
        } else {
            let allowed = (self.max_false_positive_rate * real.len() as f64).floor() as usize;
            let index = real.len() - 1 - allowed.min(real.len() - 1);
            next_up(real[index])
        };
        // Highest t with #{fake < t} ≤ max_miss·n: the (allowed)-th lowest fake score.
        let clear = if fake.is_empty() {
            defaults.clear
        } else {
            let allowed = (self.max_miss_rate * fake.len() as f64).floor() as usize;
            fake[allowed.min(fake.len() - 1)]
        };
        let manipulated = manipulated.clamp(self.manipulated_range[0], self.manipulated_range[1]);
        let clear = clear
            .clamp(self.clear_range[0], self.clear_range[1])
            .min(manipulated);
        BandThresholds { manipulated, clear }
    }
}

/// The smallest f32 above `x` (for "strictly above every real score").
fn next_up(x: f32) -> f32 {
    if x.is_nan() || x == f32::INFINITY {
        x
    } else if x == 0.0 {
        f32::from_bits(1)
    } else if x > 0.0 {
        f32::from_bits(x.to_bits() + 1)
    } else {
        f32::from_bits(x.to_bits() - 1)
    }
}

impl TrainOptions {
    /// Defaults for `config`.
    pub fn new(config: MclcrConfig) -> Self {
        Self {
            config,
            optim: OptimConfig::default(),
            epochs: 10,
            batch_size: 16,
            seed: 0,
            freeze_backbone_epochs: 1,
            frozen_stages: 0,
            jpeg_probability: 0.5,
            jpeg_quality: [40, 100],
            self_blend_share: 0.5,
            self_blend: SelfBlendConfig::default(),
            pretrained_backbone: true,
            init_from: None,
            keep_epochs: false,
            faces_per_image: 1,
            held_out_identities: Vec::new(),
            crop_jitter: 0.0,
            crop_rotation: 0.0,
            pair_warp: 0.0,
            pair_warp_probability: always(),
            pair_relight: 0.0,
            blend_map_loss: 0.0,
            blend_at_source_size: false,
            small_face_probability: 0.0,
            small_face_side: small_face_side(),
            video_probability: 0.0,
            video_quality: video_quality(),
            frame_jpeg_probability: 0.0,
            band_targets: BandTargets::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_keep_real_faces_below_manipulated_and_most_fakes_above_clear() {
        let targets = BandTargets {
            max_false_positive_rate: 0.1,
            max_miss_rate: 0.2,
            manipulated_range: [0.0, 1.0],
            clear_range: [0.0, 1.0],
        };
        // Ten real faces 0.05..0.95 (step 0.1), five fakes.
        let mut scores: Vec<f32> = (0..10).map(|i| 0.05 + 0.1 * i as f32).collect();
        let mut labels = vec![false; 10];
        scores.extend([0.3, 0.6, 0.7, 0.8, 0.9]);
        labels.extend([true; 5]);
        let bands = targets.choose(&scores, &labels);
        // One real face in ten may be flagged: just above the second-highest real (0.85).
        assert!(
            bands.manipulated > 0.85 && bands.manipulated < 0.851,
            "{bands:?}"
        );
        // One fake in five may fall below clear: the second-lowest fake.
        assert_eq!(bands.clear, 0.6);
        let real_flagged = scores[..10]
            .iter()
            .filter(|&&s| s >= bands.manipulated)
            .count();
        assert_eq!(real_flagged, 1);
    }

    #[test]
    fn bands_are_clamped_and_clear_never_exceeds_manipulated() {
        let targets = BandTargets::default();
        // Fakes score high, reals low: unclamped clear would be 0.9.
        let scores = [0.01, 0.02, 0.9, 0.95];
        let labels = [false, false, true, true];
        let bands = targets.choose(&scores, &labels);
        assert_eq!(bands.manipulated, 0.5);
        assert_eq!(bands.clear, 0.5);
        let empty = targets.choose(&[], &[]);
        assert_eq!(empty, BandThresholds::default());
    }

    /// Keys of `recipe` that `read_back` lacks, as dotted paths.
    fn unknown_keys(
        recipe: &serde_json::Value,
        read_back: &serde_json::Value,
        at: &str,
    ) -> Vec<String> {
        let (Some(recipe), Some(read_back)) = (recipe.as_object(), read_back.as_object()) else {
            return Vec::new();
        };
        recipe
            .iter()
            .flat_map(|(key, value)| match read_back.get(key) {
                None => vec![format!("{at}{key}")],
                Some(back) => unknown_keys(value, back, &format!("{at}{key}.")),
            })
            .collect()
    }

    /// A misspelt or retired recipe key would be ignored without a word (serde skips unknown
    /// fields): every recipe in `tools/recipe` must read back with all of its keys.
    #[test]
    fn every_recipe_in_tools_reads_back_whole() {
        let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/recipe");
        let mut read = 0;
        for entry in std::fs::read_dir(&folder).expect("tools/recipe") {
            let path = entry.expect("entry").path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("recipe text");
            let recipe: serde_json::Value = serde_json::from_str(&text).expect("JSON");
            let options: TrainOptions = serde_json::from_value(recipe.clone())
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let back = serde_json::to_value(&options).expect("serialise");
            let unknown = unknown_keys(&recipe, &back, "");
            assert!(
                unknown.is_empty(),
                "{}: unknown keys {unknown:?}",
                path.display()
            );
            read += 1;
        }
        assert!(read >= 7, "only {read} recipes found");
    }
}
