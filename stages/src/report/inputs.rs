//! What the report reads from one adapter's artifacts (train, align, probe): the files those
//! stages wrote, parsed once.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::{Error, Result};
use crate::table::Table;
use crate::train::training::HISTORY;

pub struct AdapterResults {
    pub name: String,
    pub train_dir: PathBuf,
    pub train_config: Value,
    pub history: Table,
    /// align: metrics.json, hypotheses.json, spaces.json
    pub metrics: Value,
    pub hypotheses: Value,
    pub spaces: Value,
    /// probe: probe.json, retrieval.json
    pub probe: Value,
    pub retrieval: Value,
}

fn json(path: &Path) -> Result<Value> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| Error::Invalid {
        what: path.display().to_string(),
        message: e.to_string(),
    })
}

impl AdapterResults {
    pub fn load(name: &str, train: &Path, align: &Path, probe: &Path) -> Result<AdapterResults> {
        Ok(AdapterResults {
            name: name.into(),
            train_dir: train.to_path_buf(),
            train_config: json(&train.join("config.json"))?,
            history: Table::read(&train.join(HISTORY))?,
            metrics: json(&align.join("metrics.json"))?,
            hypotheses: json(&align.join("hypotheses.json"))?,
            spaces: json(&align.join("spaces.json"))?,
            probe: json(&probe.join("probe.json"))?,
            retrieval: json(&probe.join("retrieval.json"))?,
        })
    }

    pub fn metric_rows(&self) -> &[Value] {
        self.metrics["rows"].as_array().map_or(&[], Vec::as_slice)
    }

    pub fn tests(&self) -> &[Value] {
        self.hypotheses["tests"]
            .as_array()
            .map_or(&[], Vec::as_slice)
    }

    /// Score of `metric` on `pair` (e.g. "aligned_image-reference").
    pub fn score(&self, metric: &str, pair: &str) -> f64 {
        self.metric_rows()
            .iter()
            .find(|r| r["metric"] == metric && r["pair"] == pair)
            .and_then(|r| r["score"].as_f64())
            .unwrap_or(f64::NAN)
    }

    pub fn space(&self, name: &str, field: &str) -> f64 {
        self.spaces["spaces"]
            .as_array()
            .and_then(|a| a.iter().find(|s| s["space"] == name))
            .and_then(|s| s[field].as_f64())
            .unwrap_or(f64::NAN)
    }
}
