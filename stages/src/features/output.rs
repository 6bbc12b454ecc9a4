//! `features.parquet`: one row per encoded item: id, image_id, split, source (the image file's
//! path relative to the repository, or the caption text) and the vector, FixedSizeList<Float32, D>.
//! The same numbers as the `.npy` shards, with the metadata a person needs to use them.

use std::path::Path;

use crate::error::Result;
use crate::features::matrix::FeatureMatrix;
use crate::table::{self, Column};

pub const PARQUET: &str = "features.parquet";

pub struct RowMeta {
    pub id: String,
    pub image_id: String,
    pub split: String,
    pub source: String,
}

pub fn write_parquet(dir: &Path, meta: &[RowMeta], matrix: &FeatureMatrix) -> Result<()> {
    assert_eq!(
        meta.len(),
        matrix.rows(),
        "one metadata row per feature row"
    );
    table::write(
        &dir.join(PARQUET),
        vec![
            (
                "id",
                Column::Str(meta.iter().map(|m| m.id.clone()).collect()),
            ),
            (
                "image_id",
                Column::Str(meta.iter().map(|m| m.image_id.clone()).collect()),
            ),
            (
                "split",
                Column::Str(meta.iter().map(|m| m.split.clone()).collect()),
            ),
            (
                "source",
                Column::Str(meta.iter().map(|m| m.source.clone()).collect()),
            ),
            (
                "vector",
                Column::Vectors {
                    dim: matrix.dim(),
                    values: matrix.to_vec(),
                },
            ),
        ],
    )
}
