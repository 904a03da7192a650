//! Detection metrics for validation and evaluation: accuracy, ROC curve, AUC and EER.
//!
//! Scores are P(manipulated); labels are `true` for manipulated. AUC is the Mann–Whitney
//! statistic with ties counted as one half (the area under the ROC curve that joins the points
//! of each distinct threshold by straight lines). EER is where the false-positive rate equals
//! the false-negative rate, interpolated linearly between ROC points.

use serde::Serialize;

/// One point of the ROC curve: predicting "manipulated" when `score >= threshold`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RocPoint {
    /// The score threshold.
    pub threshold: f32,
    /// False-positive rate (real faces called manipulated).
    pub fpr: f64,
    /// True-positive rate (manipulated faces caught).
    pub tpr: f64,
}

/// Metrics of a set of scored, labelled faces.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DetectionMetrics {
    /// Accuracy at the 0.5 threshold.
    pub accuracy: f64,
    /// Area under the ROC curve.
    pub auc: f64,
    /// Equal error rate.
    pub eer: f64,
    /// The ROC curve, from (0, 0) to (1, 1).
    pub roc: Vec<RocPoint>,
    /// Number of real faces.
    pub negatives: usize,
    /// Number of manipulated faces.
    pub positives: usize,
}

/// Why metrics could not be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MetricsError {
    /// Scores and labels differ in length.
    #[error("{scores} scores but {labels} labels")]
    Length {
        /// Number of scores.
        scores: usize,
        /// Number of labels.
        labels: usize,
    },
    /// AUC and EER need both classes.
    #[error(
        "metrics need both real and manipulated samples ({positives} manipulated, {negatives} real)"
    )]
    OneClass {
        /// Manipulated samples.
        positives: usize,
        /// Real samples.
        negatives: usize,
    },
    /// A score is NaN or infinite.
    #[error("score {0} is not a finite number")]
    NotFinite(usize),
}

/// Computes accuracy, ROC, AUC and EER.
pub fn evaluate(scores: &[f32], labels: &[bool]) -> Result<DetectionMetrics, MetricsError> {
    if scores.len() != labels.len() {
        return Err(MetricsError::Length {
            scores: scores.len(),
            labels: labels.len(),
        });
    }
    if let Some(i) = scores.iter().position(|s| !s.is_finite()) {
        return Err(MetricsError::NotFinite(i));
    }
    let positives = labels.iter().filter(|&&l| l).count();
    let negatives = labels.len() - positives;
    if positives == 0 || negatives == 0 {
        return Err(MetricsError::OneClass {
            positives,
            negatives,
        });
    }
    let correct = scores
        .iter()
        .zip(labels)
        .filter(|&(&s, &l)| (s >= 0.5) == l)
        .count();
    let roc = roc_curve(scores, labels, positives, negatives);
    Ok(DetectionMetrics {
        accuracy: correct as f64 / scores.len() as f64,
        auc: auc(scores, labels, positives, negatives),
        eer: eer(&roc),
        roc,
        negatives,
        positives,
    })
}

/// Mann–Whitney AUC with average ranks for ties.
fn auc(scores: &[f32], labels: &[bool], positives: usize, negatives: usize) -> f64 {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut rank_sum = 0.0f64;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        // Ranks i+1 ..= j+1 share their average.
        let average = (i + j + 2) as f64 / 2.0;
        rank_sum += average * order[i..=j].iter().filter(|&&k| labels[k]).count() as f64;
        i = j + 1;
    }
    let p = positives as f64;
    (rank_sum - p * (p + 1.0) / 2.0) / (p * negatives as f64)
}

/// ROC points at every distinct score, from the highest threshold down.
fn roc_curve(scores: &[f32], labels: &[bool], positives: usize, negatives: usize) -> Vec<RocPoint> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let mut roc = vec![RocPoint {
        threshold: f32::INFINITY,
        fpr: 0.0,
        tpr: 0.0,
    }];
    let (mut tp, mut fp) = (0usize, 0usize);
    let mut i = 0;
    while i < order.len() {
        let threshold = scores[order[i]];
        while i < order.len() && scores[order[i]] == threshold {
            if labels[order[i]] {
                tp += 1;
            } else {
                fp += 1;
            }
            i += 1;
        }
        roc.push(RocPoint {
            threshold,
            fpr: fp as f64 / negatives as f64,
            tpr: tp as f64 / positives as f64,
        });
    }
    roc
}

/// The rate where FPR = FNR, interpolated on the segment of the ROC curve that crosses it.
fn eer(roc: &[RocPoint]) -> f64 {
    for pair in roc.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        // d = FNR − FPR = (1 − tpr) − fpr goes from positive to ≤ 0 along the curve.
        let da = 1.0 - a.tpr - a.fpr;
        let db = 1.0 - b.tpr - b.fpr;
        if da >= 0.0 && db <= 0.0 {
            if da == db {
                return a.fpr;
            }
            let t = da / (da - db);
            return a.fpr + t * (b.fpr - a.fpr);
        }
    }
    0.5
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_by_hand_without_ties() {
        // Manipulated 0.9, 0.7; real 0.8, 0.6. Of the 4 (manipulated, real) pairs, 3 are ordered
        // correctly (0.9>0.8, 0.9>0.6, 0.7>0.6): AUC = 3/4.
        let m = evaluate(&[0.9, 0.8, 0.7, 0.6], &[true, false, true, false]).unwrap();
        assert!((m.auc - 0.75).abs() < 1e-12);
        // Thresholds 0.9: (FPR 0, TPR .5); 0.8: (.5, .5): FNR = FPR = 0.5 there.
        assert!((m.eer - 0.5).abs() < 1e-12);
        // At 0.5 every score is called manipulated: 2 of 4 right.
        assert!((m.accuracy - 0.5).abs() < 1e-12);
        assert_eq!(m.roc.len(), 5);
        assert_eq!((m.roc[4].fpr, m.roc[4].tpr), (1.0, 1.0));
    }

    #[test]
    fn auc_by_hand_with_ties() {
        // Manipulated 0.5, 0.9; real 0.5, 0.1. Pairs: (0.5, 0.5) tie = ½, (0.5, 0.1) = 1,
        // (0.9, 0.5) = 1, (0.9, 0.1) = 1: AUC = 3.5 / 4.
        let m = evaluate(&[0.5, 0.9, 0.5, 0.1], &[true, true, false, false]).unwrap();
        assert!((m.auc - 0.875).abs() < 1e-12);
        // ROC: (0,0) → (0, .5) at 0.9 → (.5, 1) at 0.5 (the tie moves both) → (1, 1).
        // FNR − FPR is .5 at (0, .5) and −.5 at (.5, 1): crossing halfway, EER = 0.25.
        assert!((m.eer - 0.25).abs() < 1e-12);
    }

    #[test]
    fn perfect_and_inverted_separation() {
        let perfect = evaluate(&[0.1, 0.2, 0.8, 0.9], &[false, false, true, true]).unwrap();
        assert_eq!(
            (perfect.auc, perfect.eer, perfect.accuracy),
            (1.0, 0.0, 1.0)
        );
        let inverted = evaluate(&[0.9, 0.8, 0.2, 0.1], &[false, false, true, true]).unwrap();
        assert_eq!((inverted.auc, inverted.eer), (0.0, 1.0));
    }

    #[test]
    fn invalid_inputs_are_errors() {
        assert!(matches!(
            evaluate(&[0.1], &[true, false]),
            Err(MetricsError::Length { .. })
        ));
        assert!(matches!(
            evaluate(&[0.1, 0.2], &[true, true]),
            Err(MetricsError::OneClass { .. })
        ));
        assert_eq!(
            evaluate(&[f32::NAN, 0.2], &[true, false]),
            Err(MetricsError::NotFinite(0))
        );
    }
}
