//! A heatmap with row and column labels and, optionally, each cell's value written in it.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::font;
use crate::report::colour::{self, viridis};
use crate::report::figure::{Area, Figure, err};

/// A grid of coloured cells. `values[r][c]` sets the text; `shade[r][c]` in [0, 1] the colour.
pub struct Heatmap {
    pub title: String,
    pub rows: Vec<String>,
    pub cols: Vec<String>,
    pub values: Vec<Vec<f64>>,
    pub shade: Vec<Vec<f64>>,
    /// Print values in cells (off for large matrices).
    pub annotate: bool,
    pub cell: (u32, u32),
    pub label_width: u32,
    pub header_height: u32,
}

impl Figure for Heatmap {
    fn size(&self) -> (u32, u32) {
        (
            self.label_width + self.cell.0 * self.cols.len() as u32 + 20,
            self.header_height + self.cell.1 * self.rows.len() as u32 + 20,
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: &Area<DB>) -> Result<(), String> {
        let (cw, ch) = (self.cell.0 as i32, self.cell.1 as i32);
        let (x0, y0) = (self.label_width as i32, self.header_height as i32);
        root.draw(&Text::new(self.title.clone(), (10, 8), font(16.0)))
            .map_err(err)?;
        let vertical =
            font(f64::from(self.cell.0.clamp(8, 14)) - 1.0).transform(FontTransform::Rotate270);
        for (c, name) in self.cols.iter().enumerate() {
            if self.cols.len() <= 40 {
                let x = x0 + c as i32 * cw + cw / 2 - 6;
                root.draw(&Text::new(name.clone(), (x, y0 - 6), vertical.clone()))
                    .map_err(err)?;
            }
        }
        for (r, name) in self.rows.iter().enumerate() {
            let y = y0 + r as i32 * ch + ch / 2;
            if self.rows.len() <= 40 {
                let size = f64::from(self.cell.1.clamp(8, 14)) - 1.0;
                let style = font(size).pos(Pos::new(HPos::Right, VPos::Center));
                root.draw(&Text::new(name.clone(), (x0 - 6, y), style))
                    .map_err(err)?;
            }
            for c in 0..self.cols.len() {
                let t = self.shade[r][c];
                let (x, y) = (x0 + c as i32 * cw, y0 + r as i32 * ch);
                root.draw(&Rectangle::new(
                    [(x, y), (x + cw, y + ch)],
                    viridis(t).filled(),
                ))
                .map_err(err)?;
                if self.annotate {
                    let ink = colour::ink_on(t);
                    let style = font(11.0)
                        .color(&ink)
                        .pos(Pos::new(HPos::Center, VPos::Center));
                    let v = self.values[r][c];
                    let label = if v.is_finite() {
                        format!("{v:.2}")
                    } else {
                        "–".into()
                    };
                    root.draw(&Text::new(label, (x + cw / 2, y + ch / 2), style))
                        .map_err(err)?;
                }
            }
        }
        Ok(())
    }
}
