//! Representational-similarity metrics between two row-aligned feature sets (row i of A and row i
//! of B describe the same item): what the align and model-set stages score, `pipeline metric`
//! prints and the Python module (`python/`) exposes. A crate of its own, with few dependencies,
//! so that the Python wheel builds it without the rest of the pipeline (ONNX Runtime, Burn,
//! polars), and so that it compiles beside `stages` rather than inside it.
//!
//! - [`space`]: one side's features prepared once (outlier clamp, L2 normalisation, Gram
//!   matrix, nearest neighbours, SVCCA basis), and its row subsets and permutations;
//! - [`neighbours`]: each row's nearest neighbours, from a Gram matrix or a block of rows at a
//!   time;
//! - [`knn`]: the nearest-neighbour metrics (mutual, cycle, longest common subsequence, edit
//!   distance), each a mean of per-row scores;
//! - [`linear`]: the kernel metrics from the rows, without n x n matrices (what [`score`]
//!   uses);
//! - [`hsic`], [`cknna`]: the same metrics on n x n Gram matrices, by their definitions: the
//!   tests' oracle for [`linear`] (kernel alignment, CKA with the biased and the unbiased HSIC,
//!   debiased CKA with U-centred Gram matrices; CKA restricted to mutual nearest neighbours);
//! - [`svcca`]: SVD then CCA, on top of [`eigen`] (symmetric eigen-decomposition);
//! - [`dcor`]: distance correlation, of distance matrices formed from the Gram matrices or a
//!   block of rows at a time;
//! - [`rsa`]: RSA, the correlation of the two similarity matrices' entries (its n x n
//!   definition and its views; the Gram-free value is [`linear::rsa_of`]);
//! - [`resample`]: bootstrap and half-sampling intervals, permutation p-values;
//! - [`procrustes`]: the orthogonal Procrustes similarity, and the distances after the best
//!   orthogonal alignment (ReSi's alignment group);
//! - [`spectrum`]: every eigenvalue of a symmetric matrix (Procrustes' nuclear norms);
//! - [`calibration`]: a score calibrated against its permutation null (τ, and the score above
//!   it);
//! - [`views`]: the kernel metrics' replicates on a half or a permutation of the rows, read
//!   through index lists from Gram matrices computed once;
//! - [`linalg`]: the matrix product (gemm) these and the adapters' training share.
//!
//! Conventions are those of the Platonic Representation Hypothesis code (minyoungg/platonic-rep,
//! `metrics.py` and `measure_alignment.py`), so that scores compare with the literature:
//! features are clamped at the mean over rows of each row's 0.95 quantile of |x|, rows are L2
//! normalised, neighbours are by inner product with the row itself excluded. Where we differ it
//! is on purpose and said beside the code: no `+ 1e-6` in CKA-type denominators (identical
//! inputs score exactly 1), an exact SVD and an exact CCA in SVCCA (theirs are randomised and
//! iterative), ties between equal similarities broken by the lower row index.

pub mod calibration;
pub mod cknna;
pub mod dcor;
pub mod eigen;
pub mod error;
pub mod hsic;
pub mod knn;
pub mod linalg;
pub mod linear;
pub mod neighbours;
pub mod procrustes;
pub mod resample;
pub mod rsa;
pub mod space;
pub mod spectrum;
pub mod svcca;
pub mod views;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
pub use space::{Space, SpaceOptions};

/// Bump when the same inputs would give different scores.
pub const VERSION: u32 = 9;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// The research notebook's: tr(K₁K₂)/√(tr(K₁K₁)·tr(K₂K₂)), K = ZZᵀ of L2-normalised rows,
    /// uncentred and without the outlier clamp.
    KernelAlignment,
    MutualKnn,
    CycleKnn,
    LcsKnn,
    EditDistanceKnn,
    Cka,
    UnbiasedCka,
    Cknna,
    Svcca,
    DebiasedCka,
    /// ReSi's Jaccard similarity of the neighbour sets: |N_A ∩ N_B| / |N_A ∪ N_B| per row.
    JaccardKnn,
    /// ReSi's rank similarity: shared neighbours weighted by how close their ranks are.
    RankKnn,
    /// RSA: Pearson's r between the off-diagonal entries of the two cosine-similarity matrices.
    Rsa,
    /// The orthogonal Procrustes similarity ‖ÂᵀB̂‖_* of the centred, unit-norm prepared rows,
    /// in [0, 1]; ReSi's Procrustes distance is √(2 − 2s), the angular shape metric arccos s.
    Procrustes,
    /// Distance correlation: the double-centred Euclidean distance matrices' correlation, as a
    /// V-statistic (its square root), in [0, 1].
    DistanceCorrelation,
    /// ReSi's second-order cosine similarity: per row, the cosine of its distances to the union
    /// of its neighbours in both spaces, in A against in B; the mean over rows.
    SecondOrderCosine,
}

impl Metric {
    pub const ALL: [Metric; 16] = [
        Metric::KernelAlignment,
        Metric::MutualKnn,
        Metric::CycleKnn,
        Metric::LcsKnn,
        Metric::EditDistanceKnn,
        Metric::Cka,
        Metric::UnbiasedCka,
        Metric::Cknna,
        Metric::Svcca,
        Metric::DebiasedCka,
        Metric::JaccardKnn,
        Metric::RankKnn,
        Metric::Rsa,
        Metric::Procrustes,
        Metric::DistanceCorrelation,
        Metric::SecondOrderCosine,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Metric::KernelAlignment => "kernel_alignment",
            Metric::MutualKnn => "mutual_knn",
            Metric::CycleKnn => "cycle_knn",
            Metric::LcsKnn => "lcs_knn",
            Metric::EditDistanceKnn => "edit_distance_knn",
            Metric::Cka => "cka",
            Metric::UnbiasedCka => "unbiased_cka",
            Metric::Cknna => "cknna",
            Metric::Svcca => "svcca",
            Metric::DebiasedCka => "debiased_cka",
            Metric::JaccardKnn => "jaccard_knn",
            Metric::RankKnn => "rank_knn",
            Metric::Rsa => "rsa",
            Metric::Procrustes => "procrustes",
            Metric::DistanceCorrelation => "distance_correlation",
            Metric::SecondOrderCosine => "second_order_cosine",
        }
    }

    pub fn parse(name: &str) -> Result<Metric> {
        Metric::ALL
            .into_iter()
            .find(|m| m.name() == name)
            .ok_or_else(|| Error::Invalid {
                what: format!("metric `{name}`"),
                message: format!(
                    "unknown metric; expected `all` or one of: {}",
                    Metric::ALL.map(Metric::name).join(", ")
                ),
            })
    }

    /// Metrics that are a mean of one score per row: their bootstrap resamples rows' scores
    /// (resampling the rows themselves would make a duplicated row its copy's neighbour).
    pub fn per_row(self) -> bool {
        matches!(
            self,
            Metric::MutualKnn
                | Metric::CycleKnn
                | Metric::LcsKnn
                | Metric::EditDistanceKnn
                | Metric::JaccardKnn
                | Metric::RankKnn
        )
    }

    /// What a score of identical inputs is: 1 for the normalised metrics, `topk` for lcs_knn
    /// (the reference returns the mean length of the longest common subsequence, unnormalised).
    pub fn identical_score(self, topk: usize) -> f64 {
        match self {
            Metric::LcsKnn => topk as f64,
            _ => 1.0,
        }
    }
}

/// Parses `all` or a comma-separated list of metric names.
pub fn parse_list(list: &str) -> Result<Vec<Metric>> {
    if list.trim() == "all" {
        return Ok(Metric::ALL.to_vec());
    }
    list.split(',').map(|m| Metric::parse(m.trim())).collect()
}

/// Score of `metric` between two prepared spaces over the same rows ([`scores`]).
pub fn score(metric: Metric, a: &Space, b: &Space) -> f64 {
    scores(&[metric], a, b)[0]
}

/// Scores of `metrics` between two prepared spaces over the same rows. No n x n matrix is
/// formed above [`space::GRAM_ROWS`] rows: the kernel metrics read the rows ([`linear`]: each
/// space's moments once, and one cross product per pair for CKA, unbiased and debiased CKA,
/// one of the unclamped rows for kernel alignment), the kNN metrics the neighbour lists, SVCCA
/// the bases. Time per pair: kNN metrics O(n·k) (k², LCS and edit distance); kernel alignment,
/// CKA, unbiased and debiased CKA O(n·d_a·d_b) (plus O(n·d²) per space, once); CKNNA
/// O(n·k·(d_a + d_b)); SVCCA O(cca_dim³) from the bases (O(n·d²) each, once per space); RSA
/// O(n·d_a·d_b) (the cross product CKA reads); Procrustes that, and O(d³) for its eigenvalues;
/// distance correlation O(n²·(d_a + d_b)), a block of rows at a time (the one measure here
/// whose point is quadratic in n). Memory O(d² + n·k), and O(128·n) for distance correlation.
pub fn scores(metrics: &[Metric], a: &Space, b: &Space) -> Vec<f64> {
    let (pa, pb) = (a.prepared.view(), b.prepared.view());
    // Small spaces keep their Gram matrices: the n x n definitions are then O(n²), cheaper than
    // the rows' O(n·d²) (the resampling scores thousands of small subsets).
    let grams = a.gram().zip(b.gram());
    let prepared_cross = std::cell::OnceCell::new();
    let cross = || prepared_cross.get_or_init(|| linear::cross(pa, pb));
    metrics
        .iter()
        .map(|&metric| match metric {
            Metric::KernelAlignment => match a.gram_unclamped().zip(b.gram_unclamped()) {
                Some((ga, gb)) => hsic::kernel_alignment(ga, gb),
                None => {
                    let (ua, ub) = (a.unclamped_rows().view(), b.unclamped_rows().view());
                    let (ma, mb) = (a.unclamped_moments(), b.unclamped_moments());
                    linear::kernel_alignment_of(&linear::cross(ua, ub), ma, mb)
                }
            },
            Metric::MutualKnn
            | Metric::CycleKnn
            | Metric::LcsKnn
            | Metric::EditDistanceKnn
            | Metric::JaccardKnn
            | Metric::RankKnn => {
                let rows = knn::row_scores(metric, a.knn(), b.knn(), a.topk());
                rows.iter().sum::<f64>() / rows.len().max(1) as f64
            }
            Metric::Cka => match grams {
                Some((ga, gb)) => hsic::cka(ga, gb),
                None => linear::cka_of(cross(), a.moments(), b.moments()),
            },
            // Debiased CKA's U-centred inner products are n(n−3) unbiased HSICs: one value.
            Metric::UnbiasedCka | Metric::DebiasedCka => match grams {
                Some((ga, gb)) => hsic::unbiased_cka(ga, gb),
                None => linear::unbiased_cka_of(cross(), a.moments(), b.moments()),
            },
            Metric::Cknna | Metric::SecondOrderCosine => neighbour_entries(metric, a, b),
            Metric::Svcca => svcca::from_bases(a.basis(), b.basis()),
            Metric::Rsa => match grams {
                Some((ga, gb)) => rsa::of_grams(ga, gb),
                None => linear::rsa_of(cross(), a.moments(), b.moments()),
            },
            // Rows wider than they are many are read through Gram factors (r ≤ n columns).
            Metric::Procrustes if a.wide() || b.wide() => {
                let all: Vec<usize> = (0..a.rows()).collect();
                procrustes::similarity_of_views(
                    a.procrustes_rows(),
                    &all,
                    b.procrustes_rows(),
                    &all,
                )
            }
            Metric::Procrustes => linear::procrustes_of(cross(), a.moments(), b.moments()),
            // Distances are no inner products: above GRAM_ROWS a blocked O(n²·d) pass.
            Metric::DistanceCorrelation => match grams {
                Some((ga, gb)) => {
                    dcor::of_distances(&dcor::distances_of_gram(ga), &dcor::distances_of_gram(gb))
                }
                None => dcor::of_rows(pa, pb),
            },
        })
        .collect()
}

/// CKNNA and the second-order cosine read n·k kernel entries: the Gram matrices' when kept (the
/// dense definition, `cknna::cknna`, is the tests' oracle), else the rows' dot products.
fn neighbour_entries(metric: Metric, a: &Space, b: &Space) -> f64 {
    let (pa, pb) = (a.prepared.view(), b.prepared.view());
    let of = |k: &dyn Fn(usize, usize) -> f64, l: &dyn Fn(usize, usize) -> f64| match metric {
        Metric::Cknna => linear::cknna_of_entries(a.rows(), k, l, a.knn(), b.knn()),
        _ => knn::second_order_cosine_of_entries(a.rows(), k, l, a.knn(), b.knn()),
    };
    match a.gram().zip(b.gram()) {
        Some((ga, gb)) => of(&|i, j| ga[[i, j]], &|i, j| gb[[i, j]]),
        None => of(&|i, j| pa.row(i).dot(&pa.row(j)), &|i, j| {
            pb.row(i).dot(&pb.row(j))
        }),
    }
}

/// Bytes scoring spaces of `n` rows and widths `dims` holds at its peak: every space's rows in
/// up to four copies (the caller's raw rows, the prepared and the unclamped rows, the f32 copy
/// the neighbour search screens with and SVCCA's standardised blocks; freed memory is not
/// always returned to the system),
/// its neighbour lists and, at most [`space::GRAM_ROWS`] rows, its two Gram matrices; with
/// `resample_rows` r > 0, the resampling's subsample of r rows, its centred Gram matrix and
/// distance matrix per space ([`views`]; the other two as well above `GRAM_ROWS`), the Gram factor of each space
/// wider than r (Procrustes), and per thread a half's rows for SVCCA; one block of neighbour
/// similarities. Linear in n above `GRAM_ROWS` (no n x n matrix).
pub fn memory_needed(
    n: usize,
    resample_rows: usize,
    dims: &[usize],
    topk: usize,
    threads: usize,
) -> u64 {
    let width: u64 = dims.iter().map(|&d| d as u64).sum();
    let spaces = dims.len() as u64;
    let g = n.min(space::GRAM_ROWS) as u64;
    let n_rows = n as u64;
    let rows = 4 * 8 * n_rows * width + spaces * 8 * n_rows * (topk as u64 + 1);
    let grams = 2 * spaces * 8 * g * g;
    let r = n.min(resample_rows) as u64;
    // The centred Gram matrix and distance correlation's distances; the other two above
    // GRAM_ROWS.
    let per_space = if r > space::GRAM_ROWS as u64 { 4 } else { 2 };
    let wide = dims.iter().filter(|&&d| d as u64 > r).count() as u64;
    let resampling = (per_space * spaces + wide) * 8 * r * r + (2 + threads as u64) * 8 * r * width;
    rows + grams + resampling + (64 << 20)
}

/// Fails with advice when `need` bytes are more than the memory available, instead of letting
/// the allocator abort the process.
pub fn check_memory(need: u64, what: &str) -> Result<()> {
    if let Some(avail) = available_memory()
        && need > avail
    {
        return Err(Error::Invalid {
            what: what.into(),
            message: format!(
                "scoring needs about {:.1} GiB (the rows of every space, and the resampling's \
                 subsample), but {:.1} GiB is available; use fewer rows (align `sample_size`, \
                 or subsample the files) or lower `resample_rows`",
                need as f64 / (1u64 << 30) as f64,
                avail as f64 / (1u64 << 30) as f64
            ),
        });
    }
    Ok(())
}

/// MemAvailable from /proc/meminfo (None where there is none).
fn available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Preparation for `metrics` only: the unclamped Gram matrix when kernel alignment is asked
/// for, SVCCA's basis when SVCCA is.
pub fn options_for(metrics: &[Metric], topk: usize, clamp: bool, cca_dim: usize) -> SpaceOptions {
    SpaceOptions {
        topk,
        clamp_quantile: clamp.then_some(0.95),
        cca_dim: metrics.contains(&Metric::Svcca).then_some(cca_dim),
        keep_unclamped: metrics.contains(&Metric::KernelAlignment),
    }
}

/// Fails unless the two sides have as many rows (`names` label them): the metrics compare row i
/// of one with row i of the other.
pub fn same_rows(a: usize, b: usize, names: (&str, &str)) -> Result<()> {
    if a == b {
        return Ok(());
    }
    Err(Error::Invalid {
        what: format!("{} and {}", names.0, names.1),
        message: format!(
            "{a} rows against {b}: the metrics compare row i of one with row i of the other"
        ),
    })
}

/// The scores of `metrics` between two row-aligned feature matrices (what `pipeline metric`
/// prints), which become the spaces' rows ([`Space::from_rows`]). `names` label the two sides
/// in errors.
pub fn compare(
    a: ndarray::Array2<f64>,
    b: ndarray::Array2<f64>,
    metrics: &[Metric],
    options: SpaceOptions,
    names: (&str, &str),
) -> Result<Vec<(Metric, f64)>> {
    same_rows(a.nrows(), b.nrows(), names)?;
    let threads = rayon::current_num_threads();
    check_memory(
        memory_needed(a.nrows(), 0, &[a.ncols(), b.ncols()], options.topk, threads),
        &format!("{} and {}", names.0, names.1),
    )?;
    let sa = Space::from_rows(a, options, names.0)?;
    let sb = Space::from_rows(b, options, names.1)?;
    Ok(metrics
        .iter()
        .copied()
        .zip(scores(metrics, &sa, &sb))
        .collect())
}

#[cfg(test)]
mod tests {
    /// The align and model-set stages' keys hash their settings, where `all` stays `all`: a
    /// measure added to `Metric::ALL` changes what they write, and without a new VERSION a
    /// stored result lacking it would be trusted. Move both numbers together.
    #[test]
    fn a_new_measure_comes_with_a_new_version() {
        assert_eq!((super::Metric::ALL.len(), super::VERSION), (16, 9));
    }
}
