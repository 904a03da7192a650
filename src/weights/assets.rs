//! Files that ship with mclcr (weights, models) and the checksums that guard them.
//!
//! Assets are looked up, in order, under `$MCLCR_ASSETS` when it is set, under `assets/` next to
//! the executable (and `../share/mclcr/assets/` for installed layouts), and under the source
//! tree's `assets/` folder this binary was built from.

use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::error::ModelFileError;

/// Relative path of the EfficientNet-Lite0 ImageNet weights inside the assets folder.
pub const EFFICIENTNET_LITE0: &str = "weights/efficientnet_lite0.safetensors";

/// SHA-256 of the converted EfficientNet-Lite0 weights (see `assets/weights/README.md`).
pub const EFFICIENTNET_LITE0_SHA256: &str =
    "39bceddc78b6c779ddbf1baf8ed29f97b0bba4204e451f248e8b8ac8275c973c";

/// Relative path of the 68-point face landmark weights inside the assets folder.
pub const FACE_LANDMARK_68: &str = "weights/face_landmark_68.safetensors";

/// SHA-256 of the converted landmark weights (see `assets/weights/README.md`).
pub const FACE_LANDMARK_68_SHA256: &str =
    "9834ee7caff27c285e1960201830344f1e8199fab79a3f36d820c0cb05351567";

/// Relative path of the BlazeFace back-camera face detector weights inside the assets folder.
pub const BLAZEFACE_BACK: &str = "weights/blazeface_back.safetensors";

/// SHA-256 of the converted BlazeFace weights (see `assets/weights/README.md`).
pub const BLAZEFACE_BACK_SHA256: &str =
    "702afc256274795a074ecc1460129e0a7d674661fc924b03162125d0a6b69d04";

/// Relative path of the shipped default model's manifest inside the assets folder (its model
/// card is `models/MODEL_CARD.md`).
pub const DEFAULT_MODEL: &str = "models/mclcr-default.json";

/// Folders searched for assets, most specific first.
pub fn search_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(dir) = std::env::var_os("MCLCR_ASSETS") {
        dirs.push(PathBuf::from(dir));
    }
    if let Ok(exe) = std::env::current_exe()
        && let Some(bin) = exe.parent()
    {
        dirs.push(bin.join("assets"));
        dirs.push(bin.join("../share/mclcr/assets"));
    }
    dirs.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("assets"));
    dirs
}

/// The first existing file `relative` under the asset folders, or the path it would have in the
/// last folder searched (so that an error names a real place).
pub fn locate(relative: &str) -> PathBuf {
    let dirs = search_dirs();
    dirs.iter()
        .map(|d| d.join(relative))
        .find(|p| p.is_file())
        .unwrap_or_else(|| dirs[dirs.len() - 1].join(relative))
}

/// Checks a file's SHA-256 against the recorded one.
pub fn verify_sha256(path: &Path, expected: &str) -> Result<(), ModelFileError> {
    let actual = sha256_file(path).map_err(|e| ModelFileError::io(path, e))?;
    if actual != expected {
        return Err(ModelFileError::Checksum {
            path: path.to_path_buf(),
            expected: expected.to_string(),
            actual,
        });
    }
    Ok(())
}

/// SHA-256 of a file, as lowercase hex.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

/// SHA-256 of bytes, as lowercase hex.
pub fn sha256_bytes(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_known_bytes() {
        assert_eq!(
            sha256_bytes(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn locate_finds_the_shipped_weights() {
        assert!(locate(EFFICIENTNET_LITE0).is_file());
    }
}
