//! `align:<name>`: one node per adapter configuration. Scores every metric on the unimodal,
//! trained and untrained pairs of the evaluation split, with intervals, p-values and H1/H2
//! (stages::evaluate::align). Parameters in `[align]`, shared by all adapters.

use serde_json::Value;
use stages::evaluate::align::{self, AlignConfig};

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
        let mut v: Vec<String> = super::PAIRED_FEATURES.map(String::from).to_vec();
        v.push(format!("train:{}", self.adapter));
        v
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
        let data = super::paired_features(ctx)?;
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
