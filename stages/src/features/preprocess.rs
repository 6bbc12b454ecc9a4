//! One image file → the normalised `[3, S, S]` tensor an image encoder takes.

use std::path::Path;

use image::RgbImage;
use ndarray::ArrayViewMut3;

use crate::error::Result;
use crate::features::spec::{EncoderSpec, ResizeMode};
use crate::image::{decode, resize, tensor};

/// Decode, resize as the spec says, and return the RGB image at `image_size × image_size`.
pub fn prepare(path: &Path, spec: &EncoderSpec) -> Result<RgbImage> {
    let img = decode::load_rgb(path)?;
    Ok(resize_for(&img, spec))
}

pub fn resize_for(img: &RgbImage, spec: &EncoderSpec) -> RgbImage {
    let s = spec.image_size;
    match spec.resize {
        ResizeMode::Stretch => resize::resize_bilinear(img, s, s),
        ResizeMode::ShorterSideCrop => {
            // torchvision Resize(int): shorter side → size, longer side → int(size·long/short).
            let (w, h) = (img.width(), img.height());
            let short = spec.resize_shorter;
            let (nw, nh) = if w <= h {
                (
                    short,
                    (u64::from(short) * u64::from(h) / u64::from(w)) as u32,
                )
            } else {
                (
                    (u64::from(short) * u64::from(w) / u64::from(h)) as u32,
                    short,
                )
            };
            let resized = resize::resize_bilinear(img, nw, nh);
            // torchvision CenterCrop: top = round((H − S)/2), left = round((W − S)/2).
            let top = ((f64::from(nh) - f64::from(s)) / 2.0).round().max(0.0) as u32;
            let left = ((f64::from(nw) - f64::from(s)) / 2.0).round().max(0.0) as u32;
            image::imageops::crop_imm(&resized, left, top, s.min(nw), s.min(nh)).to_image()
        }
    }
}

/// Writes the normalised image into one slot of a batch tensor.
pub fn normalise_into(img: &RgbImage, spec: &EncoderSpec, dst: ArrayViewMut3<f32>) {
    tensor::normalise_into(img, spec.mean, spec.std, dst);
}
