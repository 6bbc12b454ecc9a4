//! The probe set's features as the linear probe reads them: labels, splits and ids beside the
//! matrix, the train and test rows `[probe]` picks, and one fit of the probe. The probe stage and
//! the model set's competence probe (`probe:modelset`) both read probe features through here, so
//! the same settings pick the same rows and give the same accuracy.

use std::path::{Path, PathBuf};

use ndarray::Array2;

use crate::dataset::split::rank;
use crate::error::{Error, Result};
use crate::evaluate::logistic::LogisticModel;
use crate::evaluate::probe::config::LinearProbeSettings;
use crate::features::{FeatureMatrix, FeaturesArtifact};

/// A `features:probe-<name>` artifact, opened.
pub struct ProbeSet {
    pub labels: Vec<i64>,
    pub splits: Vec<String>,
    pub ids: Vec<String>,
    pub matrix: FeatureMatrix,
    pub path: PathBuf,
}

impl ProbeSet {
    pub fn open(dir: &Path) -> Result<ProbeSet> {
        let features = FeaturesArtifact::at(dir);
        let t = features.read_columns(&["label", "split", "id"])?;
        Ok(ProbeSet {
            labels: t.i64s("label")?,
            splits: t.strings("split")?,
            ids: t.strings("id")?,
            matrix: features.open_matrix()?,
            path: dir.to_path_buf(),
        })
    }

    /// Rows of `split`, capped at `cap` by a seeded choice, in row order.
    pub fn pick(&self, split: &str, cap: usize, seed: u64) -> Vec<usize> {
        let mut rows: Vec<usize> = (0..self.ids.len())
            .filter(|&i| self.splits[i] == split)
            .collect();
        if cap > 0 && rows.len() > cap {
            rows.sort_by_key(|&i| (rank(seed, "probe-sample", &self.ids[i]), i));
            rows.truncate(cap);
            rows.sort_unstable();
        }
        rows
    }

    pub fn labels_of(&self, rows: &[usize]) -> Result<Vec<usize>> {
        rows.iter()
            .map(|&i| {
                usize::try_from(self.labels[i]).map_err(|_| Error::Invalid {
                    what: self.path.display().to_string(),
                    message: format!(
                        "row {i} (`{}`): negative label {}",
                        self.ids[i], self.labels[i]
                    ),
                })
            })
            .collect()
    }

    /// Whether `other` lists the same images with the same labels, in the same order.
    pub fn same_rows(&self, other: &ProbeSet) -> Result<()> {
        if self.ids != other.ids || self.labels != other.labels {
            return Err(Error::Invalid {
                what: format!("{} and {}", self.path.display(), other.path.display()),
                message: "the two probe feature sets list different images or labels".into(),
            });
        }
        Ok(())
    }
}

/// The rows a linear probe trains and tests on, with their labels.
pub struct ProbeRows {
    pub train: Vec<usize>,
    pub test: Vec<usize>,
    pub y_train: Vec<usize>,
    pub y_test: Vec<usize>,
    /// One more than the largest label.
    pub classes: usize,
}

/// One fit's accuracies.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProbeFit {
    pub train_accuracy: f64,
    pub test_accuracy: f64,
}

impl ProbeRows {
    /// The rows `settings` pick from `set`; both splits must have some.
    pub fn of(set: &ProbeSet, settings: &LinearProbeSettings) -> Result<ProbeRows> {
        let train = set.pick("train", settings.probe_train_samples, settings.seed);
        let test = set.pick("test", settings.probe_test_samples, settings.seed);
        if train.is_empty() || test.is_empty() {
            return Err(Error::Invalid {
                what: set.path.display().to_string(),
                message: format!(
                    "{} train and {} test rows: the probe needs both",
                    train.len(),
                    test.len()
                ),
            });
        }
        let y_train = set.labels_of(&train)?;
        let y_test = set.labels_of(&test)?;
        let classes = y_train.iter().chain(&y_test).max().map_or(0, |m| m + 1);
        Ok(ProbeRows {
            train,
            test,
            y_train,
            y_test,
            classes,
        })
    }

    /// The probe fitted on `x` (the train rows' features) and scored on `xt` (the test rows').
    pub fn fit(
        &self,
        x: &Array2<f64>,
        xt: &Array2<f64>,
        settings: &LinearProbeSettings,
    ) -> ProbeFit {
        let model =
            LogisticModel::fit(x, &self.y_train, self.classes, settings.epochs, settings.l2);
        ProbeFit {
            train_accuracy: model.accuracy(x, &self.y_train),
            test_accuracy: model.accuracy(xt, &self.y_test),
        }
    }
}
