//! `align:<name>`: one node per adapter configuration. Scores every metric on the unimodal,
//! trained and untrained pairs of the evaluation split, with intervals, p-values and H1/H2
//! (stages::evaluate::align). Parameters in `[align]`, shared by all adapters.

use stages::evaluate::align::{self, AlignArtifact, AlignConfig};
use stages::evaluate::hypotheses::{Tested, Verdict};
use stages::spaces::{SpaceName, Weights};
use stages::train::TrainArtifact;

use crate::engine::stage::{Problem, Reported, Role, Stage, StageContext, StageId};
use crate::nodes::ids;

pub struct AlignNode {
    pub adapter: String,
}

impl AlignNode {
    fn train(&self) -> StageId {
        ids::train(&self.adapter)
    }
}

impl Stage for AlignNode {
    type Params = AlignConfig;

    fn name(&self) -> StageId {
        ids::align(&self.adapter)
    }

    fn version(&self) -> u32 {
        stages::evaluate::VERSION * 1000 + stages::metrics::VERSION
    }

    fn section(&self) -> String {
        "align".into()
    }

    fn inputs(&self) -> Vec<StageId> {
        let mut v = super::paired_features();
        v.push(self.train());
        v
    }

    fn defaults(&self) -> AlignConfig {
        AlignConfig::default()
    }

    fn problems(&self, config: &AlignConfig) -> Vec<Problem> {
        Problem::in_section(&self.section(), config.problems())
    }

    /// Every score as `<metric>.<pair>`, beside it its calibrated score and p
    /// (`<metric>.<pair>.calibrated`, `.p`); the aligned image's raw and calibrated scores against
    /// the reference (what H1 asks about) are the alignments the sweep tables correlate with
    /// performance.
    fn report(&self, dir: &std::path::Path) -> anyhow::Result<Vec<Reported>> {
        let mut out = Vec::new();
        for r in AlignArtifact::at(dir).read_metric_table()? {
            let column = format!("{}.{}", r.metric.name(), r.pair);
            let role = if (r.a, r.b) == (SpaceName::AlignedImage, SpaceName::Reference) {
                Role::Alignment
            } else {
                Role::Detail
            };
            for (suffix, value, role) in [
                ("", r.score, role),
                (".calibrated", r.calibrated, role),
                (".p", r.p_value, Role::Detail),
            ] {
                out.push(Reported {
                    column: format!("{column}{suffix}"),
                    value,
                    role,
                });
            }
        }
        Ok(out)
    }

    fn run(&self, ctx: &StageContext, config: &AlignConfig) -> anyhow::Result<()> {
        let data = super::open_paired_features(ctx)?;
        let clock = std::time::Instant::now();
        let name = ctx.name;
        let summary = align::run(
            config,
            &data,
            &TrainArtifact::at(ctx.input(&self.train())?),
            &AlignArtifact::at(&ctx.out_dir),
            &|step| tracing::info!("{name}: {step}"),
        )?;
        let count = |v: Verdict| {
            summary
                .tests
                .iter()
                .filter(|t| {
                    t.adapter == Weights::Trained
                        && t.tested == Tested::AlignedImage
                        && t.verdict == v
                })
                .count()
        };
        eprintln!(
            "{name}: {} pairs scored in {:.1} s; H1/H2 for the aligned image over all metrics: \
             {} supported, {} inconclusive, {} contradicted",
            summary.rows,
            clock.elapsed().as_secs_f64(),
            count(Verdict::Supported),
            count(Verdict::Inconclusive),
            count(Verdict::Contradicted),
        );
        Ok(())
    }
}
