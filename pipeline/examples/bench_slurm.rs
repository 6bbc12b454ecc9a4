//! `make bench` (Slurm part): `features:image` (EfficientNet-Lite0, seconds) and
//! `features:reference` (DINOv2-S/14, a minute) of the embedded default as N = 1, 2 and 4 shards
//! through the local one-node Slurm (`scripts/slurm-local`, started here), against one local
//! `pipeline run` of the same stage in the same command.
//!
//! Per N: the wall time from `pipeline submit` to the last job's end, its ratio to the local
//! run, the mean time of a shard's build, the assembly's time and its share of the extraction
//! (the shards' summed build time), and the scheduler's overhead: the wall time less the span in
//! which shards were building and less the assembly. On one 2-core node more shards only add
//! overhead (two tasks at a time share the cores); what scales with nodes is the per-shard time,
//! which falls as 1/N. Goals: assembly under 2% of the extraction; 2 shards within 1.15x of one
//! local process. The assembled artifact must have the local run's key and bytes.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .to_path_buf()
}

fn pipeline() -> PathBuf {
    let exe = std::env::current_exe().expect("the bench's own path");
    exe.parent()
        .and_then(Path::parent)
        .expect("target/<profile>/examples")
        .join("pipeline")
}

/// A project on the embedded default (the repository's data and models).
fn project() -> anyhow::Result<tempfile::TempDir> {
    let dir = tempfile::tempdir()?;
    let r = repo();
    let r = r.display();
    std::fs::write(
        dir.path().join("pipeline.toml"),
        format!(
            "[dataset]\npath = \"{r}/data/datasets/tuxpaint\"\n\
             [encoders.image]\nonnx = \"{r}/data/models/efficientnet_lite0.onnx\"\n\
             [encoders.text]\nonnx = \"{r}/data/models/minilm_l6_v2.onnx\"\n\
             tokenizer = \"{r}/data/models/minilm_l6_v2.tokenizer.json\"\n\
             [encoders.reference]\nonnx = \"{r}/data/models/dinov2_vits14.onnx\"\n"
        ),
    )?;
    Ok(dir)
}

fn run(dir: &Path, args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new(pipeline())
        .args(args)
        .current_dir(dir)
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "pipeline {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).to_string())
}

/// Seconds since the epoch of a manifest's RFC 3339 time (`2026-12-01T11:04:28.123Z`).
fn epoch(t: &str) -> f64 {
    if t.len() < 20 {
        return f64::NAN;
    }
    let n = |a: usize, b: usize| t.get(a..b).and_then(|s| s.parse::<i64>().ok()).unwrap_or(0);
    let (y, m, d) = (n(0, 4), n(5, 7), n(8, 10));
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs: f64 = t
        .get(17..t.len() - 1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0.0);
    (days * 86_400 + n(11, 13) * 3600 + n(14, 16) * 60) as f64 + secs
}

struct Built {
    started: f64,
    finished: f64,
    wall: f64,
}

fn manifest(dir: &Path) -> anyhow::Result<Built> {
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("manifest.json"))?)?;
    Ok(Built {
        started: epoch(m["started"].as_str().unwrap_or_default()),
        finished: epoch(m["finished"].as_str().unwrap_or_default()),
        wall: m["wall_s"].as_f64().unwrap_or(0.0),
    })
}

/// Every file of the artifact at `dir` but its manifest.
fn files(dir: &Path) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir)?.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if name != "manifest.json" {
            out.push((name, std::fs::read(e.path())?));
        }
    }
    out.sort();
    Ok(out)
}

fn wait(ids: &[String]) -> anyhow::Result<()> {
    let start = Instant::now();
    loop {
        let out = Command::new("squeue")
            .args(["-h", "-o", "%i", "-j", &ids.join(",")])
            .output()?;
        let forgotten = String::from_utf8_lossy(&out.stderr).contains("Invalid job id");
        if forgotten || (out.status.success() && out.stdout.iter().all(u8::is_ascii_whitespace)) {
            return Ok(());
        }
        anyhow::ensure!(
            start.elapsed() < Duration::from_secs(3600),
            "jobs still queued"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn main() -> anyhow::Result<()> {
    let started = Command::new(repo().join("scripts/slurm-local"))
        .arg("start")
        .status()?;
    anyhow::ensure!(
        started.success(),
        "bench_slurm needs the local Slurm cluster (scripts/slurm-local start, as root)"
    );
    for stage in ["features:image", "features:reference"] {
        bench(stage)?;
    }
    Ok(())
}

/// One stage: the local run, then N = 1, 2, 4 through Slurm; prints the table and the goals.
fn bench(stage: &str) -> anyhow::Result<()> {
    let local = project()?;
    run(local.path(), &["run", "--stage", "ingest"])?;
    let clock = Instant::now();
    run(local.path(), &["run", "--stage", stage])?;
    let local_secs = clock.elapsed().as_secs_f64();
    let local_dir = PathBuf::from(run(local.path(), &["show", stage])?.trim());
    let expected = files(&local_dir)?;
    println!(
        "bench_slurm: {stage} of the embedded default, one local process vs N shards through the local Slurm"
    );
    println!(
        "  local: {local_secs:.1} s (the stage's build {:.1} s)",
        manifest(&local_dir)?.wall
    );
    println!(
        "  {:>2}  {:>8}  {:>9}  {:>12}  {:>10}  {:>11}  {:>9}",
        "N", "wall s", "vs local", "per shard s", "assembly s", "of extract", "sched s"
    );
    let mut ratio_2 = f64::NAN;
    let mut worst_share: f64 = 0.0;
    for n in [1usize, 2, 4] {
        let p = project()?;
        run(p.path(), &["run", "--stage", "ingest"])?;
        let clock = Instant::now();
        let out = run(
            p.path(),
            &["submit", "--stage", stage, "--shards", &n.to_string()],
        )?;
        let ids: Vec<String> = out
            .lines()
            .filter_map(|l| l.split(": job ").nth(1))
            .filter_map(|r| r.split_whitespace().next())
            .map(str::to_string)
            .collect();
        wait(&ids)?;
        let wall = clock.elapsed().as_secs_f64();
        let dir = PathBuf::from(run(p.path(), &["show", stage])?.trim());
        anyhow::ensure!(
            dir.file_name() == local_dir.file_name() && files(&dir)? == expected,
            "N = {n}: the cluster's artifact is not the local run's"
        );
        let whole = manifest(&dir)?;
        let shard_dir = p
            .path()
            .join("artifacts")
            .join(format!("{}.shard", stage.replace(':', ".")));
        let shards: Vec<Built> = std::fs::read_dir(&shard_dir)
            .map(|d| {
                d.flatten()
                    .filter_map(|e| manifest(&e.path()).ok())
                    .collect()
            })
            .unwrap_or_default();
        // N = 1 is one job: its one build is the extraction, and there is no assembly.
        let (extract, span, assembly) = if shards.is_empty() {
            (whole.wall, whole.wall, 0.0)
        } else {
            let first = shards.iter().map(|s| s.started).fold(f64::MAX, f64::min);
            let last = shards.iter().map(|s| s.finished).fold(f64::MIN, f64::max);
            (
                shards.iter().map(|s| s.wall).sum::<f64>(),
                last - first,
                whole.finished - whole.started,
            )
        };
        let per_shard = extract / shards.len().max(1) as f64;
        let share = assembly / extract;
        worst_share = worst_share.max(share);
        if n == 2 {
            ratio_2 = wall / local_secs;
        }
        println!(
            "  {n:>2}  {wall:>8.1}  {:>8.2}x  {per_shard:>12.1}  {assembly:>10.2}  {:>10.2}%  {:>9.1}",
            wall / local_secs,
            share * 100.0,
            wall - span - assembly
        );
    }
    println!(
        "  goals: assembly under 2% of the extraction: {:.2}% ({}); 2 shards within 1.15x of one local process: {ratio_2:.2}x ({})",
        worst_share * 100.0,
        if worst_share < 0.02 { "met" } else { "NOT met" },
        if ratio_2 <= 1.15 { "met" } else { "NOT met" }
    );
    Ok(())
}
