//! The `train:<name>` artifact's layout, owned here: every writer (the training loop) and every
//! reader (inference, align, probe, report) goes through [`TrainArtifact`].
//!
//! ```text
//! config.json              the TrainConfig it was trained with (the adapters' shape)
//! model.mpk                Burn checkpoint of both adapters
//! history.parquet          one row per epoch (history::EpochRow)
//! aligned/{image,text}/    trained adapters' embeddings, in the features layout
//! untrained/{image,text}/  the initialised adapters' embeddings (the control)
//! checkpoints/epoch-NNN/   while training only: model, optimizer, state.json
//! ```

use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::features::FeatureMatrix;
use crate::json;
use crate::spaces::{Modality, Weights};
use crate::table;
use crate::train::TrainConfig;
use crate::train::history::EpochRow;

/// Burn's recorder appends `.mpk`.
const MODEL: &str = "model";
const HISTORY: &str = "history.parquet";
const CONFIG: &str = "config.json";
const CHECKPOINTS: &str = "checkpoints";

#[derive(Debug, Clone)]
pub struct TrainArtifact {
    dir: PathBuf,
}

impl TrainArtifact {
    pub fn at(dir: &Path) -> TrainArtifact {
        TrainArtifact {
            dir: dir.to_path_buf(),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The Burn record of both adapters, without the extension Burn's recorder adds.
    pub fn model(&self) -> PathBuf {
        self.dir.join(MODEL)
    }

    pub fn history(&self) -> PathBuf {
        self.dir.join(HISTORY)
    }

    pub fn config(&self) -> PathBuf {
        self.dir.join(CONFIG)
    }

    /// The folder of the `modality` embeddings under `weights` (features layout).
    pub fn embeddings(&self, weights: Weights, modality: Modality) -> PathBuf {
        let folder = match weights {
            Weights::Trained => "aligned",
            Weights::Untrained => "untrained",
        };
        self.dir.join(folder).join(modality.as_str())
    }

    pub fn open_embeddings(&self, weights: Weights, modality: Modality) -> Result<FeatureMatrix> {
        FeatureMatrix::open(&self.embeddings(weights, modality))
    }

    pub fn write_config(&self, config: &TrainConfig) -> Result<()> {
        json::write(&self.config(), config)
    }

    pub fn read_config(&self) -> Result<TrainConfig> {
        json::read(&self.config())
    }

    pub fn write_history(&self, rows: &[EpochRow]) -> Result<()> {
        table::write_records(&self.history(), rows)
    }

    pub fn read_history(&self) -> Result<Vec<EpochRow>> {
        table::read_records(&self.history())
    }

    /// The checkpoint folder of an interrupted run's `epoch`.
    pub fn checkpoint(&self, epoch: usize) -> Checkpoint {
        Checkpoint {
            dir: self.checkpoints().join(format!("{EPOCH_PREFIX}{epoch:03}")),
        }
    }

    /// Every checkpoint folder, as (epoch, checkpoint), complete or not.
    pub fn checkpoints_found(&self) -> Vec<(usize, Checkpoint)> {
        let mut found: Vec<(usize, Checkpoint)> = std::fs::read_dir(self.checkpoints())
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().to_string();
                let epoch = name.strip_prefix(EPOCH_PREFIX)?.parse().ok()?;
                Some((epoch, Checkpoint { dir: e.path() }))
            })
            .collect();
        found.sort_by_key(|(epoch, _)| *epoch);
        found
    }

    pub fn checkpoints(&self) -> PathBuf {
        self.dir.join(CHECKPOINTS)
    }
}

const EPOCH_PREFIX: &str = "epoch-";

/// One epoch's checkpoint: the model and optimizer records, and `state.json` written last (a
/// checkpoint without it is incomplete).
#[derive(Debug, Clone)]
pub struct Checkpoint {
    dir: PathBuf,
}

impl Checkpoint {
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn model(&self) -> PathBuf {
        self.dir.join("model")
    }

    pub fn optimizer(&self) -> PathBuf {
        self.dir.join("optimizer")
    }

    pub fn state(&self) -> PathBuf {
        self.dir.join("state.json")
    }

    pub fn is_complete(&self) -> bool {
        self.state().is_file()
    }
}
