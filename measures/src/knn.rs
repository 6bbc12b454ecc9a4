//! Nearest-neighbour metrics: each is the mean over rows of a per-row score comparing row i's
//! neighbours in A (`knn_a[i]`) with its neighbours in B, so that a bootstrap can resample the
//! per-row scores instead of the rows.
//!
//! - mutual_knn: |N_A(i) ∩ N_B(i)| / k;
//! - cycle_knn: 1 when i is among the A-neighbours of one of its B-neighbours (`knn_A[knn_B]`);
//! - lcs_knn: length of the longest common subsequence of the two ordered neighbour lists
//!   (unnormalised, 0..k, as the reference returns it);
//! - edit_distance_knn: 1 − Levenshtein(N_A(i), N_B(i)) / k.

use crate::Metric;

/// One score per row for a kNN `metric` (panics on a non-kNN metric: a programming error).
pub fn row_scores(
    metric: Metric,
    knn_a: &[Vec<usize>],
    knn_b: &[Vec<usize>],
    k: usize,
) -> Vec<f64> {
    let k = k.max(1) as f64;
    knn_a
        .iter()
        .zip(knn_b)
        .enumerate()
        .map(|(i, (a, b))| match metric {
            Metric::MutualKnn => a.iter().filter(|j| b.contains(j)).count() as f64 / k,
            Metric::CycleKnn => {
                let back = b.iter().any(|&j| knn_a[j].contains(&i));
                f64::from(u8::from(back))
            }
            Metric::LcsKnn => lcs(a, b) as f64,
            Metric::EditDistanceKnn => 1.0 - levenshtein(a, b) as f64 / k,
            other => panic!("{} is not a kNN metric", other.name()),
        })
        .collect()
}

/// Longest common subsequence length (dynamic programming).
pub fn lcs(x: &[usize], y: &[usize]) -> usize {
    let mut prev = vec![0usize; y.len() + 1];
    let mut cur = vec![0usize; y.len() + 1];
    for &a in x {
        for (j, &b) in y.iter().enumerate() {
            cur[j + 1] = if a == b {
                prev[j] + 1
            } else {
                cur[j].max(prev[j + 1])
            };
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[y.len()]
}

/// Levenshtein distance: insertions, deletions and substitutions cost 1
/// (`torchaudio.functional.edit_distance`).
pub fn levenshtein(x: &[usize], y: &[usize]) -> usize {
    let mut prev: Vec<usize> = (0..=y.len()).collect();
    let mut cur = vec![0usize; y.len() + 1];
    for (i, &a) in x.iter().enumerate() {
        cur[0] = i + 1;
        for (j, &b) in y.iter().enumerate() {
            let sub = prev[j] + usize::from(a != b);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[y.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lcs_and_levenshtein_by_hand() {
        assert_eq!(lcs(&[1, 2, 3, 4], &[2, 4, 3]), 2);
        assert_eq!(lcs(&[1, 2, 3], &[1, 2, 3]), 3);
        assert_eq!(levenshtein(&[1, 2, 3], &[1, 3]), 1);
        assert_eq!(levenshtein(&[1, 2, 3], &[4, 5, 6]), 3);
        assert_eq!(levenshtein(&[1, 2, 3, 4], &[2, 1, 3, 4]), 2);
    }
}
