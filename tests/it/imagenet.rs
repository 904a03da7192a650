//! The shipped EfficientNet-Lite0 weights are real ImageNet weights and land in the right layers:
//! the backbone with its ImageNet classifier recognises public-domain photos (scikit-image's
//! `coffee` and `chelsea`, see tests/images/SOURCES.md) and reproduces the logits of an
//! independent numpy implementation (tools/efficientnet_lite_reference.py) on the CPU.

use std::path::Path;

use burn::prelude::*;
use mclcr::inference::preprocess::{center_square, rgb_tensor};
use mclcr::model::efficientnet::{EfficientNetLite, EfficientNetLiteConfig};
use mclcr::weights::pretrained;

fn lite0_with_classifier(device: &Device) -> EfficientNetLite {
    let mut net = EfficientNetLiteConfig::lite0()
        .with_classes(Some(1000))
        .init(device);
    pretrained::load_lite0(&mut net).expect("shipped weights load");
    net
}

fn image(name: &str) -> image::RgbImage {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/images")
        .join(name);
    image::open(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .to_rgb8()
}

fn logits(net: &EfficientNetLite, image: &image::RgbImage, device: &Device) -> Vec<f32> {
    net.forward_classifier(rgb_tensor(image, device))
        .expect("network has a classifier")
        .into_data()
        .try_into_vec::<f32>()
        .unwrap()
}

fn argmax(v: &[f32]) -> usize {
    v.iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, _)| i)
        .unwrap()
}

fn reference_logits(file: &str) -> Vec<f32> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/imagenet_reference.json");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let entry = json["images"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["file"].as_str().is_some_and(|f| f.ends_with(file)))
        .unwrap_or_else(|| panic!("no reference for {file}"));
    entry["logits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap() as f32)
        .collect()
}

fn assert_close_to_reference(got: &[f32], file: &str) {
    let expected = reference_logits(file);
    assert_eq!(got.len(), expected.len());
    let scale = expected.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let worst = got
        .iter()
        .zip(&expected)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(
        worst <= 1e-3 * scale,
        "{file}: largest logit difference {worst} vs numpy reference (scale {scale})"
    );
}

#[test]
fn coffee_is_espresso_and_matches_the_reference() {
    let device = Device::flex();
    let net = lite0_with_classifier(&device);
    let got = logits(&net, &image("coffee_224.png"), &device);
    assert_eq!(argmax(&got), 967, "coffee should be class 967 (espresso)");
    assert_close_to_reference(&got, "coffee_224.png");
}

#[test]
fn chelsea_is_a_cat_and_matches_the_reference() {
    let device = Device::flex();
    let net = lite0_with_classifier(&device);
    let got = logits(&net, &image("chelsea_224.png"), &device);
    let class = argmax(&got);
    assert!(
        (281..=285).contains(&class),
        "chelsea should be a cat class, got {class}"
    );
    assert_close_to_reference(&got, "chelsea_224.png");
}

#[test]
fn full_size_photos_classify_after_our_own_resize() {
    let device = Device::flex();
    let net = lite0_with_classifier(&device);
    for (file, classes) in [("coffee.png", 967..=967), ("chelsea.png", 281..=285)] {
        let square = center_square(&image(file));
        let resized =
            image::imageops::resize(&square, 224, 224, image::imageops::FilterType::Triangle);
        let class = argmax(&logits(&net, &resized, &device));
        assert!(classes.contains(&class), "{file}: got class {class}");
    }
}

#[test]
fn missing_or_wrong_weights_file_is_a_clear_error() {
    let device = Device::flex();
    let mut net = EfficientNetLiteConfig::lite0().init(&device);
    let missing = Path::new("does/not/exist.safetensors");
    let err = pretrained::load_efficientnet(&mut net, missing).unwrap_err();
    assert!(err.to_string().contains("exist.safetensors"), "{err}");

    // A real safetensors file of another network: every backbone tensor is missing.
    let dir = crate::common::tempdir();
    let other = dir.path().join("other.json");
    let tiny = mclcr::model::MclcrConfig::tiny();
    mclcr::weights::store::save_model(
        &tiny.init(&device),
        mclcr::weights::store::ModelManifest::new("tiny", tiny, false),
        &other,
    )
    .unwrap();
    let err =
        pretrained::load_efficientnet(&mut net, &other.with_extension("safetensors")).unwrap_err();
    assert!(err.to_string().contains("missing"), "{err}");
}
