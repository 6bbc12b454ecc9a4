//! PIL's bilinear resize, bit for bit.
//!
//! torchvision's `Resize` on a PIL image calls `Image.resize(size, BILINEAR)`, so the research
//! features were computed on PIL's output. PIL (libImaging/Resample.c) resamples separably:
//! first horizontally (only the source rows the vertical pass needs), then vertically, each pass
//! with an antialiasing triangle filter whose support grows with the downscale factor, weights in
//! 22-bit fixed point, and rounding back to 8 bits between the passes. Reproducing that exactly
//! (rather than a float bilinear) makes our tensors equal PIL's, so features match the Python
//! reference to float precision instead of to within resampling noise.
//!
//! Version note: Pillow ≤ 12 always runs the horizontal pass first, as here. Pillow 13 (PR #9549)
//! runs the vertical pass first for some shapes, which moves some pixels by one level; the
//! project pins pillow 12.x for its Python reference (data/requirements.txt).

use image::RgbImage;

/// Fixed-point precision of PIL's 8-bit resampling (`PRECISION_BITS = 32 - 8 - 2`).
const PRECISION_BITS: u32 = 22;

/// Per output pixel: first source index, number of taps, and the fixed-point weights.
struct Coefficients {
    ksize: usize,
    bounds: Vec<(usize, usize)>,
    weights: Vec<i32>,
}

fn triangle(x: f64) -> f64 {
    let x = x.abs();
    if x < 1.0 { 1.0 - x } else { 0.0 }
}

/// PIL's `precompute_coeffs` for the bilinear filter (support 1) over the full source box,
/// followed by `normalize_coeffs_8bpc`.
fn precompute(in_size: usize, out_size: usize) -> Coefficients {
    let scale = in_size as f64 / out_size as f64;
    let filterscale = scale.max(1.0);
    let support = filterscale; // bilinear support 1.0 × filterscale
    let ksize = support.ceil() as usize * 2 + 1;
    let mut bounds = Vec::with_capacity(out_size);
    let mut weights = vec![0i32; out_size * ksize];
    let ss = 1.0 / filterscale;
    for xx in 0..out_size {
        let center = (xx as f64 + 0.5) * scale;
        // C's (int) cast truncates toward zero.
        let xmin = ((center - support + 0.5) as i64).max(0) as usize;
        let xmax = ((center + support + 0.5) as i64).min(in_size as i64) as usize;
        let taps = xmax - xmin;
        let mut k = vec![0f64; taps];
        let mut total = 0.0;
        for (x, w) in k.iter_mut().enumerate() {
            *w = triangle((x as f64 + xmin as f64 - center + 0.5) * ss);
            total += *w;
        }
        for (x, w) in k.iter().enumerate() {
            let w = if total != 0.0 { w / total } else { *w };
            let scaled = w * f64::from(1u32 << PRECISION_BITS);
            weights[xx * ksize + x] = if scaled < 0.0 {
                (-0.5 + scaled) as i32
            } else {
                (0.5 + scaled) as i32
            };
        }
        bounds.push((xmin, taps));
    }
    Coefficients {
        ksize,
        bounds,
        weights,
    }
}

fn clip8(v: i64) -> u8 {
    if v >= (1i64 << PRECISION_BITS << 8) {
        255
    } else if v <= 0 {
        0
    } else {
        (v >> PRECISION_BITS) as u8
    }
}

/// Resizes `src` to `width × height` exactly as PIL's `Image.resize(..., Image.BILINEAR)`.
pub fn resize_bilinear(src: &RgbImage, width: u32, height: u32) -> RgbImage {
    let (in_w, in_h) = (src.width() as usize, src.height() as usize);
    let (out_w, out_h) = (width as usize, height as usize);
    let need_h = out_w != in_w;
    let need_v = out_h != in_h;
    let horiz = precompute(in_w, out_w);
    let vert = precompute(in_h, out_h);

    // Horizontal pass over the rows the vertical pass reads.
    let (mut rows_first, mut rows_last) = (0usize, in_h);
    if need_v {
        rows_first = vert.bounds[0].0;
        let (last_min, last_taps) = vert.bounds[out_h - 1];
        rows_last = last_min + last_taps;
    }
    let src_raw = src.as_raw();
    let (tmp_w, tmp_h, tmp): (usize, usize, Vec<u8>) = if need_h {
        let rows = rows_last - rows_first;
        let mut out = vec![0u8; out_w * rows * 3];
        for (yy, dst) in out.chunks_exact_mut(out_w * 3).enumerate() {
            let line = &src_raw[(yy + rows_first) * in_w * 3..(yy + rows_first + 1) * in_w * 3];
            for (xx, px) in dst.chunks_exact_mut(3).enumerate() {
                let (xmin, taps) = horiz.bounds[xx];
                let k = &horiz.weights[xx * horiz.ksize..xx * horiz.ksize + taps];
                let taps_px = &line[xmin * 3..(xmin + taps) * 3];
                // The three channels together over one contiguous run of source pixels. i32 as
                // PIL's (its weights are non-negative and sum to 2²², so the sums stay below
                // 255·2²² + 2²¹ < 2³¹).
                let mut ss = [1i32 << (PRECISION_BITS - 1); 3];
                for (src, &w) in taps_px.chunks_exact(3).zip(k) {
                    for c in 0..3 {
                        ss[c] += i32::from(src[c]) * w;
                    }
                }
                for c in 0..3 {
                    px[c] = clip8(i64::from(ss[c]));
                }
            }
        }
        (out_w, rows, out)
    } else {
        let rows = &src_raw[rows_first * in_w * 3..rows_last * in_w * 3];
        (in_w, rows_last - rows_first, rows.to_vec())
    };
    if !need_v {
        return RgbImage::from_raw(tmp_w as u32, tmp_h as u32, tmp)
            .expect("buffer size matches dimensions");
    }
    // Vertical pass, a whole row at a time: each tap adds one contiguous source row, which the
    // compiler vectorises (same integer sums as PIL's per-pixel loop, so the same bytes).
    let row_len = tmp_w * 3;
    let mut out = vec![0u8; row_len * out_h];
    let mut acc = vec![0i32; row_len];
    for yy in 0..out_h {
        let (ymin, taps) = vert.bounds[yy];
        let ymin = ymin - rows_first;
        let k = &vert.weights[yy * vert.ksize..yy * vert.ksize + taps];
        acc.fill(1 << (PRECISION_BITS - 1));
        for (y, w) in k.iter().enumerate() {
            let src = &tmp[(y + ymin) * row_len..(y + ymin + 1) * row_len];
            for (a, &v) in acc.iter_mut().zip(src) {
                *a += i32::from(v) * *w;
            }
        }
        for (o, &a) in out[yy * row_len..(yy + 1) * row_len].iter_mut().zip(&acc) {
            *o = clip8(i64::from(a));
        }
    }
    RgbImage::from_raw(tmp_w as u32, out_h as u32, out).expect("buffer size matches dimensions")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// PIL's per-pixel, per-channel loops (ImagingResampleHorizontal/Vertical_8bpc), i64.
    fn reference(src: &RgbImage, width: u32, height: u32) -> RgbImage {
        let (in_w, in_h) = (src.width() as usize, src.height() as usize);
        let (out_w, out_h) = (width as usize, height as usize);
        let (horiz, vert) = (precompute(in_w, out_w), precompute(in_h, out_h));
        let raw = src.as_raw();
        let mut tmp = vec![0u8; out_w * in_h * 3];
        for y in 0..in_h {
            for xx in 0..out_w {
                let (xmin, taps) = horiz.bounds[xx];
                for c in 0..3 {
                    let mut ss: i64 = 1 << (PRECISION_BITS - 1);
                    for x in 0..taps {
                        let w = horiz.weights[xx * horiz.ksize + x];
                        ss += i64::from(raw[(y * in_w + xmin + x) * 3 + c]) * i64::from(w);
                    }
                    tmp[(y * out_w + xx) * 3 + c] = clip8(ss);
                }
            }
        }
        let mut out = vec![0u8; out_w * out_h * 3];
        for yy in 0..out_h {
            let (ymin, taps) = vert.bounds[yy];
            for i in 0..out_w * 3 {
                let mut ss: i64 = 1 << (PRECISION_BITS - 1);
                for y in 0..taps {
                    let w = vert.weights[yy * vert.ksize + y];
                    ss += i64::from(tmp[(ymin + y) * out_w * 3 + i]) * i64::from(w);
                }
                out[yy * out_w * 3 + i] = clip8(ss);
            }
        }
        RgbImage::from_raw(width, height, out).unwrap()
    }

    #[test]
    fn equals_pils_per_channel_loops() {
        let mut seed = 12345u32;
        let mut next = move || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 24) as u8
        };
        for (w, h, ow, oh) in [(53, 37, 20, 61), (300, 170, 224, 224), (1000, 90, 224, 31)] {
            let img = RgbImage::from_fn(w, h, |_, _| image::Rgb([next(), next(), next()]));
            assert_eq!(
                resize_bilinear(&img, ow, oh),
                reference(&img, ow, oh),
                "{w}x{h} -> {ow}x{oh}"
            );
        }
    }

    #[test]
    fn identity_size_is_a_copy() {
        let img = RgbImage::from_fn(7, 5, |x, y| image::Rgb([x as u8 * 30, y as u8 * 40, 9]));
        assert_eq!(resize_bilinear(&img, 7, 5), img);
    }

    #[test]
    fn constant_image_stays_constant() {
        let img = RgbImage::from_pixel(300, 170, image::Rgb([12, 200, 77]));
        let out = resize_bilinear(&img, 224, 224);
        assert!(out.pixels().all(|p| p.0 == [12, 200, 77]));
    }

    #[test]
    fn two_to_one_downscale_averages_pairs() {
        // Downscale by 2: support 2, taps at distances 0.5 and 1.5 → weights 3/8, 3/8, 1/8, 1/8
        // over 4 pixels except at the borders. A 4-pixel row [0, 0, 255, 255] → [32, 223].
        let img = RgbImage::from_fn(4, 1, |x, _| {
            let v = if x < 2 { 0 } else { 255 };
            image::Rgb([v, v, v])
        });
        let out = resize_bilinear(&img, 2, 1);
        // Left output: taps x=0..2 (center 1.0, support 2): weights 0.75,0.75,0.25 → normalised
        // [0.4286, 0.4286, 0.1429] → 255·0.1429 = 36.4 → 36.
        assert_eq!(out.get_pixel(0, 0).0[0], 36);
        assert_eq!(out.get_pixel(1, 0).0[0], 255 - 36);
    }
}
