//! A throw-away project folder whose pipeline.toml points at the repository's embedded models and
//! data (built by `make setup`), and helpers to run the real `pipeline` binary in it.

#![allow(dead_code)]

pub mod browser;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_pipeline"))
}

pub struct Project {
    pub dir: tempfile::TempDir,
}

impl Project {
    /// `extra` is appended to a config whose dataset and encoders use the repository's files.
    pub fn new(extra: &str) -> Project {
        let repo = repo();
        assert!(
            repo.join("data/models/efficientnet_lite0.onnx").is_file(),
            "run `make setup` first"
        );
        let dir = tempfile::tempdir().unwrap();
        let r = repo.display();
        let config = format!(
            "[dataset]\npath = \"{r}/data/datasets/tuxpaint\"\n{extra}\n\
             [encoders.image]\nonnx = \"{r}/data/models/efficientnet_lite0.onnx\"\n\
             [encoders.text]\nonnx = \"{r}/data/models/minilm_l6_v2.onnx\"\ntokenizer = \"{r}/data/models/minilm_l6_v2.tokenizer.json\"\n\
             [encoders.reference]\nonnx = \"{r}/data/models/dinov2_vits14.onnx\"\n\
             [probe_dataset]\npath = \"{r}/data/datasets/fashion-mnist\"\ntrain_samples = 40\ntest_samples = 20\n\
             [report]\nfont = \"{r}/data/fonts/DejaVuSans.ttf\"\nfont_bold = \"{r}/data/fonts/DejaVuSans-Bold.ttf\"\n"
        );
        std::fs::write(dir.path().join("pipeline.toml"), config).unwrap();
        Project { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(binary());
        c.args(args).current_dir(self.path());
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    pub fn ok(&self, args: &[&str]) -> (String, String) {
        let out = self.run(args);
        let (o, e) = (
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        );
        assert!(out.status.success(), "{args:?} failed:\n{o}\n{e}");
        (o, e)
    }

    pub fn show(&self, stage: &str) -> PathBuf {
        self.show_with(stage, &[])
    }

    /// The artifact folder of `stage` under extra arguments (`--set k=v` pairs of the run).
    pub fn show_with(&self, stage: &str, extra: &[&str]) -> PathBuf {
        let mut args = vec!["show", stage];
        args.extend_from_slice(extra);
        PathBuf::from(self.ok(&args).0.trim())
    }
}

/// A float32 .npy file's (rows, cols, values), parsed independently of the crate's reader.
pub fn read_npy(path: &Path) -> (usize, usize, Vec<f32>) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..6], b"\x93NUMPY");
    let len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let header = std::str::from_utf8(&bytes[10..10 + len]).unwrap();
    assert!(
        header.contains("'descr': '<f4'") && header.contains("'fortran_order': False"),
        "{header}"
    );
    let shape = header.split('(').nth(1).unwrap().split(')').next().unwrap();
    let dims: Vec<usize> = shape
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim().parse().unwrap())
        .collect();
    let values = bytes[10 + len..]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    (dims[0], dims[1], values)
}

/// A project made by `make` whose artifact store starts as a copy of one built once per test
/// process: `make()` run with `prebuild` (`pipeline` arguments, say `run --stage features`),
/// shared by every test that asks for the same `name`. The tests of one configuration read the
/// same features; they are computed once, and each test builds in its own store only what it
/// changes (a copy, not links: a test may replace or remove what it was given).
pub fn prebuilt(name: &str, make: fn() -> Project, prebuild: &[&str]) -> Project {
    let store = shared_store(name, make, prebuild);
    let p = make();
    copy_tree(&store, &p.path().join("artifacts"));
    p
}

/// The folder holding the store `name` was built into, building it the first time.
fn shared_store(name: &str, make: fn() -> Project, prebuild: &[&str]) -> PathBuf {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex, OnceLock};
    static STORES: OnceLock<Mutex<HashMap<String, Arc<OnceLock<PathBuf>>>>> = OnceLock::new();
    let slot = STORES
        .get_or_init(Default::default)
        .lock()
        .unwrap()
        .entry(name.to_string())
        .or_default()
        .clone();
    slot.get_or_init(|| {
        let p = make();
        p.ok(prebuild);
        let dir = shared_root().join(format!("{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        copy_tree(&p.path().join("artifacts"), &dir);
        dir
    })
    .clone()
}

/// Where the shared stores live; those of test processes that are gone are removed.
fn shared_root() -> PathBuf {
    let root = std::env::temp_dir().join("pipeline-e2e-shared");
    std::fs::create_dir_all(&root).unwrap();
    for entry in std::fs::read_dir(&root).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let pid = name.split('-').next().unwrap_or_default();
        let alive = Path::new("/proc").join(pid).exists();
        if pid != std::process::id().to_string() && !alive {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
    root
}

/// Copies the artifact folders under `from` into `to` (not the store's locks, its hash index or
/// anything half-built).
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if name.starts_with('.') {
            continue;
        }
        let (src, dst) = (entry.path(), to.join(&name));
        if src.is_dir() {
            copy_tree(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}
