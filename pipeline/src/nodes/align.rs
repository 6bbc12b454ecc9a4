//! `align:<name>`: one node per adapter configuration. Scores every metric on the unimodal,
//! trained and untrained pairs of the evaluation split, with intervals, p-values and H1/H2
//! (stages::evaluate::align). Parameters in `[align]`, shared by all adapters.

use serde_json::Value;
use stages::evaluate::align::{self, AlignConfig};
use stages::train::data::TrainingData;

use crate::config::Config;
use crate::engine::error::Result;
use crate::engine::stage::{Stage, StageContext};

pub struct AlignNode {
    pub adapter: String,
}

impl Stage for AlignNode {
    fn name(&self) -> String {
        format!("align:{}", self.adapter)
    }

    fn version(&self) -> u32 {
        stages::evaluate::VERSION * 1000 + stages::metrics::VERSION
    }

    fn section(&self) -> String {
        "align".into()
    }

    fn inputs(&self) -> Vec<String> {
        vec![
            "ingest".into(),
            "features:image".into(),
            "features:text".into(),
            "features:reference".into(),
            format!("train:{}", self.adapter),
        ]
    }

    fn params(&self, config: &Config) -> Result<Value> {
        let (typed, json): (AlignConfig, Value) = config.typed("align")?;
        // Fail at configuration time, not after the features are built.
        typed
            .metric_list()
            .and_then(|_| typed.split())
            .map_err(|e| crate::engine::EngineError::Config(format!("[align]: {e}")))?;
        Ok(json)
    }

    fn run(&self, ctx: &StageContext) -> anyhow::Result<()> {
        let config: AlignConfig = ctx.params()?;
        let data = TrainingData::open(
            ctx.input("ingest")?,
            ctx.input("features:image")?,
            ctx.input("features:text")?,
            ctx.input("features:reference")?,
        )?;
        let clock = std::time::Instant::now();
        let name = ctx.name;
        let summary = align::run(
            &config,
            &data,
            ctx.input(&format!("train:{}", self.adapter))?,
            &ctx.out_dir,
            &|step| tracing::info!("{name}: {step}"),
        )?;
        let count = |v: &str| {
            summary
                .tests
                .iter()
                .filter(|t| t.adapter == "trained" && t.tested == "aligned_image" && t.verdict == v)
                .count()
        };
        eprintln!(
            "{name}: {} pairs scored in {:.1} s; H1/H2 for the aligned image over all metrics: \
             {} supported, {} inconclusive, {} contradicted",
            summary.rows,
            clock.elapsed().as_secs_f64(),
            count("supported"),
            count("inconclusive"),
            count("contradicted"),
        );
        Ok(())
    }
}
