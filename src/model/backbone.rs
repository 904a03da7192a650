//! The spatial backbone: one of the supported CNNs behind one interface.

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use super::efficientnet::{BackboneFeatures, EfficientNetLite, EfficientNetLiteConfig};
use super::xception::{Xception, XceptionConfig};

/// Which CNN the spatial stream uses, with its configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BackboneConfig {
    /// EfficientNet-Lite (default: Lite0 with ImageNet weights).
    EfficientnetLite(EfficientNetLiteConfig),
    /// Xception, the paper's backbone (random initialisation only).
    Xception(XceptionConfig),
}

impl BackboneConfig {
    /// Channels of the three style taps.
    pub fn tap_channels(&self) -> [usize; 3] {
        match self {
            Self::EfficientnetLite(c) => c.tap_channels(),
            Self::Xception(c) => c.entry_channels,
        }
    }

    /// Channels of the last feature map (the size of the global feature).
    pub fn out_channels(&self) -> usize {
        match self {
            Self::EfficientnetLite(c) => c.head_channels,
            Self::Xception(c) => c.exit_channels[2],
        }
    }

    /// Checks what `init` would otherwise trip over.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            Self::EfficientnetLite(c) => {
                if c.stages.is_empty() {
                    return Err("efficientnet_lite needs at least one stage".into());
                }
                let [a, b, t] = c.tap_stages;
                if a >= b || b >= t || t >= c.stages.len() {
                    return Err(format!(
                        "tap_stages {:?} must be three increasing stage indices below {}",
                        c.tap_stages,
                        c.stages.len()
                    ));
                }
                if c.stages.iter().any(|s| s.repeats == 0 || s.channels == 0) {
                    return Err("every stage needs repeats > 0 and channels > 0".into());
                }
                Ok(())
            }
            Self::Xception(c) => {
                if c.entry_channels.contains(&0) || c.exit_channels.contains(&0) {
                    return Err("xception channels must be > 0".into());
                }
                Ok(())
            }
        }
    }

    /// Builds the backbone with freshly initialised weights.
    pub fn init(&self, device: &Device) -> Backbone {
        match self {
            Self::EfficientnetLite(c) => Backbone::EfficientnetLite(c.init(device)),
            Self::Xception(c) => Backbone::Xception(c.init(device)),
        }
    }
}

/// The spatial backbone module.
// A model holds one backbone, so the variants' size difference costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Backbone {
    /// EfficientNet-Lite.
    EfficientnetLite(EfficientNetLite),
    /// Xception.
    Xception(Xception),
}

impl Backbone {
    /// `[batch, 3, H, W]` → three shallow taps and the last feature map.
    pub fn forward_features(&self, x: Tensor<4>) -> BackboneFeatures {
        match self {
            Self::EfficientnetLite(net) => net.forward_features(x),
            Self::Xception(net) => net.forward_features(x),
        }
    }
}
