//! Joint PCA of several embedding spaces for the report's projection figures. Rows are
//! L2-normalised (so every space has the same scale) and zero-padded to the widest space, then
//! centred together; the components come from the eigenvectors of the N x N Gram matrix
//! (N = all rows), scores = eigenvector · √eigenvalue.
//!
//! Spaces of different encoders have unrelated coordinates: how far apart two spaces sit says
//! little; the spread and clustering within a space, and how aligned spaces overlap each other,
//! is what the projection shows.

use ndarray::{Array2, Axis};

use crate::metrics::eigen;

pub struct Projection {
    /// Per input space, its rows' scores on the first `k` components.
    pub scores: Vec<Array2<f64>>,
    /// Fraction of the total variance each component explains.
    pub explained: Vec<f64>,
}

pub fn project(spaces: &[&Array2<f64>], k: usize) -> Projection {
    let width = spaces.iter().map(|s| s.ncols()).max().unwrap_or(0);
    let total_rows: usize = spaces.iter().map(|s| s.nrows()).sum();
    let mut x = Array2::<f64>::zeros((total_rows, width));
    let mut at = 0;
    for s in spaces {
        for row in s.outer_iter() {
            let norm = row.dot(&row).sqrt().max(1e-12);
            x.row_mut(at)
                .slice_mut(ndarray::s![..s.ncols()])
                .assign(&(&row / norm));
            at += 1;
        }
    }
    let mean = x.mean_axis(Axis(0)).expect("rows");
    let x = &x - &mean;
    let gram = x.dot(&x.t());
    let total: f64 = gram.diag().sum();
    let (values, vectors) = eigen::top(&gram, k);
    let mut all = vectors.clone();
    for (j, mut col) in all.columns_mut().into_iter().enumerate() {
        let s = values[j].max(0.0).sqrt();
        col.mapv_inplace(|v| v * s);
    }
    let mut scores = Vec::new();
    let mut at = 0;
    for s in spaces {
        scores.push(all.slice(ndarray::s![at..at + s.nrows(), ..]).to_owned());
        at += s.nrows();
    }
    Projection {
        scores,
        explained: values.iter().map(|v| v / total.max(1e-300)).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_the_direction_of_largest_spread() {
        // Points on a line along (1, 1, 0) plus tiny noise: PC1 explains almost everything.
        let a = Array2::from_shape_fn((50, 3), |(i, j)| match j {
            0 => 1.0 + i as f64,
            1 => 1.0 + i as f64 * 0.5,
            _ => 0.01 * ((i * 7) % 5) as f64,
        });
        let p = project(&[&a], 2);
        assert!(p.explained[0] > 0.95, "{:?}", p.explained);
        assert_eq!(p.scores[0].dim(), (50, 2));
    }
}
