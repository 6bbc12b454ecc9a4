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
    for (x, y, px) in img.enumerate_pixels() {
        for c in 0..3 {
            let v = f32::from(px[c]) / 255.0;
            dst[[c, y as usize, x as usize]] = (v - mean[c]) / std[c];
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
