//! Decoding an image file to 8-bit RGB.
//!
//! Transparent pixels are composited over white: the embedded dataset's PNGs are cut-outs on a
//! transparent background, and PIL's `convert("RGB")` would instead keep whatever colour the
//! transparent pixels happen to store (often black), which is not what a person sees.

use std::path::Path;

use image::{DynamicImage, RgbImage};

use crate::error::{Error, Result};

/// SVGs are rendered so that their shorter side has at least this many pixels: the encoders
/// resize to 224, and rendering smaller would mean upsampling a raster.
pub const SVG_MIN_SHORT_SIDE: f32 = 224.0;

/// Decodes `path` to RGB, compositing any alpha channel over white (SVGs are rendered).
pub fn load_rgb(path: &Path) -> Result<RgbImage> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    decode_rgb(&bytes, path)
}

/// Decodes in-memory bytes (`path` names them in errors, and its `.svg` extension selects
/// the SVG renderer).
pub fn decode_rgb(bytes: &[u8], path: &Path) -> Result<RgbImage> {
    if path.extension().and_then(|e| e.to_str()) == Some("svg") {
        return render_svg(bytes, path);
    }
    let img = image::load_from_memory(bytes).map_err(|e| match e {
        image::ImageError::Limits(_) => too_large(bytes, path),
        e => Error::Image {
            path: path.to_path_buf(),
            message: e.to_string(),
        },
    })?;
    if img.width() == 0 || img.height() == 0 {
        return Err(Error::Image {
            path: path.to_path_buf(),
            message: "zero-size image".into(),
        });
    }
    Ok(to_rgb_over_white(img))
}

/// The largest decoded image, in bytes (the `image` crate's default allocation limit, which
/// also refuses decompression bombs before allocating).
pub const MAX_DECODED_BYTES: u64 = 512 * 1024 * 1024;

/// The error for an image over the decoding limit, with its size read from its header.
fn too_large(bytes: &[u8], path: &Path) -> Error {
    let dims = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .ok()
        .and_then(|r| r.into_dimensions().ok());
    match dims {
        Some((w, h)) => oversized(path, u64::from(w), u64::from(h)),
        None => Error::Image {
            path: path.to_path_buf(),
            message: format!("needs more than {} MiB to decode", MAX_DECODED_BYTES >> 20),
        },
    }
}

fn oversized(path: &Path, width: u64, height: u64) -> Error {
    Error::ImageTooLarge {
        path: path.to_path_buf(),
        width,
        height,
        need_mib: (width * height * 4).div_ceil(1 << 20),
        limit_mib: MAX_DECODED_BYTES >> 20,
    }
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

/// Renders an SVG with resvg at a scale that gives the shorter side ≥ [`SVG_MIN_SHORT_SIDE`]
/// pixels, over white. Embedded raster images are drawn; text is not rendered (no fonts are loaded, so output never depends on the
/// machine's fonts).
pub fn render_svg(bytes: &[u8], path: &Path) -> Result<RgbImage> {
    use resvg::{tiny_skia, usvg};
    let bad = |message: String| Error::Image {
        path: path.to_path_buf(),
        message,
    };
    let tree = usvg::Tree::from_data(bytes, &usvg::Options::default()).map_err(|e| match e {
        usvg::Error::InvalidSize => bad("zero-size image (SVG width or height is 0)".into()),
        e => bad(format!("invalid SVG: {e}")),
    })?;
    let size = tree.size();
    let short = size.width().min(size.height());
    if short <= 0.0 {
        return Err(bad("zero-size image".into()));
    }
    let scale = (SVG_MIN_SHORT_SIDE / short).max(1.0);
    let (wf, hf) = (
        f64::from((size.width() * scale).ceil()),
        f64::from((size.height() * scale).ceil()),
    );
    if wf * hf * 4.0 > MAX_DECODED_BYTES as f64 {
        return Err(oversized(path, wf as u64, hf as u64));
    }
    let (w, h) = (wf as u32, hf as u32);
    let mut pixmap =
        tiny_skia::Pixmap::new(w, h).ok_or_else(|| bad(format!("cannot allocate {w}x{h}")))?;
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    // tiny-skia stores premultiplied RGBA: over white, c' = c_premultiplied + (255 − a).
    let mut out = RgbImage::new(w, h);
    for (dst, src) in out.pixels_mut().zip(pixmap.pixels()) {
        let inv = 255 - src.alpha();
        // Saturating: rounding in the rasteriser can leave a channel a hair above alpha.
        dst.0 = [
            src.red().saturating_add(inv),
            src.green().saturating_add(inv),
            src.blue().saturating_add(inv),
        ];
    }
    Ok(out)
}
