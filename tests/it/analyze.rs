//! `mclcr analyze` end to end: the shipped samples, and a corpus of bad inputs generated here.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn analyze(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mclcr"))
        .arg("analyze")
        .args(["--device", "cpu", "--no-progress"])
        .args(args)
        .output()
        .expect("the binary runs")
}

fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A PNG whose header claims 100000 × 100000 pixels (and has no image data).
fn png_bomb() -> Vec<u8> {
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend(100_000u32.to_be_bytes());
    ihdr.extend(100_000u32.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(13u32.to_be_bytes());
    png.extend(&ihdr);
    png.extend(crc32(&ihdr).to_be_bytes());
    png
}

struct Corpus {
    _dir: crate::common::TempDir,
    path: PathBuf,
    good: Vec<&'static str>,
    bad: Vec<&'static str>,
}

fn corpus() -> Corpus {
    let dir = crate::common::tempdir();
    let path = dir.path().join("evidence");
    std::fs::create_dir_all(path.join("nested")).unwrap();
    let sample = std::fs::read(root().join("assets/samples/grace_hopper.jpg")).unwrap();
    std::fs::write(path.join("portrait.jpg"), &sample).unwrap();
    std::fs::copy(
        root().join("tests/fixtures/cmyk.jpg"),
        path.join("cmyk.jpg"),
    )
    .unwrap();
    std::fs::copy(
        root().join("tests/fixtures/exif_rotated.jpg"),
        path.join("nested/rotated.jpg"),
    )
    .unwrap();
    let deep = image::ImageBuffer::<image::Rgb<u16>, _>::from_fn(80, 60, |x, y| {
        image::Rgb([(x * 800) as u16, (y * 1000) as u16, 40000])
    });
    image::DynamicImage::ImageRgb16(deep)
        .save(path.join("sixteen_bit.png"))
        .unwrap();
    let frames = (0..2).map(|i| {
        image::Frame::new(image::RgbaImage::from_pixel(
            32,
            32,
            image::Rgba([i * 200, 50, 50, 255]),
        ))
    });
    let mut gif = Vec::new();
    {
        let mut encoder = image::codecs::gif::GifEncoder::new(&mut gif);
        encoder.encode_frames(frames).unwrap();
    }
    std::fs::write(path.join("animated.gif"), gif).unwrap();
    std::fs::write(path.join("truncated.jpg"), &sample[..sample.len() / 2]).unwrap();
    std::fs::write(path.join("empty.jpg"), b"").unwrap();
    std::fs::write(path.join("bomb.png"), png_bomb()).unwrap();
    std::fs::write(path.join("notes.jpg"), b"these are my notes, not a photo\n").unwrap();
    std::fs::write(
        path.join("phone.heic"),
        b"\0\0\0\x18ftypheic\0\0\0\0mif1heic",
    )
    .unwrap();
    std::os::unix::fs::symlink("loop.jpg", path.join("loop.jpg")).unwrap();
    std::os::unix::fs::symlink("missing-target.jpg", path.join("dangling.jpg")).unwrap();
    std::fs::write(
        path.join("README.txt"),
        b"not picked up: no image extension",
    )
    .unwrap();
    // A file without read permission. Root reads it anyway, so it counts as good or bad
    // depending on who runs the test.
    let locked = path.join("unreadable.jpg");
    std::fs::write(&locked, &sample).unwrap();
    std::fs::set_permissions(&locked, std::os::unix::fs::PermissionsExt::from_mode(0o000)).unwrap();
    let mut good = vec![
        "portrait.jpg",
        "cmyk.jpg",
        "rotated.jpg",
        "sixteen_bit.png",
        "animated.gif",
    ];
    let mut bad = vec![
        "truncated.jpg",
        "empty.jpg",
        "bomb.png",
        "notes.jpg",
        "phone.heic",
        "loop.jpg",
        "dangling.jpg",
    ];
    if std::fs::File::open(&locked).is_ok() {
        good.push("unreadable.jpg");
    } else {
        bad.push("unreadable.jpg");
    }
    Corpus {
        _dir: dir,
        path,
        good,
        bad,
    }
}

fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            if meta.is_dir() {
                stack.push(p);
            } else if meta.is_file() {
                // A file we may not read is compared by its metadata.
                let content = std::fs::read(&p).unwrap_or_else(|_| {
                    format!("{:?} {}", meta.modified().ok(), meta.len()).into_bytes()
                });
                files.push((p.clone(), content));
            }
        }
    }
    files.sort();
    files
}

fn report_for<'a>(lines: &'a [serde_json::Value], name: &str) -> &'a serde_json::Value {
    lines
        .iter()
        .find(|l| l["type"] == "image" && l["path"].as_str().is_some_and(|p| p.ends_with(name)))
        .unwrap_or_else(|| panic!("no report for {name}"))
}

#[test]
fn bad_inputs_each_fail_alone_and_nothing_is_modified() {
    let corpus = corpus();
    let before = snapshot(&corpus.path);
    let out = analyze(&["--json", corpus.path.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let lines = json_lines(&out);
    let images: Vec<_> = lines.iter().filter(|l| l["type"] == "image").collect();
    assert_eq!(
        images.len(),
        corpus.good.len() + corpus.bad.len(),
        "README.txt is skipped"
    );
    for name in &corpus.good {
        let report = report_for(&lines, name);
        assert!(report["error"].is_null(), "{name}: {report}");
        assert!(report["verdict"].is_string(), "{name}: {report}");
        assert_eq!(report["sha256"].as_str().unwrap().len(), 64);
    }
    for name in &corpus.bad {
        let report = report_for(&lines, name);
        let error = report["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: {report}"));
        assert!(!error.is_empty());
        assert_eq!(
            stderr.matches(&format!("{name}:")).count(),
            1,
            "{name} in {stderr}"
        );
    }
    let error = |name| {
        report_for(&lines, name)["error"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(
        error("truncated.jpg").contains("truncated"),
        "{}",
        error("truncated.jpg")
    );
    assert!(error("empty.jpg").contains("empty"));
    assert!(
        error("bomb.png").contains("too large"),
        "{}",
        error("bomb.png")
    );
    assert!(error("notes.jpg").contains("not an image"));
    assert!(error("phone.heic").contains("HEIC"));
    // The rotated JPEG is reported in display orientation.
    let rotated = report_for(&lines, "rotated.jpg");
    assert_eq!(
        (rotated["width"].as_u64(), rotated["height"].as_u64()),
        (Some(40), Some(60))
    );
    // The face in the portrait is found; the synthetic images have none.
    assert!(
        !report_for(&lines, "portrait.jpg")["faces"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        report_for(&lines, "sixteen_bit.png")["verdict"],
        "not_applicable"
    );
    let summary = lines.last().unwrap();
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["failed"].as_u64(), Some(corpus.bad.len() as u64));
    assert!(summary["caution"].as_str().unwrap().contains("not proof"));
    assert_eq!(
        snapshot(&corpus.path),
        before,
        "evidence files were modified"
    );
}

#[test]
fn samples_give_a_face_each_and_a_verdict_from_the_shipped_model() {
    let out = analyze(&[root().join("assets/samples").to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!stdout.contains("UNTRAINED"), "{stdout}");
    assert!(stdout.contains("mclcr-default@"), "{stdout}");
    assert!(stdout.contains("not proof"), "{stdout}");
    let out = analyze(&["--json", root().join("assets/samples").to_str().unwrap()]);
    let lines = json_lines(&out);
    let images: Vec<_> = lines.iter().filter(|l| l["type"] == "image").collect();
    assert_eq!(images.len(), 4);
    for line in images {
        let faces = line["faces"].as_array().unwrap();
        assert!(!faces.is_empty(), "no face found in {}", line["path"]);
        // The frontal sample portraits need no fallback detector.
        assert_eq!(faces[0]["detector"], "seeta", "{}", line["path"]);
        // Real public-domain portraits the model never saw: a verdict, and not a false alarm.
        let verdict = line["verdict"].as_str().unwrap();
        assert!(
            ["no_evidence_found", "inconclusive"].contains(&verdict),
            "{line}"
        );
    }
}

#[test]
fn csv_and_maps() {
    let dir = crate::common::tempdir();
    let maps = dir.path().join("maps");
    let sample = root().join("assets/samples/grace_hopper.jpg");
    let out = analyze(&[
        "--csv",
        "--maps",
        maps.to_str().unwrap(),
        sample.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut lines = stdout.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("path,sha256,image_verdict")
    );
    assert!(lines.next().unwrap().contains("grace_hopper.jpg"));
    assert!(stdout.lines().last().unwrap().starts_with("# model"));
    let written: Vec<_> = std::fs::read_dir(&maps)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    for view in ["amplitude", "phase", "style1", "style2", "style3"] {
        let file = written
            .iter()
            .find(|p| p.to_string_lossy().ends_with(&format!("face1-{view}.png")))
            .unwrap_or_else(|| panic!("no {view} map in {written:?}"));
        let image = image::open(file).unwrap();
        assert_eq!(image.width(), 256);
    }
}

#[test]
fn whole_image_mode_and_usage_errors() {
    let sample = root().join("tests/images/chelsea_224.png");
    let out = analyze(&["--json", "--whole-image", sample.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let lines = json_lines(&out);
    assert_eq!(lines[0]["faces"].as_array().unwrap().len(), 1);
    assert!(lines[0]["faces"][0]["bbox"].is_null());
    let out = Command::new(env!("CARGO_BIN_EXE_mclcr"))
        .arg("analyze")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "no path is a usage error");
}

#[test]
fn robustness_rescoring_reports_each_variant() {
    let sample = root().join("assets/samples/grace_hopper.jpg");
    let out = analyze(&["--json", "--robustness", sample.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = json_lines(&out);
    let variants = lines[0]["faces"][0]["robustness"].as_array().unwrap();
    let names: Vec<&str> = variants
        .iter()
        .map(|v| v["variant"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["jpeg95", "jpeg75", "jpeg50", "rescale50"]);
    for v in variants {
        let score = v["score"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&score), "{v}");
    }
}
