//! How to analyse: limits, detector, crops, batching, flags and extras.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use super::verdict::FlagRules;
use crate::imaging::evidence::LoadLimits;
use crate::imaging::faces::{self, DetectorSettings};

/// At most this many faces per image are scored (the most confident ones).
pub const MAX_FACES_PER_IMAGE: usize = 32;

/// How to analyse.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Decoding limits.
    pub limits: LoadLimits,
    /// Face detector settings.
    pub detector: DetectorSettings,
    /// Crop margin around a face box, as a fraction of its longer side on each side.
    pub margin: f32,
    /// Treat every image as one face crop (inputs that are already crops).
    pub whole_image: bool,
    /// Faces per model batch.
    pub batch: usize,
    /// Decoding / detection threads.
    pub workers: usize,
    /// What raises flags.
    pub flag_rules: FlagRules,
    /// Write explanation maps as PNG files here.
    pub maps_dir: Option<PathBuf>,
    /// Re-score every face under JPEG re-compression and rescaling.
    pub robustness: bool,
    /// Attach a thumbnail whose longer side is this many pixels to every report.
    pub thumbnail: Option<u32>,
    /// Set from another thread to stop: inputs not yet started are dropped, the scan returns
    /// once those in flight are reported.
    pub cancel: Option<Arc<AtomicBool>>,
}

impl Default for ScanOptions {
    fn default() -> Self {
        Self {
            limits: LoadLimits::default(),
            detector: DetectorSettings::default(),
            margin: faces::DEFAULT_MARGIN,
            whole_image: false,
            batch: 8,
            workers: crate::device::cpu_threads().saturating_sub(1).max(1),
            flag_rules: FlagRules::default(),
            maps_dir: None,
            robustness: false,
            thumbnail: None,
            cancel: None,
        }
    }
}
