//! The training step of MC-LCR: cross-entropy + λ·SupCon, Adam with weight decay, gradient
//! clipping, and a warm-up + cosine learning-rate schedule. The data side (folders,
//! self-blended fakes, splits) and the epoch loop build on this.

use std::time::{Duration, Instant};

use burn::grad_clipping::GradientClippingConfig;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::inference::preprocess::{PreparedFace, Preprocessor};
use crate::model::backbone::{Backbone, BackboneConfig};
use crate::model::loss::LossConfig;
use crate::model::{Mclcr, MclcrConfig};
use crate::train::blend_map::{
    BlendMapHead, BlendMapHeadConfig, BlendTarget, blend_map_loss, cell_targets,
};

/// Optimiser and schedule settings (DeepfakeBench-style defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OptimConfig {
    /// Peak learning rate of Adam.
    pub learning_rate: f64,
    /// L2 weight decay of Adam.
    pub weight_decay: f32,
    /// Clip the global gradient norm to this value (`None`: no clipping).
    pub clip_grad_norm: Option<f32>,
    /// Linear warm-up steps before the cosine decay.
    pub warmup_steps: usize,
    /// The final learning rate, as a fraction of the peak.
    pub final_lr_fraction: f64,
    /// Weight and temperature of the contrastive term.
    pub supcon_weight: f64,
    /// Temperature of the contrastive term.
    pub temperature: f64,
}

impl Default for OptimConfig {
    fn default() -> Self {
        Self {
            learning_rate: 2e-4,
            weight_decay: 5e-4,
            clip_grad_norm: Some(5.0),
            warmup_steps: 100,
            final_lr_fraction: 0.01,
            supcon_weight: 0.5,
            temperature: 0.07,
        }
    }
}

impl OptimConfig {
    /// Learning rate at `step` (0-based) of `total`: linear warm-up, then cosine decay.
    pub fn learning_rate_at(&self, step: usize, total: usize) -> f64 {
        let peak = self.learning_rate;
        if step < self.warmup_steps {
            return peak * (step + 1) as f64 / self.warmup_steps as f64;
        }
        let span = total.saturating_sub(self.warmup_steps).max(1);
        let progress = ((step - self.warmup_steps) as f64 / span as f64).min(1.0);
        let floor = peak * self.final_lr_fraction;
        floor + (peak - floor) * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
    }
}

/// The loss of one step, as plain numbers.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct StepLoss {
    /// CE + λ·SupCon.
    pub total: f32,
    /// Cross-entropy.
    pub cross_entropy: f32,
    /// Supervised contrastive loss.
    pub supcon: f32,
    /// The blend-map loss (unweighted; 0 while it is off, see [`Trainer::enable_blend_map_loss`]).
    pub blend_map: f32,
}

/// Wall time of the phases of one training step, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct StepTimes {
    /// Batching the inputs, the forward pass and the loss (read back as numbers).
    pub forward_ms: f64,
    /// The backward pass and collecting the gradients.
    pub backward_ms: f64,
    /// Gradient clipping and the Adam update.
    pub optimizer_ms: f64,
}

/// A model being trained, with its optimiser state.
pub struct Trainer {
    model: Option<Mclcr>,
    optimizer: ModuleOptimizer,
    loss: LossConfig,
    preprocessor: Preprocessor,
    config: MclcrConfig,
    device: Device,
    blend_map: Option<BlendMapTraining>,
    /// Steps taken so far.
    pub steps: usize,
}

/// The auxiliary blend-map loss while it is on: its weight, its head (made at the first step,
/// when the feature map's channels are known) and the head's own optimiser (its state is not
/// saved: the head is for training only).
struct BlendMapTraining {
    weight: f64,
    head: Option<BlendMapHead>,
    optimizer: ModuleOptimizer,
}

/// The head learns from scratch while the network is fine-tuned: it steps at this multiple of
/// the network's learning rate.
const BLEND_HEAD_LR_FACTOR: f64 = 10.0;

impl std::fmt::Debug for Trainer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trainer")
            .field("steps", &self.steps)
            .finish()
    }
}

impl Trainer {
    /// Prepares `model` (of `config`) for training on `device` (made an autodiff device).
    pub fn new(model: Mclcr, config: &MclcrConfig, optim: &OptimConfig, device: &Device) -> Self {
        let device = device.clone().autodiff();
        let optimizer = adam(optim);
        Self {
            model: Some(model.to_device(&device).train()),
            optimizer,
            loss: LossConfig::new()
                .with_supcon_weight(optim.supcon_weight)
                .with_temperature(optim.temperature),
            preprocessor: Preprocessor::new(config),
            config: config.clone(),
            device,
            blend_map: None,
            steps: 0,
        }
    }

    /// Adds `weight` × the blend-map loss ([`crate::train::blend_map`]) to every later step
    /// that is given blend targets (0 turns it off).
    pub fn enable_blend_map_loss(&mut self, weight: f64, optim: &OptimConfig) {
        self.blend_map = (weight > 0.0).then(|| BlendMapTraining {
            weight,
            head: None,
            optimizer: adam(optim),
        });
    }

    /// One optimisation step on a batch (`labels[i]` true for manipulated). The batch should
    /// hold both classes for the contrastive term to contribute.
    pub fn step(
        &mut self,
        faces: &[PreparedFace],
        labels: &[bool],
        learning_rate: f64,
    ) -> StepLoss {
        self.step_timed(faces, labels, learning_rate).0
    }

    /// [`Self::step`], also returning how long its three phases took (for profiling).
    pub fn step_timed(
        &mut self,
        faces: &[PreparedFace],
        labels: &[bool],
        learning_rate: f64,
    ) -> (StepLoss, StepTimes) {
        self.step_with_blend_targets(faces, labels, &[], learning_rate)
    }

    /// [`Self::step_timed`] with where each face was blended (one [`BlendTarget`] per face):
    /// while the blend-map loss is on, it adds to the step's loss; empty `blend_targets` leave
    /// it out of this step.
    pub fn step_with_blend_targets(
        &mut self,
        faces: &[PreparedFace],
        labels: &[bool],
        blend_targets: &[BlendTarget],
        learning_rate: f64,
    ) -> (StepLoss, StepTimes) {
        let Some(model) = self.model.take() else {
            unreachable!("the trainer always holds its model between steps")
        };
        let start = Instant::now();
        let input = self.preprocessor.batch(faces, &self.device);
        let targets: Vec<i64> = labels.iter().map(|&l| l as i64).collect();
        let targets = Tensor::<1, Int>::from_ints(targets.as_slice(), &self.device); // [batch]
        let out = model.forward(input);
        let parts = self.loss.compute(out.logits, out.projection, targets);
        let scalar = |t: &Tensor<1>| t.clone().into_scalar::<f32>();
        let mut total = parts.total.clone(); // [1]
        let mut blend_map = 0.0;
        let mut head = None;
        if let Some(training) = self.blend_map.as_mut()
            && !blend_targets.is_empty()
            && blend_targets.len() == faces.len()
        {
            let [batch, channels, rows, cols] = out.spatial.dims();
            let fresh = || BlendMapHeadConfig::new(channels).init(&self.device).train();
            let current = training.head.take().unwrap_or_else(fresh);
            let logits = current.forward(out.spatial); // [batch, 1, rows, cols]
            let (values, weights) =
                cell_targets(blend_targets, self.preprocessor.side(), rows, cols);
            let cells = Tensor::<4>::from_data(
                TensorData::new(values, [batch, 1, rows, cols]),
                &self.device,
            ); // [batch, 1, rows, cols]
            let weights = Tensor::<1>::from_data(TensorData::new(weights, [batch]), &self.device); // [batch]
            let map_loss = blend_map_loss(logits, cells, weights); // [1]
            blend_map = scalar(&map_loss);
            total = total + map_loss.mul_scalar(training.weight); // [1]
            head = Some(current);
        }
        let loss = StepLoss {
            total: scalar(&total),
            cross_entropy: scalar(&parts.cross_entropy),
            supcon: scalar(&parts.supcon),
            blend_map,
        };
        let forward = start.elapsed();
        let mut grads = total.backward();
        if let (Some(current), Some(training)) = (head, self.blend_map.as_mut()) {
            let head_gradients = GradientsParams::from_module(&mut grads, &current);
            let head_rate = learning_rate * BLEND_HEAD_LR_FACTOR;
            training.head = Some(training.optimizer.step(head_rate, current, head_gradients));
        }
        let gradients = GradientsParams::from_grads(grads, &model);
        let backward = start.elapsed() - forward;
        self.model = Some(self.optimizer.step(learning_rate, model, gradients));
        let optimizer = start.elapsed() - forward - backward;
        self.steps += 1;
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let times = StepTimes {
            forward_ms: ms(forward),
            backward_ms: ms(backward),
            optimizer_ms: ms(optimizer),
        };
        (loss, times)
    }

    /// Freezes (or unfreezes) the backbone: no gradient, batch norms on running statistics.
    pub fn set_backbone_frozen(&mut self, frozen: bool) {
        self.set_frozen(frozen, 0);
    }

    /// Freezes the whole backbone (`whole`), or else its stem and first `stages` stages only
    /// (EfficientNet-Lite backbones; 0 trains the whole backbone). Frozen layers keep no
    /// autodiff graph, so a step costs only their forward pass.
    pub fn set_frozen(&mut self, whole: bool, stages: usize) {
        if let Some(mut model) = self.model.take() {
            model.backbone = if whole {
                model.backbone.freeze()
            } else {
                match (model.backbone.unfreeze(), &self.config.backbone) {
                    (Backbone::EfficientnetLite(net), BackboneConfig::EfficientnetLite(c))
                        if stages > 0 =>
                    {
                        Backbone::EfficientnetLite(net.freeze_first(c.blocks_in_stages(stages)))
                    }
                    (backbone, _) => backbone,
                }
            };
            self.model = Some(model);
        }
    }

    /// Writes the optimiser's state (Adam's moments, keyed by parameter id) to `path`.
    pub fn save_optimizer(&self, path: &std::path::Path) -> Result<(), String> {
        self.optimizer.save(path).map_err(|e| e.to_string())
    }

    /// Restores the optimiser's state saved by [`Self::save_optimizer`]. The model must carry
    /// the parameter ids it had then (see [`crate::train`]'s resume files).
    pub fn load_optimizer(&mut self, path: &std::path::Path) -> Result<(), String> {
        let optimizer = std::mem::replace(&mut self.optimizer, AdamConfig::new().init());
        self.optimizer = optimizer.load(path).map_err(|e| e.to_string())?;
        Ok(())
    }

    /// A copy of the current model in inference mode (for checkpoints).
    pub fn model(&self) -> Option<Mclcr> {
        self.model.as_ref().map(|m| m.valid())
    }

    /// P(manipulated) for each face with the current weights, in inference mode.
    pub fn predict(&self, faces: &[PreparedFace]) -> Vec<f32> {
        let Some(model) = &self.model else {
            return Vec::new();
        };
        let model = model.valid();
        let input = self.preprocessor.batch(faces, &self.device);
        model
            .forward(input)
            .fake_probability()
            .into_data()
            .try_into_vec::<f32>()
            .unwrap_or_default()
    }

    /// The trained model, in inference mode.
    pub fn into_model(self) -> Option<Mclcr> {
        self.model.map(|m| m.valid())
    }
}

/// Adam with the run's weight decay and gradient clipping.
fn adam(optim: &OptimConfig) -> ModuleOptimizer {
    AdamConfig::new()
        .with_weight_decay(Some(WeightDecayConfig::new(optim.weight_decay)))
        .with_grad_clipping(optim.clip_grad_norm.map(GradientClippingConfig::Norm))
        .init()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::blend_map::BlendTarget;
    use image::{Rgb, RgbImage};

    #[test]
    fn schedule_warms_up_then_decays_to_the_floor() {
        let optim = OptimConfig {
            learning_rate: 1.0,
            warmup_steps: 4,
            final_lr_fraction: 0.1,
            ..OptimConfig::default()
        };
        assert_eq!(optim.learning_rate_at(0, 20), 0.25);
        assert_eq!(optim.learning_rate_at(3, 20), 1.0);
        assert_eq!(optim.learning_rate_at(4, 20), 1.0);
        assert!((optim.learning_rate_at(12, 20) - 0.55).abs() < 1e-12);
        assert!((optim.learning_rate_at(20, 20) - 0.1).abs() < 1e-12);
    }

    /// Real: smooth gradients. Manipulated: the same with a pasted block of high-frequency noise.
    fn toy_faces(pre: &Preprocessor) -> (Vec<PreparedFace>, Vec<bool>) {
        let side = pre.side() as u32;
        let mut faces = Vec::new();
        let mut labels = Vec::new();
        for i in 0..8u32 {
            let fake = i % 2 == 1;
            let image = RgbImage::from_fn(side, side, |x, y| {
                let base = ((x * 3 + y * 2 + i * 17) % 200) as u8;
                let inside = (16..48).contains(&x) && (16..48).contains(&y);
                if fake && inside {
                    let n = ((x * 7919 + y * 104_729 + i * 31) % 97) as u8;
                    Rgb([base / 2 + n, base / 2 + n, base / 2 + n])
                } else {
                    Rgb([base, base / 2 + 40, 255 - base])
                }
            });
            faces.push(pre.prepare(&image));
            labels.push(fake);
        }
        (faces, labels)
    }

    /// The tiny network without dropout, on the CPU seeded with `seed`, with its preprocessor
    /// and a fast optimiser setting (no warm-up).
    fn tiny_trainer(seed: u64) -> (Trainer, Preprocessor, OptimConfig) {
        let device = Device::flex();
        device.seed(seed);
        let config = MclcrConfig::tiny().with_dropout(0.0);
        let optim = OptimConfig {
            learning_rate: 2e-3,
            warmup_steps: 0,
            ..OptimConfig::default()
        };
        let trainer = Trainer::new(config.init(&device), &config, &optim, &device);
        (trainer, Preprocessor::new(&config), optim)
    }

    #[test]
    fn tiny_model_overfits_a_handful_of_faces() {
        let (mut trainer, pre, optim) = tiny_trainer(3);
        let (faces, labels) = toy_faces(&pre);
        let first = trainer.step(&faces, &labels, optim.learning_rate);
        let mut last = first;
        for _ in 0..40 {
            last = trainer.step(&faces, &labels, optim.learning_rate);
        }
        assert!(
            last.total < first.total * 0.5,
            "loss did not fall: {first:?} → {last:?}"
        );
        let scores = trainer.predict(&faces);
        let metrics = crate::train::metrics::evaluate(&scores, &labels).unwrap();
        assert_eq!(metrics.auc, 1.0, "scores {scores:?}");
    }

    #[test]
    fn the_blend_map_head_learns_where_the_pairs_differ() {
        let (mut trainer, pre, optim) = tiny_trainer(5);
        let side = pre.side() as u32;
        let (mut faces, mut labels, mut targets) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..4u32 {
            let base = |x: u32, y: u32| ((x * 3 + y * 2 + i * 17) % 200) as u8;
            let real = RgbImage::from_fn(side, side, |x, y| {
                Rgb([base(x, y), base(x, y) / 2 + 40, 255 - base(x, y)])
            });
            let mut fake = real.clone();
            for y in 0..side / 2 {
                for x in 0..side / 2 {
                    let n = ((x * 7919 + y * 104_729 + i * 31) % 97) as u8;
                    fake.put_pixel(x, y, Rgb([n, n, n]));
                }
            }
            let (real, fake) = (pre.prepare(&real), pre.prepare(&fake));
            targets.push(BlendTarget::Untouched);
            targets.push(BlendTarget::of_pair(&real, &fake));
            faces.extend([real, fake]);
            labels.extend([false, true]);
        }
        let (off, _) = trainer.step_with_blend_targets(&faces, &labels, &targets, 1e-3);
        assert_eq!(off.blend_map, 0.0, "off until enabled");
        trainer.enable_blend_map_loss(1.0, &optim);
        let (first, _) = trainer.step_with_blend_targets(&faces, &labels, &targets, 1e-3);
        let mut last = first;
        for _ in 0..30 {
            last = trainer
                .step_with_blend_targets(&faces, &labels, &targets, 1e-3)
                .0;
        }
        assert!(first.blend_map > 0.0);
        assert!(
            last.blend_map < first.blend_map * 0.5,
            "blend-map loss did not fall: {first:?} → {last:?}"
        );
        let (without, _) = trainer.step_with_blend_targets(&faces, &labels, &[], 1e-3);
        assert_eq!(without.blend_map, 0.0, "no targets, no term");
    }
}
