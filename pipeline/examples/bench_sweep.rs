//! `make bench` (sweep part): a 100-member sweep of the toy stages (`pipeline-toy`, built by
//! `make bench` first), whose stages take microseconds, so the wall time per member is the
//! engine's own cost: expanding and keying 100 member graphs, locking, building in a temporary
//! folder, hashing outputs, writing manifests, renaming, and the compare stage. Goal: under
//! 50 ms of engine time per member. Also: the same sweep at `-j 2`, a no-op rerun, the peak RSS,
//! and that every member was built exactly once.

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
    Ok(())
}
