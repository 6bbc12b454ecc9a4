//! H1 and H2 (the research's two hypotheses), per metric, from measured baselines:
//!
//! - H1: m(aligned, reference) > mean(m(image, reference), m(text, reference));
//! - H2: m(aligned, reference) > max(m(image, reference), m(text, reference)).
//!
//! The margin's 95% interval comes from the same replicates as the scores (every replicate
//! scores all pairs on the same rows, so the interval is paired). Verdict: `supported` when the
//! interval lies above 0, `contradicted` when below, `inconclusive` otherwise.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::json::nan_as_null;
use crate::metrics::Metric;
use crate::metrics::resample::interval;
use crate::spaces::Weights;
use crate::{named_enum, parquet_record};

named_enum! {
    /// The research's two hypotheses.
    pub enum Hypothesis {
        H1 = "H1",
        H2 = "H2",
    }
}

impl Hypothesis {
    /// The baseline from the two unimodal scores.
    pub fn baseline(self, image_ref: f64, text_ref: f64) -> f64 {
        match self {
            Hypothesis::H1 => (image_ref + text_ref) / 2.0,
            Hypothesis::H2 => image_ref.max(text_ref),
        }
    }

    /// What the hypothesis claims, for the files and the page.
    pub fn definition(self) -> &'static str {
        match self {
            Hypothesis::H1 => {
                "m(aligned, reference) > mean(m(image, reference), m(text, reference))"
            }
            Hypothesis::H2 => {
                "m(aligned, reference) > max(m(image, reference), m(text, reference))"
            }
        }
    }
}

named_enum! {
    /// What a test scores against the reference: an adapted space, or the mean of both.
    pub enum Tested {
        AlignedImage = "aligned_image",
        AlignedText = "aligned_text",
        AlignedMean = "aligned_mean",
    }
}

named_enum! {
    /// Where the margin's 95% interval lies.
    pub enum Verdict {
        Supported = "supported",
        Contradicted = "contradicted",
        Inconclusive = "inconclusive",
    }
}

impl Verdict {
    pub fn of_interval(lo: f64, hi: f64) -> Verdict {
        if lo > 0.0 {
            Verdict::Supported
        } else if hi < 0.0 {
            Verdict::Contradicted
        } else {
            Verdict::Inconclusive
        }
    }
}

/// What the verdicts mean, written beside them.
pub const VERDICT_DEFINITION: &str =
    "supported: 95% interval of the margin above 0; contradicted: below 0; else inconclusive";

/// The definitions block of `hypotheses.json`.
pub fn definitions() -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = Hypothesis::ALL
        .iter()
        .map(|h| (h.as_str().to_string(), h.definition().to_string()))
        .collect();
    out.insert("verdict".into(), VERDICT_DEFINITION.into());
    out
}

/// One hypothesis tested on one metric, for one tested space and one set of adapter weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HypothesisTest {
    pub hypothesis: Hypothesis,
    pub metric: Metric,
    pub tested: Tested,
    /// The adapters' weights: trained, or untrained (the control).
    pub adapter: Weights,
    #[serde(with = "nan_as_null")]
    pub score: f64,
    #[serde(with = "nan_as_null")]
    pub baseline: f64,
    #[serde(with = "nan_as_null")]
    pub margin: f64,
    #[serde(with = "nan_as_null")]
    pub ci_low: f64,
    #[serde(with = "nan_as_null")]
    pub ci_high: f64,
    pub verdict: Verdict,
}

parquet_record!(HypothesisTest {
    hypothesis,
    metric,
    tested,
    adapter,
    score,
    baseline,
    margin,
    ci_low,
    ci_high,
    verdict,
});

/// Scores (point and replicates) the test reads: the tested space against the reference and
/// the two unimodal baselines.
pub struct Inputs<'a> {
    pub tested: (f64, &'a [f64]),
    pub image_ref: (f64, &'a [f64]),
    pub text_ref: (f64, &'a [f64]),
}

pub fn test(
    h: Hypothesis,
    metric: Metric,
    inputs: &Inputs,
    tested: Tested,
    adapter: Weights,
) -> HypothesisTest {
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
    HypothesisTest {
        hypothesis: h,
        metric,
        tested,
        adapter,
        score: inputs.tested.0,
        baseline,
        margin,
        ci_low,
        ci_high,
        verdict: Verdict::of_interval(ci_low, ci_high),
    }
}
