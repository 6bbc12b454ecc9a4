//! The alignment matrix as an SVG: one panel per metric, stacked; the first encoder of each pair
//! (with its layer) down the side, the second across (encoder name over its layers). Each cell
//! is shaded by its calibrated score (Gröger et al.: 0 at or below the permutation null's
//! critical value, 1 at the metric's maximum; the same scale in every panel) and labelled with
//! the raw score, the calibrated score and the p-value, so a high raw score that its null
//! explains reads as pale. An encoder pair's best layer pair is outlined.

use std::fmt::Write;

use crate::evaluate::modelset::results::{ModelsetArtifact, ModelsetFile, PairScore};
use crate::metrics::Metric;
use crate::report::html::escape;

const CELL_W: f64 = 150.0;
const CELL_H: f64 = 50.0;
const LABEL_W: f64 = 230.0;
const TITLE_H: f64 = 64.0;
const GAP: f64 = 28.0;

/// An encoder and one of its layers ("" without a layer axis).
type Side = (String, String);

fn side_label((name, layer): &Side) -> String {
    if layer.is_empty() {
        name.clone()
    } else {
        format!("{name} / {layer}")
    }
}

/// The sides in first-appearance order.
fn ordered(sides: impl Iterator<Item = Side>) -> Vec<Side> {
    let mut out: Vec<Side> = Vec::new();
    for s in sides {
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}

/// White at a calibrated score of 0 (chance) to blue at 1 (the metric's maximum).
fn shade(calibrated: f64) -> String {
    let t = if calibrated.is_finite() {
        calibrated.clamp(0.0, 1.0)
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

fn a_side(s: &PairScore) -> Side {
    (s.a.clone(), s.a_layer.clone())
}

fn b_side(s: &PairScore) -> Side {
    (s.b.clone(), s.b_layer.clone())
}

/// The whole figure.
pub fn matrix_svg(file: &ModelsetFile) -> String {
    let mut metrics: Vec<Metric> = Vec::new();
    for s in &file.scores {
        if !metrics.contains(&s.metric) {
            metrics.push(s.metric);
        }
    }
    let rows = ordered(file.scores.iter().map(a_side));
    let cols = ordered(file.scores.iter().map(b_side));
    let panel_h = TITLE_H + CELL_H * rows.len() as f64;
    let width = 20.0 + LABEL_W + CELL_W * cols.len() as f64;
    let height = 10.0 + (panel_h + GAP) * metrics.len() as f64 + 30.0;
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" \
         font-family=\"DejaVu Sans, sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    );
    for (k, &metric) in metrics.iter().enumerate() {
        let at = (10.0, 10.0 + k as f64 * (panel_h + GAP));
        panel(&mut svg, file, metric, (&rows, &cols), at);
    }
    let _ = writeln!(
        svg,
        "<text x=\"10\" y=\"{:.0}\" font-size=\"11\" fill=\"#555\">raw score in each cell; \
         shade: the score calibrated against its permutation null, from 0 (chance at level {}) \
         to 1 ({} permutations, {} rows, {} split); \
         outlined: an encoder pair's best layer pair (its selection-corrected p: \
         best_layers.parquet)</text>\n</svg>",
        height - 14.0,
        file.settings.alpha,
        file.settings.permutations,
        file.settings.n,
        escape(&file.settings.split)
    );
    svg
}

/// One metric's panel, its top-left corner at `(x0, y0)`: the title, the column labels, and a
/// row of cells per first encoder (and layer).
fn panel(
    svg: &mut String,
    file: &ModelsetFile,
    metric: Metric,
    (rows, cols): (&[Side], &[Side]),
    (x0, y0): (f64, f64),
) {
    let cells: Vec<&PairScore> = file.scores.iter().filter(|s| s.metric == metric).collect();
    let _ = writeln!(
        svg,
        "<text x=\"{x0:.0}\" y=\"{:.0}\" font-size=\"14\" font-weight=\"bold\">{}</text>",
        y0 + 14.0,
        escape(metric.name())
    );
    column_labels(svg, cols, (x0, y0));
    for (i, row) in rows.iter().enumerate() {
        let y = y0 + TITLE_H + i as f64 * CELL_H;
        let _ = writeln!(
            svg,
            "<text x=\"{:.0}\" y=\"{:.0}\" text-anchor=\"end\">{}</text>",
            x0 + LABEL_W - 8.0,
            y + CELL_H / 2.0 + 4.0,
            escape(&side_label(row))
        );
        for (j, col) in cols.iter().enumerate() {
            let x = x0 + LABEL_W + j as f64 * CELL_W;
            let s = cells
                .iter()
                .find(|s| a_side(s) == *row && b_side(s) == *col);
            // Each encoder pair's best layer pair is outlined (when there was a choice).
            let best = s.is_some_and(|s| {
                file.best.iter().any(|b| {
                    b.layer_pairs > 1
                        && b.metric == metric
                        && (&b.a, &b.a_layer, &b.b, &b.b_layer)
                            == (&s.a, &s.a_layer, &s.b, &s.b_layer)
                })
            });
            cell(svg, (x, y), s.copied(), best);
        }
    }
}

/// The second encoders across a panel: each encoder's name once, over the first of its layers;
/// each layer under it.
fn column_labels(svg: &mut String, cols: &[Side], (x0, y0): (f64, f64)) {
    for (j, (name, layer)) in cols.iter().enumerate() {
        let cx = x0 + LABEL_W + (j as f64 + 0.5) * CELL_W;
        if j == 0 || cols[j - 1].0 != *name {
            let _ = writeln!(
                svg,
                "<text x=\"{:.0}\" y=\"{:.0}\" font-weight=\"bold\">{}</text>",
                x0 + LABEL_W + j as f64 * CELL_W + 4.0,
                y0 + TITLE_H - 26.0,
                escape(name)
            );
        }
        if !layer.is_empty() {
            let _ = writeln!(
                svg,
                "<text x=\"{cx:.0}\" y=\"{:.0}\" text-anchor=\"middle\">{}</text>",
                y0 + TITLE_H - 8.0,
                escape(layer)
            );
        }
    }
}

/// One cell at `(x, y)`: shaded by its calibrated score, labelled with the raw score, the
/// calibrated score and p; grey where the pair was not scored.
fn cell(svg: &mut String, (x, y): (f64, f64), s: Option<&PairScore>, best: bool) {
    let Some(s) = s else {
        let _ = writeln!(
            svg,
            "<rect x=\"{x:.0}\" y=\"{y:.0}\" width=\"{CELL_W:.0}\" \
             height=\"{CELL_H:.0}\" fill=\"#f4f4f4\" stroke=\"white\"/>"
        );
        return;
    };
    let stroke = if best {
        "stroke=\"black\" stroke-width=\"2\""
    } else {
        "stroke=\"white\""
    };
    let _ = writeln!(
        svg,
        "<rect x=\"{x:.0}\" y=\"{y:.0}\" width=\"{CELL_W:.0}\" height=\"{CELL_H:.0}\" \
         fill=\"{}\" {stroke}/>\n\
         <text x=\"{:.0}\" y=\"{:.0}\" text-anchor=\"middle\" font-size=\"15\">{:.3}</text>\n\
         <text x=\"{:.0}\" y=\"{:.0}\" text-anchor=\"middle\" font-size=\"10\">calibrated {:.3} · p {:.3}</text>",
        shade(s.calibrated),
        x + CELL_W / 2.0,
        y + 22.0,
        s.score,
        x + CELL_W / 2.0,
        y + 39.0,
        s.calibrated,
        s.p_value
    );
}

/// Draws `file`'s figure into its artifact (`ModelsetArtifact::matrix_svg`).
pub fn write(file: &ModelsetFile, artifact: &ModelsetArtifact) -> crate::Result<()> {
    let path = artifact.matrix_svg();
    std::fs::write(&path, matrix_svg(file)).map_err(|e| crate::Error::io(&path, e))
}
