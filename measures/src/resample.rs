//! Uncertainty for every score, without resampling rows with replacement where that breaks the
//! metric (a duplicated row becomes its copy's nearest neighbour; docs/science.md):
//!
//! - kNN metrics are means of per-row scores: the bootstrap resamples those scores (B times,
//!   with replacement) and the interval is the 2.5–97.5 percentile range;
//! - kernel metrics (kernel alignment, CKA family, CKNNA, SVCCA) are recomputed on random halves
//!   of the rows drawn without replacement (half-sampling, a delete-n/2 jackknife: the spread of
//!   the estimate over halves matches its sampling spread at n). The interval is the halves'
//!   spread about their median, reflected around the full-sample score:
//!   [θ − (q₀.₉₇₅ − q₀.₅), θ + (q₀.₅ − q₀.₀₂₅)]. Centring on the median keeps the halves'
//!   own small-sample bias (biased CKA rises as n falls) out of the interval.
//!   SVCCA's basis is recomputed per half, so it gets at most `costly_resamples` halves;
//!   Procrustes' cross product too, so it gets at most `costly_resamples` halves and as many
//!   permutations (its null is the first of the permutations every other metric sees).
//!
//! Every replicate uses the same rows for all pairs, so differences between pairs (the H1/H2
//! margins) get paired intervals from the same replicates.
//!
//! The permutation null shuffles the rows of one side (B of each pair) `permutations` times;
//! p = (1 + #{null ≥ observed}) / (1 + permutations).
//!
//! Cost, and the row cap. Replicates of the kNN metrics are cheap at any n: the bootstrap
//! resamples per-row scores (O(n) each) and a permutation only renumbers neighbour lists
//! (O(n·k)). The other metrics' replicates read m x m Gram matrices through index lists
//! ([`crate::views`]: O(m²) per half or permutation and pair, no copies; SVCCA's halves
//! recompute a basis, O(m·d²)), so above `max_rows` rows they run on a seeded subsample of
//! `max_rows` rows, reported as the metric's `resample_rows`: the halves' spread is then scaled
//! by √(max_rows/n) to the spread at n (these estimators' spread falls as 1/√n), and the
//! permutation test compares the null with the score on the same subsample.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::views::{self, Kernels, Plan, Whole};
use crate::{Metric, Space, knn, scores};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ResampleOptions {
    pub bootstrap: usize,
    pub permutations: usize,
    /// The replicates of the measures that refactor the rows: SVCCA's halves, Procrustes'
    /// halves and permutations.
    pub costly_resamples: usize,
    pub seed: u64,
    /// The most rows the expensive replicates (kernel metrics, CKNNA, SVCCA) use.
    pub max_rows: usize,
}

/// Scores of every metric on every pair, with their replicates and p-values.
pub struct Scores {
    pub metrics: Vec<Metric>,
    pub pairs: Vec<(usize, usize)>,
    /// [metric][pair]
    pub point: Vec<Vec<f64>>,
    /// [metric][pair][replicate]
    pub replicates: Vec<Vec<Vec<f64>>>,
    /// [metric][pair]; NaN when no permutations were asked for.
    pub p_value: Vec<Vec<f64>>,
    /// [metric][pair][permutation]: the score with the second space's rows shuffled. Every pair
    /// of a metric sees the same permutations, so a maximum over pairs has a null too
    /// ([`crate::calibration::calibrate_max`]). Kernel metrics' nulls are on their `resample_rows`.
    pub null: Vec<Vec<Vec<f64>>>,
    /// [metric][pair]: the score each null is compared with (`point`, or for a kernel metric
    /// above `max_rows` its score on the subsample its permutations use).
    pub tested: Vec<Vec<f64>>,
    /// [metric]: the rows its replicates and permutations used (n, or `max_rows`).
    pub resample_rows: Vec<usize>,
}

fn rng(seed: u64, salt: u64, r: usize) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(
        seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt.rotate_left(32) ^ r as u64,
    )
}

/// Linear-interpolation quantile of unsorted values (NaNs sort last and are ignored).
pub fn quantile(values: &[f64], q: f64) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let pos = q * (v.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(v.len() - 1);
    v[lo] + (pos - lo as f64) * (v[hi] - v[lo])
}

/// 95% interval of an estimate `point` from its replicates under `metric`'s scheme.
pub fn interval(metric: Metric, point: f64, replicates: &[f64]) -> (f64, f64) {
    let (lo, hi) = (quantile(replicates, 0.025), quantile(replicates, 0.975));
    if metric.per_row() {
        (lo, hi)
    } else {
        let mid = quantile(replicates, 0.5);
        (point - (hi - mid), point + (mid - lo))
    }
}

/// Scores `metrics` on `pairs` of `spaces` (all over the same rows), with replicates and
/// permutation p-values.
pub fn evaluate(
    spaces: &[Space],
    pairs: &[(usize, usize)],
    metrics: &[Metric],
    options: ResampleOptions,
    progress: &(dyn Fn(&str) + Sync),
) -> Scores {
    let n = spaces.first().map_or(0, Space::rows);
    let point = points(spaces, pairs, metrics);
    progress("bootstrap");
    let mut replicates = bootstrap_replicates(spaces, pairs, metrics, &options);
    // The expensive replicates run on all rows, or on a seeded `max_rows` of them.
    let m = n.min(options.max_rows.max(1));
    let capped: Option<Vec<Space>> = (m < n).then(|| {
        let mut rows: Vec<usize> = (0..n).collect();
        rows.shuffle(&mut rng(options.seed, 4, 0));
        rows.truncate(m);
        rows.sort_unstable();
        let svcca = metrics.contains(&Metric::Svcca);
        spaces.iter().map(|s| s.subset(&rows, svcca)).collect()
    });
    let expensive: &[Space] = capped.as_deref().unwrap_or(spaces);
    let plan = Plan { pairs, metrics };
    let used = used_spaces(spaces.len(), pairs);
    let wants_alignment = metrics.contains(&Metric::KernelAlignment);
    let wants_distances = metrics.contains(&Metric::DistanceCorrelation);
    let kernels: Vec<Option<Kernels>> = if metrics.iter().any(|m| !m.per_row()) {
        (0..expensive.len())
            .map(|s| {
                used.contains(&s)
                    .then(|| Kernels::new(&expensive[s], wants_alignment, wants_distances))
            })
            .collect()
    } else {
        Vec::new()
    };
    if !kernels.is_empty() {
        progress("half-sampling");
        for (mi, pi, v) in half_sample_replicates(&plan, &kernels, m, &options) {
            replicates[mi][pi].push(v);
        }
        if m < n {
            let f = (m as f64 / n as f64).sqrt();
            for (mi, _) in metrics.iter().enumerate().filter(|(_, m)| !m.per_row()) {
                for reps in &mut replicates[mi] {
                    let mid = quantile(reps, 0.5);
                    reps.iter_mut().for_each(|r| *r = mid + (*r - mid) * f);
                }
            }
        }
    }
    let (null, tested, p_value) = if options.permutations > 0 {
        progress("permutations");
        let sub = Subsample {
            spaces: expensive,
            kernels: &kernels,
            plan: &plan,
            rows: m,
        };
        permutation_tests(spaces, &sub, &point, &options)
    } else {
        let empty = vec![vec![Vec::new(); pairs.len()]; metrics.len()];
        let unknown = vec![vec![f64::NAN; pairs.len()]; metrics.len()];
        (empty, point.clone(), unknown)
    };
    Scores {
        metrics: metrics.to_vec(),
        pairs: pairs.to_vec(),
        point,
        replicates,
        p_value,
        null,
        tested,
        resample_rows: metrics
            .iter()
            .map(|metric| if metric.per_row() { n } else { m })
            .collect(),
    }
}

/// Per [metric][pair]: the permutation null's values, the score tested, the p-value.
type Tests = (Vec<Vec<Vec<f64>>>, Vec<Vec<f64>>, Vec<Vec<f64>>);

/// The rows the expensive replicates run on: a seeded `rows` of them (the spaces subset),
/// with each used space's Gram matrices, and what they score.
struct Subsample<'s> {
    spaces: &'s [Space],
    kernels: &'s [Option<Kernels<'s>>],
    plan: &'s Plan<'s>,
    rows: usize,
}

/// Every score's permutation null, the score it is tested at, and its p-value, as [metric]
/// [pair]: the kNN metrics on all rows (neighbour lists renumbered), the others on the
/// subsample's rows against their score there.
fn permutation_tests(
    spaces: &[Space],
    sub: &Subsample,
    point: &[Vec<f64>],
    options: &ResampleOptions,
) -> Tests {
    let (pairs, metrics) = (sub.plan.pairs, sub.plan.metrics);
    let (n, m) = (spaces.first().map_or(0, Space::rows), sub.rows);
    let mut null = knn_nulls(spaces, pairs, metrics, options);
    let mut observed = point.to_vec();
    if !sub.kernels.is_empty() {
        if m < n {
            let sub_point = points(sub.spaces, pairs, metrics);
            for mi in (0..metrics.len()).filter(|&mi| !metrics[mi].per_row()) {
                observed[mi] = sub_point[mi].clone();
            }
        }
        let whole = Whole::new(sub.plan, sub.kernels);
        if metrics.contains(&Metric::Procrustes) {
            // Factored once here, not by the first permutations of every thread at once.
            let used = sub
                .kernels
                .iter()
                .zip(sub.spaces)
                .filter(|(k, _)| k.is_some());
            used.for_each(|(_, s)| _ = s.procrustes_rows());
        }
        let per_perm: Vec<Vec<Vec<f64>>> = (0..options.permutations)
            .into_par_iter()
            .map(|r| {
                let mut perm: Vec<usize> = (0..m).collect();
                perm.shuffle(&mut rng(options.seed, 3, r));
                let costly = r < options.costly_resamples;
                views::permutation_nulls(sub.plan, sub.kernels, &whole, &perm, costly)
            })
            .collect();
        for mi in (0..metrics.len()).filter(|&mi| !metrics[mi].per_row()) {
            let count = permutations_of(metrics[mi], options);
            for (pi, values) in null[mi].iter_mut().enumerate() {
                *values = per_perm[..count].iter().map(|r| r[mi][pi]).collect();
            }
        }
    }
    let p_value = null
        .iter()
        .zip(&observed)
        .map(|(row, obs)| {
            row.iter()
                .zip(obs)
                .map(|(values, &o)| permutation_p(o, values))
                .collect()
        })
        .collect();
    (null, observed, p_value)
}

/// How many permutations `metric`'s null has: all, but Procrustes, which multiplies a cross
/// product per permutation, gets the first `costly_resamples` of them.
pub fn permutations_of(metric: Metric, options: &ResampleOptions) -> usize {
    match metric {
        Metric::Procrustes => options.permutations.min(options.costly_resamples),
        _ => options.permutations,
    }
}

/// [metric][pair] scores on `spaces` (a pair's metrics share its products: [`scores`]).
fn points(spaces: &[Space], pairs: &[(usize, usize)], metrics: &[Metric]) -> Vec<Vec<f64>> {
    let by_pair: Vec<Vec<f64>> = pairs
        .iter()
        .map(|&(a, b)| scores(metrics, &spaces[a], &spaces[b]))
        .collect();
    (0..metrics.len())
        .map(|mi| by_pair.iter().map(|p| p[mi]).collect())
        .collect()
}

/// [metric][pair][replicate]: the bootstrap of per-row scores for the kNN metrics (empty for
/// the others).
fn bootstrap_replicates(
    spaces: &[Space],
    pairs: &[(usize, usize)],
    metrics: &[Metric],
    options: &ResampleOptions,
) -> Vec<Vec<Vec<f64>>> {
    let n = spaces.first().map_or(0, Space::rows);
    let boot_idx: Vec<Vec<usize>> = (0..options.bootstrap)
        .map(|r| {
            let mut g = rng(options.seed, 1, r);
            (0..n).map(|_| g.random_range(0..n)).collect()
        })
        .collect();
    let mut replicates: Vec<Vec<Vec<f64>>> = vec![vec![Vec::new(); pairs.len()]; metrics.len()];
    for (mi, &m) in metrics.iter().enumerate() {
        if !m.per_row() {
            continue;
        }
        for (pi, &(a, b)) in pairs.iter().enumerate() {
            let rows = knn::row_scores(m, spaces[a].knn(), spaces[b].knn(), spaces[a].topk());
            replicates[mi][pi] = boot_idx
                .iter()
                .map(|idx| idx.iter().map(|&i| rows[i]).sum::<f64>() / n as f64)
                .collect();
        }
    }
    replicates
}

/// (metric, pair, score) of the kernel metrics on random halves of the `m` rows; SVCCA on at
/// most `costly_resamples` of them.
fn half_sample_replicates(
    plan: &Plan,
    kernels: &[Option<Kernels>],
    m: usize,
    options: &ResampleOptions,
) -> Vec<(usize, usize, f64)> {
    let per_rep: Vec<Vec<(usize, usize, f64)>> = (0..options.bootstrap)
        .into_par_iter()
        .map(|r| {
            let mut idx: Vec<usize> = (0..m).collect();
            idx.shuffle(&mut rng(options.seed, 2, r));
            idx.truncate(m / 2);
            idx.sort_unstable();
            views::half(plan, kernels, &idx, r < options.costly_resamples)
        })
        .collect();
    per_rep.into_iter().flatten().collect()
}

/// [metric][pair][permutation]: the kNN metrics (the per-row ones; empty for the others) with
/// the second space's rows shuffled. A permutation renumbers the neighbour lists: O(n·k) each.
fn knn_nulls(
    spaces: &[Space],
    pairs: &[(usize, usize)],
    metrics: &[Metric],
    options: &ResampleOptions,
) -> Vec<Vec<Vec<f64>>> {
    let n = spaces.first().map_or(0, Space::rows);
    let mut null = vec![vec![Vec::new(); pairs.len()]; metrics.len()];
    if !metrics.iter().any(|m| m.per_row()) {
        return null;
    }
    let bs: Vec<usize> = {
        let mut b: Vec<usize> = pairs.iter().map(|p| p.1).collect();
        b.sort_unstable();
        b.dedup();
        b
    };
    let per_perm: Vec<Vec<(usize, usize, f64)>> = (0..options.permutations)
        .into_par_iter()
        .map(|r| {
            let mut perm: Vec<usize> = (0..n).collect();
            perm.shuffle(&mut rng(options.seed, 3, r));
            let permuted: Vec<Option<Vec<Vec<usize>>>> = (0..spaces.len())
                .map(|s| {
                    bs.contains(&s)
                        .then(|| permuted_knn(spaces[s].knn(), &perm))
                })
                .collect();
            let mut values = Vec::new();
            for (mi, &m) in metrics.iter().enumerate().filter(|(_, m)| m.per_row()) {
                for (pi, &(a, b)) in pairs.iter().enumerate() {
                    let knn = permuted[b].as_ref().expect("permuted second space");
                    let rows = knn::row_scores(m, spaces[a].knn(), knn, spaces[a].topk());
                    values.push((mi, pi, rows.iter().sum::<f64>() / rows.len().max(1) as f64));
                }
            }
            values
        })
        .collect();
    for (mi, pi, v) in per_perm.into_iter().flatten() {
        null[mi][pi].push(v);
    }
    null
}

/// p = (1 + #{null ≥ observed}) / (1 + permutations); NaN for a NaN score. A null value within
/// rounding of the observed one counts as a tie (≥): the kNN metrics take few distinct values,
/// and a mean of the same per-row scores summed in another row order can land an ulp below.
pub fn permutation_p(observed: f64, null: &[f64]) -> f64 {
    if observed.is_nan() {
        return f64::NAN;
    }
    let floor = observed - TIE * observed.abs().max(1.0);
    let count = null.iter().filter(|&&v| v >= floor).count();
    (1 + count) as f64 / (1 + null.len()) as f64
}

/// Relative difference below which a null value ties with the observed score.
const TIE: f64 = 1e-12;

/// The null of the maximum over pairs: for each permutation, the largest of the pairs' null
/// scores under it (`nulls[pair][permutation]`; as many permutations as the shortest has).
pub fn max_null(nulls: &[&[f64]]) -> Vec<f64> {
    let perms = nulls.iter().map(|n| n.len()).min().unwrap_or(0);
    (0..perms)
        .map(|r| nulls.iter().map(|n| n[r]).fold(f64::NEG_INFINITY, f64::max))
        .collect()
}

/// The neighbour lists of rows reordered by `perm` (row i becomes old row `perm[i]`).
fn permuted_knn(knn: &[Vec<usize>], perm: &[usize]) -> Vec<Vec<usize>> {
    let mut inverse = vec![0; perm.len()];
    for (new, &old) in perm.iter().enumerate() {
        inverse[old] = new;
    }
    perm.iter()
        .map(|&old| knn[old].iter().map(|&j| inverse[j]).collect())
        .collect()
}

fn used_spaces(count: usize, pairs: &[(usize, usize)]) -> Vec<usize> {
    (0..count)
        .filter(|s| pairs.iter().any(|p| p.0 == *s || p.1 == *s))
        .collect()
}
