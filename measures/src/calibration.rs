//! Null calibration of a score (Gröger et al., "Aristotelian", ICML 2026): with K permutations
//! of one side's rows, the threshold τ is the ⌈(1−α)(K+1)⌉-th smallest of the observed score and
//! its K null scores, and the calibrated score is how far the observed score rises above τ
//! towards the measure's maximum, clamp((s − τ)/(s_max − τ), 0, 1). A score no higher than
//! chance alignment would give at level α calibrates to 0, whatever the measure's raw scale.
//! (The add-one p-value beside it is [`crate::resample::permutation_p`].)

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
}
