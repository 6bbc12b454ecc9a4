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

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
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

impl std::fmt::Display for Split {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Split {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Split {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        // The value itself is named by whoever reports the error (the config names the key).
        Split::parse(&s)
            .ok_or_else(|| serde::de::Error::custom("expected `train`, `val` or `test`"))
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
