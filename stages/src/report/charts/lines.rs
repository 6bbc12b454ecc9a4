//! Line panels: a grid of panels, each with its series against a shared x axis, and optional
//! error bars at the points (a sweep's means with their intervals across seeds), on a linear or
//! a log x axis.

use plotters::prelude::*;

use super::{axes_with, finite_range, font};
use crate::report::colour;
use crate::report::figure::{Area, Figure, err};

pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    /// Dashed-looking (thinner, lighter) for validation curves.
    pub light: bool,
    /// Error bars: (x, low, high); empty for none.
    pub errors: Vec<(f64, f64, f64)>,
}

pub struct Panel {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<Series>,
    /// x on a log axis (every x positive): drawn over log₂ x, ticks written as x.
    pub log_x: bool,
}

impl Panel {
    /// Where `x` is drawn.
    fn at(&self, x: f64) -> f64 {
        if self.log_x { x.log2() } else { x }
    }
}

/// A log axis's tick at t = log₂ x: x where t is a whole power of two (16, 32, 0.5), blank
/// between them (the mesh's ticks fall at halves too).
fn log_tick(t: &f64) -> String {
    if (t - t.round()).abs() > 1e-9 {
        return String::new();
    }
    let v = t.round().exp2();
    if v >= 1.0 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

/// Panels in a grid of `columns`, each a line chart with a legend.
pub struct LinePanels {
    pub panels: Vec<Panel>,
    pub panel_size: (u32, u32),
    pub columns: usize,
}

impl LinePanels {
    fn grid(&self) -> (usize, usize) {
        let cols = self.columns.clamp(1, self.panels.len().max(1));
        (self.panels.len().max(1).div_ceil(cols), cols)
    }
}

impl Figure for LinePanels {
    fn size(&self) -> (u32, u32) {
        let (rows, cols) = self.grid();
        (
            self.panel_size.0 * cols as u32,
            self.panel_size.1 * rows as u32,
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: &Area<DB>) -> Result<(), String> {
        let areas = root.split_evenly(self.grid());
        for (panel, area) in self.panels.iter().zip(&areas) {
            let xs = finite_range(
                panel
                    .series
                    .iter()
                    .flat_map(|s| s.points.iter().map(|p| panel.at(p.0))),
            );
            let ys = finite_range(panel.series.iter().flat_map(|s| {
                s.points
                    .iter()
                    .map(|p| p.1)
                    .chain(s.errors.iter().flat_map(|e| [e.1, e.2]))
            }));
            let labels = (
                panel.title.as_str(),
                panel.x_label.as_str(),
                panel.y_label.as_str(),
            );
            let tick: Option<&dyn Fn(&f64) -> String> = panel.log_x.then_some(&log_tick);
            let mut chart = axes_with(area, labels, (xs, ys), 12.0, tick)?;
            for (i, s) in panel.series.iter().enumerate() {
                let c = colour::SERIES[i % colour::SERIES.len()];
                let style = if s.light {
                    c.mix(0.6).stroke_width(2)
                } else {
                    c.stroke_width(3)
                };
                let points: Vec<(f64, f64)> = s
                    .points
                    .iter()
                    .map(|&(x, y)| (panel.at(x), y))
                    .filter(|p| p.0.is_finite() && p.1.is_finite())
                    .collect();
                if !s.errors.is_empty() {
                    // A point marker with each error bar, so a one-point series still shows.
                    chart
                        .draw_series(points.iter().map(|&p| Circle::new(p, 3, c.filled())))
                        .map_err(err)?;
                    let bars = s
                        .errors
                        .iter()
                        .map(|&(x, lo, hi)| (panel.at(x), lo, hi))
                        .filter(|e| e.0.is_finite() && e.1.is_finite() && e.2.is_finite())
                        .map(|(x, lo, hi)| {
                            ErrorBar::new_vertical(x, lo, (lo + hi) / 2.0, hi, c.stroke_width(1), 8)
                        });
                    chart.draw_series(bars).map_err(err)?;
                }
                chart
                    .draw_series(LineSeries::new(points, style))
                    .map_err(err)?
                    .label(s.name.as_str())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
            }
            chart
                .configure_series_labels()
                .label_font(font(12.0))
                .background_style(WHITE.mix(0.85))
                .border_style(RGBColor(180, 180, 180))
                .position(SeriesLabelPosition::UpperRight)
                .draw()
                .map_err(err)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::log_tick;

    #[test]
    fn log_ticks_name_powers_of_two_only() {
        assert_eq!(log_tick(&4.0), "16");
        assert_eq!(log_tick(&7.0), "128");
        assert_eq!(log_tick(&-1.0), "0.5");
        assert_eq!(log_tick(&4.5), "");
    }
}
