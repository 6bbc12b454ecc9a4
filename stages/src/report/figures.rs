//! Each report figure built from one adapter's results (or from the shared features).

use ndarray::Array2;

use crate::evaluate::hypotheses::Hypothesis;
use crate::metrics::Metric;
use crate::metrics::space::l2_normalise;
use crate::report::charts::{
    Heatmap, IntervalBar, IntervalBars, LinePanels, Panel, ScatterPanel, ScatterPanels, Series,
};
use crate::report::colour;
use crate::report::inputs::AdapterResults;
use crate::report::pca::Projection;
use crate::spaces::{PAIRS, SpaceName, Weights};
use crate::train::history::EpochRow;

/// Loss, its parts, learning rate and validation R@1 against the epoch (0 = untrained).
pub fn losses(a: &AdapterResults) -> LinePanels {
    let epochs: Vec<f64> = a.history.iter().map(|r| r.epoch as f64).collect();
    let series = |name: &str, col: fn(&EpochRow) -> f64, light: bool| Series {
        name: name.into(),
        points: epochs.iter().copied().zip(a.history_column(col)).collect(),
        light,
        errors: Vec::new(),
    };
    let panel = |title: &str, y: &str, series: Vec<Series>| Panel {
        title: format!("{} — {title}", a.name),
        x_label: "epoch".into(),
        y_label: y.into(),
        series,
        log_x: false,
    };
    LinePanels {
        panels: vec![
            panel(
                "loss",
                "loss",
                vec![
                    series("train total", |r| r.train_loss, false),
                    series("val total", |r| r.val_loss, true),
                    series("train contrastive", |r| r.train_contrastive, false),
                    series("val contrastive", |r| r.val_contrastive, true),
                ],
            ),
            panel(
                "variance term",
                "mean (var A − var R)²",
                vec![
                    series("train", |r| r.train_variance, false),
                    series("val", |r| r.val_variance, true),
                ],
            ),
            panel(
                "learning rate",
                "lr",
                vec![series("lr (last step)", |r| r.lr, false)],
            ),
            panel(
                "val retrieval",
                "R@1",
                vec![
                    series("image→text", |r| r.val_r1_i2t, false),
                    series("text→image", |r| r.val_r1_t2i, false),
                ],
            ),
        ],
        panel_size: (380, 300),
        columns: 2,
    }
}

/// Pairs x metrics; colour = score / (identical inputs' score).
pub fn alignment_heatmap(a: &AdapterResults, topk: usize) -> Heatmap {
    let metrics = a.align.metrics_scored();
    let values: Vec<Vec<f64>> = PAIRS
        .iter()
        .map(|&p| metrics.iter().map(|&m| a.align.score(m, p)).collect())
        .collect();
    let shade = values
        .iter()
        .map(|row| {
            row.iter()
                .zip(&metrics)
                .map(|(v, m)| (v / m.identical_score(topk)).clamp(0.0, 1.0))
                .collect()
        })
        .collect();
    Heatmap {
        title: format!(
            "{}: alignment, before (unimodal), after (aligned), control (untrained)",
            a.name
        ),
        rows: PAIRS.iter().map(|p| p.name()).collect(),
        cols: metrics.iter().map(|m| m.name().to_string()).collect(),
        values,
        shade,
        annotate: true,
        cell: (62, 26),
        label_width: 250,
        header_height: 150,
    }
}

/// H1/H2 margins of the aligned image (trained) with intervals; untrained margins as markers.
/// Margins are divided by the metric's identical-input score so all share one axis.
pub fn hypothesis_bars(a: &AdapterResults, topk: usize) -> IntervalBars {
    let mut bars = Vec::new();
    for m in a.align.metrics_scored() {
        let scale = m.identical_score(topk);
        for (h, c) in [
            (Hypothesis::H1, colour::SERIES[0]),
            (Hypothesis::H2, colour::SERIES[1]),
        ] {
            let (tr, un) = (
                a.image_test(h, m, Weights::Trained),
                a.image_test(h, m, Weights::Untrained),
            );
            let get =
                |t: Option<&_>, f: fn(&crate::evaluate::hypotheses::HypothesisTest) -> f64| {
                    t.map_or(f64::NAN, f) / scale
                };
            bars.push(IntervalBar {
                label: format!("{} · {h}", m.name()),
                value: get(tr, |t| t.margin),
                low: get(tr, |t| t.ci_low),
                high: get(tr, |t| t.ci_high),
                control: Some(get(un, |t| t.margin)),
                colour: c,
                clip: m == Metric::KernelAlignment,
            });
        }
    }
    IntervalBars {
        title: format!(
            "{}: margin of aligned image over the unimodal baselines",
            a.name
        ),
        x_label: "margin (score − baseline) / identical-input score; > 0 supports the hypothesis"
            .into(),
        bars,
        legend: vec![
            ("H1: > mean(image, text)".into(), colour::SERIES[0], false),
            ("H2: > max(image, text)".into(), colour::SERIES[1], false),
            (
                "untrained adapter (control)".into(),
                colour::RGBColor(90, 90, 90),
                true,
            ),
        ],
        width: 720,
    }
}

/// PC1–PC2 (the 2-D view) and PC1–PC2, PC1–PC3, PC2–PC3 (the 3-D projection as three views).
pub fn projections(
    name: &str,
    spaces: &[SpaceName],
    p: &Projection,
) -> (ScatterPanels, ScatterPanels) {
    let view = |i: usize, j: usize| ScatterPanel {
        title: format!(
            "{name}: PC{} ({:.0}%) vs PC{} ({:.0}%)",
            i + 1,
            100.0 * p.explained.get(i).copied().unwrap_or(f64::NAN),
            j + 1,
            100.0 * p.explained.get(j).copied().unwrap_or(f64::NAN)
        ),
        x_label: format!("PC{}", i + 1),
        y_label: format!("PC{}", j + 1),
        groups: spaces
            .iter()
            .zip(&p.scores)
            .map(|(s, scores)| {
                let pts = scores.outer_iter().map(|r| (r[i], r[j])).collect();
                (s.to_string(), colour::space(*s), pts)
            })
            .collect(),
    };
    (
        ScatterPanels {
            panels: vec![view(0, 1)],
            panel_size: (620, 480),
        },
        ScatterPanels {
            panels: vec![view(0, 1), view(0, 2), view(1, 2)],
            panel_size: (420, 360),
        },
    )
}

/// Cosine similarity of aligned images (rows) and their captions (columns).
pub fn similarity(name: &str, images: &Array2<f64>, texts: &Array2<f64>) -> Heatmap {
    let s = l2_normalise(images.clone()).dot(&l2_normalise(texts.clone()).t());
    let (lo, hi) = s
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    let span = (hi - lo).max(1e-12);
    let n = s.nrows();
    Heatmap {
        title: format!(
            "{name}: cosine(aligned image i, aligned caption j), {lo:.2} (dark) to {hi:.2} (light)"
        ),
        rows: (0..n).map(|i| format!("image {i}")).collect(),
        cols: (0..s.ncols()).map(|j| format!("caption {j}")).collect(),
        values: s.outer_iter().map(|r| r.to_vec()).collect(),
        shade: s
            .outer_iter()
            .map(|r| r.iter().map(|v| (v - lo) / span).collect())
            .collect(),
        annotate: false,
        cell: (12, 12),
        label_width: 90,
        header_height: 110,
    }
}
