//! `Σ x²` for the global-norm clipping: one pass without allocating (Burn's `powf_scalar(2.0)`
//! copies the tensor, then allocates the product).

use ndarray::ArrayViewD;

use super::float::{Float, PARALLEL_ELEMENTS};

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
