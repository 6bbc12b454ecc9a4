//! Image ↔ text retrieval by cosine similarity in the aligned space: for each query, the rank
//! (1 = best) of its first correct match in the gallery; recall@k is the fraction of queries
//! ranked ≤ k. Image queries search all captions (correct: any caption of that image); caption
//! queries search the distinct images. Equal similarities rank the correct item last
//! (pessimistic), so collapsed embeddings cannot score by ties.

use ndarray::Array2;
use serde::Serialize;

use crate::metrics::space::l2_normalise;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Retrieval {
    pub direction: String,
    pub queries: usize,
    pub gallery: usize,
    /// (k, recall@k)
    pub recall: Vec<(usize, f64)>,
    pub median_rank: f64,
    pub mean_rank: f64,
}

fn summarise(direction: &str, ranks: &[usize], gallery: usize, ks: &[usize]) -> Retrieval {
    let q = ranks.len().max(1) as f64;
    let mut sorted = ranks.to_vec();
    sorted.sort_unstable();
    let median_rank = match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2] as f64,
        n => (sorted[n / 2 - 1] + sorted[n / 2]) as f64 / 2.0,
    };
    Retrieval {
        direction: direction.into(),
        queries: ranks.len(),
        gallery,
        recall: ks
            .iter()
            .map(|&k| (k, ranks.iter().filter(|&&r| r <= k).count() as f64 / q))
            .collect(),
        median_rank,
        mean_rank: ranks.iter().sum::<usize>() as f64 / q,
    }
}

/// Rank of the best correct item for each query row of `sim` (queries x gallery).
fn ranks(sim: &Array2<f64>, correct: &dyn Fn(usize, usize) -> bool) -> Vec<usize> {
    sim.outer_iter()
        .enumerate()
        .map(|(q, row)| {
            let best = (0..row.len())
                .filter(|&g| correct(q, g))
                .map(|g| row[g])
                .fold(f64::NEG_INFINITY, f64::max);
            // Pessimistic: every wrong item at least as similar ranks ahead.
            1 + (0..row.len())
                .filter(|&g| !correct(q, g) && row[g] >= best)
                .count()
        })
        .collect()
}

/// `images`: one row per distinct image; `texts`: one row per caption, `owner[t]` the row in
/// `images` of caption t's image.
pub fn evaluate(
    images: &Array2<f64>,
    texts: &Array2<f64>,
    owner: &[usize],
    ks: &[usize],
) -> [Retrieval; 2] {
    let (ui, ut) = (l2_normalise(images.clone()), l2_normalise(texts.clone()));
    let i2t = ui.dot(&ut.t());
    let t2i = i2t.t().to_owned();
    let r_i2t = ranks(&i2t, &|q, g| owner[g] == q);
    let r_t2i = ranks(&t2i, &|q, g| owner[q] == g);
    [
        summarise("image_to_text", &r_i2t, texts.nrows(), ks),
        summarise("text_to_image", &r_t2i, images.nrows(), ks),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn ranks_by_hand() {
        let images = array![[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]];
        // Caption 0 matches image 0, caption 1 image 1, caption 2 (image 2) is closest to image 0.
        let texts = array![[1.0, 0.1], [0.1, 1.0], [1.0, 0.0]];
        let [i2t, t2i] = evaluate(&images, &texts, &[0, 1, 2], &[1, 2]);
        // image 0: caption 0 vs caption 2 (cos 0.995 vs 1.0) -> rank 2; image 1 -> 1;
        // image 2: captions 0/1 (0.77) beat caption 2 (0.707) -> rank 3.
        assert_eq!(i2t.recall, vec![(1, 1.0 / 3.0), (2, 2.0 / 3.0)]);
        assert_eq!(i2t.median_rank, 2.0);
        // caption 2 -> image 0 first (1.0) then image 2 (0.707) -> rank 2.
        assert_eq!(t2i.recall[0], (1, 2.0 / 3.0));
        // Collapsed embeddings: all ties rank last.
        let flat = array![[1.0, 0.0], [1.0, 0.0]];
        let [i2t, _] = evaluate(&flat, &flat, &[0, 1], &[1]);
        assert_eq!(i2t.recall[0], (1, 0.0));
    }
}
