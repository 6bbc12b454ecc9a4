//! The report's chart types, one file each: line panels (loss curves, [`lines`]), a heatmap with
//! values (pairs x metrics, similarity matrices, [`heatmap`]), horizontal interval bars (H1/H2
//! margins, [`bars`]) and scatter panels (PCA views, [`scatter`]); the helpers they share here.
//! The model set's two figures are SVG written directly, for any stage that draws them:
//! [`modelset`] (the alignment matrix) and [`competence`] (alignment against competence).

mod bars;
pub mod competence;
mod heatmap;
mod lines;
pub mod modelset;
mod scatter;

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use crate::report::figure::{Area, err};
use crate::report::font::FAMILY;

pub use bars::{IntervalBar, IntervalBars};
pub use heatmap::Heatmap;
pub use lines::{LinePanels, Panel, Series};
pub use scatter::{ScatterGroup, ScatterPanel, ScatterPanels};

pub(super) fn font(size: f64) -> TextStyle<'static> {
    (FAMILY, size).into_font().color(&BLACK)
}

pub(super) fn finite_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
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

pub(super) type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// A titled panel with numeric axes over `xs` x `ys`, its grid and axis labels drawn;
/// `labels` = (title, x label, y label), `text` the tick label size.
pub(super) fn axes<'a, DB: DrawingBackend>(
    area: &'a Area<DB>,
    labels: (&str, &str, &str),
    xs: (f64, f64),
    ys: (f64, f64),
    text: f64,
) -> Result<Chart<'a, DB>, String> {
    axes_with(area, labels, (xs, ys), text, None)
}

/// [`axes`] with the x ticks written by `x_tick` (a log axis drawn over log₂ x writes 2^x).
pub(super) fn axes_with<'a, DB: DrawingBackend>(
    area: &'a Area<DB>,
    labels: (&str, &str, &str),
    (xs, ys): ((f64, f64), (f64, f64)),
    text: f64,
    x_tick: Option<&dyn Fn(&f64) -> String>,
) -> Result<Chart<'a, DB>, String> {
    let mut chart = ChartBuilder::on(area)
        .caption(labels.0, font(text + 4.0))
        .margin(8)
        .x_label_area_size(36)
        .y_label_area_size(58)
        .build_cartesian_2d(xs.0..xs.1, ys.0..ys.1)
        .map_err(err)?;
    let mut mesh = chart.configure_mesh();
    mesh.x_desc(labels.1)
        .y_desc(labels.2)
        .label_style(font(text))
        .axis_desc_style(font(text + 1.0))
        .light_line_style(RGBColor(235, 235, 235));
    if let Some(x_tick) = x_tick {
        mesh.x_label_formatter(x_tick);
    }
    mesh.draw().map_err(err)?;
    Ok(chart)
}
