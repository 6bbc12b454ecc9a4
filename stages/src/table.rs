//! Parquet tables others can open (pandas, polars, DuckDB): writing columns of strings, integers,
//! floats and fixed-size float vectors, and reading them back.
//!
//! A result type owns its schema: [`Record`] (usually through [`parquet_record!`]) writes rows
//! of the type as columns named after its fields and reads them back, each field's column type
//! given by [`Cell`], so a writer and its readers cannot disagree on a column's name or type.

use std::path::Path;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type, Int64Type};
use arrow_array::{
    Array, ArrayRef, BooleanArray, FixedSizeListArray, Float32Array, Float64Array, Int64Array,
    RecordBatch, StringArray,
};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::{ArrowWriter, ProjectionMask};
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::error::{Error, Result};

mod csv;

pub use self::csv::write_csv;

pub enum Column {
    Str(Vec<String>),
    I64(Vec<i64>),
    F64(Vec<f64>),
    /// Floats with nulls (a number a row does not have).
    OptF64(Vec<Option<f64>>),
    Bool(Vec<bool>),
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
            Column::OptF64(v) => (DataType::Float64, Arc::new(Float64Array::from(v))),
            Column::Bool(v) => (DataType::Boolean, Arc::new(BooleanArray::from(v))),
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
pub fn write<S: AsRef<str>>(path: &Path, columns: Vec<(S, Column)>) -> Result<()> {
    let mut columns = Some(columns);
    write_groups(path, 0, |_| columns.take().unwrap_or_default())
}

/// Rows per Parquet row group: what [`write_groups`] holds in memory at once.
pub const ROW_GROUP: usize = 8192;

fn batch_of<S: AsRef<str>>(path: &Path, columns: Vec<(S, Column)>) -> Result<RecordBatch> {
    let mut fields = Vec::new();
    let mut arrays = Vec::new();
    for (name, col) in columns {
        let nullable = matches!(col, Column::OptF64(_));
        let (ty, array) = col.into_array();
        fields.push(Field::new(name.as_ref(), ty, nullable));
        arrays.push(array);
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).map_err(|e| parquet_err(path, e))
}

/// Writes a table of `rows` rows one row group at a time: `group(range)` gives the columns of
/// the rows in `range` (ranges of [`ROW_GROUP`] rows, in order; one call with `0..0` for an
/// empty table). Memory is one group's, however long the table. [`write`] is the same with
/// every row in one call.
pub fn write_groups<S: AsRef<str>>(
    path: &Path,
    rows: usize,
    mut group: impl FnMut(std::ops::Range<usize>) -> Vec<(S, Column)>,
) -> Result<()> {
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(ROW_GROUP))
        .build();
    let mut writer: Option<ArrowWriter<std::fs::File>> = None;
    let mut start = 0;
    loop {
        let end = (start + ROW_GROUP).min(rows);
        let batch = batch_of(path, group(start..end))?;
        let w = match &mut writer {
            Some(w) => w,
            None => {
                let file = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
                let w = ArrowWriter::try_new(file, batch.schema(), Some(props.clone()))
                    .map_err(|e| parquet_err(path, e))?;
                writer.insert(w)
            }
        };
        w.write(&batch).map_err(|e| parquet_err(path, e))?;
        start = end;
        if start >= rows {
            break;
        }
    }
    writer
        .expect("at least one group was written")
        .close()
        .map_err(|e| parquet_err(path, e))?;
    Ok(())
}

/// Every record batch of a Parquet file. The parquet crate panics on some malformed files
/// (metadata that contradicts itself): that is caught here and reported as an unreadable file,
/// so a user's bad manifest is an error naming it, never a crash.
pub fn read_batches(path: &Path) -> Result<Vec<RecordBatch>> {
    read_projected(path, None)
}

/// [`read_batches`] of the named columns only (all of them with None): a features table's
/// metadata without its vectors.
fn read_projected(path: &Path, columns: Option<&[&str]>) -> Result<Vec<RecordBatch>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let read = || -> Result<Vec<RecordBatch>> {
        let mut builder =
            ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| parquet_err(path, e))?;
        if let Some(names) = columns {
            let mask = ProjectionMask::columns(builder.parquet_schema(), names.iter().copied());
            builder = builder.with_projection(mask);
        }
        let reader = builder.build().map_err(|e| parquet_err(path, e))?;
        reader
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| parquet_err(path, e))
    };
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(read)).unwrap_or_else(|panic| {
        let msg = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("malformed file");
        Err(parquet_err(
            path,
            format!("not a readable Parquet file: {msg}"),
        ))
    })
}

/// A whole table read back, one concatenated array per column.
pub struct Table {
    path: std::path::PathBuf,
    batches: Vec<RecordBatch>,
}

impl Table {
    /// Reads a whole Parquet file ([`read_batches`]).
    pub fn read(path: &Path) -> Result<Table> {
        Ok(Table {
            path: path.to_path_buf(),
            batches: read_batches(path)?,
        })
    }

    /// Reads the named columns of a Parquet file; a missing one is an error when it is asked
    /// for ([`Table::strings`] and the other accessors name it).
    pub fn read_columns(path: &Path, columns: &[&str]) -> Result<Table> {
        Ok(Table {
            path: path.to_path_buf(),
            batches: read_projected(path, Some(columns))?,
        })
    }

    /// The column names, in file order.
    pub fn column_names(&self) -> Vec<String> {
        self.batches
            .first()
            .map(|b| {
                b.schema()
                    .fields()
                    .iter()
                    .map(|f| f.name().clone())
                    .collect()
            })
            .unwrap_or_default()
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

    /// The values of string column `name` through `parse`; a value it rejects is an error that
    /// names the file, the column, the row and what was `expected`.
    pub fn parsed<T>(
        &self,
        name: &str,
        parse: impl Fn(&str) -> Option<T>,
        expected: &str,
    ) -> Result<Vec<T>> {
        self.strings(name)?
            .iter()
            .enumerate()
            .map(|(i, s)| {
                parse(s).ok_or_else(|| {
                    parquet_err(
                        &self.path,
                        format!("column `{name}` row {i}: `{s}`, expected one of {expected}"),
                    )
                })
            })
            .collect()
    }

    /// Column `name` as non-negative integers.
    pub fn counts(&self, name: &str) -> Result<Vec<usize>> {
        self.i64s(name)?
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                usize::try_from(v).map_err(|_| {
                    parquet_err(
                        &self.path,
                        format!("column `{name}` row {i}: {v}, expected a count (>= 0)"),
                    )
                })
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

/// A type stored as one Parquet column.
pub trait Cell: Sized + Clone {
    fn column(values: Vec<Self>) -> Column;
    fn read(table: &Table, name: &str) -> Result<Vec<Self>>;
}

impl Cell for String {
    fn column(values: Vec<Self>) -> Column {
        Column::Str(values)
    }
    fn read(table: &Table, name: &str) -> Result<Vec<Self>> {
        table.strings(name)
    }
}

impl Cell for f64 {
    fn column(values: Vec<Self>) -> Column {
        Column::F64(values)
    }
    fn read(table: &Table, name: &str) -> Result<Vec<Self>> {
        table.f64s(name)
    }
}

impl Cell for i64 {
    fn column(values: Vec<Self>) -> Column {
        Column::I64(values)
    }
    fn read(table: &Table, name: &str) -> Result<Vec<Self>> {
        table.i64s(name)
    }
}

/// Counts are int64 in the file (Parquet has no unsigned 64-bit type pandas reads as such).
impl Cell for usize {
    fn column(values: Vec<Self>) -> Column {
        Column::I64(values.into_iter().map(|v| v as i64).collect())
    }
    fn read(table: &Table, name: &str) -> Result<Vec<Self>> {
        table.counts(name)
    }
}

/// Rows of a type written as one Parquet table and read back.
pub trait Record: Sized {
    /// The columns of `rows`, in file order.
    fn columns(rows: &[Self]) -> Vec<(String, Column)>;
    /// The rows of a table written by [`Record::columns`].
    fn from_table(table: &Table) -> Result<Vec<Self>>;
}

/// Writes `rows` to `path`.
pub fn write_records<R: Record>(path: &Path, rows: &[R]) -> Result<()> {
    // A row group's columns at a time: the same row groups as one batch of every row (the
    // writer cuts at ROW_GROUP either way), without a copy of the whole table.
    write_groups(path, rows.len(), |range| R::columns(&rows[range]))
}

/// Reads the rows of type `R` from `path`; a missing column or a column of another type is an
/// error naming the file and the column.
pub fn read_records<R: Record>(path: &Path) -> Result<Vec<R>> {
    R::from_table(&Table::read(path)?)
}

/// Implements [`Record`] for a struct whose fields are all [`Cell`]s: one column per field, named
/// after it, in the order listed.
#[macro_export]
macro_rules! parquet_record {
    ($ty:ident { $($field:ident),+ $(,)? }) => {
        impl $crate::table::Record for $ty {
            fn columns(rows: &[Self]) -> Vec<(String, $crate::table::Column)> {
                vec![$((
                    stringify!($field).to_string(),
                    $crate::table::Cell::column(rows.iter().map(|r| r.$field.clone()).collect()),
                )),+]
            }

            fn from_table(table: &$crate::table::Table) -> $crate::Result<Vec<Self>> {
                // Each column's values are moved into the rows, not copied.
                $(let mut $field = $crate::table::Cell::read(table, stringify!($field))?
                    .into_iter();)+
                Ok((0..table.num_rows())
                    .map(|_| $ty {
                        $($field: $field.next().expect("a column has a value per row")),+
                    })
                    .collect())
            }
        }
    };
}

#[cfg(test)]
mod tests;
