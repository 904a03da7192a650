//! The kernels' loops at the CPU's widest vector width.

/// Runs `op` compiled for the widest vector unit this CPU has (AVX-512, AVX2 or the baseline,
/// chosen at run time by `pulp`), so that the loops inlined into it vectorise at that width.
/// Pass the closure marked `#[inline(always)]`: a closure left out of line is compiled for the
/// baseline. Rust never fuses a multiply and an add on its own, so results are the same on
/// every CPU.
#[inline(always)]
pub(crate) fn vectorised<R>(op: impl FnOnce() -> R) -> R {
    pulp::Arch::new().dispatch(op)
}
