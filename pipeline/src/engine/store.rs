//! The artifact store: `artifacts/<stage>/<key>/`, each with its `manifest.json`.
//!
//! An artifact is built in `artifacts/<stage>/.tmp-<key>-<pid>/` (same filesystem), every file is
//! fsynced, the manifest is written last, and the folder is renamed into place: readers see a
//! whole artifact or none. A folder without a valid manifest is not an artifact; it is removed
//! when next met. Builds of one key are serialised by a [`KeyLock`] under `artifacts/.locks/`
//! (a lock file made by an atomic `link(2)`, so that it holds on NFS and Lustre too).

use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use crate::engine::error::{EngineError, Result};
use crate::engine::interrupt;
use crate::engine::key::KEY_HEX_LEN;
use crate::engine::lock::KeyLock;
use crate::engine::manifest::{self, Manifest};

mod files;

pub use files::verify_artifact;
use files::{folder_bytes, free_bytes, hash_outputs, is_disk_full, sync_dir, write_synced};

const TMP_PREFIX: &str = ".tmp-";
const LOCKS: &str = ".locks";

pub struct Store {
    root: PathBuf,
}

/// What [`Store::remove`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    Removed,
    /// Another process holds the key's lock (it is building or replacing it): left alone.
    Busy,
}

/// One artifact folder found on disk.
pub struct Found {
    pub stage_dir: String,
    pub key: String,
    pub dir: PathBuf,
    pub manifest: Option<Manifest>,
}

impl Store {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Store { root: root.into() }
    }

    /// The store at `root`, which must be a folder or not exist yet (it is created on the first
    /// build); anything else is a configuration error that says so.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        match std::fs::metadata(&root) {
            Ok(m) if !m.is_dir() => Err(EngineError::Config(format!(
                "{}: exists but is not a folder; the artifact store needs this path (move the \
                 file away)",
                root.display()
            ))),
            _ => Ok(Store { root }),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Stage names may hold `:` (`features:image`); folders use `.` instead.
    pub fn stage_dir_name(stage: &str) -> String {
        stage.replace(':', ".")
    }

    pub fn artifact_dir(&self, stage: &str, key: &str) -> PathBuf {
        self.root.join(Self::stage_dir_name(stage)).join(key)
    }

    pub fn lock_path(&self, stage: &str, key: &str) -> PathBuf {
        self.lock_path_in(&Self::stage_dir_name(stage), key)
    }

    fn lock_path_in(&self, stage_dir: &str, key: &str) -> PathBuf {
        self.root
            .join(LOCKS)
            .join(format!("{stage_dir}.{key}.lock"))
    }

    /// The (stage folder, key) a temporary folder of [`Store::build`] was building.
    fn temp_owner(tmp: &Path) -> Option<(String, String)> {
        let name = tmp.file_name()?.to_string_lossy().to_string();
        let stage_dir = tmp.parent()?.file_name()?.to_string_lossy().to_string();
        let key: String = name
            .strip_prefix(TMP_PREFIX)?
            .chars()
            .take(KEY_HEX_LEN)
            .collect();
        Some((stage_dir, key))
    }

    /// True if the run that made temporary folder `tmp` is gone: its key is not locked.
    pub fn is_abandoned(&self, tmp: &Path) -> bool {
        let Some((stage_dir, key)) = Self::temp_owner(tmp) else {
            return false;
        };
        KeyLock::is_free(&self.lock_path_in(&stage_dir, &key))
    }

    /// Removes an artifact folder (and its lock file) while holding its key's lock, so that no
    /// run building or waiting for the same key loses its mutual exclusion; a key another process
    /// holds is left alone.
    pub fn remove(&self, found: &Found) -> Result<Removal> {
        let path = self.lock_path_in(&found.stage_dir, &found.key);
        let Some(lock) = KeyLock::try_acquire(&path)? else {
            return Ok(Removal::Busy);
        };
        std::fs::remove_dir_all(&found.dir).map_err(|e| EngineError::io(&found.dir, e))?;
        lock.remove()?;
        Ok(Removal::Removed)
    }

    /// Lock files whose owner is gone (a run killed while it held them; a live holder removes
    /// its file when it releases it) are broken and removed, with what a killed run left while
    /// taking or breaking one. Returns their paths.
    pub fn remove_orphan_locks(&self, dry_run: bool) -> Result<Vec<PathBuf>> {
        let dir = self.root.join(LOCKS);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Ok(Vec::new());
        };
        let mut removed = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            if !entry.file_name().to_string_lossy().ends_with(".lock") || !KeyLock::is_free(&path) {
                continue;
            }
            if !dry_run && let Some(lock) = KeyLock::try_acquire(&path)? {
                lock.remove()?;
            }
            removed.push(path);
        }
        removed.extend(crate::engine::lock::remove_debris(&dir, dry_run));
        removed.sort();
        Ok(removed)
    }

    /// Removes a temporary folder left by a run that is gone.
    pub fn remove_abandoned(&self, tmp: &Path) -> Result<()> {
        std::fs::remove_dir_all(tmp).map_err(|e| EngineError::io(tmp, e))
    }

    /// The artifact for (stage, key) if it exists and its manifest is valid.
    pub fn lookup(&self, stage: &str, key: &str) -> Option<Manifest> {
        Manifest::read_valid(&self.artifact_dir(stage, key), stage, key)
    }

    /// Takes the key's lock (waiting for another process building it).
    pub fn lock(
        &self,
        stage: &str,
        key: &str,
        on_wait: impl FnOnce(Option<u32>),
    ) -> Result<KeyLock> {
        KeyLock::acquire(&self.lock_path(stage, key), on_wait)
    }

    /// Builds an artifact while holding its lock: `fill` writes outputs into the temporary folder
    /// and returns the manifest fields it knows; outputs are hashed and the manifest written here.
    /// Replaces an existing artifact of the same key (used by `--force`).
    ///
    /// With `resume`, the temporary folder a dead attempt at the same key left behind is handed
    /// to `fill` as it is (the stage decides what in it is complete); otherwise it is removed.
    pub fn build(
        &self,
        _lock: &KeyLock,
        stage: &str,
        key: &str,
        resume: bool,
        fill: impl FnOnce(&Path) -> Result<Manifest>,
    ) -> Result<Manifest> {
        let stage_dir = self.root.join(Self::stage_dir_name(stage));
        std::fs::create_dir_all(&stage_dir).map_err(|e| EngineError::io(&stage_dir, e))?;
        let tmp = stage_dir.join(format!("{TMP_PREFIX}{key}-{}", std::process::id()));
        // We hold the key's lock, so any temp folder of this key is a dead run's leftover.
        let leftover = if resume {
            self.take_temp_dir(&stage_dir, key, &tmp)?
        } else {
            false
        };
        if leftover {
            tracing::info!(
                stage,
                "resuming from an interrupted attempt's temporary folder"
            );
        }
        self.remove_temp_dirs(&stage_dir, key, &tmp)?;
        std::fs::create_dir_all(&tmp).map_err(|e| EngineError::io(&tmp, e))?;
        let _building = interrupt::building(stage, &tmp, resume);
        let result = self.publish(stage, key, &stage_dir, &tmp, fill);
        if let Err(e) = &result {
            // Never trusted, and not left to fill a disk: a failed build's folder goes.
            let partial = folder_bytes(&tmp);
            let _ = std::fs::remove_dir_all(&tmp);
            if is_disk_full(e) {
                return Err(EngineError::DiskFull {
                    stage: stage.into(),
                    dir: self.artifact_dir(stage, key),
                    free_mib: free_bytes(&stage_dir).map_or(0, |b| b >> 20),
                    partial_mib: partial.div_ceil(1 << 20),
                });
            }
        }
        result
    }

    /// Fills `tmp`, writes the manifest last and renames the folder into place.
    fn publish(
        &self,
        stage: &str,
        key: &str,
        stage_dir: &Path,
        tmp: &Path,
        fill: impl FnOnce(&Path) -> Result<Manifest>,
    ) -> Result<Manifest> {
        let started = SystemTime::now();
        let clock = Instant::now();
        let mut m = fill(tmp)?;
        m.outputs = hash_outputs(tmp)?;
        m.started = manifest::rfc3339(started);
        m.finished = manifest::rfc3339(SystemTime::now());
        m.wall_s = clock.elapsed().as_secs_f64();
        let bytes = serde_json::to_vec_pretty(&m).map_err(|e| EngineError::Other(e.to_string()))?;
        write_synced(&tmp.join(manifest::FILE_NAME), &bytes)?;
        sync_dir(tmp)?;
        let dest = self.artifact_dir(stage, key);
        if dest.exists() {
            // Move the old one aside first: rename cannot replace a non-empty folder.
            let old = stage_dir.join(format!("{TMP_PREFIX}{key}-{}-old", std::process::id()));
            std::fs::rename(&dest, &old).map_err(|e| EngineError::io(&dest, e))?;
            std::fs::rename(tmp, &dest).map_err(|e| EngineError::io(&dest, e))?;
            let _ = std::fs::remove_dir_all(&old);
        } else {
            std::fs::rename(tmp, &dest).map_err(|e| EngineError::io(&dest, e))?;
        }
        sync_dir(stage_dir)?;
        Ok(m)
    }

    /// Renames the most recent leftover temp folder of `key` to `tmp`; true if there was one.
    fn take_temp_dir(&self, stage_dir: &Path, key: &str, tmp: &Path) -> Result<bool> {
        let prefix = format!("{TMP_PREFIX}{key}-");
        let newest = std::fs::read_dir(stage_dir)
            .map_err(|e| EngineError::io(stage_dir, e))?
            .flatten()
            .filter(|e| {
                let name = e.file_name().to_string_lossy().to_string();
                name.starts_with(&prefix)
                    && !name.ends_with("-old")
                    && !name.ends_with("-interrupted")
            })
            .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
            .max();
        match newest {
            Some((_, path)) if path != tmp => {
                std::fs::rename(&path, tmp).map_err(|e| EngineError::io(&path, e))?;
                Ok(true)
            }
            Some(_) => Ok(true),
            None => Ok(false),
        }
    }

    fn remove_temp_dirs(&self, stage_dir: &Path, key: &str, keep: &Path) -> Result<()> {
        let prefix = format!("{TMP_PREFIX}{key}-");
        for entry in std::fs::read_dir(stage_dir).map_err(|e| EngineError::io(stage_dir, e))? {
            let entry = entry.map_err(|e| EngineError::io(stage_dir, e))?;
            if entry.path() != keep && entry.file_name().to_string_lossy().starts_with(&prefix) {
                let p = entry.path();
                std::fs::remove_dir_all(&p).map_err(|e| EngineError::io(&p, e))?;
            }
        }
        Ok(())
    }

    /// Removes a folder that claims to be (stage, key) but has no valid manifest.
    pub fn discard_invalid(&self, lock: &KeyLock, stage: &str, key: &str) -> Result<()> {
        let _ = lock;
        let dir = self.artifact_dir(stage, key);
        if dir.exists() && self.lookup(stage, key).is_none() {
            tracing::warn!(dir = %dir.display(), "removing a folder without a valid manifest");
            std::fs::remove_dir_all(&dir).map_err(|e| EngineError::io(&dir, e))?;
        }
        Ok(())
    }

    /// Every artifact-like folder in the store (manifest `None` when missing or invalid), and
    /// every temporary folder, as (stage folder, name, path).
    pub fn scan(&self) -> Result<(Vec<Found>, Vec<PathBuf>)> {
        let mut found = Vec::new();
        let mut temps = Vec::new();
        let Ok(stages) = std::fs::read_dir(&self.root) else {
            return Ok((found, temps));
        };
        for stage in stages.flatten() {
            let name = stage.file_name().to_string_lossy().to_string();
            if name.starts_with('.') || !stage.path().is_dir() {
                continue;
            }
            let entries =
                std::fs::read_dir(stage.path()).map_err(|e| EngineError::io(stage.path(), e))?;
            for entry in entries.flatten() {
                let key = entry.file_name().to_string_lossy().to_string();
                let dir = entry.path();
                if key.starts_with(TMP_PREFIX) {
                    temps.push(dir);
                    continue;
                }
                if !dir.is_dir() {
                    continue;
                }
                let manifest = Manifest::read(&dir)
                    .filter(|m| m.key == key && Self::stage_dir_name(&m.stage) == name);
                found.push(Found {
                    stage_dir: name.clone(),
                    key,
                    dir,
                    manifest,
                });
            }
        }
        found.sort_by(|a, b| (&a.stage_dir, &a.key).cmp(&(&b.stage_dir, &b.key)));
        Ok((found, temps))
    }

    /// Previous artifacts of `stage`, newest first (for explaining staleness).
    pub fn history(&self, stage: &str) -> Vec<Manifest> {
        let dir = self.root.join(Self::stage_dir_name(stage));
        let mut out: Vec<Manifest> = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
            .filter_map(|e| Manifest::read(&e.path()))
            .filter(|m| m.stage == stage)
            .collect();
        out.sort_by(|a, b| b.finished.cmp(&a.finished));
        out
    }
}
