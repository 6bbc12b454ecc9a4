//! `report`: the HTML page over every adapter's train, align and probe artifacts and the model
//! set's (stages::report). Parameters in `[report]`; the figures' font is an external file.

use std::path::PathBuf;

use stages::evaluate::align::AlignArtifact;
use stages::evaluate::probe::ProbeArtifact;
use stages::report::page::ModelsetInputs;
use stages::report::{self, AdapterArtifacts, ReportConfig, ReportInputs};
use stages::train::TrainArtifact;

use crate::config::Config;
use crate::engine::error::Result;
use crate::engine::stage::{Stage, StageContext, StageId};
use crate::nodes::ids;

pub struct ReportNode {
    pub adapters: Vec<String>,
}

impl Stage for ReportNode {
    type Params = ReportConfig;

    fn name(&self) -> StageId {
        ids::report()
    }

    fn version(&self) -> u32 {
        report::VERSION
    }

    fn section(&self) -> String {
        "report".into()
    }

    fn inputs(&self) -> Vec<StageId> {
        let mut v = super::paired_features();
        for a in &self.adapters {
            v.extend([ids::train(a), ids::align(a), ids::probe(a)]);
        }
        v.extend([ids::align(ids::MODELSET), ids::probe(ids::MODELSET)]);
        v
    }

    fn defaults(&self) -> ReportConfig {
        ReportConfig::default()
    }

    fn externals(&self, p: &ReportConfig, config: &Config) -> Result<Vec<PathBuf>> {
        let mut files = vec![config.resolve(&p.font)];
        let bold = config.resolve(&p.font_bold);
        if bold.is_file() {
            files.push(bold);
        }
        Ok(files)
    }

    fn run(&self, ctx: &StageContext, config: &ReportConfig) -> anyhow::Result<()> {
        let data = super::open_paired_features(ctx)?;
        let mut adapters = Vec::new();
        for a in &self.adapters {
            adapters.push(AdapterArtifacts {
                name: a.clone(),
                train: TrainArtifact::at(ctx.input(&ids::train(a))?),
                align: AlignArtifact::at(ctx.input(&ids::align(a))?),
                probe: ProbeArtifact::at(ctx.input(&ids::probe(a))?),
            });
        }
        let inputs = ReportInputs {
            data: &data,
            ingest: ctx.input(&ids::ingest())?,
            adapters,
            keys: ctx
                .inputs
                .iter()
                .map(|(name, input)| (name.clone(), input.key.clone()))
                .collect(),
            root: ctx.root,
            modelset: Some(ModelsetInputs {
                matrix: ctx.input(&ids::align(ids::MODELSET))?.to_path_buf(),
                competence: ctx.input(&ids::probe(ids::MODELSET))?.to_path_buf(),
            }),
        };
        report::run(config, &inputs, &ctx.out_dir)?;
        Ok(())
    }
}
