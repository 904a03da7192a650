//! Blend regions of other shapes than the landmark hull.
//!
//! A face-swap tool blends inside its own mask: the inner face from brows to chin, a hull
//! without the forehead, an eroded or widened hull. A model that only ever sees blends inside
//! our landmark hull (with the lower forehead) can learn where that one boundary runs instead
//! of what a boundary looks like. Here the hull is stretched or shrunk about its centre, each
//! axis on its own, and its top may be cut off below the forehead.

use crate::imaging::landmarks::point_bounds;
use crate::rng::Rng;

/// The face region `hull` (a convex polygon) reshaped at random: each axis scaled about the
/// centre of its bounding box by a factor drawn from `scale` (held within 0.5–1.5), then, with
/// `top_cut` above 0, the part above a line drawn within the top `top_cut` share of its height
/// cut away. With `scale` `[1, 1]` and `top_cut` 0 the hull is returned as it is and `rng` is
/// not drawn from, so that recipes without these settings keep their random streams.
pub fn varied_region(
    hull: &[(f32, f32)],
    scale: [f32; 2],
    top_cut: f32,
    rng: &mut Rng,
) -> Vec<(f32, f32)> {
    if hull.len() < 3 || (scale == [1.0, 1.0] && top_cut <= 0.0) {
        return hull.to_vec();
    }
    let (left, top, right, bottom) = point_bounds(hull);
    let (cx, cy) = ((left + right) / 2.0, (top + bottom) / 2.0);
    // Factors outside 0.5–1.5 would leave no face, or the whole crop, to blend.
    let mut factor = || rng.range(scale[0], scale[1]).clamp(0.5, 1.5);
    let (sx, sy) = (factor(), factor());
    let scaled: Vec<(f32, f32)> = hull
        .iter()
        .map(|&(x, y)| (cx + (x - cx) * sx, cy + (y - cy) * sy))
        .collect();
    if top_cut <= 0.0 {
        return scaled;
    }
    let (_, top, _, bottom) = point_bounds(&scaled);
    let line = top + rng.range(0.0, top_cut.min(0.9)) * (bottom - top);
    below(&scaled, line)
}

/// The part of a convex polygon at or below the horizontal line `y = line` (one step of
/// Sutherland–Hodgman clipping); the result is convex too.
fn below(polygon: &[(f32, f32)], line: f32) -> Vec<(f32, f32)> {
    let n = polygon.len();
    let mut out = Vec::with_capacity(n + 2);
    for i in 0..n {
        let (a, b) = (polygon[i], polygon[(i + 1) % n]);
        let (a_in, b_in) = (a.1 >= line, b.1 >= line);
        if a_in {
            out.push(a);
        }
        if a_in != b_in {
            let t = (line - a.1) / (b.1 - a.1);
            out.push((a.0 + t * (b.0 - a.0), line));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square() -> Vec<(f32, f32)> {
        vec![(10.0, 10.0), (90.0, 10.0), (90.0, 90.0), (10.0, 90.0)]
    }

    #[test]
    fn default_settings_keep_the_hull_and_the_random_stream() {
        let mut rng = Rng::new(5);
        assert_eq!(
            varied_region(&square(), [1.0, 1.0], 0.0, &mut rng),
            square()
        );
        assert_eq!(rng.next_u64(), Rng::new(5).next_u64());
    }

    #[test]
    fn scaling_stays_about_the_centre_within_the_range() {
        for seed in 0..20 {
            let region = varied_region(&square(), [0.8, 1.1], 0.0, &mut Rng::new(seed));
            let (l, t, r, b) = point_bounds(&region);
            assert!((l + r - 100.0).abs() < 1e-3 && (t + b - 100.0).abs() < 1e-3);
            assert!((r - l) >= 80.0 * 0.8 - 1e-3 && (r - l) <= 80.0 * 1.1 + 1e-3);
        }
    }

    #[test]
    fn the_top_cut_removes_only_the_top() {
        for seed in 0..20 {
            let region = varied_region(&square(), [1.0, 1.0], 0.3, &mut Rng::new(seed));
            let (l, t, r, b) = point_bounds(&region);
            assert!((10.0..=10.0 + 0.3 * 80.0 + 1e-3).contains(&t), "top {t}");
            assert_eq!((l, r, b), (10.0, 90.0, 90.0));
        }
    }
}
