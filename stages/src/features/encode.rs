//! Running one encoder over many items, batch by batch, into shards.
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

use std::path::{Path, PathBuf};

use indicatif::ProgressBar;
use ndarray::{Array2, Array4, ArrayD, Axis, Ix2, Ix3};
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::features::output::LayerSlice;
use crate::features::preprocess;
use crate::features::shards::{Index, ShardWriter};
use crate::features::spec::{EncoderKind, EncoderSpec};
use crate::features::units::Units;
use crate::onnx::OnnxModel;
use crate::onnx::model::Input;
use crate::pooling::{self, Pooling};
use crate::text::{TextTokenizer, TokenBatch};

/// Opens the spec's model and checks its signature and output width; returns it and D (the
/// row width: with `layers`, all of them side by side).
pub fn open_model(spec: &EncoderSpec, model_path: &Path) -> Result<(OnnxModel, usize)> {
    let (model, layers) = open_layers(spec, model_path)?;
    Ok((model, layers.iter().map(|l| l.dim).sum()))
}

/// The outputs `spec` reads from the model at `model_path` and where each lies in a row.
pub fn layer_slices(spec: &EncoderSpec, model_path: &Path) -> Result<Vec<LayerSlice>> {
    Ok(open_layers(spec, model_path)?.1)
}

/// Opens the spec's model, checks its signature and the width of every output it reads.
fn open_layers(spec: &EncoderSpec, model_path: &Path) -> Result<(OnnxModel, Vec<LayerSlice>)> {
    // Values a config can set that would otherwise fail deep inside resizing or batching.
    let bad = |field: &str, why: &str| Error::Invalid {
        what: format!("encoder spec for {}", model_path.display()),
        message: format!("`{field}` {why}"),
    };
    if spec.batch_size == 0 {
        return Err(bad("batch_size", "must be at least 1"));
    }
    if spec.kind == EncoderKind::Image && (spec.image_size == 0 || spec.resize_shorter == 0) {
        return Err(bad(
            "image_size / resize_shorter",
            "must be at least 1 pixel",
        ));
    }
    if spec.kind == EncoderKind::Image && spec.inputs.len() != 1 {
        return Err(bad("inputs", "must name exactly one image input"));
    }
    // Image batches are decoded and resized on the same cores while ONNX Runtime runs: its idle
    // threads must not spin. Text preprocessing is tiny, and spinning keeps short runs fast.
    let model = OnnxModel::open_with(model_path, spec.threads, spec.kind == EncoderKind::Text)?;
    let outputs = spec
        .read_outputs(&model.output_names())
        .map_err(|message| Error::Signature {
            path: model_path.to_path_buf(),
            message,
        })?;
    model.check_signature(&spec.signature(&outputs))?;
    let mut slices = Vec::with_capacity(outputs.len());
    let mut offset = 0;
    for name in outputs {
        let declared = model
            .output_shape(&name)
            .and_then(|s| s.last().copied())
            .filter(|d| *d > 0)
            .map(|d| d as usize);
        // `dim` is the width of `output`; layers take the widths the file declares.
        let want = if spec.layers.is_empty() { spec.dim } else { 0 };
        let dim = match (declared, want) {
            (Some(d), 0) => d,
            (None, 0) => {
                return Err(Error::Signature {
                    path: model_path.to_path_buf(),
                    message: format!(
                        "output `{name}` has a dynamic width; set `dim` in the encoder spec \
                         (layers must declare theirs)"
                    ),
                });
            }
            (Some(d), want) if d != want => {
                return Err(Error::Signature {
                    path: model_path.to_path_buf(),
                    message: format!(
                        "output `{name}` is {d}-d, the encoder spec says dim = {want}"
                    ),
                });
            }
            (_, want) => want,
        };
        slices.push(LayerSlice { name, offset, dim });
        offset += dim;
    }
    Ok((model, slices))
}

/// Pools every output read into one `[B, ΣD]` block, side by side in `layers` order.
fn pool_all(
    out: &std::collections::HashMap<String, ArrayD<f32>>,
    layers: &[LayerSlice],
    pooling: Pooling,
    mask: Option<&Array2<i64>>,
    path: &Path,
) -> Result<Array2<f32>> {
    if let [only] = layers {
        return pool(&out[&only.name], pooling, mask, path);
    }
    let pooled = layers
        .iter()
        .map(|l| pool(&out[&l.name], pooling, mask, path))
        .collect::<Result<Vec<_>>>()?;
    let views: Vec<_> = pooled.iter().map(|p| p.view()).collect();
    ndarray::concatenate(Axis(1), &views).map_err(|e| Error::Signature {
        path: path.to_path_buf(),
        message: format!("layers of different batch sizes: {e}"),
    })
}

/// Storage shard size rounded up to whole batches, so that a resumed run starts on a unit
/// boundary for images (text blocks are re-run whole from the one a resume falls in).
fn shard_rows(spec: &EncoderSpec) -> usize {
    let b = spec.batch_size.max(1);
    spec.shard_rows.max(1).div_ceil(b) * b
}

/// The storage shard size of `spec`'s feature files (an assembly writes the same layout).
pub fn storage_shard_rows(spec: &EncoderSpec) -> usize {
    shard_rows(spec)
}

fn announce_resume(label: &str, start: usize, total: usize) {
    if start > 0 {
        eprintln!(
            "{label}: resuming at row {start} of {total} (complete shards of an interrupted run)"
        );
    }
}

/// Runs `prepare` one batch ahead of `consume` on a second thread.
fn pipelined<T: Clone + Send, B: Send>(
    batches: Vec<T>,
    prepare: impl Fn(T) -> Result<B> + Sync,
    mut consume: impl FnMut(T, B) -> Result<()>,
) -> Result<()> {
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<(T, Result<B>)>(1);
        let prepare = &prepare;
        scope.spawn(move || {
            for r in batches {
                let b = prepare(r.clone());
                let failed = b.is_err();
                // A closed channel means the consumer stopped (an error): stop too.
                if tx.send((r, b)).is_err() || failed {
                    break;
                }
            }
        });
        for (r, b) in rx {
            consume(r, b?)?;
        }
        Ok(())
    })
}

/// One batch: the unit it belongs to and its rows (absolute), in the order they are encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Batch {
    unit: usize,
    rows: Vec<usize>,
}

/// The batches of every unit that ends after row `from` (earlier units are complete), each
/// unit's rows put in `order` and cut into batches of at most `size`.
fn unit_batches(
    units: &Units,
    from: usize,
    size: usize,
    order: impl Fn(&mut Vec<usize>),
) -> Vec<Batch> {
    let mut out = Vec::new();
    for (unit, range) in units.ranges().iter().enumerate() {
        if range.end <= from {
            continue;
        }
        let mut rows: Vec<usize> = range.clone().collect();
        order(&mut rows);
        out.extend(rows.chunks(size.max(1)).map(|c| Batch {
            unit,
            rows: c.to_vec(),
        }));
    }
    out
}

/// Puts each batch's rows back in their places within their unit, and hands a unit's rows to
/// the writer once all of them are in (less the rows before `from`, already written).
struct Placer<'u> {
    units: &'u Units,
    from: usize,
    pending: Vec<f32>,
    placed: usize,
}

impl Placer<'_> {
    fn place(
        &mut self,
        batch: &Batch,
        pooled: &Array2<f32>,
        writer: &mut ShardWriter,
    ) -> Result<()> {
        let range = self.units.ranges()[batch.unit].clone();
        let dim = pooled.ncols();
        self.pending.resize(range.len() * dim, 0.0);
        for (&i, row) in batch.rows.iter().zip(pooled.outer_iter()) {
            let at = (i - range.start) * dim;
            self.pending[at..at + dim]
                .iter_mut()
                .zip(row)
                .for_each(|(d, v)| *d = *v);
        }
        self.placed += batch.rows.len();
        if self.placed == range.len() {
            let skip = self.from.saturating_sub(range.start) * dim;
            writer.append(&self.pending[skip..])?;
            self.pending.clear();
            self.placed = 0;
        }
        Ok(())
    }
}

/// Pools the model's output into `[B, D]`.
fn pool(
    out: &ArrayD<f32>,
    pooling: Pooling,
    mask: Option<&Array2<i64>>,
    path: &Path,
) -> Result<Array2<f32>> {
    let shape_err = |want: &str| Error::Signature {
        path: path.to_path_buf(),
        message: format!("output has shape {:?}, expected {want}", out.shape()),
    };
    Ok(match pooling {
        Pooling::None => out
            .view()
            .into_dimensionality::<Ix2>()
            .map_err(|_| shape_err("[B, D]"))?
            .to_owned(),
        Pooling::Cls => pooling::cls(
            out.view()
                .into_dimensionality::<Ix3>()
                .map_err(|_| shape_err("[B, T, D]"))?,
        ),
        Pooling::Mean => {
            let h = out
                .view()
                .into_dimensionality::<Ix3>()
                .map_err(|_| shape_err("[B, T, D]"))?;
            let ones;
            let mask = match mask {
                Some(m) => m.view(),
                None => {
                    ones = Array2::<i64>::ones((h.dim().0, h.dim().1));
                    ones.view()
                }
            };
            pooling::masked_mean(h, mask)
        }
    })
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

/// What both encoders do first: check the spec's kind, open and check the model, open the
/// shard writer for the rows of `units` (finding where an interrupted attempt stopped), and
/// start the progress bar. Returns the first row (absolute) still to compute.
fn begin(
    spec: &EncoderSpec,
    kind: EncoderKind,
    model_path: &Path,
    units: &Units,
    out_dir: &Path,
    label: &str,
) -> Result<(OnnxModel, Vec<LayerSlice>, ShardWriter, usize, ProgressBar)> {
    if spec.kind != kind {
        return Err(Error::Invalid {
            what: label.into(),
            message: format!("encoder kind is {:?}, this stage needs {kind:?}", spec.kind),
        });
    }
    let (model, layers) = open_layers(spec, model_path)?;
    let dim = layers.iter().map(|l| l.dim).sum();
    let rows = units.rows();
    let (writer, done) = ShardWriter::open(out_dir, rows.len(), dim, shard_rows(spec))?;
    if !spec.layers.is_empty() {
        crate::features::output::write_layers(out_dir, &layers)?;
    }
    announce_resume(label, done, rows.len());
    Ok((
        model,
        layers,
        writer,
        rows.start + done,
        progress_bar(rows.len(), done, label),
    ))
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
    let (mut model, layers, mut writer, from, bar) =
        begin(spec, EncoderKind::Image, model_path, units, out_dir, label)?;
    let names: Vec<&str> = layers.iter().map(|l| l.name.as_str()).collect();
    let s = spec.image_size as usize;
    let input = spec.inputs[0].clone();
    let mut placer = Placer {
        units,
        from,
        pending: Vec::new(),
        placed: 0,
    };
    pipelined(
        unit_batches(units, from, spec.batch_size, |_| {}),
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
        |b, x| {
            let out = model.run(vec![(input.as_str(), Input::F32(x.into_dyn()))], &names)?;
            let pooled = pool_all(&out, &layers, spec.pooling, None, model_path)?;
            placer.place(&b, &pooled, &mut writer)?;
            bar.inc(b.rows.len() as u64);
            Ok(())
        },
    )?;
    bar.finish_and_clear();
    writer.finish()
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
    let tok = TextTokenizer::open(tokenizer, spec.max_length)?;
    let (mut model, layers, mut writer, from, bar) =
        begin(spec, EncoderKind::Text, model_path, units, out_dir, label)?;
    let names: Vec<&str> = layers.iter().map(|l| l.name.as_str()).collect();
    // Token counts of the rows still to encode (from the start of the unit `from` falls in).
    let first = units
        .ranges()
        .iter()
        .find(|r| r.end > from)
        .map_or(from, |r| r.start);
    let end = units.rows().end.max(first);
    let refs: Vec<&str> = texts[first..end].iter().map(AsRef::as_ref).collect();
    let lengths = tok.lengths(&refs)?;
    let length = |i: usize| lengths[i - first];
    let mut placer = Placer {
        units,
        from,
        pending: Vec::new(),
        placed: 0,
    };
    pipelined(
        unit_batches(units, from, spec.batch_size, |rows| {
            rows.sort_by_key(|&i| (length(i), i))
        }),
        |b: Batch| {
            let batch: Vec<&str> = b.rows.iter().map(|&i| texts[i].as_ref()).collect();
            tok.encode_batch(&batch)
        },
        |b, batch: TokenBatch| {
            let mut inputs = Vec::new();
            for name in &spec.inputs {
                let a = match name.as_str() {
                    "input_ids" => batch.input_ids.clone(),
                    "attention_mask" => batch.attention_mask.clone(),
                    "token_type_ids" => batch.token_type_ids.clone(),
                    other => {
                        return Err(Error::Signature {
                            path: model_path.to_path_buf(),
                            message: format!(
                                "text input `{other}` is not one the tokenizer produces"
                            ),
                        });
                    }
                };
                inputs.push((name.as_str(), Input::I64(a.into_dyn())));
            }
            let out = model.run(inputs, &names)?;
            let pooled = pool_all(
                &out,
                &layers,
                spec.pooling,
                Some(&batch.attention_mask),
                model_path,
            )?;
            placer.place(&b, &pooled, &mut writer)?;
            bar.inc(b.rows.len() as u64);
            Ok(())
        },
    )?;
    bar.finish_and_clear();
    writer.finish()
}

#[cfg(test)]
mod unit_tests {
    use super::*;

    #[test]
    fn batches_sort_each_unit_by_length_and_keep_units_apart() {
        let lengths = [9, 3, 7, 3, 5, 1, 8, 2];
        let units = Units::texts_alone(8, 1); // one block: 16 rows of batch 1
        assert_eq!(units.ranges().len(), 1);
        assert_eq!(units.rows(), 0..8);
        // Two units of 4 rows, batches of 3; ties by position (rows 1 and 3).
        let units = Units::images(8, 4);
        let by_length = |rows: &mut Vec<usize>| rows.sort_by_key(|&i| (lengths[i], i));
        let rows = |b: Vec<Batch>| b.into_iter().map(|b| b.rows).collect::<Vec<_>>();
        let got = rows(unit_batches(&units, 0, 3, by_length));
        assert_eq!(got, vec![vec![1, 3, 2], vec![0], vec![5, 7, 4], vec![6]]);
        // A resume inside the second unit re-runs that unit whole.
        let resumed = rows(unit_batches(&units, 5, 3, by_length));
        assert_eq!(resumed, vec![vec![5, 7, 4], vec![6]]);
        let resumed = unit_batches(&units, 4, 3, |_| {});
        assert_eq!(
            resumed[0],
            Batch {
                unit: 1,
                rows: vec![4, 5, 6]
            }
        );
    }
}
