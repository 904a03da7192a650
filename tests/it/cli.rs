//! The `mclcr` binary end to end: device choice, exit codes, output formats.

use std::process::{Command, Output};

fn mclcr(args: &[&str], hide_adapters: bool) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mclcr"));
    command.args(args);
    if hide_adapters {
        // Point the Vulkan and EGL loaders at nothing: wgpu then finds no adapter at all.
        command
            .env("VK_ICD_FILENAMES", "/nonexistent.json")
            .env("VK_DRIVER_FILES", "/nonexistent.json")
            .env("__EGL_VENDOR_LIBRARY_FILENAMES", "/nonexistent.json")
            .env("WGPU_BACKEND", "vulkan");
    }
    command.output().expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn bench_gpu_without_adapter_fails_clearly_without_panicking() {
    let out = mclcr(&["bench", "--device", "gpu", "--config", "tiny"], true);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(stderr.contains("no hardware GPU found"), "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "stderr: {stderr}");
}

#[test]
fn bench_gpu_refuses_a_software_renderer() {
    // Whatever this machine has, a software adapter (llvmpipe/lavapipe) never counts as a GPU.
    let out = mclcr(&["devices", "--json"], false);
    let has_hardware = text(&out.stdout).contains("\"hardware\":true");
    if !has_hardware {
        let out = mclcr(&["bench", "--device", "gpu", "--config", "tiny"], false);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
        assert!(!text(&out.stderr).contains("panicked"));
    }
}

#[test]
fn bench_cpu_prints_one_json_line_per_batch_size() {
    let out = mclcr(
        &[
            "bench",
            "--device",
            "cpu",
            "--config",
            "tiny",
            "--batch",
            "1,2",
            "--iterations",
            "1",
            "--warmup",
            "1",
            "--json",
        ],
        false,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let lines: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["batch"], 1);
    assert_eq!(lines[1]["batch"], 2);
    for line in &lines {
        assert!(line["ms_per_face"].as_f64().unwrap() > 0.0);
        assert!(line["faces_per_second"].as_f64().unwrap() > 0.0);
        assert!(line["device"].as_str().unwrap().starts_with("CPU"));
    }
}

#[test]
fn bench_auto_without_adapter_falls_back_to_the_cpu_with_a_notice() {
    let out = mclcr(
        &[
            "bench",
            "--device",
            "auto",
            "--config",
            "tiny",
            "--batch",
            "1",
            "--iterations",
            "1",
        ],
        true,
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("running on the CPU"), "{stderr}");
    assert!(text(&out.stdout).contains("CPU"), "{}", text(&out.stdout));
}

#[test]
fn usage_errors_exit_with_2() {
    let out = mclcr(&["bench", "--device", "tpu"], false);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("tpu"));
    let out = mclcr(&["bench", "--config", "no-such-config"], false);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("no-such-config"));
}

#[test]
fn a_plain_analyze_prints_only_its_own_lines_on_stderr() {
    // As under ssh or a service: no XDG_RUNTIME_DIR. Graphics drivers probed by wgpu must not
    // write their own complaints (Mesa's Vulkan drivers do, when they are installed).
    let samples = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/samples");
    let out = Command::new(env!("CARGO_BIN_EXE_mclcr"))
        .args(["analyze", samples, "--device", "auto"])
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .expect("the binary runs");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    let foreign: Vec<&str> = stderr
        .lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with("mclcr: "))
        .collect();
    assert!(
        foreign.is_empty(),
        "lines on stderr that are not mclcr's: {foreign:?}"
    );
}
