//! `ingest`: the image–caption dataset, validated and split → `manifest.parquet`.

use std::path::PathBuf;

use serde_json::Value;
use stages::dataset::DatasetSpec;
use stages::dataset::ingest;

use crate::config::Config;
use crate::engine::error::{EngineError, Result};
use crate::engine::stage::{Stage, StageContext};

pub struct IngestNode;

impl Stage for IngestNode {
    fn name(&self) -> String {
        "ingest".into()
    }

    fn version(&self) -> u32 {
        ingest::VERSION
    }

    fn section(&self) -> String {
        "dataset".into()
    }

    fn inputs(&self) -> Vec<String> {
        Vec::new()
    }

    fn params(&self, config: &Config) -> Result<Value> {
        config.typed::<DatasetSpec>("dataset").map(|(_, v)| v)
    }

    fn externals(&self, params: &Value, config: &Config) -> Result<Vec<PathBuf>> {
        let spec: DatasetSpec = serde_json::from_value(params.clone())
            .map_err(|e| EngineError::Config(format!("[dataset]: {e}")))?;
        Ok(ingest::inputs(&spec, &config.root))
    }

    fn run(&self, ctx: &StageContext) -> anyhow::Result<()> {
        let spec: DatasetSpec = ctx.params()?;
        let ingested = ingest::ingest(&spec, ctx.root)?;
        ingest::write(&ctx.out_dir, &ingested)?;
        let s = &ingested.summary;
        eprintln!(
            "ingest: {} pairs of {} images ({} train, {} val); {} rejected",
            s.records, s.images, s.train_records, s.val_records, s.rejected
        );
        Ok(())
    }
}
