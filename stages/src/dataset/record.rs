//! Records before and after validation.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// A record as a reader found it: the caption may already be known to be bad (unreadable file,
/// not UTF-8); the image is checked by [`crate::dataset::validate`].
#[derive(Debug, Clone)]
pub struct Candidate {
    /// Unique per record (one image–caption pair).
    pub id: String,
    /// Shared by the records of one image; the split is by image.
    pub image_id: String,
    pub image_path: PathBuf,
    pub caption: Result<String, String>,
    /// The dataset's own split of this record, where it gives one (Karpathy's JSON, a
    /// manifest's `split` column).
    pub split: Option<Split>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    Train,
    Val,
    /// Only where the dataset gives its own split (the seeded split has none).
    Test,
}

impl Split {
    pub fn as_str(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Val => "val",
            Split::Test => "test",
        }
    }

    pub fn parse(s: &str) -> Option<Split> {
        match s {
            "train" => Some(Split::Train),
            "val" => Some(Split::Val),
            "test" => Some(Split::Test),
            _ => None,
        }
    }
}

impl crate::table::Cell for Split {
    fn column(values: Vec<Self>) -> crate::table::Column {
        crate::table::Column::Str(values.iter().map(|s| s.as_str().to_string()).collect())
    }

    fn read(table: &crate::table::Table, name: &str) -> crate::Result<Vec<Self>> {
        table.parsed(name, Split::parse, "`train`, `val`, `test`")
    }
}

/// A validated record, as the ingest manifest stores it.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub id: String,
    pub image_id: String,
    /// Relative to the project root when inside it (so manifests do not depend on the checkout's
    /// location), else absolute.
    pub image_path: String,
    /// blake3 of the image file's bytes.
    pub image_blake3: String,
    pub caption: String,
    pub split: Split,
}

crate::parquet_record!(Record {
    id,
    image_id,
    image_path,
    image_blake3,
    caption,
    split,
});

/// A record that failed validation, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BadRecord {
    pub id: String,
    pub path: String,
    pub reason: String,
}

crate::parquet_record!(BadRecord { id, path, reason });
