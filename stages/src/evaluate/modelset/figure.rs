//! The alignment matrix as an SVG: one panel per metric, the first encoder of each pair down
//! the side, the second across; each cell shaded by its calibrated score (score minus the
//! permutation null's mean) and labelled with the raw score, the null's mean and the p-value,
//! so a high raw score that its null explains reads as pale.

use std::fmt::Write;

use crate::evaluate::modelset::results::ModelsetFile;
use crate::metrics::Metric;
use crate::report::html::escape;

const CELL_W: f64 = 170.0;
const CELL_H: f64 = 54.0;
const LABEL_W: f64 = 130.0;
const TITLE_H: f64 = 46.0;
const GAP: f64 = 24.0;

/// The names in first-appearance order.
fn ordered<'a>(names: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for n in names {
        if !out.contains(&n) {
            out.push(n);
        }
    }
    out
}

/// White at or below zero to blue at `top`.
fn shade(calibrated: f64, top: f64) -> String {
    let t = if calibrated.is_finite() && top > 0.0 {
        (calibrated / top).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let mix = |white: f64, full: f64| (white + (full - white) * t).round() as u8;
    format!(
        "#{:02x}{:02x}{:02x}",
        mix(255.0, 33.0),
        mix(255.0, 102.0),
        mix(255.0, 172.0)
    )
}

/// The whole figure.
pub fn matrix_svg(file: &ModelsetFile) -> String {
    let metrics: Vec<Metric> = {
        let mut out: Vec<Metric> = Vec::new();
        for s in &file.scores {
            if !out.contains(&s.metric) {
                out.push(s.metric);
            }
        }
        out
    };
    let rows = ordered(file.scores.iter().map(|s| s.a.as_str()));
    let cols = ordered(file.scores.iter().map(|s| s.b.as_str()));
    let panel_w = LABEL_W + CELL_W * cols.len() as f64;
    let panel_h = TITLE_H + CELL_H * rows.len() as f64;
    let width = panel_w * metrics.len() as f64 + GAP * (metrics.len().max(1) - 1) as f64 + 20.0;
    let height = panel_h + 40.0;
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" \
         font-family=\"DejaVu Sans, sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    );
    for (k, &metric) in metrics.iter().enumerate() {
        let x0 = 10.0 + k as f64 * (panel_w + GAP);
        let cells: Vec<_> = file.scores.iter().filter(|s| s.metric == metric).collect();
        let top = cells
            .iter()
            .map(|s| s.calibrated)
            .filter(|v| v.is_finite())
            .fold(0.0, f64::max);
        let _ = writeln!(
            svg,
            "<text x=\"{:.0}\" y=\"20\" font-size=\"14\" font-weight=\"bold\">{}</text>",
            x0,
            escape(metric.name())
        );
        for (j, col) in cols.iter().enumerate() {
            let _ = writeln!(
                svg,
                "<text x=\"{:.0}\" y=\"{:.0}\" text-anchor=\"middle\">{}</text>",
                x0 + LABEL_W + (j as f64 + 0.5) * CELL_W,
                TITLE_H - 8.0,
                escape(col)
            );
        }
        for (i, row) in rows.iter().enumerate() {
            let y = TITLE_H + i as f64 * CELL_H;
            let _ = writeln!(
                svg,
                "<text x=\"{:.0}\" y=\"{:.0}\" text-anchor=\"end\">{}</text>",
                x0 + LABEL_W - 8.0,
                y + CELL_H / 2.0 + 4.0,
                escape(row)
            );
            for (j, col) in cols.iter().enumerate() {
                let x = x0 + LABEL_W + j as f64 * CELL_W;
                let Some(s) = cells.iter().find(|s| s.a == *row && s.b == *col) else {
                    let _ = writeln!(
                        svg,
                        "<rect x=\"{x:.0}\" y=\"{y:.0}\" width=\"{CELL_W:.0}\" height=\"{CELL_H:.0}\" \
                         fill=\"#f4f4f4\" stroke=\"white\"/>"
                    );
                    continue;
                };
                let _ = writeln!(
                    svg,
                    "<rect x=\"{x:.0}\" y=\"{y:.0}\" width=\"{CELL_W:.0}\" height=\"{CELL_H:.0}\" \
                     fill=\"{}\" stroke=\"white\"/>\n\
                     <text x=\"{:.0}\" y=\"{:.0}\" text-anchor=\"middle\" font-size=\"15\">{:.3}</text>\n\
                     <text x=\"{:.0}\" y=\"{:.0}\" text-anchor=\"middle\" font-size=\"10\">null {:.3} · p {:.3}</text>",
                    shade(s.calibrated, top),
                    x + CELL_W / 2.0,
                    y + 24.0,
                    s.score,
                    x + CELL_W / 2.0,
                    y + 42.0,
                    s.null_mean,
                    s.p_value
                );
            }
        }
    }
    let _ = writeln!(
        svg,
        "<text x=\"10\" y=\"{:.0}\" font-size=\"11\" fill=\"#555\">raw score in each cell; \
         shade: score minus the permutation null's mean ({} permutations, {} rows, {} split)</text>\n</svg>",
        panel_h + 24.0,
        file.settings.permutations,
        file.settings.n,
        escape(&file.settings.split)
    );
    svg
}
