//! An encoder as pipeline.toml describes it: `[encoders.image]`, `[encoders.text]`,
//! `[encoders.reference]`. Missing fields take the embedded default's values for that role.
//!
//! Presets for the research's own models, exported by the user (see docs/models.md):
//! [`EncoderSpec::resnet18`], [`EncoderSpec::distilbert`], [`EncoderSpec::dinov2_base`].

use serde::{Deserialize, Serialize};

use crate::check::{BadValue, Checks};

use crate::image::tensor::{IMAGENET_MEAN, IMAGENET_STD};
use crate::onnx::model::Signature;
use crate::pooling::Pooling;

crate::named_enum! {
    /// What an encoder reads.
    pub enum EncoderKind {
        Image = "image",
        Text = "text",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResizeMode {
    /// torchvision `Resize((size, size))`: both sides to `image_size` (the research code).
    Stretch,
    /// `Resize(resize_shorter)` then `CenterCrop(image_size)` (aspect preserved).
    ShorterSideCrop,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EncoderSpec {
    /// The ONNX file.
    pub onnx: String,
    pub kind: EncoderKind,
    /// Input names the model must have, in any order: image models take one float tensor
    /// [B,3,H,W]; text models take `input_ids`, `attention_mask` and optionally `token_type_ids`.
    pub inputs: Vec<String>,
    /// The output to read: [B,D] (pooling `none`) or [B,T,D] (`cls` or `mean`).
    pub output: String,
    pub pooling: Pooling,
    /// Expected width D (checked against the model's output; 0 = accept what the model gives).
    pub dim: usize,
    /// Hidden layers read instead of `output`, from the same pass, each pooled as `pooling`
    /// says and stored side by side in one row (the features' layer axis, described by the
    /// artifact's `layers.json`): output names, or patterns with `*` matched against the
    /// model's outputs in the file's order. Empty: `output` only (and absent from the spec's
    /// serialisation, so an encoder without layers keeps the key it had before they existed).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub layers: Vec<String>,
    pub image_size: u32,
    pub resize: ResizeMode,
    /// With `shorter_side_crop`: the shorter side before cropping.
    pub resize_shorter: u32,
    pub mean: [f32; 3],
    pub std: [f32; 3],
    /// Text: the tokenizer.json file, and the truncation length (padding: longest in batch).
    pub tokenizer: String,
    pub max_length: usize,
    pub batch_size: usize,
    /// Rows per .npy shard (a killed run resumes from the last complete shard).
    pub shard_rows: usize,
    /// ONNX Runtime intra-op threads (0 = one per core).
    pub threads: usize,
}

impl Default for EncoderSpec {
    fn default() -> Self {
        Self::embedded_image()
    }
}

impl EncoderSpec {
    /// Values the encoder cannot run with, each naming its field.
    pub fn problems(&self) -> Vec<BadValue> {
        let mut c = Checks::new();
        c.expect(!self.onnx.is_empty(), "onnx", "\"\"", "the ONNX file");
        c.expect(
            !self.output.is_empty() || !self.layers.is_empty(),
            "output",
            "\"\"",
            "the name of the model output to read (or `layers`)",
        );
        c.positive_count("batch_size", self.batch_size);
        c.positive_count("shard_rows", self.shard_rows);
        match self.kind {
            EncoderKind::Image => {
                c.positive_count("image_size", self.image_size as usize);
                c.expect(
                    self.resize != ResizeMode::ShorterSideCrop
                        || self.resize_shorter >= self.image_size,
                    "resize_shorter",
                    self.resize_shorter,
                    "at least image_size (the crop must fit)",
                );
                c.expect(
                    self.std.iter().all(|s| *s > 0.0 && s.is_finite()),
                    "std",
                    format!("{:?}", self.std),
                    "three positive numbers",
                );
                c.expect(
                    self.mean.iter().all(|m| m.is_finite()),
                    "mean",
                    format!("{:?}", self.mean),
                    "three finite numbers",
                );
            }
            EncoderKind::Text => {
                c.expect(
                    !self.tokenizer.is_empty(),
                    "tokenizer",
                    "\"\"",
                    "the tokenizer.json file",
                );
                c.positive_count("max_length", self.max_length);
            }
        }
        c.into_vec()
    }

    /// What every encoder of `kind` starts from: ImageNet's preprocessing at 224 pixels, or
    /// padding to the longest caption up to 64 tokens. The model, its output and width are
    /// the user's.
    pub fn base(kind: EncoderKind) -> Self {
        EncoderSpec {
            kind,
            inputs: match kind {
                EncoderKind::Image => vec!["pixel_values".into()],
                EncoderKind::Text => vec!["input_ids".into(), "attention_mask".into()],
            },
            batch_size: match kind {
                EncoderKind::Image => 32,
                EncoderKind::Text => 64,
            },
            ..Self::image_base()
        }
    }

    fn image_base() -> Self {
        EncoderSpec {
            onnx: String::new(),
            kind: EncoderKind::Image,
            inputs: vec!["pixel_values".into()],
            output: String::new(),
            pooling: Pooling::None,
            dim: 0,
            layers: Vec::new(),
            image_size: 224,
            resize: ResizeMode::Stretch,
            resize_shorter: 256,
            mean: IMAGENET_MEAN,
            std: IMAGENET_STD,
            tokenizer: String::new(),
            max_length: 64,
            batch_size: 32,
            shard_rows: 65_536,
            threads: 0,
        }
    }

    /// EfficientNet-Lite0 (ImageNet-1k), global-average-pooled 1280-d features.
    pub fn embedded_image() -> Self {
        EncoderSpec {
            onnx: "data/models/efficientnet_lite0.onnx".into(),
            output: "features".into(),
            dim: 1280,
            ..Self::image_base()
        }
    }

    /// all-MiniLM-L6-v2, attention-masked mean of the last hidden states, 384-d.
    pub fn embedded_text() -> Self {
        EncoderSpec {
            onnx: "data/models/minilm_l6_v2.onnx".into(),
            kind: EncoderKind::Text,
            inputs: vec![
                "input_ids".into(),
                "attention_mask".into(),
                "token_type_ids".into(),
            ],
            output: "last_hidden_state".into(),
            pooling: Pooling::Mean,
            dim: 384,
            tokenizer: "data/models/minilm_l6_v2.tokenizer.json".into(),
            batch_size: 64,
            ..Self::image_base()
        }
    }

    /// DINOv2 ViT-S/14 backbone, CLS token of the final LayerNorm, 384-d.
    pub fn embedded_reference() -> Self {
        EncoderSpec {
            onnx: "data/models/dinov2_vits14.onnx".into(),
            output: "last_hidden_state".into(),
            pooling: Pooling::Cls,
            dim: 384,
            batch_size: 16,
            ..Self::image_base()
        }
    }

    /// torchvision ResNet-18 exported with `fc = Identity`: `pixel_values` → `features` [B,512].
    pub fn resnet18(onnx: &str) -> Self {
        EncoderSpec {
            onnx: onnx.into(),
            output: "features".into(),
            dim: 512,
            ..Self::image_base()
        }
    }

    /// Hugging Face DistilBERT (base, uncased): `input_ids`, `attention_mask` (no token types) →
    /// `last_hidden_state` [B,T,768], CLS pooling, as the research used.
    pub fn distilbert(onnx: &str, tokenizer: &str) -> Self {
        EncoderSpec {
            onnx: onnx.into(),
            kind: EncoderKind::Text,
            inputs: vec!["input_ids".into(), "attention_mask".into()],
            output: "last_hidden_state".into(),
            pooling: Pooling::Cls,
            dim: 768,
            tokenizer: tokenizer.into(),
            batch_size: 64,
            ..Self::image_base()
        }
    }

    /// Hugging Face DINOv2-base: `pixel_values` → `last_hidden_state` [B,257,768], CLS.
    pub fn dinov2_base(onnx: &str) -> Self {
        EncoderSpec {
            onnx: onnx.into(),
            output: "last_hidden_state".into(),
            pooling: Pooling::Cls,
            dim: 768,
            batch_size: 16,
            ..Self::image_base()
        }
    }

    /// What decides how the model runs over the items: the spec without what only selects and
    /// pools its outputs (`output`, `pooling`, `dim`, `layers`) or lays out its files
    /// (`shard_rows`). Encoders of equal passes over the same items can share one run of the
    /// model ([`crate::features::encode::encode_images_into`]).
    pub fn pass(&self) -> EncoderSpec {
        EncoderSpec {
            output: String::new(),
            pooling: Pooling::None,
            dim: 0,
            layers: Vec::new(),
            shard_rows: 0,
            ..self.clone()
        }
    }

    /// The ONNX signature this spec requires of the outputs it reads.
    pub fn signature(&self, outputs: &[String]) -> Signature {
        let rank = if self.pooling == Pooling::None { 2 } else { 3 };
        Signature {
            inputs: self.inputs.clone(),
            outputs: outputs.iter().map(|o| (o.clone(), rank)).collect(),
        }
    }

    /// The outputs the encoder reads from a model with outputs `available` (in the file's
    /// order): `output`, or every `layers` entry (a `*` pattern expands to the matching
    /// outputs, in order). A pattern matching nothing is an error naming what there is.
    pub fn read_outputs(&self, available: &[String]) -> std::result::Result<Vec<String>, String> {
        if self.layers.is_empty() {
            return Ok(vec![self.output.clone()]);
        }
        let mut out: Vec<String> = Vec::new();
        for entry in &self.layers {
            let matched: Vec<&String> = if entry.contains('*') {
                available.iter().filter(|o| glob(entry, o)).collect()
            } else {
                vec![entry]
            };
            if matched.is_empty() {
                return Err(format!(
                    "layers pattern `{entry}` matches none of the outputs {available:?}"
                ));
            }
            for m in matched {
                if !out.contains(m) {
                    out.push(m.clone());
                }
            }
        }
        Ok(out)
    }
}

/// `*` matches any run of characters (also none); everything else itself.
fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if parts.len() == 1 {
        return pattern == text;
    }
    if !text.starts_with(first) || !text[first.len()..].ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_patterns_expand_in_the_files_order() {
        let outputs: Vec<String> = [
            "last_hidden_state",
            "hidden_state_0",
            "hidden_state_1",
            "hidden_state_10",
        ]
        .map(String::from)
        .to_vec();
        let mut spec = EncoderSpec::embedded_text();
        assert_eq!(
            spec.read_outputs(&outputs).unwrap(),
            vec!["last_hidden_state"]
        );
        spec.layers = vec!["hidden_state_*".into()];
        assert_eq!(
            spec.read_outputs(&outputs).unwrap(),
            vec!["hidden_state_0", "hidden_state_1", "hidden_state_10"]
        );
        spec.layers = vec!["hidden_state_1*".into(), "last_hidden_state".into()];
        assert_eq!(
            spec.read_outputs(&outputs).unwrap(),
            vec!["hidden_state_1", "hidden_state_10", "last_hidden_state"]
        );
        spec.layers = vec!["block_*".into()];
        assert!(spec.read_outputs(&outputs).unwrap_err().contains("block_*"));
        assert!(glob("a*b*c", "aXbYc") && !glob("a*b*c", "aXc") && glob("*", ""));
    }
}
