//! The shipped model's card: its held-out figures (the test split of faces-train, identities the
//! recipe keeps out of training and validation) are what `mclcr eval` gives today.
//!
//! faces-train is never committed: it is read from `../shared/data/faces-train` beside the
//! checkout (or `MCLCR_FACES_TRAIN`). Without it the test is skipped with a message, unless
//! `MCLCR_REQUIRE_FACES_TRAIN=1`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The four folders of faces-train, in the order the card's command names them.
const ROOTS: [&str; 4] = ["london", "canada", "voteview", "meps"];

fn faces_train() -> Option<PathBuf> {
    let data = crate::common::shared_data(
        "faces-train",
        "meps",
        "MCLCR_FACES_TRAIN",
        "MCLCR_REQUIRE_FACES_TRAIN",
    )?;
    ROOTS.iter().all(|r| data.join(r).is_dir()).then_some(data)
}

fn number(value: &serde_json::Value, key: &str) -> f64 {
    value[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} is not a number"))
}

#[test]
fn the_model_card_figures_are_reproduced() {
    let Some(data) = faces_train() else { return };
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = crate::common::tempdir();
    let mut command = Command::new(env!("CARGO_BIN_EXE_mclcr"));
    command.arg("eval");
    for root in ROOTS {
        command.arg("--real").arg(data.join(root));
    }
    let out = command
        .arg("--held-out-of")
        .arg(repo.join("tools/recipe/faces-train.json"))
        .args(["--device", "cpu", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read = |path: PathBuf| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
    };
    let now = read(dir.path().join("metrics.json"));
    let card = read(repo.join("assets/models/mclcr-default.eval.json"));
    assert_eq!(now["model"], card["model"]);
    assert_eq!(now["identities"], card["identities"]);
    assert_eq!(now["real_faces"], card["real_faces"]);
    // Scores may differ in the last bits between CPUs: allow a face or two either way
    // (one face is 0.12 % of the 818).
    for key in ["auc", "accuracy", "eer", "jpeg_band_change_share"] {
        let (a, b) = (number(&now, key), number(&card, key));
        assert!((a - b).abs() < 3e-3, "{key}: {a} now, {b} in the card");
    }
    for key in ["real_band_shares", "manipulated_band_shares"] {
        let (a, b) = (now[key].as_array().unwrap(), card[key].as_array().unwrap());
        assert_eq!(a.len(), b.len(), "{key}");
        for (x, y) in a.iter().zip(b) {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            assert!((x - y).abs() < 3e-3, "{key}: {x} now, {y} in the card");
        }
    }
    // The AUC's interval over resamples of the test faces: seeded, so only the scores' last
    // digits may move its ends.
    for end in ["low", "high"] {
        let (a, b) = (
            number(&now["auc_interval"], end),
            number(&card["auc_interval"], end),
        );
        assert!(
            (a - b).abs() < 5e-3,
            "AUC interval {end}: {a} now, {b} in the card"
        );
    }
    // The card states these same figures and the weights' checksum.
    let text = std::fs::read_to_string(repo.join("assets/models/MODEL_CARD.md")).unwrap();
    let manifest = read(repo.join("assets/models/mclcr-default.json"));
    assert!(text.contains(manifest["weights_sha256"].as_str().unwrap()));
    assert!(
        text.contains(&format!("AUC {:.3}", number(&card, "auc"))),
        "AUC"
    );
}
