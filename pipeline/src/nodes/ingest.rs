//! `ingest`: the image–caption dataset, validated and split → the ingest artifact.

use std::path::PathBuf;

use stages::dataset::DatasetSpec;
use stages::dataset::ingest::{self, IngestArtifact};
use stages::dataset::spec::DatasetKind;

use crate::config::Config;
use crate::engine::error::Result;
use crate::engine::stage::{Problem, Stage, StageContext, StageId};
use crate::nodes::ids;

pub struct IngestNode;

/// `[dataset] split_source`'s key.
const SPLIT_SOURCE: &str = "split_source";

impl Stage for IngestNode {
    type Params = DatasetSpec;

    fn name(&self) -> StageId {
        ids::ingest()
    }

    fn version(&self) -> u32 {
        ingest::VERSION
    }

    fn section(&self) -> String {
        "dataset".into()
    }

    fn inputs(&self) -> Vec<StageId> {
        Vec::new()
    }

    fn defaults(&self) -> DatasetSpec {
        DatasetSpec::default()
    }

    /// Tux Paint has no split of its own, so where its split comes from changes nothing: its
    /// key leaves `split_source` out (and stays what it was before the setting existed).
    fn key_params(&self, spec: &DatasetSpec) -> Result<serde_json::Value> {
        let mut value = serde_json::to_value(spec).map_err(|e| {
            crate::engine::error::EngineError::Other(format!("ingest: parameters: {e}"))
        })?;
        if spec.kind == DatasetKind::Tuxpaint
            && let serde_json::Value::Object(map) = &mut value
        {
            map.remove(SPLIT_SOURCE);
        }
        Ok(value)
    }

    fn config_sections(&self, defaults: &serde_json::Value) -> Vec<(String, serde_json::Value)> {
        let mut own = defaults.clone();
        if let serde_json::Value::Object(map) = &mut own {
            let value =
                serde_json::to_value(DatasetSpec::default().split_source).expect("a plain enum");
            map.insert(SPLIT_SOURCE.into(), value);
        }
        vec![(self.section(), own)]
    }

    fn problems(&self, spec: &DatasetSpec) -> Vec<Problem> {
        Problem::in_section(&self.section(), spec.problems())
    }

    fn externals(&self, spec: &DatasetSpec, config: &Config) -> Result<Vec<PathBuf>> {
        Ok(ingest::inputs(spec, &config.root))
    }

    fn run(&self, ctx: &StageContext, spec: &DatasetSpec) -> anyhow::Result<()> {
        let ingested = ingest::ingest(spec, ctx.root)?;
        IngestArtifact::at(&ctx.out_dir).write(&ingested)?;
        let s = &ingested.summary;
        let test = if s.dataset_split {
            format!(", {} test; the dataset's own split", s.test_records)
        } else {
            String::new()
        };
        eprintln!(
            "ingest: {} pairs of {} images ({} train, {} val{test}); {} rejected",
            s.records, s.images, s.train_records, s.val_records, s.rejected
        );
        for m in &s.identical_images_merged {
            eprintln!(
                "ingest: {} is byte-identical to {}: one image, the captions of both",
                m.path, m.same_as
            );
        }
        Ok(())
    }
}
