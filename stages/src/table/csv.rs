//! The same columns as a CSV file (beside a Parquet table, for people who open CSV).

use std::path::Path;

use super::Column;
use crate::error::{Error, Result};

/// Writes the same columns as a CSV file with a header: numbers in their shortest round-trip
/// form, nulls as empty fields (how pandas, polars and DuckDB read them back).
pub fn write_csv<S: AsRef<str>>(path: &Path, columns: &[(S, Column)]) -> Result<()> {
    let rows = columns.first().map_or(0, |(_, c)| c.len());
    let mut w = csv::Writer::from_path(path).map_err(|e| csv_err(path, e))?;
    w.write_record(columns.iter().map(|(n, _)| n.as_ref()))
        .map_err(|e| csv_err(path, e))?;
    for i in 0..rows {
        w.write_record(columns.iter().map(|(_, c)| c.text(i)))
            .map_err(|e| csv_err(path, e))?;
    }
    w.flush().map_err(|e| Error::io(path, e))
}

fn csv_err(path: &Path, e: csv::Error) -> Error {
    Error::Invalid {
        what: path.display().to_string(),
        message: format!("csv: {e}"),
    }
}

impl Column {
    /// Rows in the column.
    pub fn len(&self) -> usize {
        match self {
            Column::Str(v) => v.len(),
            Column::I64(v) => v.len(),
            Column::F64(v) => v.len(),
            Column::OptF64(v) => v.len(),
            Column::Bool(v) => v.len(),
            Column::Vectors { dim, values } => values.len() / (*dim).max(1),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Row `i` as a CSV field (a vector as its values joined by spaces).
    fn text(&self, i: usize) -> String {
        match self {
            Column::Str(v) => v[i].clone(),
            Column::I64(v) => v[i].to_string(),
            Column::F64(v) => v[i].to_string(),
            Column::OptF64(v) => v[i].map(|x| x.to_string()).unwrap_or_default(),
            Column::Bool(v) => v[i].to_string(),
            Column::Vectors { dim, values } => values[i * dim..(i + 1) * dim]
                .iter()
                .map(f32::to_string)
                .collect::<Vec<_>>()
                .join(" "),
        }
    }
}
