//! Rendering explanation maps as images: attention heatmaps over the face, Gram matrices as
//! coloured squares. The colour map is "inferno" (perceptually uniform, readable in grey and by
//! most colour-blind viewers): dark purple for low, yellow for high.

use image::{Rgb, RgbImage};

/// Inferno, sampled at 9 evenly spaced points (matplotlib's values).
#[allow(clippy::approx_constant)] // colour data; 0.318 is not 1/π
const INFERNO: [[f32; 3]; 9] = [
    [0.001, 0.000, 0.014],
    [0.106, 0.047, 0.255],
    [0.316, 0.071, 0.485],
    [0.517, 0.149, 0.515],
    [0.716, 0.215, 0.475],
    [0.894, 0.318, 0.329],
    [0.986, 0.533, 0.141],
    [0.976, 0.788, 0.196],
    [0.988, 0.998, 0.645],
];

/// The colour of `t` in [0, 1] (clamped).
pub fn inferno(t: f32) -> Rgb<u8> {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let x = t * (INFERNO.len() - 1) as f32;
    let i = (x.floor() as usize).min(INFERNO.len() - 2);
    let f = x - i as f32;
    let c = |k: usize| {
        let v = INFERNO[i][k] * (1.0 - f) + INFERNO[i + 1][k] * f;
        (v * 255.0).round() as u8
    };
    Rgb([c(0), c(1), c(2)])
}

/// Values rescaled to [0, 1] by their own minimum and maximum (a flat map becomes all 0).
pub fn normalise(values: &[f32]) -> Vec<f32> {
    let (lo, hi) = values
        .iter()
        .filter(|v| v.is_finite())
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    let range = hi - lo;
    values
        .iter()
        .map(|&v| {
            if range > 0.0 && v.is_finite() {
                (v - lo) / range
            } else {
                0.0
            }
        })
        .collect()
}

/// Bilinear sample of a `side × side` grid at continuous coordinates (pixel centres at i + 0.5).
fn sample(grid: &[f32], side: usize, x: f32, y: f32) -> f32 {
    let fx = (x - 0.5).clamp(0.0, (side - 1) as f32);
    let fy = (y - 0.5).clamp(0.0, (side - 1) as f32);
    let (x0, y0) = (fx.floor() as usize, fy.floor() as usize);
    let (x1, y1) = ((x0 + 1).min(side - 1), (y0 + 1).min(side - 1));
    let (tx, ty) = (fx - x0 as f32, fy - y0 as f32);
    let at = |x: usize, y: usize| grid[y * side + x];
    let top = at(x0, y0) * (1.0 - tx) + at(x1, y0) * tx;
    let bottom = at(x0, y1) * (1.0 - tx) + at(x1, y1) * tx;
    top * (1.0 - ty) + bottom * ty
}

/// A `grid × grid` map, smoothly upsampled, coloured and blended over `face` with `opacity`.
pub fn overlay(face: &RgbImage, map: &[f32], grid: usize, opacity: f32) -> RgbImage {
    let values = normalise(map);
    let (w, h) = face.dimensions();
    let opacity = opacity.clamp(0.0, 1.0);
    RgbImage::from_fn(w, h, |x, y| {
        let gx = (x as f32 + 0.5) / w as f32 * grid as f32;
        let gy = (y as f32 + 0.5) / h as f32 * grid as f32;
        let colour = inferno(sample(&values, grid, gx, gy));
        let base = face.get_pixel(x, y);
        Rgb(std::array::from_fn(|k| {
            (base.0[k] as f32 * (1.0 - opacity) + colour.0[k] as f32 * opacity).round() as u8
        }))
    })
}

/// A `side × side` matrix as an image with `cell × cell` pixels per entry.
pub fn matrix(values: &[f32], side: usize, cell: u32) -> RgbImage {
    let values = normalise(values);
    let cell = cell.max(1);
    let extent = side as u32 * cell;
    RgbImage::from_fn(extent, extent, |x, y| {
        inferno(values[(y / cell) as usize * side + (x / cell) as usize])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_map_ends() {
        assert_eq!(inferno(0.0), Rgb([0, 0, 4]));
        assert_eq!(inferno(1.0), Rgb([252, 254, 164]));
        assert_eq!(inferno(f32::NAN), inferno(0.0));
    }

    #[test]
    fn normalise_spans_zero_to_one() {
        assert_eq!(normalise(&[2.0, 4.0, 3.0]), vec![0.0, 1.0, 0.5]);
        assert_eq!(normalise(&[1.0, 1.0]), vec![0.0, 0.0]);
    }

    #[test]
    fn overlay_keeps_the_face_size_and_matrix_scales() {
        let face = RgbImage::from_pixel(40, 30, Rgb([100, 100, 100]));
        let map: Vec<f32> = (0..16).map(|i| i as f32).collect();
        let out = overlay(&face, &map, 4, 0.5);
        assert_eq!(out.dimensions(), (40, 30));
        // The top-left is the map's minimum, the bottom-right its maximum.
        assert_ne!(out.get_pixel(0, 0), out.get_pixel(39, 29));
        assert_eq!(matrix(&map, 4, 3).dimensions(), (12, 12));
    }
}
