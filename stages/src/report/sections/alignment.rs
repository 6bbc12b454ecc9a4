//! Alignment (the heatmap of pairs × metrics, each score to the reference raw, calibrated and
//! with its p, the spaces' table, the kernel-alignment note) and the hypotheses (margins with intervals, verdicts beside the untrained control's).

use super::{Page, section, side};
use crate::error::Result;
use crate::evaluate::align::results::MetricRow;
use crate::evaluate::hypotheses::Hypothesis;
use crate::metrics::Metric;
use crate::report::figure::render;
use crate::report::html::{self, escape, num};
use crate::report::{figures, inputs::AdapterResults};
use crate::spaces::{Modality, Pair, SpaceName, Weights};

fn space_table(a: &AdapterResults) -> String {
    let rows: Vec<Vec<String>> = SpaceName::ALL
        .iter()
        .map(|&s| {
            let row = a.align.space(s);
            vec![
                escape(s.as_str()),
                row.map_or_else(|| "–".into(), |r| r.dim.to_string()),
                num(row.map_or(f64::NAN, |r| r.mean_pairwise_cosine)),
                num(row.map_or(f64::NAN, |r| r.variance_difference_to_reference)),
            ]
        })
        .collect();
    html::table(
        &[
            "space",
            "width",
            "mean pairwise cosine",
            "variance difference to reference",
        ],
        &rows,
        "spaces",
    )
}

/// Per metric, the three spaces' scores against the reference that H1 compares: raw, calibrated
/// against the permutation null (Gröger et al.) and p.
fn calibration_table(a: &AdapterResults) -> String {
    let pairs = [
        Pair {
            a: SpaceName::Image,
            b: SpaceName::Reference,
        },
        Pair {
            a: SpaceName::Text,
            b: SpaceName::Reference,
        },
        Pair::to_reference(Weights::Trained, Modality::Image),
    ];
    let rows: Vec<Vec<String>> = a
        .align
        .metrics_scored()
        .into_iter()
        .map(|m| {
            let mut row = vec![escape(m.name())];
            for &p in &pairs {
                let r = a.align.row(m, p);
                let get = |f: fn(&MetricRow) -> f64| num(r.map_or(f64::NAN, f));
                row.extend([get(|r| r.score), get(|r| r.calibrated), get(|r| r.p_value)]);
            }
            row
        })
        .collect();
    let mut header = vec!["metric".to_string()];
    for p in &pairs {
        let name = p.name();
        header.extend([name.clone(), "calibrated".into(), "p".into()]);
    }
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let alpha = a.align.settings().alpha;
    format!(
        "<p>Scores against the reference, raw, calibrated against their permutation null \
         (0 at or below its critical value at level {alpha}, 1 at the metric's maximum) and \
         with their permutation p.</p>{}",
        html::table(&header, &rows, "calibration")
    )
}

/// Why the uncentred kernel alignment collapses after training, with the first adapter's numbers.
fn kernel_note(a0: &AdapterResults) -> String {
    let cosine = |s| {
        a0.align
            .space(s)
            .map_or(f64::NAN, |r| r.mean_pairwise_cosine)
    };
    let kernel = |w| {
        a0.align.score(
            Metric::KernelAlignment,
            Pair::to_reference(w, Modality::Image),
        )
    };
    format!(
        "<p class=\"note\">The research's kernel alignment is uncentred: tr(K₁K₂)/√(tr(K₁²)tr(K₂²)) with K = ZZᵀ of \
         normalised rows. It is dominated by each space's mean direction. Contrastive training spreads the aligned \
         embeddings out (mean pairwise cosine {} for {}'s aligned images) while DINOv2's CLS tokens share a strong common \
         direction ({}), so the uncentred score collapses after training ({} against {} for the untrained adapter) even \
         where the centred metrics (CKA, debiased CKA, CKNNA, mutual kNN) stay level or rise. Read the centred metrics for \
         H1/H2; the kernel alignment is shown because the research reported it.</p>",
        num(cosine(SpaceName::AlignedImage)),
        escape(&a0.name),
        num(cosine(SpaceName::Reference)),
        num(kernel(Weights::Trained)),
        num(kernel(Weights::Untrained)),
    )
}

pub fn alignment(page: &Page) -> Result<String> {
    let mut items = Vec::new();
    for a in page.results {
        let stem = format!("alignment_{}", a.name);
        render(&figures::alignment_heatmap(a, page.topk), &page.fig, &stem)?;
        items.push(format!(
            "{}{}{}",
            html::figure(
                &stem,
                &format!("{} alignment heatmap", a.name),
                "Colour: score divided by the score of identical inputs (lcs_knn's is topk)."
            ),
            calibration_table(a),
            space_table(a)
        ));
    }
    let note = page.results.first().map(kernel_note).unwrap_or_default();
    Ok(section(
        "alignment",
        "Alignment",
        &format!("{}{note}", side(items.into_iter())),
    ))
}

fn verdicts_table(a: &AdapterResults) -> String {
    let mut rows = Vec::new();
    for m in a.align.metrics_scored() {
        for h in Hypothesis::ALL.iter().copied() {
            let (Some(t), Some(u)) = (
                a.image_test(h, m, Weights::Trained),
                a.image_test(h, m, Weights::Untrained),
            ) else {
                continue;
            };
            let (v, uv) = (t.verdict.as_str(), u.verdict.as_str());
            rows.push(vec![
                escape(m.name()),
                h.as_str().into(),
                num(t.score),
                num(t.baseline),
                format!("{} [{}, {}]", num(t.margin), num(t.ci_low), num(t.ci_high)),
                format!("<span class=\"{v}\">{v}</span>"),
                format!("<span class=\"{uv}\">{uv}</span>"),
            ]);
        }
    }
    html::table(
        &[
            "metric",
            "",
            "aligned image",
            "baseline",
            "margin [95% CI]",
            "verdict",
            "untrained",
        ],
        &rows,
        "hypotheses",
    )
}

pub fn hypotheses(page: &Page) -> Result<String> {
    let mut items = Vec::new();
    for a in page.results {
        let stem = format!("hypotheses_{}", a.name);
        render(&figures::hypothesis_bars(a, page.topk), &page.fig, &stem)?;
        items.push(format!(
            "{}{}",
            html::figure(&stem, &format!("{} hypothesis margins", a.name), "Bars: trained adapter's margin with its paired 95% interval; circles: the untrained adapter's margin."),
            verdicts_table(a)
        ));
    }
    Ok(section(
        "hypotheses",
        "Hypotheses H1 and H2",
        &format!(
            "<p>Baselines are measured on the same rows: H1's is the mean of m(image, reference) and m(text, reference), H2's the \
         larger. Every replicate scores all pairs on the same rows, so margins get paired intervals. hypotheses.json also \
         tests the aligned text and the mean of both.</p>{}",
            side(items.into_iter())
        ),
    ))
}
