//! A feature set's folder (`features:<encoder>` artifacts, and the train artifact's embeddings,
//! which use the same layout), owned here:
//!
//! ```text
//! features.json                  the index: rows, width, shard files (shards::Index)
//! features.npy | features-NNNNN.npy   float32 rows (shards of a large set)
//! features.parquet               the same rows with id, image_id, split, source[, label]
//! ```

use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::features::FeatureMatrix;
use crate::features::output::PARQUET;
use crate::table::Table;

#[derive(Debug, Clone)]
pub struct FeaturesArtifact {
    dir: PathBuf,
}

impl FeaturesArtifact {
    pub fn at(dir: &Path) -> FeaturesArtifact {
        FeaturesArtifact {
            dir: dir.to_path_buf(),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `features.parquet`.
    pub fn table_path(&self) -> PathBuf {
        self.dir.join(PARQUET)
    }

    /// The rows' metadata (and vectors) as written to `features.parquet`.
    pub fn read_table(&self) -> Result<Table> {
        Table::read(&self.table_path())
    }

    /// The named metadata columns of `features.parquet`, without the vectors (which
    /// [`FeaturesArtifact::open_matrix`] maps): memory for the ids, not for n x d values.
    pub fn read_columns(&self, columns: &[&str]) -> Result<Table> {
        Table::read_columns(&self.table_path(), columns)
    }

    /// The vectors, memory-mapped.
    pub fn open_matrix(&self) -> Result<FeatureMatrix> {
        FeatureMatrix::open(&self.dir)
    }
}
