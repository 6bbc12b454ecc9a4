//! `make bench` (features part). Per encoder, on the same embedded images/captions and batch
//! size, in one run:
//!   end-to-end items/s (decode + preprocess + ONNX Runtime + shards, as `features:*` runs),
//!   (a) pure ONNX Runtime on pre-made tensors,
//!   (b) a Python onnxruntime + PIL loop (stages/benches/python_features_loop.py);
//! and the process's peak RSS. Goals: end-to-end ≤ 1.15× pure inference (text: on the same
//! length-bucketed batches); ≥ 1.0× Python for images, ≥ 1.5× for text (the Python loop pads
//! batches in caption order).

use std::path::{Path, PathBuf};
use std::time::Instant;

use stages::dataset::DatasetSpec;
use stages::dataset::ingest;
use stages::features::{EncoderSpec, encode, preprocess};
use stages::image::tensor;
use stages::onnx::model::Input;
use stages::text::TextTokenizer;

mod common;
use common::{absolute, peak_rss_mib, repo};

const IMAGES: usize = 96;

fn pure_image(spec: &EncoderSpec, paths: &[PathBuf]) -> anyhow::Result<f64> {
    let (mut model, _) = encode::open_model(spec, Path::new(&spec.onnx))?;
    let imgs: Vec<_> = paths
        .iter()
        .map(|p| preprocess::prepare(p, spec))
        .collect::<Result<_, _>>()?;
    let batches: Vec<_> = imgs
        .chunks(spec.batch_size)
        .map(|c| tensor::batch(c, spec.mean, spec.std))
        .collect();
    let start = Instant::now();
    for b in batches {
        model.run(
            vec![("pixel_values", Input::F32(b.into_dyn()))],
            &[spec.output.as_str()],
        )?;
    }
    Ok(paths.len() as f64 / start.elapsed().as_secs_f64())
}

fn pure_text(spec: &EncoderSpec, captions: &[String]) -> anyhow::Result<f64> {
    let (mut model, _) = encode::open_model(spec, Path::new(&spec.onnx))?;
    let tok = TextTokenizer::open(Path::new(&spec.tokenizer), spec.max_length)?;
    // The batches `features:text` runs: captions sorted by token count (one shard here).
    let refs: Vec<&str> = captions.iter().map(String::as_str).collect();
    let lengths = tok.lengths(&refs)?;
    let mut order: Vec<usize> = (0..refs.len()).collect();
    order.sort_by_key(|&i| (lengths[i], i));
    let sorted: Vec<&str> = order.iter().map(|&i| refs[i]).collect();
    let batches: Vec<_> = sorted
        .chunks(spec.batch_size)
        .map(|c| tok.encode_batch(c))
        .collect::<Result<_, _>>()?;
    let start = Instant::now();
    for b in batches {
        model.run(
            vec![
                ("input_ids", Input::I64(b.input_ids.into_dyn())),
                ("attention_mask", Input::I64(b.attention_mask.into_dyn())),
                ("token_type_ids", Input::I64(b.token_type_ids.into_dyn())),
            ],
            &[spec.output.as_str()],
        )?;
    }
    Ok(captions.len() as f64 / start.elapsed().as_secs_f64())
}

fn main() -> anyhow::Result<()> {
    // PNG stamps only: the Python baseline (PIL) cannot read the SVG ones.
    let records: Vec<_> = ingest::ingest(&DatasetSpec::default(), &repo())?
        .records
        .into_iter()
        .filter(|r| r.image_path.ends_with(".png"))
        .take(IMAGES)
        .collect();
    let paths: Vec<PathBuf> = records.iter().map(|r| repo().join(&r.image_path)).collect();
    // Captions are short; repeat them so the text timing is not dominated by start-up.
    let captions: Vec<String> = records
        .iter()
        .map(|r| r.caption.clone())
        .cycle()
        .take(IMAGES * 8)
        .collect();
    let image = absolute(EncoderSpec::embedded_image());
    let reference = absolute(EncoderSpec::embedded_reference());
    let text = absolute(EncoderSpec::embedded_text());

    let list = tempfile::NamedTempFile::new()?;
    let enc = |name: &str, s: &EncoderSpec| serde_json::json!({"name": name, "onnx": s.onnx, "output": s.output, "batch_size": s.batch_size});
    std::fs::write(
        list.path(),
        serde_json::to_vec(&serde_json::json!({
            "images": paths,
            "captions": captions,
            "image_encoders": [enc("image", &image), enc("reference", &reference)],
            "text_encoder": {"name": "text", "onnx": text.onnx, "tokenizer": text.tokenizer, "batch_size": text.batch_size},
        }))?,
    )?;
    let python = std::process::Command::new(repo().join(".venv/bin/python"))
        .arg(repo().join("stages/benches/python_features_loop.py"))
        .arg(list.path())
        .output()?;
    anyhow::ensure!(
        python.status.success(),
        "python baseline failed: {}",
        String::from_utf8_lossy(&python.stderr)
    );
    let py: serde_json::Value = serde_json::from_slice(&python.stdout)?;

    println!(
        "features: {IMAGES} embedded images, {} captions; batch sizes as in pipeline.toml",
        captions.len()
    );
    println!(
        "  {:<10} {:>12} {:>12} {:>12} {:>14} {:>12}",
        "encoder", "end-to-end", "pure ORT", "Python loop", "e2e/pure time", "vs Python"
    );
    for (name, spec) in [
        ("image", &image),
        ("reference", &reference),
        ("text", &text),
    ] {
        let dir = tempfile::tempdir()?;
        let start = Instant::now();
        let n = if name == "text" {
            encode::encode_texts(
                spec,
                Path::new(&spec.onnx),
                Path::new(&spec.tokenizer),
                &captions,
                dir.path(),
                name,
            )?
            .rows
        } else {
            encode::encode_images(spec, Path::new(&spec.onnx), &paths, dir.path(), name)?.rows
        };
        let e2e = n as f64 / start.elapsed().as_secs_f64();
        let pure = if name == "text" {
            pure_text(spec, &captions)?
        } else {
            pure_image(spec, &paths)?
        };
        let pyr = py[name].as_f64().unwrap_or(f64::NAN);
        // Text batches are length-bucketed (the Python loop pads random batches): #17's goal
        // for text is 1.5x the Python loop.
        let goal = if name == "text" { 1.5 } else { 1.0 };
        println!(
            "  {name:<10} {e2e:>10.1}/s {pure:>10.1}/s {pyr:>10.1}/s {:>13.2}x {:>11.2}x   (goals: <= 1.15x, >= {goal:.1}x)",
            pure / e2e,
            e2e / pyr
        );
    }
    println!("  peak RSS of this process: {:.0} MiB", peak_rss_mib());
    Ok(())
}
