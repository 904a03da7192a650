//! What one fuzz input goes through: an image file the whole way a dropped file takes before
//! the network (`analysis::decode::decode_one`: read within the limits, decode, EXIF orientation,
//! JPEG quality, face detection, crops, flags, thumbnail, then each crop resized to the network's
//! input), or a model file through `weights::store::load_model`.

use std::path::{Path, PathBuf};

use mclcr::analysis::ScanOptions;
use mclcr::analysis::decode::decode_one;
use mclcr::device::SelectedDevice;
use mclcr::imaging::face_finder::FaceFinder;
use mclcr::weights::assets::sha256_bytes;
use mclcr::weights::store::{ModelManifest, load_model};

use crate::common::TempDir;

/// The network's input side the crops are resized to (the tiny model's).
const INPUT_SIDE: u32 = 64;

/// What a fuzz input is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Image,
    Manifest,
    Weights,
}

impl Kind {
    /// The file name an input of this kind is written to, and saved under.
    pub fn extension(self) -> &'static str {
        match self {
            Kind::Image => "bin",
            Kind::Manifest => "json",
            Kind::Weights => "safetensors",
        }
    }

    /// The kind of a saved input, from its extension.
    pub fn of(path: &Path) -> Option<Kind> {
        match path.extension()?.to_str()? {
            "bin" => Some(Kind::Image),
            "json" => Some(Kind::Manifest),
            "safetensors" => Some(Kind::Weights),
            _ => None,
        }
    }
}

/// The product code under test, with a scratch folder for the input files.
pub struct Target {
    dir: TempDir,
    finder: FaceFinder,
    options: ScanOptions,
    device: SelectedDevice,
    manifest: Vec<u8>,
}

impl Target {
    /// A target; `manifest` and `weights` are the model seeds (the half of a model that is not
    /// being mutated).
    pub fn new(manifest: &[u8], weights: &[u8]) -> Self {
        let dir = TempDir::new();
        for sub in ["image", "manifest", "weights"] {
            std::fs::create_dir_all(dir.path().join(sub)).expect("scratch folder");
        }
        std::fs::write(dir.path().join("manifest/model.safetensors"), weights)
            .expect("scratch weights");
        let options = ScanOptions {
            thumbnail: Some(160),
            ..ScanOptions::default()
        };
        Self {
            finder: FaceFinder::new(options.detector),
            options,
            dir,
            device: SelectedDevice::cpu(),
            manifest: manifest.to_vec(),
        }
    }

    /// A fresh face finder, after a panic may have left the old one half-way.
    pub fn reset(&mut self) {
        self.finder = FaceFinder::new(self.options.detector);
    }

    /// The file the current input of `kind` is written to.
    pub fn input_path(&self, kind: Kind) -> PathBuf {
        match kind {
            Kind::Image => self.dir.path().join("image/input.bin"),
            Kind::Manifest => self.dir.path().join("manifest/model.json"),
            Kind::Weights => self.dir.path().join("weights/model.safetensors"),
        }
    }

    /// Runs one input; `Ok` with the number of faces (0 for model files), or the error the
    /// user would see.
    pub fn run(&mut self, kind: Kind, bytes: &[u8]) -> Result<usize, String> {
        let path = self.input_path(kind);
        std::fs::write(&path, bytes).expect("scratch input");
        match kind {
            Kind::Image => {
                let decoded = decode_one(&path, &self.options, &mut self.finder, INPUT_SIDE)?;
                for face in &decoded.faces {
                    let (pixels, _) = face.resized(INPUT_SIDE);
                    assert_eq!(pixels.dimensions(), (INPUT_SIDE, INPUT_SIDE));
                }
                Ok(decoded.faces.len())
            }
            Kind::Manifest => self.load(&path),
            Kind::Weights => {
                // The manifest records the mutant's checksum, so the loader gets past the
                // checksum and into the safetensors header.
                let mut manifest: ModelManifest =
                    serde_json::from_slice(&self.manifest).expect("seed manifest");
                manifest.weights_sha256 = sha256_bytes(bytes);
                let json = serde_json::to_string(&manifest).expect("manifest json");
                let manifest_path = path.with_file_name("model.json");
                std::fs::write(&manifest_path, json).expect("scratch manifest");
                self.load(&manifest_path)
            }
        }
    }

    fn load(&self, manifest_path: &Path) -> Result<usize, String> {
        load_model(manifest_path, &self.device.device)
            .map(|_| 0)
            .map_err(|e| e.to_string())
    }
}
