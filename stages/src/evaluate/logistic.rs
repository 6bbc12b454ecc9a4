//! The downstream linear probe: multinomial logistic regression on standardised features
//! (mean and standard deviation of the probe's train split), with a bias and an L2 penalty on
//! the weights, minimising mean cross-entropy + (l2 / 2)·‖W‖² by full-batch accelerated
//! gradient descent (Nesterov) for a fixed number of epochs. The step is 1/L with L the
//! objective's smoothness constant, ½·λ_max(XᵀX/n) + l2 (λ_max by power iteration), so the
//! descent cannot diverge and needs no learning rate. Deterministic: no sampling inside.

use ndarray::{Array1, Array2, Axis};

#[derive(Debug, Clone)]
pub struct LogisticModel {
    mean: Array1<f64>,
    scale: Array1<f64>,
    /// (d + 1) x classes; the last row is the bias.
    weights: Array2<f64>,
}

fn augment(x: &Array2<f64>, mean: &Array1<f64>, scale: &Array1<f64>) -> Array2<f64> {
    let (n, d) = x.dim();
    let mut out = Array2::ones((n, d + 1));
    out.slice_mut(ndarray::s![.., ..d])
        .assign(&((x - mean) / scale));
    out
}

fn softmax_rows(mut z: Array2<f64>) -> Array2<f64> {
    for mut row in z.outer_iter_mut() {
        let m = row.fold(f64::NEG_INFINITY, |a, &b| a.max(b));
        row.mapv_inplace(|v| (v - m).exp());
        let s = row.sum();
        row.mapv_inplace(|v| v / s);
    }
    z
}

/// Largest eigenvalue of XᵀX/n by power iteration.
fn largest_eigenvalue(x: &Array2<f64>) -> f64 {
    let n = x.nrows() as f64;
    let mut v = Array1::from_shape_fn(x.ncols(), |i| 1.0 + (i % 7) as f64 * 0.1);
    let mut lambda = 0.0;
    for _ in 0..200 {
        let w = x.t().dot(&x.dot(&v)) / n;
        let norm = w.dot(&w).sqrt();
        if norm == 0.0 {
            return 0.0;
        }
        let next = norm / v.dot(&v).sqrt();
        v = w / norm;
        if (next - lambda).abs() <= 1e-9 * next {
            lambda = next;
            break;
        }
        lambda = next;
    }
    lambda
}

impl LogisticModel {
    pub fn fit(
        x: &Array2<f64>,
        labels: &[usize],
        classes: usize,
        epochs: usize,
        l2: f64,
    ) -> LogisticModel {
        let n = x.nrows().max(1) as f64;
        let mean = x
            .mean_axis(Axis(0))
            .unwrap_or_else(|| Array1::zeros(x.ncols()));
        let scale = x
            .std_axis(Axis(0), 0.0)
            .mapv(|s| if s > 1e-12 { s } else { 1.0 });
        let xa = augment(x, &mean, &scale);
        let mut onehot = Array2::<f64>::zeros((x.nrows(), classes));
        for (i, &l) in labels.iter().enumerate() {
            onehot[[i, l]] = 1.0;
        }
        // The softmax Hessian is bounded by ½ I per class; 5% headroom for the power iteration.
        let step = 1.0 / (1.05 * 0.5 * largest_eigenvalue(&xa) + l2).max(1e-12);
        let d1 = xa.ncols();
        let mut w = Array2::<f64>::zeros((d1, classes));
        let mut prev = w.clone();
        for t in 1..=epochs {
            let momentum = (t as f64 - 1.0) / (t as f64 + 2.0);
            let v = &w + &((&w - &prev) * momentum);
            let p = softmax_rows(xa.dot(&v));
            let mut grad = xa.t().dot(&(p - &onehot)) / n;
            let mut reg = v.clone() * l2;
            reg.row_mut(d1 - 1).fill(0.0);
            grad += &reg;
            prev = w;
            w = v - grad * step;
        }
        LogisticModel {
            mean,
            scale,
            weights: w,
        }
    }

    pub fn predict(&self, x: &Array2<f64>) -> Vec<usize> {
        augment(x, &self.mean, &self.scale)
            .dot(&self.weights)
            .outer_iter()
            .map(|row| {
                row.iter()
                    .enumerate()
                    .fold((0, f64::NEG_INFINITY), |best, (i, &v)| {
                        if v > best.1 { (i, v) } else { best }
                    })
                    .0
            })
            .collect()
    }

    pub fn accuracy(&self, x: &Array2<f64>, labels: &[usize]) -> f64 {
        let p = self.predict(x);
        p.iter().zip(labels).filter(|(a, b)| a == b).count() as f64 / labels.len().max(1) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn separates_linearly_separable_classes() {
        // Three classes around well-separated centres in 20-d, with wide nuisance dimensions.
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let centres = Array2::from_shape_fn((3, 20), |_| rng.random::<f64>() * 8.0 - 4.0);
        let make = |rng: &mut ChaCha8Rng, n: usize| {
            let labels: Vec<usize> = (0..n).map(|i| i % 3).collect();
            let x = Array2::from_shape_fn((n, 20), |(i, j)| {
                centres[[labels[i], j]] + rng.random::<f64>() - 0.5
            });
            (x, labels)
        };
        let (x, y) = make(&mut rng, 300);
        let (xt, yt) = make(&mut rng, 150);
        let model = LogisticModel::fit(&x, &y, 3, 200, 1e-4);
        assert_eq!(model.accuracy(&x, &y), 1.0);
        assert_eq!(model.accuracy(&xt, &yt), 1.0);
    }

    #[test]
    fn an_xor_is_not_linearly_separable() {
        // A linear probe must not separate XOR: accuracy stays near chance. Guards against a
        // "probe" that memorises.
        let x = ndarray::array![[0.0, 0.0], [1.0, 1.0], [0.0, 1.0], [1.0, 0.0]];
        let y = [0, 0, 1, 1];
        let model = LogisticModel::fit(&x, &y, 2, 300, 1e-3);
        assert!(model.accuracy(&x, &y) <= 0.75);
    }
}
