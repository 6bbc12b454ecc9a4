//! `features.parquet`: one row per encoded item: id, image_id, split, source (the image file's
//! path relative to the repository, or the caption text; for probe sets the class name), an
//! optional `label`, and the vector, FixedSizeList<Float32, D>. The same numbers as the `.npy`
//! shards, with the metadata a person needs to use them.

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
    write_parquet_labelled(dir, meta, None, matrix)
}

/// As [`write_parquet`], with an int64 `label` column (probe sets).
pub fn write_parquet_labelled(
    dir: &Path,
    meta: &[RowMeta],
    labels: Option<&[i64]>,
    matrix: &FeatureMatrix,
) -> Result<()> {
    assert_eq!(
        meta.len(),
        matrix.rows(),
        "one metadata row per feature row"
    );
    let strings =
        |f: fn(&RowMeta) -> &String| Column::Str(meta.iter().map(|m| f(m).clone()).collect());
    let mut columns = vec![
        ("id", strings(|m| &m.id)),
        ("image_id", strings(|m| &m.image_id)),
        ("split", strings(|m| &m.split)),
        ("source", strings(|m| &m.source)),
    ];
    if let Some(labels) = labels {
        columns.push(("label", Column::I64(labels.to_vec())));
    }
    columns.push((
        "vector",
        Column::Vectors {
            dim: matrix.dim(),
            values: matrix.to_vec(),
        },
    ));
    table::write(&dir.join(PARQUET), columns)
}
