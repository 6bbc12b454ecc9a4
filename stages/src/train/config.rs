//! Every hyperparameter of one training run (`[train.<name>]` in pipeline.toml), defaulting to
//! the research's experiment table (docs/science.md, "The research's experiments").

use serde::{Deserialize, Serialize};

use crate::check::{BadValue, Checks};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AdapterKind {
    /// Linear(in → embed) then LayerNorm(embed).
    Linear,
    /// Per hidden dim: Linear → activation → LayerNorm (if layer_norm) → Dropout; then
    /// Linear(→ embed) → LayerNorm (if layer_norm).
    Mlp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    Gelu,
    Relu,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    pub adapter: AdapterKind,
    /// Output width of both adapters; 0 = the reference encoder's width, so aligned and
    /// reference spaces compare directly.
    pub embed_dim: usize,
    pub batch_size: usize,
    /// Cap on training pairs (seeded choice); more than the dataset uses all of it.
    pub num_samples: usize,
    pub gradient_accumulation_steps: usize,
    pub lr: f64,
    pub min_lr: f64,
    pub temperature: f64,
    pub epochs: usize,
    pub warmup_epochs: usize,
    pub num_cycles: f64,
    pub variance_weight: f64,
    pub distribution_matching: bool,
    pub weight_decay: f64,
    pub clip_grad_norm: f64,
    pub label_smoothing: f64,
    pub dropout: f64,
    pub mlp_hidden_dims: Vec<usize>,
    pub activation: Activation,
    pub layer_norm: bool,
    pub seed: u64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self::linear()
    }
}

impl TrainConfig {
    /// The research's `linear` experiment.
    pub fn linear() -> Self {
        TrainConfig {
            adapter: AdapterKind::Linear,
            embed_dim: 0,
            batch_size: 256,
            num_samples: 12_800,
            gradient_accumulation_steps: 2,
            lr: 2e-4,
            min_lr: 1e-6,
            temperature: 0.15,
            epochs: 20,
            warmup_epochs: 2,
            num_cycles: 0.5,
            variance_weight: 0.3,
            distribution_matching: true,
            weight_decay: 0.005,
            clip_grad_norm: 0.5,
            label_smoothing: 0.1,
            dropout: 0.15,
            mlp_hidden_dims: vec![2048, 1024],
            activation: Activation::Gelu,
            layer_norm: true,
            seed: 42,
        }
    }

    /// The research's `mlp_adapter_compact_distribution` experiment.
    pub fn mlp_compact_distribution() -> Self {
        TrainConfig {
            adapter: AdapterKind::Mlp,
            lr: 1e-4,
            temperature: 0.2,
            warmup_epochs: 3,
            variance_weight: 0.4,
            weight_decay: 0.02,
            clip_grad_norm: 0.5,
            label_smoothing: 0.15,
            dropout: 0.2,
            mlp_hidden_dims: vec![1024, 1024],
            ..Self::linear()
        }
    }

    /// The values training cannot run with, each named with what was expected.
    pub fn problems(&self) -> Vec<BadValue> {
        let mut c = Checks::new();
        c.positive_count("batch_size", self.batch_size);
        c.positive_count(
            "gradient_accumulation_steps",
            self.gradient_accumulation_steps,
        );
        c.expect(
            self.temperature > 0.0 && self.temperature.is_finite(),
            "temperature",
            self.temperature,
            "a positive number",
        );
        c.expect(
            (0.0..1.0).contains(&self.dropout),
            "dropout",
            self.dropout,
            "a probability in [0, 1)",
        );
        c.expect(
            (0.0..=1.0).contains(&self.label_smoothing),
            "label_smoothing",
            self.label_smoothing,
            "a value in [0, 1]",
        );
        for (field, v) in [
            ("lr", self.lr),
            ("min_lr", self.min_lr),
            ("weight_decay", self.weight_decay),
            ("variance_weight", self.variance_weight),
            ("clip_grad_norm", self.clip_grad_norm),
            ("num_cycles", self.num_cycles),
        ] {
            c.non_negative(field, v);
        }
        c.expect(
            self.adapter != AdapterKind::Mlp || !self.mlp_hidden_dims.contains(&0),
            "mlp_hidden_dims",
            format!("{:?}", self.mlp_hidden_dims),
            "widths of at least 1",
        );
        c.into_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_research_configs_are_valid_and_bad_values_are_named() {
        assert!(TrainConfig::linear().problems().is_empty());
        assert!(
            TrainConfig::mlp_compact_distribution()
                .problems()
                .is_empty()
        );
        let bad = TrainConfig {
            dropout: 1.0,
            temperature: -0.1,
            batch_size: 0,
            mlp_hidden_dims: vec![1024, 0],
            ..TrainConfig::mlp_compact_distribution()
        };
        let p = crate::check::listed(&bad.problems());
        for field in [
            "dropout = 1",
            "temperature = -0.1",
            "batch_size = 0",
            "mlp_hidden_dims",
        ] {
            assert!(p.contains(field), "{field} in {p}");
        }
    }
}
