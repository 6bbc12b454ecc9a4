//! Which pairs the evaluation reads: those of one split, one pair per image (a second caption
//! of the same image would put a duplicate row in the image spaces, and a duplicate is always
//! its copy's nearest neighbour), capped at `sample_size` by a seeded choice, in record order.

use ndarray::Array2;

use crate::dataset::Split;
use crate::dataset::split::rank;
use crate::features::FeatureMatrix;
use crate::train::data::{PairRow, TrainingData};

pub fn select(data: &TrainingData, split: Split, sample_size: usize, seed: u64) -> Vec<PairRow> {
    let mut rows: Vec<PairRow> = data
        .pairs
        .iter()
        .filter(|p| p.split == split)
        .cloned()
        .collect();
    rows.sort_by(|a, b| {
        a.image_id
            .cmp(&b.image_id)
            .then(a.record_id.cmp(&b.record_id))
    });
    rows.dedup_by(|b, a| a.image_id == b.image_id);
    if sample_size > 0 && rows.len() > sample_size {
        rows.sort_by_cached_key(|p| {
            (
                rank(seed, "evaluate-sample", &p.record_id),
                p.record_id.clone(),
            )
        });
        rows.truncate(sample_size);
    }
    rows.sort_by(|a, b| a.record_id.cmp(&b.record_id));
    rows
}

/// Rows `rows` of `m` as an f64 matrix.
pub fn matrix(m: &FeatureMatrix, rows: impl Iterator<Item = usize>) -> Array2<f64> {
    let mut values = Vec::new();
    let mut n = 0;
    for r in rows {
        values.extend(m.row(r).iter().map(|&v| f64::from(v)));
        n += 1;
    }
    Array2::from_shape_vec((n, m.dim()), values).expect("whole rows")
}
