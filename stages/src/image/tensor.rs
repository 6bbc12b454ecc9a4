//! `ToTensor` + `Normalize`: 8-bit RGB (HWC) → float32 CHW, `(v / 255 − mean) / std`, with the
//! same float32 operations in the same order as torchvision, so values are bit-identical.

use image::RgbImage;
use ndarray::{Array4, ArrayViewMut3};

/// ImageNet statistics, used by every embedded encoder.
pub const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
pub const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];

/// Writes one normalised image into `dst` (`[3, H, W]`).
pub fn normalise_into(img: &RgbImage, mean: [f32; 3], std: [f32; 3], mut dst: ArrayViewMut3<f32>) {
    let (w, h) = (img.width() as usize, img.height() as usize);
    assert_eq!(dst.dim(), (3, h, w), "destination shape must be [3, H, W]");
    let raw = img.as_raw();
    for c in 0..3 {
        let mut plane = dst.index_axis_mut(ndarray::Axis(0), c);
        // A channel plane of a standard-layout batch is contiguous; write it as a slice.
        let write = |(d, px): (&mut f32, &[u8])| {
            let v = f32::from(px[c]) / 255.0;
            *d = (v - mean[c]) / std[c];
        };
        match plane.as_slice_mut() {
            Some(slice) => slice.iter_mut().zip(raw.chunks_exact(3)).for_each(write),
            None => plane.iter_mut().zip(raw.chunks_exact(3)).for_each(write),
        }
    }
}

/// A batch `[B, 3, H, W]` from images that all have the same size.
pub fn batch(images: &[RgbImage], mean: [f32; 3], std: [f32; 3]) -> Array4<f32> {
    let (w, h) = images
        .first()
        .map(|i| (i.width() as usize, i.height() as usize))
        .unwrap_or((0, 0));
    let mut out = Array4::<f32>::zeros((images.len(), 3, h, w));
    for (i, img) in images.iter().enumerate() {
        normalise_into(img, mean, std, out.index_axis_mut(ndarray::Axis(0), i));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn planes_hold_torchvisions_values_in_either_layout() {
        let img = RgbImage::from_fn(5, 3, |x, y| image::Rgb([x as u8 * 50, y as u8 * 90, 7]));
        let expect = |c: usize, y: u32, x: u32| {
            (f32::from(img.get_pixel(x, y)[c]) / 255.0 - IMAGENET_MEAN[c]) / IMAGENET_STD[c]
        };
        let b = batch(std::slice::from_ref(&img), IMAGENET_MEAN, IMAGENET_STD);
        // A transposed (non-contiguous) destination takes the element-wise path.
        let mut t = ndarray::Array3::<f32>::zeros((3, 5, 3));
        normalise_into(
            &img,
            IMAGENET_MEAN,
            IMAGENET_STD,
            t.view_mut().permuted_axes([0, 2, 1]),
        );
        for c in 0..3 {
            for y in 0..3 {
                for x in 0..5 {
                    let want = expect(c, y, x);
                    assert_eq!(b[[0, c, y as usize, x as usize]].to_bits(), want.to_bits());
                    assert_eq!(t[[c, x as usize, y as usize]].to_bits(), want.to_bits());
                }
            }
        }
    }
}
