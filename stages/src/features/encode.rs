//! Running one encoder over many items, batch by batch, into shards.
//!
//! The next batch is decoded and preprocessed (images in parallel with rayon) on a second thread
//! while ONNX Runtime runs the current one, so the encoder, not the JPEG decoder, sets the pace.
//! Rows already in complete shards from an interrupted attempt are skipped.
//!
//! Texts are batched by length: within each shard, captions are sorted by token count (ties by
//! position) and batched in that order, so a batch pads to its neighbours' length rather than
//! to the longest caption of a random batch; the rows return to their places before the shard is
//! written. A shard's batches depend only on its own texts, so a resumed run still sees the
//! batches an uninterrupted one would.

use std::ops::Range;
use std::path::{Path, PathBuf};

use indicatif::ProgressBar;
use ndarray::{Array2, Array4, ArrayD, Axis, Ix2, Ix3};
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::features::preprocess;
use crate::features::shards::{Index, ShardWriter};
use crate::features::spec::{EncoderKind, EncoderSpec};
use crate::onnx::OnnxModel;
use crate::onnx::model::Input;
use crate::pooling::{self, Pooling};
use crate::text::{TextTokenizer, TokenBatch};

/// Opens the spec's model and checks its signature and output width; returns it and D.
pub fn open_model(spec: &EncoderSpec, model_path: &Path) -> Result<(OnnxModel, usize)> {
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
    model.check_signature(&spec.signature())?;
    let declared = model
        .output_shape(&spec.output)
        .and_then(|s| s.last().copied())
        .filter(|d| *d > 0)
        .map(|d| d as usize);
    let dim = match (declared, spec.dim) {
        (Some(d), 0) => d,
        (None, 0) => {
            return Err(Error::Signature {
                path: model_path.to_path_buf(),
                message: format!(
                    "output `{}` has a dynamic width; set `dim` in the encoder spec",
                    spec.output
                ),
            });
        }
        (Some(d), want) if d != want => {
            return Err(Error::Signature {
                path: model_path.to_path_buf(),
                message: format!(
                    "output `{}` is {d}-d, the encoder spec says dim = {want}",
                    spec.output
                ),
            });
        }
        (_, want) => want,
    };
    Ok((model, dim))
}

/// Shard size rounded up to whole batches: a resumed run then sees exactly the batches an
/// uninterrupted run would (ONNX Runtime's sums depend on the batch composition), so it ends
/// with the same bytes.
fn shard_rows(spec: &EncoderSpec) -> usize {
    let b = spec.batch_size.max(1);
    spec.shard_rows.max(1).div_ceil(b) * b
}

fn announce_resume(label: &str, start: usize, total: usize) {
    if start > 0 {
        eprintln!(
            "{label}: resuming at row {start} of {total} (complete shards of an interrupted run)"
        );
    }
}

fn batches(start: usize, total: usize, size: usize) -> Vec<Range<usize>> {
    let size = size.max(1);
    (start..total)
        .step_by(size)
        .map(|a| a..(a + size).min(total))
        .collect()
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

/// The rows `start..n` in batches of at most `size` texts of similar length: shard by shard
/// (`shard` rows each), each shard's rows sorted by `lengths` (ties by position).
fn length_batches(lengths: &[usize], start: usize, shard: usize, size: usize) -> Vec<Vec<usize>> {
    let n = lengths.len();
    let mut out = Vec::new();
    for first in (start..n).step_by(shard.max(1)) {
        let mut rows: Vec<usize> = (first..(first + shard).min(n)).collect();
        rows.sort_by_key(|&i| (lengths[i], i));
        out.extend(rows.chunks(size.max(1)).map(<[usize]>::to_vec));
    }
    out
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
/// shard writer (finding where an interrupted attempt stopped), and start the progress bar.
fn begin(
    spec: &EncoderSpec,
    kind: EncoderKind,
    model_path: &Path,
    n: usize,
    out_dir: &Path,
    label: &str,
) -> Result<(OnnxModel, ShardWriter, usize, ProgressBar)> {
    if spec.kind != kind {
        return Err(Error::Invalid {
            what: label.into(),
            message: format!("encoder kind is {:?}, this stage needs {kind:?}", spec.kind),
        });
    }
    let (model, dim) = open_model(spec, model_path)?;
    let (writer, start) = ShardWriter::open(out_dir, n, dim, shard_rows(spec))?;
    announce_resume(label, start, n);
    Ok((model, writer, start, progress_bar(n, start, label)))
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
    encode_images_with(spec, model_path, paths.len(), load, None, out_dir, label)
}

/// What happens to image `i` between its resize and its normalisation (a perturbation).
pub type AfterResize<'a> = &'a (dyn Fn(usize, image::RgbImage) -> image::RgbImage + Sync);

/// Encodes `n` images produced by `load(i)` (decoded files, or in-memory probe images).
pub fn encode_images_with(
    spec: &EncoderSpec,
    model_path: &Path,
    n: usize,
    load: impl Fn(usize) -> Result<image::RgbImage> + Sync,
    after_resize: Option<AfterResize>,
    out_dir: &Path,
    label: &str,
) -> Result<Index> {
    let (mut model, mut writer, start, bar) =
        begin(spec, EncoderKind::Image, model_path, n, out_dir, label)?;
    let s = spec.image_size as usize;
    let input = spec.inputs[0].clone();
    pipelined(
        batches(start, n, spec.batch_size),
        |r| {
            let images: Vec<image::RgbImage> = r
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
        |r, x| {
            let out = model.run(
                vec![(input.as_str(), Input::F32(x.into_dyn()))],
                &[spec.output.as_str()],
            )?;
            let pooled = pool(&out[&spec.output], spec.pooling, None, model_path)?;
            writer.append(&pooled.iter().copied().collect::<Vec<f32>>())?; // logical (row-major) order
            bar.inc(r.len() as u64);
            Ok(())
        },
    )?;
    bar.finish_and_clear();
    writer.finish()
}

/// Encodes texts (in order) into shards in `out_dir`.
pub fn encode_texts(
    spec: &EncoderSpec,
    model_path: &Path,
    tokenizer: &Path,
    texts: &[String],
    out_dir: &Path,
    label: &str,
) -> Result<Index> {
    let tok = TextTokenizer::open(tokenizer, spec.max_length)?;
    let (mut model, mut writer, start, bar) = begin(
        spec,
        EncoderKind::Text,
        model_path,
        texts.len(),
        out_dir,
        label,
    )?;
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let lengths = tok.lengths(&refs[start..])?;
    let lengths: Vec<usize> = std::iter::repeat_n(0, start).chain(lengths).collect();
    let shard = shard_rows(spec);
    // The shard being filled: rows land at their positions as their batches finish.
    let mut pending = Vec::new();
    let mut placed = 0;
    let mut shard_first = start;
    pipelined(
        length_batches(&lengths, start, shard, spec.batch_size),
        |rows: Vec<usize>| {
            let batch: Vec<&str> = rows.iter().map(|&i| refs[i]).collect();
            tok.encode_batch(&batch)
        },
        |rows, batch: TokenBatch| {
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
            let out = model.run(inputs, &[spec.output.as_str()])?;
            let pooled = pool(
                &out[&spec.output],
                spec.pooling,
                Some(&batch.attention_mask),
                model_path,
            )?;
            let dim = pooled.ncols();
            let shard_len = shard.min(texts.len() - shard_first);
            pending.resize(shard_len * dim, 0.0f32);
            for (&i, row) in rows.iter().zip(pooled.outer_iter()) {
                let at = (i - shard_first) * dim;
                pending[at..at + dim]
                    .iter_mut()
                    .zip(row)
                    .for_each(|(d, v)| *d = *v);
            }
            placed += rows.len();
            if placed == shard_len {
                writer.append(&pending)?;
                pending.clear();
                placed = 0;
                shard_first += shard_len;
            }
            bar.inc(rows.len() as u64);
            Ok(())
        },
    )?;
    bar.finish_and_clear();
    writer.finish()
}

#[cfg(test)]
mod length_tests {
    use super::length_batches;

    #[test]
    fn batches_sort_each_shard_by_length_and_keep_shards_apart() {
        let lengths = [9, 3, 7, 3, 5, 1, 8, 2];
        // Shards of 4 rows, batches of 3; ties by position (rows 1 and 3).
        let got = length_batches(&lengths, 0, 4, 3);
        assert_eq!(got, vec![vec![1, 3, 2], vec![0], vec![5, 7, 4], vec![6]]);
        let resumed = length_batches(&lengths, 4, 4, 3);
        assert_eq!(resumed, vec![vec![5, 7, 4], vec![6]]);
    }
}
