//! Null calibration of a score (Gröger et al., "Aristotelian", ICML 2026): with K permutations
//! of one side's rows, the threshold τ is the ⌈(1−α)(K+1)⌉-th smallest of the observed score and
//! its K null scores, and the calibrated score is how far the observed score rises above τ
//! towards the measure's maximum, clamp((s − τ)/(s_max − τ), 0, 1). A score no higher than
//! chance alignment would give at level α calibrates to 0, whatever the measure's raw scale.
//!
//! [`calibrate`] is their Algorithm 1 for one score; [`calibrate_max`] their Algorithm 2 for the
//! best of several scores (every layer pair of two models, say) under the same permutations:
//! the null is that of the maximum, so choosing the best pair after looking is paid for. Both
//! are checked against their package, `calibrated-similarity`, on the same permutations
//! (measures/tests/calibration.rs).

use serde::{Deserialize, Serialize};

use crate::resample::{max_null, permutation_p};

/// A score against its permutation null.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// τ, the null's (1−α) critical value (with the observed score among the values).
    pub tau: f64,
    /// clamp((s − τ)/(s_max − τ), 0, 1): 0 at or below chance at level α, 1 at the maximum.
    pub calibrated: f64,
    /// (1 + #{null ≥ s}) / (K + 1).
    pub p_value: f64,
}

impl Calibration {
    /// What a score with no permutations has: nothing to calibrate against.
    pub const UNKNOWN: Calibration = Calibration {
        tau: f64::NAN,
        calibrated: f64::NAN,
        p_value: f64::NAN,
    };
}

/// Algorithm 1: `tested` against the K values of `null` at level `alpha`, for a measure whose
/// maximum is `s_max` (None for a measure with no upper bound: the calibrated score is then
/// max(s − τ, 0)). Every value NaN when there is no null.
pub fn calibrate(tested: f64, null: &[f64], alpha: f64, s_max: Option<f64>) -> Calibration {
    if null.is_empty() {
        return Calibration::UNKNOWN;
    }
    let tau = threshold(tested, null, alpha);
    let calibrated = match s_max {
        Some(s_max) => calibrated(tested, tau, s_max),
        None => (tested - tau).max(0.0),
    };
    Calibration {
        tau,
        calibrated,
        p_value: permutation_p(tested, null),
    }
}

/// Algorithm 2 with the maximum as the aggregate: the largest of `tested` (one score per pair,
/// say every layer pair of two encoders) against the null of the largest, `nulls[pair]
/// [permutation]` (every pair under the same permutations, so each permutation's maximum is one
/// draw of the maximum's null). Choosing the best pair after looking is then paid for: its p is
/// never below the chosen pair's own.
pub fn calibrate_max(
    tested: &[f64],
    nulls: &[&[f64]],
    alpha: f64,
    s_max: Option<f64>,
) -> Calibration {
    if nulls.is_empty() || nulls.iter().any(|n| n.is_empty()) {
        return Calibration::UNKNOWN;
    }
    let best = tested.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    calibrate(best, &max_null(nulls), alpha, s_max)
}

/// τ: the ⌈(1−α)(K+1)⌉-th smallest of `observed` and the K values of `null` (NaNs ignored;
/// NaN when `observed` is NaN). With no permutations it is the observed score itself.
pub fn threshold(observed: f64, null: &[f64], alpha: f64) -> f64 {
    if observed.is_nan() {
        return f64::NAN;
    }
    let mut all: Vec<f64> = null.iter().copied().filter(|v| !v.is_nan()).collect();
    all.push(observed);
    all.sort_by(f64::total_cmp);
    let rank = ((1.0 - alpha) * all.len() as f64).ceil() as usize;
    all[rank.clamp(1, all.len()) - 1]
}

/// clamp((s − τ)/(s_max − τ), 0, 1); 0 when τ already reaches `s_max` (nothing above chance is
/// left to measure), NaN when either is NaN.
pub fn calibrated(score: f64, tau: f64, s_max: f64) -> f64 {
    if score.is_nan() || tau.is_nan() {
        return f64::NAN;
    }
    if tau >= s_max {
        return 0.0;
    }
    ((score - tau) / (s_max - tau)).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tau_is_the_rank_the_definition_names() {
        // K = 19, α = 0.05: ⌈0.95 · 20⌉ = 19th smallest of the 20 values 0..=19 → 18.
        let null: Vec<f64> = (0..19).map(f64::from).collect();
        assert_eq!(threshold(19.0, &null, 0.05), 18.0);
        // The observed score takes part: below every null value it is the smallest.
        assert_eq!(threshold(-1.0, &null, 0.05), 17.0);
        // α = 0.5 over 4 values: ⌈0.5 · 4⌉ = 2nd smallest.
        assert_eq!(threshold(0.9, &[0.1, 0.3, 0.2], 0.5), 0.2);
        assert_eq!(threshold(0.4, &[], 0.05), 0.4);
        assert!(threshold(f64::NAN, &null, 0.05).is_nan());
    }

    #[test]
    fn calibrated_scores_rise_from_tau_to_the_maximum() {
        assert_eq!(calibrated(0.625, 0.25, 1.0), 0.5);
        assert_eq!(calibrated(0.1, 0.2, 1.0), 0.0);
        assert_eq!(calibrated(1.0, 0.2, 1.0), 1.0);
        assert_eq!(calibrated(10.0, 4.0, 10.0), 1.0);
        assert_eq!(calibrated(0.9, 1.0, 1.0), 0.0);
        assert!(calibrated(f64::NAN, 0.2, 1.0).is_nan());
    }

    #[test]
    fn calibrate_gives_tau_the_score_above_it_and_p() {
        let null = [0.1, 0.3, 0.2];
        let c = calibrate(0.6, &null, 0.5, Some(1.0));
        assert_eq!((c.tau, c.p_value), (0.2, 0.25));
        assert!((c.calibrated - 0.5).abs() < 1e-15);
        // No upper bound: the excess over τ.
        assert!((calibrate(0.6, &null, 0.5, None).calibrated - 0.4).abs() < 1e-15);
        assert!(calibrate(0.6, &[], 0.5, Some(1.0)).tau.is_nan());
        // The maximum's null: per permutation, the larger of the two pairs' values.
        let c = calibrate_max(&[0.6, 0.4], &[&[0.1, 0.5], &[0.3, 0.2]], 0.5, Some(1.0));
        assert_eq!((c.tau, c.p_value), (0.5, 1.0 / 3.0));
    }

    #[test]
    fn a_null_value_an_ulp_below_the_score_is_a_tie() {
        // 0.1 + 0.2 is 0.30000000000000004: the same score summed in another order.
        assert_eq!(permutation_p(0.1 + 0.2, &[0.3]), 1.0);
        assert_eq!(permutation_p(0.3, &[0.299]), 0.5);
    }
}
