//! Feature rows written as `.npy` shards of at most `shard_rows` rows, with a progress record,
//! so that a run killed mid-way resumes from its last complete shard.
//!
//! In the (temporary) output folder:
//! - `features-00000.npy`, … each complete shard, fsynced before it is recorded;
//! - `progress.json`: the layout (rows, dim, shard_rows) and the complete shards, replaced
//!   atomically after each shard.
//!
//! [`ShardWriter::finish`] removes `progress.json`, renames a single shard to `features.npy`,
//! and writes `features.json` (the index readers use).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::features::npy;

pub const INDEX: &str = "features.json";
const PROGRESS: &str = "progress.json";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardInfo {
    pub file: String,
    pub rows: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Index {
    pub rows: usize,
    pub dim: usize,
    pub shards: Vec<ShardInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Progress {
    rows: usize,
    dim: usize,
    shard_rows: usize,
    done: Vec<ShardInfo>,
}

pub struct ShardWriter {
    dir: PathBuf,
    progress: Progress,
    buffer: Vec<f32>,
}

fn shard_name(i: usize) -> String {
    format!("features-{i:05}.npy")
}

impl ShardWriter {
    /// Opens the writer for `rows × dim` features in `dir`, keeping the complete shards a
    /// previous attempt recorded (when its layout matches) and removing anything else.
    /// Returns the writer and the first row still to compute.
    pub fn open(
        dir: &Path,
        rows: usize,
        dim: usize,
        shard_rows: usize,
    ) -> Result<(ShardWriter, usize)> {
        let shard_rows = shard_rows.max(1);
        let fresh = Progress {
            rows,
            dim,
            shard_rows,
            done: Vec::new(),
        };
        let previous: Option<Progress> = std::fs::read(dir.join(PROGRESS))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        let mut progress = match previous {
            Some(p) if p.rows == rows && p.dim == dim && p.shard_rows == shard_rows => p,
            _ => fresh,
        };
        // A shard is trusted only if recorded and of the right size.
        progress.done.retain(|s| {
            std::fs::metadata(dir.join(&s.file)).map(|m| m.len()).ok()
                == Some(npy::header(s.rows, dim).len() as u64 + (s.rows * dim * 4) as u64)
        });
        let keep: Vec<String> = progress.done.iter().map(|s| s.file.clone()).collect();
        for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
            let entry = entry.map_err(|e| Error::io(dir, e))?;
            let name = entry.file_name().to_string_lossy().to_string();
            if name != PROGRESS && !keep.contains(&name) {
                let p = entry.path();
                if p.is_dir() {
                    std::fs::remove_dir_all(&p).map_err(|e| Error::io(&p, e))?;
                } else {
                    std::fs::remove_file(&p).map_err(|e| Error::io(&p, e))?;
                }
            }
        }
        let start = progress.done.iter().map(|s| s.rows).sum();
        let writer = ShardWriter {
            dir: dir.to_path_buf(),
            progress,
            buffer: Vec::new(),
        };
        writer.save_progress()?;
        Ok((writer, start))
    }

    fn save_progress(&self) -> Result<()> {
        let tmp = self.dir.join(format!("{PROGRESS}.tmp"));
        let bytes = serde_json::to_vec(&self.progress).expect("progress serialises");
        std::fs::write(&tmp, bytes).map_err(|e| Error::io(&tmp, e))?;
        std::fs::rename(&tmp, self.dir.join(PROGRESS))
            .map_err(|e| Error::io(self.dir.join(PROGRESS), e))
    }

    /// Appends rows (row-major, `dim` values each); complete shards are written as they fill.
    pub fn append(&mut self, values: &[f32]) -> Result<()> {
        let dim = self.progress.dim;
        assert_eq!(values.len() % dim, 0, "whole rows only");
        self.buffer.extend_from_slice(values);
        let per_shard = self.progress.shard_rows * dim;
        while self.buffer.len() >= per_shard {
            let rest = self.buffer.split_off(per_shard);
            let full = std::mem::replace(&mut self.buffer, rest);
            self.write_shard(&full)?;
        }
        Ok(())
    }

    fn write_shard(&mut self, values: &[f32]) -> Result<()> {
        let dim = self.progress.dim;
        let rows = values.len() / dim;
        let file = shard_name(self.progress.done.len());
        let partial = self.dir.join(format!("{file}.partial"));
        npy::write(&partial, rows, dim, values)?;
        std::fs::rename(&partial, self.dir.join(&file))
            .map_err(|e| Error::io(self.dir.join(&file), e))?;
        self.progress.done.push(ShardInfo { file, rows });
        self.save_progress()
    }

    /// Writes the last partial shard and the index; checks that every row was written.
    pub fn finish(mut self) -> Result<Index> {
        if !self.buffer.is_empty() {
            let rest = std::mem::take(&mut self.buffer);
            self.write_shard(&rest)?;
        }
        let written: usize = self.progress.done.iter().map(|s| s.rows).sum();
        if written != self.progress.rows {
            return Err(Error::Invalid {
                what: self.dir.display().to_string(),
                message: format!(
                    "wrote {written} feature rows, expected {}",
                    self.progress.rows
                ),
            });
        }
        let mut shards = self.progress.done.clone();
        if shards.len() == 1 {
            std::fs::rename(
                self.dir.join(&shards[0].file),
                self.dir.join("features.npy"),
            )
            .map_err(|e| Error::io(self.dir.join("features.npy"), e))?;
            shards[0].file = "features.npy".into();
        }
        if shards.is_empty() {
            npy::write(&self.dir.join("features.npy"), 0, self.progress.dim, &[])?;
            shards.push(ShardInfo {
                file: "features.npy".into(),
                rows: 0,
            });
        }
        let index = Index {
            rows: written,
            dim: self.progress.dim,
            shards,
        };
        let bytes = serde_json::to_vec_pretty(&index).expect("index serialises");
        std::fs::write(self.dir.join(INDEX), bytes)
            .map_err(|e| Error::io(self.dir.join(INDEX), e))?;
        std::fs::remove_file(self.dir.join(PROGRESS))
            .map_err(|e| Error::io(self.dir.join(PROGRESS), e))?;
        Ok(index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::matrix::FeatureMatrix;

    #[test]
    fn resumes_from_complete_shards() {
        let dir = tempfile::tempdir().unwrap();
        let values: Vec<f32> = (0..70).map(|v| v as f32).collect(); // 35 rows × 2
        let (mut w, start) = ShardWriter::open(dir.path(), 35, 2, 10).unwrap();
        assert_eq!(start, 0);
        w.append(&values[..50]).unwrap(); // 25 rows: 2 shards complete, 5 rows buffered
        drop(w); // "killed": buffered rows are lost
        std::fs::write(dir.path().join("features-00002.npy.partial"), b"junk").unwrap();
        let (mut w, start) = ShardWriter::open(dir.path(), 35, 2, 10).unwrap();
        assert_eq!(start, 20, "resumes after the two complete shards");
        assert!(!dir.path().join("features-00002.npy.partial").exists());
        w.append(&values[start * 2..]).unwrap();
        let index = w.finish().unwrap();
        assert_eq!(index.shards.len(), 4);
        let m = FeatureMatrix::open(dir.path()).unwrap();
        assert_eq!(m.to_vec(), values);
        assert_eq!(m.row(34), &[68.0, 69.0]);
        // A different layout starts over.
        let (_, start) = ShardWriter::open(dir.path(), 35, 3, 10).unwrap();
        assert_eq!(start, 0);
    }

    #[test]
    fn single_shard_is_features_npy() {
        let dir = tempfile::tempdir().unwrap();
        let (mut w, _) = ShardWriter::open(dir.path(), 3, 2, 100).unwrap();
        w.append(&[1., 2., 3., 4., 5., 6.]).unwrap();
        let index = w.finish().unwrap();
        assert_eq!(
            index.shards,
            vec![ShardInfo {
                file: "features.npy".into(),
                rows: 3
            }]
        );
        assert!(!dir.path().join("progress.json").exists());
    }
}
