//! Scatter panels: groups of points in one colour each, with a legend.

use plotters::prelude::*;

use super::{axes, finite_range, font};
use crate::report::figure::{Area, Figure, err};

/// (group name, colour, points)
pub type ScatterGroup = (String, RGBColor, Vec<(f64, f64)>);

pub struct ScatterPanel {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub groups: Vec<ScatterGroup>,
}

pub struct ScatterPanels {
    pub panels: Vec<ScatterPanel>,
    pub panel_size: (u32, u32),
}

impl Figure for ScatterPanels {
    fn size(&self) -> (u32, u32) {
        (
            self.panel_size.0 * self.panels.len().max(1) as u32,
            self.panel_size.1,
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: &Area<DB>) -> Result<(), String> {
        let areas = root.split_evenly((1, self.panels.len().max(1)));
        for (panel, area) in self.panels.iter().zip(&areas) {
            let xs = finite_range(panel.groups.iter().flat_map(|g| g.2.iter().map(|p| p.0)));
            let ys = finite_range(panel.groups.iter().flat_map(|g| g.2.iter().map(|p| p.1)));
            let labels = (
                panel.title.as_str(),
                panel.x_label.as_str(),
                panel.y_label.as_str(),
            );
            let mut chart = axes(area, labels, xs, ys, 11.0)?;
            for (name, c, points) in &panel.groups {
                let c = *c;
                chart
                    .draw_series(
                        points
                            .iter()
                            .map(|&p| Circle::new(p, 3, c.mix(0.7).filled())),
                    )
                    .map_err(err)?
                    .label(name.as_str())
                    .legend(move |(x, y)| Circle::new((x + 8, y), 4, c.filled()));
            }
            chart
                .configure_series_labels()
                .label_font(font(11.0))
                .background_style(WHITE.mix(0.85))
                .border_style(RGBColor(180, 180, 180))
                .draw()
                .map_err(err)?;
        }
        Ok(())
    }
}
