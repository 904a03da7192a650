//! Saving and loading whole models: bit-exact round trip, and clear errors for damaged files.

use burn::prelude::*;
use mclcr::inference::preprocess::Preprocessor;
use mclcr::model::{Mclcr, MclcrConfig, MclcrInput};
use mclcr::weights::error::ModelFileError;
use mclcr::weights::store::{
    ModelManifest, WeightPrecision, load_model, save_model, save_model_as,
};

fn input(config: &MclcrConfig, device: &Device) -> MclcrInput {
    let pre = Preprocessor::new(config);
    let faces: Vec<_> = (0..2)
        .map(|i| {
            pre.prepare(&mclcr::inference::bench::synthetic_face(
                config.image_size as u32,
                i,
            ))
        })
        .collect();
    pre.batch(&faces, device)
}

fn outputs(model: &Mclcr, input: MclcrInput) -> Vec<Vec<f32>> {
    let out = model.forward(input);
    let mut all = vec![
        out.logits.into_data().try_into_vec::<f32>().unwrap(),
        out.projection.into_data().try_into_vec::<f32>().unwrap(),
        out.amplitude_attention
            .into_data()
            .try_into_vec::<f32>()
            .unwrap(),
        out.phase_attention
            .into_data()
            .try_into_vec::<f32>()
            .unwrap(),
    ];
    for gram in out.grams {
        all.push(gram.into_data().try_into_vec::<f32>().unwrap());
    }
    all
}

fn saved_tiny(dir: &std::path::Path) -> (Mclcr, std::path::PathBuf, ModelManifest) {
    let device = Device::flex();
    let config = MclcrConfig::tiny();
    device.seed(7);
    let model = config.init(&device);
    let path = dir.join("tiny.json");
    let manifest = save_model(&model, ModelManifest::new("tiny", config, false), &path).unwrap();
    (model, path, manifest)
}

#[test]
fn save_then_load_is_bit_exact() {
    let dir = crate::common::tempdir();
    let device = Device::flex();
    let (model, path, manifest) = saved_tiny(dir.path());
    assert_eq!(manifest.weights, "tiny.safetensors");
    assert_eq!(manifest.weights_sha256.len(), 64);
    let (loaded, read_manifest) = load_model(&path, &device).unwrap();
    assert_eq!(read_manifest, manifest);
    let config = MclcrConfig::tiny();
    let before = outputs(&model, input(&config, &device));
    let after = outputs(&loaded, input(&config, &device));
    assert_eq!(before, after, "outputs differ after save → load");
}

#[test]
fn f16_weights_are_half_the_size_and_load_into_an_f32_model() {
    let dir = crate::common::tempdir();
    let device = Device::flex();
    let (model, path32, _) = saved_tiny(dir.path());
    let config = MclcrConfig::tiny();
    let path16 = dir.path().join("tiny16.json");
    let manifest16 = save_model_as(
        &model,
        ModelManifest::new("tiny16", config.clone(), false),
        &path16,
        WeightPrecision::F16,
    )
    .unwrap();
    let size = |p: std::path::PathBuf| std::fs::metadata(p).unwrap().len() as f64;
    let ratio = size(manifest16.weights_path(&path16)) / size(path32.with_extension("safetensors"));
    assert!((0.45..0.6).contains(&ratio), "f16/f32 size ratio {ratio}");
    let (loaded, _) = load_model(&path16, &device).unwrap();
    let before = outputs(&model, input(&config, &device));
    let after = outputs(&loaded, input(&config, &device));
    assert_ne!(before, after, "f16 storage should round some values");
    for (a, b) in before.iter().zip(&after) {
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() <= 2e-2 * (1.0 + x.abs()), "{x} vs {y}");
        }
    }
}

#[test]
fn truncated_weights_are_a_checksum_error_naming_the_file() {
    let dir = crate::common::tempdir();
    let (_, path, manifest) = saved_tiny(dir.path());
    let weights = manifest.weights_path(&path);
    let bytes = std::fs::read(&weights).unwrap();
    std::fs::write(&weights, &bytes[..bytes.len() / 2]).unwrap();
    let err = load_model(&path, &Device::flex()).map(|_| ()).unwrap_err();
    assert!(matches!(err, ModelFileError::Checksum { .. }), "{err}");
    assert!(err.to_string().contains("tiny.safetensors"), "{err}");
}

#[test]
fn truncated_weights_with_matching_checksum_are_a_format_error() {
    let dir = crate::common::tempdir();
    let (_, path, mut manifest) = saved_tiny(dir.path());
    let weights = manifest.weights_path(&path);
    let bytes = std::fs::read(&weights).unwrap();
    std::fs::write(&weights, &bytes[..bytes.len() / 2]).unwrap();
    manifest.weights_sha256 = mclcr::weights::assets::sha256_file(&weights).unwrap();
    std::fs::write(&path, serde_json::to_string(&manifest).unwrap()).unwrap();
    let err = load_model(&path, &Device::flex()).map(|_| ()).unwrap_err();
    assert!(matches!(err, ModelFileError::Format { .. }), "{err}");
    assert!(err.to_string().contains("tiny.safetensors"), "{err}");
}

#[test]
fn weights_of_another_configuration_are_a_mismatch() {
    let dir = crate::common::tempdir();
    let (_, path, mut manifest) = saved_tiny(dir.path());
    // Claim a wider network than the one saved.
    manifest.config.frequency.d_model = 64;
    std::fs::write(&path, serde_json::to_string(&manifest).unwrap()).unwrap();
    let err = load_model(&path, &Device::flex()).map(|_| ()).unwrap_err();
    assert!(matches!(err, ModelFileError::Mismatch { .. }), "{err}");
}

#[test]
fn missing_weights_file_is_an_io_error_naming_it() {
    let dir = crate::common::tempdir();
    let (_, path, manifest) = saved_tiny(dir.path());
    std::fs::remove_file(manifest.weights_path(&path)).unwrap();
    let err = load_model(&path, &Device::flex()).map(|_| ()).unwrap_err();
    assert!(matches!(err, ModelFileError::Io { .. }), "{err}");
    assert!(err.to_string().contains("tiny.safetensors"), "{err}");
}

#[test]
fn garbage_manifest_is_a_manifest_error() {
    let dir = crate::common::tempdir();
    let path = dir.path().join("model.json");
    std::fs::write(&path, "{ not json").unwrap();
    let err = load_model(&path, &Device::flex()).map(|_| ()).unwrap_err();
    assert!(matches!(err, ModelFileError::Manifest { .. }), "{err}");
    assert!(err.to_string().contains("model.json"), "{err}");
}
