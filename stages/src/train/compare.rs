//! Two trainings of the same config compared by their histories: what `make gpu-check` asks
//! of Burn's CUDA backend against the CPU kernels. The backends' float results differ (other
//! reduction orders, fused kernels), and twenty epochs carry the difference forward, so the runs
//! are close, not equal: the final validation loss within a relative `val_loss` of each other,
//! and each direction's final R@1 within `r1` (an absolute fraction of the validation pairs).

use crate::train::history::EpochRow;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerance {
    /// |a − b| / |a| of the final validation loss.
    pub val_loss: f64,
    /// |a − b| of each final validation R@1.
    pub r1: f64,
}

impl Default for Tolerance {
    /// 1% of the loss, and 0.02 of R@1 (3–4 of the embedded default's 175 validation pairs).
    fn default() -> Self {
        Tolerance {
            val_loss: 0.01,
            r1: 0.02,
        }
    }
}

/// The final epoch's numbers of both runs, and what is out of tolerance.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub val_loss: (f64, f64),
    pub r1_i2t: (f64, f64),
    pub r1_t2i: (f64, f64),
    /// The largest relative difference of the validation loss over all epochs.
    pub worst_epoch_val_loss: f64,
    /// Each finding out of tolerance, in words; empty when the runs agree.
    pub problems: Vec<String>,
}

impl Comparison {
    pub fn agrees(&self) -> bool {
        self.problems.is_empty()
    }
}

fn relative(a: f64, b: f64) -> f64 {
    (a - b).abs() / a.abs().max(f64::MIN_POSITIVE)
}

/// Compares run `b` with the reference run `a`.
pub fn histories(a: &[EpochRow], b: &[EpochRow], tol: Tolerance) -> Comparison {
    let mut problems = Vec::new();
    if a.len() != b.len() {
        problems.push(format!("{} epochs of history against {}", a.len(), b.len()));
    }
    let nan = EpochRow::unmeasured(0, "");
    let (la, lb) = (a.last().unwrap_or(&nan), b.last().unwrap_or(&nan));
    let worst = a
        .iter()
        .zip(b)
        .map(|(x, y)| relative(x.val_loss, y.val_loss))
        .fold(
            0.0,
            |m: f64, v| if v.is_nan() { f64::NAN } else { m.max(v) },
        );
    for (what, x, y) in [
        ("final train loss", la.train_loss, lb.train_loss),
        ("final val loss", la.val_loss, lb.val_loss),
    ] {
        if !(x.is_finite() && y.is_finite()) {
            problems.push(format!("{what} is not finite ({x} and {y})"));
        }
    }
    let d = relative(la.val_loss, lb.val_loss);
    if d > tol.val_loss {
        problems.push(format!(
            "final val loss {:.5} against {:.5}: relative difference {d:.2e} > {:.0e}",
            la.val_loss, lb.val_loss, tol.val_loss
        ));
    }
    for (what, x, y) in [
        ("image→text", la.val_r1_i2t, lb.val_r1_i2t),
        ("text→image", la.val_r1_t2i, lb.val_r1_t2i),
    ] {
        let d = (x - y).abs();
        if d.is_nan() || d > tol.r1 {
            problems.push(format!(
                "final val R@1 {what} {x:.3} against {y:.3}: difference {d:.3} > {}",
                tol.r1
            ));
        }
    }
    Comparison {
        val_loss: (la.val_loss, lb.val_loss),
        r1_i2t: (la.val_r1_i2t, lb.val_r1_i2t),
        r1_t2i: (la.val_r1_t2i, lb.val_r1_t2i),
        worst_epoch_val_loss: worst,
        problems,
    }
}
