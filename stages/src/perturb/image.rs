//! Image perturbations: images that carry less of what their captions say. Applied to the
//! encoder's input, after the resize and before normalisation, so that a blur of σ pixels or a
//! noise rate means the same thing for every image whatever its file's size.
//!
//! In this order: a Gaussian blur of `blur_sigma` pixels (separable, edges repeated, the kernel
//! cut at 4σ as scipy.ndimage.gaussian_filter cuts it), then a fraction `noise_pixels` of the
//! pixels replaced by Gaussian noise with each channel's mean and standard deviation over the
//! (blurred) image, so the noise changes what the image shows but not its overall statistics.

use image::RgbImage;
use rand::Rng;
use serde::{Deserialize, Serialize};

use super::pick;
use crate::check::{BadValue, Checks};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ImagePerturbation {
    /// Fraction of pixels replaced by noise matched to the image's per-channel mean and std.
    pub noise_pixels: f64,
    /// Standard deviation of the Gaussian blur, in pixels of the encoder's input; 0 is none.
    pub blur_sigma: f64,
    pub seed: u64,
}

impl Default for ImagePerturbation {
    fn default() -> Self {
        ImagePerturbation {
            noise_pixels: 0.0,
            blur_sigma: 0.0,
            seed: 0,
        }
    }
}

/// The largest blur accepted: far past the point where a 224-pixel image is one colour.
const MAX_SIGMA: f64 = 100.0;

impl ImagePerturbation {
    /// True when neither blur nor noise applies: images are left as they are.
    pub fn is_identity(&self) -> bool {
        self.noise_pixels == 0.0 && self.blur_sigma == 0.0
    }

    pub fn problems(&self) -> Vec<BadValue> {
        let mut c = Checks::new();
        c.expect(
            (0.0..=1.0).contains(&self.noise_pixels),
            "noise_pixels",
            self.noise_pixels,
            "a rate from 0 to 1",
        );
        c.expect(
            (0.0..=MAX_SIGMA).contains(&self.blur_sigma),
            "blur_sigma",
            self.blur_sigma,
            "a standard deviation in pixels from 0 to 100",
        );
        c.into_vec()
    }

    /// Image `id` perturbed.
    pub fn apply(&self, id: &str, img: RgbImage) -> RgbImage {
        if self.is_identity() {
            return img;
        }
        let img = if self.blur_sigma > 0.0 {
            blur(&img, self.blur_sigma)
        } else {
            img
        };
        if self.noise_pixels > 0.0 {
            self.noise(id, img)
        } else {
            img
        }
    }

    fn noise(&self, id: &str, mut img: RgbImage) -> RgbImage {
        let (w, h) = img.dimensions();
        let n = (w as usize) * (h as usize);
        if n == 0 {
            return img;
        }
        let mut rng = super::rng(
            self.seed,
            &[
                id.as_bytes(),
                &w.to_le_bytes(),
                &h.to_le_bytes(),
                img.as_raw(),
            ],
        );
        let (mean, std) = channel_moments(&img);
        let k = (self.noise_pixels * n as f64).round() as usize;
        let mut positions = pick(&mut rng, n, k);
        // Drawn in pixel order, so a pixel's noise does not depend on the sample's order.
        positions.sort_unstable();
        let raw: &mut [u8] = &mut img;
        for p in positions {
            for c in 0..3 {
                let v = mean[c] + std[c] * standard_normal(&mut rng);
                raw[p * 3 + c] = v.round().clamp(0.0, 255.0) as u8;
            }
        }
        img
    }
}

/// Each channel's mean and (population) standard deviation.
fn channel_moments(img: &RgbImage) -> ([f64; 3], [f64; 3]) {
    let mut sum = [0.0f64; 3];
    let mut sq = [0.0f64; 3];
    for px in img.pixels() {
        for c in 0..3 {
            let v = f64::from(px.0[c]);
            sum[c] += v;
            sq[c] += v * v;
        }
    }
    let n = f64::from(img.width()) * f64::from(img.height());
    let mean = sum.map(|s| s / n);
    let mut std = [0.0; 3];
    for c in 0..3 {
        std[c] = (sq[c] / n - mean[c] * mean[c]).max(0.0).sqrt();
    }
    (mean, std)
}

/// One draw of N(0, 1) (Box–Muller; `1 - u` keeps the logarithm finite).
fn standard_normal(rng: &mut impl Rng) -> f64 {
    let u: f64 = rng.random();
    let v: f64 = rng.random();
    (-2.0 * (1.0 - u).ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

/// The normalised kernel of a Gaussian of `sigma`, radius ⌊4σ + 0.5⌋ (scipy's truncate = 4).
pub fn kernel(sigma: f64) -> Vec<f64> {
    let radius = (4.0 * sigma + 0.5) as i64;
    let weights: Vec<f64> = (-radius..=radius)
        .map(|x| (-0.5 * (x as f64 / sigma).powi(2)).exp())
        .collect();
    let total: f64 = weights.iter().sum();
    weights.into_iter().map(|w| w / total).collect()
}

/// One channel plane (`w × h`, row-major) blurred, edges repeated ("nearest").
pub fn blur_plane(plane: &[f64], w: usize, h: usize, sigma: f64) -> Vec<f64> {
    let k = kernel(sigma);
    let r = (k.len() / 2) as i64;
    let at = |i: i64, n: usize| i.clamp(0, n as i64 - 1) as usize;
    let mut rows = vec![0.0; plane.len()];
    for y in 0..h {
        for x in 0..w {
            rows[y * w + x] = k
                .iter()
                .enumerate()
                .map(|(j, kv)| kv * plane[y * w + at(x as i64 + j as i64 - r, w)])
                .sum();
        }
    }
    let mut out = vec![0.0; plane.len()];
    for y in 0..h {
        for x in 0..w {
            out[y * w + x] = k
                .iter()
                .enumerate()
                .map(|(j, kv)| kv * rows[at(y as i64 + j as i64 - r, h) * w + x])
                .sum();
        }
    }
    out
}

/// The image blurred channel by channel, rounded back to bytes.
fn blur(img: &RgbImage, sigma: f64) -> RgbImage {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let raw = img.as_raw();
    let mut out = vec![0u8; raw.len()];
    for c in 0..3 {
        let plane: Vec<f64> = raw
            .iter()
            .skip(c)
            .step_by(3)
            .map(|&v| f64::from(v))
            .collect();
        for (i, v) in blur_plane(&plane, w, h, sigma).into_iter().enumerate() {
            out[i * 3 + c] = v.round().clamp(0.0, 255.0) as u8;
        }
    }
    RgbImage::from_raw(img.width(), img.height(), out).expect("same dimensions")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fixed 32 x 24 image: a gradient with a bright square, so blur and noise both show.
    fn picture() -> RgbImage {
        RgbImage::from_fn(32, 24, |x, y| {
            let inside = (8..16).contains(&x) && (6..14).contains(&y);
            if inside {
                image::Rgb([250, 240, 230])
            } else {
                image::Rgb([(x * 7) as u8, (y * 9) as u8, 40])
            }
        })
    }

    fn with(f: impl FnOnce(&mut ImagePerturbation)) -> ImagePerturbation {
        let mut p = ImagePerturbation {
            seed: 3,
            ..Default::default()
        };
        f(&mut p);
        p
    }

    #[test]
    fn zero_is_the_identity() {
        let p = with(|_| {});
        assert!(p.is_identity());
        assert_eq!(p.apply("a", picture()), picture());
    }

    /// The blur of an impulse is the kernel's outer product, and the kernel is the Gaussian
    /// density at the integers within 4σ, normalised (derived by hand, not by this code).
    #[test]
    fn blur_of_an_impulse_is_the_gaussian() {
        let sigma = 1.5;
        let k = kernel(sigma);
        assert_eq!(k.len(), 2 * 6 + 1, "radius ⌊4·1.5 + 0.5⌋ = 6");
        let z: f64 = (-6..=6).map(|x: i32| (-(x * x) as f64 / 4.5).exp()).sum();
        for (i, kv) in k.iter().enumerate() {
            let x = i as f64 - 6.0;
            assert!((kv - (-x * x / 4.5).exp() / z).abs() < 1e-15);
        }
        let (w, h) = (21, 17);
        let mut plane = vec![0.0; w * h];
        plane[8 * w + 10] = 1.0;
        let out = blur_plane(&plane, w, h, sigma);
        for y in 0..h {
            for x in 0..w {
                let (dx, dy) = (x as i64 - 10, y as i64 - 8);
                let want = if dx.abs() <= 6 && dy.abs() <= 6 {
                    k[(dx + 6) as usize] * k[(dy + 6) as usize]
                } else {
                    0.0
                };
                assert!((out[y * w + x] - want).abs() < 1e-15, "({x}, {y})");
            }
        }
        // A constant image stays constant (the edges repeat, the kernel sums to 1).
        let flat = blur_plane(&vec![7.0; w * h], w, h, 3.0);
        assert!(flat.iter().all(|v| (v - 7.0).abs() < 1e-12));
    }

    #[test]
    fn blur_smooths_without_moving_the_mean_much() {
        let img = picture();
        let out = with(|p| p.blur_sigma = 2.0).apply("a", img.clone());
        let (m0, s0) = channel_moments(&img);
        let (m1, s1) = channel_moments(&out);
        for c in 0..3 {
            assert!((m0[c] - m1[c]).abs() < 3.0, "channel {c}: {m0:?} vs {m1:?}");
            assert!(s1[c] <= s0[c], "channel {c}: blur cannot add contrast");
        }
        assert_ne!(out, img);
    }

    #[test]
    fn noise_replaces_the_given_fraction_with_matched_statistics() {
        let img = picture();
        let n = 32 * 24;
        let p = with(|p| p.noise_pixels = 0.25);
        let out = p.apply("a", img.clone());
        let changed = img
            .pixels()
            .zip(out.pixels())
            .filter(|(a, b)| a != b)
            .count();
        // 192 pixels drawn; a draw can land on its old value by chance, rarely for all 3 channels.
        assert!((185..=192).contains(&changed), "{changed} of {n}");
        // Everything replaced: the noise has the image's per-channel mean and std.
        // (Values far from 0 and 255, so clamping does not shift the noise's moments.)
        let big = RgbImage::from_fn(200, 200, |x, y| {
            image::Rgb([(100 + x % 50) as u8, (60 + y / 4) as u8, 90])
        });
        let noisy = with(|p| p.noise_pixels = 1.0).apply("b", big.clone());
        let (m0, s0) = channel_moments(&big);
        let (m1, s1) = channel_moments(&noisy);
        for c in 0..2 {
            assert!((m0[c] - m1[c]).abs() < 1.0, "mean {c}: {m0:?} vs {m1:?}");
            assert!(
                (s0[c] - s1[c]).abs() / s0[c] < 0.05,
                "std {c}: {s0:?} vs {s1:?}"
            );
        }
        // A constant channel (std 0) stays constant.
        assert!(noisy.pixels().all(|p| p.0[2] == 90));
        // Seeded by seed and id only.
        assert_eq!(out, p.apply("a", img.clone()));
        assert_ne!(out, p.apply("b", img.clone()));
        assert_ne!(
            out,
            with(|p| {
                p.noise_pixels = 0.25;
                p.seed = 4
            })
            .apply("a", img)
        );
        assert_eq!(with(|p| p.blur_sigma = -1.0).problems().len(), 1);
        assert_eq!(with(|p| p.noise_pixels = 2.0).problems().len(), 1);
    }
}
