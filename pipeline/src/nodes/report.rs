//! `report`: the HTML page over every adapter's train, align and probe artifacts
//! (stages::report). Parameters in `[report]`; the figures' font is an external file.

use std::path::PathBuf;

use serde_json::Value;
use stages::report::{self, ReportConfig, ReportInputs};

use crate::config::Config;
use crate::engine::error::{EngineError, Result};
use crate::engine::stage::{Stage, StageContext};

pub struct ReportNode {
    pub adapters: Vec<String>,
}

impl Stage for ReportNode {
    fn name(&self) -> String {
        "report".into()
    }

    fn version(&self) -> u32 {
        report::VERSION
    }

    fn section(&self) -> String {
        "report".into()
    }

    fn inputs(&self) -> Vec<String> {
        let mut v: Vec<String> = super::PAIRED_FEATURES.map(String::from).to_vec();
        for a in &self.adapters {
            v.push(format!("train:{a}"));
            v.push(format!("align:{a}"));
            v.push(format!("probe:{a}"));
        }
        v
    }

    fn params(&self, config: &Config) -> Result<Value> {
        config.typed::<ReportConfig>("report").map(|(_, v)| v)
    }

    fn externals(&self, params: &Value, config: &Config) -> Result<Vec<PathBuf>> {
        let p: ReportConfig = serde_json::from_value(params.clone())
            .map_err(|e| EngineError::Config(format!("[report]: {e}")))?;
        let mut files = vec![config.resolve(&p.font)];
        let bold = config.resolve(&p.font_bold);
        if bold.is_file() {
            files.push(bold);
        }
        Ok(files)
    }

    fn run(&self, ctx: &StageContext) -> anyhow::Result<()> {
        let config: ReportConfig = ctx.params()?;
        let data = super::paired_features(ctx)?;
        let mut adapters = Vec::new();
        for a in &self.adapters {
            adapters.push((
                a.clone(),
                ctx.input(&format!("train:{a}"))?.to_path_buf(),
                ctx.input(&format!("align:{a}"))?.to_path_buf(),
                ctx.input(&format!("probe:{a}"))?.to_path_buf(),
            ));
        }
        let keys = ctx
            .inputs
            .iter()
            .map(|(name, dir)| {
                let key = dir.file_name().map(|k| k.to_string_lossy().to_string());
                (name.clone(), key.unwrap_or_default())
            })
            .collect();
        let inputs = ReportInputs {
            data: &data,
            ingest: ctx.input("ingest")?,
            adapters,
            keys,
            root: ctx.root,
        };
        report::run(&config, &inputs, &ctx.out_dir)?;
        Ok(())
    }
}
