//! The stages' JSON files: written with sorted keys, pretty-printed, newline-terminated (so
//! diffs and hashes are stable), and read back into the type that wrote them, with an error that
//! names the file and the field when they disagree.

use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};

/// Writes `value` to `path` (keys sorted: serde_json's map is ordered).
pub fn write<T: Serialize + ?Sized>(path: &Path, value: &T) -> Result<()> {
    let invalid = |e: serde_json::Error| Error::Invalid {
        what: path.display().to_string(),
        message: e.to_string(),
    };
    let value = serde_json::to_value(value).map_err(invalid)?;
    let mut bytes = serde_json::to_vec_pretty(&value).map_err(invalid)?;
    bytes.push(b'\n');
    std::fs::write(path, bytes).map_err(|e| Error::io(path, e))
}

/// Reads `path` as a `T`.
pub fn read<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| Error::Invalid {
        what: path.display().to_string(),
        message: format!("not what this version of the pipeline writes: {e}"),
    })
}

/// JSON has no NaN: a float that was not measured (NaN) is written as null and read back as NaN.
pub mod nan_as_null {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        if v.is_nan() {
            s.serialize_none()
        } else {
            s.serialize_f64(*v)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Row {
        b: usize,
        #[serde(with = "super::nan_as_null")]
        a: f64,
    }

    #[test]
    fn sorted_keys_nan_as_null_and_named_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("row.json");
        super::write(&p, &Row { b: 2, a: f64::NAN }).unwrap();
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            "{\n  \"a\": null,\n  \"b\": 2\n}\n"
        );
        let back: Row = super::read(&p).unwrap();
        assert!(back.a.is_nan() && back.b == 2);
        std::fs::write(&p, "{\"a\": 1.0, \"c\": 2}").unwrap();
        let err = super::read::<Row>(&p).unwrap_err().to_string();
        assert!(err.contains("row.json") && err.contains("`c`"), "{err}");
    }
}
