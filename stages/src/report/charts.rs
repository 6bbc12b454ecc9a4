//! The report's chart types: line panels (loss curves), a heatmap with values (pairs x
//! metrics, similarity matrices), horizontal interval bars (H1/H2 margins) and scatter panels
//! (PCA views).

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::report::colour::{self, viridis};
use crate::report::figure::{Area, Figure, err};
use crate::report::font::FAMILY;

fn font(size: f64) -> TextStyle<'static> {
    (FAMILY, size).into_font().color(&BLACK)
}

fn finite_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if hi - lo < 1e-12 {
        return (lo - 0.5, hi + 0.5);
    }
    let pad = (hi - lo) * 0.05;
    (lo - pad, hi + pad)
}

type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// A titled panel with numeric axes over `xs` x `ys`, its grid and axis labels drawn;
/// `labels` = (title, x label, y label), `text` the tick label size.
fn axes<'a, DB: DrawingBackend>(
    area: &'a Area<DB>,
    labels: (&str, &str, &str),
    xs: (f64, f64),
    ys: (f64, f64),
    text: f64,
) -> Result<Chart<'a, DB>, String> {
    let mut chart = ChartBuilder::on(area)
        .caption(labels.0, font(text + 4.0))
        .margin(8)
        .x_label_area_size(36)
        .y_label_area_size(58)
        .build_cartesian_2d(xs.0..xs.1, ys.0..ys.1)
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc(labels.1)
        .y_desc(labels.2)
        .label_style(font(text))
        .axis_desc_style(font(text + 1.0))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(err)?;
    Ok(chart)
}

pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    /// Dashed-looking (thinner, lighter) for validation curves.
    pub light: bool,
}

pub struct Panel {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<Series>,
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
                    .flat_map(|s| s.points.iter().map(|p| p.0)),
            );
            let ys = finite_range(
                panel
                    .series
                    .iter()
                    .flat_map(|s| s.points.iter().map(|p| p.1)),
            );
            let labels = (
                panel.title.as_str(),
                panel.x_label.as_str(),
                panel.y_label.as_str(),
            );
            let mut chart = axes(area, labels, xs, ys, 12.0)?;
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
                    .copied()
                    .filter(|p| p.0.is_finite() && p.1.is_finite())
                    .collect();
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

/// One horizontal bar with an interval and an optional control marker.
pub struct IntervalBar {
    pub label: String,
    pub value: f64,
    pub low: f64,
    pub high: f64,
    /// The untrained control's value (drawn as a hollow marker).
    pub control: Option<f64>,
    pub colour: RGBColor,
    /// Left out of the axis range: drawn clipped at the edge, with its value written there
    /// (the uncentred kernel alignment's margins would otherwise flatten every other bar).
    pub clip: bool,
}

pub struct IntervalBars {
    pub title: String,
    pub x_label: String,
    pub bars: Vec<IntervalBar>,
    pub legend: Vec<(String, RGBColor, bool)>,
    pub width: u32,
}

impl Figure for IntervalBars {
    fn size(&self) -> (u32, u32) {
        (self.width, 90 + 20 * self.bars.len() as u32 + 50)
    }

    fn draw<DB: DrawingBackend>(&self, root: &Area<DB>) -> Result<(), String> {
        let (w, _) = self.size();
        let (left, right, top) = (200i32, w as i32 - 20, 80i32);
        let row = 20i32;
        let (lo, hi) = finite_range(
            self.bars
                .iter()
                .filter(|b| !b.clip)
                .flat_map(|b| [b.value, b.low, b.high, b.control.unwrap_or(0.0), 0.0]),
        );
        let x = |v: f64| {
            let v = v.clamp(lo, hi);
            left + ((v - lo) / (hi - lo) * f64::from(right - left)).round() as i32
        };
        root.draw(&Text::new(self.title.clone(), (10, 8), font(16.0)))
            .map_err(err)?;
        // Legend.
        let mut lx = 10;
        for (name, c, hollow) in &self.legend {
            let style = if *hollow {
                c.stroke_width(2)
            } else {
                c.filled()
            };
            root.draw(&Rectangle::new([(lx, 38), (lx + 14, 52)], style))
                .map_err(err)?;
            root.draw(&Text::new(name.clone(), (lx + 20, 38), font(12.0)))
                .map_err(err)?;
            lx += 30 + 7 * name.len() as i32;
        }
        let bottom = top + row * self.bars.len() as i32;
        // Axis with five ticks.
        for i in 0..=4 {
            let v = lo + (hi - lo) * f64::from(i) / 4.0;
            let px = x(v);
            root.draw(&PathElement::new(
                vec![(px, top - 4), (px, bottom)],
                RGBColor(230, 230, 230),
            ))
            .map_err(err)?;
            let style = font(11.0).pos(Pos::new(HPos::Center, VPos::Top));
            root.draw(&Text::new(format!("{v:.2}"), (px, bottom + 4), style))
                .map_err(err)?;
        }
        let style = font(13.0).pos(Pos::new(HPos::Center, VPos::Top));
        root.draw(&Text::new(
            self.x_label.clone(),
            ((left + right) / 2, bottom + 22),
            style,
        ))
        .map_err(err)?;
        root.draw(&PathElement::new(
            vec![(x(0.0), top - 6), (x(0.0), bottom)],
            BLACK.stroke_width(1),
        ))
        .map_err(err)?;
        for (i, b) in self.bars.iter().enumerate() {
            let y = top + row * i as i32;
            let label = font(12.0).pos(Pos::new(HPos::Right, VPos::Center));
            root.draw(&Text::new(b.label.clone(), (left - 8, y + row / 2), label))
                .map_err(err)?;
            if b.value.is_finite() {
                let (a, c) = (x(0.0).min(x(b.value)), x(0.0).max(x(b.value)));
                root.draw(&Rectangle::new(
                    [(a, y + 4), (c.max(a + 1), y + row - 4)],
                    b.colour.mix(0.75).filled(),
                ))
                .map_err(err)?;
            }
            if b.clip && (b.value < lo || b.value > hi) {
                let (px, anchor) = if b.value < lo {
                    (x(lo) + 4, HPos::Left)
                } else {
                    (x(hi) - 4, HPos::Right)
                };
                let style = font(11.0).color(&WHITE).pos(Pos::new(anchor, VPos::Center));
                root.draw(&Text::new(
                    format!("off scale: {:.2}", b.value),
                    (px, y + row / 2),
                    style,
                ))
                .map_err(err)?;
                continue;
            }
            if b.low.is_finite() && b.high.is_finite() {
                let m = y + row / 2;
                let (l, h) = (x(b.low), x(b.high));
                for seg in [
                    vec![(l, m), (h, m)],
                    vec![(l, m - 5), (l, m + 5)],
                    vec![(h, m - 5), (h, m + 5)],
                ] {
                    root.draw(&PathElement::new(seg, BLACK.stroke_width(1)))
                        .map_err(err)?;
                }
            }
            if let Some(cv) = b.control.filter(|v| v.is_finite()) {
                root.draw(&Circle::new(
                    (x(cv), y + row / 2),
                    4,
                    RGBColor(90, 90, 90).stroke_width(2),
                ))
                .map_err(err)?;
            }
        }
        Ok(())
    }
}

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
