//! Feature rows written as `.npy` shards of at most `shard_rows` rows, with a progress record,
//! so that a run killed mid-way resumes from its last complete shard.
//!
//! Rows go to disk as they are appended (each shard's row count is known from the layout, so
//! its header is written first): memory is a write buffer's, whatever the shard size.
//!
//! In the (temporary) output folder:
//! - `features-00000.npy.partial`: the shard being written;
//! - `features-00000.npy`, … each complete shard, fsynced before it is recorded;
//! - `progress.json`: the layout (rows, dim, shard_rows) and the complete shards, replaced
//!   atomically after each shard.
//!
//! [`ShardWriter::finish`] removes `progress.json`, renames a single shard to `features.npy`,
//! and writes `features.json` (the index readers use).

use std::io::{BufWriter, Write};
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
    /// The shard being written, if one is begun.
    current: Option<Current>,
}

/// A shard being written: its `.partial` file, its declared rows and those written so far.
struct Current {
    out: BufWriter<std::fs::File>,
    partial: PathBuf,
    file: String,
    rows: usize,
    written: usize,
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
            current: None,
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

    /// Appends rows (row-major, `dim` values each), straight into the shard they belong to; a
    /// shard is fsynced and recorded when it fills.
    pub fn append(&mut self, values: &[f32]) -> Result<()> {
        let dim = self.progress.dim;
        assert_eq!(values.len() % dim, 0, "whole rows only");
        let mut rest = values;
        while !rest.is_empty() {
            let current = match &mut self.current {
                Some(c) => c,
                None => {
                    let c = self.begin_shard(rest.len() / dim)?;
                    self.current.insert(c)
                }
            };
            let take = (current.rows - current.written).min(rest.len() / dim);
            let (now, later) = rest.split_at(take * dim);
            // In pieces, so a caller's large slice (an assembly's whole shard) is not copied.
            for piece in now.chunks(1 << 16) {
                let bytes: Vec<u8> = piece.iter().flat_map(|v| v.to_le_bytes()).collect();
                current
                    .out
                    .write_all(&bytes)
                    .map_err(|e| Error::io(&current.partial, e))?;
            }
            current.written += take;
            rest = later;
            if current.written == current.rows {
                let full = self.current.take().expect("a shard is open");
                self.end_shard(full)?;
            }
        }
        Ok(())
    }

    /// Opens the next shard's `.partial` file with its header; `more` rows are being appended
    /// (an error if they are more than the layout has left).
    fn begin_shard(&self, more: usize) -> Result<Current> {
        let p = &self.progress;
        let written: usize = p.done.iter().map(|s| s.rows).sum();
        let rows = p.shard_rows.min(p.rows - written);
        if rows == 0 {
            return Err(Error::Invalid {
                what: self.dir.display().to_string(),
                message: format!("{more} feature rows appended past the {} expected", p.rows),
            });
        }
        let file = shard_name(p.done.len());
        let partial = self.dir.join(format!("{file}.partial"));
        let f = std::fs::File::create(&partial).map_err(|e| Error::io(&partial, e))?;
        let mut out = BufWriter::with_capacity(1 << 20, f);
        out.write_all(&npy::header(rows, p.dim))
            .map_err(|e| Error::io(&partial, e))?;
        Ok(Current {
            out,
            partial,
            file,
            rows,
            written: 0,
        })
    }

    /// Fsyncs a full shard, renames it into place and records it.
    fn end_shard(&mut self, shard: Current) -> Result<()> {
        let Current {
            out,
            partial,
            file,
            rows,
            ..
        } = shard;
        let f = out
            .into_inner()
            .map_err(|e| Error::io(&partial, e.into_error()))?;
        f.sync_all().map_err(|e| Error::io(&partial, e))?;
        std::fs::rename(&partial, self.dir.join(&file))
            .map_err(|e| Error::io(self.dir.join(&file), e))?;
        self.progress.done.push(ShardInfo { file, rows });
        self.save_progress()
    }

    /// Writes the last partial shard and the index; checks that every row was written.
    pub fn finish(mut self) -> Result<Index> {
        let open = self.current.take().map_or(0, |c| c.written);
        let written = self.progress.done.iter().map(|s| s.rows).sum::<usize>() + open;
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
        w.append(&values[..50]).unwrap(); // 25 rows: 2 shards complete, 5 rows in the third
        drop(w); // "killed": the third shard is not complete, so it is not kept
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

    /// Rows appended in pieces that cross shard boundaries give the files `npy::write` gives
    /// each shard's rows at once; rows past the layout are refused.
    #[test]
    fn streamed_shards_equal_whole_writes() {
        let (dir, whole) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let values: Vec<f32> = (0..70).map(|v| v as f32 * 0.37 - 3.0).collect();
        let (mut w, _) = ShardWriter::open(dir.path(), 35, 2, 10).unwrap();
        let mut at = 0;
        for rows in [3, 7, 11, 14] {
            w.append(&values[at..at + rows * 2]).unwrap();
            at += rows * 2;
        }
        assert!(w.append(&[1.0, 2.0]).is_err(), "a row past the 35 declared");
        let index = w.finish().unwrap();
        for (i, s) in index.shards.iter().enumerate() {
            let rows = &values[i * 20..i * 20 + s.rows * 2];
            let expected = whole.path().join(&s.file);
            npy::write(&expected, s.rows, 2, rows).unwrap();
            assert_eq!(
                std::fs::read(dir.path().join(&s.file)).unwrap(),
                std::fs::read(&expected).unwrap(),
                "{}",
                s.file
            );
        }
        assert_eq!(
            index.shards.iter().map(|s| s.rows).collect::<Vec<_>>(),
            [10, 10, 10, 5]
        );
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
