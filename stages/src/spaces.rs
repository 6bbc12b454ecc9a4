//! The experiment's vocabulary: the modalities, the adapter weights, the seven spaces the
//! evaluation compares and the nine pairs it scores. Every stage that writes or reads a space or
//! a pair by name uses these, so a name is spelled once.

use serde::{Deserialize, Deserializer, Serializer};

use crate::named_enum;
use crate::table::{Cell, Column, Table};

named_enum! {
    /// Which encoder a space comes from: images or captions.
    pub enum Modality {
        Image = "image",
        Text = "text",
    }
}

named_enum! {
    /// The adapters' weights: after training, or as initialised (the untrained control).
    pub enum Weights {
        Trained = "trained",
        Untrained = "untrained",
    }
}

named_enum! {
    /// A space the evaluation scores: a raw encoder's, or an adapter's output.
    pub enum SpaceName {
        Image = "image",
        Text = "text",
        Reference = "reference",
        AlignedImage = "aligned_image",
        AlignedText = "aligned_text",
        UntrainedImage = "untrained_image",
        UntrainedText = "untrained_text",
    }
}

impl SpaceName {
    /// The adapter output of `modality` under `weights`.
    pub fn adapted(weights: Weights, modality: Modality) -> SpaceName {
        match (weights, modality) {
            (Weights::Trained, Modality::Image) => SpaceName::AlignedImage,
            (Weights::Trained, Modality::Text) => SpaceName::AlignedText,
            (Weights::Untrained, Modality::Image) => SpaceName::UntrainedImage,
            (Weights::Untrained, Modality::Text) => SpaceName::UntrainedText,
        }
    }

    /// The adapter weights behind this space; None for an encoder's own space.
    pub fn weights(self) -> Option<Weights> {
        match self {
            SpaceName::Image | SpaceName::Text | SpaceName::Reference => None,
            SpaceName::AlignedImage | SpaceName::AlignedText => Some(Weights::Trained),
            SpaceName::UntrainedImage | SpaceName::UntrainedText => Some(Weights::Untrained),
        }
    }
}

/// Two spaces scored against each other, on the same rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Pair {
    pub a: SpaceName,
    pub b: SpaceName,
}

impl Pair {
    const fn new(a: SpaceName, b: SpaceName) -> Pair {
        Pair { a, b }
    }

    /// `a-b`, e.g. `aligned_image-reference`.
    pub fn name(self) -> String {
        format!("{}-{}", self.a, self.b)
    }

    /// The adapter weights of the pair's adapted space; None for two encoders' spaces.
    pub fn weights(self) -> Option<Weights> {
        self.a.weights().or(self.b.weights())
    }

    /// The adapted `modality` under `weights` against the reference.
    pub fn to_reference(weights: Weights, modality: Modality) -> Pair {
        Pair::new(SpaceName::adapted(weights, modality), SpaceName::Reference)
    }
}

/// The pairs the align stage scores, in this order: before training (the encoders' own spaces),
/// with the trained adapters, with the untrained adapters.
pub const PAIRS: [Pair; 9] = {
    use SpaceName::*;
    [
        Pair::new(Image, Text),
        Pair::new(Image, Reference),
        Pair::new(Text, Reference),
        Pair::new(AlignedImage, Reference),
        Pair::new(AlignedText, Reference),
        Pair::new(AlignedImage, AlignedText),
        Pair::new(UntrainedImage, Reference),
        Pair::new(UntrainedText, Reference),
        Pair::new(UntrainedImage, UntrainedText),
    ]
};

/// The name of "no adapter weights" (a pair of two encoders' spaces) in files.
const NO_WEIGHTS: &str = "none";

/// Serde for `Option<Weights>`: `"none"` for None.
pub mod weights_or_none {
    use super::*;

    pub fn serialize<S: Serializer>(w: &Option<Weights>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(w.map_or(NO_WEIGHTS, Weights::as_str))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Weights>, D::Error> {
        let s = String::deserialize(d)?;
        if s == NO_WEIGHTS {
            return Ok(None);
        }
        Weights::parse(&s).map(Some).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown weights `{s}`: expected `{NO_WEIGHTS}`, {}",
                Weights::expected()
            ))
        })
    }
}

impl Cell for Option<Weights> {
    fn column(values: Vec<Self>) -> Column {
        Column::Str(
            values
                .iter()
                .map(|w| w.map_or(NO_WEIGHTS, Weights::as_str).to_string())
                .collect(),
        )
    }

    fn read(table: &Table, name: &str) -> crate::Result<Vec<Self>> {
        table.parsed(
            name,
            |s| match s {
                NO_WEIGHTS => Some(None),
                s => Weights::parse(s).map(Some),
            },
            &format!("`{NO_WEIGHTS}`, {}", Weights::expected()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_name_their_spaces_and_weights() {
        assert_eq!(PAIRS[3].name(), "aligned_image-reference");
        assert_eq!(PAIRS[0].weights(), None);
        assert_eq!(PAIRS[8].weights(), Some(Weights::Untrained));
        assert_eq!(
            Pair::to_reference(Weights::Trained, Modality::Text),
            PAIRS[4]
        );
    }
}
