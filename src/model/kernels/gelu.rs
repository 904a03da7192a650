//! The exact GELU, `x · Φ(x) = x/2 · (1 + erf(x/√2))`, and its gradient
//! `Φ(x) + x · φ(x)` on f32 slices, with a branch-free `erf` and `exp` that the compiler
//! vectorises (flex's GELU and its backward call libm's scalar `erff` on one thread).

use rayon::prelude::*;

use super::simd::vectorised;

/// Elements per rayon task; smaller slices run on the calling thread.
const CHUNK: usize = 1 << 14;

/// `1 / √(2π)`.
const INV_SQRT_2PI: f32 = 0.398_942_3;

/// GELU in place, split across rayon's threads for large slices.
pub(crate) fn gelu_in_place(values: &mut [f32]) {
    if values.len() >= 4 * CHUNK {
        values.par_chunks_mut(CHUNK).for_each(gelu_slice);
    } else {
        gelu_slice(values);
    }
}

/// `grad · (Φ(x) + x · φ(x))` in place of `grad`, split across rayon's threads for large
/// slices.
pub(crate) fn gelu_backward_in_place(x: &[f32], grad: &mut [f32]) {
    if grad.len() >= 4 * CHUNK {
        grad.par_chunks_mut(CHUNK)
            .zip(x.par_chunks(CHUNK))
            .for_each(|(g, x)| gelu_backward_slice(x, g));
    } else {
        gelu_backward_slice(x, grad);
    }
}

/// The GELU gradient on one slice.
fn gelu_backward_slice(x: &[f32], grad: &mut [f32]) {
    vectorised(
        #[inline(always)]
        || {
            for (g, &x) in grad.iter_mut().zip(x) {
                let cdf = 0.5 * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2));
                let pdf = INV_SQRT_2PI * exp(-0.5 * x * x);
                *g *= cdf + x * pdf;
            }
        },
    )
}

/// GELU in place on one slice.
pub(crate) fn gelu_slice(values: &mut [f32]) {
    vectorised(
        #[inline(always)]
        || {
            for x in values {
                *x = 0.5 * *x * (1.0 + erf(*x / std::f32::consts::SQRT_2));
            }
        },
    )
}

/// erf(x), absolute error below 6·10⁻⁷ in f32 (1.5·10⁻⁷ in exact arithmetic) (Abramowitz & Stegun 7.1.26), branch-free.
#[inline(always)]
fn erf(x: f32) -> f32 {
    let a = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * a);
    let poly = ((((1.061_405_4 * t - 1.453_152_1) * t + 1.421_413_8) * t - 0.284_496_74) * t
        + 0.254_829_6)
        * t;
    (1.0 - poly * exp(-a * a)).copysign(x)
}

/// e^x for x ≤ 0 down to about −87 (below, 0 in the limit), Cephes' `expf` polynomial,
/// branch-free so that it vectorises.
#[inline(always)]
fn exp(x: f32) -> f32 {
    const ROUND: f32 = 12_582_912.0; // 1.5 · 2²³: adding it rounds to an integer
    let x = x.max(-87.0);
    let n = (x * std::f32::consts::LOG2_E + ROUND) - ROUND;
    let r = x - n * 0.693_359_4 + n * 2.121_944_4e-4;
    let p = ((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r
        + 0.166_666_65)
        * r
        + 0.5;
    let y = p * r * r + r + 1.0;
    y * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// erf by its Taylor series in f64 (accurate to ~1e-13 for |x| ≤ 3).
    fn erf_series(x: f64) -> f64 {
        let (mut term, mut sum) = (x, x);
        for n in 1..200 {
            term *= -x * x / n as f64;
            sum += term / (2 * n + 1) as f64;
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    }

    #[test]
    fn erf_and_exp_are_accurate() {
        for i in -3000..=3000 {
            let x = i as f32 / 1000.0; // −3 … 3
            let expected = erf_series(x as f64);
            let error = (erf(x) as f64 - expected).abs();
            assert!(error < 6e-7, "erf({x}): error {error:e}");
        }
        for x in [4.0f32, 5.0, 8.0, 20.0, f32::INFINITY] {
            assert!((erf(x) - 1.0).abs() < 6e-7 && (erf(-x) + 1.0).abs() < 6e-7);
        }
        for i in 0..=8700 {
            let x = -(i as f32) / 100.0; // 0 … −87
            let e = (x as f64).exp();
            assert!(((exp(x) as f64) - e).abs() <= 5e-7 * e, "exp({x})");
        }
    }

    #[test]
    fn gelu_gradient_matches_finite_differences() {
        for i in -600..=600 {
            let x = i as f32 / 100.0; // −6 … 6
            let h = 1e-3f64;
            let gelu = |x: f64| 0.5 * x * (1.0 + erf_series(x / std::f64::consts::SQRT_2));
            let numeric = (gelu(x as f64 + h) - gelu(x as f64 - h)) / (2.0 * h);
            let mut grad = [1.0f32];
            gelu_backward_slice(&[x], &mut grad);
            assert!(
                (grad[0] as f64 - numeric).abs() < 2e-6,
                "gelu'({x}): {} vs {numeric}",
                grad[0]
            );
        }
    }
}
