//! The same weights give the same answers on a wgpu device and on the CPU.
//!
//! Runs on any wgpu adapter, software renderers included (Mesa's lavapipe is a real Vulkan
//! device: `apt-get install mesa-vulkan-drivers`). Without any adapter the test fails, unless
//! `MCLCR_SKIP_WGPU=1` says that this machine is known to have none.

use burn::prelude::*;
use mclcr::device::{self, DeviceChoice};
use mclcr::inference::preprocess::Preprocessor;
use mclcr::model::{Mclcr, MclcrConfig};
use mclcr::weights::store::{ModelManifest, load_model, save_model};

fn outputs(model: &Mclcr, config: &MclcrConfig, device: &Device) -> Vec<(String, Vec<f32>)> {
    let pre = Preprocessor::new(config);
    let faces: Vec<_> = (0..2)
        .map(|i| {
            pre.prepare(&mclcr::inference::bench::synthetic_face(
                config.image_size as u32,
                i,
            ))
        })
        .collect();
    let out = model.forward(pre.batch(&faces, device));
    let mut all = vec![
        (
            "logits".to_string(),
            out.logits.into_data().try_into_vec::<f32>().unwrap(),
        ),
        (
            "amplitude".to_string(),
            out.amplitude_attention
                .into_data()
                .try_into_vec::<f32>()
                .unwrap(),
        ),
        (
            "phase".to_string(),
            out.phase_attention
                .into_data()
                .try_into_vec::<f32>()
                .unwrap(),
        ),
    ];
    for (i, gram) in out.grams.into_iter().enumerate() {
        all.push((
            format!("gram{}", i + 1),
            gram.into_data().try_into_vec::<f32>().unwrap(),
        ));
    }
    all
}

#[test]
fn wgpu_and_cpu_agree_on_logits_and_maps() {
    let gpu = match device::select(DeviceChoice::Wgpu) {
        Ok(selected) => selected,
        Err(err) if std::env::var_os("MCLCR_SKIP_WGPU").is_some() => {
            eprintln!("skipped (MCLCR_SKIP_WGPU set): {err}");
            return;
        }
        Err(err) => panic!("{err}\n(install mesa-vulkan-drivers, or set MCLCR_SKIP_WGPU=1)"),
    };
    eprintln!("comparing CPU with {}", gpu.label);
    let dir = crate::common::tempdir();
    let config = MclcrConfig::tiny();
    let path = dir.path().join("tiny.json");
    let cpu = Device::flex();
    save_model(
        &config.init(&cpu),
        ModelManifest::new("tiny", config.clone(), false),
        &path,
    )
    .unwrap();
    let (cpu_model, _) = load_model(&path, &cpu).unwrap();
    let (gpu_model, _) = load_model(&path, &gpu.device).unwrap();
    let expected = outputs(&cpu_model, &config, &cpu);
    let got = outputs(&gpu_model, &config, &gpu.device);
    for ((name, e), (_, g)) in expected.iter().zip(&got) {
        let scale = e.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-12);
        let worst = e
            .iter()
            .zip(g)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(
            worst <= 1e-3 * scale,
            "{name}: wgpu differs from CPU by {worst} (scale {scale})"
        );
    }
}
