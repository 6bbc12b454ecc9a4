//! Image ↔ text retrieval by cosine similarity in the aligned space: for each query, the rank
//! (1 = best) of its first correct match in the gallery; recall@k is the fraction of queries
//! ranked ≤ k. Image queries search all captions (correct: any caption of that image); caption
//! queries search the distinct images. Equal similarities rank the correct item last
//! (pessimistic), so collapsed embeddings cannot score by ties.
//!
//! The one definition of R@1 in the pipeline: training's validation history and the probe
//! stage's retrieval both call [`of_pairs`].

use std::collections::HashMap;

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::json::nan_as_null;
use crate::metrics::space::l2_normalise;
use crate::named_enum;

named_enum! {
    /// Which way the queries go.
    pub enum Direction {
        ImageToText = "image_to_text",
        TextToImage = "text_to_image",
    }
}

/// Retrieval in one direction. (No `deny_unknown_fields`: it is flattened into the probe
/// stage's rows, which serde does not allow with it.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Retrieval {
    pub direction: Direction,
    pub queries: usize,
    pub gallery: usize,
    /// (k, recall@k)
    pub recall: Vec<(usize, f64)>,
    #[serde(with = "nan_as_null")]
    pub median_rank: f64,
    #[serde(with = "nan_as_null")]
    pub mean_rank: f64,
}

impl Retrieval {
    /// Recall at `k`, if measured.
    pub fn recall_at(&self, k: usize) -> Option<f64> {
        self.recall.iter().find(|r| r.0 == k).map(|r| r.1)
    }
}

fn summarise(direction: Direction, ranks: &[usize], gallery: usize, ks: &[usize]) -> Retrieval {
    let q = ranks.len().max(1) as f64;
    let mut sorted = ranks.to_vec();
    sorted.sort_unstable();
    let median_rank = match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2] as f64,
        n => (sorted[n / 2 - 1] + sorted[n / 2]) as f64 / 2.0,
    };
    Retrieval {
        direction,
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

/// Rank of the best correct item for each query row of `sim` (queries x gallery); `first` is
/// the block's first query.
fn ranks(sim: &Array2<f64>, first: usize, correct: &dyn Fn(usize, usize) -> bool) -> Vec<usize> {
    sim.outer_iter()
        .enumerate()
        .map(|(q, row)| {
            let q = first + q;
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

/// Bytes of image–caption similarities one block holds.
const BLOCK_BYTES: usize = 64 << 20;

/// Calls `f(first image row, similarities of a block of images to every caption)` for blocks
/// covering all images: memory O(block·captions), never images x captions at once.
fn blocks(ui: &Array2<f64>, ut: &Array2<f64>, rows: usize, f: &mut dyn FnMut(usize, &Array2<f64>)) {
    for start in (0..ui.nrows()).step_by(rows) {
        let end = (start + rows).min(ui.nrows());
        f(start, &ui.slice(ndarray::s![start..end, ..]).dot(&ut.t()));
    }
}

/// `images`: one row per distinct image; `texts`: one row per caption, `owner[t]` the row in
/// `images` of caption t's image. The similarities are computed a block of images at a time
/// (twice when there are several blocks: a caption's rank needs its own image's similarity
/// before counting the others).
pub fn evaluate(
    images: &Array2<f64>,
    texts: &Array2<f64>,
    owner: &[usize],
    ks: &[usize],
) -> [Retrieval; 2] {
    evaluate_owned(images.clone(), texts.clone(), owner, ks)
}

/// [`evaluate`] on rows the caller gives up: they are normalised in place, so the evaluation
/// holds no second copy of them.
pub fn evaluate_owned(
    images: Array2<f64>,
    texts: Array2<f64>,
    owner: &[usize],
    ks: &[usize],
) -> [Retrieval; 2] {
    let rows = (BLOCK_BYTES / (8 * texts.nrows().max(1))).max(1);
    evaluate_in_blocks(images, texts, owner, ks, rows)
}

/// [`evaluate`] with blocks of `rows` images.
fn evaluate_in_blocks(
    images: Array2<f64>,
    texts: Array2<f64>,
    owner: &[usize],
    ks: &[usize],
    rows: usize,
) -> [Retrieval; 2] {
    let (n_images, n_texts) = (images.nrows(), texts.nrows());
    let (ui, ut) = (l2_normalise(images), l2_normalise(texts));
    let mut r_i2t = Vec::with_capacity(ui.nrows());
    // Each caption's similarity to its own image.
    let mut own = vec![f64::NEG_INFINITY; ut.nrows()];
    blocks(&ui, &ut, rows, &mut |start, sim| {
        r_i2t.extend(ranks(sim, start, &|q, g| owner[g] == q));
        for (t, &o) in owner.iter().enumerate() {
            if (start..start + sim.nrows()).contains(&o) {
                own[t] = sim[[o - start, t]];
            }
        }
    });
    // 1 + the other images at least as similar to the caption as its own.
    let mut r_t2i = vec![1usize; ut.nrows()];
    blocks(&ui, &ut, rows, &mut |start, sim| {
        for (i, row) in sim.outer_iter().enumerate() {
            for (t, &v) in row.iter().enumerate() {
                if owner[t] != start + i && v >= own[t] {
                    r_t2i[t] += 1;
                }
            }
        }
    });
    [
        summarise(Direction::ImageToText, &r_i2t, n_texts, ks),
        summarise(Direction::TextToImage, &r_t2i, n_images, ks),
    ]
}

/// Retrieval among image–caption pairs: row i of `pair_images` is the embedding of pair i's
/// image (equal for pairs of one image), row i of `texts` its caption's, `image_ids[i]` its
/// image. The gallery of images holds each image once (its first pair's row).
pub fn of_pairs<S: AsRef<str>>(
    pair_images: &Array2<f64>,
    texts: &Array2<f64>,
    image_ids: &[S],
    ks: &[usize],
) -> [Retrieval; 2] {
    let gallery = Gallery::of(image_ids);
    let images = pair_images.select(ndarray::Axis(0), &gallery.first_rows);
    evaluate(&images, texts, &gallery.owner, ks)
}

/// The image gallery of a list of pairs: each image once, at its first pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gallery {
    /// Per gallery image, the pair row it comes from (its first pair).
    pub first_rows: Vec<usize>,
    /// Per pair (caption), its image's place in the gallery.
    pub owner: Vec<usize>,
}

impl Gallery {
    pub fn of<S: AsRef<str>>(image_ids: &[S]) -> Gallery {
        let mut place: HashMap<&str, usize> = HashMap::new();
        let mut first_rows = Vec::new();
        let owner = image_ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                *place.entry(id.as_ref()).or_insert_with(|| {
                    first_rows.push(i);
                    first_rows.len() - 1
                })
            })
            .collect();
        Gallery { first_rows, owner }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn blocks_of_images_rank_as_one_block() {
        // Captions equal to their image or to another image (ties), and noise.
        let mut state = 7u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        let images = Array2::from_shape_fn((9, 4), |_| next());
        let owner: Vec<usize> = (0..23).map(|t| t % 9).collect();
        let texts = Array2::from_shape_fn((23, 4), |(t, j)| match t % 3 {
            0 => images[[owner[t], j]],
            1 => images[[(owner[t] + 1) % 9, j]],
            _ => next(),
        });
        let whole = evaluate_in_blocks(images.clone(), texts.clone(), &owner, &[1, 3], 9);
        for rows in [1, 2, 4, 8] {
            assert_eq!(
                evaluate_in_blocks(images.clone(), texts.clone(), &owner, &[1, 3], rows),
                whole
            );
        }
    }

    #[test]
    fn the_gallery_holds_each_image_once_at_its_first_pair() {
        let g = Gallery::of(&["b", "a", "b", "c", "a"]);
        assert_eq!(g.first_rows, vec![0, 1, 3]);
        assert_eq!(g.owner, vec![0, 1, 0, 2, 1]);
    }

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

    #[test]
    fn pairs_of_one_image_share_a_gallery_entry() {
        // Pairs 0 and 2 are two captions of image "a"; pair 1 is image "b".
        let pair_images = array![[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]];
        let texts = array![[1.0, 0.2], [0.1, 1.0], [0.9, 0.0]];
        let [i2t, t2i] = of_pairs(&pair_images, &texts, &["a", "b", "a"], &[1]);
        assert_eq!((i2t.queries, i2t.gallery), (2, 3));
        assert_eq!((t2i.queries, t2i.gallery), (3, 2));
        // By hand: image a's best caption is its own (pair 2, cos 1.0); image b's is pair 1.
        assert_eq!(i2t.recall_at(1), Some(1.0));
        assert_eq!(t2i.recall_at(1), Some(1.0));
        let explicit = evaluate(&array![[1.0, 0.0], [0.0, 1.0]], &texts, &[0, 1, 0], &[1]);
        assert_eq!([i2t, t2i], explicit);
    }
}
