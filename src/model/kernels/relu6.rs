//! ReLU6 on f32 slices, forward and backward, branch-free (the compiler vectorises both).

use rayon::prelude::*;

use super::simd::vectorised;

/// Elements per rayon task; smaller slices run on the calling thread.
const CHUNK: usize = 1 << 14;

/// ReLU6 in place, split across rayon's threads for large slices.
pub(crate) fn relu6_in_place(values: &mut [f32]) {
    if values.len() >= 4 * CHUNK {
        values.par_chunks_mut(CHUNK).for_each(relu6_slice);
    } else {
        relu6_slice(values);
    }
}

/// ReLU6 in place on one slice.
pub(crate) fn relu6_slice(values: &mut [f32]) {
    vectorised(
        #[inline(always)]
        || {
            for x in values {
                // NaN stays NaN and −0 stays −0, as with Burn's clamp.
                *x = x.clamp(0.0, 6.0);
            }
        },
    )
}

/// `grad` where `0 < x < 6`, else 0, in place (NaN inputs pass no gradient).
pub(crate) fn relu6_backward_in_place(x: &[f32], grad: &mut [f32]) {
    vectorised(
        #[inline(always)]
        || {
            for (g, &x) in grad.iter_mut().zip(x) {
                *g = if x > 0.0 && x < 6.0 { *g } else { 0.0 };
            }
        },
    )
}
