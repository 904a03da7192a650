//! ImageNet weights for the EfficientNet-Lite backbone, read from the safetensors file that
//! `tools/convert_efficientnet_lite.py` makes from the reference PyTorch checkpoint.
//!
//! The file keeps the reference implementation's key names; they are remapped to this crate's
//! module paths on load, and batch-norm `weight`/`bias` become `gamma`/`beta` and linear weights
//! are transposed by burn-store's PyTorch adapter. Every tensor of the backbone must be found
//! with the right shape, or loading fails with an error naming the file: a backbone never runs
//! on silently random weights.

use std::path::Path;

use burn::store::{ModuleSnapshot, PyTorchToBurnAdapter, SafetensorsStore};

use super::error::ModelFileError;
use crate::model::efficientnet::EfficientNetLite;
use crate::weights::assets;

/// Reference key (regex) → module path, in the order they are tried.
pub const EFFICIENTNET_KEY_MAP: [(&str, &str); 11] = [
    (r"^_conv_stem\.(.+)$", "stem.conv.$1"),
    (r"^_bn0\.(.+)$", "stem.bn.$1"),
    (
        r"^_blocks\.(\d+)\._expand_conv\.(.+)$",
        "blocks.$1.expand.conv.$2",
    ),
    (r"^_blocks\.(\d+)\._bn0\.(.+)$", "blocks.$1.expand.bn.$2"),
    (
        r"^_blocks\.(\d+)\._depthwise_conv\.(.+)$",
        "blocks.$1.depthwise.conv.$2",
    ),
    (r"^_blocks\.(\d+)\._bn1\.(.+)$", "blocks.$1.depthwise.bn.$2"),
    (
        r"^_blocks\.(\d+)\._project_conv\.(.+)$",
        "blocks.$1.project.conv.$2",
    ),
    (r"^_blocks\.(\d+)\._bn2\.(.+)$", "blocks.$1.project.bn.$2"),
    (r"^_conv_head\.(.+)$", "head.conv.$1"),
    (r"^_bn1\.(.+)$", "head.bn.$1"),
    (r"^_fc\.(.+)$", "classifier.$1"),
];

/// Loads the shipped EfficientNet-Lite0 ImageNet weights, checking their SHA-256 first.
pub fn load_lite0(net: &mut EfficientNetLite) -> Result<(), ModelFileError> {
    let path = assets::locate(assets::EFFICIENTNET_LITE0);
    assets::verify_sha256(&path, assets::EFFICIENTNET_LITE0_SHA256)?;
    load_efficientnet(net, &path)
}

/// Loads EfficientNet-Lite weights with reference key names from `path` into `net`.
///
/// Tensors in the file that the network has no place for (the ImageNet classifier when the
/// network has none) are ignored; every tensor the network has must be in the file.
pub fn load_efficientnet(net: &mut EfficientNetLite, path: &Path) -> Result<(), ModelFileError> {
    if !path.is_file() {
        return Err(ModelFileError::io(
            path,
            std::io::Error::new(std::io::ErrorKind::NotFound, "file not found"),
        ));
    }
    let mut store = SafetensorsStore::from_file(path).with_from_adapter(PyTorchToBurnAdapter);
    for (from, to) in EFFICIENTNET_KEY_MAP {
        store = store.with_key_remapping(from, to);
    }
    let result = net
        .load_from(&mut store)
        .map_err(|e| crate::weights::store::load_error(path, e))?;
    crate::weights::store::check_apply_result(path, &result)
}
