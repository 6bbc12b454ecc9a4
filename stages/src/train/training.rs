//! The training loop.
//!
//! Per epoch: the training pairs in a seeded order (a function of the seed and the epoch only, so
//! a resumed run sees the same batches), micro-batches of `batch_size`, gradients of
//! `loss / gradient_accumulation_steps` summed over `gradient_accumulation_steps` micro-batches
//! (and over the leftover ones at the end of the epoch), clipped to a global norm, and one AdamW
//! step at the scheduled learning rate. Dropout draws from the backend RNG, reseeded from
//! (seed, epoch) at the start of each epoch for the same reason. After each epoch: validation loss
//! and retrieval R@1 without dropout, a history row, and a checkpoint (model + optimizer state)
//! from which a killed run resumes to the same final weights.

use std::path::{Path, PathBuf};

use burn::module::{AutodiffModule, Module};
use burn::optim::{GradientsAccumulator, GradientsParams, Optimizer};
use burn::record::{FullPrecisionSettings, NamedMpkFileRecorder, Recorder};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{ElementConversion, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::dataset::Split;
use crate::dataset::split::rank;
use crate::error::{Error, Result};
use crate::features::FeatureMatrix;
use crate::features::output::{self, RowMeta};
use crate::features::shards::ShardWriter;
use crate::table::{self, Column};
use crate::train::clip::clip_global_norm;
use crate::train::config::TrainConfig;
use crate::train::data::{PairRow, TrainingData, gather};
use crate::train::loss::{self, l2_normalise};
use crate::train::model::AlignModel;
use crate::train::ops::AdapterOps;
use crate::train::optimizer::AdamW;
use crate::train::schedule::Schedule;

pub const HISTORY: &str = "history.parquet";
pub const MODEL: &str = "model";
const CHECKPOINTS: &str = "checkpoints";

/// JSON has no NaN: checkpoints store "not measured" (NaN) as null.
mod nan_as_null {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        if v.is_nan() {
            s.serialize_none()
        } else {
            s.serialize_f64(*v)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
    }
}

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
    #[serde(with = "nan_as_null")]
    pub val_r1_i2t: f64,
    #[serde(with = "nan_as_null")]
    pub val_r1_t2i: f64,
    #[serde(with = "nan_as_null")]
    pub grad_norm: f64,
    pub note: String,
}

#[derive(Serialize, Deserialize)]
struct CheckpointState {
    epoch: usize,
    history: Vec<EpochRow>,
}

pub struct Outcome {
    pub history: Vec<EpochRow>,
    pub train_pairs: usize,
    pub val_pairs: usize,
    pub steps_per_epoch: usize,
}

fn tensor<B: Backend>(
    values: Vec<f32>,
    rows: usize,
    dim: usize,
    device: &B::Device,
) -> Tensor<B, 2> {
    Tensor::from_data(TensorData::new(values, [rows, dim]), device)
}

fn scalar<B: Backend>(t: Tensor<B, 1>) -> f64 {
    t.into_scalar().elem::<f64>()
}

struct Batch<B: Backend> {
    image: Tensor<B, 2>,
    text: Tensor<B, 2>,
    reference: Tensor<B, 2>,
}

fn batch<B: Backend>(data: &TrainingData, rows: &[&PairRow], device: &B::Device) -> Batch<B> {
    let n = rows.len();
    Batch {
        image: tensor(
            gather(&data.image, rows.iter().map(|r| r.image_row)),
            n,
            data.image.dim(),
            device,
        ),
        text: tensor(
            gather(&data.text, rows.iter().map(|r| r.text_row)),
            n,
            data.text.dim(),
            device,
        ),
        reference: tensor(
            gather(&data.reference, rows.iter().map(|r| r.reference_row)),
            n,
            data.reference.dim(),
            device,
        ),
    }
}

/// The pairs used for training: the train split, capped at `num_samples` by seeded rank.
pub fn training_pairs<'a>(
    data: &'a TrainingData,
    config: &TrainConfig,
) -> (Vec<&'a PairRow>, Option<String>) {
    let mut train: Vec<&PairRow> = data
        .pairs
        .iter()
        .filter(|p| p.split == Split::Train)
        .collect();
    let note = if config.num_samples >= train.len() {
        Some(format!(
            "num_samples {} >= {} training pairs: using all of them",
            config.num_samples,
            train.len()
        ))
    } else {
        train.sort_by_cached_key(|p| {
            (
                rank(config.seed, "train-sample", &p.record_id),
                p.record_id.clone(),
            )
        });
        train.truncate(config.num_samples);
        train.sort_by(|a, b| a.record_id.cmp(&b.record_id));
        None
    };
    (train, note)
}

/// Validation loss parts and R@1 in both directions, without dropout.
fn evaluate<B: AdapterOps>(
    model: &AlignModel<B>,
    data: &TrainingData,
    val: &[&PairRow],
    config: &TrainConfig,
    device: &B::Device,
) -> [f64; 5] {
    if val.is_empty() {
        return [f64::NAN; 5];
    }
    let b: Batch<B> = batch(data, val, device);
    let a = model.image.forward(b.image);
    let t = model.text.forward(b.text);
    let parts = loss::loss(
        a.clone(),
        t.clone(),
        b.reference,
        config.temperature,
        config.label_smoothing,
        config
            .distribution_matching
            .then_some(config.variance_weight),
    );
    let sim = l2_normalise(a).matmul(l2_normalise(t).transpose());
    let n = val.len();
    let s: Vec<f32> = sim.into_data().into_vec::<f32>().unwrap_or_default();
    let argmax = |it: &mut dyn Iterator<Item = (usize, f32)>| {
        it.fold((0, f32::MIN), |m, (j, v)| if v > m.1 { (j, v) } else { m })
            .0
    };
    let mut i2t = 0usize;
    let mut t2i = 0usize;
    for i in 0..n {
        let j = argmax(&mut (0..n).map(|j| (j, s[i * n + j])));
        i2t += usize::from(val[j].image_id == val[i].image_id);
        let k = argmax(&mut (0..n).map(|k| (k, s[k * n + i])));
        t2i += usize::from(val[k].image_id == val[i].image_id);
    }
    [
        scalar(parts.total),
        scalar(parts.contrastive),
        scalar(parts.variance),
        i2t as f64 / n as f64,
        t2i as f64 / n as f64,
    ]
}

fn checkpoint_dir(out: &Path, epoch: usize) -> PathBuf {
    out.join(CHECKPOINTS).join(format!("epoch-{epoch:03}"))
}

/// The last complete checkpoint (its state.json is written last).
fn latest_checkpoint(out: &Path) -> Option<(usize, PathBuf)> {
    let mut found: Vec<(usize, PathBuf)> = std::fs::read_dir(out.join(CHECKPOINTS))
        .ok()?
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            let epoch = name.strip_prefix("epoch-")?.parse().ok()?;
            e.path()
                .join("state.json")
                .is_file()
                .then(|| (epoch, e.path()))
        })
        .collect();
    found.sort();
    found.pop()
}

/// Least time between two epoch checkpoints: `PIPELINE_CHECKPOINT_SECS`, default 30 s.
///
/// A checkpoint (weights and AdamW moments, MessagePack) costs more than an epoch of a small
/// adapter on this data (measured: MLP [1024, 1024] 0.8 s against ~0.25 s of training), so
/// writing one every epoch would more than double training time. Any checkpoint resumes to the
/// same final weights (batch order and dropout depend only on seed and epoch), so the interval only bounds the
/// work a killed run loses; it is not a parameter of the result and not part of the key.
pub fn checkpoint_interval() -> std::time::Duration {
    let secs = std::env::var("PIPELINE_CHECKPOINT_SECS")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .unwrap_or(30.0);
    std::time::Duration::from_secs_f64(secs)
}

fn recorder() -> NamedMpkFileRecorder<FullPrecisionSettings> {
    NamedMpkFileRecorder::<FullPrecisionSettings>::new()
}

fn burn_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Invalid {
        what: path.display().to_string(),
        message: format!("Burn record: {e}"),
    }
}

/// [`train`] on the default CPU backend ([`crate::train::CpuBackend`]).
///
/// Not generic on purpose: a generic function is compiled in the crate that instantiates it, at
/// that crate's optimisation level. Called as `train::<CpuBackend>` from the `pipeline` crate
/// (opt-level 0 in the dev profile), the whole loop and Burn's generic kernels under it were
/// compiled unoptimised: the MLP stage took 99 s for 20 epochs on the embedded default. Here it
/// is compiled with this crate, at opt-level 2.
pub fn train_on_cpu(
    config: &TrainConfig,
    data: &TrainingData,
    out: &Path,
    label: &str,
) -> Result<Outcome> {
    train::<crate::train::CpuBackend>(config, data, out, &Default::default(), label)
}

/// [`train`] on the backend this build selects ([`crate::train::TrainBackend`]: CPU, or CUDA
/// with the `cuda` feature); non-generic for the same reason as [`train_on_cpu`].
pub fn train_on_selected_backend(
    config: &TrainConfig,
    data: &TrainingData,
    out: &Path,
    label: &str,
) -> Result<Outcome> {
    train::<crate::train::TrainBackend>(config, data, out, &Default::default(), label)
}

/// Trains both adapters from `data` into `out` (history, model, aligned embeddings).
pub fn train<B: AutodiffBackend + AdapterOps>(
    config: &TrainConfig,
    data: &TrainingData,
    out: &Path,
    device: &B::Device,
    label: &str,
) -> Result<Outcome>
where
    B::InnerBackend: AdapterOps,
{
    let problems = config.problems();
    if !problems.is_empty() {
        return Err(Error::Invalid {
            what: format!("{label} config"),
            message: problems.join("; "),
        });
    }
    let (train_rows, cap_note) = training_pairs(data, config);
    if let Some(n) = &cap_note {
        eprintln!("{label}: {n}");
    }
    let val_rows: Vec<&PairRow> = data
        .pairs
        .iter()
        .filter(|p| p.split == Split::Val)
        .collect();
    if train_rows.is_empty() {
        return Err(Error::Invalid {
            what: label.into(),
            message: "no training pairs (is the train split empty?)".into(),
        });
    }
    let d_embed = if config.embed_dim == 0 {
        data.reference.dim()
    } else {
        config.embed_dim
    };
    let accum = config.gradient_accumulation_steps.max(1);
    let micro_batches = train_rows.len().div_ceil(config.batch_size.max(1));
    let steps_per_epoch = micro_batches.div_ceil(accum);
    let schedule = Schedule {
        lr: config.lr,
        min_lr: config.min_lr,
        warmup_steps: config.warmup_epochs * steps_per_epoch,
        total_steps: config.epochs * steps_per_epoch,
        num_cycles: config.num_cycles,
    };
    let variance_weight = config
        .distribution_matching
        .then_some(config.variance_weight);

    B::seed(device, config.seed);
    let mut model: AlignModel<B> =
        AlignModel::new(config, data.image.dim(), data.text.dim(), d_embed, device);
    write_embeddings(&model.valid(), data, &out.join("untrained"))?;
    let mut optim = AdamW::new(config.weight_decay).init::<B, AlignModel<B>>();

    let mut history = Vec::new();
    let mut start_epoch = 1;
    if let Some((epoch, dir)) = latest_checkpoint(out) {
        let record = recorder()
            .load(dir.join("model"), device)
            .map_err(|e| burn_err(&dir, e))?;
        model = model.load_record(record);
        let orecord = recorder()
            .load(dir.join("optimizer"), device)
            .map_err(|e| burn_err(&dir, e))?;
        optim = optim.load_record(orecord);
        let state: CheckpointState = serde_json::from_slice(
            &std::fs::read(dir.join("state.json")).map_err(|e| Error::io(&dir, e))?,
        )
        .map_err(|e| burn_err(&dir, e))?;
        history = state.history;
        start_epoch = epoch + 1;
        eprintln!("{label}: resuming after epoch {epoch} (checkpoint of an interrupted run)");
    } else {
        let [vl, vc, vv, r1, r1t] = evaluate(&model.valid(), data, &val_rows, config, device);
        history.push(EpochRow {
            epoch: 0,
            step: 0,
            lr: 0.0,
            train_loss: f64::NAN,
            train_contrastive: f64::NAN,
            train_variance: f64::NAN,
            val_loss: vl,
            val_contrastive: vc,
            val_variance: vv,
            val_r1_i2t: r1,
            val_r1_t2i: r1t,
            grad_norm: f64::NAN,
            note: "untrained adapters".into(),
        });
    }

    let interval = checkpoint_interval();
    let mut last_checkpoint = std::time::Instant::now();
    for epoch in start_epoch..=config.epochs {
        B::seed(
            device,
            config
                .seed
                .wrapping_mul(1_000_003)
                .wrapping_add(epoch as u64),
        );
        let mut order = train_rows.clone();
        // Cached: the key hashes the record id, and a plain sort_by_key would hash each row
        // O(log n) times per epoch.
        order.sort_by_cached_key(|p| {
            (
                rank(config.seed, &format!("epoch-{epoch}"), &p.record_id),
                p.record_id.clone(),
            )
        });
        let mut step = (epoch - 1) * steps_per_epoch;
        let (mut sum_total, mut sum_con, mut sum_var, mut batches) = (0.0, 0.0, 0.0, 0usize);
        let mut accumulator = GradientsAccumulator::new();
        let mut pending = 0usize;
        let mut last_lr = 0.0;
        let mut last_norm = 0.0;
        let mut notes = Vec::new();
        let chunks: Vec<&[&PairRow]> = order.chunks(config.batch_size.max(1)).collect();
        for (i, rows) in chunks.iter().enumerate() {
            let b: Batch<B> = batch(data, rows, device);
            let a = model.image.forward(b.image);
            let t = model.text.forward(b.text);
            let parts = loss::loss(
                a,
                t,
                b.reference,
                config.temperature,
                config.label_smoothing,
                variance_weight,
            );
            sum_con += scalar(parts.contrastive.clone());
            sum_var += scalar(parts.variance.clone());
            sum_total += scalar(parts.total.clone());
            batches += 1;
            let grads = parts.total.div_scalar(accum as f64).backward();
            accumulator.accumulate(&model, GradientsParams::from_grads(grads, &model));
            pending += 1;
            if pending == accum || i + 1 == chunks.len() {
                let mut grads = accumulator.grads();
                last_norm = clip_global_norm::<B, _>(&model, &mut grads, config.clip_grad_norm);
                last_lr = schedule.at(step);
                if last_lr == 0.0 {
                    notes.push(format!(
                        "step {step} had lr 0 (warmup starts at 0): no update"
                    ));
                }
                model = optim.step(last_lr, model, grads);
                step += 1;
                pending = 0;
            }
        }
        let [vl, vc, vv, r1, r1t] = evaluate(&model.valid(), data, &val_rows, config, device);
        if epoch == 1
            && let Some(n) = &cap_note
        {
            notes.push(n.clone());
        }
        let row = EpochRow {
            epoch,
            step,
            lr: last_lr,
            train_loss: sum_total / batches as f64,
            train_contrastive: sum_con / batches as f64,
            train_variance: sum_var / batches as f64,
            val_loss: vl,
            val_contrastive: vc,
            val_variance: vv,
            val_r1_i2t: r1,
            val_r1_t2i: r1t,
            grad_norm: last_norm,
            note: notes.join("; "),
        };
        tracing::info!(
            label,
            epoch,
            train_loss = row.train_loss,
            val_loss = vl,
            val_r1 = r1,
            "epoch done"
        );
        history.push(row);
        // The last epoch needs none: the final model is written next.
        if epoch < config.epochs && last_checkpoint.elapsed() >= interval {
            save_checkpoint(&model, &optim, out, epoch, &history)?;
            last_checkpoint = std::time::Instant::now();
        }
    }

    recorder()
        .record(model.clone().into_record(), out.join(MODEL))
        .map_err(|e| burn_err(out, e))?;
    write_history(&out.join(HISTORY), &history)?;
    write_embeddings(&model.valid(), data, &out.join("aligned"))?;
    let _ = std::fs::remove_dir_all(out.join(CHECKPOINTS));
    Ok(Outcome {
        history,
        train_pairs: train_rows.len(),
        val_pairs: val_rows.len(),
        steps_per_epoch,
    })
}

fn save_checkpoint<B: AutodiffBackend, O: Optimizer<AlignModel<B>, B>>(
    model: &AlignModel<B>,
    optim: &O,
    out: &Path,
    epoch: usize,
    history: &[EpochRow],
) -> Result<()> {
    let dir = checkpoint_dir(out, epoch);
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    recorder()
        .record(model.clone().into_record(), dir.join("model"))
        .map_err(|e| burn_err(&dir, e))?;
    recorder()
        .record(optim.to_record(), dir.join("optimizer"))
        .map_err(|e| burn_err(&dir, e))?;
    let state = CheckpointState {
        epoch,
        history: history.to_vec(),
    };
    let tmp = dir.join("state.json.tmp");
    std::fs::write(&tmp, serde_json::to_vec(&state).expect("state serialises"))
        .map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, dir.join("state.json")).map_err(|e| Error::io(&dir, e))?;
    // Older checkpoints are superseded.
    for e in std::fs::read_dir(out.join(CHECKPOINTS))
        .into_iter()
        .flatten()
        .flatten()
    {
        if e.path() != dir {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
    Ok(())
}

fn write_history(path: &Path, h: &[EpochRow]) -> Result<()> {
    let f = |g: fn(&EpochRow) -> f64| Column::F64(h.iter().map(g).collect());
    table::write(
        path,
        vec![
            (
                "epoch",
                Column::I64(h.iter().map(|r| r.epoch as i64).collect()),
            ),
            (
                "step",
                Column::I64(h.iter().map(|r| r.step as i64).collect()),
            ),
            ("lr", f(|r| r.lr)),
            ("train_loss", f(|r| r.train_loss)),
            ("train_contrastive", f(|r| r.train_contrastive)),
            ("train_variance", f(|r| r.train_variance)),
            ("val_loss", f(|r| r.val_loss)),
            ("val_contrastive", f(|r| r.val_contrastive)),
            ("val_variance", f(|r| r.val_variance)),
            ("val_r1_i2t", f(|r| r.val_r1_i2t)),
            ("val_r1_t2i", f(|r| r.val_r1_t2i)),
            ("grad_norm", f(|r| r.grad_norm)),
            (
                "note",
                Column::Str(h.iter().map(|r| r.note.clone()).collect()),
            ),
        ],
    )
}

/// Aligned embeddings of every image (rows as in `features:image`) and every caption (rows as in
/// `features:text`), in `dir/image` and `dir/text`, in the features layout (.npy + Parquet).
pub fn write_embeddings<B: AdapterOps>(
    model: &AlignModel<B>,
    data: &TrainingData,
    dir: &Path,
) -> Result<()> {
    let device = Default::default();
    let project = |m: &FeatureMatrix,
                   f: &dyn Fn(Tensor<B, 2>) -> Tensor<B, 2>,
                   out: &Path|
     -> Result<usize> {
        std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
        let mut writer: Option<ShardWriter> = None;
        let mut dim = 0;
        for start in (0..m.rows()).step_by(1024) {
            let end = (start + 1024).min(m.rows());
            let x = tensor::<B>(gather(m, start..end), end - start, m.dim(), &device);
            let y = f(x);
            dim = y.dims()[1];
            if writer.is_none() {
                writer = Some(ShardWriter::open(out, m.rows(), dim, m.rows().max(1))?.0);
            }
            let values = y
                .into_data()
                .into_vec::<f32>()
                .map_err(|e| burn_err(out, format!("{e:?}")))?;
            writer.as_mut().expect("opened above").append(&values)?;
        }
        match writer {
            Some(w) => {
                w.finish()?;
            }
            None => {
                ShardWriter::open(out, 0, dim.max(1), 1)?.0.finish()?;
            }
        }
        Ok(dim)
    };
    let img_dir = dir.join("image");
    project(&data.image, &|x| model.image.forward(x), &img_dir)?;
    let meta: Vec<RowMeta> = (0..data.image_ids.len())
        .map(|i| RowMeta {
            id: data.image_ids[i].clone(),
            image_id: data.image_ids[i].clone(),
            split: data.image_splits[i].clone(),
            source: data.image_sources[i].clone(),
        })
        .collect();
    output::write_parquet(&img_dir, &meta, &FeatureMatrix::open(&img_dir)?)?;
    let txt_dir = dir.join("text");
    project(&data.text, &|x| model.text.forward(x), &txt_dir)?;
    let mut by_row: Vec<Option<&PairRow>> = vec![None; data.text.rows()];
    for p in &data.pairs {
        by_row[p.text_row] = Some(p);
    }
    let meta: Vec<RowMeta> = by_row
        .iter()
        .map(|p| match p {
            Some(p) => RowMeta {
                id: p.record_id.clone(),
                image_id: p.image_id.clone(),
                split: p.split.as_str().into(),
                source: String::new(),
            },
            None => RowMeta {
                id: String::new(),
                image_id: String::new(),
                split: String::new(),
                source: String::new(),
            },
        })
        .collect();
    output::write_parquet(&txt_dir, &meta, &FeatureMatrix::open(&txt_dir)?)?;
    Ok(())
}
