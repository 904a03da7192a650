//! Limits on configurations read from files: every size within a range the network was built
//! for, and an upper bound on the weights a configuration asks for, checked before a single
//! tensor is allocated. A damaged or hostile `model.json` (a channel count of 4 294 967 295)
//! is then an error for the user, not an allocation that aborts the program.

use super::backbone::BackboneConfig;
use super::frequency::FrequencyStreamConfig;

/// Largest channel or feature count anywhere in the network.
pub const MAX_WIDTH: usize = 8192;

/// Most weights (f32 values) a configuration may ask for: 4 GB of f32, far above any network
/// mclcr ships (Xception, the largest, has about 21 million).
pub const MAX_PARAMETERS: u128 = 1 << 30;

/// `Err` naming `what` unless `value` is in `range`.
pub fn within(
    what: &str,
    value: usize,
    range: std::ops::RangeInclusive<usize>,
) -> Result<(), String> {
    if range.contains(&value) {
        Ok(())
    } else {
        Err(format!(
            "{what} {value} is out of range ({}..={})",
            range.start(),
            range.end()
        ))
    }
}

/// Checks each size of a backbone against its range.
pub fn check_backbone(backbone: &BackboneConfig) -> Result<(), String> {
    match backbone {
        BackboneConfig::EfficientnetLite(c) => {
            within("stem_channels", c.stem_channels, 1..=MAX_WIDTH)?;
            within("head_channels", c.head_channels, 1..=MAX_WIDTH)?;
            within("number of stages", c.stages.len(), 1..=32)?;
            for stage in &c.stages {
                within("stage repeats", stage.repeats, 1..=64)?;
                within("stage kernel", stage.kernel, 1..=15)?;
                within("stage stride", stage.stride, 1..=4)?;
                within("stage expand", stage.expand, 1..=32)?;
                within("stage channels", stage.channels, 1..=MAX_WIDTH)?;
            }
            if let Some(classes) = c.classes {
                within("classes", classes, 1..=100_000)?;
            }
            if !(c.bn_epsilon.is_finite() && c.bn_epsilon > 0.0) {
                return Err(format!("bn_epsilon {} must be positive", c.bn_epsilon));
            }
        }
        BackboneConfig::Xception(c) => {
            for channels in c.entry_channels.iter().chain(&c.exit_channels) {
                within("xception channels", *channels, 1..=MAX_WIDTH)?;
            }
            within("middle_blocks", c.middle_blocks, 0..=64)?;
        }
    }
    Ok(())
}

/// Checks each size of the frequency stream against its range.
pub fn check_frequency(frequency: &FrequencyStreamConfig) -> Result<(), String> {
    within("frequency.image_size", frequency.image_size, 1..=2048)?;
    within("patch_size", frequency.patch_size, 1..=frequency.image_size)?;
    within("d_model", frequency.d_model, 1..=MAX_WIDTH)?;
    within("heads", frequency.heads, 1..=256)?;
    within("mixer_layers", frequency.mixer_layers, 0..=64)?;
    for (what, ratio) in [
        ("token_mlp_ratio", frequency.token_mlp_ratio),
        ("channel_mlp_ratio", frequency.channel_mlp_ratio),
    ] {
        if !(ratio.is_finite() && ratio > 0.0 && ratio <= 64.0) {
            return Err(format!("{what} {ratio} must be in (0, 64]"));
        }
    }
    Ok(())
}

/// An upper bound on the number of weights of a network, from its sizes alone; `heads` holds
/// the Gram channels, style, projection hidden and projection sizes and the fused feature size.
/// Call after the range checks: the products then fit easily in `u128`.
pub fn parameter_bound(
    backbone: &BackboneConfig,
    frequency: &FrequencyStreamConfig,
    heads: [usize; 5],
) -> u128 {
    let w = |x: usize| x as u128;
    let mut total: u128 = 0;
    match backbone {
        BackboneConfig::EfficientnetLite(c) => {
            let mut cin = w(c.stem_channels);
            total += 27 * cin;
            for s in &c.stages {
                for _ in 0..s.repeats {
                    let hidden = cin * w(s.expand);
                    total +=
                        cin * hidden + hidden * w(s.kernel * s.kernel) + hidden * w(s.channels);
                    total += 4 * (hidden + w(s.channels));
                    cin = w(s.channels);
                }
            }
            total += cin * w(c.head_channels) + w(c.head_channels) * w(c.classes.unwrap_or(0));
        }
        BackboneConfig::Xception(c) => {
            let widest = c
                .entry_channels
                .iter()
                .chain(&c.exit_channels)
                .map(|&x| w(x))
                .max()
                .unwrap_or(0);
            total += widest * widest * (12 + 3 * w(c.middle_blocks));
        }
    }
    let patches = w((frequency.image_size / frequency.patch_size.max(1)).pow(2));
    let d = w(frequency.d_model);
    let spectrum = w(frequency.patch_size * (frequency.patch_size / 2 + 1));
    let token_hidden = (frequency.token_mlp_ratio * patches as f64).ceil() as u128;
    let channel_hidden = (frequency.channel_mlp_ratio * d as f64).ceil() as u128;
    total += 2 * (spectrum * d + patches * d) + 8 * d * d;
    total += 2 * w(frequency.mixer_layers) * (2 * patches * token_hidden + 2 * d * channel_hidden);
    let [gram, style, hidden, projection, feature] = heads.map(w);
    let taps: u128 = backbone.tap_channels().iter().map(|&c| w(c)).sum();
    total += taps * gram + 3 * gram * gram * style + feature * (2 + hidden) + hidden * projection;
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::MclcrConfig;

    #[test]
    fn shipped_networks_are_well_within_the_bound() {
        for name in ["default", "xception", "tiny"] {
            let c = MclcrConfig::named(name).unwrap();
            c.validate().unwrap();
            let bound = parameter_bound(
                &c.backbone,
                &c.frequency,
                [
                    c.gram_channels,
                    c.style_dim,
                    c.projection_hidden,
                    c.projection_dim,
                    c.feature_dim(),
                ],
            );
            assert!(bound < MAX_PARAMETERS / 4, "{name}: {bound}");
        }
    }

    #[test]
    fn absurd_sizes_are_errors_not_allocations() {
        let mut c = MclcrConfig::tiny();
        c.style_dim = 4_294_967_295;
        assert!(c.validate().unwrap_err().contains("style_dim"));
        let mut c = MclcrConfig::tiny();
        if let BackboneConfig::EfficientnetLite(e) = &mut c.backbone {
            e.stages[0].kernel = 0;
        }
        assert!(c.validate().unwrap_err().contains("kernel"));
        let mut c = MclcrConfig::tiny();
        if let BackboneConfig::EfficientnetLite(e) = &mut c.backbone {
            for stage in &mut e.stages {
                stage.channels = MAX_WIDTH;
                stage.expand = 32;
                stage.repeats = 64;
            }
        }
        assert!(c.validate().unwrap_err().contains("weights"));
    }
}
