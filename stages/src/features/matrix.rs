//! A finished feature set, memory-mapped: rows are read straight from the `.npy` shards, never
//! copied unless asked.

use std::path::{Path, PathBuf};

use memmap2::Mmap;

// The .npy files are little-endian float32, read in place.
const _: () = assert!(
    cfg!(target_endian = "little"),
    "feature files are read in place as little-endian"
);

use crate::error::{Error, Result};
use crate::features::npy;
use crate::features::shards::{INDEX, Index};

struct Shard {
    map: Mmap,
    offset: usize,
    rows: usize,
}

pub struct FeatureMatrix {
    dir: PathBuf,
    dim: usize,
    rows: usize,
    shards: Vec<Shard>,
    /// Row index where each shard starts.
    starts: Vec<usize>,
}

impl FeatureMatrix {
    /// Opens the feature set in `dir` (its `features.json` and shards).
    #[allow(unsafe_code)] // memory-mapping; audited below
    pub fn open(dir: &Path) -> Result<FeatureMatrix> {
        let ipath = dir.join(INDEX);
        let bytes = std::fs::read(&ipath).map_err(|e| Error::io(&ipath, e))?;
        let index: Index = serde_json::from_slice(&bytes).map_err(|e| Error::Invalid {
            what: ipath.display().to_string(),
            message: e.to_string(),
        })?;
        let mut shards = Vec::new();
        let mut starts = Vec::new();
        let mut at = 0;
        for s in &index.shards {
            let path = dir.join(&s.file);
            let file = std::fs::File::open(&path).map_err(|e| Error::io(&path, e))?;
            // SAFETY: artifacts are immutable once published; nothing writes to these files.
            let map = unsafe { Mmap::map(&file) }.map_err(|e| Error::io(&path, e))?;
            let (rows, cols, offset) = npy::parse_header(&map, &path)?;
            // (parse_header checked that rows · cols · 4 fits.)
            let expected = offset.checked_add(rows * cols * 4);
            if rows != s.rows || cols != index.dim || Some(map.len()) != expected {
                return Err(Error::Invalid {
                    what: path.display().to_string(),
                    message: format!(
                        "shape ({rows}, {cols}) does not match {INDEX} ({}, {})",
                        s.rows, index.dim
                    ),
                });
            }
            if offset % 4 != 0 {
                return Err(Error::Invalid {
                    what: path.display().to_string(),
                    message: "data is not 4-byte aligned".into(),
                });
            }
            starts.push(at);
            at += rows;
            shards.push(Shard { map, offset, rows });
        }
        Ok(FeatureMatrix {
            dir: dir.to_path_buf(),
            dim: index.dim,
            rows: at,
            shards,
            starts,
        })
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    #[allow(unsafe_code)] // reinterpreting the mapped bytes; audited below
    fn shard_values(&self, s: &Shard) -> &[f32] {
        let bytes = &s.map[s.offset..s.offset + s.rows * self.dim * 4];
        // SAFETY: the mapping is page-aligned and the offset a multiple of 4 (checked in open);
        // the length is a whole number of f32 (checked against the header); x86-64 and aarch64
        // are little-endian like the file.
        unsafe { std::slice::from_raw_parts(bytes.as_ptr().cast::<f32>(), bytes.len() / 4) }
    }

    /// Row `i` (panics if out of range).
    pub fn row(&self, i: usize) -> &[f32] {
        assert!(i < self.rows, "row {i} out of {}", self.rows);
        let s = self.starts.partition_point(|&start| start <= i) - 1;
        let local = i - self.starts[s];
        &self.shard_values(&self.shards[s])[local * self.dim..(local + 1) * self.dim]
    }

    /// All rows, copied into one row-major vector.
    pub fn to_vec(&self) -> Vec<f32> {
        let mut out = Vec::with_capacity(self.rows * self.dim);
        for s in &self.shards {
            out.extend_from_slice(self.shard_values(s));
        }
        out
    }
}
