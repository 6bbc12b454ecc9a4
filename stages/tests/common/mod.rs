//! Helpers shared by the training tests.

use burn::tensor::Tensor;
use burn::tensor::backend::Backend;

/// `got` equals `want` element by element, to `tolerance` relative (absolute below 1).
pub fn assert_close(what: &str, got: &[f64], want: &[f64], tolerance: f64) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tolerance * w.abs().max(1.0),
            "{what}[{i}]: {g} vs {w}"
        );
    }
}

/// A tensor's values, widened to f64.
pub fn widened<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f64> {
    t.into_data().iter::<f64>().collect()
}
