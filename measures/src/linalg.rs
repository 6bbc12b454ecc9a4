//! Linear algebra below both the metrics and training: matrix products through the gemm crate
//! on the operands' own strides (a transposed view costs nothing; ndarray's and Burn's matmul
//! copy a transposed operand first), on rayon's threads.

use ndarray::{Array2, ArrayView2, LinalgScalar};

/// `out = a·b`, or `out += a·b` when `accumulate`, through the gemm crate on the operands'
/// own strides (a transposed view costs nothing), on rayon's threads.
#[allow(unsafe_code)] // gemm takes raw pointers and strides; audited below
pub fn matmul_into<T: LinalgScalar>(
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

/// Σ x_i·y_i in four interleaved partial sums, which the compiler turns into vector
/// instructions (one running sum is a serial chain it may not reorder).
pub fn dot(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len().min(y.len());
    let (xc, yc) = (x[..n].chunks_exact(4), y[..n].chunks_exact(4));
    let tail: f64 = xc
        .remainder()
        .iter()
        .zip(yc.remainder())
        .map(|(a, b)| a * b)
        .sum();
    let mut acc = [0.0; 4];
    for (a, b) in xc.zip(yc) {
        for l in 0..4 {
            acc[l] += a[l] * b[l];
        }
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}
