//! `mclcr bench --train`: training steps per second with the first backbone stages frozen or
//! not, on synthetic faces (the cost of a step does not depend on the pixels).

use std::time::Instant;

use serde::Serialize;

use crate::device::SelectedDevice;
use crate::inference::bench::{peak_rss_mib, synthetic_face};
use crate::inference::preprocess::{PreparedFace, Preprocessor};
use crate::model::MclcrConfig;
use crate::model::backbone::BackboneConfig;
use crate::train::step::{OptimConfig, Trainer};

/// How much of the backbone is frozen in a measurement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Frozen {
    /// The stem and this many first stages (0: the whole backbone trains).
    Stages(usize),
    /// The whole backbone.
    All,
}

impl std::str::FromStr for Frozen {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "all" => Ok(Self::All),
            n => n
                .parse()
                .map(Self::Stages)
                .map_err(|_| format!("'{s}': expected a number of stages or 'all'")),
        }
    }
}

impl std::fmt::Display for Frozen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Stages(n) => write!(f, "{n}"),
            Self::All => f.write_str("all"),
        }
    }
}

/// One measurement.
#[derive(Debug, Clone, Serialize)]
pub struct TrainBenchResult {
    /// The device, in words.
    pub device: String,
    /// Faces per step.
    pub batch: usize,
    /// What was frozen.
    pub frozen: String,
    /// Milliseconds per step (forward, backward, optimiser), median of the timed steps.
    pub ms_per_step: f64,
    /// Faces per second.
    pub faces_per_second: f64,
    /// Median milliseconds of the forward pass and loss, of the backward pass, and of the
    /// optimiser.
    pub phases_ms: [f64; 3],
    /// Peak resident memory of the process so far, MiB.
    pub peak_rss_mib: Option<f64>,
}

/// Times `iterations` training steps (after `warmup` untimed ones) at `batch` faces for each
/// of `frozen`, calling `report` after each.
pub fn run(
    config: &MclcrConfig,
    device: &SelectedDevice,
    batch: usize,
    frozen: &[Frozen],
    iterations: usize,
    warmup: usize,
    mut report: impl FnMut(&TrainBenchResult),
) -> Vec<TrainBenchResult> {
    let preprocessor = Preprocessor::new(config);
    let side = config.image_size as u32;
    let faces: Vec<PreparedFace> = (0..batch.max(2))
        .map(|i| preprocessor.prepare(&synthetic_face(side, i as u32)))
        .collect();
    let labels: Vec<bool> = (0..faces.len()).map(|i| i % 2 == 1).collect();
    let mut results = Vec::new();
    for &setting in frozen {
        device.device.seed(0);
        let model = config.init(&device.device);
        let mut trainer = Trainer::new(model, config, &OptimConfig::default(), &device.device);
        match setting {
            Frozen::All => trainer.set_frozen(true, 0),
            Frozen::Stages(n) => trainer.set_frozen(false, n),
        }
        for _ in 0..warmup {
            trainer.step(&faces, &labels, 1e-5);
        }
        let mut totals = Vec::new();
        let mut phases = [Vec::new(), Vec::new(), Vec::new()];
        for _ in 0..iterations.max(1) {
            let start = Instant::now();
            let (_, times) = trainer.step_timed(&faces, &labels, 1e-5);
            totals.push(start.elapsed().as_secs_f64() * 1e3);
            phases[0].push(times.forward_ms);
            phases[1].push(times.backward_ms);
            phases[2].push(times.optimizer_ms);
        }
        let ms = median(&mut totals);
        let result = TrainBenchResult {
            device: device.label.clone(),
            batch: faces.len(),
            frozen: match (setting, &config.backbone) {
                (Frozen::Stages(n), BackboneConfig::EfficientnetLite(c)) if n > 0 => {
                    format!("stem + {} stage(s)", n.min(c.stages.len()))
                }
                (Frozen::Stages(_), _) => "none".into(),
                (Frozen::All, _) => "whole backbone".into(),
            },
            ms_per_step: ms,
            faces_per_second: faces.len() as f64 * 1e3 / ms.max(1e-9),
            phases_ms: phases.map(|mut p| median(&mut p)),
            peak_rss_mib: peak_rss_mib(),
        };
        report(&result);
        results.push(result);
    }
    results
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frozen_settings_parse() {
        assert_eq!("all".parse::<Frozen>(), Ok(Frozen::All));
        assert_eq!("2".parse::<Frozen>(), Ok(Frozen::Stages(2)));
        assert!("two".parse::<Frozen>().is_err());
    }

    #[test]
    fn a_tiny_network_steps_with_each_setting() {
        let device = crate::device::select(crate::device::DeviceChoice::Cpu).expect("cpu");
        let config = MclcrConfig::tiny();
        let frozen = [Frozen::Stages(0), Frozen::Stages(1), Frozen::All];
        let results = run(&config, &device, 2, &frozen, 1, 0, |_| {});
        assert_eq!(results.len(), 3);
        assert!(
            results
                .iter()
                .all(|r| r.ms_per_step > 0.0 && r.faces_per_second > 0.0)
        );
        assert_eq!(results[2].frozen, "whole backbone");
    }
}
