//! Which pairs the evaluation reads: those of one split, one pair per image (a second caption
//! of the same image would put a duplicate row in the image spaces, and a duplicate is always
//! its copy's nearest neighbour), capped at `sample_size` by a seeded choice, in record order.

use ndarray::Array2;

use crate::dataset::Split;
use crate::dataset::split::rank;
use crate::features::FeatureMatrix;
use crate::train::data::{PairRow, TrainingData};

/// The error for a chosen split (`setting`, e.g. `[align] split`) that holds no pairs, saying
/// why where the split is the seeded one.
pub fn empty_split(setting: &str, split: Split, data: &TrainingData) -> crate::Error {
    crate::Error::Invalid {
        what: format!("{setting} = {:?}", split.as_str()),
        message: format!(
            "no image–caption pairs in that split{}",
            if data.dataset_split {
                ""
            } else {
                " (the seeded split has train and val only)"
            }
        ),
    }
}

pub fn select(data: &TrainingData, split: Split, sample_size: usize, seed: u64) -> Vec<PairRow> {
    pick(
        &data.pairs,
        |p| (&p.record_id, &p.image_id, p.split),
        split,
        sample_size,
        seed,
    )
}

/// The same choice over any records: `of` gives an item's (record id, image id, split).
pub fn pick<T: Clone>(
    items: &[T],
    of: impl Fn(&T) -> (&str, &str, Split),
    split: Split,
    sample_size: usize,
    seed: u64,
) -> Vec<T> {
    let mut rows: Vec<&T> = items.iter().filter(|p| of(p).2 == split).collect();
    rows.sort_by(|a, b| {
        let (a, b) = (of(a), of(b));
        a.1.cmp(b.1).then(a.0.cmp(b.0))
    });
    rows.dedup_by(|b, a| of(a).1 == of(b).1);
    if sample_size > 0 && rows.len() > sample_size {
        rows.sort_by_cached_key(|p| {
            let id = of(p).0;
            (rank(seed, "evaluate-sample", id), id.to_string())
        });
        rows.truncate(sample_size);
    }
    rows.sort_by(|a, b| of(a).0.cmp(of(b).0));
    rows.into_iter().cloned().collect()
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
