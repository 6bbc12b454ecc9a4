//! Image ↔ text retrieval by cosine similarity in the aligned space: for each query, the rank
//! (1 = best) of its first correct match in the gallery; recall@k is the fraction of queries
//! ranked ≤ k. Image queries search all captions (correct: any caption of that image); caption
//! queries search the distinct images. Equal similarities rank the correct item last
//! (pessimistic), so collapsed embeddings cannot score by ties.
//!
//! The one definition of R@1 in the pipeline: training's validation history and the probe
//! stage's retrieval both call [`of_pairs`].

use std::collections::HashMap;

use ndarray::{Array2, ArrayView2, s};
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

/// Bytes of image–caption similarities one block holds.
const BLOCK_BYTES: usize = 64 << 20;
/// Captions per block: with the image rows [`BLOCK_BYTES`] allows, what one block of
/// normalised rows and similarities holds, whatever the number of captions.
const TEXT_BLOCK: usize = 8192;

/// `images`: one row per distinct image; `texts`: one row per caption, `owner[t]` the row in
/// `images` of caption t's image.
pub fn evaluate(
    images: &Array2<f64>,
    texts: &Array2<f64>,
    owner: &[usize],
    ks: &[usize],
) -> [Retrieval; 2] {
    evaluate_rows(images.view(), texts.view(), owner, ks)
}

/// [`evaluate`] on rows of any float type (validation keeps the adapters' f32 outputs: half
/// the memory, and the same f64 values once converted).
///
/// Time O(images · captions · d), twice (a query's rank needs its best correct similarity
/// before the others are counted). Memory O(block · d + images + captions), never the rows'
/// f64 copies: the similarities are computed a block of images by a block of captions at a
/// time, each block normalised in f64 as it is used. Every similarity is one element of a
/// block's GEMM, which sums over d in the same order whatever the block (so ties, which rank
/// pessimistically, are the same ties in every block shape: tested).
pub fn evaluate_rows<T: Copy + Into<f64>>(
    images: ArrayView2<T>,
    texts: ArrayView2<T>,
    owner: &[usize],
    ks: &[usize],
) -> [Retrieval; 2] {
    let text_rows = TEXT_BLOCK.min(texts.nrows()).max(1);
    let image_rows = (BLOCK_BYTES / (8 * text_rows)).max(1);
    evaluate_in_blocks(images, texts, owner, ks, image_rows, text_rows)
}

/// A block of rows as f64, each row of unit length ([`l2_normalise`]: row by row, so a block
/// gets the values the whole matrix would).
fn normalised<T: Copy + Into<f64>>(rows: ArrayView2<T>) -> Array2<f64> {
    l2_normalise(rows.mapv(Into::into))
}

/// Calls `f(first image, first caption, similarities)` for every block of `image_rows` images
/// by `text_rows` captions.
fn blocks<T: Copy + Into<f64>>(
    images: ArrayView2<T>,
    texts: ArrayView2<T>,
    (image_rows, text_rows): (usize, usize),
    f: &mut dyn FnMut(usize, usize, &Array2<f64>),
) {
    for i0 in (0..images.nrows()).step_by(image_rows) {
        let i1 = (i0 + image_rows).min(images.nrows());
        let ui = normalised(images.slice(s![i0..i1, ..]));
        for t0 in (0..texts.nrows()).step_by(text_rows) {
            let t1 = (t0 + text_rows).min(texts.nrows());
            let ut = normalised(texts.slice(s![t0..t1, ..]));
            f(i0, t0, &ui.dot(&ut.t()));
        }
    }
}

/// [`evaluate_rows`] with blocks of `image_rows` images by `text_rows` captions.
fn evaluate_in_blocks<T: Copy + Into<f64>>(
    images: ArrayView2<T>,
    texts: ArrayView2<T>,
    owner: &[usize],
    ks: &[usize],
    image_rows: usize,
    text_rows: usize,
) -> [Retrieval; 2] {
    let (n_images, n_texts) = (images.nrows(), texts.nrows());
    let shape = (image_rows.max(1), text_rows.max(1));
    // Each caption's similarity to its own image, and each image's to its best caption.
    let mut own = vec![f64::NEG_INFINITY; n_texts];
    let mut best_own = vec![f64::NEG_INFINITY; n_images];
    blocks(images, texts, shape, &mut |i0, t0, sim| {
        for (t, &o) in owner.iter().enumerate().skip(t0).take(sim.ncols()) {
            if (i0..i0 + sim.nrows()).contains(&o) {
                let v = sim[[o - i0, t - t0]];
                own[t] = v;
                best_own[o] = best_own[o].max(v);
            }
        }
    });
    // Pessimistic ranks: 1 + every wrong item at least as similar as the query's best correct
    // one (an image's best caption; a caption's own image).
    let (mut r_i2t, mut r_t2i) = (vec![1usize; n_images], vec![1usize; n_texts]);
    blocks(images, texts, shape, &mut |i0, t0, sim| {
        for (r, row) in sim.outer_iter().enumerate() {
            let i = i0 + r;
            for (c, &v) in row.iter().enumerate() {
                let t = t0 + c;
                if owner[t] != i {
                    r_i2t[i] += usize::from(v >= best_own[i]);
                    r_t2i[t] += usize::from(v >= own[t]);
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

    /// The definition on the whole similarity matrix at once: the oracle of the blocked one.
    fn whole(
        images: &Array2<f64>,
        texts: &Array2<f64>,
        owner: &[usize],
        ks: &[usize],
    ) -> [Retrieval; 2] {
        let sim = l2_normalise(images.clone()).dot(&l2_normalise(texts.clone()).t());
        let r_i2t: Vec<usize> = (0..sim.nrows())
            .map(|i| {
                let best = (0..sim.ncols())
                    .filter(|&t| owner[t] == i)
                    .map(|t| sim[[i, t]])
                    .fold(f64::NEG_INFINITY, f64::max);
                1 + (0..sim.ncols())
                    .filter(|&t| owner[t] != i && sim[[i, t]] >= best)
                    .count()
            })
            .collect();
        let r_t2i: Vec<usize> = (0..sim.ncols())
            .map(|t| {
                let own = sim[[owner[t], t]];
                1 + (0..sim.nrows())
                    .filter(|&i| i != owner[t] && sim[[i, t]] >= own)
                    .count()
            })
            .collect();
        [
            summarise(Direction::ImageToText, &r_i2t, sim.ncols(), ks),
            summarise(Direction::TextToImage, &r_t2i, sim.nrows(), ks),
        ]
    }

    fn noise(seed: u64) -> impl FnMut() -> f64 {
        let mut state = seed;
        move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        }
    }

    /// Captions equal to their own image or to another image (exact ties, which rank
    /// pessimistically) and noise.
    fn with_ties(
        n_images: usize,
        n_texts: usize,
        d: usize,
    ) -> (Array2<f64>, Array2<f64>, Vec<usize>) {
        let mut next = noise(7);
        let images = Array2::from_shape_fn((n_images, d), |_| next());
        let owner: Vec<usize> = (0..n_texts).map(|t| t % n_images).collect();
        let texts = Array2::from_shape_fn((n_texts, d), |(t, j)| match t % 3 {
            0 => images[[owner[t], j]],
            1 => images[[(owner[t] + 1) % n_images, j]],
            _ => next(),
        });
        (images, texts, owner)
    }

    #[test]
    fn every_block_shape_ranks_as_the_whole_matrix() {
        let (images, texts, owner) = with_ties(9, 23, 4);
        let oracle = whole(&images, &texts, &owner, &[1, 3]);
        for (ir, tr) in [(9, 23), (1, 1), (2, 5), (4, 23), (8, 7), (3, 100)] {
            let got = evaluate_in_blocks(images.view(), texts.view(), &owner, &[1, 3], ir, tr);
            assert_eq!(got, oracle, "blocks of {ir} images x {tr} captions");
        }
        // Shapes that cross the GEMM kernel's tiles and edges.
        let (images, texts, owner) = with_ties(301, 1_103, 96);
        let oracle = whole(&images, &texts, &owner, &[1, 5, 10]);
        let r1 = oracle[1].recall_at(1).unwrap();
        assert!(
            r1 > 0.0 && r1 < 1.0,
            "a test that can tell rankings apart: t2i R@1 {r1}"
        );
        for (ir, tr) in [(37, 250), (64, 1_103), (301, 8), (5, 512)] {
            let got = evaluate_in_blocks(images.view(), texts.view(), &owner, &[1, 5, 10], ir, tr);
            assert_eq!(got, oracle, "blocks of {ir} images x {tr} captions");
        }
        assert_eq!(evaluate(&images, &texts, &owner, &[1, 5, 10]), oracle);
    }

    /// f32 rows rank as their f64 values do.
    #[test]
    fn f32_rows_rank_as_their_f64_values() {
        let (images, texts, owner) = with_ties(40, 130, 12);
        let (i32s, t32s) = (images.mapv(|v| v as f32), texts.mapv(|v| v as f32));
        assert_eq!(
            evaluate_rows(i32s.view(), t32s.view(), &owner, &[1, 2]),
            evaluate(
                &i32s.mapv(f64::from),
                &t32s.mapv(f64::from),
                &owner,
                &[1, 2]
            )
        );
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
