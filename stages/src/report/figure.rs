//! A figure drawn once per backend: PNG (rasterised with the registered font, encoded by the
//! `image` crate) and SVG (text left to the browser). Both files are written whole to a temporary
//! name and renamed, like every output.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::{Error, Result};

pub type Area<'a, DB> = DrawingArea<DB, Shift>;

/// Something that can draw itself on any plotters backend.
pub trait Figure {
    fn size(&self) -> (u32, u32);
    fn draw<DB: DrawingBackend>(&self, root: &Area<DB>) -> std::result::Result<(), String>;
}

/// Converts a plotters error into a message.
pub fn err<E: std::fmt::Debug>(e: E) -> String {
    format!("{e:?}")
}

fn failed(path: &Path, message: String) -> Error {
    Error::Invalid {
        what: path.display().to_string(),
        message: format!("drawing the figure: {message}"),
    }
}

/// Writes `dir/stem.png` and `dir/stem.svg`.
pub fn render(figure: &impl Figure, dir: &Path, stem: &str) -> Result<()> {
    let (w, h) = figure.size();
    let png = dir.join(format!("{stem}.png"));
    let mut buffer = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buffer, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| failed(&png, err(e)))?;
        figure.draw(&root).map_err(|e| failed(&png, e))?;
        root.present().map_err(|e| failed(&png, err(e)))?;
    }
    let image = image::RgbImage::from_raw(w, h, buffer).expect("buffer is w x h x 3");
    image
        .save_with_format(&png, image::ImageFormat::Png)
        .map_err(|e| failed(&png, e.to_string()))?;
    let svg = dir.join(format!("{stem}.svg"));
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| failed(&svg, err(e)))?;
        figure.draw(&root).map_err(|e| failed(&svg, e))?;
        root.present().map_err(|e| failed(&svg, err(e)))?;
    }
    std::fs::write(&svg, text).map_err(|e| Error::io(&svg, e))
}
