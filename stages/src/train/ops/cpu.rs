//! [`AdapterOps`] kernels for Burn's ndarray backend (the CPU default).
//!
//! - Linear and its two gradients call the gemm crate (on rayon's threads) on the operands as
//!   they lie in memory: `Wᵀ` and `xᵀ` are strided views, not copies. The bias is written into
//!   the output first and the product added onto it. (gemm rather than matrixmultiply, which
//!   Burn's ndarray matmul uses: ~1.6× the throughput on these shapes, see README "Building".)
//! - GELU and its derivative are one pass each over the elements (Burn's are five and fifteen
//!   tensor operations), split across threads when large. Each element is computed alone, so
//!   results do not depend on the number of threads.
//!
//! f32 and f64 tensors take these paths; anything else (other dtypes, other ranks) falls back to
//! the defaults built from Burn's primitives.

use burn::backend::NdArray;
use burn::backend::ndarray::{
    FloatNdArrayElement, IntNdArrayElement, NdArrayTensor, QuantElement, SharedArray,
};
use burn::tensor::ops::{FloatTensor, ModuleOps};
use ndarray::{
    Array1, Array2, ArrayView2, ArrayViewD, Axis, Dimension, Ix1, Ix2, LinalgScalar, Zip,
};

use super::loss;
use super::{
    AdamWStep, AdapterOps, composite_adamw_step, composite_gelu, composite_gelu_backward,
    composite_layer_norm_backward, composite_sum_of_squares, cpu_loss, fast_math,
};

/// Below this many elements, GELU runs on the calling thread: splitting costs more.
const PARALLEL_ELEMENTS: usize = 1 << 15;

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

/// `out = a·b`, or `out += a·b` when `accumulate`, through the gemm crate on the operands'
/// own strides (a transposed view costs nothing), on rayon's threads.
pub(super) fn matmul_into<T: Float>(
    a: &ArrayView2<'_, T>,
    b: &ArrayView2<'_, T>,
    out: &mut Array2<T>,
    accumulate: bool,
) {
    let ((m, k), n) = (a.dim(), b.ncols());
    assert_eq!((b.nrows(), out.dim()), (k, (m, n)), "matmul shapes");
    let (sa, sb) = (a.strides(), b.strides());
    let so = out.strides().to_vec();
    // SAFETY: the pointers and strides come from live ndarray views of the checked shapes, and
    // `out` is a distinct owned array.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out.as_mut_ptr(),
            so[1],
            so[0],
            accumulate,
            a.as_ptr(),
            sa[1],
            sa[0],
            b.as_ptr(),
            sb[1],
            sb[0],
            T::one(),
            T::one(),
            false,
            false,
            false,
            gemm::Parallelism::Rayon(0),
        );
    }
}

fn matrix<T>(a: ArrayViewD<'_, T>) -> Option<ArrayView2<'_, T>> {
    a.into_dimensionality::<Ix2>().ok()
}

fn shared<T: Clone, D: Dimension>(a: ndarray::Array<T, D>) -> SharedArray<T> {
    a.into_dyn().into_shared()
}

/// A one-element tensor (a loss value, a sum).
fn scalar_tensor<T: Clone>(v: T) -> NdArrayTensor
where
    NdArrayTensor: From<SharedArray<T>>,
{
    NdArrayTensor::from(shared(Array1::from_elem(1, v)))
}

/// A loss term of [`cpu_loss`] with its parameters: one dtype dispatch for both terms, with
/// and without gradients.
#[derive(Clone, Copy)]
enum LossTerm {
    Contrastive { temperature: f64, alpha: f64 },
    VarianceMatching,
}

/// A loss tensor and, when asked for, the gradient tensors of `a` and `b`.
type LossTensors = (NdArrayTensor, Option<[NdArrayTensor; 2]>);

impl LossTerm {
    /// The kernel on `[a, b]` (contrastive) or `[a, b, reference]`; None where the operands do
    /// not fit it.
    fn run<T: Float>(
        self,
        m: &[ArrayView2<'_, T>],
        with_grads: bool,
    ) -> Option<cpu_loss::LossAndGrads<T>> {
        match (self, m) {
            (LossTerm::Contrastive { temperature, alpha }, [a, b]) => {
                cpu_loss::contrastive(a.view(), b.view(), temperature, alpha, with_grads)
            }
            (LossTerm::VarianceMatching, [a, b, r]) => {
                cpu_loss::variance_matching(a.view(), b.view(), r.view(), with_grads)
            }
            _ => None,
        }
    }

    /// The kernel on f32 or f64 matrices (all of one dtype); None otherwise, for the caller's
    /// fallback.
    fn on_ndarray(self, inputs: &[&NdArrayTensor], with_grads: bool) -> Option<LossTensors> {
        fn tensors<T: Clone>(loss: T, grads: Option<[Array2<T>; 2]>) -> LossTensors
        where
            NdArrayTensor: From<SharedArray<T>>,
        {
            let grads = grads.map(|g| g.map(|g| NdArrayTensor::from(shared(g))));
            (scalar_tensor(loss), grads)
        }
        let f32s: Option<Vec<_>> = inputs
            .iter()
            .map(|t| match t {
                NdArrayTensor::F32(x) => matrix(x.view()),
                _ => None,
            })
            .collect();
        if let Some(m) = f32s {
            let (loss, grads) = self.run(&m, with_grads)?;
            return Some(tensors(loss as f32, grads));
        }
        let f64s: Option<Vec<_>> = inputs
            .iter()
            .map(|t| match t {
                NdArrayTensor::F64(x) => matrix(x.view()),
                _ => None,
            })
            .collect();
        let (loss, grads) = self.run(&f64s?, with_grads)?;
        Some(tensors(loss, grads))
    }
}

/// `x · w + b`; None where the shapes are not those of a linear layer.
pub fn linear<T: Float>(
    x: ArrayViewD<'_, T>,
    w: ArrayViewD<'_, T>,
    b: ArrayViewD<'_, T>,
) -> Option<SharedArray<T>> {
    let (x, w) = (matrix(x)?, matrix(w)?);
    let b = b.into_dimensionality::<Ix1>().ok()?;
    if x.ncols() != w.nrows() || b.len() != w.ncols() {
        return None;
    }
    let mut out = Array2::<T>::zeros((x.nrows(), w.ncols()));
    out.assign(&b);
    matmul_into(&x, &w, &mut out, true);
    Some(shared(out))
}

/// `a · b` into a new array; None where the inner dimensions differ.
fn product<T: Float>(a: ArrayView2<'_, T>, b: ArrayView2<'_, T>) -> Option<SharedArray<T>> {
    if a.ncols() != b.nrows() {
        return None;
    }
    let mut out = Array2::<T>::zeros((a.nrows(), b.ncols()));
    matmul_into(&a, &b, &mut out, false);
    Some(shared(out))
}

/// `g · wᵀ`.
pub fn linear_x_backward<T: Float>(
    w: ArrayViewD<'_, T>,
    g: ArrayViewD<'_, T>,
) -> Option<SharedArray<T>> {
    product(matrix(g)?, matrix(w)?.reversed_axes())
}

/// `xᵀ · g`.
pub fn linear_weight_backward<T: Float>(
    x: ArrayViewD<'_, T>,
    g: ArrayViewD<'_, T>,
) -> Option<SharedArray<T>> {
    product(matrix(x)?.reversed_axes(), matrix(g)?)
}

/// Column sums of `g`.
pub fn linear_bias_backward<T: Float>(g: ArrayViewD<'_, T>) -> Option<SharedArray<T>> {
    let g = matrix(g)?;
    let sums: Array1<T> = g.sum_axis(Axis(0));
    Some(shared(sums))
}

pub fn gelu<T: Float>(x: ArrayViewD<'_, T>) -> SharedArray<T> {
    let zip = Zip::from(&x);
    let out = if x.len() >= PARALLEL_ELEMENTS {
        zip.par_map_collect(|&v| v.gelu())
    } else {
        zip.map_collect(|&v| v.gelu())
    };
    out.into_shared()
}

pub fn gelu_backward<T: Float>(
    x: ArrayViewD<'_, T>,
    g: ArrayViewD<'_, T>,
) -> Option<SharedArray<T>> {
    if x.shape() != g.shape() {
        return None;
    }
    let zip = Zip::from(&x).and(&g);
    let out = if x.len() >= PARALLEL_ELEMENTS {
        zip.par_map_collect(|&v, &d| d * v.gelu_derivative())
    } else {
        zip.map_collect(|&v, &d| d * v.gelu_derivative())
    };
    Some(out.into_shared())
}

/// Σ f(a_i, b_i) in eight interleaved partial sums, combined in a fixed order. A single running
/// sum is one dependent addition per element (four cycles each); eight independent ones
/// vectorise. The order depends only on the length, never on threads.
#[inline(always)]
pub(super) fn lane_sum<T: Float>(a: &[T], b: &[T], f: impl Fn(T, T) -> T) -> T {
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

/// One row's mean and `1/√(σ² + ε)` (two passes: the variance of the centred values).
#[inline]
fn row_moments<T: Float>(row: &[T], epsilon: T) -> (T, T) {
    let n = T::of(row.len() as f64);
    let mean = lane_sum(row, row, |v, _| v) / n;
    let var = lane_sum(row, row, |v, _| (v - mean) * (v - mean)) / n;
    (mean, T::one() / (var + epsilon).sqrt())
}

/// LayerNorm of each row of `x` (`[rows, d]`), rows in parallel.
pub fn layer_norm<T: Float>(
    x: ArrayViewD<'_, T>,
    gamma: ArrayViewD<'_, T>,
    beta: ArrayViewD<'_, T>,
    epsilon: f64,
) -> Option<SharedArray<T>> {
    use rayon::prelude::*;
    let x = matrix(x)?.as_standard_layout().into_owned();
    let (gamma, beta) = (
        gamma.into_dimensionality::<Ix1>().ok()?,
        beta.into_dimensionality::<Ix1>().ok()?,
    );
    let d = x.ncols();
    if gamma.len() != d || beta.len() != d || d == 0 {
        return None;
    }
    let (gamma, beta) = (gamma.to_vec(), beta.to_vec());
    let eps = T::of(epsilon);
    let mut out = x;
    out.as_slice_mut()?.par_chunks_mut(d).for_each(|row| {
        let (mean, r) = row_moments(row, eps);
        for ((v, &g), &b) in row.iter_mut().zip(&gamma).zip(&beta) {
            *v = (*v - mean) * r * g + b;
        }
    });
    Some(shared(out))
}

/// `[dx, dγ, dβ]` of [`layer_norm`] (the formulas of
/// [`super::composite_layer_norm_backward`]); rows in parallel for dx, then the column sums
/// for dγ and dβ in row order, so results do not depend on the number of threads.
pub fn layer_norm_backward<T: Float>(
    x: ArrayViewD<'_, T>,
    gamma: ArrayViewD<'_, T>,
    grad: ArrayViewD<'_, T>,
    epsilon: f64,
) -> Option<[SharedArray<T>; 3]> {
    use rayon::prelude::*;
    let x = matrix(x)?.as_standard_layout().into_owned();
    let g = matrix(grad)?.as_standard_layout().into_owned();
    let gamma = gamma.into_dimensionality::<Ix1>().ok()?.to_vec();
    let (rows, d) = x.dim();
    if g.dim() != (rows, d) || gamma.len() != d || d == 0 {
        return None;
    }
    let eps = T::of(epsilon);
    let n = T::of(d as f64);
    // x̂ (kept for dγ) and dx, row by row.
    let mut x_hat = x;
    let mut dx = Array2::<T>::zeros((rows, d));
    x_hat
        .as_slice_mut()?
        .par_chunks_mut(d)
        .zip(dx.as_slice_mut()?.par_chunks_mut(d))
        .zip(g.as_slice()?.par_chunks(d))
        .for_each(|((xh, dx), g)| {
            let (mean, r) = row_moments(xh, eps);
            for v in xh.iter_mut() {
                *v = (*v - mean) * r;
            }
            // dx̂ = g·γ, kept in dx until the means are known.
            for ((o, &gv), &gm) in dx.iter_mut().zip(g).zip(&gamma) {
                *o = gv * gm;
            }
            let mean_1 = lane_sum(dx, dx, |v, _| v) / n;
            let mean_2 = lane_sum(dx, xh, |v, h| v * h) / n;
            for (o, &v) in dx.iter_mut().zip(xh.iter()) {
                *o = r * (*o - mean_1 - v * mean_2);
            }
        });
    // Column sums in row order.
    let mut d_beta = Array1::<T>::zeros(d);
    let mut d_gamma = Array1::<T>::zeros(d);
    for (g, xh) in g.rows().into_iter().zip(x_hat.rows()) {
        Zip::from(&mut d_beta)
            .and(&mut d_gamma)
            .and(&g)
            .and(&xh)
            .for_each(|b, c, &gv, &h| {
                *b = *b + gv;
                *c = *c + gv * h;
            });
    }
    Some([shared(dx), shared(d_gamma), shared(d_beta)])
}

/// `Σ x²` accumulated in f64: fixed chunks summed in parallel, then the chunk sums in order, so
/// the result does not depend on the number of threads.
pub fn sum_of_squares<T: Float + Into<f64>>(x: ArrayViewD<'_, T>) -> f64 {
    use rayon::prelude::*;
    let square = |v: &T| {
        let v: f64 = (*v).into();
        v * v
    };
    match x.as_slice_memory_order() {
        Some(values) => values
            .par_chunks(PARALLEL_ELEMENTS)
            .map(|c| c.iter().map(square).sum::<f64>())
            .collect::<Vec<f64>>()
            .into_iter()
            .sum(),
        None => x.iter().map(square).sum(),
    }
}

/// [`AdamWStep`] in the element type.
struct AdamWConstants<T> {
    beta_1: T,
    beta_2: T,
    one_minus_beta_1: T,
    one_minus_beta_2: T,
    bias_correction_1: T,
    bias_correction_2: T,
    epsilon: T,
    lr: T,
    decay: T,
}

impl<T: Float> AdamWConstants<T> {
    fn new(s: &AdamWStep) -> Self {
        AdamWConstants {
            beta_1: T::of(s.beta_1),
            beta_2: T::of(s.beta_2),
            one_minus_beta_1: T::of(1.0 - s.beta_1),
            one_minus_beta_2: T::of(1.0 - s.beta_2),
            bias_correction_1: T::of(s.bias_correction_1()),
            bias_correction_2: T::of(s.bias_correction_2()),
            epsilon: T::of(s.epsilon),
            lr: T::of(s.lr),
            decay: T::of(1.0 - s.lr * s.weight_decay),
        }
    }

    #[inline(always)]
    fn apply(&self, p: &mut T, m: &mut T, v: &mut T, g: T) {
        *m = self.beta_1 * *m + self.one_minus_beta_1 * g;
        *v = self.beta_2 * *v + self.one_minus_beta_2 * (g * g);
        let m_hat = *m / self.bias_correction_1;
        let v_hat = *v / self.bias_correction_2;
        *p = *p * self.decay - self.lr * (m_hat / (v_hat.sqrt() + self.epsilon));
    }
}

/// One AdamW step in one pass, in place where the arrays are not shared. The four shapes must
/// be equal (ndarray's Zip panics otherwise; the caller checks and falls back). (Measured: about
/// 1.7 ns per element on 2 cores, the memory traffic of reading four arrays and writing
/// three; Burn's AdamW made a dozen passes.)
pub fn adamw_step<T: Float>(
    p: SharedArray<T>,
    g: ArrayViewD<'_, T>,
    m: SharedArray<T>,
    v: SharedArray<T>,
    s: &AdamWStep,
) -> [SharedArray<T>; 3] {
    let c = AdamWConstants::new(s);
    let (mut p, mut m, mut v) = (p, m, v);
    let zip = Zip::from(p.view_mut())
        .and(m.view_mut())
        .and(v.view_mut())
        .and(&g);
    let update = |p: &mut T, m: &mut T, v: &mut T, &g: &T| c.apply(p, m, v, g);
    if g.len() >= PARALLEL_ELEMENTS {
        zip.par_for_each(update);
    } else {
        zip.for_each(update);
    }
    [p, m, v]
}

impl<E: FloatNdArrayElement, I: IntNdArrayElement, Q: QuantElement> AdapterOps for NdArray<E, I, Q>
where
    NdArrayTensor: From<SharedArray<E>> + From<SharedArray<I>>,
{
    fn adapter_linear(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: Option<FloatTensor<Self>>,
    ) -> FloatTensor<Self> {
        use NdArrayTensor::{F32, F64};
        let out = match (&x, &weight, &bias) {
            (F32(x), F32(w), Some(F32(b))) => linear(x.view(), w.view(), b.view()).map(Into::into),
            (F64(x), F64(w), Some(F64(b))) => linear(x.view(), w.view(), b.view()).map(Into::into),
            _ => None,
        };
        out.unwrap_or_else(|| Self::linear(x, weight, bias))
    }

    fn adapter_linear_x_backward(
        weight: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        use NdArrayTensor::{F32, F64};
        let out = match (&weight, &grad) {
            (F32(w), F32(g)) => linear_x_backward(w.view(), g.view()).map(Into::into),
            (F64(w), F64(g)) => linear_x_backward(w.view(), g.view()).map(Into::into),
            _ => None,
        };
        out.unwrap_or_else(|| Self::linear_x_backward(weight, grad))
    }

    fn adapter_linear_weight_backward(
        x: FloatTensor<Self>,
        grad: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        use NdArrayTensor::{F32, F64};
        let out = match (&x, &grad) {
            (F32(x), F32(g)) => linear_weight_backward(x.view(), g.view()).map(Into::into),
            (F64(x), F64(g)) => linear_weight_backward(x.view(), g.view()).map(Into::into),
            _ => None,
        };
        out.unwrap_or_else(|| Self::linear_weight_backward(x, grad))
    }

    fn adapter_linear_bias_backward(grad: FloatTensor<Self>) -> FloatTensor<Self> {
        use NdArrayTensor::{F32, F64};
        let out = match &grad {
            F32(g) => linear_bias_backward(g.view()).map(Into::into),
            F64(g) => linear_bias_backward(g.view()).map(Into::into),
            _ => None,
        };
        out.unwrap_or_else(|| Self::linear_bias_backward(grad))
    }

    fn gelu_exact(x: FloatTensor<Self>) -> FloatTensor<Self> {
        match &x {
            NdArrayTensor::F32(v) => gelu(v.view()).into(),
            NdArrayTensor::F64(v) => gelu(v.view()).into(),
            _ => composite_gelu::<Self>(x),
        }
    }

    fn gelu_exact_backward(x: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        use NdArrayTensor::{F32, F64};
        let out = match (&x, &grad) {
            (F32(x), F32(g)) => gelu_backward(x.view(), g.view()).map(Into::into),
            (F64(x), F64(g)) => gelu_backward(x.view(), g.view()).map(Into::into),
            _ => None,
        };
        out.unwrap_or_else(|| composite_gelu_backward::<Self>(x, grad))
    }

    fn adapter_layer_norm(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> FloatTensor<Self> {
        use NdArrayTensor::{F32, F64};
        let out = match (&x, &gamma, &beta) {
            (F32(x), F32(g), F32(b)) => {
                layer_norm(x.view(), g.view(), b.view(), epsilon).map(Into::into)
            }
            (F64(x), F64(g), F64(b)) => {
                layer_norm(x.view(), g.view(), b.view(), epsilon).map(Into::into)
            }
            _ => None,
        };
        out.unwrap_or_else(|| Self::layer_norm(x, gamma, Some(beta), epsilon))
    }

    fn adapter_layer_norm_backward(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        epsilon: f64,
    ) -> [FloatTensor<Self>; 3] {
        use NdArrayTensor::{F32, F64};
        let out = match (&x, &gamma, &grad) {
            (F32(x), F32(m), F32(g)) => layer_norm_backward(x.view(), m.view(), g.view(), epsilon)
                .map(|a| a.map(Into::into)),
            (F64(x), F64(m), F64(g)) => layer_norm_backward(x.view(), m.view(), g.view(), epsilon)
                .map(|a| a.map(Into::into)),
            _ => None,
        };
        out.unwrap_or_else(|| composite_layer_norm_backward::<Self>(x, gamma, grad, epsilon))
    }

    fn sum_of_squares(x: FloatTensor<Self>) -> FloatTensor<Self> {
        let total = match &x {
            NdArrayTensor::F32(v) => sum_of_squares(v.view()),
            NdArrayTensor::F64(v) => sum_of_squares(v.view()),
            _ => return composite_sum_of_squares::<Self>(x),
        };
        match &x {
            NdArrayTensor::F32(_) => scalar_tensor(total as f32),
            _ => scalar_tensor(total),
        }
    }

    fn contrastive_loss(
        a: FloatTensor<Self>,
        b: FloatTensor<Self>,
        temperature: f64,
        alpha: f64,
    ) -> FloatTensor<Self> {
        let term = LossTerm::Contrastive { temperature, alpha };
        match term.on_ndarray(&[&a, &b], false) {
            Some((loss, _)) => loss,
            None => loss::composite_contrastive::<Self>(a, b, temperature, alpha),
        }
    }

    fn contrastive_loss_and_grads(
        a: FloatTensor<Self>,
        b: FloatTensor<Self>,
        temperature: f64,
        alpha: f64,
    ) -> [FloatTensor<Self>; 3] {
        let term = LossTerm::Contrastive { temperature, alpha };
        match term.on_ndarray(&[&a, &b], true) {
            Some((loss, Some([g_a, g_b]))) => [loss, g_a, g_b],
            _ => loss::composite_contrastive_and_grads::<Self>(a, b, temperature, alpha),
        }
    }

    fn variance_matching_loss(
        a: FloatTensor<Self>,
        b: FloatTensor<Self>,
        reference: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        match LossTerm::VarianceMatching.on_ndarray(&[&a, &b, &reference], false) {
            Some((loss, _)) => loss,
            None => loss::composite_variance_matching::<Self>(a, b, reference),
        }
    }

    fn variance_matching_loss_and_grads(
        a: FloatTensor<Self>,
        b: FloatTensor<Self>,
        reference: FloatTensor<Self>,
    ) -> [FloatTensor<Self>; 3] {
        match LossTerm::VarianceMatching.on_ndarray(&[&a, &b, &reference], true) {
            Some((loss, Some([g_a, g_b]))) => [loss, g_a, g_b],
            _ => loss::composite_variance_matching_and_grads::<Self>(a, b, reference),
        }
    }

    fn adamw_step(
        param: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        moment_1: FloatTensor<Self>,
        moment_2: FloatTensor<Self>,
        step: &AdamWStep,
    ) -> [FloatTensor<Self>; 3] {
        use NdArrayTensor::{F32, F64};
        // (The storage type is private to burn-ndarray: shapes are compared through its methods.)
        let same = |a: &[usize], b: &[usize], c: &[usize], d: &[usize]| a == b && b == c && c == d;
        match (param, grad, moment_1, moment_2) {
            (F32(p), F32(g), F32(m), F32(v))
                if same(p.shape(), g.shape(), m.shape(), v.shape()) =>
            {
                adamw_step(
                    p.into_shared(),
                    g.view(),
                    m.into_shared(),
                    v.into_shared(),
                    step,
                )
                .map(Into::into)
            }
            (F64(p), F64(g), F64(m), F64(v))
                if same(p.shape(), g.shape(), m.shape(), v.shape()) =>
            {
                adamw_step(
                    p.into_shared(),
                    g.view(),
                    m.into_shared(),
                    v.into_shared(),
                    step,
                )
                .map(Into::into)
            }
            (p, g, m, v) => composite_adamw_step::<Self>(p, g, m, v, step),
        }
    }
}
