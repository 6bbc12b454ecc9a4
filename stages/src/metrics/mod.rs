//! The representational-similarity metrics: the `measures` crate (its own crate, so that the
//! Python module builds it without ONNX Runtime, Burn or polars), re-exported here with what
//! ties it to the stages: retrieval ranking in an aligned space, and the metric as a table cell.

pub use measures::*;

pub mod retrieval;

use crate::error::Result;
use crate::table::{Cell, Column, Table};

impl Cell for Metric {
    fn column(values: Vec<Self>) -> Column {
        Column::Str(values.iter().map(|m| m.name().to_string()).collect())
    }

    fn read(table: &Table, name: &str) -> Result<Vec<Self>> {
        let expected = Metric::ALL.map(Metric::name).join(", ");
        table.parsed(name, |s| Metric::parse(s).ok(), &expected)
    }
}
