//! The shipped model's card states its figures on realworld-dev (frames of published deepfakes
//! and their real counterparts); this test reproduces them with the card's own command,
//! `tools/eval_realworld.py`, and compares every row with `assets/models/*.realworld.json`.
//!
//! realworld-dev is never committed: it is read from `../shared/data/realworld-dev` beside the
//! checkout (or `MCLCR_REALWORLD`). Without it the test is skipped with a message, unless
//! `MCLCR_REQUIRE_REALWORLD=1`.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

fn realworld() -> Option<PathBuf> {
    crate::common::shared_data(
        "realworld-dev",
        "aaronespasa_dfd",
        "MCLCR_REALWORLD",
        "MCLCR_REQUIRE_REALWORLD",
    )
}

fn rows(table: &serde_json::Value) -> Vec<(String, &serde_json::Value)> {
    table["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            (
                format!(
                    "{}/{}",
                    r["set"].as_str().unwrap_or(""),
                    r["method"].as_str().unwrap_or("")
                ),
                r,
            )
        })
        .collect()
}

#[test]
fn the_realworld_table_of_the_card_is_reproduced() {
    let Some(data) = realworld() else {
        return;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let stated: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("assets/models/mclcr-default.realworld.json"))
            .expect("the card's figures"),
    )
    .expect("JSON");
    let out = crate::common::tempdir();
    let mclcr = Path::new(env!("CARGO_BIN_EXE_mclcr"));
    crate::common::python_tool(
        "eval_realworld.py",
        [
            OsStr::new("--mclcr"),
            mclcr.as_os_str(),
            OsStr::new("--device"),
            OsStr::new("cpu"),
            OsStr::new("--data"),
            data.as_os_str(),
            OsStr::new("--out"),
            out.path().as_os_str(),
        ],
    );
    let measured: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.path().join("realworld.json")).expect("table written"),
    )
    .expect("JSON");
    assert_eq!(measured["model"], stated["model"]);
    let measured_rows = rows(&measured);
    let stated_rows = rows(&stated);
    assert_eq!(measured_rows.len(), stated_rows.len());
    for ((key, m), (stated_key, s)) in measured_rows.iter().zip(&stated_rows) {
        assert_eq!(key, stated_key);
        for count in ["real", "manipulated", "no_face"] {
            assert_eq!(m[count], s[count], "{key} {count}");
        }
        for figure in ["auc", "video_auc", "caught", "flagged"] {
            match (m[figure].as_f64(), s[figure].as_f64()) {
                (Some(a), Some(b)) => assert!((a - b).abs() <= 0.01, "{key} {figure}: {a} vs {b}"),
                (a, b) => assert_eq!(a.is_some(), b.is_some(), "{key} {figure}"),
            }
        }
        // The AUC's interval over video resamples: seeded, so only the scores' last digits
        // may move its ends.
        let ends = |r: &serde_json::Value| -> Option<Vec<f64>> {
            r["auc_interval"]
                .as_array()
                .map(|ends| ends.iter().filter_map(|e| e.as_f64()).collect())
        };
        match (ends(m), ends(s)) {
            (Some(a), Some(b)) => {
                assert_eq!(a.len(), 2, "{key} interval");
                assert_eq!(b.len(), 2, "{key} interval");
                for (x, y) in a.iter().zip(&b) {
                    assert!((x - y).abs() <= 0.02, "{key} AUC interval: {a:?} vs {b:?}");
                }
            }
            (a, b) => assert_eq!(a.is_some(), b.is_some(), "{key} AUC interval"),
        }
    }
    // The AUC by how each file was stored, where a set mixes JPEG and PNG frames.
    let (m, s) = (
        measured["by_file_format"]
            .as_array()
            .expect("by-format rows"),
        stated["by_file_format"]
            .as_array()
            .expect("stated by-format rows"),
    );
    assert_eq!(m.len(), s.len(), "by-format rows");
    for (m, s) in m.iter().zip(s) {
        assert_eq!((&m["set"], &m["format"]), (&s["set"], &s["format"]));
        assert_eq!(m["real"], s["real"], "{} {} real", s["set"], s["format"]);
        assert_eq!(
            m["manipulated"], s["manipulated"],
            "{} {} fake",
            s["set"], s["format"]
        );
        let (Some(a), Some(b)) = (m["auc"].as_f64(), s["auc"].as_f64()) else {
            panic!("{} {} AUC missing", s["set"], s["format"]);
        };
        assert!(
            (a - b).abs() <= 0.01,
            "{} {} AUC: {a} vs {b}",
            s["set"],
            s["format"]
        );
    }
    // The face-swap sets ranked together, as one threshold sees them.
    let (m, s) = (&measured["face_swaps_pooled"], &stated["face_swaps_pooled"]);
    assert_eq!(m["real"], s["real"], "pooled real files");
    assert_eq!(m["fake"], s["fake"], "pooled fake files");
    let (Some(a), Some(b)) = (m["auc"].as_f64(), s["auc"].as_f64()) else {
        panic!("pooled AUC missing: {} vs {}", m["auc"], s["auc"]);
    };
    assert!((a - b).abs() <= 0.01, "pooled AUC: {a} vs {b}");
    // What `mclcr analyze` says of each set's files: the card's done-when figures.
    let (m, s) = (
        measured["analyze"].as_array().expect("analyze rows"),
        stated["analyze"].as_array().expect("stated analyze rows"),
    );
    assert_eq!(m.len(), s.len(), "analyze rows");
    for (m, s) in m.iter().zip(s) {
        let set = s["set"].as_str().unwrap_or("");
        assert_eq!(m["set"], s["set"]);
        for side in ["fake", "real"] {
            assert_eq!(m[side]["files"], s[side]["files"], "{set} {side} files");
            for verdict in ["likely_manipulated", "inconclusive", "no_evidence_found"] {
                let (Some(a), Some(b)) = (m[side][verdict].as_f64(), s[side][verdict].as_f64())
                else {
                    panic!("{set} {side} {verdict} missing");
                };
                assert!((a - b).abs() <= 0.01, "{set} {side} {verdict}: {a} vs {b}");
            }
        }
    }
}
