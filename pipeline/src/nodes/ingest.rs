//! `ingest`: the image–caption dataset, validated and split → the ingest artifact.

use std::path::PathBuf;

use stages::dataset::DatasetSpec;
use stages::dataset::ingest::{self, IngestArtifact};

use crate::config::Config;
use crate::engine::error::Result;
use crate::engine::stage::{Problem, Stage, StageContext};

pub struct IngestNode;

impl Stage for IngestNode {
    type Params = DatasetSpec;

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

    fn defaults(&self) -> DatasetSpec {
        DatasetSpec::default()
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
        eprintln!(
            "ingest: {} pairs of {} images ({} train, {} val); {} rejected",
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
