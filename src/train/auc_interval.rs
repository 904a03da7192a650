//! How far an AUC could move on another draw of faces like these: a percentile interval over
//! resamples that draw the real videos and the manipulated videos with replacement (frames of
//! one video are near-copies, so the video is the unit; a file without a video is its own).
//! Evaluation sets of tens or hundreds of faces move by whole points of AUC from draw to draw,
//! and the interval says so beside the figure.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::rng::Rng;
use crate::train::metrics;

/// Resamples drawn for an interval.
pub const RESAMPLES: usize = 1000;

/// The share of resampled AUCs an interval holds.
pub const LEVEL: f64 = 0.9;

/// A central interval of resampled AUCs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct AucInterval {
    /// Its lower end.
    pub low: f64,
    /// Its upper end.
    pub high: f64,
    /// The share of resampled AUCs it holds.
    pub level: f64,
    /// How many resamples it was made from.
    pub resamples: usize,
}

/// The central `level` interval of the AUC of `faces` (video, manipulated, score) over
/// `resamples` draws of their videos, seeded; `None` with fewer than two videos of a class.
pub fn video_resampled<'a>(
    faces: impl IntoIterator<Item = (&'a str, bool, f32)>,
    level: f64,
    resamples: usize,
    seed: u64,
) -> Option<AucInterval> {
    let mut videos: BTreeMap<(bool, &str), Vec<f32>> = BTreeMap::new();
    for (video, fake, score) in faces {
        videos.entry((fake, video)).or_default().push(score);
    }
    let class = |fake: bool| -> Vec<&Vec<f32>> {
        videos
            .iter()
            .filter(|((f, _), _)| *f == fake)
            .map(|(_, scores)| scores)
            .collect()
    };
    let (reals, fakes) = (class(false), class(true));
    if reals.len() < 2 || fakes.len() < 2 || resamples == 0 {
        return None;
    }
    let mut rng = Rng::new(seed);
    let mut aucs = Vec::with_capacity(resamples);
    let (mut scores, mut labels) = (Vec::new(), Vec::new());
    for _ in 0..resamples {
        scores.clear();
        labels.clear();
        for (group, fake) in [(&reals, false), (&fakes, true)] {
            for _ in 0..group.len() {
                let drawn = group[rng.int(0, group.len() as i64 - 1) as usize];
                scores.extend_from_slice(drawn);
                labels.extend(std::iter::repeat_n(fake, drawn.len()));
            }
        }
        if let Ok(m) = metrics::evaluate(&scores, &labels) {
            aucs.push(m.auc);
        }
    }
    aucs.sort_by(f64::total_cmp);
    let tail = (1.0 - level.clamp(0.0, 1.0)) / 2.0;
    let at = |q: f64| aucs[((q * (aucs.len() - 1) as f64).round() as usize).min(aucs.len() - 1)];
    Some(AucInterval {
        low: at(tail),
        high: at(1.0 - tail),
        level,
        resamples: aucs.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn faces(real: &[f32], fake: &[f32]) -> Vec<(String, bool, f32)> {
        let named = |scores: &[f32], fake: bool| -> Vec<(String, bool, f32)> {
            let class = if fake { "fake" } else { "real" };
            let name = |i: usize| format!("{class}-{i}");
            scores
                .iter()
                .enumerate()
                .map(|(i, &s)| (name(i), fake, s))
                .collect()
        };
        [named(real, false), named(fake, true)].concat()
    }

    fn interval(faces: &[(String, bool, f32)]) -> Option<AucInterval> {
        video_resampled(
            faces.iter().map(|(v, f, s)| (v.as_str(), *f, *s)),
            LEVEL,
            RESAMPLES,
            7,
        )
    }

    #[test]
    fn perfectly_separated_classes_give_a_point_at_one() {
        let faces = faces(&[0.1, 0.2, 0.3, 0.15], &[0.8, 0.9, 0.95]);
        let i = interval(&faces).expect("two videos of each class");
        assert_eq!((i.low, i.high), (1.0, 1.0));
        assert_eq!(i.resamples, RESAMPLES);
    }

    #[test]
    fn overlapping_classes_give_an_interval_around_the_figure_that_narrows_with_more_videos() {
        // Scores that interleave: the AUC is 13/16 in both sets, the second has 4× the videos.
        let real = [0.1, 0.3, 0.5, 0.7];
        let fake = [0.4, 0.6, 0.8, 0.9];
        let small = faces(&real, &fake);
        let large = faces(&real.repeat(4), &fake.repeat(4));
        let figure = |f: &[(String, bool, f32)]| {
            let scores: Vec<f32> = f.iter().map(|x| x.2).collect();
            let labels: Vec<bool> = f.iter().map(|x| x.1).collect();
            metrics::evaluate(&scores, &labels).unwrap().auc
        };
        let auc = 13.0 / 16.0;
        assert!((figure(&small) - auc).abs() < 1e-9 && (figure(&large) - auc).abs() < 1e-9);
        let (s, l) = (interval(&small).unwrap(), interval(&large).unwrap());
        assert!(s.low < auc && auc < s.high, "{s:?}");
        assert!(l.low < auc && auc < l.high, "{l:?}");
        assert!(
            l.high - l.low < s.high - s.low,
            "{l:?} should be narrower than {s:?}"
        );
    }

    #[test]
    fn frames_of_one_video_move_together() {
        // One real video of many frames against single fakes: its frames are one unit.
        let mut faces = faces(&[0.2], &[0.5, 0.6, 0.7]);
        faces.extend((0..20).map(|_| ("long-real".to_string(), false, 0.9)));
        let i = interval(&faces).expect("two real videos");
        // Drawing the long video twice gives AUC 0; never drawing it gives 1.
        assert_eq!((i.low, i.high), (0.0, 1.0), "{i:?}");
    }

    #[test]
    fn one_video_of_a_class_has_no_interval() {
        assert!(interval(&faces(&[0.1], &[0.9, 0.8])).is_none());
    }
}
