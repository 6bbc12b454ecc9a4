//! The experiment's stage identities, spelled once: every node names itself and its inputs
//! through these.

use crate::engine::stage::StageId;

/// The model set's stages are `align:modelset` and `probe:modelset`.
pub const MODELSET: &str = "modelset";

pub fn ingest() -> StageId {
    StageId::single("ingest")
}

/// `features:<encoder>`: the dataset through `[encoders.<encoder>]`.
pub fn features(encoder: &str) -> StageId {
    StageId::new("features", encoder)
}

/// `features:probe-<encoder>`: the probe set through an image encoder.
pub fn probe_features(encoder: &str) -> StageId {
    StageId::new("features", &format!("probe-{encoder}"))
}

/// `features:probe-prompts`: the zero-shot prompts through the text encoder.
pub fn prompt_features() -> StageId {
    probe_features("prompts")
}

pub fn train(adapter: &str) -> StageId {
    StageId::new("train", adapter)
}

pub fn align(adapter: &str) -> StageId {
    StageId::new("align", adapter)
}

pub fn probe(adapter: &str) -> StageId {
    StageId::new("probe", adapter)
}

pub fn report() -> StageId {
    StageId::single("report")
}
