//! The BlazeFace fallback detector: parity with onnxruntime, faces where they are, none where
//! there are none, and (ignored, needs the measuring data) recall on realworld-dev.

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::prelude::Device;
use mclcr::imaging::blazeface::BlazeFace;
use mclcr::imaging::face_finder::FaceFinder;
use mclcr::imaging::faces::{DEFAULT_BLAZEFACE_THRESHOLD, Detector, DetectorSettings};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn floats(value: &serde_json::Value) -> Vec<f32> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap() as f32)
        .collect()
}

fn rgb(path: PathBuf) -> image::RgbImage {
    image::open(path).unwrap().to_rgb8()
}

#[test]
fn blazeface_matches_onnxruntime() {
    let reference: serde_json::Value = serde_json::from_slice(
        &std::fs::read(root().join("tests/fixtures/blazeface_reference.json")).unwrap(),
    )
    .unwrap();
    let input = rgb(root().join("tests/fixtures/blazeface_input.png"));
    let detector = BlazeFace::load(&Device::flex(), DEFAULT_BLAZEFACE_THRESHOLD).unwrap();
    let (logits, boxes) = detector.raw(&input);
    assert_eq!((logits.len(), boxes.len()), (896, 896 * 16));
    let expected = floats(&reference["scores"]);
    let worst_logit = logits
        .iter()
        .zip(&expected)
        .map(|(a, e)| (a - e).abs())
        .fold(0.0f32, f32::max);
    let mut worst_box = 0.0f32;
    for (anchor, row) in reference["top_anchors"]
        .as_array()
        .unwrap()
        .iter()
        .zip(reference["top_boxes"].as_array().unwrap())
    {
        let i = anchor.as_u64().unwrap() as usize;
        for (a, e) in boxes[i * 16..(i + 1) * 16].iter().zip(floats(row)) {
            worst_box = worst_box.max((a - e).abs());
        }
    }
    let sum: f64 = boxes.iter().map(|&v| v as f64).sum();
    let abs_sum: f64 = boxes.iter().map(|&v| v.abs() as f64).sum();
    let rel = |a: f64, key: &str| {
        let e = reference[key].as_f64().unwrap();
        (a - e).abs() / e.abs().max(1.0)
    };
    // Logits are unitless; regressions are input pixels of the 256-pixel square.
    assert!(worst_logit < 1e-3, "largest logit difference {worst_logit}");
    assert!(
        worst_box < 1e-3,
        "largest regression difference {worst_box}"
    );
    assert!(rel(abs_sum, "boxes_abs_sum") < 1e-5, "abs sum {abs_sum}");
    assert!(
        (sum - reference["boxes_sum"].as_f64().unwrap()).abs() < 1.0,
        "sum {sum}"
    );
}

/// The astronaut (public domain) has one face, about x 180–290, y 70–200 of the 512-pixel image:
/// the decoded box must lie on it.
#[test]
fn blazeface_finds_the_astronaut_face() {
    let detector = BlazeFace::load(&Device::flex(), DEFAULT_BLAZEFACE_THRESHOLD).unwrap();
    let faces = detector.detect(&rgb(root().join("assets/samples/astronaut.png")));
    assert_eq!(faces.len(), 1, "{faces:?}");
    let b = faces[0].bbox;
    let (cx, cy) = (b.x + b.width / 2, b.y + b.height / 2);
    assert!((200..280).contains(&cx) && (90..170).contains(&cy), "{b:?}");
    assert!((70..160).contains(&b.width), "{b:?}");
    assert_eq!(faces[0].detector, Detector::BlazeFace);
    assert!(faces[0].confidence > 0.75);
}

/// No face in a coffee cup or a flat image, from BlazeFace or from the finder with its fallback.
/// (The coffee cup scores 0.68 but its keypoints are not a face's. BlazeFace does take the cat's
/// face in `chelsea.png` for a face, probability 0.79 with face-like keypoints: the hard real
/// faces it recovers on realworld-dev score 0.54–0.84, so no threshold keeps those and drops
/// the cat. Animal faces are outside what mclcr inspects.)
#[test]
fn blazeface_finds_no_face_in_a_coffee_or_a_flat_image() {
    let detector = BlazeFace::load(&Device::flex(), DEFAULT_BLAZEFACE_THRESHOLD).unwrap();
    let coffee = rgb(root().join("tests/images/coffee.png"));
    assert!(detector.detect(&coffee).is_empty());
    assert!(detector.detect(&image::RgbImage::new(300, 200)).is_empty());
    let mut finder = FaceFinder::default();
    assert!(finder.find(&coffee, false, 0.25, 8).unwrap().is_empty());
    let cat = rgb(root().join("tests/images/chelsea.png"));
    assert!(detector.detect(&cat).len() <= 1);
}

/// Files of realworld-dev without a face, per set: SeetaFace alone, and with the BlazeFace
/// fallback; and the time the fallback adds. Needs the measuring data next to the checkout:
/// `cargo test --release --test it -- --ignored realworld_face_recall --nocapture`
#[test]
#[ignore]
fn realworld_face_recall() {
    let dir = std::env::var_os("MCLCR_REALWORLD")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared/data/realworld-dev"));
    let Ok(sets) = std::fs::read_dir(&dir) else {
        eprintln!("skipping: no realworld-dev at {}", dir.display());
        return;
    };
    let mut sets: Vec<PathBuf> = sets.flatten().map(|e| e.path()).collect();
    sets.retain(|p| p.is_dir());
    sets.sort();
    let seeta_only = DetectorSettings {
        blazeface_threshold: 1.0,
        ..DetectorSettings::default()
    };
    let mut seeta = FaceFinder::new(seeta_only);
    let mut both = FaceFinder::default();
    let (mut files, mut before, mut after, mut extra) = (0, 0, 0, 0.0f64);
    for set in sets {
        let images = mclcr::imaging::inputs::collect_inputs(std::slice::from_ref(&set));
        let (mut n, mut miss0, mut miss1) = (0, 0, 0);
        for (path, _) in images {
            let Ok(image) = image::open(&path) else {
                continue;
            };
            let image = image.to_rgb8();
            n += 1;
            let start = Instant::now();
            let first = seeta.find(&image, false, 0.25, 8).unwrap();
            let seeta_time = start.elapsed().as_secs_f64();
            if first.is_empty() {
                miss0 += 1;
                let start = Instant::now();
                let second = both.find(&image, false, 0.25, 8).unwrap();
                extra += start.elapsed().as_secs_f64() - seeta_time;
                if second.is_empty() {
                    miss1 += 1;
                }
                let found: Vec<String> = second
                    .iter()
                    .map(|f| format!("{:?}", f.detected.map(|d| (d.bbox, d.confidence))))
                    .collect();
                eprintln!("  {}: {}", path.display(), found.join(" "));
            }
        }
        eprintln!(
            "{}: {n} files, no face {miss0} with SeetaFace, {miss1} with the fallback",
            set.file_name().unwrap().to_string_lossy()
        );
        files += n;
        before += miss0;
        after += miss1;
    }
    eprintln!(
        "all: {files} files, no face {before} → {after}; fallback time {:.3} s per fallback image",
        extra / before.max(1) as f64
    );
}
