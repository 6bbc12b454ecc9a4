//! The evaluation stages' computations: `align` (metrics, intervals, H1/H2, variance
//! difference) and `probe` (downstream linear probe, zero-shot classification, retrieval).
//!
//! - [`rows`]: which image–caption pairs are scored;
//! - [`scoring`]: the scoring settings `[align]` and `[modelset]` share;
//! - [`align`]: the align stage, built on [`crate::metrics`];
//! - [`modelset`]: many encoders' alignment matrix, each score with its permutation null;
//! - [`competence`]: the model set's encoders' competence, and alignment against it;
//! - [`hypotheses`]: H1/H2 margins, paired intervals, verdicts;
//! - [`variance`]: the research's distribution-matching metric and the mean pairwise cosine;
//! - [`logistic`]: the multinomial logistic regression of the linear probe;
//! - [`zero_shot`]: zero-shot classification through the aligned space (CLIP's prompt ensemble);
//! - [`probe`]: the probe stage (its retrieval is [`crate::metrics::retrieval`], shared with
//!   training's validation).

pub mod align;
pub mod competence;
pub mod hypotheses;
pub mod logistic;
pub mod modelset;
pub mod probe;
pub mod rows;
pub mod scoring;
pub mod variance;
pub mod zero_shot;

/// Bump when the same inputs would give different align outputs (and probe outputs, which
/// [`PROBE_VERSION`] counts from).
pub const VERSION: u32 = 1;

/// The probe stage's version: [`VERSION`] plus its own changes (+1: zero-shot files), so a
/// change to what only the probe writes does not rekey align.
pub const PROBE_VERSION: u32 = VERSION + 1;
