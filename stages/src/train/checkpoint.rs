//! Epoch checkpoints of a running `train` stage (model and AdamW state, history so far), from
//! which a killed run resumes to the same final weights: batch order and dropout masks depend
//! only on (seed, epoch).

use burn::module::Module;
use burn::optim::Optimizer;
use burn::record::{FullPrecisionSettings, NamedMpkFileRecorder, Recorder};
use burn::tensor::backend::AutodiffBackend;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::train::artifact::{Checkpoint, TrainArtifact};
use crate::train::history::EpochRow;
use crate::train::model::AlignModel;

#[derive(Serialize, Deserialize)]
struct CheckpointState {
    epoch: usize,
    history: Vec<EpochRow>,
}

pub(crate) fn recorder() -> NamedMpkFileRecorder<FullPrecisionSettings> {
    NamedMpkFileRecorder::<FullPrecisionSettings>::new()
}

pub(crate) fn burn_err(path: &std::path::Path, e: impl std::fmt::Display) -> Error {
    Error::Invalid {
        what: path.display().to_string(),
        message: format!("Burn record: {e}"),
    }
}

/// Least time between two epoch checkpoints: `PIPELINE_CHECKPOINT_SECS`, default 30 s.
///
/// A checkpoint (weights and AdamW moments, MessagePack) costs more than an epoch of a small
/// adapter on the embedded default, so writing one every epoch would more than double training
/// time. Any checkpoint resumes to the same final weights, so the interval only bounds the work a
/// killed run loses; it is not a parameter of the result and not part of the key.
pub fn interval() -> std::time::Duration {
    let secs = std::env::var("PIPELINE_CHECKPOINT_SECS")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .unwrap_or(30.0);
    std::time::Duration::from_secs_f64(secs)
}

/// Loads the last complete checkpoint in `artifact` into `model` and `optim`; with it, the epoch
/// it was written after and the history up to that epoch. Without one, `model` and `optim` come
/// back as they were.
#[allow(clippy::type_complexity)]
pub fn resume<B: AutodiffBackend, O: Optimizer<AlignModel<B>, B>>(
    artifact: &TrainArtifact,
    model: AlignModel<B>,
    optim: O,
    device: &B::Device,
) -> Result<(AlignModel<B>, O, Option<(usize, Vec<EpochRow>)>)> {
    let Some((epoch, c)) = artifact
        .checkpoints_found()
        .into_iter()
        .rfind(|(_, c)| c.is_complete())
    else {
        return Ok((model, optim, None));
    };
    let record = recorder()
        .load(c.model(), device)
        .map_err(|e| burn_err(c.dir(), e))?;
    let orecord = recorder()
        .load(c.optimizer(), device)
        .map_err(|e| burn_err(c.dir(), e))?;
    let state: CheckpointState = crate::json::read(&c.state())?;
    Ok((
        model.load_record(record),
        optim.load_record(orecord),
        Some((epoch, state.history)),
    ))
}

/// Writes the checkpoint of `epoch` (its state last) and removes older ones.
pub fn save<B: AutodiffBackend, O: Optimizer<AlignModel<B>, B>>(
    artifact: &TrainArtifact,
    model: &AlignModel<B>,
    optim: &O,
    epoch: usize,
    history: &[EpochRow],
) -> Result<()> {
    let c: Checkpoint = artifact.checkpoint(epoch);
    std::fs::create_dir_all(c.dir()).map_err(|e| Error::io(c.dir(), e))?;
    recorder()
        .record(model.clone().into_record(), c.model())
        .map_err(|e| burn_err(c.dir(), e))?;
    recorder()
        .record(optim.to_record(), c.optimizer())
        .map_err(|e| burn_err(c.dir(), e))?;
    let state = CheckpointState {
        epoch,
        history: history.to_vec(),
    };
    let state_path = c.state();
    let tmp = state_path.with_extension("json.tmp");
    crate::json::write(&tmp, &state)?;
    std::fs::rename(&tmp, &state_path).map_err(|e| Error::io(&state_path, e))?;
    for (e, older) in artifact.checkpoints_found() {
        if e != epoch {
            let _ = std::fs::remove_dir_all(older.dir());
        }
    }
    Ok(())
}

/// Removes every checkpoint: the finished artifact holds none.
pub fn remove_all(artifact: &TrainArtifact) {
    let _ = std::fs::remove_dir_all(artifact.checkpoints());
}
