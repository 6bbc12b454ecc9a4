//! `make gpu-check` (scripts/gpu-check runs it): the CUDA paths on a lent GPU, from the embedded
//! default's cached features, in one binary built with `--features cuda` (`make gpu-check-build`
//! gathers it and its data under target/gpu-check, small enough to travel):
//!
//! - train:linear and train:mlp with pipeline.toml's configs on Burn's CUDA backend and on the
//!   CPU kernels, both in this binary: seconds per epoch of each, and the final validation loss
//!   and R@1 compared ([`stages::train::compare`]: close, not equal);
//! - the image encoder through ONNX Runtime's CUDA execution provider (registration fails
//!   loudly, never a silent CPU fallback) on the first images, against the CPU features cached
//!   for them: the largest difference relative to the row's largest value, at most 1e-3.
//!   Where the ONNX Runtime library has no CUDA provider, says which library is missing.
//!
//! One line per check; exit 0 when every check that ran passed, 1 when one failed, 2 when the
//! binary or the machine cannot run them (no cuda feature, no data).
//!
//! Usage: gpu_check <data folder> <repository root>; `gpu_check --gather-images <data folder>
//! <repository root>` copies the images the check encodes into the data folder.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};
use stages::features::{EncoderSpec, FeatureMatrix, FeaturesArtifact, encode};
use stages::train::compare::{self, Tolerance};
use stages::train::data::TrainingData;
use stages::train::{TrainArtifact, TrainConfig, training};

/// Images encoded on the GPU and compared with their cached CPU features.
const IMAGES: usize = 64;

fn train_config(root: &Path, name: &str) -> anyhow::Result<TrainConfig> {
    let text = std::fs::read_to_string(root.join("pipeline.toml"))?;
    let doc: toml::Table = toml::from_str(&text)?;
    let table = doc
        .get("train")
        .and_then(|t| t.get(name))
        .with_context(|| format!("pipeline.toml has no [train.{name}]"))?;
    Ok(table.clone().try_into()?)
}

/// Trains `name` on the CPU and on CUDA; one summary line; Ok(false) when they disagree.
fn check_train(data: &TrainingData, root: &Path, name: &str) -> anyhow::Result<bool> {
    let config = train_config(root, name)?;
    let work = tempfile::tempdir()?;
    let mut runs = Vec::new();
    for (backend, on_gpu) in [("cpu", false), ("cuda", true)] {
        let dir = work.path().join(backend);
        std::fs::create_dir_all(&dir)?;
        let out = TrainArtifact::at(&dir);
        let clock = Instant::now();
        let outcome = if on_gpu {
            // Burn's CUDA backend panics when it cannot start (no driver, no NVRTC): a failed
            // check with its reason, not a crash.
            let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                training::train_on_selected_backend(&config, data, &out, name)
            }));
            match run {
                Ok(outcome) => outcome?,
                Err(panic) => {
                    let why = panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default();
                    println!("train:{name} on CUDA: FAILED: the CUDA backend did not run ({why})");
                    return Ok(false);
                }
            }
        } else {
            training::train_on_cpu(&config, data, &out, name)?
        };
        let per_epoch = clock.elapsed().as_secs_f64() / config.epochs.max(1) as f64;
        runs.push((outcome.history, per_epoch));
    }
    let c = compare::histories(&runs[0].0, &runs[1].0, Tolerance::default());
    println!(
        "train:{name}: {} epoch {:.3} s on CUDA, {:.3} s on the CPU ({:.1}x); final val loss {:.5} (CPU) / {:.5} (CUDA), \
         largest epoch difference {:.1e}; val R@1 i2t {:.3}/{:.3}, t2i {:.3}/{:.3}: {}",
        stages::train::BACKEND,
        runs[1].1,
        runs[0].1,
        runs[0].1 / runs[1].1,
        c.val_loss.0,
        c.val_loss.1,
        c.worst_epoch_val_loss,
        c.r1_i2t.0,
        c.r1_i2t.1,
        c.r1_t2i.0,
        c.r1_t2i.1,
        if c.agrees() {
            "ok".to_string()
        } else {
            format!("FAILED: {}", c.problems.join("; "))
        }
    );
    Ok(c.agrees())
}

/// Ok(Some(pass)) after comparing, Ok(None) when the provider is not there (said why).
fn check_features(data: &Path) -> anyhow::Result<Option<bool>> {
    if let Ok(why) = std::env::var("GPU_CHECK_ORT_MISSING") {
        println!("features:image on ONNX Runtime's CUDA provider: not verified: {why}");
        return Ok(None);
    }
    stages::onnx::runtime::set_require_gpu(true);
    let cached = FeaturesArtifact::at(&data.join("image"));
    let table = cached.read_table()?;
    let cpu = cached.open_matrix()?;
    // `source` is each image's path as ingest recorded it (relative to the repository);
    // `make gpu-check-build` copies the first images under data/images the same way.
    let images: Vec<PathBuf> = table
        .strings("source")?
        .into_iter()
        .take(IMAGES)
        .map(|s| data.join("images").join(s))
        .collect();
    let mut spec = EncoderSpec::embedded_image();
    spec.onnx = data.join("efficientnet_lite0.onnx").display().to_string();
    let out = tempfile::tempdir()?;
    let clock = Instant::now();
    match encode::encode_images(&spec, Path::new(&spec.onnx), &images, out.path(), "gpu") {
        Ok(_) => {}
        Err(e) if e.to_string().contains("CUDA execution provider") => {
            println!(
                "features:image on ONNX Runtime's CUDA provider: not verified: {e} \
                 (the library loaded: {}; a CUDA build needs libonnxruntime_providers_cuda.so beside it)",
                stages::onnx::runtime::loaded_library()
                    .map_or("none".into(), |p| p.display().to_string())
            );
            return Ok(None);
        }
        Err(e) => return Err(e.into()),
    }
    let seconds = clock.elapsed().as_secs_f64();
    let gpu = FeatureMatrix::open(out.path())?;
    let mut worst: f64 = 0.0;
    for i in 0..images.len() {
        let (a, b) = (cpu.row(i), gpu.row(i));
        let scale = a
            .iter()
            .fold(0f32, |m, v| m.max(v.abs()))
            .max(f32::MIN_POSITIVE);
        let d = a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs()));
        worst = worst.max(f64::from(d / scale));
    }
    let pass = worst <= 1e-3;
    println!(
        "features:image on ONNX Runtime's CUDA provider: {} images in {seconds:.2} s; largest difference from the CPU features {worst:.1e} of the row maximum: {}",
        images.len(),
        if pass { "ok" } else { "FAILED (> 1e-3)" }
    );
    Ok(Some(pass))
}

/// Copies the first [`IMAGES`] images the cached image features name from `root` into
/// `data/images`, under the same relative paths (run by `make gpu-check-build`).
fn gather_images(data: &Path, root: &Path) -> anyhow::Result<()> {
    let table = FeaturesArtifact::at(&data.join("image")).read_table()?;
    for source in table.strings("source")?.into_iter().take(IMAGES) {
        let to = data.join("images").join(&source);
        std::fs::create_dir_all(to.parent().expect("a file path"))?;
        std::fs::copy(root.join(&source), &to).with_context(|| source.clone())?;
    }
    Ok(())
}

fn run(data: &Path, root: &Path) -> anyhow::Result<bool> {
    if !cfg!(feature = "cuda") {
        bail!("built without the `cuda` feature: nothing here runs on a GPU");
    }
    let training = TrainingData::open(
        &data.join("ingest"),
        &data.join("image"),
        &data.join("text"),
        &data.join("reference"),
    )
    .with_context(|| format!("the cached features in {}", data.display()))?;
    let mut pass = true;
    for name in ["linear", "mlp"] {
        pass &= check_train(&training, root, name)?;
    }
    if let Some(p) = check_features(data)? {
        pass &= p;
    }
    Ok(pass)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, data, root] = args.as_slice()
        && flag == "--gather-images"
    {
        return match gather_images(Path::new(data), Path::new(root)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("gpu-check: {e:#}");
                ExitCode::from(2)
            }
        };
    }
    let [_, data, root] = args.as_slice() else {
        eprintln!("usage: gpu_check [--gather-images] <data folder> <repository root>");
        return ExitCode::from(2);
    };
    match run(Path::new(data), Path::new(root)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("gpu-check: {e:#}");
            ExitCode::from(2)
        }
    }
}
