//! One side of a comparison, prepared once: what every metric reads.
//!
//! Preparation follows `measure_alignment.py` of the Platonic Representation Hypothesis code:
//! clamp every value to ±q, q the mean over rows of each row's `clamp_quantile` quantile of |x|
//! (linear interpolation, as `torch.quantile`), then L2-normalise rows (`F.normalize`, eps
//! 1e-12). The research's kernel alignment reads the unclamped normalised rows instead.

use ndarray::{Array2, ArrayView2, Axis};
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::metrics::svcca;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpaceOptions {
    /// Neighbours per row for the kNN metrics and CKNNA.
    pub topk: usize,
    /// Outlier clamp quantile (0.95 in the reference code); None turns the clamp off.
    pub clamp_quantile: Option<f64>,
    /// SVCCA's number of singular directions; None skips SVCCA's basis.
    pub cca_dim: Option<usize>,
    /// Keep the Gram matrix of unclamped normalised rows (the research's kernel alignment).
    pub unclamped_gram: bool,
}

impl Default for SpaceOptions {
    fn default() -> Self {
        SpaceOptions {
            topk: 10,
            clamp_quantile: Some(0.95),
            cca_dim: Some(10),
            unclamped_gram: true,
        }
    }
}

pub struct Space {
    options: SpaceOptions,
    /// Clamped (when on) and L2-normalised rows.
    pub prepared: Array2<f64>,
    /// prepared · preparedᵀ.
    pub gram: Array2<f64>,
    /// Gram matrix of the unclamped normalised rows; None when equal to `gram` or not asked for.
    unclamped: Option<Array2<f64>>,
    /// Each row's `topk` nearest neighbours, most similar first.
    knn: Vec<Vec<usize>>,
    /// SVCCA's top singular directions (n x cca_dim), when asked for.
    basis: Option<Array2<f64>>,
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

/// Each row's `k` most similar other rows by `gram`, most similar first; equal similarities go
/// to the lower index (the reference's `argsort` leaves ties to the device).
pub fn neighbours(gram: &Array2<f64>, k: usize) -> Vec<Vec<usize>> {
    let n = gram.nrows();
    (0..n)
        .into_par_iter()
        .map(|i| {
            let row = gram.row(i);
            let mut cand: Vec<(f64, usize)> =
                (0..n).filter(|&j| j != i).map(|j| (row[j], j)).collect();
            let order =
                |a: &(f64, usize), b: &(f64, usize)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
            let k = k.min(cand.len());
            if k > 0 && k < cand.len() {
                cand.select_nth_unstable_by(k - 1, order);
            }
            cand.truncate(k);
            cand.sort_by(order);
            cand.into_iter().map(|(_, j)| j).collect()
        })
        .collect()
}

fn select_square(m: &Array2<f64>, rows: &[usize]) -> Array2<f64> {
    let k = rows.len();
    Array2::from_shape_fn((k, k), |(i, j)| m[[rows[i], rows[j]]])
}

impl Space {
    /// Prepares `raw` (n rows x d features). `what` names the features in errors.
    pub fn new(raw: ArrayView2<f64>, options: SpaceOptions, what: &str) -> Result<Space> {
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
                let t = clamp_threshold(raw, q);
                let clamped = raw.mapv(|v| v.clamp(-t, t));
                let unclamped = options.unclamped_gram.then(|| {
                    let u = l2_normalise(raw.to_owned());
                    u.dot(&u.t())
                });
                (l2_normalise(clamped), unclamped)
            }
            None => (l2_normalise(raw.to_owned()), None),
        };
        Ok(Space::from_prepared(prepared, unclamped, options, true))
    }

    fn from_prepared(
        prepared: Array2<f64>,
        unclamped: Option<Array2<f64>>,
        options: SpaceOptions,
        with_basis: bool,
    ) -> Space {
        let gram = prepared.dot(&prepared.t());
        Space::assemble(prepared, gram, unclamped, options, with_basis)
    }

    fn assemble(
        prepared: Array2<f64>,
        gram: Array2<f64>,
        unclamped: Option<Array2<f64>>,
        options: SpaceOptions,
        with_basis: bool,
    ) -> Space {
        let knn = neighbours(&gram, options.topk);
        let basis = match (with_basis, options.cca_dim) {
            (true, Some(k)) => Some(svcca::basis(prepared.view(), k)),
            _ => None,
        };
        Space {
            options,
            prepared,
            gram,
            unclamped,
            knn,
            basis,
        }
    }

    pub fn rows(&self) -> usize {
        self.prepared.nrows()
    }

    pub fn topk(&self) -> usize {
        self.options.topk
    }

    pub fn knn(&self) -> &[Vec<usize>] {
        &self.knn
    }

    /// The Gram matrix the research's kernel alignment reads (unclamped normalised rows).
    pub fn gram_unclamped(&self) -> &Array2<f64> {
        self.unclamped.as_ref().unwrap_or(&self.gram)
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
    /// neighbours found among them; SVCCA's basis is recomputed only when `with_basis`.
    pub fn subset(&self, rows: &[usize], with_basis: bool) -> Space {
        let prepared = self.prepared.select(Axis(0), rows);
        let gram = select_square(&self.gram, rows);
        let unclamped = self.unclamped.as_ref().map(|u| select_square(u, rows));
        Space::assemble(prepared, gram, unclamped, self.options, with_basis)
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
            gram: select_square(&self.gram, perm),
            unclamped: self.unclamped.as_ref().map(|u| select_square(u, perm)),
            knn,
            basis: self.basis.as_ref().map(|b| b.select(Axis(0), perm)),
        }
    }
}
