//! Parquet tables others can open (pandas, polars, DuckDB): writing columns of strings, integers,
//! floats and fixed-size float vectors, and reading them back.

use std::path::Path;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type, Int64Type};
use arrow_array::{
    Array, ArrayRef, FixedSizeListArray, Float32Array, Float64Array, Int64Array, RecordBatch,
    StringArray,
};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::error::{Error, Result};

pub enum Column {
    Str(Vec<String>),
    I64(Vec<i64>),
    F64(Vec<f64>),
    /// Row-major `rows × dim` values, stored as FixedSizeList<Float32, dim>.
    Vectors {
        dim: usize,
        values: Vec<f32>,
    },
}

impl Column {
    fn into_array(self) -> (DataType, ArrayRef) {
        match self {
            Column::Str(v) => (DataType::Utf8, Arc::new(StringArray::from(v))),
            Column::I64(v) => (DataType::Int64, Arc::new(Int64Array::from(v))),
            Column::F64(v) => (DataType::Float64, Arc::new(Float64Array::from(v))),
            Column::Vectors { dim, values } => {
                let item = Arc::new(Field::new("item", DataType::Float32, false));
                let list = FixedSizeListArray::new(
                    item.clone(),
                    dim as i32,
                    Arc::new(Float32Array::from(values)),
                    None,
                );
                (DataType::FixedSizeList(item, dim as i32), Arc::new(list))
            }
        }
    }
}

fn parquet_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Invalid {
        what: path.display().to_string(),
        message: format!("parquet: {e}"),
    }
}

/// Writes one table (snappy-compressed; row groups of at most 64k rows).
pub fn write(path: &Path, columns: Vec<(&str, Column)>) -> Result<()> {
    let mut fields = Vec::new();
    let mut arrays = Vec::new();
    for (name, col) in columns {
        let (ty, array) = col.into_array();
        fields.push(Field::new(name, ty, false));
        arrays.push(array);
    }
    let schema = Arc::new(Schema::new(fields));
    let batch = RecordBatch::try_new(schema.clone(), arrays).map_err(|e| parquet_err(path, e))?;
    let file = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(65_536))
        .build();
    let mut writer =
        ArrowWriter::try_new(file, schema, Some(props)).map_err(|e| parquet_err(path, e))?;
    writer.write(&batch).map_err(|e| parquet_err(path, e))?;
    writer.close().map_err(|e| parquet_err(path, e))?;
    Ok(())
}

/// A whole table read back, one concatenated array per column.
pub struct Table {
    path: std::path::PathBuf,
    batches: Vec<RecordBatch>,
}

impl Table {
    pub fn read(path: &Path) -> Result<Table> {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .map_err(|e| parquet_err(path, e))?
            .build()
            .map_err(|e| parquet_err(path, e))?;
        let batches = reader
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| parquet_err(path, e))?;
        Ok(Table {
            path: path.to_path_buf(),
            batches,
        })
    }

    pub fn num_rows(&self) -> usize {
        self.batches.iter().map(RecordBatch::num_rows).sum()
    }

    fn columns(&self, name: &str) -> Result<Vec<&ArrayRef>> {
        self.batches
            .iter()
            .map(|b| {
                b.column_by_name(name)
                    .ok_or_else(|| parquet_err(&self.path, format!("no column `{name}`")))
            })
            .collect()
    }

    fn wrong_type(&self, name: &str, col: &dyn Array, want: &str) -> Error {
        parquet_err(
            &self.path,
            format!("column `{name}` is {}, expected {want}", col.data_type()),
        )
    }

    pub fn strings(&self, name: &str) -> Result<Vec<String>> {
        let mut out = Vec::with_capacity(self.num_rows());
        for col in self.columns(name)? {
            let arr = col
                .as_string_opt::<i32>()
                .ok_or_else(|| self.wrong_type(name, col.as_ref(), "strings"))?;
            out.extend(arr.iter().map(|s| s.unwrap_or_default().to_string()));
        }
        Ok(out)
    }

    pub fn i64s(&self, name: &str) -> Result<Vec<i64>> {
        let mut out = Vec::with_capacity(self.num_rows());
        for col in self.columns(name)? {
            let arr = col
                .as_primitive_opt::<Int64Type>()
                .ok_or_else(|| self.wrong_type(name, col.as_ref(), "int64"))?;
            out.extend(arr.values().iter().copied());
        }
        Ok(out)
    }

    pub fn f64s(&self, name: &str) -> Result<Vec<f64>> {
        let mut out = Vec::with_capacity(self.num_rows());
        for col in self.columns(name)? {
            let arr = col
                .as_primitive_opt::<Float64Type>()
                .ok_or_else(|| self.wrong_type(name, col.as_ref(), "float64"))?;
            out.extend(arr.values().iter().copied());
        }
        Ok(out)
    }

    /// A FixedSizeList<Float32> column as (dim, row-major values).
    pub fn vectors(&self, name: &str) -> Result<(usize, Vec<f32>)> {
        let mut dim = 0;
        let mut out = Vec::new();
        for col in self.columns(name)? {
            let list = col
                .as_fixed_size_list_opt()
                .ok_or_else(|| self.wrong_type(name, col.as_ref(), "FixedSizeList<Float32>"))?;
            dim = list.value_length() as usize;
            let values = list
                .values()
                .as_primitive_opt::<Float32Type>()
                .ok_or_else(|| self.wrong_type(name, col.as_ref(), "FixedSizeList<Float32>"))?;
            out.extend(values.values().iter().copied());
        }
        Ok((dim, out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let dir = std::env::temp_dir().join(format!("table-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("t.parquet");
        write(
            &p,
            vec![
                ("id", Column::Str(vec!["a".into(), "b".into()])),
                ("n", Column::I64(vec![1, 2])),
                ("x", Column::F64(vec![0.5, 1.5])),
                (
                    "v",
                    Column::Vectors {
                        dim: 3,
                        values: vec![1., 2., 3., 4., 5., 6.],
                    },
                ),
            ],
        )
        .unwrap();
        let t = Table::read(&p).unwrap();
        assert_eq!(t.num_rows(), 2);
        assert_eq!(t.strings("id").unwrap(), vec!["a", "b"]);
        assert_eq!(t.i64s("n").unwrap(), vec![1, 2]);
        assert_eq!(t.f64s("x").unwrap(), vec![0.5, 1.5]);
        assert_eq!(t.vectors("v").unwrap(), (3, vec![1., 2., 3., 4., 5., 6.]));
        assert!(
            t.strings("nope")
                .unwrap_err()
                .to_string()
                .contains("no column `nope`")
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
