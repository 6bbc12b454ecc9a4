//! Decoding an image file to 8-bit RGB.
//!
//! Transparent pixels are composited over white: the embedded dataset's PNGs are cut-outs on a
//! transparent background, and PIL's `convert("RGB")` would instead keep whatever colour the
//! transparent pixels happen to store (often black), which is not what a person sees.

use std::path::Path;

use image::{DynamicImage, RgbImage};

use crate::error::{Error, Result};

/// Decodes `path` to RGB, compositing any alpha channel over white.
pub fn load_rgb(path: &Path) -> Result<RgbImage> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    decode_rgb(&bytes, path)
}

/// Decodes in-memory bytes (`path` only names them in errors).
pub fn decode_rgb(bytes: &[u8], path: &Path) -> Result<RgbImage> {
    let img = image::load_from_memory(bytes).map_err(|e| Error::Image {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    if img.width() == 0 || img.height() == 0 {
        return Err(Error::Image {
            path: path.to_path_buf(),
            message: "zero-size image".into(),
        });
    }
    Ok(to_rgb_over_white(img))
}

/// RGB without alpha; with alpha, `c' = round((c·a + 255·(255 − a)) / 255)` per channel.
pub fn to_rgb_over_white(img: DynamicImage) -> RgbImage {
    if !img.color().has_alpha() {
        return img.to_rgb8();
    }
    let rgba = img.to_rgba8();
    let mut out = RgbImage::new(rgba.width(), rgba.height());
    for (dst, src) in out.pixels_mut().zip(rgba.pixels()) {
        let a = u32::from(src[3]);
        for c in 0..3 {
            let v = u32::from(src[c]) * a + 255 * (255 - a);
            dst[c] = ((v + 127) / 255) as u8;
        }
    }
    out
}
