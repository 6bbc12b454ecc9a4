//! The training loop.
//!
//! Per epoch: the training pairs in a seeded order (a function of the seed and the epoch only, so
//! a resumed run sees the same batches), micro-batches of `batch_size`, gradients of
//! `loss / gradient_accumulation_steps` summed over `gradient_accumulation_steps` micro-batches
//! (and over the leftover ones at the end of the epoch), clipped to a global norm, and one AdamW
//! step at the scheduled learning rate. Dropout draws from the backend RNG, reseeded from
//! (seed, epoch) at the start of each epoch for the same reason. After each epoch: validation
//! ([`crate::train::validation`]), a history row ([`crate::train::history`]), and now and then
//! a checkpoint ([`crate::train::checkpoint`]). At the end: the model, the history, the config
//! and the embeddings ([`crate::train::export`]).

use burn::module::AutodiffModule;
use burn::optim::{GradientsAccumulator, GradientsParams, Optimizer};
use burn::tensor::ElementConversion;
use burn::tensor::backend::{AutodiffBackend, Backend};

use crate::dataset::Split;
use crate::dataset::split::rank;
use crate::error::{Error, Result};
use crate::spaces::Weights;
use crate::train::artifact::TrainArtifact;
use crate::train::clip::clip_global_norm;
use crate::train::config::TrainConfig;
use crate::train::data::{Batch, PairRow, TrainingData};
use crate::train::history::EpochRow;
use crate::train::model::AlignModel;
use crate::train::ops::AdapterOps;
use crate::train::optimizer::AdamW;
use crate::train::schedule::Schedule;
use crate::train::validation::{Validation, validate};
use crate::train::{checkpoint, export};

pub struct Outcome {
    pub history: Vec<EpochRow>,
    pub train_pairs: usize,
    pub val_pairs: usize,
    pub steps_per_epoch: usize,
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

/// [`train`] on the default CPU backend ([`crate::train::CpuBackend`]).
///
/// Not generic on purpose: a generic function is compiled in the crate that instantiates it, at
/// that crate's optimisation level. Called as `train::<CpuBackend>` from the `pipeline` crate
/// (opt-level 0 in the dev profile), the whole loop and Burn's generic kernels under it would be
/// compiled unoptimised (the MLP stage 20-30x slower). Here it is compiled with this crate, at
/// opt-level 2.
pub fn train_on_cpu(
    config: &TrainConfig,
    data: &TrainingData,
    out: &TrainArtifact,
    label: &str,
) -> Result<Outcome> {
    train::<crate::train::CpuBackend>(config, data, out, &Default::default(), label)
}

/// [`train`] on the backend this build selects ([`crate::train::TrainBackend`]: CPU, or CUDA
/// with the `cuda` feature); non-generic for the same reason as [`train_on_cpu`].
pub fn train_on_selected_backend(
    config: &TrainConfig,
    data: &TrainingData,
    out: &TrainArtifact,
    label: &str,
) -> Result<Outcome> {
    train::<crate::train::TrainBackend>(config, data, out, &Default::default(), label)
}

/// The schedule and sizes of one run.
struct Plan<'a> {
    train_rows: Vec<&'a PairRow>,
    val_rows: Vec<&'a PairRow>,
    cap_note: Option<String>,
    /// The adapters' output width (`embed_dim`, or the reference's width when 0).
    d_embed: usize,
    accum: usize,
    steps_per_epoch: usize,
    schedule: Schedule,
}

fn plan<'a>(config: &TrainConfig, data: &'a TrainingData, label: &str) -> Result<Plan<'a>> {
    let problems = config.problems();
    if !problems.is_empty() {
        return Err(Error::Invalid {
            what: format!("{label} config"),
            message: crate::check::listed(&problems),
        });
    }
    let (train_rows, cap_note) = training_pairs(data, config);
    if train_rows.is_empty() {
        return Err(Error::Invalid {
            what: label.into(),
            message: "no training pairs (is the train split empty?)".into(),
        });
    }
    let val_rows: Vec<&PairRow> = data
        .pairs
        .iter()
        .filter(|p| p.split == Split::Val)
        .collect();
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
    Ok(Plan {
        train_rows,
        val_rows,
        cap_note,
        d_embed: match config.embed_dim {
            0 => data.reference.dim(),
            d => d,
        },
        accum,
        steps_per_epoch,
        schedule,
    })
}

/// Trains both adapters from `data` into `out` (config, history, model, embeddings).
/// Burn's backend random generator (`B::seed`, then the weights' initialisation and dropout's
/// keys) is one per process. Builds running at once (`pipeline run -j N`, a sweep's members)
/// would interleave their draws and train other weights than they would alone. So a build holds
/// this lock from its `seed` to its last draw: around the initialisation, and for each epoch
/// whose steps draw dropout keys. Adapters without dropout (the linear one) hold it only while
/// they initialise; those with dropout train their epochs one build at a time.
static BACKEND_RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn backend_rng() -> std::sync::MutexGuard<'static, ()> {
    // A build that panicked while drawing leaves nothing to repair: every holder reseeds first.
    BACKEND_RNG
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The adapters as `config`'s seed initialises them: what training starts from, and the
/// untrained control (`inference::TrainedAdapters::of` rebuilds it on the plain backend, whose
/// generator the autodiff backend's draws come from).
pub(crate) fn initial_model<B: Backend>(
    config: &TrainConfig,
    d_image: usize,
    d_text: usize,
    d_embed: usize,
    device: &B::Device,
) -> AlignModel<B> {
    let _rng = backend_rng();
    B::seed(device, config.seed);
    AlignModel::new(config, d_image, d_text, d_embed, device)
}

/// Whether a training epoch draws from the backend's generator (dropout in hidden blocks).
fn draws_in_epochs(config: &TrainConfig) -> bool {
    config.adapter == crate::train::config::AdapterKind::Mlp
        && config.dropout > 0.0
        && !config.mlp_hidden_dims.is_empty()
}

pub fn train<B: AutodiffBackend + AdapterOps>(
    config: &TrainConfig,
    data: &TrainingData,
    out: &TrainArtifact,
    device: &B::Device,
    label: &str,
) -> Result<Outcome>
where
    B::InnerBackend: AdapterOps,
{
    let plan = plan(config, data, label)?;
    if let Some(n) = &plan.cap_note {
        eprintln!("{label}: {n}");
    }
    let model: AlignModel<B> = initial_model(
        config,
        data.image.dim(),
        data.text.dim(),
        plan.d_embed,
        device,
    );
    export::write_embeddings(&model.valid(), data, out, Weights::Untrained)?;
    let optim = AdamW::new(config.weight_decay).init::<B, AlignModel<B>>();
    let (mut model, mut optim, resumed) = checkpoint::resume(out, model, optim, device)?;
    let (mut history, start_epoch) = match resumed {
        Some((epoch, history)) => {
            eprintln!("{label}: resuming after epoch {epoch} (checkpoint of an interrupted run)");
            (history, epoch + 1)
        }
        None => {
            let v = validate(&model.valid(), data, &plan.val_rows, config, device)?;
            (vec![untrained_row(&v)], 1)
        }
    };

    let interval = checkpoint::interval();
    let mut last_checkpoint = std::time::Instant::now();
    for epoch in start_epoch..=config.epochs {
        let (next, mut row) = run_epoch(config, data, &plan, model, &mut optim, epoch, device);
        model = next;
        let v = validate(&model.valid(), data, &plan.val_rows, config, device)?;
        if epoch == 1
            && let Some(n) = &plan.cap_note
        {
            row.add_note(n);
        }
        row.set_validation(&v);
        tracing::info!(
            label,
            epoch,
            train_loss = row.train_loss,
            val_loss = v.loss,
            val_r1 = v.r1_i2t,
            "epoch done"
        );
        history.push(row);
        // The last epoch needs none: the final model is written next.
        if epoch < config.epochs && last_checkpoint.elapsed() >= interval {
            checkpoint::save(out, &model, &optim, epoch, &history)?;
            last_checkpoint = std::time::Instant::now();
        }
    }

    export::write_model(&model, out)?;
    out.write_history(&history)?;
    out.write_config(config)?;
    export::write_embeddings(&model.valid(), data, out, Weights::Trained)?;
    checkpoint::remove_all(out);
    Ok(Outcome {
        history,
        train_pairs: plan.train_rows.len(),
        val_pairs: plan.val_rows.len(),
        steps_per_epoch: plan.steps_per_epoch,
    })
}

/// Epoch 0: the initialised adapters, before any step.
fn untrained_row(v: &Validation) -> EpochRow {
    let mut row = EpochRow::unmeasured(0, "untrained adapters");
    row.lr = 0.0;
    row.set_validation(v);
    row
}

/// The seeded order of the training pairs in `epoch` (a function of the seed and the epoch
/// only, so a resumed run sees the same batches).
fn epoch_order<'a>(config: &TrainConfig, plan: &Plan<'a>, epoch: usize) -> Vec<&'a PairRow> {
    let mut order = plan.train_rows.clone();
    // Cached: the key hashes the record id, and a plain sort_by_key would hash each row
    // O(log n) times per epoch.
    order.sort_by_cached_key(|p| {
        (
            rank(config.seed, &format!("epoch-{epoch}"), &p.record_id),
            p.record_id.clone(),
        )
    });
    order
}

/// One micro-batch forward and backward: the gradients of `loss / accum`, and the loss's
/// total, contrastive and variance parts.
fn micro_batch<B: AutodiffBackend + AdapterOps>(
    model: &AlignModel<B>,
    data: &TrainingData,
    rows: &[&PairRow],
    config: &TrainConfig,
    accum: usize,
    device: &B::Device,
) -> (GradientsParams, [f64; 3])
where
    B::InnerBackend: AdapterOps,
{
    let b: Batch<B> = Batch::gather(data, rows, device);
    let a = model.image.forward(b.image);
    let t = model.text.forward(b.text);
    let parts = crate::train::loss::of_config(a, t, b.reference, config);
    let value = |t: &burn::tensor::Tensor<B, 1>| t.clone().into_scalar().elem::<f64>();
    let values = [
        value(&parts.total),
        value(&parts.contrastive),
        value(&parts.variance),
    ];
    let grads = parts.total.div_scalar(accum as f64).backward();
    (GradientsParams::from_grads(grads, model), values)
}

/// One epoch of optimiser steps; returns the updated model and the epoch's history row (its
/// validation columns still NaN).
fn run_epoch<B: AutodiffBackend + AdapterOps, O: Optimizer<AlignModel<B>, B>>(
    config: &TrainConfig,
    data: &TrainingData,
    plan: &Plan,
    mut model: AlignModel<B>,
    optim: &mut O,
    epoch: usize,
    device: &B::Device,
) -> (AlignModel<B>, EpochRow)
where
    B::InnerBackend: AdapterOps,
{
    // Reseeded (and held for the whole epoch) only when its steps draw dropout keys: an epoch
    // without draws must not reseed the generator under another build's feet either.
    let _rng = draws_in_epochs(config).then(|| {
        let rng = backend_rng();
        B::seed(
            device,
            config
                .seed
                .wrapping_mul(1_000_003)
                .wrapping_add(epoch as u64),
        );
        rng
    });
    let order = epoch_order(config, plan, epoch);
    let mut step = (epoch - 1) * plan.steps_per_epoch;
    let mut sums = [0.0; 3];
    let mut accumulator = GradientsAccumulator::new();
    let mut pending = 0usize;
    let (mut last_lr, mut last_norm) = (0.0, 0.0);
    let mut notes = Vec::new();
    let chunks: Vec<&[&PairRow]> = order.chunks(config.batch_size.max(1)).collect();
    for (i, rows) in chunks.iter().enumerate() {
        let (grads, values) = micro_batch(&model, data, rows, config, plan.accum, device);
        for (s, v) in sums.iter_mut().zip(values) {
            *s += v;
        }
        accumulator.accumulate(&model, grads);
        pending += 1;
        if pending == plan.accum || i + 1 == chunks.len() {
            let mut grads = accumulator.grads();
            last_norm = clip_global_norm::<B, _>(&model, &mut grads, config.clip_grad_norm);
            last_lr = plan.schedule.at(step);
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
    let batches = chunks.len() as f64;
    let row = EpochRow {
        epoch,
        step,
        lr: last_lr,
        train_loss: sums[0] / batches,
        train_contrastive: sums[1] / batches,
        train_variance: sums[2] / batches,
        val_loss: f64::NAN,
        val_contrastive: f64::NAN,
        val_variance: f64::NAN,
        val_r1_i2t: f64::NAN,
        val_r1_t2i: f64::NAN,
        grad_norm: last_norm,
        note: notes.join("; "),
    };
    (model, row)
}
