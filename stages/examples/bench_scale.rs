//! `make bench-scale`: what each stage costs as the dataset grows, on a Flickr30k-sized dataset
//! built from what `make setup` installs.
//!
//! The dataset: the first N of Fashion-MNIST's 70,000 images (written once as PNGs) with five
//! captions each from templates over the class name and what the picture shows (its tone, how
//! much of the frame it fills, whether it is wide or tall), so captions carry information about
//! their image beyond the class. Fashion-MNIST because it is the only packaged set with tens of
//! thousands of distinct pictures (the Tux Paint stamps are ~700); its 28 x 28 images are resized
//! to the encoders' 224 like any other, so the encoders cost what they cost on Flickr30k.
//!
//! For each N (`BENCH_SCALE_SIZES`, default 1000,3000,10000,30000) it runs, each stage as its own
//! `pipeline` process: ingest, the image and text features, train (linear on the research's
//! `num_samples` 12,800, linear on every training pair, MLP on 12,800; two epochs each: the cost
//! of an epoch, not a converged adapter) and align:linear on the val split (a quarter of the
//! images; up to N = `BENCH_SCALE_ALIGN_MAX`, default 30000). The reference encoder is
//! EfficientNet-Lite0 too (d = 1,280): DINOv2-S runs ~12 images/s here, 40 minutes at 30,000,
//! and which encoder it is changes no stage's cost model.
//! Then every metric on one pair of n x 1,280 spaces (`bench_metrics`) at each N and at
//! 100,000 (`BENCH_SCALE_METRIC_SIZES`).
//!
//! `BENCH_SCALE_STAGES` (comma-separated, e.g. `ingest,features:text`) runs only those stages
//! and no metrics row, and prints the table without writing docs: a partial run never replaces
//! the whole table.
//!
//! Prints per stage the seconds and the peak RSS (the child's `ru_maxrss`) at each N and the
//! growth exponent fitted to them (least squares of log y on log N; 1 = linear, 0 = flat), and
//! #17's goals against them; writes the table, the goals and a log-log plot to docs/scaling.md
//! and docs/scaling.svg, and the table and goals into docs/benchmarks.md between its
//! bench-scale markers. The work folder is target/bench-scale (the images are reused between
//! runs; each N's artifacts are removed first so every stage runs).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use anyhow::{Context, bail};
use plotters::prelude::*;
use stages::dataset::probe::{self, FASHION_CLASSES, ProbeKind, ProbeSplit};

mod common;
use common::repo;

/// One stage's cost at one size.
#[derive(Clone, Copy)]
struct Cost {
    seconds: f64,
    /// Peak resident memory (`ru_maxrss`): with pages of memory-mapped files the process read.
    peak_mib: f64,
    /// Peak anonymous resident memory (`RssAnon`, sampled every 20 ms): the process's own
    /// allocations, without the page cache of mapped feature files, which the kernel reclaims
    /// under pressure.
    anon_mib: f64,
}

impl Cost {
    const FAILED: Cost = Cost {
        seconds: f64::NAN,
        peak_mib: f64::NAN,
        anon_mib: f64::NAN,
    };
}

/// The largest `RssAnon` of process `pid` seen until `stop`, in KiB, polled every 20 ms.
fn sample_anon(pid: libc::pid_t, stop: Arc<AtomicBool>) -> u64 {
    let path = format!("/proc/{pid}/status");
    let mut peak = 0;
    while !stop.load(Ordering::Relaxed) {
        if let Ok(text) = std::fs::read_to_string(&path) {
            let kib = text
                .lines()
                .find_map(|l| l.strip_prefix("RssAnon:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok());
            peak = peak.max(kib.unwrap_or(0));
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    peak
}

fn sizes(var: &str, default: &[usize]) -> anyhow::Result<Vec<usize>> {
    match std::env::var(var) {
        Ok(v) => v
            .split(',')
            .map(|x| x.trim().parse().with_context(|| format!("{var}: `{x}`")))
            .collect(),
        Err(_) => Ok(default.to_vec()),
    }
}

/// Runs `cmd` to completion and returns its wall time and peak resident memory.
fn measure(cmd: &mut Command) -> anyhow::Result<Cost> {
    let clock = Instant::now();
    let child = cmd.spawn().with_context(|| format!("starting {cmd:?}"))?;
    let pid = child.id() as libc::pid_t;
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = std::thread::spawn({
        let stop = stop.clone();
        move || sample_anon(pid, stop)
    });
    let mut status: libc::c_int = 0;
    // SAFETY: an all-zero `rusage` is a valid value of this plain C struct.
    #[allow(unsafe_code)]
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our own child, not yet reaped (std's `Child` only reaps through `wait`,
    // which is never called); `status` and `usage` are valid for writes for the call.
    #[allow(unsafe_code)]
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let seconds = clock.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let anon_kib = sampler.join().unwrap_or(0);
    if reaped != pid {
        bail!("wait4 on {cmd:?}: {}", std::io::Error::last_os_error());
    }
    if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
        bail!("{cmd:?} failed (wait status {status})");
    }
    Ok(Cost {
        seconds,
        // Linux reports ru_maxrss in KiB.
        peak_mib: usage.ru_maxrss as f64 / 1024.0,
        anon_mib: anon_kib as f64 / 1024.0,
    })
}

/// Words a caption can say about a 28 x 28 picture: its tone, how much of the frame it fills,
/// its shape.
fn describe(img: &image::RgbImage) -> [&'static str; 3] {
    let ink: Vec<u8> = img.pixels().map(|p| p.0[0]).collect();
    let lit: Vec<usize> = (0..ink.len()).filter(|&i| ink[i] > 32).collect();
    let mean = lit.iter().map(|&i| ink[i] as f64).sum::<f64>() / lit.len().max(1) as f64;
    let tone = if mean > 170.0 {
        "bright"
    } else if mean > 110.0 {
        "grey"
    } else {
        "dark"
    };
    let fill = lit.len() as f64 / ink.len() as f64;
    let size = if fill > 0.55 {
        "large"
    } else if fill > 0.35 {
        "medium-sized"
    } else {
        "small"
    };
    let (xs, ys): (Vec<usize>, Vec<usize>) = lit.iter().map(|&i| (i % 28, i / 28)).unzip();
    let extent = |v: &[usize]| v.iter().max().unwrap_or(&0) - v.iter().min().unwrap_or(&0);
    let shape = if extent(&xs) > extent(&ys) + 3 {
        "wide"
    } else if extent(&ys) > extent(&xs) + 3 {
        "tall"
    } else {
        "compact"
    };
    [tone, size, shape]
}

fn captions(class: &str, [tone, size, shape]: [&str; 3]) -> [String; 5] {
    [
        format!("a photo of a {size} {class}"),
        format!("a {tone} {class} on a black background"),
        format!("a grayscale picture of a {shape} {class}"),
        format!("a {class}, {tone} and {size}"),
        format!("a low resolution image of a {tone} {shape} {class}"),
    ]
}

/// Writes the first `largest` Fashion-MNIST images (train split, then test) as PNGs under
/// `work/images` (kept between runs) and, for each size n, `work/manifest-<n>.csv` naming the
/// first n with their captions. Runs in a child process: a parent's peak memory is the floor
/// of every child's `ru_maxrss` (Linux records it when the child replaces its image), so the
/// parent never holds the 70,000 decoded images.
fn write_dataset(work: &Path, largest: usize, ns: &[usize]) -> anyhow::Result<()> {
    let dir = repo().join("data/datasets/fashion-mnist");
    let train = probe::read(ProbeKind::FashionMnist, &dir, ProbeSplit::Train, 0)?;
    let test = probe::read(ProbeKind::FashionMnist, &dir, ProbeSplit::Test, 0)?;
    let all: Vec<_> = train
        .images
        .iter()
        .zip(&train.labels)
        .chain(test.images.iter().zip(&test.labels))
        .take(largest)
        .collect();
    if all.len() < largest {
        bail!(
            "Fashion-MNIST has {} images, {largest} asked for",
            all.len()
        );
    }
    std::fs::create_dir_all(work.join("images"))?;
    let mut rows = Vec::with_capacity(5 * largest);
    for (i, (img, &label)) in all.into_iter().enumerate() {
        let name = format!("images/{i:05}.png");
        let path = work.join(&name);
        if !path.exists() {
            img.save(&path)
                .with_context(|| path.display().to_string())?;
        }
        let class = FASHION_CLASSES[label as usize].to_lowercase();
        for c in captions(&class, describe(img)) {
            rows.push(format!("{name},\"{c}\"\n"));
        }
    }
    for &n in ns {
        let csv: String = std::iter::once("image,caption\n".to_string())
            .chain(rows[..5 * n].iter().cloned())
            .collect();
        std::fs::write(work.join(format!("manifest-{n}.csv")), csv)?;
    }
    Ok(())
}

/// The experiment for the first `n` images: `work/n-<n>/pipeline.toml`, its artifacts beside.
fn experiment(work: &Path, n: usize) -> anyhow::Result<PathBuf> {
    let dir = work.join(format!("n-{n}"));
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    let models = repo().join("data/models");
    let image = format!(
        r#"onnx = "{}/efficientnet_lite0.onnx"
kind = "image"
inputs = ["pixel_values"]
output = "features"
pooling = "none"
dim = 1280
image_size = 224
batch_size = 32
"#,
        models.display()
    );
    let train = |name: &str, adapter: &str, samples: usize| {
        format!(
            "[train.{name}]\nadapter = \"{adapter}\"\nnum_samples = {samples}\nepochs = 2\nwarmup_epochs = 1\n"
        )
    };
    let toml = format!(
        r#"[dataset]
kind = "manifest"
path = "../manifest-{n}.csv"

[encoders.image]
{image}
[encoders.text]
onnx = "{m}/minilm_l6_v2.onnx"
kind = "text"
tokenizer = "{m}/minilm_l6_v2.tokenizer.json"
inputs = ["input_ids", "attention_mask", "token_type_ids"]
output = "last_hidden_state"
pooling = "mean"
dim = 384
max_length = 64
batch_size = 64

[encoders.reference]
{image}
{linear}
{all}
{mlp}
"#,
        m = models.display(),
        linear = train("linear", "linear", 12_800),
        all = train("all", "linear", 10_000_000),
        mlp = train("mlp", "mlp", 12_800),
    );
    std::fs::write(dir.join("pipeline.toml"), toml)?;
    Ok(dir)
}

const STAGES: [&str; 8] = [
    "ingest",
    "features:image",
    "features:text",
    "features:reference",
    "train:linear",
    "train:all",
    "train:mlp",
    "align:linear",
];

/// Least-squares slope of ln y on ln n.
fn exponent(ns: &[usize], ys: &[f64]) -> f64 {
    let pts: Vec<(f64, f64)> = ns
        .iter()
        .zip(ys)
        .filter(|(_, y)| **y > 0.0)
        .map(|(&n, &y)| ((n as f64).ln(), y.ln()))
        .collect();
    let k = pts.len() as f64;
    let (mx, my) = (
        pts.iter().map(|p| p.0).sum::<f64>() / k,
        pts.iter().map(|p| p.1).sum::<f64>() / k,
    );
    let cov: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let var: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
    cov / var
}

/// One row of the table per stage: its name, the sizes it ran at and its costs there.
struct Row {
    stage: String,
    ns: Vec<usize>,
    costs: Vec<Cost>,
}

fn table(rows: &[Row]) -> String {
    let mut all_ns: Vec<usize> = rows.iter().flat_map(|r| r.ns.clone()).collect();
    all_ns.sort_unstable();
    all_ns.dedup();
    let mut s = String::from("| stage |");
    for n in &all_ns {
        let _ = write!(s, " N = {n} |");
    }
    s.push_str(" time ~ N^ | peak RSS ~ N^ | anonymous ~ N^ |\n|---|");
    s.push_str(&"---:|".repeat(all_ns.len() + 3));
    s.push('\n');
    for r in rows {
        let _ = write!(s, "| {} |", r.stage);
        for n in &all_ns {
            match r.ns.iter().position(|m| m == n) {
                Some(i) => {
                    let c = r.costs[i];
                    let _ = write!(
                        s,
                        " {:.1} s, {:.0} MiB ({:.0}) |",
                        c.seconds, c.peak_mib, c.anon_mib
                    );
                }
                None => s.push_str(" |"),
            }
        }
        let secs: Vec<f64> = r.costs.iter().map(|c| c.seconds).collect();
        let mibs: Vec<f64> = r.costs.iter().map(|c| c.peak_mib).collect();
        let anon: Vec<f64> = r.costs.iter().map(|c| c.anon_mib).collect();
        let _ = writeln!(
            s,
            " {:.2} | {:.2} | {:.2} |",
            exponent(&r.ns, &secs),
            exponent(&r.ns, &mibs),
            exponent(&r.ns, &anon)
        );
    }
    s
}

fn plot(rows: &[Row], path: &Path) -> anyhow::Result<()> {
    let fonts = repo().join("data/fonts");
    stages::report::font::register(&fonts.join("DejaVuSans.ttf"), None)?;
    let e = |e: DrawingAreaErrorKind<_>| anyhow::anyhow!("{e:?}");
    let root = SVGBackend::new(path, (1100, 460)).into_drawing_area();
    root.fill(&WHITE).map_err(e)?;
    let (left, right) = root.split_horizontally(550);
    let max_n = rows.iter().flat_map(|r| r.ns.clone()).max().unwrap_or(1) as f64;
    type Value = fn(&Cost) -> f64;
    let seconds: Value = |c| c.seconds;
    let mib: Value = |c| c.peak_mib;
    for (area, label, value) in [(&left, "seconds", seconds), (&right, "peak RSS (MiB)", mib)] {
        let ys: Vec<f64> = rows
            .iter()
            .flat_map(|r| r.costs.iter().map(value))
            .collect();
        let lo = ys.iter().cloned().fold(f64::INFINITY, f64::min).max(1e-2);
        let hi = ys.iter().cloned().fold(0.0, f64::max);
        let mut chart = ChartBuilder::on(area)
            .caption(format!("{label} against N"), ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(
                (500f64..max_n * 1.5).log_scale(),
                (lo / 1.5..hi * 1.5).log_scale(),
            )
            .map_err(e)?;
        chart
            .configure_mesh()
            .x_desc("N (images)")
            .y_desc(label)
            .label_style(("sans-serif", 12))
            .draw()
            .map_err(e)?;
        for (i, r) in rows.iter().enumerate() {
            let colour = Palette99::pick(i).to_rgba();
            let pts: Vec<(f64, f64)> =
                r.ns.iter()
                    .zip(&r.costs)
                    .map(|(&n, c)| (n as f64, value(c)))
                    .collect();
            chart
                .draw_series(LineSeries::new(pts.clone(), colour.stroke_width(2)))
                .map_err(e)?
                .label(r.stage.clone())
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], colour));
            chart
                .draw_series(pts.iter().map(|&p| Circle::new(p, 3, colour.filled())))
                .map_err(e)?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .label_font(("sans-serif", 11))
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK.mix(0.3))
            .draw()
            .map_err(e)?;
    }
    root.present().map_err(e)?;
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let ns = sizes("BENCH_SCALE_SIZES", &[1000, 3000, 10_000, 30_000])?;
    let only: Option<Vec<String>> = std::env::var("BENCH_SCALE_STAGES")
        .ok()
        .map(|s| s.split(',').map(|x| x.trim().to_string()).collect());
    if let Some(only) = &only
        && let Some(bad) = only.iter().find(|s| !STAGES.contains(&s.as_str()))
    {
        bail!("BENCH_SCALE_STAGES: no stage {bad:?} in the bench (it runs {STAGES:?})");
    }
    let wanted = |stage: &str| only.as_ref().is_none_or(|o| o.iter().any(|s| s == stage));
    let mut metric_ns = sizes("BENCH_SCALE_METRIC_SIZES", &[])?;
    if only.is_some() {
        metric_ns.clear();
    } else if metric_ns.is_empty() {
        metric_ns = ns.clone();
        metric_ns.push(100_000);
    }
    // align's expensive replicates run on at most `resample_rows` (2,000) rows, so it is
    // measured at every N unless capped.
    let align_max = sizes("BENCH_SCALE_ALIGN_MAX", &[30_000])?
        .first()
        .copied()
        .unwrap_or(30_000);
    let target = repo().join("target");
    let (pipeline, bench_metrics) = (
        target.join("debug/pipeline"),
        target.join("debug/examples/bench_metrics"),
    );
    for bin in [&pipeline, &bench_metrics] {
        if !bin.exists() {
            bail!(
                "{} is missing: `make bench-scale` builds it first",
                bin.display()
            );
        }
    }
    let work = target.join("bench-scale");
    let largest = ns.iter().copied().max().unwrap_or(0);
    let mut args = std::env::args().skip(1);
    if args.next().as_deref() == Some("dataset") {
        return write_dataset(&work, largest, &ns);
    }
    // Said of the tree the binaries were built from: edits during the run are not in them.
    let provenance = provenance();
    let cost = measure(Command::new(std::env::current_exe()?).arg("dataset"))?;
    println!(
        "dataset: {largest} Fashion-MNIST images, {} captions ({:.1} s)",
        5 * largest,
        cost.seconds
    );
    let mut rows: Vec<Row> = STAGES
        .iter()
        .filter(|s| wanted(s))
        .map(|s| Row {
            stage: s.to_string(),
            ns: vec![],
            costs: vec![],
        })
        .collect();
    for &n in &ns {
        let dir = experiment(&work, n)?;
        for (stage, row) in STAGES.iter().filter(|s| wanted(s)).zip(&mut rows) {
            if *stage == "align:linear" && n > align_max {
                println!(
                    "N = {n:6} {stage:20} skipped (above BENCH_SCALE_ALIGN_MAX = {align_max})"
                );
                continue;
            }
            let log = std::fs::File::create(dir.join(format!("{}.log", stage.replace(':', "-"))))?;
            let cost = measure(
                Command::new(&pipeline)
                    .current_dir(&dir)
                    .args(["run", "--stage", stage])
                    .stdout(log.try_clone()?)
                    .stderr(log),
            );
            // A failed stage is reported and left out of the fit; later sizes still run.
            let cost = cost.unwrap_or_else(|e| {
                println!("N = {n}, {stage} failed: {e:#} (log in {})", dir.display());
                Cost::FAILED
            });
            println!(
                "N = {n:6} {stage:20} {:8.1} s {:7.0} MiB",
                cost.seconds, cost.peak_mib
            );
            row.ns.push(n);
            row.costs.push(cost);
        }
    }
    let mut metrics = Row {
        stage: "every metric, one pair (d = 1,280)".into(),
        ns: vec![],
        costs: vec![],
    };
    for &n in &metric_ns {
        let out_path = work.join(format!("metrics-{n}.log"));
        let out = std::fs::File::create(&out_path)?;
        let cost = measure(
            Command::new(&bench_metrics)
                .env("BENCH_METRICS_N", n.to_string())
                .env("BENCH_METRICS_ONLY_ALL", "1")
                .stdout(out),
        )
        .and_then(|c| {
            // The row is the metrics' own time (the process also generates its inputs), and
            // the process's peak.
            Ok(Cost {
                seconds: metrics_seconds(&std::fs::read_to_string(&out_path)?).with_context(
                    || format!("no \"all metrics\" line in {}", out_path.display()),
                )?,
                ..c
            })
        })
        .unwrap_or_else(|e| {
            println!("N = {n}, every metric failed: {e:#}");
            Cost::FAILED
        });
        println!(
            "N = {n:6} {:20} {:8.1} s {:7.0} MiB",
            "every metric", cost.seconds, cost.peak_mib
        );
        metrics.ns.push(n);
        metrics.costs.push(cost);
    }
    if !metrics.ns.is_empty() {
        rows.push(metrics);
    }
    let text = table(&rows);
    if only.is_some() {
        println!("\n{text}\n(BENCH_SCALE_STAGES set: docs are not written)");
        return Ok(());
    }
    let goals = goals(&rows);
    println!("\n{text}\n{goals}");
    let docs = repo().join("docs");
    let page = format!(
        "# Scaling (`make bench-scale`)\n\n\
         Written by `make bench-scale` (stages/examples/bench_scale.rs); do not edit by hand. \
         What the numbers mean and why: docs/benchmarks.md, \"Scaling\".\n\n\
         Each stage's wall time and peak RSS, as its own `pipeline` process, at N images of the \
         Fashion-MNIST dataset the bench builds (five template captions per image, so 5N \
         captions; val split a quarter of the images), and the growth exponent fitted to them \
         (least squares of log y on log N: 1 = linear, 0 = flat). Memory is the peak RSS \
         (`ru_maxrss`) and, in brackets, the peak anonymous RSS (`RssAnon` sampled every 20 ms): \
         the process's own allocations without the pages of memory-mapped feature files, which \
         are page cache the kernel reclaims; the memory goals are judged on the latter. The \
         last row is every metric \
         metrics on one pair of N x 1,280 spaces (`bench_metrics`, the metrics' own seconds \
         and the process's peak). 2 cores, dev profile. {provenance}\n\n{text}\n{goals}\n\
         ![time and peak RSS against N](scaling.svg)\n",
    );
    std::fs::write(docs.join("scaling.md"), page)?;
    plot(&rows, &docs.join("scaling.svg"))?;
    splice_into_benchmarks(&docs.join("benchmarks.md"), &format!("{text}\n{goals}"))?;
    println!("wrote docs/scaling.md, docs/scaling.svg and docs/benchmarks.md's scaling table");
    Ok(())
}

/// The seconds on bench_metrics' "all metrics" line.
fn metrics_seconds(out: &str) -> Option<f64> {
    let line = out
        .lines()
        .find(|l| l.trim_start().starts_with("all metrics"))?;
    line.trim_start()
        .strip_prefix("all metrics")?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// When and from what the page was measured: the date and the commit (marked when the tree
/// had changes).
fn provenance() -> String {
    let git = |args: &[&str]| {
        Command::new("git")
            .current_dir(repo())
            .args(args)
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let date = Command::new("date")
        .arg("-u")
        .arg("+%Y-%m-%d %H:%M UTC")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let commit = git(&["rev-parse", "--short", "HEAD"]).unwrap_or_default();
    let dirty =
        git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    format!(
        "Run of {date} at {commit}{}.",
        if dirty {
            " with uncommitted changes"
        } else {
            ""
        }
    )
}

/// Why a train stage grows faster than its epochs: validation (before training and after each
/// epoch) ranks every val caption against every val image, O(N²·d) by the retrieval protocol
/// (a perf profile at N = 10,000 has a third of the samples in the f64 GEMM only retrieval
/// runs), and holds the val embeddings, O(N·d); an epoch is linear in its rows and flat above
/// `num_samples`. Sizes from the bench's dataset: val = a quarter of the N images and their 5
/// captions each, d = the reference's 1,280.
fn train_why(rows: &[Row]) -> String {
    let n = rows
        .iter()
        .filter(|r| r.stage.starts_with("train"))
        .flat_map(|r| r.ns.iter().copied())
        .max()
        .unwrap_or(0);
    let (images, captions) = (n / 4, 5 * n / 4);
    let mib = ((images + captions) * 1280 * 4) as f64 / (1u64 << 20) as f64;
    format!(
        "validation R@1 (before training and after each epoch) ranks every val caption against \
         every val image: O(N²·d) time by the protocol ({captions} x {images} x 1,280 at N = {n}) \
         and the val embeddings in memory, O(N·d) ({mib:.0} MiB of f32 at N = {n}); an epoch is \
         linear in its rows (flat above num_samples)"
    )
}

/// One of #17's goals: what it asks, what was measured, whether it holds (None: not measured),
/// and, where it does not, why (from the measurement where a cause is known).
struct Goal {
    what: String,
    measured: String,
    met: Option<bool>,
    why: String,
}

/// Why ingest's memory grows with N: it holds every record once, by definition of what it
/// checks (duplicate ids over the whole manifest, the exact split's image ids, the content
/// index of the files), so its peak is O(records). Stated with the measured cost per record
/// (N images and 5N captions), the slope between the smallest and the largest N.
fn ingest_why(rows: &[Row]) -> String {
    let r = rows.iter().find(|r| r.stage == "ingest");
    let ends = r.and_then(|r| {
        let ok: Vec<(usize, Cost)> =
            r.ns.iter()
                .zip(&r.costs)
                .filter(|(_, c)| c.seconds.is_finite())
                .map(|(&n, &c)| (n, c))
                .collect();
        Some((*ok.first()?, *ok.last()?)).filter(|(a, b)| b.0 > a.0)
    });
    let per_record = ends.map_or(String::new(), |((n0, c0), (n1, c1))| {
        let kib = (c1.anon_mib - c0.anon_mib) * 1024.0 / (6 * (n1 - n0)) as f64;
        format!(
            " ({kib:.2} KiB per record, {:.0} MiB at N = {n1})",
            c1.anon_mib
        )
    });
    format!(
        "memory O(records) by what ingest checks: duplicate ids over the whole manifest, the \
         exact split's image ids and the content index hold every record once{per_record}; \
         flat would need an external sort of the manifest"
    )
}

/// A row's cost at `n`, when it ran there and did not fail.
fn at(rows: &[Row], stage: &str, n: usize) -> Option<Cost> {
    let r = rows.iter().find(|r| r.stage == stage)?;
    let i = r.ns.iter().position(|&m| m == n)?;
    Some(r.costs[i]).filter(|c| c.seconds.is_finite())
}

/// The growth exponents of a row's time and peak anonymous memory, when it ran at two sizes or
/// more.
fn exponents(rows: &[Row], stage: &str) -> Option<(f64, f64)> {
    let r = rows.iter().find(|r| r.stage == stage)?;
    let (ns, costs): (Vec<usize>, Vec<Cost>) =
        r.ns.iter()
            .zip(&r.costs)
            .filter(|(_, c)| c.seconds.is_finite())
            .map(|(&n, &c)| (n, c))
            .unzip();
    (ns.len() >= 2).then(|| {
        let secs: Vec<f64> = costs.iter().map(|c| c.seconds).collect();
        let anon: Vec<f64> = costs.iter().map(|c| c.anon_mib).collect();
        (exponent(&ns, &secs), exponent(&ns, &anon))
    })
}

/// The exponents a stage linear in N with a flat peak may show: growth in time up to 1.15,
/// in memory up to 0.15 (the fit's noise over 1,000..30,000 on a shared machine).
const LINEAR: f64 = 1.15;
const FLAT: f64 = 0.15;

/// #17's goals against the measured rows.
fn goals(rows: &[Row]) -> String {
    let mut list = Vec::new();
    for stage in STAGES.iter().filter(|s| !s.starts_with("align")) {
        let e = exponents(rows, stage);
        let goal = if stage.starts_with("train") {
            "time linear in N, memory independent of N"
        } else {
            "time linear in N, memory flat"
        };
        list.push(Goal {
            what: format!("{stage}: {goal}"),
            measured: e.map_or("not measured".into(), |(t, m)| {
                format!("time ~ N^{t:.2}, anonymous RSS ~ N^{m:.2}")
            }),
            met: e.map(|(t, m)| t <= LINEAR && m <= FLAT),
            why: match e {
                Some((_, m)) if *stage == "ingest" && m > FLAT => ingest_why(rows),
                Some((t, m)) if stage.starts_with("train") && (t > LINEAR || m > FLAT) => {
                    train_why(rows)
                }
                Some((t, m)) if t > LINEAR || m > FLAT => {
                    "no known cause: see the stage's log under target/bench-scale".into()
                }
                _ => String::new(),
            },
        });
    }
    let every = "every metric, one pair (d = 1,280)";
    let c = at(rows, every, 30_000);
    list.push(Goal {
        what: "every metric at N = 30,000, d = 1,280: under 60 s and 2 GiB".into(),
        measured: c.map_or("not measured".into(), |c| {
            format!("{:.1} s, {:.0} MiB", c.seconds, c.peak_mib)
        }),
        met: c.map(|c| c.seconds < 60.0 && c.peak_mib < 2048.0),
        why: "no known cause: see target/bench-scale/metrics-30000.log".into(),
    });
    let c = at(rows, every, 100_000);
    list.push(Goal {
        what: "every metric at N = 100,000: minutes (under 10)".into(),
        measured: c.map_or("not measured".into(), |c| {
            format!("{:.1} s, {:.0} MiB", c.seconds, c.peak_mib)
        }),
        met: c.map(|c| c.seconds < 600.0),
        why: "no known cause: see target/bench-scale/metrics-100000.log".into(),
    });
    let mut s = String::from("| goal (#17) | measured | met | why not |\n|---|---|---|---|\n");
    for g in list {
        let met = match g.met {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "not measured",
        };
        let why = if g.met == Some(false) {
            g.why.as_str()
        } else {
            ""
        };
        let _ = writeln!(s, "| {} | {} | {met} | {why} |", g.what, g.measured);
    }
    s
}

/// Replaces what lies between docs/benchmarks.md's bench-scale markers with `section`.
fn splice_into_benchmarks(path: &Path, section: &str) -> anyhow::Result<()> {
    const BEGIN: &str = "<!-- bench-scale:begin (written by `make bench-scale`) -->";
    const END: &str = "<!-- bench-scale:end -->";
    let text = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
    let (Some(b), Some(e)) = (text.find(BEGIN), text.find(END)) else {
        bail!("{} lacks the markers `{BEGIN}` and `{END}`", path.display());
    };
    let spliced = format!(
        "{}{BEGIN}\n{section}\n![time and peak RSS against N](scaling.svg)\n{}",
        &text[..b],
        &text[e..]
    );
    std::fs::write(path, spliced).with_context(|| path.display().to_string())
}
