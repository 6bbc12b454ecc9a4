//! `features.parquet`: one row per encoded item: id, image_id, split, source (the image file's
//! path relative to the repository, or the caption text; for probe sets the class name), an
//! optional `label`, and the vector, FixedSizeList<Float32, D>. The same numbers as the `.npy`
//! shards, with the metadata a person needs to use them.

use std::path::Path;

use crate::error::{Error, Result};
use crate::features::matrix::FeatureMatrix;
use crate::table::{self, Column};

pub const PARQUET: &str = "features.parquet";

/// With an encoder's `layers`: which columns of a row hold which layer.
const LAYERS_JSON: &str = "layers.json";

/// One layer's columns in a features row: `offset..offset + dim`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerSlice {
    /// The model output it was read from.
    pub name: String,
    pub offset: usize,
    pub dim: usize,
}

pub fn write_layers(dir: &Path, layers: &[LayerSlice]) -> Result<()> {
    crate::json::write(&dir.join(LAYERS_JSON), layers)
}

/// The layers of a features artifact; None for one without a layer axis (one output per row).
pub fn read_layers(dir: &Path) -> Result<Option<Vec<LayerSlice>>> {
    let path = dir.join(LAYERS_JSON);
    if !path.exists() {
        return Ok(None);
    }
    crate::json::read(&path).map(Some)
}

/// The layers of the features artifact `dir`, whose rows are `width` wide: its `layers.json`,
/// each layer checked to lie within the row, or the whole row as one unnamed layer.
pub fn layers_of(dir: &Path, width: usize) -> Result<Vec<LayerSlice>> {
    let Some(layers) = read_layers(dir)? else {
        return Ok(vec![LayerSlice {
            name: String::new(),
            offset: 0,
            dim: width,
        }]);
    };
    if let Some(l) = layers.iter().find(|l| l.offset + l.dim > width) {
        return Err(Error::Invalid {
            what: dir.display().to_string(),
            message: format!(
                "layer `{}` spans columns {}..{} of {width}-d rows",
                l.name,
                l.offset,
                l.offset + l.dim
            ),
        });
    }
    Ok(layers)
}

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
    // One row group at a time: a table of 150,000 1,280-d vectors is never copied whole.
    table::write_groups(&dir.join(PARQUET), meta.len(), |range| {
        let rows = &meta[range.clone()];
        let strings =
            |f: fn(&RowMeta) -> &String| Column::Str(rows.iter().map(|m| f(m).clone()).collect());
        let mut columns = vec![
            ("id", strings(|m| &m.id)),
            ("image_id", strings(|m| &m.image_id)),
            ("split", strings(|m| &m.split)),
            ("source", strings(|m| &m.source)),
        ];
        if let Some(labels) = labels {
            columns.push(("label", Column::I64(labels[range.clone()].to_vec())));
        }
        let mut values = Vec::with_capacity(range.len() * matrix.dim());
        for i in range {
            values.extend_from_slice(matrix.row(i));
        }
        columns.push((
            "vector",
            Column::Vectors {
                dim: matrix.dim(),
                values,
            },
        ));
        columns
    })
}
