//! Symmetric eigen-decomposition, enough for SVCCA and the report's PCA without a LAPACK
//! dependency: cyclic Jacobi rotations for small matrices (exact to rounding), and for the k
//! largest pairs of larger ones Lanczos with full reorthogonalisation, stopped when every
//! wanted Ritz pair's residual ‖Gv − λv‖ (read off the tridiagonal matrix) is below 1e-12 · λ₁.
//! Lanczos needs a few times k matrix-vector products where the subspace iteration it replaced
//! needed hundreds of block products on flat spectra (SVCCA's random halves spent most of
//! align's time there); the subspace iteration stays as the tests' second opinion.

use ndarray::{Array1, Array2, Axis};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Largest size solved by Jacobi directly.
const JACOBI_MAX: usize = 24;

/// All eigenpairs of symmetric `a`: eigenvalues in decreasing order, eigenvectors as the
/// columns of the returned matrix, in the same order.
pub fn jacobi(a: &Array2<f64>) -> (Vec<f64>, Array2<f64>) {
    let n = a.nrows();
    let mut m: Vec<f64> = a.iter().copied().collect();
    let mut v = vec![0.0; n * n];
    for i in 0..n {
        v[i * n + i] = 1.0;
    }
    let scale: f64 = m.iter().map(|x| x * x).sum::<f64>().max(f64::MIN_POSITIVE);
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| m[i * n + j] * m[i * n + j])
            .sum();
        if off <= 1e-30 * scale {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = m[p * n + q];
                if apq.abs() < 1e-300 {
                    continue;
                }
                let theta = (m[q * n + q] - m[p * n + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (akp, akq) = (m[k * n + p], m[k * n + q]);
                    m[k * n + p] = c * akp - s * akq;
                    m[k * n + q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (m[p * n + k], m[q * n + k]);
                    m[p * n + k] = c * apk - s * aqk;
                    m[q * n + k] = s * apk + c * aqk;
                }
                for k in 0..n {
                    let (vkp, vkq) = (v[k * n + p], v[k * n + q]);
                    v[k * n + p] = c * vkp - s * vkq;
                    v[k * n + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| m[j * n + j].total_cmp(&m[i * n + i]).then(i.cmp(&j)));
    let values = order.iter().map(|&i| m[i * n + i]).collect();
    let vectors = Array2::from_shape_fn((n, n), |(r, c)| v[r * n + order[c]]);
    (values, vectors)
}

/// Orthonormalises the columns of `q` in place (modified Gram–Schmidt, twice for stability).
fn orthonormalise(q: &mut Array2<f64>) {
    let p = q.ncols();
    for _ in 0..2 {
        for j in 0..p {
            for i in 0..j {
                let d = q.column(i).dot(&q.column(j));
                let ci = q.column(i).to_owned();
                q.column_mut(j).scaled_add(-d, &ci);
            }
            let norm = q.column(j).dot(&q.column(j)).sqrt().max(1e-300);
            q.column_mut(j).mapv_inplace(|x| x / norm);
        }
    }
}

/// The `k` largest eigenpairs of symmetric positive semi-definite `g` (values decreasing,
/// vectors as columns).
pub fn top(g: &Array2<f64>, k: usize) -> (Vec<f64>, Array2<f64>) {
    let m = g.nrows();
    let k = k.min(m);
    if m <= JACOBI_MAX {
        let (values, vectors) = jacobi(g);
        return (
            values[..k].to_vec(),
            vectors.select(Axis(1), &(0..k).collect::<Vec<_>>()),
        );
    }
    lanczos(g, k)
}

fn random_unit(rng: &mut ChaCha8Rng, m: usize, against: &[Array1<f64>]) -> Array1<f64> {
    let mut v = Array1::from_shape_fn(m, |_| rng.random::<f64>() - 0.5);
    reorthogonalise(&mut v, against);
    let norm = v.dot(&v).sqrt().max(1e-300);
    v / norm
}

/// Removes `w`'s components along the orthonormal `basis`, twice (one pass loses orthogonality
/// to rounding when w has shrunk a lot).
fn reorthogonalise(w: &mut Array1<f64>, basis: &[Array1<f64>]) {
    for _ in 0..2 {
        for b in basis {
            let c = b.dot(w);
            w.scaled_add(-c, b);
        }
    }
}

/// The `k` (≤ m) largest eigenpairs of symmetric `g` by Lanczos with full reorthogonalisation.
/// The Krylov basis Q and the tridiagonal T = QᵀGQ grow a vector at a time; T's eigenpairs
/// (θ, s) give Ritz pairs (θ, Qs) with residual |β·s_last|. When the Krylov space closes
/// (β ≈ 0) before k pairs are found, a random vector orthogonal to Q continues it; at m
/// vectors T is similar to G and the pairs are exact.
fn lanczos(g: &Array2<f64>, k: usize) -> (Vec<f64>, Array2<f64>) {
    let m = g.nrows();
    let norm = g.iter().map(|x| x * x).sum::<f64>().sqrt();
    let mut rng = ChaCha8Rng::seed_from_u64(0x5eed);
    let mut basis: Vec<Array1<f64>> = Vec::with_capacity(m.min(4 * k + 40));
    let (mut alpha, mut beta): (Vec<f64>, Vec<f64>) = (Vec::new(), Vec::new());
    let mut q = random_unit(&mut rng, m, &[]);
    let mut next_check = (2 * k + 10).min(m);
    loop {
        let j = basis.len();
        let mut w = g.dot(&q);
        let a = q.dot(&w);
        basis.push(q);
        alpha.push(a);
        reorthogonalise(&mut w, &basis);
        let b = w.dot(&w).sqrt();
        let closed = b <= 1e-13 * norm;
        if basis.len() >= next_check || basis.len() == m || (closed && basis.len() >= k) {
            let size = j + 1;
            let t = Array2::from_shape_fn((size, size), |(r, c)| {
                if r == c {
                    alpha[r]
                } else if r + 1 == c {
                    beta[r]
                } else if c + 1 == r {
                    beta[c]
                } else {
                    0.0
                }
            });
            let (theta, s) = jacobi(&t);
            let tol = 1e-12 * theta[0].abs().max(f64::MIN_POSITIVE);
            let residual = |i: usize| if closed { 0.0 } else { (b * s[[j, i]]).abs() };
            if size == m || (size >= k && (0..k).all(|i| residual(i) <= tol)) {
                let mut vectors = Array2::zeros((m, k));
                for (r, qr) in basis.iter().enumerate() {
                    for c in 0..k {
                        vectors.column_mut(c).scaled_add(s[[r, c]], qr);
                    }
                }
                return (theta[..k].to_vec(), vectors);
            }
            next_check = (size + size / 4).max(size + 4).min(m);
        }
        if closed {
            beta.push(0.0);
            q = random_unit(&mut rng, m, &basis);
        } else {
            beta.push(b);
            q = w / b;
        }
    }
}

/// The `k` largest eigenpairs of symmetric positive semi-definite `g` by subspace iteration
/// with Rayleigh–Ritz on a block of k + 10 vectors (the tests' second opinion on [`top`]).
pub fn top_by_subspace_iteration(g: &Array2<f64>, k: usize) -> (Vec<f64>, Array2<f64>) {
    let m = g.nrows();
    let k = k.min(m);
    let p = (k + 10).min(m);
    let mut rng = ChaCha8Rng::seed_from_u64(0x5eed);
    let mut q = Array2::from_shape_fn((m, p), |_| rng.random::<f64>() - 0.5);
    orthonormalise(&mut q);
    let mut best = (Vec::new(), Array2::zeros((m, k)));
    for _ in 0..5000 {
        let z = g.dot(&q);
        let t = q.t().dot(&z);
        let t = (&t + &t.t()) / 2.0;
        let (values, w) = jacobi(&t);
        let ritz = q.dot(&w);
        let gz = z.dot(&w);
        let top = values[0].abs().max(f64::MIN_POSITIVE);
        let worst = (0..k)
            .map(|j| {
                let r = &gz.column(j) - &(&ritz.column(j) * values[j]);
                r.dot(&r).sqrt() / top
            })
            .fold(0.0, f64::max);
        best = (
            values[..k].to_vec(),
            ritz.select(Axis(1), &(0..k).collect::<Vec<_>>()),
        );
        if worst < 1e-12 {
            break;
        }
        q = z;
        orthonormalise(&mut q);
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(g: &Array2<f64>, values: &[f64], vectors: &Array2<f64>) {
        for (j, &l) in values.iter().enumerate() {
            let v = vectors.column(j);
            let r = g.dot(&v) - &v * l;
            assert!(r.dot(&r).sqrt() < 1e-9, "residual of pair {j}");
            assert!((v.dot(&v) - 1.0).abs() < 1e-12);
        }
        for w in values.windows(2) {
            assert!(w[0] >= w[1]);
        }
    }

    fn random_psd(m: usize, seed: u64) -> Array2<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let a = Array2::from_shape_fn((m, m + 5), |_| rng.random::<f64>() - 0.5);
        a.dot(&a.t())
    }

    #[test]
    fn jacobi_decomposes_a_known_matrix() {
        let g = ndarray::array![[2.0, 1.0], [1.0, 2.0]];
        let (values, vectors) = jacobi(&g);
        assert!((values[0] - 3.0).abs() < 1e-14 && (values[1] - 1.0).abs() < 1e-14);
        check(&g, &values, &vectors);
        let g = random_psd(40, 1);
        let (values, vectors) = jacobi(&g);
        check(&g, &values, &vectors);
    }

    #[test]
    fn lanczos_finds_the_top_pairs_of_low_rank_and_clustered_spectra() {
        // Rank 4 (the Krylov space closes after 5 vectors; zeros fill the rest of the top 10),
        // and a flat spectrum (noise), against Jacobi.
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let a = Array2::from_shape_fn((60, 4), |_| rng.random::<f64>() - 0.5);
        let low = a.dot(&a.t());
        let noise = Array2::from_shape_fn((60, 400), |_| rng.random::<f64>() - 0.5);
        let flat = noise.dot(&noise.t());
        for g in [low, flat] {
            let (values, vectors) = top(&g, 10);
            check(&g, &values, &vectors);
            let (all, _) = jacobi(&g);
            for j in 0..10 {
                assert!((values[j] - all[j]).abs() < 1e-9 * all[0], "value {j}");
            }
            let gram = vectors.t().dot(&vectors);
            assert!(
                (gram - Array2::<f64>::eye(10))
                    .iter()
                    .all(|x| x.abs() < 1e-9)
            );
        }
    }

    #[test]
    fn subspace_iteration_matches_jacobi() {
        let g = random_psd(200, 2);
        let (all, _) = jacobi(&g);
        for (values, vectors) in [top(&g, 10), top_by_subspace_iteration(&g, 10)] {
            check(&g, &values, &vectors);
            for j in 0..10 {
                assert!((values[j] - all[j]).abs() < 1e-9 * all[0]);
            }
        }
    }
}
