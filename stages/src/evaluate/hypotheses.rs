//! H1 and H2 (the research's two hypotheses), per metric, from measured baselines:
//!
//! - H1: m(aligned, reference) > mean(m(image, reference), m(text, reference));
//! - H2: m(aligned, reference) > max(m(image, reference), m(text, reference)).
//!
//! The margin's 95% interval comes from the same replicates as the scores (every replicate
//! scores all pairs on the same rows, so the interval is paired). Verdict: `supported` when the
//! interval lies above 0, `contradicted` when below, `inconclusive` otherwise.

use serde::Serialize;

use crate::metrics::Metric;
use crate::metrics::resample::interval;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Hypothesis {
    H1,
    H2,
}

impl Hypothesis {
    pub fn name(self) -> &'static str {
        match self {
            Hypothesis::H1 => "H1",
            Hypothesis::H2 => "H2",
        }
    }

    /// The baseline from the two unimodal scores.
    pub fn baseline(self, image_ref: f64, text_ref: f64) -> f64 {
        match self {
            Hypothesis::H1 => (image_ref + text_ref) / 2.0,
            Hypothesis::H2 => image_ref.max(text_ref),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Test {
    pub hypothesis: String,
    pub metric: String,
    /// aligned_image, aligned_text or aligned_mean (their mean score).
    pub tested: String,
    /// trained or untrained (the control).
    pub adapter: String,
    pub score: f64,
    pub baseline: f64,
    pub margin: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub verdict: String,
}

pub fn verdict(lo: f64, hi: f64) -> &'static str {
    if lo > 0.0 {
        "supported"
    } else if hi < 0.0 {
        "contradicted"
    } else {
        "inconclusive"
    }
}

/// Scores (point and replicates) the test reads: the tested space against the reference and
/// the two unimodal baselines.
pub struct Inputs<'a> {
    pub tested: (f64, &'a [f64]),
    pub image_ref: (f64, &'a [f64]),
    pub text_ref: (f64, &'a [f64]),
}

pub fn test(h: Hypothesis, metric: Metric, inputs: &Inputs, tested: &str, adapter: &str) -> Test {
    let baseline = h.baseline(inputs.image_ref.0, inputs.text_ref.0);
    let margin = inputs.tested.0 - baseline;
    let reps = inputs
        .tested
        .1
        .len()
        .min(inputs.image_ref.1.len())
        .min(inputs.text_ref.1.len());
    let margins: Vec<f64> = (0..reps)
        .map(|r| inputs.tested.1[r] - h.baseline(inputs.image_ref.1[r], inputs.text_ref.1[r]))
        .collect();
    let (ci_low, ci_high) = interval(metric, margin, &margins);
    Test {
        hypothesis: h.name().into(),
        metric: metric.name().into(),
        tested: tested.into(),
        adapter: adapter.into(),
        score: inputs.tested.0,
        baseline,
        margin,
        ci_low,
        ci_high,
        verdict: verdict(ci_low, ci_high).into(),
    }
}
