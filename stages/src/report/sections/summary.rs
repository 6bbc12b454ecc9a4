//! Summary: H1/H2 verdicts counted over the metrics scored, beside the untrained control's.

use std::fmt::Write;

use super::{Page, section};
use crate::evaluate::hypotheses::{Hypothesis, Tested, Verdict};
use crate::metrics::retrieval::Direction;
use crate::report::html::{escape, num};
use crate::report::inputs::AdapterResults;
use crate::spaces::Weights;

/// Metrics on which `h` is supported for the aligned image under `weights`.
fn supported(a: &AdapterResults, weights: Weights, h: Hypothesis) -> usize {
    a.align
        .hypotheses
        .tests
        .iter()
        .filter(|t| {
            t.adapter == weights
                && t.tested == Tested::AlignedImage
                && t.hypothesis == h
                && t.verdict == Verdict::Supported
        })
        .count()
}

pub fn summary(page: &Page) -> String {
    let mut summary = String::from("<ul>");
    for a in page.results {
        let r1 = a
            .probe
            .retrieval(Weights::Trained, Direction::ImageToText)
            .and_then(|r| r.recall.first())
            .map_or(f64::NAN, |r| r.1);
        let _ = write!(
            summary,
            "<li><b>{}</b>: H1 supported on {} of {} metrics (untrained control: {}), H2 on {} (control: {}); \
             {} image→text R@1 {}; n = {} evaluation pairs.</li>",
            escape(&a.name),
            supported(a, Weights::Trained, Hypothesis::H1),
            a.align.metrics_scored().len(),
            supported(a, Weights::Untrained, Hypothesis::H1),
            supported(a, Weights::Trained, Hypothesis::H2),
            supported(a, Weights::Untrained, Hypothesis::H2),
            escape(&a.probe.retrieval.split),
            num(r1),
            a.align.settings().n,
        );
    }
    summary.push_str("</ul><p class=\"note\">H1: the aligned image space is closer to the reference (DINOv2) than the \
        average of the raw image and text spaces; H2: closer than the better of the two. A verdict is \
        <i>supported</i> when the 95% interval of the margin lies above 0. Random (untrained) adapters are the \
        control: a hypothesis they also pass says more about the metric than about training.</p>");
    section("summary", "Summary", &summary)
}
