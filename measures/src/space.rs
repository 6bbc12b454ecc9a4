//! One side of a comparison, prepared once: what every metric reads.
//!
//! Preparation follows `measure_alignment.py` of the Platonic Representation Hypothesis code:
//! clamp every value to ±q, q the mean over rows of each row's `clamp_quantile` quantile of |x|
//! (linear interpolation, as `torch.quantile`), then L2-normalise rows (`F.normalize`, eps
//! 1e-12). The research's kernel alignment reads the unclamped normalised rows instead.
//!
//! A space holds its rows (n x d) and each row's neighbours: above [`GRAM_ROWS`] rows never an
//! n x n matrix (the metrics are computed from the rows, [`crate::linear`], and the
//! neighbours are found a block of rows at a time). A space of at most [`GRAM_ROWS`] rows also
//! keeps its Gram matrices, so that the many row subsets a resampling draws are scored without
//! recomputing inner products.

use std::sync::OnceLock;

use ndarray::{Array2, ArrayView2, Axis};

use crate::error::{Error, Result};
use crate::linear::Moments;
use crate::neighbours::{neighbours, neighbours_of_rows};
use crate::{procrustes, svcca};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpaceOptions {
    /// Neighbours per row for the kNN metrics and CKNNA.
    pub topk: usize,
    /// Outlier clamp quantile (0.95 in the reference code); None turns the clamp off.
    pub clamp_quantile: Option<f64>,
    /// SVCCA's number of singular directions; None skips SVCCA's basis.
    pub cca_dim: Option<usize>,
    /// Keep the unclamped normalised rows (the research's kernel alignment reads them).
    pub keep_unclamped: bool,
}

impl Default for SpaceOptions {
    fn default() -> Self {
        SpaceOptions {
            topk: 10,
            clamp_quantile: Some(0.95),
            cca_dim: Some(10),
            keep_unclamped: true,
        }
    }
}

/// Spaces of at most this many rows keep their n x n Gram matrices (32 MiB each at this size):
/// the resampling's many row subsets then find their neighbours and their kernel metrics in
/// them, O(m²) per subset of m rows instead of O(m·d²) from the rows.
pub const GRAM_ROWS: usize = 2000;

/// A small space's Gram matrices.
struct Grams {
    /// prepared · preparedᵀ.
    prepared: Array2<f64>,
    /// The unclamped rows' Gram matrix, when the space keeps those rows.
    unclamped: Option<Array2<f64>>,
}

impl Grams {
    fn of(prepared: &Array2<f64>, unclamped: Option<&Array2<f64>>) -> Grams {
        Grams {
            prepared: prepared.dot(&prepared.t()),
            unclamped: unclamped.map(|u| u.dot(&u.t())),
        }
    }

    fn select(&self, rows: &[usize]) -> Grams {
        Grams {
            prepared: select_square(&self.prepared, rows),
            unclamped: self.unclamped.as_ref().map(|u| select_square(u, rows)),
        }
    }
}

pub struct Space {
    options: SpaceOptions,
    /// Clamped (when on) and L2-normalised rows.
    pub prepared: Array2<f64>,
    /// The unclamped normalised rows (the research's kernel alignment); None when equal to
    /// `prepared` or not asked for.
    unclamped: Option<Array2<f64>>,
    /// The Gram matrices, for spaces of at most [`GRAM_ROWS`] rows.
    grams: Option<Grams>,
    /// Each row's `topk` nearest neighbours, most similar first.
    knn: Vec<Vec<usize>>,
    /// SVCCA's top singular directions (n x cca_dim), when asked for.
    basis: Option<Array2<f64>>,
    /// The kernel metrics' per-side products of the prepared and the unclamped rows, computed
    /// the first time a metric reads them.
    moments: OnceLock<Moments>,
    unclamped_moments: OnceLock<Moments>,
    /// A factor of the prepared Gram matrix, for rows wider than they are many
    /// ([`Space::procrustes_rows`]).
    gram_factor: OnceLock<Array2<f64>>,
}

/// Mean over rows of each row's `q` quantile of |x| (linear interpolation between order
/// statistics, as numpy and torch do by default).
pub fn clamp_threshold(x: ArrayView2<f64>, q: f64) -> f64 {
    let d = x.ncols();
    if d == 0 || x.nrows() == 0 {
        return 0.0;
    }
    let pos = q * (d - 1) as f64;
    let lo = pos.floor() as usize;
    let frac = pos - lo as f64;
    let total: f64 = x
        .outer_iter()
        .map(|row| {
            let mut v: Vec<f64> = row.iter().map(|a| a.abs()).collect();
            v.sort_by(f64::total_cmp);
            let hi = (lo + 1).min(d - 1);
            v[lo] + frac * (v[hi] - v[lo])
        })
        .sum();
    total / x.nrows() as f64
}

/// Rows divided by their L2 norm (at least 1e-12, as `F.normalize`).
pub fn l2_normalise(mut x: Array2<f64>) -> Array2<f64> {
    for mut row in x.outer_iter_mut() {
        let norm = row.iter().map(|a| a * a).sum::<f64>().sqrt().max(1e-12);
        row.mapv_inplace(|a| a / norm);
    }
    x
}

fn select_square(m: &Array2<f64>, rows: &[usize]) -> Array2<f64> {
    let k = rows.len();
    Array2::from_shape_fn((k, k), |(i, j)| m[[rows[i], rows[j]]])
}

impl Space {
    /// Prepares `raw` (n rows x d features). `what` names the features in errors.
    pub fn new(raw: ArrayView2<f64>, options: SpaceOptions, what: &str) -> Result<Space> {
        Space::from_rows(raw.to_owned(), options, what)
    }

    /// [`Space::new`] on rows the caller gives up: their buffer becomes the unclamped (or, with
    /// no clamp, the prepared) rows, one n x d copy fewer at the peak.
    pub fn from_rows(raw: Array2<f64>, options: SpaceOptions, what: &str) -> Result<Space> {
        let (n, d) = raw.dim();
        if let Some((i, _)) = raw
            .outer_iter()
            .enumerate()
            .find(|(_, r)| r.iter().any(|v| !v.is_finite()))
        {
            return Err(Error::Invalid {
                what: what.into(),
                message: format!("row {i} holds a NaN or infinite value"),
            });
        }
        let need = (options.topk + 1)
            .max(4)
            .max(options.cca_dim.map_or(0, |c| c + 1));
        if n < need {
            return Err(Error::Invalid {
                what: what.into(),
                message: format!(
                    "{n} rows: the metrics need at least {need} (topk {} + 1, HSIC's 4, cca_dim + 1)",
                    options.topk
                ),
            });
        }
        if d == 0 {
            return Err(Error::Invalid {
                what: what.into(),
                message: "no feature columns".into(),
            });
        }
        let (prepared, unclamped) = match options.clamp_quantile {
            Some(q) => {
                let t = clamp_threshold(raw.view(), q);
                if options.keep_unclamped {
                    let clamped = raw.mapv(|v| v.clamp(-t, t));
                    (l2_normalise(clamped), Some(l2_normalise(raw)))
                } else {
                    let mut clamped = raw;
                    clamped.mapv_inplace(|v| v.clamp(-t, t));
                    (l2_normalise(clamped), None)
                }
            }
            None => (l2_normalise(raw), None),
        };
        Ok(Space::assemble(prepared, None, unclamped, options, true))
    }

    /// A space of `prepared` rows: its Gram matrices when small (or the ones given), its
    /// neighbours, and SVCCA's basis when `with_basis`.
    fn assemble(
        prepared: Array2<f64>,
        grams: Option<Grams>,
        unclamped: Option<Array2<f64>>,
        options: SpaceOptions,
        with_basis: bool,
    ) -> Space {
        let grams = grams.or_else(|| {
            (prepared.nrows() <= GRAM_ROWS).then(|| Grams::of(&prepared, unclamped.as_ref()))
        });
        let knn = match &grams {
            Some(g) => neighbours(&g.prepared, options.topk),
            None => neighbours_of_rows(prepared.view(), options.topk),
        };
        let basis = match (with_basis, options.cca_dim) {
            (true, Some(k)) => Some(svcca::basis(prepared.view(), k)),
            _ => None,
        };
        Space {
            options,
            prepared,
            unclamped,
            grams,
            knn,
            basis,
            moments: OnceLock::new(),
            unclamped_moments: OnceLock::new(),
            gram_factor: OnceLock::new(),
        }
    }

    /// The prepared rows' moments ([`Moments`]), computed once.
    pub fn moments(&self) -> &Moments {
        self.moments
            .get_or_init(|| Moments::of(self.prepared.view()))
    }

    /// The unclamped rows' moments (the prepared ones' when the rows are the same).
    pub fn unclamped_moments(&self) -> &Moments {
        match &self.unclamped {
            Some(u) => self.unclamped_moments.get_or_init(|| Moments::of(u.view())),
            None => self.moments(),
        }
    }

    /// What the Procrustes similarity reads: the prepared rows, or where they are wider than
    /// they are many, W (n x r, r ≤ n) with W·Wᵀ their Gram matrix ([`procrustes::gram_factor`],
    /// computed once): the same singular values of every cross product, at O(n·r) per row
    /// view instead of O(n·d).
    pub fn procrustes_rows(&self) -> &Array2<f64> {
        if !self.wide() {
            return &self.prepared;
        }
        self.gram_factor.get_or_init(|| match self.gram() {
            Some(k) => procrustes::gram_factor(k),
            None => procrustes::gram_factor(&self.prepared.dot(&self.prepared.t())),
        })
    }

    /// The prepared rows' Gram matrix, kept for spaces of at most [`GRAM_ROWS`] rows.
    pub fn gram(&self) -> Option<&Array2<f64>> {
        self.grams.as_ref().map(|g| &g.prepared)
    }

    /// The Gram matrix of [`Space::unclamped_rows`], kept for spaces of at most [`GRAM_ROWS`]
    /// rows.
    pub fn gram_unclamped(&self) -> Option<&Array2<f64>> {
        self.grams
            .as_ref()
            .map(|g| g.unclamped.as_ref().unwrap_or(&g.prepared))
    }

    pub fn rows(&self) -> usize {
        self.prepared.nrows()
    }

    /// More features than rows: the Procrustes similarity reads a Gram factor.
    pub fn wide(&self) -> bool {
        self.prepared.ncols() > self.prepared.nrows()
    }

    pub fn topk(&self) -> usize {
        self.options.topk
    }

    /// SVCCA's number of directions, when the space was prepared for SVCCA.
    pub fn cca_dim(&self) -> Option<usize> {
        self.options.cca_dim
    }

    pub fn knn(&self) -> &[Vec<usize>] {
        &self.knn
    }

    /// The rows the research's kernel alignment reads (unclamped, normalised).
    pub fn unclamped_rows(&self) -> &Array2<f64> {
        self.unclamped.as_ref().unwrap_or(&self.prepared)
    }

    /// SVCCA's basis; panics when the space was built without one (a programming error).
    pub fn basis(&self) -> &Array2<f64> {
        self.basis
            .as_ref()
            .expect("SVCCA basis requested from a space prepared without cca_dim")
    }

    pub fn has_basis(&self) -> bool {
        self.basis.is_some()
    }

    /// The space of rows `rows` alone (distinct rows: a subsample without replacement), with
    /// neighbours found among them (in the Gram matrix when this space keeps one); SVCCA's
    /// basis is recomputed only when `with_basis`.
    pub fn subset(&self, rows: &[usize], with_basis: bool) -> Space {
        let prepared = self.prepared.select(Axis(0), rows);
        let grams = self.grams.as_ref().map(|g| g.select(rows));
        let unclamped = self.unclamped.as_ref().map(|u| u.select(Axis(0), rows));
        Space::assemble(prepared, grams, unclamped, self.options, with_basis)
    }

    /// The space with its rows reordered: row i becomes old row `perm[i]`. Neighbours and the
    /// SVCCA basis are carried over, not recomputed (a permutation changes neither).
    pub fn permuted(&self, perm: &[usize]) -> Space {
        let n = perm.len();
        let mut inverse = vec![0; n];
        for (new, &old) in perm.iter().enumerate() {
            inverse[old] = new;
        }
        let knn = perm
            .iter()
            .map(|&old| self.knn[old].iter().map(|&j| inverse[j]).collect())
            .collect();
        Space {
            options: self.options,
            prepared: self.prepared.select(Axis(0), perm),
            unclamped: self.unclamped.as_ref().map(|u| u.select(Axis(0), perm)),
            grams: self.grams.as_ref().map(|g| g.select(perm)),
            knn,
            basis: self.basis.as_ref().map(|b| b.select(Axis(0), perm)),
            moments: OnceLock::new(),
            unclamped_moments: OnceLock::new(),
            gram_factor: OnceLock::new(),
        }
    }
}
