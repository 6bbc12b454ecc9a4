//! `probe:<name>`: the downstream linear probe on raw image, aligned image and reference
//! features of the probe set, and image–text retrieval for the trained and untrained adapters
//! (stages::evaluate::probe). Parameters in `[probe]`.

use serde_json::Value;
use stages::evaluate::probe::{self, ProbeConfig};

use crate::config::Config;
use crate::engine::error::Result;
use crate::engine::stage::{Stage, StageContext};

pub struct ProbeNode {
    pub adapter: String,
}

impl Stage for ProbeNode {
    fn name(&self) -> String {
        format!("probe:{}", self.adapter)
    }

    fn version(&self) -> u32 {
        stages::evaluate::VERSION
    }

    fn section(&self) -> String {
        "probe".into()
    }

    fn inputs(&self) -> Vec<String> {
        let mut v: Vec<String> = super::PAIRED_FEATURES.map(String::from).to_vec();
        v.extend([
            "features:probe-image".into(),
            "features:probe-reference".into(),
            format!("train:{}", self.adapter),
        ]);
        v
    }

    fn params(&self, config: &Config) -> Result<Value> {
        config.typed::<ProbeConfig>("probe").map(|(_, v)| v)
    }

    fn run(&self, ctx: &StageContext) -> anyhow::Result<()> {
        let config: ProbeConfig = ctx.params()?;
        let data = super::paired_features(ctx)?;
        let clock = std::time::Instant::now();
        let name = ctx.name;
        let summary = probe::run(
            &config,
            &data,
            ctx.input(&format!("train:{}", self.adapter))?,
            ctx.input("features:probe-image")?,
            ctx.input("features:probe-reference")?,
            &ctx.out_dir,
            &|step| tracing::info!("{name}: {step}"),
        )?;
        let acc: Vec<String> = summary
            .probe
            .iter()
            .map(|r| format!("{} {:.3}", r.features, r.test_accuracy))
            .collect();
        let r1: Vec<String> = summary
            .retrieval
            .iter()
            .map(|(s, r)| {
                format!(
                    "{s} {} R@1 {:.3}",
                    r.direction,
                    r.recall.first().map_or(f64::NAN, |x| x.1)
                )
            })
            .collect();
        eprintln!(
            "{name}: probe test accuracy {}; retrieval {} ({:.1} s)",
            acc.join(", "),
            r1.join(", "),
            clock.elapsed().as_secs_f64()
        );
        Ok(())
    }
}
