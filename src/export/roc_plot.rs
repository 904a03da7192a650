//! A ROC curve drawn as a PNG: axes from 0 to 1, the chance diagonal, the curve, and the AUC
//! written as a bar along the top (no font needed: its length is the AUC).

use image::{Rgb, RgbImage};

use crate::train::metrics::RocPoint;

const SIZE: u32 = 400;
const MARGIN: u32 = 30;

fn line(image: &mut RgbImage, from: (i64, i64), to: (i64, i64), colour: Rgb<u8>, width: i64) {
    let steps = (to.0 - from.0).abs().max((to.1 - from.1).abs()).max(1);
    for i in 0..=steps {
        let x = from.0 + (to.0 - from.0) * i / steps;
        let y = from.1 + (to.1 - from.1) * i / steps;
        for dx in -(width / 2)..=(width / 2) {
            for dy in -(width / 2)..=(width / 2) {
                let (px, py) = (x + dx, y + dy);
                if px >= 0 && py >= 0 && (px as u32) < image.width() && (py as u32) < image.height()
                {
                    image.put_pixel(px as u32, py as u32, colour);
                }
            }
        }
    }
}

/// Plots the curve; `auc` in [0, 1] is drawn as a bar of that fraction of the plot width.
pub fn plot(roc: &[RocPoint], auc: f64) -> RgbImage {
    let mut image = RgbImage::from_pixel(SIZE, SIZE, Rgb([255, 255, 255]));
    let span = (SIZE - 2 * MARGIN) as f64;
    let at = |fpr: f64, tpr: f64| {
        (
            MARGIN as i64 + (fpr * span).round() as i64,
            (SIZE - MARGIN) as i64 - (tpr * span).round() as i64,
        )
    };
    let grey = Rgb([190, 190, 190]);
    let black = Rgb([0, 0, 0]);
    line(&mut image, at(0.0, 0.0), at(1.0, 1.0), grey, 1);
    for (a, b) in [
        ((0.0, 0.0), (1.0, 0.0)),
        ((0.0, 0.0), (0.0, 1.0)),
        ((1.0, 0.0), (1.0, 1.0)),
        ((0.0, 1.0), (1.0, 1.0)),
    ] {
        line(&mut image, at(a.0, a.1), at(b.0, b.1), black, 1);
    }
    for pair in roc.windows(2) {
        line(
            &mut image,
            at(pair[0].fpr, pair[0].tpr),
            at(pair[1].fpr, pair[1].tpr),
            Rgb([20, 70, 180]),
            3,
        );
    }
    let bar = (MARGIN as f64 + auc.clamp(0.0, 1.0) * span) as i64;
    line(
        &mut image,
        (MARGIN as i64, 12),
        (bar, 12),
        Rgb([200, 60, 30]),
        6,
    );
    image
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plot_draws_the_curve() {
        let roc = [
            RocPoint {
                threshold: f32::INFINITY,
                fpr: 0.0,
                tpr: 0.0,
            },
            RocPoint {
                threshold: 0.5,
                fpr: 0.0,
                tpr: 1.0,
            },
            RocPoint {
                threshold: 0.1,
                fpr: 1.0,
                tpr: 1.0,
            },
        ];
        let image = plot(&roc, 1.0);
        assert_eq!(image.dimensions(), (SIZE, SIZE));
        // The top-left corner of the plot area is on the curve (blue).
        assert_eq!(image.get_pixel(MARGIN + 1, MARGIN + 1).0, [20, 70, 180]);
    }
}
