//! `tools/average_weights.py`: a weighted mean of two models' weights, loadable by mclcr.

use std::collections::BTreeMap;
use std::path::Path;

use burn::prelude::*;
use mclcr::model::{Mclcr, MclcrConfig};
use mclcr::weights::store::{ModelManifest, load_model, save_model};

/// A tiny model with its own random weights, saved as F32 under `dir/<name>.json`.
fn saved_tiny(dir: &Path, name: &str, seed: u64) -> (Mclcr, std::path::PathBuf) {
    let device = Device::flex();
    let config = MclcrConfig::tiny();
    device.seed(seed);
    let model = config.init(&device);
    let path = dir.join(format!("{name}.json"));
    save_model(&model, ModelManifest::new(name, config, true), &path).expect("model saved");
    (model, path)
}

/// Every F32 tensor of a safetensors file, by name.
fn tensors(path: &Path) -> BTreeMap<String, Vec<f32>> {
    let bytes = std::fs::read(path).expect("weights read");
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let data = &bytes[8 + n..];
    let mut out = BTreeMap::new();
    for (name, info) in header.as_object().unwrap() {
        if name == "__metadata__" {
            continue;
        }
        assert_eq!(info["dtype"], "F32", "{name}");
        let begin = info["data_offsets"][0].as_u64().unwrap() as usize;
        let end = info["data_offsets"][1].as_u64().unwrap() as usize;
        let values = data[begin..end]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        out.insert(name.clone(), values);
    }
    out
}

fn average(dir: &Path, a: &Path, b: &Path, mix: [&str; 2], out: &str) -> std::path::PathBuf {
    let out = dir.join(out);
    crate::common::python_tool(
        "average_weights.py",
        [
            "--model".as_ref(),
            a.as_os_str(),
            "--model".as_ref(),
            b.as_os_str(),
            "--mix".as_ref(),
            mix[0].as_ref(),
            "--mix".as_ref(),
            mix[1].as_ref(),
            "--out".as_ref(),
            out.as_os_str(),
        ] as [&std::ffi::OsStr; 10],
    );
    out
}

#[test]
fn the_mix_is_the_weighted_mean_of_every_tensor_and_loads() {
    let dir = crate::common::tempdir();
    let (_, a) = saved_tiny(dir.path(), "a", 1);
    let (_, b) = saved_tiny(dir.path(), "b", 2);
    let mixed = average(dir.path(), &a, &b, ["0.25", "0.75"], "mixed.json");

    let (ta, tb) = (
        tensors(&a.with_extension("safetensors")),
        tensors(&b.with_extension("safetensors")),
    );
    let tm = tensors(&mixed.with_extension("safetensors"));
    assert_eq!(tm.keys().collect::<Vec<_>>(), ta.keys().collect::<Vec<_>>());
    let mut differing = 0;
    for (name, values) in &tm {
        for ((m, x), y) in values.iter().zip(&ta[name]).zip(&tb[name]) {
            let expected = 0.25 * *x as f64 + 0.75 * *y as f64;
            assert!(
                (*m as f64 - expected).abs() <= 1e-6 * (1.0 + expected.abs()),
                "{name}: {m} vs {expected}"
            );
            differing += usize::from(x != y);
        }
    }
    assert!(
        differing > 1000,
        "the two models should differ ({differing})"
    );
    // The manifest names the new weights with their checksum: mclcr loads it.
    let (_, manifest) = load_model(&mixed, &Device::flex()).expect("the mix loads");
    assert_eq!(manifest.name, "mixed");
    assert!(manifest.trained);
}

#[test]
fn all_of_one_model_gives_its_outputs_bit_for_bit() {
    let dir = crate::common::tempdir();
    let (model, a) = saved_tiny(dir.path(), "a", 3);
    let (_, b) = saved_tiny(dir.path(), "b", 4);
    let only_a = average(dir.path(), &a, &b, ["1", "0"], "only_a.json");
    let device = Device::flex();
    let (loaded, _) = load_model(&only_a, &device).expect("the mix loads");
    let config = MclcrConfig::tiny();
    let face = mclcr::inference::bench::synthetic_face(config.image_size as u32, 0);
    let pre = mclcr::inference::preprocess::Preprocessor::new(&config);
    let logits = |m: &Mclcr| {
        m.forward(pre.batch(&[pre.prepare(&face)], &device))
            .logits
            .into_data()
            .try_into_vec::<f32>()
            .unwrap()
    };
    assert_eq!(logits(&model), logits(&loaded));
}

#[test]
fn models_of_other_configurations_are_refused() {
    let dir = crate::common::tempdir();
    let (_, a) = saved_tiny(dir.path(), "a", 5);
    let (_, b) = saved_tiny(dir.path(), "b", 6);
    let mut manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&b).unwrap()).unwrap();
    manifest["config"]["dropout"] = serde_json::json!(0.123);
    std::fs::write(&b, manifest.to_string()).unwrap();
    let run = std::process::Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/average_weights.py"))
        .args([
            "--model".as_ref(),
            a.as_os_str(),
            "--model".as_ref(),
            b.as_os_str(),
        ])
        .args(["--out".as_ref(), dir.path().join("m.json").as_os_str()])
        .output()
        .expect("python3 runs");
    assert_eq!(run.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&run.stderr).contains("another network configuration"),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(!dir.path().join("m.json").exists());
}
