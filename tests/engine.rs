//! The stage engine end to end: the real `pipeline` CLI over toy stages (`pipeline-toy`)
//! in a temporary project folder. Each stage that runs appends its name to a log, so every test
//! asserts exactly which stages ran.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime};

pub(crate) struct Toy {
    dir: tempfile::TempDir,
}

fn toy_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_pipeline-toy"))
}

impl Toy {
    pub(crate) fn new(config: &str) -> Toy {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pipeline.toml"), config).unwrap();
        std::fs::write(dir.path().join("input.txt"), "hello").unwrap();
        Toy { dir }
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    pub(crate) fn log(&self) -> PathBuf {
        self.path().join("runs.log")
    }

    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(toy_binary());
        c.args(args)
            .current_dir(self.path())
            .env("TOY_RUN_LOG", self.log())
            .env("TOY_SPAN_LOG", self.path().join("spans.log"))
            .env_remove("TOY_UPPER_VERSION");
        c
    }

    pub(crate) fn run_with(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut c = self.command(args);
        for (k, v) in env {
            c.env(k, v);
        }
        c.output().unwrap()
    }

    pub(crate) fn ok(&self, args: &[&str]) -> String {
        let out = self.run_with(args, &[]);
        assert!(
            out.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// The stages that ran since the last call (and clears the log).
    pub(crate) fn ran(&self) -> BTreeSet<String> {
        let text = std::fs::read_to_string(self.log()).unwrap_or_default();
        let _ = std::fs::remove_file(self.log());
        text.lines().map(str::to_string).collect()
    }

    /// Runs count per stage since the last call, without deduplication.
    pub(crate) fn ran_list(&self) -> Vec<String> {
        let text = std::fs::read_to_string(self.log()).unwrap_or_default();
        let _ = std::fs::remove_file(self.log());
        let mut v: Vec<String> = text.lines().map(str::to_string).collect();
        v.sort();
        v
    }
}

pub(crate) fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

const ALL: &[&str] = &["source", "upper", "side", "slow", "report"];

#[test]
fn invalidation_matrix() {
    let t = Toy::new("[upper]\nsuffix = \"!\"\n");
    t.ok(&["run"]);
    assert_eq!(t.ran(), set(ALL));

    // Nothing changed: nothing runs, and the CLI says so.
    let out = t.ok(&["run"]);
    assert!(out.contains("nothing to do: 5 stages fresh"), "{out}");
    assert_eq!(t.ran(), set(&[]));

    // A parameter: that stage and what is downstream of it.
    std::fs::write(t.path().join("pipeline.toml"), "[upper]\nsuffix = \"?\"\n").unwrap();
    t.ok(&["run"]);
    assert_eq!(t.ran(), set(&["upper", "slow", "report"]));

    // A parameter of a stage on the other branch.
    t.ok(&["run", "--set", "side.repeat=3"]);
    assert_eq!(t.ran(), set(&["side", "report"]));
    t.ok(&["run", "--set", "side.repeat=3"]);
    assert_eq!(t.ran(), set(&[]));

    // An upstream parameter: everything below it.
    t.ok(&["run", "--set", "side.repeat=3", "--set", "source.trim=true"]);
    assert_eq!(t.ran(), set(ALL));

    // External file touched without change: nothing.
    let input = t.path().join("input.txt");
    let f = std::fs::File::options().write(true).open(&input).unwrap();
    f.set_modified(SystemTime::now() + Duration::from_secs(5))
        .unwrap();
    drop(f);
    t.ok(&["run", "--set", "side.repeat=3", "--set", "source.trim=true"]);
    assert_eq!(t.ran(), set(&[]));

    // External file bytes: everything that reads it, directly or not.
    std::fs::write(&input, "world").unwrap();
    t.ok(&["run", "--set", "side.repeat=3", "--set", "source.trim=true"]);
    assert_eq!(t.ran(), set(ALL));

    // A stage version: that stage and what is downstream.
    let out = t.run_with(
        &["run", "--set", "side.repeat=3", "--set", "source.trim=true"],
        &[("TOY_UPPER_VERSION", "2")],
    );
    assert!(out.status.success());
    assert_eq!(t.ran(), set(&["upper", "slow", "report"]));

    // Going back to an earlier configuration reuses its artifacts.
    std::fs::write(&input, "hello").unwrap();
    std::fs::write(t.path().join("pipeline.toml"), "[upper]\nsuffix = \"!\"\n").unwrap();
    let out = t.ok(&["run"]);
    assert!(out.contains("nothing to do"), "{out}");
}

#[test]
fn stage_selection_runs_only_what_is_needed() {
    let t = Toy::new("");
    t.ok(&["run", "--stage", "upper"]);
    assert_eq!(t.ran(), set(&["source", "upper"]));
    t.ok(&["run", "--stage", "upper", "--force"]);
    assert_eq!(
        t.ran(),
        set(&["upper"]),
        "--force rebuilds the target, reuses its inputs"
    );
    let out = t.ok(&["show", "upper"]);
    let dir = PathBuf::from(out.trim());
    assert_eq!(
        std::fs::read_to_string(dir.join("upper.txt")).unwrap(),
        "HELLO!"
    );
    assert!(dir.join("manifest.json").is_file());
    let not_built = t.run_with(&["show", "report"], &[]);
    assert_eq!(not_built.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&not_built.stderr).contains("report is not built"));
}

#[test]
fn status_explains_staleness() {
    let t = Toy::new("[upper]\nsuffix = \"!\"\n");
    let out = t.ok(&["status"]);
    assert!(out.lines().all(|l| l.starts_with("missing")), "{out}");
    t.ok(&["run"]);
    let out = t.ok(&["status"]);
    assert!(out.lines().all(|l| l.starts_with("fresh")), "{out}");
    std::fs::write(t.path().join("pipeline.toml"), "[upper]\nsuffix = \"?\"\n").unwrap();
    std::fs::write(t.path().join("input.txt"), "changed").unwrap();
    let out = t.ok(&["status"]);
    let line = |stage: &str| {
        out.lines()
            .find(|l| l.split_whitespace().nth(1) == Some(stage))
            .unwrap()
            .to_string()
    };
    assert!(
        line("source").starts_with("stale") && line("source").contains("input.txt changed"),
        "{out}"
    );
    assert!(
        line("upper").contains("param suffix \"!\" -> \"?\""),
        "{out}"
    );
    assert!(line("report").contains("input slow changed"), "{out}");
    let out = t.run_with(&["status", "--json"], &[("TOY_UPPER_VERSION", "7")]);
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let upper = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["stage"] == "upper")
        .unwrap();
    assert_eq!(upper["state"], "stale");
    let reasons: Vec<&str> = upper["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert!(reasons.contains(&"stage version 1 -> 7"), "{reasons:?}");
}

fn wait_for(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn temp_dirs(stage_dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(stage_dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .unwrap()
                        .to_string_lossy()
                        .starts_with(".tmp-")
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn kill_9_mid_write_leaves_nothing_trusted() {
    let t = Toy::new("[slow]\nsleep_ms = 50\nchunks = 40\n");
    let mut child = t
        .command(&["run"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let slow_dir = t.path().join("artifacts").join("slow");
    wait_for("slow to start writing", Duration::from_secs(30), || {
        temp_dirs(&slow_dir)
            .iter()
            .any(|d| d.join("started").exists())
    });
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // The half-written output exists only as a temp folder; no artifact claims it.
    let artifacts: Vec<PathBuf> = std::fs::read_dir(&slow_dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    assert!(artifacts.is_empty(), "{artifacts:?}");
    let status = t.ok(&["status"]);
    assert!(
        status
            .lines()
            .any(|l| l.starts_with("missing") && l.contains("slow")),
        "{status}"
    );
    assert!(
        t.ok(&["verify"]).contains("leftover"),
        "the dead run's temp folder is named"
    );
    t.ran();
    // The next run is not blocked by the dead run's lock, completes, and verifies.
    let out = t.ok(&["run"]);
    assert!(out.contains("ran     slow"), "{out}");
    assert_eq!(t.ran(), set(&["slow", "report"]));
    assert!(
        temp_dirs(&slow_dir).is_empty(),
        "leftovers are cleaned when the key is rebuilt"
    );
    let verify = t.run_with(&["verify"], &[]);
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
}

#[test]
fn concurrent_runs_build_each_artifact_once() {
    let t = Toy::new("[slow]\nsleep_ms = 100\nchunks = 5\n");
    let a = t.command(&["run"]).stdout(Stdio::piped()).spawn().unwrap();
    let b = t.command(&["run"]).stdout(Stdio::piped()).spawn().unwrap();
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(a.status.success() && b.status.success());
    assert_eq!(t.ran_list(), {
        let mut v: Vec<String> = ALL.iter().map(|s| s.to_string()).collect();
        v.sort();
        v
    });
    let both = String::from_utf8_lossy(&a.stdout).to_string() + &String::from_utf8_lossy(&b.stdout);
    assert!(
        both.contains("reused"),
        "the second run reused what the first built:\n{both}"
    );
    assert!(t.run_with(&["verify"], &[]).status.success());
}

#[test]
fn verify_finds_tampering_and_repair_rebuilds_only_that() {
    let t = Toy::new("");
    t.ok(&["run"]);
    t.ran();
    let dir = PathBuf::from(t.ok(&["show", "side"]).trim());
    std::fs::write(dir.join("side.txt"), "tampered!!").unwrap();
    let out = t.run_with(&["verify"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("side.txt"), "{text}");
    assert!(text.contains("1 broken"), "{text}");
    t.ok(&["verify", "--repair"]);
    t.ok(&["run"]);
    assert_eq!(
        t.ran(),
        set(&["side"]),
        "report's key does not change: it is reused"
    );
    assert!(t.ok(&["verify"]).contains("0 broken"));
}

#[test]
fn gc_keeps_what_the_config_reaches() {
    let t = Toy::new("");
    t.ok(&["run"]);
    t.ok(&["run", "--set", "upper.suffix=x"]);
    let dry = t.ok(&["gc", "--dry-run"]);
    assert!(dry.contains("would remove 3"), "{dry}");
    let out = t.ok(&["gc"]);
    assert!(out.contains("kept 5, removed 3"), "{out}");
    t.ran();
    assert!(t.ok(&["run"]).contains("nothing to do"));
    t.ok(&["run", "--set", "upper.suffix=x"]);
    assert_eq!(
        t.ran(),
        set(&["upper", "slow", "report"]),
        "collected artifacts are rebuilt"
    );
}

/// The most builds of one stage that were running at the same time, from the span log.
fn max_concurrent(t: &Toy, stage: &str) -> usize {
    let text = std::fs::read_to_string(t.path().join("spans.log")).unwrap_or_default();
    let (mut now, mut most) = (0usize, 0usize);
    for line in text.lines() {
        match line.split_once(' ') {
            Some(("start", s)) if s == stage => {
                now += 1;
                most = most.max(now);
            }
            Some(("end", s)) if s == stage => now = now.saturating_sub(1),
            _ => {}
        }
    }
    most
}

#[test]
fn gc_leaves_a_locked_key_alone_and_a_racing_run_keeps_its_exclusion() {
    let t = Toy::new("[slow]\nsleep_ms = 100\nchunks = 20\n");
    t.ok(&["run"]);
    // A rebuilds `slow` and holds its key's lock for ~2 s.
    let a = t
        .command(&["run", "--stage", "slow", "--force"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let slow_dir = t.path().join("artifacts").join("slow");
    wait_for("A to start building slow", Duration::from_secs(30), || {
        temp_dirs(&slow_dir)
            .iter()
            .any(|d| d.join("started").exists())
    });
    // gc under a config that no longer reaches slow's artifact: its key is locked, so it stays.
    let gc = t.ok(&["gc", "--set", "upper.suffix=x"]);
    assert!(gc.contains("another run holds its lock"), "{gc}");
    // B builds the same key while A still holds it: it must wait for A, not build beside it.
    let b = t
        .command(&["run", "--stage", "slow", "--force"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(a.status.success() && b.status.success());
    assert!(
        String::from_utf8_lossy(&b.stdout).contains("waiting for another pipeline run"),
        "B waited for A's lock"
    );
    assert_eq!(
        max_concurrent(&t, "slow"),
        1,
        "two builds of one key overlapped"
    );
    assert!(t.run_with(&["verify"], &[]).status.success());
}

#[test]
fn configuration_errors_exit_2_and_say_what_to_fix() {
    let t = Toy::new("[upper\nsuffix = 1\n");
    let out = t.run_with(&["run"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("pipeline.toml") && err.contains("invalid TOML"),
        "{err}"
    );

    let t = Toy::new("");
    let out = t.run_with(&["run", "--stage", "nope"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown stage `nope`") && err.contains("source, upper"),
        "{err}"
    );

    let out = t.run_with(&["run", "--set", "upper.sufix=1"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown --set key `upper.sufix`") && err.contains("upper.suffix"),
        "{err}"
    );

    let out = t.run_with(&["run", "--set", "upper.suffix=3"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("`upper.suffix` = 3 (--set): invalid type: integer `3`, expected a string"),
        "{err}"
    );

    let out = t.run_with(&["frobnicate"], &[]);
    assert_eq!(out.status.code(), Some(2));

    std::fs::remove_file(t.path().join("input.txt")).unwrap();
    let out = t.run_with(&["run"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("input.txt does not exist"));
}

/// A tmpfs mounted at `dir` for one test (these machines run tests as root), unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Tmpfs {
        let uid = Command::new("id").arg("-u").output().unwrap();
        assert_eq!(
            String::from_utf8_lossy(&uid.stdout).trim(),
            "0",
            "the full-disk test mounts a small tmpfs and needs root (CI runs as root)"
        );
        std::fs::create_dir_all(dir).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "mount tmpfs: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Tmpfs(dir.to_path_buf())
    }

    fn resize(&self, size: &str) {
        let ok = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.0)
            .status()
            .unwrap()
            .success();
        assert!(ok, "remount");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_fails_the_stage_cleanly_and_the_next_run_with_space_succeeds() {
    // `slow` writes ~20 MiB; the artifacts folder is a 4 MiB tmpfs.
    let t = Toy::new("[slow]\nchunks = 3000\n");
    let disk = Tmpfs::mount(&t.path().join("artifacts"), "4m");
    let out = t.run_with(&["run"], &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("stage slow failed: no space left on the device holding")
            && err.contains("artifacts/slow/")
            && err.contains("MiB free")
            && err.contains("Free at least that much more"),
        "{err}"
    );
    let slow_dir = t.path().join("artifacts").join("slow");
    assert!(
        temp_dirs(&slow_dir).is_empty(),
        "no temporary folder is left"
    );
    let status = t.ok(&["status"]);
    assert!(
        status
            .lines()
            .any(|l| l.starts_with("missing") && l.contains("slow")),
        "no trusted artifact: {status}"
    );
    t.ran();
    disk.resize("64m");
    t.ok(&["run"]);
    assert_eq!(t.ran(), set(&["slow", "report"]), "only what was missing");
    assert!(t.run_with(&["verify"], &[]).status.success());
}

/// The soak: `SOAK_RUNS` runs (default 200; `make soak` runs 2,000), two at a time, each changing
/// random parameters with `--set` and either killed (SIGKILL) at a random moment or let finish.
/// Afterwards `gc` keeps exactly what the configuration reaches and leaves no temporary folder
/// and no unused lock file, `verify` is clean, and a final run rebuilds only what is missing.
#[test]
fn soak_of_killed_and_finished_runs_leaves_a_clean_store() {
    let runs: usize = std::env::var("SOAK_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    let t = Toy::new("[slow]\nsleep_ms = 40\nchunks = 3\n");
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n
    };
    let (mut killed, mut finished) = (0usize, 0usize);
    for _ in 0..runs.div_ceil(2) {
        let mut pair = Vec::new();
        for _ in 0..2 {
            let sets = [
                format!("upper.suffix=s{}", next(1000)),
                format!("side.repeat={}", 1 + next(3)),
                format!("slow.chunks={}", 1 + next(5)),
                format!("source.trim={}", next(2) == 1),
            ];
            let mut args = vec!["run".to_string()];
            for s in sets.iter().take(1 + next(4) as usize) {
                args.extend(["--set".to_string(), s.clone()]);
            }
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let child = t
                .command(&args)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let kill_after = (next(2) == 0).then(|| Duration::from_millis(next(200)));
            pair.push((child, kill_after, Instant::now()));
        }
        // Both run at once; each is killed at its moment if it is still running then.
        while !pair.is_empty() {
            let mut still = Vec::new();
            for (mut child, kill_after, started) in pair {
                if child.try_wait().unwrap().is_some() {
                    let out = child.wait_with_output().unwrap();
                    assert!(
                        out.status.success(),
                        "a run that was not killed failed: {}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                    finished += 1;
                } else if kill_after.is_some_and(|k| started.elapsed() >= k) {
                    child.kill().unwrap();
                    child.wait().unwrap();
                    killed += 1;
                } else {
                    still.push((child, kill_after, started));
                }
            }
            pair = still;
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    t.ran();
    // The configuration after the soak: one value no soak run used, so some stages are missing.
    let last = ["--set", "side.repeat=7"];
    let gc = t.ok(&[&["gc"][..], &last[..]].concat());
    let artifacts = t.path().join("artifacts");
    let mut on_disk = BTreeSet::new();
    let mut leftovers = Vec::new();
    for stage in std::fs::read_dir(&artifacts).unwrap().flatten() {
        let name = stage.file_name().to_string_lossy().to_string();
        if name.starts_with('.') {
            continue;
        }
        for e in std::fs::read_dir(stage.path()).unwrap().flatten() {
            let key = e.file_name().to_string_lossy().to_string();
            if key.starts_with(".tmp-") {
                leftovers.push(e.path());
            } else {
                on_disk.insert(format!("{name}.{key}"));
            }
        }
    }
    assert!(
        leftovers.is_empty(),
        "temporary folders left: {leftovers:?}"
    );
    let locks: Vec<String> = std::fs::read_dir(artifacts.join(".locks"))
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().to_string())
                .collect()
        })
        .unwrap_or_default();
    let orphans: Vec<&String> = locks
        .iter()
        .filter(|l| !on_disk.contains(l.trim_end_matches(".lock")))
        .collect();
    assert!(
        orphans.is_empty(),
        "lock files without an artifact: {orphans:?}"
    );
    let verify = t.run_with(&["verify"], &[]);
    let report = String::from_utf8_lossy(&verify.stdout);
    assert!(
        verify.status.success() && report.contains(" 0 broken"),
        "{report}"
    );
    // Exactly what the configuration reaches is kept: every artifact on disk is a fresh node.
    let status = t.ok(&[&["status", "--json"][..], &last[..]].concat());
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    let rows = status.as_array().unwrap();
    let fresh = rows.iter().filter(|r| r["state"] == "fresh").count();
    assert_eq!(
        on_disk.len(),
        fresh,
        "gc kept only reachable artifacts: {gc}"
    );
    t.ok(&[&["run"][..], &last[..]].concat());
    let rebuilt = t.ran_list().len();
    assert!(rebuilt > 0, "the final configuration needed new artifacts");
    assert_eq!(
        rebuilt,
        rows.len() - fresh,
        "the final run rebuilt only what was missing"
    );
    eprintln!(
        "soak: {runs} runs ({killed} killed, {finished} finished); gc: {}; kept {}, rebuilt {rebuilt}",
        gc.lines().last().unwrap_or(""),
        on_disk.len()
    );
}
