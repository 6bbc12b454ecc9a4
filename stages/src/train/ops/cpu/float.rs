//! The element types of the CPU kernels (f32 and f64), and the sums they share.

use ndarray::LinalgScalar;

use crate::train::ops::fast_math;

/// The float types of the kernels.
pub trait Float: LinalgScalar + PartialOrd + Send + Sync + 'static {
    fn of(v: f64) -> Self;
    fn to_f64(self) -> f64;
    fn sqrt(self) -> Self;
    fn exp(self) -> Self;
    /// `x·Φ(x)`.
    fn gelu(self) -> Self;
    /// `Φ(x) + x·φ(x)`.
    fn gelu_derivative(self) -> Self;
}

impl Float for f32 {
    #[inline(always)]
    fn of(v: f64) -> f32 {
        v as f32
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self.into()
    }
    #[inline(always)]
    fn sqrt(self) -> f32 {
        f32::sqrt(self)
    }
    #[inline(always)]
    fn exp(self) -> f32 {
        fast_math::exp(self)
    }
    // The branch-free erf and exp of [`fast_math`], so the GELU loops vectorise.
    #[inline(always)]
    fn gelu(self) -> f32 {
        0.5 * self * (1.0 + fast_math::erf(self * std::f32::consts::FRAC_1_SQRT_2))
    }
    #[inline(always)]
    fn gelu_derivative(self) -> f32 {
        // 1/√(2π)
        const INV_SQRT_2PI: f32 = 0.398_942_3;
        let cdf = 0.5 * (1.0 + fast_math::erf(self * std::f32::consts::FRAC_1_SQRT_2));
        cdf + self * INV_SQRT_2PI * fast_math::exp(-0.5 * self * self)
    }
}

impl Float for f64 {
    #[inline(always)]
    fn of(v: f64) -> f64 {
        v
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        self
    }
    #[inline(always)]
    fn sqrt(self) -> f64 {
        f64::sqrt(self)
    }
    #[inline(always)]
    fn exp(self) -> f64 {
        libm::exp(self)
    }
    fn gelu(self) -> f64 {
        0.5 * self * (1.0 + libm::erf(self * std::f64::consts::FRAC_1_SQRT_2))
    }
    fn gelu_derivative(self) -> f64 {
        const INV_SQRT_2PI: f64 = 0.398_942_280_401_432_7;
        let cdf = 0.5 * (1.0 + libm::erf(self * std::f64::consts::FRAC_1_SQRT_2));
        cdf + self * INV_SQRT_2PI * libm::exp(-0.5 * self * self)
    }
}

/// Σ f(a_i, b_i) in eight interleaved partial sums, combined in a fixed order. A single running
/// sum is one dependent addition per element (four cycles each); eight independent ones
/// vectorise. The order depends only on the length, never on threads.
#[inline(always)]
pub fn lane_sum<T: Float>(a: &[T], b: &[T], f: impl Fn(T, T) -> T) -> T {
    const LANES: usize = 8;
    let mut acc = [T::zero(); LANES];
    let (a_chunks, b_chunks) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let (a_tail, b_tail) = (a_chunks.remainder(), b_chunks.remainder());
    for (x, y) in a_chunks.zip(b_chunks) {
        for k in 0..LANES {
            acc[k] = acc[k] + f(x[k], y[k]);
        }
    }
    let tail = a_tail
        .iter()
        .zip(b_tail)
        .fold(T::zero(), |s, (&x, &y)| s + f(x, y));
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// Below this many elements, an elementwise kernel runs on the calling thread: splitting costs
/// more.
pub const PARALLEL_ELEMENTS: usize = 1 << 15;
