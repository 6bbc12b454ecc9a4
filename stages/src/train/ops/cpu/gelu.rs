//! The exact GELU and its derivative, one pass each over the elements (Burn's are five and
//! fifteen tensor operations), split across threads when large. Each element is computed alone,
//! so results do not depend on the number of threads.

use burn::backend::ndarray::SharedArray;
use ndarray::{ArrayViewD, Zip};

use super::float::{Float, PARALLEL_ELEMENTS};

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
