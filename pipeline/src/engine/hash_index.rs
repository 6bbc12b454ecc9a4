//! Content hashes of external files, computed once and remembered.
//!
//! Hashing a 1 GiB dataset on every `pipeline run` would make a no-op run slow, so each file's
//! blake3 is remembered in `artifacts/.index/external-hashes.json` under its absolute path with
//! (size, mtime in ns, inode). A file whose stat still matches is not read again; a touched file
//! is rehashed, and if its bytes did not change, neither does any key.
//!
//! Racy writes: a file modified twice within the filesystem's timestamp granularity could keep
//! its (size, mtime). As git does, we never remember a hash for a file modified in the last
//! [`RACY_WINDOW`]; it is simply rehashed next time.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::engine::error::{EngineError, Result};

const RACY_WINDOW: Duration = Duration::from_secs(2);
const INDEX_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Entry {
    size: u64,
    mtime_ns: i128,
    inode: u64,
    blake3: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct IndexFile {
    version: u32,
    entries: BTreeMap<String, Entry>,
}

pub struct HashIndex {
    path: PathBuf,
    entries: BTreeMap<String, Entry>,
    dirty: bool,
    /// Files actually read (not served from the index) since load, for reporting.
    pub hashed_bytes: u64,
}

impl HashIndex {
    /// Loads the index under `artifacts_dir` (a missing or unreadable index is an empty one:
    /// it is only a cache).
    pub fn load(artifacts_dir: &Path) -> Self {
        let path = artifacts_dir.join(".index").join("external-hashes.json");
        let entries = std::fs::read(&path)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<IndexFile>(&bytes).ok())
            .filter(|f| f.version == INDEX_VERSION)
            .map(|f| f.entries)
            .unwrap_or_default();
        HashIndex {
            path,
            entries,
            dirty: false,
            hashed_bytes: 0,
        }
    }

    /// The content hash of a file, or of a folder (blake3 over its files' sorted relative paths
    /// and hashes).
    pub fn hash_path(&mut self, path: &Path) -> Result<String> {
        let meta = std::fs::metadata(path).map_err(|e| EngineError::io(path, e))?;
        if meta.is_dir() {
            return self.hash_dir(path);
        }
        self.hash_file(path, &meta)
    }

    fn hash_dir(&mut self, dir: &Path) -> Result<String> {
        let mut files = Vec::new();
        collect_files(dir, &mut files)?;
        files.sort();
        let mut hasher = blake3::Hasher::new();
        for file in files {
            let meta = std::fs::metadata(&file).map_err(|e| EngineError::io(&file, e))?;
            let h = self.hash_file(&file, &meta)?;
            let rel = file.strip_prefix(dir).unwrap_or(&file);
            hasher.update(rel.to_string_lossy().as_bytes());
            hasher.update(b"\0");
            hasher.update(h.as_bytes());
            hasher.update(b"\n");
        }
        Ok(hasher.finalize().to_hex().to_string())
    }

    fn hash_file(&mut self, path: &Path, meta: &std::fs::Metadata) -> Result<String> {
        let abs = std::path::absolute(path).map_err(|e| EngineError::io(path, e))?;
        let id = abs.to_string_lossy().to_string();
        let mtime_ns = i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec());
        if let Some(e) = self.entries.get(&id)
            && e.size == meta.len()
            && e.mtime_ns == mtime_ns
            && e.inode == meta.ino()
        {
            return Ok(e.blake3.clone());
        }
        let hash = hash_file_contents(path)?;
        self.hashed_bytes += meta.len();
        let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
        let racy = SystemTime::now()
            .duration_since(modified)
            .map(|age| age < RACY_WINDOW)
            .unwrap_or(true);
        if racy {
            self.entries.remove(&id);
        } else {
            self.entries.insert(
                id,
                Entry {
                    size: meta.len(),
                    mtime_ns,
                    inode: meta.ino(),
                    blake3: hash.clone(),
                },
            );
        }
        self.dirty = true;
        Ok(hash)
    }

    /// Writes the index if it changed (temp file + rename, so a crash never leaves half of it).
    pub fn save(&mut self) -> Result<()> {
        if !self.dirty {
            return Ok(());
        }
        let dir = self.path.parent().expect("index path has a parent");
        std::fs::create_dir_all(dir).map_err(|e| EngineError::io(dir, e))?;
        let tmp = dir.join(format!(".external-hashes.{}.tmp", std::process::id()));
        let file = IndexFile {
            version: INDEX_VERSION,
            entries: self.entries.clone(),
        };
        let bytes = serde_json::to_vec(&file).map_err(|e| EngineError::Other(e.to_string()))?;
        std::fs::write(&tmp, bytes).map_err(|e| EngineError::io(&tmp, e))?;
        std::fs::rename(&tmp, &self.path).map_err(|e| EngineError::io(&self.path, e))?;
        self.dirty = false;
        Ok(())
    }
}

/// blake3 of a file's bytes, memory-mapped and hashed on all cores for big files.
pub fn hash_file_contents(path: &Path) -> Result<String> {
    let mut hasher = blake3::Hasher::new();
    hasher
        .update_mmap_rayon(path)
        .map_err(|e| EngineError::io(path, e))?;
    Ok(hasher.finalize().to_hex().to_string())
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir).map_err(|e| EngineError::io(dir, e))? {
        let entry = entry.map_err(|e| EngineError::io(dir, e))?;
        let path = entry.path();
        let ty = entry.file_type().map_err(|e| EngineError::io(&path, e))?;
        if ty.is_dir() {
            collect_files(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_by_stat_and_rehashes_touched_files() {
        let dir = tempdir();
        let f = dir.join("a.bin");
        std::fs::write(&f, b"hello").unwrap();
        // Backdate so the entry is outside the racy window and gets remembered.
        let old = SystemTime::now() - Duration::from_secs(60);
        std::fs::File::options()
            .write(true)
            .open(&f)
            .unwrap()
            .set_modified(old)
            .unwrap();
        let mut idx = HashIndex::load(&dir);
        let h1 = idx.hash_path(&f).unwrap();
        assert_eq!(h1, blake3::hash(b"hello").to_hex().to_string());
        assert_eq!(idx.hashed_bytes, 5);
        idx.save().unwrap();
        let mut idx = HashIndex::load(&dir);
        assert_eq!(idx.hash_path(&f).unwrap(), h1);
        assert_eq!(idx.hashed_bytes, 0, "served from the index");
        // Touch without change: rehashed, same hash.
        std::fs::File::options()
            .write(true)
            .open(&f)
            .unwrap()
            .set_modified(old + Duration::from_secs(1))
            .unwrap();
        assert_eq!(idx.hash_path(&f).unwrap(), h1);
        assert_eq!(idx.hashed_bytes, 5);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn folder_hash_depends_on_names_and_bytes() {
        let dir = tempdir();
        std::fs::create_dir_all(dir.join("d/sub")).unwrap();
        std::fs::write(dir.join("d/sub/x"), b"1").unwrap();
        std::fs::write(dir.join("d/y"), b"2").unwrap();
        let mut idx = HashIndex::load(&dir);
        let h1 = idx.hash_path(&dir.join("d")).unwrap();
        std::fs::rename(dir.join("d/y"), dir.join("d/z")).unwrap();
        let h2 = idx.hash_path(&dir.join("d")).unwrap();
        assert_ne!(h1, h2);
        std::fs::write(dir.join("d/z"), b"3").unwrap();
        assert_ne!(h2, idx.hash_path(&dir.join("d")).unwrap());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn tempdir() -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "pipeline-hash-index-{}-{}",
            std::process::id(),
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&d).unwrap();
        d
    }
}
