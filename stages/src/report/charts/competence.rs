//! Alignment against competence as an SVG, platonic-rep's figure: one row of panels per
//! measure × anchor × kind, one panel per metric. Each point is an encoder, labelled with its
//! name, at its competence (x) and its alignment with the anchor at their best layer pair (y);
//! the panel's title gives Spearman's rho, its 95% interval and p-value, and how many encoders
//! it rests on.

use std::fmt::Write;

use crate::evaluate::competence::results::{
    CompetenceArtifact, CompetenceFile, Measure, Point, RhoRow,
};
use crate::metrics::Metric;
use crate::report::html::escape;

const PANEL_W: f64 = 320.0;
const PANEL_H: f64 = 250.0;
const ROW_TITLE_H: f64 = 26.0;
const MARGIN_L: f64 = 64.0;
const MARGIN_B: f64 = 40.0;
const MARGIN_T: f64 = 44.0;
const MARGIN_R: f64 = 24.0;

/// A number for a label; "–" when there is none.
fn num(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.2}")
    } else {
        "–".into()
    }
}

/// `lo..hi` widened by 10% each side (or ±0.05 around a single value).
fn padded(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    // Values equal up to float rounding (a mutual kNN rational summed two ways) are one value.
    let pad = if hi - lo > 1e-9 * hi.abs().max(lo.abs()) {
        (hi - lo) * 0.1
    } else {
        0.05
    };
    (lo - pad, hi + pad)
}

fn measure_label(file: &CompetenceFile, m: Measure) -> String {
    match m {
        Measure::LinearProbe => format!("linear-probe accuracy ({} classes)", file.classes),
        Measure::Score => file.settings.score_name.clone(),
    }
}

/// The whole figure; a note instead of panels when no correlation had two encoders.
pub fn competence_svg(file: &CompetenceFile) -> String {
    let mut metrics: Vec<Metric> = Vec::new();
    let mut groups: Vec<&RhoRow> = Vec::new();
    for r in &file.rho {
        if !metrics.contains(&r.metric) {
            metrics.push(r.metric);
        }
        if !groups
            .iter()
            .any(|g| g.measure == r.measure && g.kind == r.kind && g.anchor == r.anchor)
        {
            groups.push(r);
        }
    }
    let width = 20.0 + PANEL_W * metrics.len().max(1) as f64;
    let height = 20.0 + (ROW_TITLE_H + PANEL_H) * groups.len().max(1) as f64;
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width:.0}\" height=\"{height:.0}\" \
         font-family=\"DejaVu Sans, sans-serif\" font-size=\"11\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    );
    if groups.is_empty() {
        let _ = writeln!(
            svg,
            "<text x=\"10\" y=\"30\">No correlation: fewer than two encoders of a kind have a \
             competence and a score with a common encoder.</text>"
        );
    }
    for (gi, g) in groups.iter().enumerate() {
        let y0 = 10.0 + gi as f64 * (ROW_TITLE_H + PANEL_H);
        let _ = writeln!(
            svg,
            "<text x=\"10\" y=\"{:.0}\" font-size=\"13\" font-weight=\"bold\">{} encoders: {} \
             against alignment with {}</text>",
            y0 + 16.0,
            escape(g.kind.as_str()),
            escape(&measure_label(file, g.measure)),
            escape(&g.anchor)
        );
        for (mi, &metric) in metrics.iter().enumerate() {
            let Some(row) = file.rho.iter().find(|r| {
                r.metric == metric
                    && r.measure == g.measure
                    && r.kind == g.kind
                    && r.anchor == g.anchor
            }) else {
                continue;
            };
            let points: Vec<&Point> = file
                .points
                .iter()
                .filter(|p| {
                    p.metric == metric
                        && p.measure == g.measure
                        && p.kind == g.kind
                        && p.anchor == g.anchor
                })
                .collect();
            panel(
                &mut svg,
                10.0 + mi as f64 * PANEL_W,
                y0 + ROW_TITLE_H,
                row,
                &points,
                &measure_label(file, g.measure),
            );
        }
    }
    svg.push_str("</svg>\n");
    svg
}

fn panel(svg: &mut String, x0: f64, y0: f64, row: &RhoRow, points: &[&Point], x_label: &str) {
    let (left, right) = (x0 + MARGIN_L, x0 + PANEL_W - MARGIN_R);
    let (top, bottom) = (y0 + MARGIN_T, y0 + PANEL_H - MARGIN_B);
    let (xlo, xhi) = padded(points.iter().map(|p| p.competence));
    let (ylo, yhi) = padded(points.iter().map(|p| p.alignment));
    let px = |v: f64| left + (v - xlo) / (xhi - xlo) * (right - left);
    let py = |v: f64| bottom - (v - ylo) / (yhi - ylo) * (bottom - top);
    let _ = writeln!(
        svg,
        "<text x=\"{:.0}\" y=\"{:.0}\" font-weight=\"bold\">{}</text>\n\
         <text x=\"{:.0}\" y=\"{:.0}\">ρ {} [{}, {}], p {}, {} encoders</text>",
        x0 + 4.0,
        y0 + 12.0,
        escape(row.metric.name()),
        x0 + 4.0,
        y0 + 26.0,
        num(row.rho),
        num(row.ci_low),
        num(row.ci_high),
        num(row.p_value),
        row.encoders
    );
    let _ = writeln!(
        svg,
        "<rect x=\"{left:.1}\" y=\"{top:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"none\" \
         stroke=\"#999\"/>",
        right - left,
        bottom - top
    );
    // Ticks at both ends of each axis and the middle, with the digits their spacing needs.
    let (xd, yd) = (digits(xhi - xlo), digits(yhi - ylo));
    for t in [0.0, 0.5, 1.0] {
        let (vx, vy) = (xlo + t * (xhi - xlo), ylo + t * (yhi - ylo));
        let _ = writeln!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#555\">{}</text>\n\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#555\">{}</text>",
            px(vx),
            bottom + 14.0,
            tick(vx, xd),
            left - 4.0,
            py(vy) + 4.0,
            tick(vy, yd)
        );
    }
    let _ = writeln!(
        svg,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>\n\
         <text transform=\"translate({:.1},{:.1}) rotate(-90)\" text-anchor=\"middle\">alignment \
         (best layer pair)</text>",
        (left + right) / 2.0,
        bottom + 30.0,
        escape(x_label),
        x0 + 12.0,
        (top + bottom) / 2.0
    );
    for p in points.iter().filter(|p| p.alignment.is_finite()) {
        point(
            svg,
            (px(p.competence), py(p.alignment)),
            (left + right) / 2.0,
            p,
        );
    }
}

/// One encoder's point at `(cx, cy)`, labelled on the side away from the panel's edge (the
/// panel's middle is at `mid`).
fn point(svg: &mut String, (cx, cy): (f64, f64), mid: f64, p: &Point) {
    let title = if p.layers.is_empty() {
        String::new()
    } else {
        format!(" ({})", p.layers)
    };
    // Labels of the right half go to the point's left, so none leaves the panel.
    let (lx, anchor) = if cx > mid {
        (cx - 6.0, "end")
    } else {
        (cx + 6.0, "start")
    };
    let _ = writeln!(
        svg,
        "<circle cx=\"{cx:.1}\" cy=\"{cy:.1}\" r=\"4\" fill=\"#2166ac\"><title>{}: {:.4} \
         against {:.4}{}</title></circle>\n\
         <text x=\"{lx:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\">{}</text>",
        escape(&p.encoder),
        p.competence,
        p.alignment,
        escape(&title),
        cy - 7.0,
        escape(&p.encoder)
    );
}

/// Decimals that tell ticks `span / 2` apart: two beyond the span's first digit.
fn digits(span: f64) -> usize {
    if span > 0.0 && span.is_finite() {
        (2.0 - span.log10().floor()).clamp(0.0, 8.0) as usize
    } else {
        3
    }
}

fn tick(v: f64, digits: usize) -> String {
    format!("{v:.digits$}")
}

/// Draws `file`'s figure into its artifact (`CompetenceArtifact::figure_svg`).
pub fn write(file: &CompetenceFile, artifact: &CompetenceArtifact) -> crate::Result<()> {
    let path = artifact.figure_svg();
    std::fs::write(&path, competence_svg(file)).map_err(|e| crate::Error::io(&path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_pad_their_span_and_ticks_show_its_digits() {
        let (lo, hi) = padded([0.2, 0.4].into_iter());
        assert!((lo - 0.18).abs() < 1e-12 && (hi - 0.42).abs() < 1e-12);
        // One value computed two ways is one value: a readable ±0.05, not a 1e-17 axis.
        let (lo, hi) = padded([0.16628571428571431, 0.1662857142857143].into_iter());
        assert!((hi - lo - 0.1).abs() < 1e-9, "{lo} {hi}");
        assert_eq!(padded([f64::NAN].into_iter()), (0.0, 1.0));
        assert_eq!(tick(0.1, digits(0.12)), "0.100");
        assert_eq!(tick(78.1, digits(7.2)), "78.10");
    }
}
