//! Nearest-neighbour metrics: each is the mean over rows of a per-row score comparing row i's
//! neighbours in A (`knn_a[i]`) with its neighbours in B, so that a bootstrap can resample the
//! per-row scores instead of the rows.
//!
//! - mutual_knn: |N_A(i) ∩ N_B(i)| / k;
//! - cycle_knn: 1 when i is among the A-neighbours of one of its B-neighbours (`knn_A[knn_B]`);
//! - lcs_knn: length of the longest common subsequence of the two ordered neighbour lists
//!   (unnormalised, 0..k, as the reference returns it);
//! - edit_distance_knn: 1 − Levenshtein(N_A(i), N_B(i)) / k;
//! - jaccard_knn (ReSi): |N_A(i) ∩ N_B(i)| / |N_A(i) ∪ N_B(i)|, c / (2k − c) for c shared;
//! - rank_knn (ReSi's rank similarity): over the c shared neighbours j, with ranks r_A(j) and
//!   r_B(j) (1 = nearest), Σ 2 / ((1 + |r_A − r_B|)(r_A + r_B)), divided by the harmonic number
//!   H_c = Σ_{t ≤ c} 1/t; 0 with nothing shared. Identical lists give 1 (each term is 1/r).
//!
//! All are similarities in [0, 1] (lcs_knn in [0, k]): higher is more aligned. Like every
//! measure on neighbour lists of L2-normalised rows, they are invariant to orthogonal transforms,
//! feature permutations and isotropic scaling of either side, not to translation.

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
            Metric::MutualKnn => shared(a, b) as f64 / k,
            Metric::CycleKnn => {
                let back = b.iter().any(|&j| knn_a[j].contains(&i));
                f64::from(u8::from(back))
            }
            Metric::LcsKnn => lcs(a, b) as f64,
            Metric::EditDistanceKnn => 1.0 - levenshtein(a, b) as f64 / k,
            Metric::JaccardKnn => {
                let both = shared(a, b);
                let union = a.len() + b.len() - both;
                if union == 0 {
                    0.0
                } else {
                    both as f64 / union as f64
                }
            }
            Metric::RankKnn => rank_similarity(a, b),
            other => panic!("{} is not a kNN metric", other.name()),
        })
        .collect()
}

/// How many neighbours two lists share.
fn shared(a: &[usize], b: &[usize]) -> usize {
    a.iter().filter(|j| b.contains(j)).count()
}

/// ReSi's rank similarity of two ordered neighbour lists (module docs).
pub fn rank_similarity(a: &[usize], b: &[usize]) -> f64 {
    let mut sum = 0.0;
    let mut shared = 0usize;
    for (ra, j) in a.iter().enumerate() {
        if let Some(rb) = b.iter().position(|x| x == j) {
            let (ra, rb) = (ra as f64 + 1.0, rb as f64 + 1.0);
            sum += 2.0 / ((1.0 + (ra - rb).abs()) * (ra + rb));
            shared += 1;
        }
    }
    let harmonic: f64 = (1..=shared).map(|t| 1.0 / t as f64).sum();
    if shared == 0 { 0.0 } else { sum / harmonic }
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

/// ReSi's second-order cosine similarity (Hamilton et al., 2016): for each row i, the cosine
/// distances 1 − k(i, j) in A and 1 − l(i, j) in B to every j of N_A(i) ∪ N_B(i), compared by
/// their cosine similarity; the mean over rows. `k` and `l` give the prepared rows' inner
/// products (cosines: the rows are unit vectors). A similarity in [−1, 1], 1 for identical
/// inputs, with the invariances of the lists it reads. Not a per-row metric for the
/// resampling: a permutation changes the entries it reads, not only the lists, so it is
/// resampled as CKNNA is. O(n·k) entries and time.
pub fn second_order_cosine_of_entries(
    n: usize,
    k: impl Fn(usize, usize) -> f64,
    l: impl Fn(usize, usize) -> f64,
    knn_a: &[Vec<usize>],
    knn_b: &[Vec<usize>],
) -> f64 {
    let total: f64 = (0..n)
        .map(|i| {
            let mut union = knn_a[i].clone();
            union.extend(knn_b[i].iter().filter(|j| !knn_a[i].contains(j)));
            let (mut xy, mut xx, mut yy) = (0.0, 0.0, 0.0);
            for &j in &union {
                let (x, y) = (1.0 - k(i, j), 1.0 - l(i, j));
                xy += x * y;
                xx += x * x;
                yy += y * y;
            }
            xy / (xx * yy).sqrt()
        })
        .sum();
    total / n as f64
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

    #[test]
    fn jaccard_and_rank_similarity_by_hand() {
        let (a, b) = (vec![vec![1, 2, 3, 4]], vec![vec![2, 1, 5, 6]]);
        // Two shared of six distinct.
        assert_eq!(row_scores(Metric::JaccardKnn, &a, &b, 4), [2.0 / 6.0]);
        // 1: ranks 1 and 2 → 2/(2·3); 2: ranks 2 and 1 → 2/(2·3); H_2 = 1.5.
        let want = (1.0 / 3.0 + 1.0 / 3.0) / 1.5;
        assert!((rank_similarity(&a[0], &b[0]) - want).abs() < 1e-15);
        assert_eq!(rank_similarity(&[1, 2, 3], &[1, 2, 3]), 1.0);
        assert_eq!(rank_similarity(&[1, 2], &[3, 4]), 0.0);
    }
}
