//! Running an encoder over many items, batch by batch, into shards.
//!
//! The next batch is decoded and preprocessed (images in parallel with rayon) on a second thread
//! while ONNX Runtime runs the current one, so the encoder, not the JPEG decoder, sets the pace.
//! Rows already in complete shards from an interrupted attempt are skipped.
//!
//! The work comes as [`Units`]: row ranges whose batches are formed from their own rows only,
//! so any run that computes a unit (whole, resumed, or one shard of a cluster job) writes the
//! same bytes for it. Texts are batched by length within their unit: captions sorted by token
//! count (ties by position), so a batch pads to its neighbours' length rather than to the
//! longest caption of a random batch; the rows return to their places before they are written.
//! A resumed run re-encodes the unit it stopped in, whole, and keeps only the missing rows.
//!
//! One pass can write several artifacts ([`Sink`]s): encoders that read the same model file
//! over the same items with the same preprocessing and batches ([`EncoderSpec::pass`]) differ
//! only in the outputs they keep and how they pool them, so the model runs once and each
//! sink's rows are what a pass of its own would have written, byte for byte.
//!
//! - `layers`: opening the model, checking its signature, where each output lies in a row;
//! - `pool`: a batch's outputs pooled into rows;
//! - `batches`: units into batches, the second thread, rows put back in place.

mod batches;
mod layers;
mod pool;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use indicatif::ProgressBar;
use ndarray::{Array2, Array4, ArrayD, Axis};
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::features::output::LayerSlice;
use crate::features::preprocess;
use crate::features::shards::{Index, ShardWriter};
use crate::features::spec::{EncoderKind, EncoderSpec};
use crate::features::units::Units;
use crate::onnx::OnnxModel;
use crate::onnx::model::Input;
use crate::text::{TextTokenizer, TokenBatch};
use batches::{Batch, Placer, pipelined, unit_batches};

/// Opens the spec's model and checks its signature and output width; returns it and D (the
/// row width: with `layers`, all of them side by side).
pub fn open_model(spec: &EncoderSpec, model_path: &Path) -> Result<(OnnxModel, usize)> {
    let (model, layers) = layers::open_layers(spec, model_path)?;
    Ok((model, layers.iter().map(|l| l.dim).sum()))
}

/// The outputs `spec` reads from the model at `model_path` and where each lies in a row.
pub fn layer_slices(spec: &EncoderSpec, model_path: &Path) -> Result<Vec<LayerSlice>> {
    Ok(layers::open_layers(spec, model_path)?.1)
}

/// Storage shard size rounded up to whole batches, so that a resumed run starts on a unit
/// boundary for images (text blocks are re-run whole from the one a resume falls in). An
/// assembly of shards writes the same layout.
pub fn storage_shard_rows(spec: &EncoderSpec) -> usize {
    let b = spec.batch_size.max(1);
    spec.shard_rows.max(1).div_ceil(b) * b
}

/// One artifact a pass writes: the spec saying which outputs it keeps and how it pools them
/// (the pass itself follows the first sink's spec), its folder, and its name in messages.
#[derive(Clone, Copy)]
pub struct Sink<'a> {
    pub spec: &'a EncoderSpec,
    pub out_dir: &'a Path,
    pub label: &'a str,
}

/// One sink's side of a running pass.
struct Open<'u> {
    layers: Vec<LayerSlice>,
    spec: EncoderSpec,
    writer: ShardWriter,
    placer: Placer<'u>,
}

/// A pass under way: the model, its sinks, the first row any sink still needs, the outputs
/// the sinks read between them, and the progress bar.
struct Pass<'u> {
    model: OnnxModel,
    model_path: PathBuf,
    sinks: Vec<Open<'u>>,
    from: usize,
    names: Vec<String>,
    bar: ProgressBar,
}

fn announce_resume(label: &str, start: usize, total: usize) {
    if start > 0 {
        eprintln!(
            "{label}: resuming at row {start} of {total} (complete shards of an interrupted run)"
        );
    }
}

fn progress_bar(total: usize, start: usize, prefix: &str) -> ProgressBar {
    let bar = ProgressBar::new(total as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{prefix:>20} [{bar:30}] {pos}/{len} {per_sec} ETA {eta}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar.set_prefix(prefix.to_string());
    bar.set_position(start as u64);
    bar
}

/// Checks that every sink reads `kind` and shares the first sink's pass.
fn check_sinks(sinks: &[Sink], kind: EncoderKind) -> Result<()> {
    let Some(first) = sinks.first() else {
        return Err(Error::Invalid {
            what: "encoder pass".into(),
            message: "no artifact to write".into(),
        });
    };
    for s in sinks {
        if s.spec.kind != kind {
            return Err(Error::Invalid {
                what: s.label.into(),
                message: format!(
                    "encoder kind is {:?}, this stage needs {kind:?}",
                    s.spec.kind
                ),
            });
        }
        if s.spec.pass() != first.spec.pass() {
            return Err(Error::Invalid {
                what: s.label.into(),
                message: format!(
                    "cannot share {}'s pass: the model file, preprocessing or batches differ",
                    first.label
                ),
            });
        }
    }
    Ok(())
}

/// What every pass does first: check the sinks, open and check the model, open each sink's
/// shard writer for the rows of `units` (finding where an interrupted attempt stopped), and
/// start the progress bar.
fn begin<'u>(
    sinks: &[Sink],
    kind: EncoderKind,
    model_path: &Path,
    units: &'u Units,
) -> Result<Pass<'u>> {
    check_sinks(sinks, kind)?;
    let (model, first_layers) = layers::open_layers(sinks[0].spec, model_path)?;
    let rows = units.rows();
    let mut open = Vec::with_capacity(sinks.len());
    let mut names: Vec<String> = Vec::new();
    for (i, s) in sinks.iter().enumerate() {
        let layers = match i {
            0 => first_layers.clone(),
            _ => layers::slices(s.spec, &model, model_path)?,
        };
        let dim = layers.iter().map(|l| l.dim).sum();
        let shard_rows = storage_shard_rows(s.spec);
        let (writer, done) = ShardWriter::open(s.out_dir, rows.len(), dim, shard_rows)?;
        if !s.spec.layers.is_empty() {
            crate::features::output::write_layers(s.out_dir, &layers)?;
        }
        announce_resume(s.label, done, rows.len());
        for l in &layers {
            if !names.contains(&l.name) {
                names.push(l.name.clone());
            }
        }
        open.push(Open {
            layers,
            spec: s.spec.clone(),
            writer,
            placer: Placer::new(units, rows.start + done),
        });
    }
    let from = open
        .iter()
        .map(|o| o.placer.from)
        .min()
        .unwrap_or(rows.start);
    let label: Vec<&str> = sinks.iter().map(|s| s.label).collect();
    Ok(Pass {
        model,
        model_path: model_path.to_path_buf(),
        sinks: open,
        from,
        names,
        bar: progress_bar(rows.len(), from - rows.start, &label.join(" + ")),
    })
}

impl Pass<'_> {
    /// Runs the model on one prepared batch and hands each sink its pooled rows.
    fn consume(
        &mut self,
        batch: &Batch,
        inputs: Vec<(&str, Input)>,
        mask: Option<&Array2<i64>>,
    ) -> Result<()> {
        let names: Vec<&str> = self.names.iter().map(String::as_str).collect();
        let out: HashMap<String, ArrayD<f32>> = self.model.run(inputs, &names)?;
        for s in &mut self.sinks {
            if !s.placer.wants(batch) {
                continue;
            }
            let pooled = pool::pool_all(&out, &s.layers, s.spec.pooling, mask, &self.model_path)?;
            s.placer.place(batch, &pooled, &mut s.writer)?;
        }
        self.bar.inc(batch.rows.len() as u64);
        Ok(())
    }

    fn finish(self) -> Result<Vec<Index>> {
        self.bar.finish_and_clear();
        self.sinks.into_iter().map(|s| s.writer.finish()).collect()
    }
}

/// Encodes image files (in order) into shards in `out_dir`.
pub fn encode_images(
    spec: &EncoderSpec,
    model_path: &Path,
    paths: &[PathBuf],
    out_dir: &Path,
    label: &str,
) -> Result<Index> {
    let load = |i: usize| crate::image::decode::load_rgb(&paths[i]);
    let units = Units::images(paths.len(), spec.batch_size);
    encode_images_with(spec, model_path, &units, load, None, out_dir, label)
}

/// What happens to image `i` between its resize and its normalisation (a perturbation).
pub type AfterResize<'a> = &'a (dyn Fn(usize, image::RgbImage) -> image::RgbImage + Sync);

/// Encodes the images of `units` ([`Units::images`], or one shard of them), image `i` produced
/// by `load(i)` (decoded files, or in-memory probe images); the files hold the units' rows only.
pub fn encode_images_with(
    spec: &EncoderSpec,
    model_path: &Path,
    units: &Units,
    load: impl Fn(usize) -> Result<image::RgbImage> + Sync,
    after_resize: Option<AfterResize>,
    out_dir: &Path,
    label: &str,
) -> Result<Index> {
    let sink = Sink {
        spec,
        out_dir,
        label,
    };
    let mut written = encode_images_into(&[sink], model_path, units, load, after_resize)?;
    Ok(written.remove(0))
}

/// [`encode_images_with`] in one pass for several sinks; each sink's files as its own pass
/// would write them. Returns each sink's index, in order.
pub fn encode_images_into(
    sinks: &[Sink],
    model_path: &Path,
    units: &Units,
    load: impl Fn(usize) -> Result<image::RgbImage> + Sync,
    after_resize: Option<AfterResize>,
) -> Result<Vec<Index>> {
    let mut pass = begin(sinks, EncoderKind::Image, model_path, units)?;
    let spec = sinks[0].spec;
    let s = spec.image_size as usize;
    let input = spec.inputs[0].clone();
    pipelined(
        unit_batches(units, pass.from, spec.batch_size, |_| {}),
        |b: Batch| {
            let images: Vec<image::RgbImage> = b
                .rows
                .into_par_iter()
                .map(|i| {
                    let img = preprocess::resize_for(&load(i)?, spec);
                    Ok(match after_resize {
                        Some(f) => f(i, img),
                        None => img,
                    })
                })
                .collect::<Result<_>>()?;
            let mut x = Array4::<f32>::zeros((images.len(), 3, s, s));
            x.axis_iter_mut(Axis(0))
                .into_par_iter()
                .zip(images.par_iter())
                .for_each(|(dst, img)| preprocess::normalise_into(img, spec, dst));
            Ok(x)
        },
        |b, x| pass.consume(&b, vec![(input.as_str(), Input::F32(x.into_dyn()))], None),
    )?;
    pass.finish()
}

/// Encodes texts (in order) into shards in `out_dir`, in blocks of [`Units::texts_alone`].
pub fn encode_texts<S: AsRef<str> + Sync>(
    spec: &EncoderSpec,
    model_path: &Path,
    tokenizer: &Path,
    texts: &[S],
    out_dir: &Path,
    label: &str,
) -> Result<Index> {
    let units = Units::texts_alone(texts.len(), spec.batch_size);
    encode_text_units(spec, model_path, tokenizer, texts, &units, out_dir, label)
}

/// Encodes the texts of `units` ([`Units::texts`], or one shard of them; `texts` holds every
/// row, indexed as the units are); the files hold the units' rows only.
pub fn encode_text_units<S: AsRef<str> + Sync>(
    spec: &EncoderSpec,
    model_path: &Path,
    tokenizer: &Path,
    texts: &[S],
    units: &Units,
    out_dir: &Path,
    label: &str,
) -> Result<Index> {
    let sink = Sink {
        spec,
        out_dir,
        label,
    };
    let mut written = encode_texts_into(&[sink], model_path, tokenizer, texts, units)?;
    Ok(written.remove(0))
}

/// [`encode_text_units`] in one pass for several sinks; each sink's files as its own pass
/// would write them. Returns each sink's index, in order.
pub fn encode_texts_into<S: AsRef<str> + Sync>(
    sinks: &[Sink],
    model_path: &Path,
    tokenizer: &Path,
    texts: &[S],
    units: &Units,
) -> Result<Vec<Index>> {
    let spec = sinks.first().map(|s| s.spec);
    let tok = TextTokenizer::open(tokenizer, spec.map_or(0, |s| s.max_length))?;
    let mut pass = begin(sinks, EncoderKind::Text, model_path, units)?;
    let spec = sinks[0].spec;
    // Token counts of the rows still to encode (from the start of the unit `from` falls in).
    let from = pass.from;
    let first = units
        .ranges()
        .iter()
        .find(|r| r.end > from)
        .map_or(from, |r| r.start);
    let end = units.rows().end.max(first);
    let refs: Vec<&str> = texts[first..end].iter().map(AsRef::as_ref).collect();
    let lengths = tok.lengths(&refs)?;
    let length = |i: usize| lengths[i - first];
    pipelined(
        unit_batches(units, from, spec.batch_size, |rows| {
            rows.sort_by_key(|&i| (length(i), i))
        }),
        |b: Batch| {
            let batch: Vec<&str> = b.rows.iter().map(|&i| texts[i].as_ref()).collect();
            tok.encode_batch(&batch)
        },
        |b, batch: TokenBatch| {
            let inputs = text_inputs(spec, &batch, model_path)?;
            pass.consume(&b, inputs, Some(&batch.attention_mask))
        },
    )?;
    pass.finish()
}

/// The model's inputs, by the names the spec gives, from a tokenised batch.
fn text_inputs<'s>(
    spec: &'s EncoderSpec,
    batch: &TokenBatch,
    model_path: &Path,
) -> Result<Vec<(&'s str, Input)>> {
    let mut inputs = Vec::new();
    for name in &spec.inputs {
        let a = match name.as_str() {
            "input_ids" => batch.input_ids.clone(),
            "attention_mask" => batch.attention_mask.clone(),
            "token_type_ids" => batch.token_type_ids.clone(),
            other => {
                return Err(Error::Signature {
                    path: model_path.to_path_buf(),
                    message: format!("text input `{other}` is not one the tokenizer produces"),
                });
            }
        };
        inputs.push((name.as_str(), Input::I64(a.into_dyn())));
    }
    Ok(inputs)
}
