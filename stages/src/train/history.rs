//! `history.parquet`: one row per epoch, epoch 0 being the untrained (initialised) adapters.

use serde::{Deserialize, Serialize};

use crate::json::nan_as_null;
use crate::parquet_record;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EpochRow {
    /// 0 = the untrained (initialised) adapters, before any step.
    pub epoch: usize,
    /// Optimizer steps taken so far.
    pub step: usize,
    /// Learning rate of the last step of the epoch.
    #[serde(with = "nan_as_null")]
    pub lr: f64,
    #[serde(with = "nan_as_null")]
    pub train_loss: f64,
    #[serde(with = "nan_as_null")]
    pub train_contrastive: f64,
    #[serde(with = "nan_as_null")]
    pub train_variance: f64,
    #[serde(with = "nan_as_null")]
    pub val_loss: f64,
    #[serde(with = "nan_as_null")]
    pub val_contrastive: f64,
    #[serde(with = "nan_as_null")]
    pub val_variance: f64,
    /// Validation retrieval R@1 (crate::metrics::retrieval, the probe stage's definition).
    #[serde(with = "nan_as_null")]
    pub val_r1_i2t: f64,
    #[serde(with = "nan_as_null")]
    pub val_r1_t2i: f64,
    #[serde(with = "nan_as_null")]
    pub grad_norm: f64,
    pub note: String,
}

parquet_record!(EpochRow {
    epoch,
    step,
    lr,
    train_loss,
    train_contrastive,
    train_variance,
    val_loss,
    val_contrastive,
    val_variance,
    val_r1_i2t,
    val_r1_t2i,
    grad_norm,
    note,
});

impl EpochRow {
    /// A row of `epoch` with nothing measured yet: every loss, recall, rate and norm NaN.
    pub fn unmeasured(epoch: usize, note: &str) -> EpochRow {
        EpochRow {
            epoch,
            step: 0,
            lr: f64::NAN,
            train_loss: f64::NAN,
            train_contrastive: f64::NAN,
            train_variance: f64::NAN,
            val_loss: f64::NAN,
            val_contrastive: f64::NAN,
            val_variance: f64::NAN,
            val_r1_i2t: f64::NAN,
            val_r1_t2i: f64::NAN,
            grad_norm: f64::NAN,
            note: note.into(),
        }
    }

    /// Appends `note` to the row's notes.
    pub fn add_note(&mut self, note: &str) {
        if !self.note.is_empty() {
            self.note.push_str("; ");
        }
        self.note.push_str(note);
    }

    /// Fills the validation columns.
    pub fn set_validation(&mut self, v: &crate::train::validation::Validation) {
        self.val_loss = v.loss;
        self.val_contrastive = v.contrastive;
        self.val_variance = v.variance;
        self.val_r1_i2t = v.r1_i2t;
        self.val_r1_t2i = v.r1_t2i;
    }
}
