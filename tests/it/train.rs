//! `mclcr train`, `mclcr eval` and `mclcr synth` end to end, on small generated data with the
//! tiny network: checkpoints, kill-and-resume, clear errors, metrics and the ROC files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn mclcr(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mclcr"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `identities` folders of `per_identity` face-like crops each (distinct colours and textures).
pub(crate) fn crops(root: &Path, identities: u32, per_identity: u32) -> PathBuf {
    for id in 0..identities {
        let dir = root.join(format!("person{id}"));
        std::fs::create_dir_all(&dir).unwrap();
        for k in 0..per_identity {
            let image = image::RgbImage::from_fn(80, 80, |x, y| {
                let dx = x as i32 - 40;
                let dy = y as i32 - 42;
                let skin = dx * dx * 4 + dy * dy * 3 < 30 * 30 * 3;
                let n = ((x * 31 + y * 17 + k * 7 + id * 13) % 23) as u8;
                if skin {
                    image::Rgb([180 + n, 130 + n / 2, 110 + id as u8 * 9])
                } else {
                    image::Rgb([30 + id as u8 * 20, 60 + n, 90])
                }
            });
            image.save(dir.join(format!("f{k}.png"))).unwrap();
        }
    }
    root.to_path_buf()
}

fn state(out: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("state.json")).unwrap()).unwrap()
}

/// `mclcr train` arguments for the tiny network on whole-image crops, plus `extra`.
fn train_args<'a>(real: &'a Path, out: &'a Path, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "train",
        "--real",
        real.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend(TINY);
    args.push("1e-3");
    args.extend(extra);
    args
}

/// `mclcr eval` arguments for `model` on the whole-image crops in `real`, plus `extra`.
fn eval_args<'a>(real: &'a Path, model: &'a Path, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "eval",
        "--real",
        real.to_str().unwrap(),
        "--whole-image",
        "--device",
        "cpu",
        "--model",
        model.to_str().unwrap(),
    ];
    args.extend(extra);
    args
}

const TINY: [&str; 8] = [
    "--network",
    "tiny",
    "--whole-image",
    "--device",
    "cpu",
    "--batch",
    "4",
    "--lr",
];

#[test]
fn train_writes_checkpoints_resumes_and_eval_reports_metrics() {
    let dir = crate::common::tempdir();
    let real = crops(&dir.path().join("real"), 5, 3);
    let out = dir.path().join("run");
    let train = |epochs: &str, resume: bool| {
        let mut args = train_args(&real, &out, &["--epochs", epochs]);
        if resume {
            args.push("--resume");
        }
        mclcr(&args)
    };
    let first = train("2", false);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));
    assert!(text(&first.stderr).contains("validation: ACC"));
    // Progress in a log (stderr is a pipe here): the files read, then steps with faces/s.
    let log = text(&first.stderr);
    assert!(
        log.contains("reading faces: 15/15 files") && log.contains("faces/s"),
        "{log}"
    );
    for file in [
        "last.json",
        "last.safetensors",
        "best.json",
        "best.safetensors",
        "state.json",
    ] {
        assert!(out.join(file).is_file(), "{file} missing");
    }
    assert_eq!(state(&out)["epochs_done"], 2);
    assert_eq!(state(&out)["history"].as_array().unwrap().len(), 2);

    let resumed = train("3", true);
    assert_eq!(resumed.status.code(), Some(0), "{}", text(&resumed.stderr));
    assert!(
        text(&resumed.stderr).contains("epochs 3..=3"),
        "{}",
        text(&resumed.stderr)
    );
    assert_eq!(state(&out)["epochs_done"], 3);
    assert_eq!(state(&out)["history"].as_array().unwrap().len(), 3);
    // Resuming without flags keeps the run's own options (3 epochs): nothing is left to do.
    let mut args = train_args(&real, &out, &[]);
    args.push("--resume");
    let again = mclcr(&args);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
    assert_eq!(state(&out)["epochs_done"], 3);

    // The checkpoint is a model the rest of mclcr loads: eval on self-blends of the faces.
    let roc = dir.path().join("roc");
    let eval = mclcr(&eval_args(
        &real,
        &out.join("best.json"),
        &["--out", roc.to_str().unwrap()],
    ));
    let stdout = text(&eval.stdout);
    assert_eq!(eval.status.code(), Some(0), "{}", text(&eval.stderr));
    assert!(stdout.contains("AUC"), "{stdout}");
    assert!(
        stdout.contains("15 real, 15 manipulated (self-blended)"),
        "{stdout}"
    );
    let csv = std::fs::read_to_string(roc.join("roc.csv")).unwrap();
    assert!(csv.starts_with("threshold,fpr,tpr\n"));
    assert!(csv.trim_end().ends_with(",1,1"), "{csv}");
    assert_eq!(image::open(roc.join("roc.png")).unwrap().width(), 400);
}

#[test]
fn a_killed_run_resumes_from_its_last_checkpoint() {
    let dir = crate::common::tempdir();
    let real = crops(&dir.path().join("real"), 4, 4);
    let out = dir.path().join("run");
    let mut args = train_args(&real, &out, &["--epochs", "1000"]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_mclcr"))
        .args(&args)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !out.join("state.json").is_file() {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no checkpoint after 2 minutes"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let done = state(&out)["epochs_done"].as_u64().unwrap();
    assert!(done >= 1);
    assert!(done < 1000, "the run finished before it was killed");
    // Checkpoints are written atomically: whatever the moment of the kill, last.json loads.
    let target = (done + 1).to_string();
    args.truncate(args.len() - 1);
    args.extend([target.as_str(), "--resume"]);
    let resumed = mclcr(&args);
    assert_eq!(resumed.status.code(), Some(0), "{}", text(&resumed.stderr));
    let expected = format!("epochs {}..={}", done + 1, done + 1);
    assert!(
        text(&resumed.stderr).contains(&expected),
        "{}",
        text(&resumed.stderr)
    );
    assert_eq!(state(&out)["epochs_done"].as_u64(), Some(done + 1));
}

#[test]
fn unusable_data_gives_clear_errors() {
    let dir = crate::common::tempdir();
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let out = dir.path().join("run");
    let run = |real: &Path, extra: &[&str]| {
        let mut args = train_args(real, &out, &["--epochs", "1"]);
        args.extend(extra);
        mclcr(&args)
    };
    let out_empty = run(&empty, &[]);
    assert_eq!(out_empty.status.code(), Some(1));
    assert!(
        text(&out_empty.stderr).contains("no usable real face"),
        "{}",
        text(&out_empty.stderr)
    );
    assert!(!text(&out_empty.stderr).contains("panicked"));

    // One identity cannot be split into training and validation.
    let single = crops(&dir.path().join("single"), 1, 3);
    let out_single = run(&single, &[]);
    assert_eq!(out_single.status.code(), Some(1));
    assert!(
        text(&out_single.stderr).contains("at least 2 identities"),
        "{}",
        text(&out_single.stderr)
    );

    // Unreadable files are skipped, listed, and the rest trains.
    let mixed = crops(&dir.path().join("mixed"), 2, 2);
    std::fs::write(mixed.join("person0/broken.jpg"), b"not a jpeg").unwrap();
    let out_mixed = run(&mixed, &[]);
    assert_eq!(
        out_mixed.status.code(),
        Some(0),
        "{}",
        text(&out_mixed.stderr)
    );
    assert!(
        text(&out_mixed.stderr).contains("skipped"),
        "{}",
        text(&out_mixed.stderr)
    );
    assert!(text(&out_mixed.stderr).contains("broken.jpg"));
}

#[test]
fn synth_writes_deterministic_pairs() {
    let dir = crate::common::tempdir();
    let faces = crops(&dir.path().join("faces"), 1, 1);
    let run = |out: &Path| {
        mclcr(&[
            "synth",
            faces.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--whole-image",
            "--count",
            "2",
            "--seed",
            "5",
            "--size",
            "64",
        ])
    };
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    assert_eq!(run(&a).status.code(), Some(0));
    assert_eq!(run(&b).status.code(), Some(0));
    let mut names: Vec<_> = std::fs::read_dir(&a)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    assert_eq!(names.len(), 6, "{names:?}");
    for name in names {
        assert_eq!(
            std::fs::read(a.join(&name)).unwrap(),
            std::fs::read(b.join(&name)).unwrap()
        );
    }
}

#[test]
fn resuming_continues_exactly_where_the_run_stopped() {
    let dir = crate::common::tempdir();
    let real = crops(&dir.path().join("real"), 3, 2);
    let run = |out: &Path, epochs: &str, resume: bool| {
        let mut args = train_args(&real, out, &["--epochs", epochs, "--seed", "9"]);
        if resume {
            args.push("--resume");
        }
        let output = mclcr(&args);
        assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    };
    let (straight, interrupted) = (dir.path().join("straight"), dir.path().join("interrupted"));
    run(&straight, "3", false);
    run(&interrupted, "1", false);
    run(&interrupted, "3", true);
    let weights = |out: &Path| std::fs::read(out.join("last.safetensors")).unwrap();
    assert!(
        weights(&straight) == weights(&interrupted),
        "a resumed run must end with the same weights as an uninterrupted one"
    );
    assert_eq!(state(&straight)["history"], state(&interrupted)["history"]);
}

#[test]
fn held_out_identities_stay_out_of_training_and_are_what_eval_reads() {
    let dir = crate::common::tempdir();
    let real = crops(&dir.path().join("real"), 5, 3);
    let first = dir.path().join("first");
    let run = mclcr(&train_args(&real, &first, &["--epochs", "1"]));
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    assert_eq!(
        state(&first)["data"]["train_real"].as_u64().unwrap()
            + state(&first)["data"]["val_real"].as_u64().unwrap(),
        15
    );

    // A recipe: the first run's options with two identities held out as a test set.
    let mut options = state(&first)["options"].clone();
    options["held_out_identities"] = serde_json::json!(["person0", "person3"]);
    let recipe = dir.path().join("recipe.json");
    std::fs::write(&recipe, options.to_string()).unwrap();
    let second = dir.path().join("second");
    let mut args = train_args(&real, &second, &["--epochs", "1"]);
    args.extend(["--config", recipe.to_str().unwrap()]);
    let run = mclcr(&args);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    let data = &state(&second)["data"];
    assert_eq!(
        data["train_real"].as_u64().unwrap() + data["val_real"].as_u64().unwrap(),
        9,
        "{data}"
    );

    // Packed as f16, the model evaluates on exactly the held-out identities.
    let packed = dir.path().join("packed/model.json");
    let pack = mclcr(&[
        "pack",
        "--model",
        second.join("best.json").to_str().unwrap(),
        "--out",
        packed.to_str().unwrap(),
        "--name",
        "packed-tiny",
        "--f16",
        "--mirror-average",
        "true",
    ]);
    assert_eq!(pack.status.code(), Some(0), "{}", text(&pack.stderr));
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&packed).unwrap()).unwrap();
    assert_eq!(manifest["mirror_average"], serde_json::json!(true));
    let size = |p: &Path| std::fs::metadata(p).unwrap().len();
    assert!(
        size(&packed.with_extension("safetensors")) * 10
            < size(&second.join("best.safetensors")) * 6
    );
    let metrics = dir.path().join("metrics");
    let eval = mclcr(&eval_args(
        &real,
        &packed,
        &[
            "--held-out-of",
            recipe.to_str().unwrap(),
            "--out",
            metrics.to_str().unwrap(),
        ],
    ));
    let stdout = text(&eval.stdout);
    assert_eq!(eval.status.code(), Some(0), "{}", text(&eval.stderr));
    assert!(stdout.contains("packed-tiny@"), "{stdout}");
    assert!(
        stdout.contains("6 real, 6 manipulated (self-blended) faces from 2 identities"),
        "{stdout}"
    );
    assert!(stdout.contains("JPEG re-encoding"), "{stdout}");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(metrics.join("metrics.json")).unwrap())
            .unwrap();
    assert_eq!(
        summary["identities"],
        serde_json::json!(["person0", "person3"])
    );
    let shares = summary["real_band_shares"].as_array().unwrap();
    let total: f64 = shares.iter().map(|v| v.as_f64().unwrap()).sum();
    assert!((total - 1.0).abs() < 1e-9, "{summary}");
    assert_eq!(
        summary["jpeg_band_change_by_quality"]
            .as_array()
            .unwrap()
            .len(),
        5
    );

    // Fine-tuning starts from the packed model's weights.
    let third = dir.path().join("third");
    let mut args = train_args(&real, &third, &["--epochs", "1"]);
    args.extend(["--init-from", packed.to_str().unwrap()]);
    let run = mclcr(&args);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    assert_eq!(
        state(&third)["options"]["init_from"],
        serde_json::json!(packed.to_str().unwrap())
    );
}
