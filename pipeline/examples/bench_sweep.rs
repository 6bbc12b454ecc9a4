//! `make bench` (sweep part), in two halves.
//!
//! 1. A 100-member sweep of the toy stages (`pipeline-toy`, built by `make bench` first), whose
//!    stages take microseconds, so the wall time per member is the engine's own cost: expanding
//!    and keying 100 member graphs, locking, building in a temporary folder, hashing outputs,
//!    writing manifests, renaming, and the compare stage. Goal: under 50 ms of engine time per
//!    member. Also: the same sweep at `-j 2`, a no-op rerun, and that every member was built
//!    exactly once.
//! 2. A 100-member linear sweep of the real experiment (`pipeline`, on the embedded models and
//!    data `make setup` installs; 5 learning rates x 20 seeds) with cheap settings: align's
//!    bootstrap and permutations at 100, 400 pairs, a 200 + 100 image probe set. The features
//!    are built first (shared by every member); then the sweep at `-j 1`: wall time per member,
//!    the engine's share (the sweep's wall time less what the stages' manifests say their
//!    builds took), peak RSS, and that each member's train, align and probe ran exactly once.
//!    `BENCH_SWEEP_MEMBERS_REAL` (a multiple of 5) resizes it; 0 skips it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const MEMBERS: usize = 100;

fn toy() -> PathBuf {
    // target/debug/examples/bench_sweep -> target/debug/pipeline-toy
    let exe = std::env::current_exe().expect("the bench's own path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/examples");
    dir.join("pipeline-toy")
}

/// Runs `pipeline-toy sweep big -j jobs` in `dir`; returns the wall seconds.
fn sweep(dir: &Path, jobs: usize) -> anyhow::Result<f64> {
    let clock = Instant::now();
    let out = Command::new(toy())
        .args(["sweep", "big", "-j", &jobs.to_string()])
        .current_dir(dir)
        .env("TOY_RUN_LOG", dir.join("runs.log"))
        .output()?;
    let secs = clock.elapsed().as_secs_f64();
    anyhow::ensure!(
        out.status.success(),
        "pipeline-toy sweep failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(secs)
}

fn project() -> anyhow::Result<tempfile::TempDir> {
    let dir = tempfile::tempdir()?;
    let lrs: Vec<String> = (1..=MEMBERS / 4)
        .map(|i| format!("{}", i as f64 / 1000.0))
        .collect();
    std::fs::write(
        dir.path().join("pipeline.toml"),
        format!(
            "[train.a]\n\n[sweep.big]\nbase = \"a\"\ngrid = {{ lr = [{}] }}\nseeds = [0, 1, 2, 3]\n",
            lrs.join(", ")
        ),
    )?;
    std::fs::write(dir.path().join("input.txt"), "hello")?;
    Ok(dir)
}

/// Builds per stage from the run log (each stage that runs appends its name).
fn builds(dir: &Path) -> anyhow::Result<std::collections::BTreeMap<String, usize>> {
    let mut out = std::collections::BTreeMap::new();
    for line in std::fs::read_to_string(dir.join("runs.log"))?.lines() {
        *out.entry(line.to_string()).or_insert(0) += 1;
    }
    Ok(out)
}

#[allow(unsafe_code)]
fn peak_rss_mib() -> f64 {
    // SAFETY: getrusage writes into the zeroed struct we own; RUSAGE_CHILDREN is valid.
    let usage = unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut u);
        u
    };
    usage.ru_maxrss as f64 / 1024.0
}

/// The real experiment's binary, beside this example's folder.
fn pipeline() -> PathBuf {
    toy().with_file_name("pipeline")
}

/// A project on the checkout's embedded models and data, with `members` linear members.
fn real_project(members: usize) -> anyhow::Result<tempfile::TempDir> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the checkout")
        .to_path_buf();
    anyhow::ensure!(
        repo.join("data/models/efficientnet_lite0.onnx").is_file(),
        "run `make setup` first"
    );
    let r = repo.display();
    let seeds: Vec<String> = (0..members / 5).map(|s| s.to_string()).collect();
    let dir = tempfile::tempdir()?;
    std::fs::write(
        dir.path().join("pipeline.toml"),
        format!(
            "[dataset]\npath = \"{r}/data/datasets/tuxpaint\"\nnum_samples = 400\n\
             [encoders.image]\nonnx = \"{r}/data/models/efficientnet_lite0.onnx\"\n\
             [encoders.text]\nonnx = \"{r}/data/models/minilm_l6_v2.onnx\"\n\
             tokenizer = \"{r}/data/models/minilm_l6_v2.tokenizer.json\"\n\
             [encoders.reference]\nonnx = \"{r}/data/models/dinov2_vits14.onnx\"\n\
             [probe_dataset]\npath = \"{r}/data/datasets/fashion-mnist\"\n\
             train_samples = 200\ntest_samples = 100\n\
             [probe]\nprobe_train_samples = 200\nprobe_test_samples = 100\n\
             [align]\nbootstrap = 100\npermutations = 100\ncostly_resamples = 100\n\
             [report]\nfont = \"{r}/data/fonts/DejaVuSans.ttf\"\n\
             font_bold = \"{r}/data/fonts/DejaVuSans-Bold.ttf\"\n\
             [train.linear]\n\n\
             [sweep.bench]\nbase = \"linear\"\n\
             grid = {{ lr = [1e-4, 2e-4, 3e-4, 4e-4, 5e-4] }}\nseeds = [{}]\n",
            seeds.join(", ")
        ),
    )?;
    Ok(dir)
}

/// Runs the real `pipeline` in `dir`; returns (stdout, wall seconds).
fn real(dir: &Path, args: &[&str]) -> anyhow::Result<(String, f64)> {
    let clock = Instant::now();
    let out = Command::new(pipeline())
        .args(args)
        .current_dir(dir)
        .output()?;
    let secs = clock.elapsed().as_secs_f64();
    anyhow::ensure!(
        out.status.success(),
        "pipeline {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok((String::from_utf8_lossy(&out.stdout).to_string(), secs))
}

/// The build seconds the manifests under `artifacts/<stage dir>` record, summed.
fn built_seconds(dir: &Path, stage_dirs: &[&str]) -> anyhow::Result<f64> {
    let mut total = 0.0;
    for stage in stage_dirs {
        let Ok(entries) = std::fs::read_dir(dir.join("artifacts").join(stage)) else {
            continue;
        };
        for e in entries.flatten() {
            let Ok(bytes) = std::fs::read(e.path().join("manifest.json")) else {
                continue;
            };
            let m: serde_json::Value = serde_json::from_slice(&bytes)?;
            total += m["wall_s"].as_f64().unwrap_or(0.0);
        }
    }
    Ok(total)
}

fn real_sweep(members: usize) -> anyhow::Result<()> {
    anyhow::ensure!(
        members.is_multiple_of(5),
        "BENCH_SWEEP_MEMBERS_REAL must be a multiple of 5"
    );
    anyhow::ensure!(
        pipeline().is_file(),
        "{} missing: build it first (`cargo build -p pipeline`)",
        pipeline().display()
    );
    let p = real_project(members)?;
    // Every features:* stage, the probe set's too: what all members share.
    let (_, features) = real(p.path(), &["run", "--stage", "features"])?;
    let (out, wall) = real(p.path(), &["sweep", "bench", "-j", "1"])?;
    let stages = [
        "train.linear",
        "align.linear",
        "probe.linear",
        "compare.bench",
    ];
    let per_stage: Vec<f64> = stages
        .iter()
        .map(|s| built_seconds(p.path(), &[s]))
        .collect::<anyhow::Result<_>>()?;
    let stage_secs: f64 = per_stage.iter().sum();
    let ran = |stage: &str| {
        out.lines()
            .filter(|l| l.split_whitespace().take(2).eq(["ran", stage]))
            .count()
    };
    let once = ["train:linear", "align:linear", "probe:linear"]
        .iter()
        .all(|s| ran(s) == members)
        && ran("compare:bench") == 1;
    let (_, noop) = real(p.path(), &["sweep", "bench", "-j", "1"])?;
    let per_member = wall / members as f64;
    let engine = (wall - stage_secs) / members as f64 * 1e3;
    println!(
        "sweep: {members} linear members of the real experiment (400 pairs, bootstrap and \
         permutations 100; features built first, {features:.1} s)"
    );
    println!(
        "  build, -j 1:        {wall:8.2} s  {per_member:6.2} s per member; the stages' own builds \
         {stage_secs:.1} s"
    );
    println!(
        "  per member:         train {:.2} s, align {:.2} s, probe {:.2} s; compare {:.2} s once",
        per_stage[0] / members as f64,
        per_stage[1] / members as f64,
        per_stage[2] / members as f64,
        per_stage[3]
    );
    println!(
        "  engine per member:  {engine:8.1} ms   goal < 50 ms: {}",
        if engine < 50.0 { "met" } else { "NOT MET" }
    );
    println!(
        "  no-op rerun:        {noop:8.2} s  {:6.1} ms per member",
        noop / members as f64 * 1e3
    );
    println!("  peak RSS (any run so far): {:8.1} MiB", peak_rss_mib());
    println!(
        "  every member's train, align and probe ran once: {}",
        if once { "yes" } else { "NO" }
    );
    anyhow::ensure!(once, "sweep output:\n{out}");
    Ok(())
}

fn main() -> anyhow::Result<()> {
    anyhow::ensure!(
        toy().is_file(),
        "{} missing: build it first (`cargo build -p pipeline --bin pipeline-toy`)",
        toy().display()
    );
    let one = project()?;
    let serial = sweep(one.path(), 1)?;
    let counts = builds(one.path())?;
    let once = counts.get("train:a") == Some(&MEMBERS)
        && counts.get("score:a") == Some(&MEMBERS)
        && counts.get("source") == Some(&1)
        && counts.get("upper") == Some(&1);
    let noop = sweep(one.path(), 1)?;
    let two = project()?;
    let parallel = sweep(two.path(), 2)?;
    let per_member = serial / MEMBERS as f64 * 1e3;
    println!(
        "sweep: {MEMBERS} members of the toy stages (2 artifacts each, plus the shared upstream \
         and compare)"
    );
    println!(
        "  build, -j 1:        {serial:8.2} s  {per_member:6.1} ms per member of engine time   goal < 50 ms: {}",
        if per_member < 50.0 { "met" } else { "NOT MET" }
    );
    println!(
        "  build, -j 2:        {parallel:8.2} s  ratio to -j 1: {:.2}",
        parallel / serial
    );
    println!(
        "  no-op rerun:        {noop:8.2} s  {:6.1} ms per member (expand, key, look up)",
        noop / MEMBERS as f64 * 1e3
    );
    println!("  peak RSS:           {:8.1} MiB", peak_rss_mib());
    println!(
        "  every member built once: {}",
        if once { "yes" } else { "NO" }
    );
    anyhow::ensure!(once, "builds per stage: {counts:?}");
    let members: usize = std::env::var("BENCH_SWEEP_MEMBERS_REAL")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(MEMBERS);
    if members > 0 {
        real_sweep(members)?;
    }
    Ok(())
}
