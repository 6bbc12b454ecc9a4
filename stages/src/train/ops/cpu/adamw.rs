//! One AdamW step per parameter tensor in one pass, in place where the arrays are not shared
//! (Burn's step is a dozen whole-tensor operations, each a pass over memory and an allocation).

use burn::backend::ndarray::SharedArray;
use ndarray::{ArrayViewD, Zip};

use super::float::{Float, PARALLEL_ELEMENTS};
use crate::train::ops::AdamWStep;

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
/// be equal (ndarray's Zip panics otherwise; the caller checks and falls back). The step is
/// bound by memory traffic: four arrays read, three written.
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
