//! `[probe]`: the linear probe's sample sizes and fit, and the retrieval split.

use serde::{Deserialize, Serialize};

use crate::check::{BadValue, Checks};
use crate::dataset::Split;
use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProbeConfig {
    /// Caps on the probe set's train and test rows (seeded choice); 0 = all encoded.
    pub probe_train_samples: usize,
    pub probe_test_samples: usize,
    /// Full-batch gradient epochs of the logistic regression.
    pub epochs: usize,
    /// L2 penalty on the weights.
    pub l2: f64,
    pub seed: u64,
    /// Split of the image–caption pairs for retrieval.
    pub retrieval_split: String,
    pub retrieval_ks: Vec<usize>,
}

impl Default for ProbeConfig {
    fn default() -> Self {
        ProbeConfig {
            probe_train_samples: 1000,
            probe_test_samples: 500,
            epochs: 300,
            l2: 1e-3,
            seed: 0,
            retrieval_split: "val".into(),
            retrieval_ks: vec![1, 5, 10],
        }
    }
}

/// The linear probe's part of `[probe]`: which rows of the probe set, and the fit. The model
/// set's competence probe (`probe:modelset`) reads only this part, so a change to retrieval
/// leaves it fresh.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinearProbeSettings {
    pub probe_train_samples: usize,
    pub probe_test_samples: usize,
    pub epochs: usize,
    pub l2: f64,
    pub seed: u64,
}

impl LinearProbeSettings {
    pub fn problems(&self) -> Vec<BadValue> {
        let mut c = Checks::new();
        c.non_negative("l2", self.l2);
        c.into_vec()
    }
}

impl ProbeConfig {
    pub fn linear(&self) -> LinearProbeSettings {
        LinearProbeSettings {
            probe_train_samples: self.probe_train_samples,
            probe_test_samples: self.probe_test_samples,
            epochs: self.epochs,
            l2: self.l2,
            seed: self.seed,
        }
    }

    pub fn retrieval_split(&self) -> Result<Split> {
        Split::parse(&self.retrieval_split).ok_or_else(|| Error::Invalid {
            what: "[probe] retrieval_split".into(),
            message: format!(
                "`{}`: expected `train`, `val` or `test`",
                self.retrieval_split
            ),
        })
    }

    /// Values the stage cannot use, each naming its field.
    pub fn problems(&self) -> Vec<BadValue> {
        let mut c = Checks::new();
        c.expect(
            self.retrieval_split().is_ok(),
            "retrieval_split",
            format!("{:?}", self.retrieval_split),
            "`train`, `val` or `test` (test: a dataset's own split only)",
        );
        c.expect(
            !self.retrieval_ks.is_empty() && !self.retrieval_ks.contains(&0),
            "retrieval_ks",
            format!("{:?}", self.retrieval_ks),
            "one or more ranks of at least 1",
        );
        let mut out = c.into_vec();
        out.extend(self.linear().problems());
        out
    }
}
