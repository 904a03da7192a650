//! `tools/compare_scores.py`: two models' scores on the same faces, compared on paired
//! resamples of the videos.

use std::path::Path;

/// A `scores.csv` as `mclcr eval --out` writes it: six real and six manipulated faces, each
/// its own video, scored by `score(index, is_fake)`.
fn scores(dir: &Path, name: &str, score: impl Fn(usize, bool) -> f64) -> std::path::PathBuf {
    let mut text = String::from("path,label,method,video,face_side,score\n");
    for i in 0..6 {
        for fake in [false, true] {
            let label = if fake { "fake" } else { "real" };
            let path = format!("faces/{label}/{i}.png");
            text += &format!("{path},{label},,{path},128,{}\n", score(i, fake));
        }
    }
    let file = dir.join(name);
    std::fs::write(&file, text).expect("scores written");
    file
}

fn compare(old: &Path, new: &Path) -> String {
    crate::common::python_tool("compare_scores.py", [old, new])
}

#[test]
fn a_model_that_ranks_every_fake_higher_wins_every_resample_and_a_copy_ties() {
    let dir = crate::common::tempdir();
    // The old model ranks five of the six fakes below the reals; the new one ranks every fake
    // higher.
    let old = scores(dir.path(), "old.csv", |i, fake| match (fake, i) {
        (true, 5) => 0.9,
        (true, _) => 0.2,
        (false, _) => 0.5,
    });
    let new = scores(dir.path(), "new.csv", |i, fake| {
        if fake { 0.9 + i as f64 / 100.0 } else { 0.1 }
    });
    let out = compare(&old, &new);
    assert!(out.starts_with("AUC 0.167 -> 1.000"), "{out}");
    assert!(
        out.contains("higher in 100.0 % of resamples"),
        "the new model is higher on every draw: {out}"
    );
    let same = compare(&old, &old);
    assert!(
        same.starts_with("AUC 0.167 -> 0.167: difference +0.000"),
        "{same}"
    );
    assert!(same.contains("higher in 50.0 % of resamples"), "{same}");
}
