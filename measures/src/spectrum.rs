//! All eigenvalues of a symmetric matrix, without its eigenvectors: Householder reduction to
//! a tridiagonal matrix, then the implicit QL algorithm with Wilkinson shifts (Golub & Van
//! Loan, §8.3; the algorithm of EISPACK's `tql1`). The Procrustes measures need every singular
//! value of a d x d cross product, thousands of times in a permutation null: this is
//! O(4/3·d³) once, where cyclic Jacobi ([`crate::eigen::jacobi`]) costs several sweeps of
//! O(d³) each and keeps vectors no one reads.

use ndarray::Array2;

use crate::linalg::dot;

/// Every eigenvalue of symmetric `a`, in decreasing order. Only the lower triangle is read.
/// Time O(4/3·n³) for the reduction plus O(n²) for QL; memory one n x n copy.
pub fn eigenvalues(a: &Array2<f64>) -> Vec<f64> {
    let n = a.nrows();
    assert_eq!(n, a.ncols(), "eigenvalues of a square matrix");
    let (mut diagonal, mut off) = tridiagonal(a);
    implicit_ql(&mut diagonal, &mut off);
    diagonal.sort_by(|x, y| y.total_cmp(x));
    diagonal
}

/// Householder reduction: the diagonal (n) and sub-diagonal (n, last entry 0) of QᵀAQ.
/// Step k reflects column k below the diagonal onto its first entry, H = I − β·vvᵀ, and
/// updates the trailing block's lower triangle as A − v·wᵀ − w·vᵀ with p = β·A·v,
/// w = p − (β/2)(vᵀp)·v (2n³/3 multiply-adds in all).
fn tridiagonal(a: &Array2<f64>) -> (Vec<f64>, Vec<f64>) {
    let n = a.nrows();
    // Row-major lower-and-upper copy; the trailing block is kept symmetric.
    let mut m: Vec<f64> =
        Array2::from_shape_fn((n, n), |(i, j)| if i >= j { a[[i, j]] } else { a[[j, i]] })
            .into_iter()
            .collect();
    let mut diagonal = vec![0.0; n];
    let mut off = vec![0.0; n];
    let (mut v, mut p) = (vec![0.0; n], vec![0.0; n]);
    for k in 0..n.saturating_sub(2) {
        let start = k + 1;
        let len = n - start;
        let column = |i: usize| m[(start + i) * n + k];
        let norm = (0..len).map(|i| column(i) * column(i)).sum::<f64>().sqrt();
        diagonal[k] = m[k * n + k];
        if norm == 0.0 {
            off[k] = 0.0;
            continue;
        }
        let alpha = if column(0) > 0.0 { -norm } else { norm };
        for (i, vi) in v[..len].iter_mut().enumerate() {
            *vi = column(i);
        }
        v[0] -= alpha;
        let vv: f64 = v[..len].iter().map(|x| x * x).sum();
        off[k] = alpha;
        if vv == 0.0 {
            continue;
        }
        let beta = 2.0 / vv;
        let (v, p) = (&v[..len], &mut p[..len]);
        // p = β·A·v from the lower triangle: row i's entries left of the diagonal give p_i
        // their dot product with v and give each p_j (j < i) v_i times themselves.
        p.fill(0.0);
        for i in 0..len {
            let row = &m[(start + i) * n + start..(start + i) * n + start + i + 1];
            let (left, diagonal) = row.split_at(i);
            p[i] += dot(left, &v[..i]) + diagonal[0] * v[i];
            for (pj, &a) in p[..i].iter_mut().zip(left) {
                *pj += a * v[i];
            }
        }
        p.iter_mut().for_each(|x| *x *= beta);
        let half = 0.5 * beta * dot(v, p);
        for (pi, vi) in p.iter_mut().zip(v.iter()) {
            *pi -= half * vi;
        }
        for i in 0..len {
            let (vi, wi) = (v[i], p[i]);
            let row = &mut m[(start + i) * n + start..(start + i) * n + start + i + 1];
            for ((x, &wj), &vj) in row.iter_mut().zip(p.iter()).zip(v) {
                *x -= vi * wj + wi * vj;
            }
        }
    }
    if n >= 2 {
        diagonal[n - 2] = m[(n - 2) * n + n - 2];
        off[n - 2] = m[(n - 1) * n + n - 2];
    }
    if n >= 1 {
        diagonal[n - 1] = m[n * n - 1];
    }
    (diagonal, off)
}

/// The implicit QL algorithm on a symmetric tridiagonal matrix (`d` its diagonal, `e[i]` the
/// entry between rows i and i + 1, `e[n − 1]` unused): `d` becomes its eigenvalues. Each
/// sweep deflates at the first negligible sub-diagonal entry (|e| ≤ ε·(|d_m| + |d_m+1|)).
fn implicit_ql(d: &mut [f64], e: &mut [f64]) {
    let n = d.len();
    if n == 0 {
        return;
    }
    e[n - 1] = 0.0;
    for l in 0..n {
        for _iteration in 0..64 {
            let mut m = l;
            while m + 1 < n {
                let scale = d[m].abs() + d[m + 1].abs();
                if e[m].abs() <= f64::EPSILON * scale {
                    break;
                }
                m += 1;
            }
            if m == l {
                break;
            }
            ql_step(d, e, l, m);
        }
    }
}

/// One shifted QL sweep over rows l..=m (Givens rotations chasing the bulge upward).
fn ql_step(d: &mut [f64], e: &mut [f64], l: usize, m: usize) {
    let mut g = (d[l + 1] - d[l]) / (2.0 * e[l]);
    let mut r = g.hypot(1.0);
    g = d[m] - d[l] + e[l] / (g + r.copysign(g));
    let (mut s, mut c, mut p) = (1.0f64, 1.0f64, 0.0f64);
    let mut i = m;
    while i > l {
        i -= 1;
        let f = s * e[i];
        let b = c * e[i];
        r = f.hypot(g);
        e[i + 1] = r;
        if r == 0.0 {
            // The rotation underflowed: the matrix splits here; redo from l.
            d[i + 1] -= p;
            e[m] = 0.0;
            return;
        }
        s = f / r;
        c = g / r;
        g = d[i + 1] - p;
        r = (d[i] - g) * s + 2.0 * c * b;
        p = s * r;
        d[i + 1] = g + p;
        g = c * r - b;
    }
    d[l] -= p;
    e[l] = g;
    e[m] = 0.0;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eigen::jacobi;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn symmetric(n: usize, rank: usize, seed: u64) -> Array2<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let x = Array2::from_shape_fn((n, rank), |_| rng.random::<f64>() - 0.5);
        let shift = Array2::from_shape_fn((n, n), |(i, j)| if i == j { -0.1 } else { 0.0 });
        x.dot(&x.t()) + shift
    }

    #[test]
    fn equals_jacobi_on_full_rank_low_rank_and_repeated_spectra() {
        let mut cases = vec![
            symmetric(1, 1, 1),
            symmetric(2, 2, 2),
            symmetric(7, 7, 3),
            symmetric(40, 40, 4),
            symmetric(40, 3, 5),
            Array2::eye(6) * 2.5,
            Array2::zeros((5, 5)),
        ];
        // Already tridiagonal, with a zero off-diagonal entry (a split).
        let mut t = Array2::<f64>::zeros((6, 6));
        for i in 0..6 {
            t[[i, i]] = i as f64 - 2.0;
            if i + 1 < 6 && i != 2 {
                t[[i, i + 1]] = 0.7;
                t[[i + 1, i]] = 0.7;
            }
        }
        cases.push(t);
        for (c, a) in cases.iter().enumerate() {
            let (want, _) = jacobi(a);
            let got = eigenvalues(a);
            let scale = want.iter().map(|x| x.abs()).fold(1.0, f64::max);
            for (g, w) in got.iter().zip(&want) {
                assert!(
                    (g - w).abs() < 1e-11 * scale,
                    "case {c}: {got:?} vs {want:?}"
                );
            }
        }
        assert!(eigenvalues(&Array2::zeros((0, 0))).is_empty());
    }

    #[test]
    fn trace_and_frobenius_norm_are_kept_at_width_300() {
        let a = symmetric(300, 120, 9);
        let values = eigenvalues(&a);
        let trace: f64 = (0..300).map(|i| a[[i, i]]).sum();
        let frobenius: f64 = a.iter().map(|x| x * x).sum();
        assert!((values.iter().sum::<f64>() - trace).abs() < 1e-9 * trace.abs().max(1.0));
        let squares: f64 = values.iter().map(|x| x * x).sum();
        assert!((squares - frobenius).abs() < 1e-9 * frobenius);
        // Rank 120, shifted by −0.1: 180 eigenvalues sit at −0.1 exactly.
        assert!(values[120..].iter().all(|&v| (v + 0.1).abs() < 1e-10));
    }
}
