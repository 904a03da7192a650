//! Faults while writing: each file mclcr writes goes through `mclcr::atomic_file`, so a write
//! that fails (the destination taken by a folder, a folder below a regular file, a process
//! killed half-way) leaves the old file as it was and says which file failed.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use mclcr::device::SelectedDevice;
use mclcr::model::MclcrConfig;
use mclcr::weights::error::ModelFileError;
use mclcr::weights::store::{ModelManifest, load_model, save_model};

fn mclcr(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mclcr"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Temporary files the atomic writer left in `dir` (there should be none).
fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.contains(".tmp-"))
                .collect()
        })
        .unwrap_or_default()
}

/// Makes `path` a folder with a file inside: nothing can be renamed over it.
fn occupy(path: &Path) {
    std::fs::create_dir_all(path.join("occupied")).unwrap();
}

fn tiny_model() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/parity/tiny/model.json")
}

#[test]
fn a_model_save_that_fails_keeps_the_old_model_and_names_the_file() {
    let dir = crate::common::tempdir();
    let device = SelectedDevice::cpu().device;
    let config = MclcrConfig::tiny();
    let model = config.init(&device);
    let manifest_path = dir.path().join("model.json");
    save_model(
        &model,
        ModelManifest::new("first", config.clone(), false),
        &manifest_path,
    )
    .unwrap();
    let before = std::fs::read(&manifest_path).unwrap();
    // The manifest's place is taken: the weights are written, the manifest is not replaced.
    let blocked = dir.path().join("blocked.json");
    occupy(&blocked);
    let err = save_model(
        &model,
        ModelManifest::new("x", config.clone(), false),
        &blocked,
    )
    .unwrap_err();
    assert!(matches!(err, ModelFileError::Write(_)), "{err:?}");
    assert!(err.to_string().contains("blocked.json"), "{err}");
    assert!(blocked.join("occupied").is_dir());
    // Below a regular file: nothing can be written.
    let err = save_model(
        &model,
        ModelManifest::new("x", config, false),
        &manifest_path.join("model.json"),
    )
    .unwrap_err();
    assert!(err.to_string().contains("model.safetensors"), "{err}");
    assert_eq!(std::fs::read(&manifest_path).unwrap(), before);
    assert!(load_model(&manifest_path, &device).is_ok());
    assert!(
        leftovers(dir.path()).is_empty(),
        "{:?}",
        leftovers(dir.path())
    );
}

#[test]
fn eval_and_synth_outputs_that_cannot_be_written_fail_clearly() {
    let dir = crate::common::tempdir();
    let real = crate::train::crops(&dir.path().join("real"), 3, 2);
    let out = dir.path().join("eval");
    occupy(&out.join("roc.csv"));
    let model = tiny_model();
    let eval = mclcr(&[
        "eval",
        "--real",
        real.to_str().unwrap(),
        "--whole-image",
        "--device",
        "cpu",
        "--model",
        model.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let stderr = text(&eval.stderr);
    assert_ne!(eval.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("cannot write") && stderr.contains("roc.csv"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(out.join("roc.csv/occupied").is_dir());
    assert!(leftovers(&out).is_empty(), "{:?}", leftovers(&out));

    let pairs = dir.path().join("pairs");
    // The first pair's real face is written first; its place is taken.
    let stem = "f0";
    occupy(&pairs.join(format!("{stem}-face1-0-real.png")));
    let synth = mclcr(&[
        "synth",
        real.join("person0")
            .join(format!("{stem}.png"))
            .to_str()
            .unwrap(),
        "--out",
        pairs.to_str().unwrap(),
        "--whole-image",
        "--size",
        "64",
    ]);
    let stderr = text(&synth.stderr);
    assert_ne!(synth.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("cannot write") && stderr.contains("real.png"),
        "{stderr}"
    );
    assert!(leftovers(&pairs).is_empty(), "{:?}", leftovers(&pairs));
}

#[test]
fn maps_that_cannot_be_written_are_reported_and_the_rest_are_written() {
    let dir = crate::common::tempdir();
    let maps = dir.path().join("maps");
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/samples/grace_hopper.jpg");
    let sha = mclcr::weights::assets::sha256_bytes(&std::fs::read(&sample).unwrap());
    let prefix = format!("grace_hopper-{}", &sha[..8]);
    occupy(&maps.join(format!("{prefix}-face1-phase.png")));
    let out = Command::new(env!("CARGO_BIN_EXE_mclcr"))
        .args(["analyze", "--device", "cpu", "--no-progress", "--maps"])
        .arg(&maps)
        .arg(&sample)
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("cannot write") && stderr.contains("face1-phase.png"),
        "{stderr}"
    );
    assert!(image::open(maps.join(format!("{prefix}-face1-amplitude.png"))).is_ok());
    assert!(leftovers(&maps).is_empty(), "{:?}", leftovers(&maps));
}

fn state_epochs(out: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(out.join("state.json")).ok()?;
    let state: serde_json::Value = serde_json::from_str(&text).expect("state.json is whole");
    state["epochs_done"].as_u64()
}

#[test]
fn a_training_run_killed_at_any_moment_leaves_loadable_files_and_resumes() {
    let dir = crate::common::tempdir();
    let real = crate::train::crops(&dir.path().join("real"), 4, 3);
    let out = dir.path().join("run");
    let args = |epochs: &str, resume: bool| {
        let mut args: Vec<String> = [
            "train",
            "--real",
            real.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--network",
            "tiny",
            "--whole-image",
            "--device",
            "cpu",
            "--batch",
            "4",
            "--lr",
            "1e-3",
            "--epochs",
            epochs,
        ]
        .map(String::from)
        .to_vec();
        if resume {
            args.push("--resume".into());
        }
        args
    };
    let device = SelectedDevice::cpu().device;
    // SIGKILL three times, at different moments after a checkpoint (mid-epoch, mid-write).
    for (round, delay_ms) in [0u64, 170, 333].into_iter().enumerate() {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mclcr"))
            .args(args("1000", round > 0))
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let before = state_epochs(&out).unwrap_or(0);
        let started = Instant::now();
        while state_epochs(&out).unwrap_or(0) <= before {
            assert!(
                started.elapsed() < Duration::from_secs(180),
                "no new checkpoint after 3 minutes"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let done = state_epochs(&out).expect("state.json survives the kill");
        assert!(done > before && done < 1000);
        for checkpoint in ["last.json", "best.json"] {
            load_model(&out.join(checkpoint), &device)
                .unwrap_or_else(|e| panic!("{checkpoint} after kill {round}: {e}"));
        }
    }
    let done = state_epochs(&out).unwrap();
    let target = (done + 1).to_string();
    let resumed = mclcr(
        &args(&target, true)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert_eq!(resumed.status.code(), Some(0), "{}", text(&resumed.stderr));
    assert!(
        text(&resumed.stderr).contains(&format!("epochs {target}..={target}")),
        "{}",
        text(&resumed.stderr)
    );
    assert_eq!(state_epochs(&out), Some(done + 1));
}
