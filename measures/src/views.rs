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
//! - CKNNA and the second-order cosine: a half's neighbours among its rows (O(h²) per space)
//!   and O(h·k²) masked sums (O(h·k) entries); a permutation renumbers the neighbour lists and
//!   reads the permuted entries;
//! - SVCCA: a half's basis is recomputed from its rows, O(h·d²) per space (the expensive one,
//!   hence `costly_resamples`); a permutation reorders the basis rows, O(h·cca_dim²);
//! - RSA: the prepared Gram matrices' entries over the view, O(h²) per pair;
//! - distance correlation: m x m Euclidean distance matrices (one more per space, formed from
//!   the prepared Gram matrix), their sums over the view, O(h²) per pair;
//! - Procrustes: the nuclear norm of the view's centred cross product, from the rows or, wider
//!   than m, a Gram factor (r ≤ m columns): O(h·r_a·r_b + r³) per pair; a half with fewer rows
//!   than both sides have columns reads the centred Gram matrices instead (O(h³)). With
//!   SVCCA's halves, the replicates `costly_resamples` caps.

use std::borrow::Cow;

use ndarray::{Array2, Axis};

use crate::hsic;
use crate::neighbours::best_k;
use crate::{Metric, Space, dcor, knn, linear, procrustes, rsa, svcca};

mod sums;

pub use sums::Side;
use sums::{is_kernel_sum, kernel_value, permuted_crosses, view_sums};

/// One space's Gram matrices for the replicates.
pub struct Kernels<'a> {
    space: &'a Space,
    /// HKH of the prepared rows, centred over all the space's rows.
    centred: Array2<f64>,
    /// The prepared rows' Gram matrix (the space's own when it keeps one).
    prepared: Cow<'a, Array2<f64>>,
    /// The unclamped rows' Gram matrix, when kernel alignment is asked for.
    unclamped: Option<Cow<'a, Array2<f64>>>,
    /// The prepared rows' Euclidean distances, when distance correlation is asked for.
    distances: Option<Array2<f64>>,
}

impl<'a> Kernels<'a> {
    /// O(m²·d) when the space keeps no Gram matrix (more rows than `GRAM_ROWS`), O(m²)
    /// otherwise.
    pub fn new(space: &'a Space, unclamped: bool, distances: bool) -> Kernels<'a> {
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
            distances: distances.then(|| dcor::distances_of_gram(&prepared)),
            prepared,
            unclamped,
        }
    }

    pub fn rows(&self) -> usize {
        self.prepared.nrows()
    }
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

/// (metric, pair, value) of every kernel metric, CKNNA and RSA on the rows `half` of every
/// space, and when `costly` SVCCA and Procrustes, which refactor the half's rows. `kernels[s]`
/// is None for spaces no pair reads.
pub fn half(
    plan: &Plan,
    kernels: &[Option<Kernels>],
    half: &[usize],
    costly: bool,
) -> Vec<(usize, usize, f64)> {
    let (sides, crosses) = view_sums(plan, kernels, half);
    let knn: Vec<Option<Vec<Vec<usize>>>> = kernels
        .iter()
        .map(|k| {
            k.as_ref()
                .filter(|_| plan.wants(Metric::Cknna) || plan.wants(Metric::SecondOrderCosine))
                .map(|k| view_neighbours(&k.prepared, half, k.space.topk()))
        })
        .collect();
    let basis: Vec<Option<Array2<f64>>> = kernels
        .iter()
        .map(|k| {
            k.as_ref()
                .filter(|_| costly && plan.wants(Metric::Svcca))
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
                Metric::Cknna | Metric::SecondOrderCosine => {
                    let (na, nb) = (knn[a].as_ref(), knn[b].as_ref());
                    let lists = (
                        na.expect("neighbours").as_slice(),
                        nb.expect("neighbours").as_slice(),
                    );
                    entries_on_half(m, (&ka.prepared, &kb.prepared), half, lists)
                }
                Metric::Svcca => match (&basis[a], &basis[b]) {
                    (Some(ua), Some(ub)) => svcca::from_bases(ua, ub),
                    _ => continue,
                },
                Metric::Rsa => rsa::of_views(&ka.prepared, half, &kb.prepared, half),
                Metric::Procrustes if costly => {
                    let (wa, wb) = (ka.space.procrustes_rows(), kb.space.procrustes_rows());
                    // The h x h road when the half has fewer rows than either side has
                    // columns (rows, or a wide side's Gram factor); else the rows'.
                    if half.len() < wa.ncols().min(wb.ncols()) {
                        procrustes::similarity_of_gram_views(&ka.centred, &kb.centred, half)
                    } else {
                        procrustes::similarity_of_views(wa, half, wb, half)
                    }
                }
                Metric::Procrustes => continue,
                Metric::DistanceCorrelation => match (&ka.distances, &kb.distances) {
                    (Some(da), Some(db)) => dcor::of_views(da, half, db, half),
                    _ => continue,
                },
                _ => kernel_value(m, sa, sb, crossed, unclamped),
            };
            out.push((mi, pi, value));
        }
    }
    out
}

/// CKNNA or the second-order cosine on the rows `half` of the prepared Gram matrices `grams`,
/// with the half's own neighbour lists.
fn entries_on_half(
    metric: Metric,
    grams: (&Array2<f64>, &Array2<f64>),
    half: &[usize],
    lists: (&[Vec<usize>], &[Vec<usize>]),
) -> f64 {
    let (ga, gb) = grams;
    let k = |i: usize, j: usize| ga[[half[i], half[j]]];
    let l = |i: usize, j: usize| gb[[half[i], half[j]]];
    match metric {
        Metric::Cknna => linear::cknna_of_entries(half.len(), k, l, lists.0, lists.1),
        _ => knn::second_order_cosine_of_entries(half.len(), k, l, lists.0, lists.1),
    }
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

/// [metric][pair]: each kernel metric's, CKNNA's, SVCCA's and RSA's value under `perm` (applied
/// to the second space of each pair: its row i becomes row `perm[i]`), and Procrustes' when
/// `costly`; NaN for the per-row metrics (scored elsewhere), for Procrustes otherwise, and for
/// pairs of spaces without kernels.
pub fn permutation_nulls(
    plan: &Plan,
    kernels: &[Option<Kernels>],
    whole: &Whole,
    perm: &[usize],
    costly: bool,
) -> Vec<Vec<f64>> {
    let m = perm.len();
    let mut inverse = vec![0; m];
    for (new, &old) in perm.iter().enumerate() {
        inverse[old] = new;
    }
    let mut out = vec![vec![f64::NAN; plan.pairs.len()]; plan.metrics.len()];
    let crosses = permuted_crosses(plan, kernels, perm);
    // These read one side over all rows against the other permuted.
    let whole_rows = [Metric::Rsa, Metric::Procrustes, Metric::DistanceCorrelation];
    let rows: Vec<usize> = if whole_rows.iter().any(|&m| plan.wants(m)) {
        (0..m).collect()
    } else {
        Vec::new()
    };
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
            let permuted_knn = || -> Vec<Vec<usize>> {
                perm.iter()
                    .map(|&old| kb.space.knn()[old].iter().map(|&j| inverse[j]).collect())
                    .collect()
            };
            let (ga, gb) = (&ka.prepared, &kb.prepared);
            let null = match metric {
                Metric::Cknna => linear::cknna_of_entries(
                    m,
                    |i, j| ga[[i, j]],
                    |i, j| gb[[perm[i], perm[j]]],
                    ka.space.knn(),
                    &permuted_knn(),
                ),
                Metric::SecondOrderCosine => knn::second_order_cosine_of_entries(
                    m,
                    |i, j| ga[[i, j]],
                    |i, j| gb[[perm[i], perm[j]]],
                    ka.space.knn(),
                    &permuted_knn(),
                ),
                Metric::Svcca => {
                    let ub = kb.space.basis().select(Axis(0), perm);
                    svcca::from_bases(ka.space.basis(), &ub)
                }
                Metric::Rsa => rsa::of_views(&ka.prepared, &rows, &kb.prepared, perm),
                Metric::Procrustes if costly => {
                    let (wa, wb) = (ka.space.procrustes_rows(), kb.space.procrustes_rows());
                    procrustes::similarity_of_views(wa, &rows, wb, perm)
                }
                Metric::Procrustes => f64::NAN,
                Metric::DistanceCorrelation => match (&ka.distances, &kb.distances) {
                    (Some(da), Some(db)) => dcor::of_views(da, &rows, db, perm),
                    _ => f64::NAN,
                },
                _ => kernel_value(metric, sa, &sb, crossed, unclamped),
            };
            out[mi][pi] = null;
        }
    }
    out
}

#[cfg(test)]
mod tests;
