//! Thumbnails of evaluation images for the report (PNG, fitted into a square, over white), so
//! the page shows what was retrieved without linking to files outside its folder.

use std::path::Path;

use image::RgbImage;

use crate::error::{Error, Result};
use crate::image::decode::load_rgb;
use crate::image::resize::resize_bilinear;

/// Writes a `size`-pixel-high thumbnail of `source` to `out`.
pub fn write(source: &Path, out: &Path, size: u32) -> Result<()> {
    let img: RgbImage = load_rgb(source)?;
    let (w, h) = img.dimensions();
    let scale = f64::from(size) / f64::from(w.max(h).max(1));
    let (tw, th) = (
        ((f64::from(w) * scale).round() as u32).max(1),
        ((f64::from(h) * scale).round() as u32).max(1),
    );
    resize_bilinear(&img, tw, th)
        .save_with_format(out, image::ImageFormat::Png)
        .map_err(|e| Error::Invalid {
            what: out.display().to_string(),
            message: format!("writing thumbnail: {e}"),
        })
}
