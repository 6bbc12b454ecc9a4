//! A user's own manifest: a CSV or Parquet file with an image path column and a caption column
//! (names from `[dataset] image_column` / `caption_column`), and optionally an `id` column and a
//! `split` column (train / val / test on every row: the dataset's own split).
//! Image paths are relative to the manifest's folder unless absolute. Rows sharing an image path
//! share an image id (so the split keeps them together).

use std::path::Path;

use arrow_array::Array;
use arrow_array::cast::AsArray;
use arrow_schema::DataType;

use crate::dataset::record::{Candidate, Split};
use crate::error::{Error, Result};

struct Row {
    id: Option<String>,
    image: String,
    caption: Result<String, String>,
    split: Option<Split>,
}

/// The optional split column's name.
const SPLIT_COLUMN: &str = "split";

/// A `split` cell: train, val or test (anything else names the row).
fn parse_split(value: Option<&str>, row: &str) -> std::result::Result<Split, String> {
    match value {
        Some(v) => Split::parse(v.trim())
            .ok_or_else(|| format!("{row}: split `{v}`: expected `train`, `val` or `test`")),
        None => Err(format!(
            "{row}: split is empty: expected `train`, `val` or `test`"
        )),
    }
}

pub fn read(path: &Path, image_column: &str, caption_column: &str) -> Result<Vec<Candidate>> {
    let rows = match path.extension().and_then(|e| e.to_str()) {
        Some("parquet") => read_parquet(path, image_column, caption_column)?,
        Some("csv") => read_csv(path, image_column, caption_column)?,
        _ => {
            return Err(Error::Invalid {
                what: path.display().to_string(),
                message: "a dataset manifest must be a .csv or .parquet file".into(),
            });
        }
    };
    let base = path.parent().unwrap_or(Path::new("."));
    Ok(rows
        .into_iter()
        .enumerate()
        .map(|(i, r)| Candidate {
            id: r.id.unwrap_or_else(|| format!("row-{i}")),
            // The path as written, extension included: two files are two images.
            image_id: r.image.clone(),
            image_path: base.join(&r.image),
            caption: r.caption,
            split: r.split,
        })
        .collect())
}

fn missing_column(path: &Path, name: &str, have: &[String]) -> Error {
    Error::Invalid {
        what: path.display().to_string(),
        message: format!("no column `{name}` (columns: {})", have.join(", ")),
    }
}

fn read_csv(path: &Path, image_column: &str, caption_column: &str) -> Result<Vec<Row>> {
    let invalid = |message: String| Error::Invalid {
        what: path.display().to_string(),
        message,
    };
    let mut reader = csv::Reader::from_path(path).map_err(|e| invalid(e.to_string()))?;
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| invalid(e.to_string()))?
        .iter()
        .map(str::to_string)
        .collect();
    let col = |name: &str| headers.iter().position(|h| h == name);
    let img = col(image_column).ok_or_else(|| missing_column(path, image_column, &headers))?;
    let cap = col(caption_column).ok_or_else(|| missing_column(path, caption_column, &headers))?;
    let id = col("id");
    let split = col(SPLIT_COLUMN);
    let mut rows = Vec::new();
    for (i, rec) in reader.byte_records().enumerate() {
        let line = i + 2;
        let rec = rec.map_err(|e| invalid(format!("line {line}: {e}")))?;
        let text = |j: usize| rec.get(j).map(|b| String::from_utf8(b.to_vec()));
        let image = match text(img) {
            Some(Ok(s)) => s,
            _ => {
                return Err(invalid(format!(
                    "line {line}: image path missing or not UTF-8"
                )));
            }
        };
        let caption = match text(cap) {
            Some(Ok(s)) => Ok(s.trim().to_string()),
            Some(Err(_)) => Err(format!("line {line}: caption is not UTF-8")),
            None => Err(format!("line {line}: no caption field")),
        };
        let split = match split {
            Some(j) => {
                let value = text(j).and_then(|r| r.ok()).filter(|v| !v.is_empty());
                Some(parse_split(value.as_deref(), &format!("line {line}")).map_err(invalid)?)
            }
            None => None,
        };
        rows.push(Row {
            id: id.and_then(text).and_then(|r| r.ok()),
            image,
            caption,
            split,
        });
    }
    Ok(rows)
}

fn read_parquet(path: &Path, image_column: &str, caption_column: &str) -> Result<Vec<Row>> {
    let invalid = |message: String| Error::Invalid {
        what: path.display().to_string(),
        message,
    };
    let mut rows = Vec::new();
    for batch in crate::table::read_batches(path)? {
        let names: Vec<String> = batch
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        let get = |name: &str| -> Result<Vec<Option<String>>> {
            let col = batch
                .column_by_name(name)
                .ok_or_else(|| missing_column(path, name, &names))?;
            strings(col.as_ref()).ok_or_else(|| {
                invalid(format!(
                    "column `{name}` is {}, expected strings",
                    col.data_type()
                ))
            })
        };
        let images = get(image_column)?;
        let captions = get(caption_column)?;
        let ids = if names.iter().any(|n| n == "id") {
            Some(get("id")?)
        } else {
            None
        };
        let splits = if names.iter().any(|n| n == SPLIT_COLUMN) {
            Some(get(SPLIT_COLUMN)?)
        } else {
            None
        };
        for i in 0..batch.num_rows() {
            let row = rows.len();
            let image = images[i]
                .clone()
                .ok_or_else(|| invalid(format!("row {row}: image path is null")))?;
            let split = match &splits {
                Some(v) => {
                    Some(parse_split(v[i].as_deref(), &format!("row {row}")).map_err(invalid)?)
                }
                None => None,
            };
            rows.push(Row {
                id: ids.as_ref().and_then(|v| v[i].clone()),
                split,
                image,
                caption: captions[i]
                    .clone()
                    .map(|c| c.trim().to_string())
                    .ok_or_else(|| format!("row {row}: caption is null")),
            });
        }
    }
    Ok(rows)
}

/// String columns in any of Arrow's three string layouts (polars writes large or view strings).
fn strings(col: &dyn Array) -> Option<Vec<Option<String>>> {
    let collect =
        |it: &mut dyn Iterator<Item = Option<&str>>| it.map(|s| s.map(str::to_string)).collect();
    match col.data_type() {
        DataType::Utf8 => Some(collect(&mut col.as_string::<i32>().iter())),
        DataType::LargeUtf8 => Some(collect(&mut col.as_string::<i64>().iter())),
        DataType::Utf8View => Some(collect(&mut col.as_string_view().iter())),
        _ => None,
    }
}
