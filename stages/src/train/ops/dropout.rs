//! Inverted dropout with masks from a counter-based hash instead of Burn's sampler.
//!
//! Burn's `Dropout` draws a Bernoulli tensor element by element through its generic
//! distribution sampler (ChaCha): ~10% of an MLP epoch on the CPU. Here one draw from the
//! backend's RNG (reseeded from (seed, epoch) each epoch, as before) keys the mask, and element
//! `i` is kept when `splitmix64(key + i)`, as a uniform in [0, 1), is below the keep
//! probability. The mask therefore depends only on the backend RNG's state, like Burn's: a
//! resumed run draws the same masks. Kept elements are scaled by 1/(1−p), as PyTorch's
//! `nn.Dropout`; without autodiff (evaluation, inference) or with p = 0 it is the identity.

use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, Tensor, TensorData};
use rayon::prelude::*;

/// Mask elements generated per parallel task.
const CHUNK: usize = 1 << 14;

fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The mask values (0 or `1/keep`) of `n` elements for `key`.
pub fn mask(key: u64, n: usize, prob: f64) -> Vec<f32> {
    let keep = 1.0 - prob;
    // Keep when the top 53 bits, as a uniform in [0, 1), fall below `keep`.
    let threshold = (keep * (1u64 << 53) as f64) as u64;
    let scale = (1.0 / keep) as f32;
    let mut out = vec![0f32; n];
    out.par_chunks_mut(CHUNK)
        .enumerate()
        .for_each(|(c, chunk)| {
            let base = key.wrapping_add((c * CHUNK) as u64);
            for (i, v) in chunk.iter_mut().enumerate() {
                if splitmix64(base.wrapping_add(i as u64)) >> 11 < threshold {
                    *v = scale;
                }
            }
        });
    out
}

/// `x` with each element zeroed with probability `prob` and the others scaled by 1/(1−prob),
/// when autodiff is on; `x` itself otherwise.
pub fn dropout<B: Backend, const D: usize>(x: Tensor<B, D>, prob: f64) -> Tensor<B, D> {
    let device = x.device();
    if !B::ad_enabled(&device) || prob == 0.0 {
        return x;
    }
    // One key per call from the backend's RNG: four uniforms, their bits hashed together.
    let key = Tensor::<B, 1>::random([4], Distribution::Default, &device)
        .into_data()
        .iter::<f32>()
        .fold(0u64, |k, d| splitmix64(k ^ u64::from(d.to_bits())));
    let shape = x.shape();
    let values = mask(key, shape.num_elements(), prob);
    let mask = Tensor::<B, D>::from_data(TensorData::new(values, shape), (&device, x.dtype()));
    x * mask
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_expected_fraction_and_scales_the_kept() {
        let prob = 0.3;
        let m = mask(12345, 1_000_000, prob);
        let kept = m.iter().filter(|&&v| v != 0.0).count() as f64 / m.len() as f64;
        // Binomial standard deviation at n = 1e6: ~4.6e-4.
        assert!((kept - 0.7).abs() < 3e-3, "{kept}");
        assert!(m.iter().all(|&v| v == 0.0 || (v - 1.0 / 0.7).abs() < 1e-6));
        // Same key, same mask; another key, another.
        assert_eq!(m, mask(12345, 1_000_000, prob));
        assert_ne!(m[..1000], mask(12346, 1000, prob)[..]);
    }
}
