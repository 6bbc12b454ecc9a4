//! The resampling's replicates of the kernel metrics, CKNNA and SVCCA, on views of a space's
//! rows (a random half, or the rows permuted) read through index lists from Gram matrices
//! computed once, instead of a copied, re-prepared space per replicate.
//!
//! For m rows, each space keeps its centred Gram matrix HKH (the CKA family), its prepared Gram
//! matrix K (neighbours and CKNNA's masked entries) and its unclamped one (kernel alignment):
//! 3·m² values. The CKA-family values are invariant when K gains symmetric row and column
//! terms (K + 1aᵀ + a1ᵀ, for both the biased and the unbiased HSIC), so a view's values from
//! the full set's HKH equal those from its own K, and the centred entries keep the sums free
//! of cancellation. What a replicate costs, for a view of h rows:
//!
//! - kernel alignment, CKA, unbiased and debiased CKA: one gathered sum of h² products per pair
//!   (two when kernel alignment is asked for: its unclamped kernels), and per space its row
//!   sums, diagonal and squared norm over the view (O(h²), or a reordering under a
//!   permutation). No copy, no O(h·d²) product;
//! - CKNNA: a half's neighbours among its rows (O(h²) per space) and O(h·k²) masked sums; a
//!   permutation only renumbers the neighbour lists;
//! - SVCCA: a half's basis is recomputed from its rows, O(h·d²) per space (the expensive one,
//!   hence `svcca_resamples`); a permutation reorders the basis rows, O(h·cca_dim²).

use std::borrow::Cow;

use ndarray::{Array2, Axis};

use crate::metrics::hsic;
use crate::metrics::neighbours::best_k;
use crate::metrics::{Metric, Space, linear, svcca};

/// One space's Gram matrices for the replicates.
pub struct Kernels<'a> {
    space: &'a Space,
    /// HKH of the prepared rows, centred over all the space's rows.
    centred: Array2<f64>,
    /// The prepared rows' Gram matrix (the space's own when it keeps one).
    prepared: Cow<'a, Array2<f64>>,
    /// The unclamped rows' Gram matrix, when kernel alignment is asked for.
    unclamped: Option<Cow<'a, Array2<f64>>>,
}

impl<'a> Kernels<'a> {
    /// O(m²·d) when the space keeps no Gram matrix (more rows than `GRAM_ROWS`), O(m²)
    /// otherwise.
    pub fn new(space: &'a Space, unclamped: bool) -> Kernels<'a> {
        let gram = |rows: &Array2<f64>| rows.dot(&rows.t());
        let prepared = match space.gram() {
            Some(k) => Cow::Borrowed(k),
            None => Cow::Owned(gram(&space.prepared)),
        };
        let unclamped = unclamped.then(|| match space.gram_unclamped() {
            Some(k) => Cow::Borrowed(k),
            None => Cow::Owned(gram(space.unclamped_rows())),
        });
        Kernels {
            space,
            centred: hsic::centre(&prepared),
            prepared,
            unclamped,
        }
    }

    pub fn rows(&self) -> usize {
        self.prepared.nrows()
    }
}

/// One side's sums over a view: of the centred kernel, each row's sum and diagonal entry, the
/// total and the squared norm; the unclamped kernel's squared norm.
#[derive(Clone)]
pub struct Side {
    rows: Vec<f64>,
    diag: Vec<f64>,
    total: f64,
    norm_sq: f64,
    unclamped_norm_sq: f64,
}

fn row_slice(k: &Array2<f64>, p: usize) -> &[f64] {
    k.row(p).to_slice().expect("Gram rows are contiguous")
}

/// Every space's [`Side`] over the rows `view` and every pair's crosses (centred, unclamped;
/// NaN where not asked for), in one pass over the view's rows: for row i, each kernel's
/// entries (view[i], view[j < i]) are gathered once into a contiguous buffer, and the sums
/// (row sums by symmetry, squared norms, each pair's products) run over the buffers.
fn view_sums(
    plan: &Plan,
    kernels: &[Option<Kernels>],
    view: &[usize],
) -> (Vec<Option<Side>>, Vec<(f64, f64)>) {
    let h = view.len();
    let (centred_wanted, unclamped_wanted) = (plan.wants_centred(), plan.wants_unclamped());
    let mut sides: Vec<Option<Side>> = kernels
        .iter()
        .map(|k| {
            k.as_ref().map(|_| Side {
                rows: vec![0.0; h],
                diag: vec![0.0; h],
                total: 0.0,
                norm_sq: 0.0,
                unclamped_norm_sq: 0.0,
            })
        })
        .collect();
    let mut crosses = vec![(0.0, 0.0); plan.pairs.len()];
    let mut centred: Vec<Vec<f64>> = vec![vec![0.0; h]; kernels.len()];
    let mut unclamped: Vec<Vec<f64>> = vec![vec![0.0; h]; kernels.len()];
    for (i, &p) in view.iter().enumerate() {
        for (s, k) in kernels.iter().enumerate() {
            let (Some(k), Some(side)) = (k, sides[s].as_mut()) else {
                continue;
            };
            if centred_wanted {
                let row = row_slice(&k.centred, p);
                let buf = &mut centred[s][..i];
                for (b, &q) in buf.iter_mut().zip(view) {
                    *b = row[q];
                }
                let d = row[p];
                side.diag[i] = d;
                side.rows[i] += d + buf.iter().sum::<f64>();
                for (r, &v) in side.rows[..i].iter_mut().zip(buf.iter()) {
                    *r += v;
                }
                side.norm_sq += 2.0 * dot(buf, buf) + d * d;
            }
            if let Some(u) = k.unclamped.as_ref().filter(|_| unclamped_wanted) {
                let row = row_slice(u, p);
                let buf = &mut unclamped[s][..i];
                for (b, &q) in buf.iter_mut().zip(view) {
                    *b = row[q];
                }
                side.unclamped_norm_sq += 2.0 * dot(buf, buf) + row[p] * row[p];
            }
        }
        for (pi, &(a, b)) in plan.pairs.iter().enumerate() {
            let (Some(ka), Some(kb)) = (&kernels[a], &kernels[b]) else {
                continue;
            };
            if centred_wanted {
                let diag = ka.centred[[p, p]] * kb.centred[[p, p]];
                crosses[pi].0 += 2.0 * dot(&centred[a][..i], &centred[b][..i]) + diag;
            }
            if let (Some(ua), Some(ub)) = (&ka.unclamped, &kb.unclamped)
                && unclamped_wanted
            {
                crosses[pi].1 +=
                    2.0 * dot(&unclamped[a][..i], &unclamped[b][..i]) + ua[[p, p]] * ub[[p, p]];
            }
        }
    }
    for side in sides.iter_mut().flatten() {
        side.total = side.rows.iter().sum();
    }
    plan.unasked_to_nan(kernels, &mut crosses);
    (sides, crosses)
}

/// Every pair's crosses (centred, unclamped; NaN where not asked for) with the second space's
/// rows permuted: for row i, each second space's entries (perm[i], perm[j < i]) are gathered
/// once, and each pair's product runs over the first space's contiguous row and the buffer.
fn permuted_crosses(plan: &Plan, kernels: &[Option<Kernels>], perm: &[usize]) -> Vec<(f64, f64)> {
    let m = perm.len();
    let (centred_wanted, unclamped_wanted) = (plan.wants_centred(), plan.wants_unclamped());
    let seconds: Vec<bool> = (0..kernels.len())
        .map(|s| plan.pairs.iter().any(|&(_, b)| b == s))
        .collect();
    let mut crosses = vec![(0.0, 0.0); plan.pairs.len()];
    let mut centred: Vec<Vec<f64>> = vec![vec![0.0; m]; kernels.len()];
    let mut unclamped: Vec<Vec<f64>> = vec![vec![0.0; m]; kernels.len()];
    let gather = |buf: &mut [f64], row: &[f64]| {
        for (b, &q) in buf.iter_mut().zip(perm) {
            *b = row[q];
        }
    };
    for (i, &p) in perm.iter().enumerate() {
        for (s, k) in kernels.iter().enumerate() {
            let Some(k) = k.as_ref().filter(|_| seconds[s]) else {
                continue;
            };
            if centred_wanted {
                gather(&mut centred[s][..i], row_slice(&k.centred, p));
            }
            if let Some(u) = k.unclamped.as_ref().filter(|_| unclamped_wanted) {
                gather(&mut unclamped[s][..i], row_slice(u, p));
            }
        }
        for (pi, &(a, b)) in plan.pairs.iter().enumerate() {
            let (Some(ka), Some(kb)) = (&kernels[a], &kernels[b]) else {
                continue;
            };
            if centred_wanted {
                let row = &row_slice(&ka.centred, i)[..i];
                let diag = ka.centred[[i, i]] * kb.centred[[p, p]];
                crosses[pi].0 += 2.0 * dot(row, &centred[b][..i]) + diag;
            }
            if let (Some(ua), Some(ub)) = (&ka.unclamped, &kb.unclamped)
                && unclamped_wanted
            {
                let row = &row_slice(ua, i)[..i];
                crosses[pi].1 += 2.0 * dot(row, &unclamped[b][..i]) + ua[[i, i]] * ub[[p, p]];
            }
        }
    }
    plan.unasked_to_nan(kernels, &mut crosses);
    crosses
}

impl Side {
    /// The sums over all rows, reordered: row i becomes row `perm[i]`.
    fn permuted(&self, perm: &[usize]) -> Side {
        Side {
            rows: perm.iter().map(|&p| self.rows[p]).collect(),
            diag: perm.iter().map(|&p| self.diag[p]).collect(),
            ..self.clone()
        }
    }
}

/// Σ x_i·y_i in four interleaved partial sums, which the compiler turns into vector
/// instructions (one running sum is a serial chain it may not reorder).
fn dot(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len().min(y.len());
    let (xc, yc) = (x[..n].chunks_exact(4), y[..n].chunks_exact(4));
    let tail: f64 = xc
        .remainder()
        .iter()
        .zip(yc.remainder())
        .map(|(a, b)| a * b)
        .sum();
    let mut acc = [0.0; 4];
    for (a, b) in xc.zip(yc) {
        for l in 0..4 {
            acc[l] += a[l] * b[l];
        }
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

/// The biased HSIC ⟨HKH, HLH⟩ from the sums of kernels already centred over a superset.
fn hsic_biased(cross: f64, a: &Side, b: &Side) -> f64 {
    let n = a.rows.len() as f64;
    cross - 2.0 * dot(&a.rows, &b.rows) / n + a.total * b.total / (n * n)
}

/// Song et al.'s unbiased HSIC from the sums ([`linear`]'s formula with K̃ = K − diag).
fn hsic_unbiased(cross: f64, a: &Side, b: &Side) -> f64 {
    let trace = cross - dot(&a.diag, &b.diag);
    let total = |s: &Side| s.total - s.diag.iter().sum::<f64>();
    let ones: f64 = (0..a.rows.len())
        .map(|i| (a.rows[i] - a.diag[i]) * (b.rows[i] - b.diag[i]))
        .sum();
    linear::unbiased_hsic_of_sums(a.rows.len() as f64, trace, total(a), total(b), ones)
}

/// A pair's kernel-metric value on a view from its sums and crosses (`cross` of the centred
/// kernels, `unclamped` of the unclamped ones).
fn kernel_value(metric: Metric, a: &Side, b: &Side, cross: f64, unclamped: f64) -> f64 {
    let ratio = |kl: f64, kk: f64, ll: f64| kl / (kk * ll).sqrt();
    match metric {
        Metric::KernelAlignment => ratio(unclamped, a.unclamped_norm_sq, b.unclamped_norm_sq),
        Metric::Cka => ratio(
            hsic_biased(cross, a, b),
            hsic_biased(a.norm_sq, a, a),
            hsic_biased(b.norm_sq, b, b),
        ),
        Metric::UnbiasedCka | Metric::DebiasedCka => ratio(
            hsic_unbiased(cross, a, b),
            hsic_unbiased(a.norm_sq, a, a),
            hsic_unbiased(b.norm_sq, b, b),
        ),
        _ => unreachable!("{metric:?} is not read from kernel sums"),
    }
}

fn is_kernel_sum(m: Metric) -> bool {
    matches!(
        m,
        Metric::KernelAlignment | Metric::Cka | Metric::UnbiasedCka | Metric::DebiasedCka
    )
}

/// Each view row's `k` most similar other view rows (positions in the view) by the prepared
/// Gram matrix.
fn view_neighbours(k: &Array2<f64>, view: &[usize], topk: usize) -> Vec<Vec<usize>> {
    view.iter()
        .enumerate()
        .map(|(i, &p)| {
            let row = k.row(p);
            let candidates = view
                .iter()
                .enumerate()
                .filter(|&(j, _)| j != i)
                .map(|(j, &q)| (row[q], j));
            best_k(candidates, topk)
                .into_iter()
                .map(|(_, j)| j)
                .collect()
        })
        .collect()
}

/// What the replicates score: `metrics` (the non-per-row ones are read) on `pairs` of spaces.
pub struct Plan<'p> {
    pub pairs: &'p [(usize, usize)],
    pub metrics: &'p [Metric],
}

impl Plan<'_> {
    fn wants(&self, m: Metric) -> bool {
        self.metrics.contains(&m)
    }

    /// The CKA family reads the centred kernels' sums.
    fn wants_centred(&self) -> bool {
        self.metrics
            .iter()
            .any(|&m| is_kernel_sum(m) && m != Metric::KernelAlignment)
    }

    /// Kernel alignment reads the unclamped kernels'.
    fn wants_unclamped(&self) -> bool {
        self.wants(Metric::KernelAlignment)
    }

    /// NaN for the crosses (centred, unclamped) a pair was not asked for or has no kernels for.
    fn unasked_to_nan(&self, kernels: &[Option<Kernels>], crosses: &mut [(f64, f64)]) {
        for (c, &(a, b)) in crosses.iter_mut().zip(self.pairs) {
            let both = kernels[a].is_some() && kernels[b].is_some();
            if !self.wants_centred() || !both {
                c.0 = f64::NAN;
            }
            if !self.wants_unclamped() || !both {
                c.1 = f64::NAN;
            }
        }
    }

    fn kernel_metrics(&self) -> impl Iterator<Item = (usize, Metric)> + '_ {
        self.metrics
            .iter()
            .copied()
            .enumerate()
            .filter(|&(_, m)| !m.per_row())
    }
}

/// (metric, pair, value) of every kernel metric, CKNNA and (when `with_basis`) SVCCA on the
/// rows `half` of every space. `kernels[s]` is None for spaces no pair reads.
pub fn half(
    plan: &Plan,
    kernels: &[Option<Kernels>],
    half: &[usize],
    with_basis: bool,
) -> Vec<(usize, usize, f64)> {
    let (sides, crosses) = view_sums(plan, kernels, half);
    let knn: Vec<Option<Vec<Vec<usize>>>> = kernels
        .iter()
        .map(|k| {
            k.as_ref()
                .filter(|_| plan.wants(Metric::Cknna))
                .map(|k| view_neighbours(&k.prepared, half, k.space.topk()))
        })
        .collect();
    let basis: Vec<Option<Array2<f64>>> = kernels
        .iter()
        .map(|k| {
            k.as_ref()
                .filter(|_| with_basis && plan.wants(Metric::Svcca))
                .and_then(|k| {
                    let cca = k.space.cca_dim()?;
                    let rows = k.space.prepared.select(Axis(0), half);
                    Some(svcca::basis(rows.view(), cca))
                })
        })
        .collect();
    let mut out = Vec::new();
    for (pi, &(a, b)) in plan.pairs.iter().enumerate() {
        let (Some(ka), Some(kb)) = (&kernels[a], &kernels[b]) else {
            continue;
        };
        let (sa, sb) = (sides[a].as_ref(), sides[b].as_ref());
        let (sa, sb) = (sa.expect("side of a used space"), sb.expect("side"));
        let (crossed, unclamped) = crosses[pi];
        for (mi, m) in plan.kernel_metrics() {
            let value = match m {
                Metric::Cknna => {
                    let (na, nb) = (knn[a].as_ref(), knn[b].as_ref());
                    let (na, nb) = (na.expect("neighbours"), nb.expect("neighbours"));
                    let (ga, gb) = (&ka.prepared, &kb.prepared);
                    linear::cknna_of_entries(
                        half.len(),
                        |i, j| ga[[half[i], half[j]]],
                        |i, j| gb[[half[i], half[j]]],
                        na,
                        nb,
                    )
                }
                Metric::Svcca => match (&basis[a], &basis[b]) {
                    (Some(ua), Some(ub)) => svcca::from_bases(ua, ub),
                    _ => continue,
                },
                _ => kernel_value(m, sa, sb, crossed, unclamped),
            };
            out.push((mi, pi, value));
        }
    }
    out
}

/// The full rows' sums and neighbour lists, which a permutation only reorders.
pub struct Whole {
    sides: Vec<Option<Side>>,
}

impl Whole {
    pub fn new(plan: &Plan, kernels: &[Option<Kernels>]) -> Whole {
        let rows = kernels
            .iter()
            .flatten()
            .map(Kernels::rows)
            .next()
            .unwrap_or(0);
        let all: Vec<usize> = (0..rows).collect();
        Whole {
            sides: view_sums(plan, kernels, &all).0,
        }
    }
}

/// [metric][pair]: each kernel metric's, CKNNA's and SVCCA's value under `perm` (applied to the
/// second space of each pair: its row i becomes row `perm[i]`); NaN for the per-row metrics
/// (scored elsewhere) and for pairs of spaces without kernels.
pub fn permutation_nulls(
    plan: &Plan,
    kernels: &[Option<Kernels>],
    whole: &Whole,
    perm: &[usize],
) -> Vec<Vec<f64>> {
    let m = perm.len();
    let mut inverse = vec![0; m];
    for (new, &old) in perm.iter().enumerate() {
        inverse[old] = new;
    }
    let mut out = vec![vec![f64::NAN; plan.pairs.len()]; plan.metrics.len()];
    let crosses = permuted_crosses(plan, kernels, perm);
    for (pi, &(a, b)) in plan.pairs.iter().enumerate() {
        let (Some(ka), Some(kb)) = (&kernels[a], &kernels[b]) else {
            continue;
        };
        let sa = whole.sides[a].as_ref().expect("side of a used space");
        let sb = whole.sides[b]
            .as_ref()
            .expect("side of a used space")
            .permuted(perm);
        let (crossed, unclamped) = crosses[pi];
        for (mi, metric) in plan.kernel_metrics() {
            let null = match metric {
                Metric::Cknna => {
                    let knn_b: Vec<Vec<usize>> = perm
                        .iter()
                        .map(|&old| kb.space.knn()[old].iter().map(|&j| inverse[j]).collect())
                        .collect();
                    let (ga, gb) = (&ka.prepared, &kb.prepared);
                    linear::cknna_of_entries(
                        m,
                        |i, j| ga[[i, j]],
                        |i, j| gb[[perm[i], perm[j]]],
                        ka.space.knn(),
                        &knn_b,
                    )
                }
                Metric::Svcca => {
                    let ub = kb.space.basis().select(Axis(0), perm);
                    svcca::from_bases(ka.space.basis(), &ub)
                }
                _ => kernel_value(metric, sa, &sb, crossed, unclamped),
            };
            out[mi][pi] = null;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use ndarray::Array2;
    use rand::seq::SliceRandom;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::metrics::{SpaceOptions, score};

    fn space(n: usize, d: usize, shared: &Array2<f64>, seed: u64, offset: f64) -> Space {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let w = Array2::from_shape_fn((shared.ncols(), d), |_| rng.random::<f64>() - 0.5);
        // Non-negative features with an offset (as pooled ReLU features): large uncentred
        // kernels, where centring matters.
        let x = shared.dot(&w).mapv(f64::abs)
            + offset
            + Array2::from_shape_fn((n, d), |_| 0.3 * rng.random::<f64>());
        Space::new(x.view(), SpaceOptions::default(), "test").unwrap()
    }

    /// The oracle: `score` on copied spaces, except that the CKA family reads Gram matrices of
    /// column-centred rows (equal in exact arithmetic, and free of the cancellation that the
    /// uncentred kernels of offset features cost `score`'s n x n forms: 1e-9 here).
    fn oracle(metric: Metric, a: &Space, b: &Space) -> f64 {
        let centred = |s: &Space| {
            let x = &s.prepared - &s.prepared.mean_axis(Axis(0)).unwrap();
            x.dot(&x.t())
        };
        match metric {
            Metric::Cka => hsic::cka(&centred(a), &centred(b)),
            Metric::UnbiasedCka => hsic::unbiased_cka(&centred(a), &centred(b)),
            Metric::DebiasedCka => hsic::debiased_cka(&centred(a), &centred(b)),
            _ => score(metric, a, b),
        }
    }

    fn close(a: f64, b: f64, what: &str) {
        assert!(
            (a - b).abs() <= 1e-10 * b.abs().max(1e-3),
            "{what}: {a} against {b}"
        );
    }

    #[test]
    fn halves_and_permutations_equal_scores_on_copied_spaces() {
        let n = 120;
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let shared = Array2::from_shape_fn((n, 6), |_| rng.random::<f64>() - 0.5);
        let spaces = [
            space(n, 40, &shared, 1, 0.5),
            space(n, 200, &shared, 2, 0.0),
            space(n, 12, &shared, 3, 2.0),
        ];
        let pairs = [(0, 1), (1, 2), (0, 2), (2, 2)];
        let metrics = Metric::ALL;
        let plan = Plan {
            pairs: &pairs,
            metrics: &metrics,
        };
        let kernels: Vec<Option<Kernels>> =
            spaces.iter().map(|s| Some(Kernels::new(s, true))).collect();
        let mut checked = 0;
        for seed in 0..3 {
            let mut idx: Vec<usize> = (0..n).collect();
            idx.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
            idx.truncate(n / 2);
            idx.sort_unstable();
            let subs: Vec<Space> = spaces.iter().map(|s| s.subset(&idx, true)).collect();
            for (mi, pi, v) in half(&plan, &kernels, &idx, true) {
                let (a, b) = pairs[pi];
                let what = format!("half {seed}: {:?} on {:?}", metrics[mi], pairs[pi]);
                close(v, oracle(metrics[mi], &subs[a], &subs[b]), &what);
                checked += 1;
            }
            let mut perm: Vec<usize> = (0..n).collect();
            perm.shuffle(&mut ChaCha8Rng::seed_from_u64(10 + seed));
            let whole = Whole::new(&plan, &kernels);
            let nulls = permutation_nulls(&plan, &kernels, &whole, &perm);
            for (mi, m) in metrics.iter().enumerate().filter(|(_, m)| !m.per_row()) {
                for (pi, &(a, b)) in pairs.iter().enumerate() {
                    let expected = oracle(*m, &spaces[a], &spaces[b].permuted(&perm));
                    close(
                        nulls[mi][pi],
                        expected,
                        &format!("permutation {seed}: {m:?}"),
                    );
                    checked += 1;
                }
            }
        }
        // Six non-per-row metrics, four pairs, three halves and three permutations.
        assert_eq!(checked, 6 * 4 * 3 * 2);
    }
}
