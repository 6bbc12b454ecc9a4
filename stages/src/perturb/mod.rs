//! Perturbations of the dataset, the controls of platonic-rep-unique: captions or images that
//! carry less of what the pair shares. Each is a parameter of the encoder that reads the
//! perturbed side; the reference features stay clean. Every perturbation with its rates at 0 is
//! the identity, and a features stage then keys and computes exactly as without it.
//!
//! Deterministic and seeded: an item's perturbation depends only on the seed, its id and its
//! content, never on which other items are encoded with it.

pub mod caption;
pub mod image;

pub use caption::CaptionPerturbation;
pub use image::ImagePerturbation;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The generator of one item: the seed and the item's parts (its id, its content), hashed.
fn rng(seed: u64, parts: &[&[u8]]) -> ChaCha8Rng {
    let mut h = blake3::Hasher::new();
    h.update(&seed.to_le_bytes());
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            h.update(&[0]);
        }
        h.update(part);
    }
    ChaCha8Rng::from_seed(*h.finalize().as_bytes())
}

/// `k` distinct indices of `0..n`, in random order.
fn pick(rng: &mut ChaCha8Rng, n: usize, k: usize) -> Vec<usize> {
    rand::seq::index::sample(rng, n, k.min(n)).into_vec()
}
