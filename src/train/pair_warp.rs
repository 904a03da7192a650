//! A smooth random reshaping of a face, given alike to both faces of a pair.
//!
//! The training faces are official portraits: frontal, neutral, lips closed. A self-blend moves
//! the inner face against its surroundings by a few per cent, so the face's layout (where the
//! eyes, brows and mouth sit against the jaw and the forehead) differs between the two classes,
//! and a model can learn "an unusual layout is a forgery". Real video frames are full of unusual
//! layouts: a laugh, shut eyes, a raised brow, a turned head. Reshaping both faces of a pair by
//! the same smooth random field makes layout say nothing about the label, so what is left to
//! learn is what the blend itself leaves behind.

use image::RgbImage;

use crate::rng::Rng;
use crate::train::selfblend::warp_rgb;

/// Control points per side of the displacement grid: 5 gives bends about a quarter of the face
/// wide, the scale of a brow, an eye or a mouth corner.
const GRID: usize = 5;

/// A random displacement field: offsets at a `GRID × GRID` lattice over the image, as fractions
/// of its side, interpolated smoothly in between.
#[derive(Debug, Clone, PartialEq)]
pub struct PairWarp {
    /// Horizontal offsets, row-major, fractions of the width.
    dx: Vec<f32>,
    /// Vertical offsets, row-major, fractions of the height.
    dy: Vec<f32>,
}

impl PairWarp {
    /// A field whose offsets are drawn uniformly within `±strength` of the side. The lattice's
    /// outer ring stays still, so that the crop's framing (and the face's place in it) keeps.
    pub fn draw(strength: f32, rng: &mut Rng) -> Self {
        let strength = strength.abs();
        let mut offset = |i: usize| {
            let (row, col) = (i / GRID, i % GRID);
            let border = row == 0 || col == 0 || row == GRID - 1 || col == GRID - 1;
            if border || strength == 0.0 {
                0.0
            } else {
                rng.range(-strength, strength)
            }
        };
        let dx = (0..GRID * GRID).map(&mut offset).collect();
        let dy = (0..GRID * GRID).map(&mut offset).collect();
        Self { dx, dy }
    }

    /// A field for one pair when it is drawn to be reshaped: with `probability` (≥ 1 always,
    /// without spending a random number, so that recipes from before the option keep their
    /// random streams), none when `strength` is 0.
    pub fn draw_for_pair(strength: f32, probability: f32, rng: &mut Rng) -> Option<Self> {
        let reshaped = strength > 0.0 && (probability >= 1.0 || rng.chance(probability));
        reshaped.then(|| Self::draw(strength, rng))
    }

    /// The offset (fractions of the side) at a position given in lattice units (0..GRID-1).
    fn offset_at(&self, u: f32, v: f32) -> (f32, f32) {
        let last = (GRID - 1) as f32;
        let (u, v) = (u.clamp(0.0, last), v.clamp(0.0, last));
        let (c0, r0) = (u.floor().min(last - 1.0), v.floor().min(last - 1.0));
        // Smoothstep weights: the field's slope is continuous across lattice lines.
        let smooth = |t: f32| t * t * (3.0 - 2.0 * t);
        let (tu, tv) = (smooth(u - c0), smooth(v - r0));
        let (c0, r0) = (c0 as usize, r0 as usize);
        let at = |field: &[f32], r: usize, c: usize| field[r * GRID + c];
        let lerp = |field: &[f32]| {
            let top = at(field, r0, c0) * (1.0 - tu) + at(field, r0, c0 + 1) * tu;
            let bottom = at(field, r0 + 1, c0) * (1.0 - tu) + at(field, r0 + 1, c0 + 1) * tu;
            top * (1.0 - tv) + bottom * tv
        };
        (lerp(&self.dx), lerp(&self.dy))
    }

    /// The image reshaped by the field (bilinear; the border repeats).
    pub fn apply(&self, image: &RgbImage) -> RgbImage {
        let (w, h) = image.dimensions();
        let (w, h) = (w as f32, h as f32);
        let last = (GRID - 1) as f32;
        warp_rgb(image, |x, y| {
            let (ox, oy) = self.offset_at(x / w * last, y / h * last);
            (x + ox * w, y + oy * h)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gradient() -> RgbImage {
        RgbImage::from_fn(96, 96, |x, y| image::Rgb([x as u8 * 2, y as u8 * 2, 128]))
    }

    #[test]
    fn no_strength_leaves_the_image_as_it_was() {
        let image = gradient();
        let warp = PairWarp::draw(0.0, &mut Rng::new(3));
        assert_eq!(warp.apply(&image), image);
    }

    #[test]
    fn a_warp_moves_the_inside_keeps_the_border_and_is_the_same_for_both_faces() {
        let image = gradient();
        let warp = PairWarp::draw(0.05, &mut Rng::new(7));
        let (a, b) = (warp.apply(&image), warp.apply(&image));
        assert_eq!(a, b, "one draw reshapes both faces of a pair alike");
        let moved = a
            .pixels()
            .zip(image.pixels())
            .filter(|(p, q)| p.0[0].abs_diff(q.0[0]) > 2 || p.0[1].abs_diff(q.0[1]) > 2)
            .count();
        assert!(moved > 96 * 96 / 10, "only {moved} pixels moved");
        for x in 0..96 {
            for y in [0, 95] {
                let (p, q) = (a.get_pixel(x, y).0, image.get_pixel(x, y).0);
                assert!(p[0].abs_diff(q[0]) <= 1 && p[1].abs_diff(q[1]) <= 1);
            }
        }
    }

    #[test]
    fn a_share_of_pairs_is_reshaped_and_every_pair_costs_the_old_stream_at_probability_one() {
        let (mut a, mut b) = (Rng::new(5), Rng::new(5));
        for _ in 0..20 {
            assert_eq!(
                PairWarp::draw_for_pair(0.04, 1.0, &mut a),
                Some(PairWarp::draw(0.04, &mut b))
            );
        }
        assert_eq!(PairWarp::draw_for_pair(0.0, 1.0, &mut a), None);
        assert_eq!(PairWarp::draw_for_pair(0.04, 0.0, &mut a), None);
        let mut rng = Rng::new(9);
        let reshaped = (0..1000)
            .filter(|_| PairWarp::draw_for_pair(0.04, 0.3, &mut rng).is_some())
            .count();
        assert!(
            (240..=360).contains(&reshaped),
            "{reshaped} of 1000 reshaped at 0.3"
        );
    }

    #[test]
    fn offsets_stay_within_the_strength() {
        let warp = PairWarp::draw(0.04, &mut Rng::new(11));
        for i in 0..=40 {
            for j in 0..=40 {
                let (ox, oy) = warp.offset_at(i as f32 / 10.0, j as f32 / 10.0);
                assert!(ox.abs() <= 0.04 + 1e-6 && oy.abs() <= 0.04 + 1e-6);
            }
        }
    }
}
