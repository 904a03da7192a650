//! A random change of lighting, given alike to both faces of a pair.
//!
//! The training faces are official portraits: lit evenly, from the front, with a neutral white
//! balance. A self-blend changes the colour and brightness of the inner face against its
//! surroundings, so a model can learn "light that falls unevenly on a face is a forgery". Real
//! video frames are full of such light: a lamp to one side, a face turned from the window, a
//! warm or cold cast. Relighting both faces of a pair by the same smooth shading and the same
//! colour cast makes the lighting say nothing about the label, so what is left to learn is the
//! blend's own mismatch, which lies on a boundary inside the face.

use image::RgbImage;

use crate::rng::Rng;

/// One lighting change: a brightness gradient across the image, an exposure change and a colour
/// cast, applied as gains to every pixel.
#[derive(Debug, Clone, PartialEq)]
pub struct PairRelight {
    /// The gradient's direction (a unit vector in image coordinates).
    direction: (f32, f32),
    /// Natural log of the gain ratio from one side of the image to the other along `direction`.
    slope: f32,
    /// Overall gain.
    exposure: f32,
    /// Gain per channel (red, green, blue).
    cast: [f32; 3],
}

impl PairRelight {
    /// A lighting change of the given strength: the gradient's log-ratio is drawn in
    /// `0..strength` (strength 0.8: up to 2.2 times brighter on one side), the exposure's log
    /// in `±strength / 4`, and each channel's gain in `1 ± strength / 8`.
    pub fn draw(strength: f32, rng: &mut Rng) -> Self {
        let strength = strength.abs();
        let angle = rng.range(0.0, std::f32::consts::TAU);
        let slope = rng.range(0.0, strength);
        let exposure = rng.range(-strength / 4.0, strength / 4.0).exp();
        let mut gain = || 1.0 + rng.range(-strength / 8.0, strength / 8.0);
        let cast = [gain(), gain(), gain()];
        Self {
            direction: (angle.cos(), angle.sin()),
            slope,
            exposure,
            cast,
        }
    }

    /// A change for one pair, none when `strength` is 0 (and then no random number is drawn, so
    /// that recipes from before the option keep their random streams).
    pub fn draw_for_pair(strength: f32, rng: &mut Rng) -> Option<Self> {
        (strength > 0.0).then(|| Self::draw(strength, rng))
    }

    /// The image relit: every pixel's channels times the gains at its position, clamped.
    pub fn apply(&self, image: &RgbImage) -> RgbImage {
        let (w, h) = image.dimensions();
        let (dx, dy) = self.direction;
        RgbImage::from_fn(w, h, |x, y| {
            // Position from the centre, in units of the side: -0.5..0.5 along each axis.
            let u = (x as f32 + 0.5) / w as f32 - 0.5;
            let v = (y as f32 + 0.5) / h as f32 - 0.5;
            let shade = self.exposure * (self.slope * (u * dx + v * dy)).exp();
            let p = image.get_pixel(x, y).0;
            image::Rgb(std::array::from_fn(|c| {
                (p[c] as f32 * shade * self.cast[c])
                    .round()
                    .clamp(0.0, 255.0) as u8
            }))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grey() -> RgbImage {
        RgbImage::from_pixel(64, 64, image::Rgb([100, 100, 100]))
    }

    #[test]
    fn no_strength_draws_nothing_and_spends_no_random_number() {
        let (mut a, mut b) = (Rng::new(4), Rng::new(4));
        assert_eq!(PairRelight::draw_for_pair(0.0, &mut a), None);
        assert_eq!(a.range(0.0, 1.0), b.range(0.0, 1.0));
    }

    #[test]
    fn a_zero_change_leaves_the_image_as_it_was() {
        let image = grey();
        assert_eq!(
            PairRelight::draw(0.0, &mut Rng::new(3)).apply(&image),
            image
        );
    }

    #[test]
    fn one_draw_relights_both_faces_alike_within_its_strength() {
        let image = grey();
        let mut rng = Rng::new(8);
        let mut changed = 0;
        for _ in 0..20 {
            let light = PairRelight::draw(0.8, &mut rng);
            let (a, b) = (light.apply(&image), light.apply(&image));
            assert_eq!(a, b, "one draw relights both faces of a pair alike");
            changed += usize::from(a != image);
            // Along any direction the image spans at most √2 of its side (its diagonal), so the
            // brightest pixel of a channel is at most e^(0.8·√2) times the darkest.
            let green = a.pixels().map(|p| p.0[1] as f32);
            let (low, high) = green.fold((f32::MAX, f32::MIN), |(l, h), g| (l.min(g), h.max(g)));
            let most = (0.8f32 * std::f32::consts::SQRT_2).exp();
            assert!(high / low <= most * 1.03, "{low}..{high}");
        }
        assert!(
            changed >= 19,
            "only {changed} of 20 draws changed the image"
        );
    }

    #[test]
    fn the_gradient_brightens_one_side_and_darkens_the_other() {
        let light = PairRelight {
            direction: (1.0, 0.0),
            slope: 0.8,
            exposure: 1.0,
            cast: [1.0; 3],
        };
        let out = light.apply(&grey());
        let (left, right) = (out.get_pixel(0, 32).0[0], out.get_pixel(63, 32).0[0]);
        assert!(left < 70 && right > 140, "left {left}, right {right}");
        let centre = out.get_pixel(32, 32).0[0];
        assert!(centre.abs_diff(100) <= 2, "centre {centre}");
    }
}
