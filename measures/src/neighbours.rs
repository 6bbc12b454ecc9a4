//! Each row's k nearest neighbours by inner product, the row itself excluded; most similar
//! first, equal similarities to the lower index (the reference's `argsort` leaves ties to the
//! device).
//!
//! From a Gram matrix ([`neighbours`]) when a space keeps one; otherwise from the rows
//! ([`neighbours_of_rows`]) a block of rows at a time, without an n x n matrix. The rows' search
//! screens in f32 (a matrix product about three times the f64 rate on this machine) and decides
//! in f64: every row whose f32 similarity is within twice the f32 error bound of the k-th best
//! is a candidate, and the candidates' exact f64 inner products choose the k. The bound is
//! rigorous, so the lists equal an all-f64 search's.

use ndarray::{Array2, ArrayView1, ArrayView2, s};
use rayon::prelude::*;

use crate::linalg::matmul_into;

/// Bytes one tile of [`neighbours_of_rows`]'s similarities holds.
const BLOCK_BYTES: usize = 64 << 20;

/// `b` ranks before `a`: higher similarity, then lower index.
fn better(b: (f64, usize), a: (f64, usize)) -> bool {
    match b.0.total_cmp(&a.0) {
        std::cmp::Ordering::Greater => true,
        std::cmp::Ordering::Less => false,
        std::cmp::Ordering::Equal => b.1 < a.1,
    }
}

/// The best `k` of `candidates` (similarity, index), best first: one pass that keeps the k
/// best seen in order (an insertion only when a candidate beats the k-th, rare after the first
/// rows), O(len + insertions·k) with no allocation beyond the k.
pub(crate) fn best_k(
    candidates: impl Iterator<Item = (f64, usize)>,
    k: usize,
) -> Vec<(f64, usize)> {
    let mut kept: Vec<(f64, usize)> = Vec::with_capacity(k + 1);
    if k == 0 {
        return kept;
    }
    for c in candidates {
        if kept.len() == k && !better(c, kept[k - 1]) {
            continue;
        }
        let at = kept.partition_point(|&x| !better(c, x));
        kept.insert(at, c);
        kept.truncate(k);
    }
    kept
}

/// Row `i`'s `k` most similar other rows, given its similarities to every row.
fn top_k(row: ArrayView1<f64>, i: usize, k: usize) -> Vec<usize> {
    let candidates = row
        .iter()
        .enumerate()
        .filter(|&(j, _)| j != i)
        .map(|(j, &v)| (v, j));
    best_k(candidates, k).into_iter().map(|(_, j)| j).collect()
}

/// Each row's `k` most similar other rows by `gram`.
pub fn neighbours(gram: &Array2<f64>, k: usize) -> Vec<Vec<usize>> {
    (0..gram.nrows())
        .into_par_iter()
        .map(|i| top_k(gram.row(i), i, k))
        .collect()
}

/// A bound on |f32 inner product − exact| for rows of width `d` and norms `na`, `nb`: each
/// input rounds to f32 (relative 2⁻²⁴ each) and a sum of d products in any order errs by at
/// most γ_d·Σ|a_i·b_i| ≤ γ_d·‖a‖·‖b‖ (Higham, Accuracy and Stability, §3.1), γ_d = d·u/(1 − d·u);
/// with a 1% margin, and the f64 side's own error (d·2⁻⁵³ relative) on top.
fn f32_error_bound(d: usize, na: f64, nb: f64) -> f64 {
    let u = f64::from(f32::EPSILON) / 2.0;
    let terms = (d + 3) as f64;
    let gamma = terms * u / (1.0 - terms * u);
    1.01 * gamma * na * nb + (d as f64) * f64::EPSILON * na * nb
}

/// One row's f32 screen, fed a tile of similarities at a time: the k best f32 values seen so
/// far (the k-th less the window is the screen's floor, which only rises) and every entry at or
/// above the floor when it came. An entry within the final floor was above the floor when it
/// came, so the final filter keeps exactly the entries a screen over the whole row at once
/// would.
struct Screen {
    /// The k best f32 values seen, best first.
    top: Vec<f32>,
    /// The k-th best value seen (-∞ until k are seen) and the floor it gives.
    kth: f32,
    floor: f64,
    candidates: Vec<(f32, u32)>,
    /// Twice the row's f32 error bound.
    window: f64,
    /// Prune the candidates when they pass this many.
    prune_at: usize,
}

impl Screen {
    fn new(k: usize, window: f64) -> Screen {
        Screen {
            top: Vec::with_capacity(k + 1),
            kth: f32::NEG_INFINITY,
            floor: f64::NEG_INFINITY,
            candidates: Vec::new(),
            window,
            prune_at: 4 * k + 64,
        }
    }

    /// Similarity `v` to row `j`. The common case (under the floor) is one comparison.
    #[inline]
    fn consider(&mut self, v: f32, j: usize, k: usize) {
        if f64::from(v) < self.floor {
            return;
        }
        if v > self.kth {
            let at = self.top.partition_point(|&x| x >= v);
            self.top.insert(at, v);
            self.top.truncate(k);
            if self.top.len() == k {
                self.kth = self.top[k - 1];
                self.floor = f64::from(self.kth) - self.window;
            }
        }
        self.candidates.push((v, j as u32));
    }

    /// Drops the candidates under the floor once they pass the prune mark.
    fn prune(&mut self) {
        if self.candidates.len() > self.prune_at {
            let floor = self.floor;
            self.candidates.retain(|&(v, _)| f64::from(v) >= floor);
            self.prune_at = self.prune_at.max(2 * self.candidates.len());
        }
    }

    /// Similarities `values` to the rows `first..first + values.len()`, `skip` (the row
    /// itself, when among them) left out.
    fn feed_row(&mut self, values: &[f32], first: usize, skip: Option<usize>, k: usize) {
        let (before, after) = match skip {
            Some(i) => (&values[..i - first], &values[i - first + 1..]),
            None => (values, &values[..0]),
        };
        for (j, &v) in before.iter().enumerate() {
            self.consider(v, first + j, k);
        }
        let after_first = first + before.len() + 1;
        for (j, &v) in after.iter().enumerate() {
            self.consider(v, after_first + j, k);
        }
        self.prune();
    }

    /// The k best candidates by their exact f64 inner products with row `i` of `x`.
    fn decide(self, x: ArrayView2<f64>, i: usize, k: usize) -> Vec<usize> {
        let floor = self.floor;
        let row = x.row(i);
        let candidates = self
            .candidates
            .into_iter()
            .filter(|&(v, _)| f64::from(v) >= floor)
            .map(|(_, j)| (row.dot(&x.row(j as usize)), j as usize));
        best_k(candidates, k).into_iter().map(|(_, j)| j).collect()
    }
}

/// Feeds column c of `sims` to `screens[c]` (the rows of a tile's lower side), a band of
/// columns per task: each task reads its band of every row (contiguous runs), so no transposed
/// copy is needed. `first` numbers the tile's first row.
fn feed_columns(screens: &mut [Screen], sims: &Array2<f32>, first: usize, k: usize) {
    const BAND: usize = 64;
    let width = sims.ncols();
    let all = sims.as_slice().expect("a new array is in standard layout");
    screens
        .par_chunks_mut(BAND)
        .enumerate()
        .for_each(|(band, chunk)| {
            let (c0, w) = (band * BAND, chunk.len());
            for (r, row) in all.chunks_exact(width.max(1)).enumerate() {
                for (screen, &v) in chunk.iter_mut().zip(&row[c0..c0 + w]) {
                    screen.consider(v, first + r, k);
                }
            }
            chunk.iter_mut().for_each(Screen::prune);
        });
}

/// The rows of a standard-layout matrix as slices, in parallel.
fn rows_of(m: &Array2<f32>) -> rayon::slice::Chunks<'_, f32> {
    m.as_slice()
        .expect("a new array is in standard layout")
        .par_chunks(m.ncols().max(1))
}

/// Each row's `k` most similar other rows by inner product (f32 screen, f64 decision; the
/// module's doc), from tiles of similarities X_I·X_Jᵀ for row blocks I ≤ J: each tile feeds the
/// rows of I by its rows and the rows of J by its columns, so the product is paid for half the
/// pairs.
/// O(n²·d/2) time at the f32 product rate, O(n·d + n·k + tile²) memory (plus candidates within
/// the screen's window, a few k per row on features without near-ties).
pub fn neighbours_of_rows(x: ArrayView2<f64>, k: usize) -> Vec<Vec<usize>> {
    let tile = ((BLOCK_BYTES / 4) as f64).sqrt() as usize;
    neighbours_of_rows_tiled(x, k, tile)
}

/// [`neighbours_of_rows`] with tiles of `tile` rows (the tests use small tiles to cross many
/// tile borders).
pub fn neighbours_of_rows_tiled(x: ArrayView2<f64>, k: usize, tile: usize) -> Vec<Vec<usize>> {
    let (n, d) = x.dim();
    if n == 0 {
        return Vec::new();
    }
    let k = k.min(n - 1);
    if k == 0 {
        return vec![Vec::new(); n];
    }
    let narrow: Array2<f32> = x.mapv(|v| v as f32);
    let norms: Vec<f64> = x.outer_iter().map(|r| r.dot(&r).sqrt()).collect();
    let largest = norms.iter().copied().fold(0.0, f64::max);
    let mut screens: Vec<Screen> = norms
        .iter()
        .map(|&na| Screen::new(k, 2.0 * f32_error_bound(d, na, largest)))
        .collect();
    let tile = tile.clamp(1, n);
    let starts: Vec<usize> = (0..n).step_by(tile).collect();
    for (bi, &si) in starts.iter().enumerate() {
        let ei = (si + tile).min(n);
        for &sj in &starts[bi..] {
            let ej = (sj + tile).min(n);
            let mut sims = Array2::<f32>::zeros((ei - si, ej - sj));
            matmul_into(
                &narrow.slice(s![si..ei, ..]),
                &narrow.slice(s![sj..ej, ..]).t(),
                &mut sims,
                false,
            );
            let (head, tail) = screens.split_at_mut(sj);
            if si == sj {
                tail[..ej - sj]
                    .par_iter_mut()
                    .zip(rows_of(&sims))
                    .enumerate()
                    .for_each(|(r, (screen, row))| screen.feed_row(row, sj, Some(si + r), k));
                continue;
            }
            head[si..ei]
                .par_iter_mut()
                .zip(rows_of(&sims))
                .for_each(|(screen, row)| screen.feed_row(row, sj, None, k));
            feed_columns(&mut tail[..ej - sj], &sims, si, k);
        }
    }
    screens
        .into_par_iter()
        .enumerate()
        .map(|(i, screen)| screen.decide(x, i, k))
        .collect()
}
