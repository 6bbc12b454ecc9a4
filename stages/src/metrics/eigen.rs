//! Symmetric eigen-decomposition, enough for SVCCA without a LAPACK dependency:
//! cyclic Jacobi rotations for small matrices (exact to rounding), and for large ones subspace
//! iteration with Rayleigh–Ritz on a block of k + 10 vectors, stopped when every wanted Ritz
//! pair's residual ‖Gv − λv‖ is below 1e-12 · λ₁.

use ndarray::{Array2, Axis};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Largest size solved by Jacobi directly.
const JACOBI_MAX: usize = 128;

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
    fn subspace_iteration_matches_jacobi() {
        let g = random_psd(200, 2);
        let (values, vectors) = top(&g, 10);
        check(&g, &values, &vectors);
        let (all, _) = jacobi(&g);
        for j in 0..10 {
            assert!((values[j] - all[j]).abs() < 1e-9 * all[0]);
        }
    }
}
