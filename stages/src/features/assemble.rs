//! A feature set built as shards (`I/N` of its [`Units`]) and put back together.
//!
//! A shard's folder holds its rows in the usual layout (`features.json` and `.npy` files) and
//! `shard.json`: which shard of how many, and which rows of how many. [`assemble`] checks that
//! the shards are every row once, in order, and streams their rows into the layout one whole run
//! writes (the same storage shards), so the result is that run's bytes.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::features::FeatureMatrix;
use crate::features::shards::{Index, ShardWriter};
use crate::features::units::Units;
use crate::shard::Shard;

pub const SHARD_FILE: &str = "shard.json";

/// Rows streamed at a time: bounded memory whatever the shard's size.
const CHUNK_ROWS: usize = 4096;

/// `shard.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardRecord {
    pub index: usize,
    pub count: usize,
    /// The first row and the end (exclusive) of the shard's rows in the whole set.
    pub first_row: usize,
    pub end_row: usize,
    pub total_rows: usize,
}

impl ShardRecord {
    pub fn new(shard: Shard, units: &Units, total_rows: usize) -> ShardRecord {
        let rows = units.rows();
        ShardRecord {
            index: shard.index,
            count: shard.count,
            first_row: rows.start,
            end_row: rows.end,
            total_rows,
        }
    }

    pub fn write(&self, dir: &Path) -> Result<()> {
        crate::json::write(&dir.join(SHARD_FILE), self)
    }

    pub fn read(dir: &Path) -> Result<ShardRecord> {
        crate::json::read(&dir.join(SHARD_FILE))
    }
}

/// Writes into `out_dir` the `total` rows held by `shards` (the folders of shards 0..N of one
/// count, in order), in storage shards of `shard_rows`, as one whole run would.
pub fn assemble(
    out_dir: &Path,
    shards: &[PathBuf],
    total: usize,
    shard_rows: usize,
) -> Result<Index> {
    let bad = |dir: &Path, message: String| Error::Invalid {
        what: dir.join(SHARD_FILE).display().to_string(),
        message,
    };
    let mut parts = Vec::with_capacity(shards.len());
    let mut next = 0;
    for (i, dir) in shards.iter().enumerate() {
        let r = ShardRecord::read(dir)?;
        if r.index != i || r.count != shards.len() || r.total_rows != total {
            return Err(bad(
                dir,
                format!(
                    "is shard {}/{} of {} rows; expected shard {i}/{} of {total} rows",
                    r.index,
                    r.count,
                    r.total_rows,
                    shards.len()
                ),
            ));
        }
        if r.first_row != next || r.end_row < r.first_row {
            return Err(bad(
                dir,
                format!(
                    "holds rows {}..{}; the shards before it end at row {next}",
                    r.first_row, r.end_row
                ),
            ));
        }
        let m = FeatureMatrix::open(dir)?;
        if m.rows() != r.end_row - r.first_row {
            return Err(bad(
                dir,
                format!(
                    "says {} rows, its feature files hold {}",
                    r.end_row - r.first_row,
                    m.rows()
                ),
            ));
        }
        next = r.end_row;
        parts.push(m);
    }
    if next != total {
        return Err(Error::Invalid {
            what: out_dir.display().to_string(),
            message: format!("the shards hold {next} rows, expected {total}"),
        });
    }
    let dim = parts.first().map_or(0, FeatureMatrix::dim);
    if let Some((dir, m)) = shards.iter().zip(&parts).find(|(_, m)| m.dim() != dim) {
        return Err(bad(dir, format!("{}-d rows, shard 0 has {dim}-d", m.dim())));
    }
    let (mut writer, done) = ShardWriter::open(out_dir, total, dim, shard_rows)?;
    let mut row = 0;
    let mut chunk = Vec::with_capacity(CHUNK_ROWS.min(total) * dim);
    for m in &parts {
        for i in 0..m.rows() {
            if row >= done {
                chunk.extend_from_slice(m.row(i));
                if chunk.len() == CHUNK_ROWS * dim {
                    writer.append(&chunk)?;
                    chunk.clear();
                }
            }
            row += 1;
        }
    }
    writer.append(&chunk)?;
    writer.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::shards::INDEX;

    fn shard_dir(
        root: &Path,
        shard: Shard,
        units: &Units,
        values: &[f32],
        total: usize,
    ) -> PathBuf {
        let dir = root.join(format!("s{}", shard.index));
        std::fs::create_dir_all(&dir).unwrap();
        let rows = units.rows();
        let (mut w, _) = ShardWriter::open(&dir, rows.len(), 2, 3).unwrap();
        w.append(&values[rows.start * 2..rows.end * 2]).unwrap();
        w.finish().unwrap();
        ShardRecord::new(shard, units, total).write(&dir).unwrap();
        dir
    }

    /// Shards of any count assemble into the bytes of the whole written at once.
    #[test]
    fn shards_assemble_into_the_whole_runs_files() {
        let root = tempfile::tempdir().unwrap();
        let total = 23;
        let values: Vec<f32> = (0..total * 2).map(|v| v as f32 * 0.5).collect();
        let whole = root.path().join("whole");
        std::fs::create_dir_all(&whole).unwrap();
        let (mut w, _) = ShardWriter::open(&whole, total, 2, 8).unwrap();
        w.append(&values).unwrap();
        w.finish().unwrap();
        let units = Units::images(total, 4);
        for count in [1, 2, 4, 6] {
            let dirs: Vec<PathBuf> = (0..count)
                .map(|index| {
                    let shard = Shard { index, count };
                    let root = root.path().join(format!("n{count}"));
                    shard_dir(&root, shard, &units.shard(shard), &values, total)
                })
                .collect();
            let out = root.path().join(format!("out{count}"));
            std::fs::create_dir_all(&out).unwrap();
            assemble(&out, &dirs, total, 8).unwrap();
            for f in [INDEX, "features-00000.npy", "features-00002.npy"] {
                assert_eq!(
                    std::fs::read(whole.join(f)).unwrap(),
                    std::fs::read(out.join(f)).unwrap(),
                    "{f} at {count} shards"
                );
            }
            // Shards out of order, or one missing, are refused with the file named.
            if count > 1 {
                let mut swapped = dirs.clone();
                swapped.swap(0, 1);
                let e = assemble(&root.path().join("x"), &swapped, total, 8).unwrap_err();
                assert!(e.to_string().contains("shard.json"), "{e}");
                let e = assemble(&root.path().join("x"), &dirs[1..], total, 8).unwrap_err();
                assert!(e.to_string().contains("expected shard 0/"), "{e}");
            }
        }
    }
}
