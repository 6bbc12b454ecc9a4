//! `probe:<name>`: the downstream linear probe on raw image, aligned image and reference
//! features of the probe set, zero-shot classification of the probe set through the adapters,
//! and image–text retrieval for the trained and untrained adapters (stages::evaluate::probe).
//! Parameters in `[probe]`; the prompts' in `[zero_shot]` (features:probe-prompts).

use stages::evaluate::probe::{self, ProbeArtifact, ProbeConfig, ProbeInputs};
use stages::train::TrainArtifact;

use stages::spaces::{SpaceName, Weights};

use crate::engine::stage::{Problem, Reported, Role, Stage, StageContext, StageId};
use crate::nodes::ids;

pub struct ProbeNode {
    pub adapter: String,
}

impl ProbeNode {
    fn train(&self) -> StageId {
        ids::train(&self.adapter)
    }
}

impl Stage for ProbeNode {
    type Params = ProbeConfig;

    fn name(&self) -> StageId {
        ids::probe(&self.adapter)
    }

    fn version(&self) -> u32 {
        stages::evaluate::PROBE_VERSION
    }

    fn section(&self) -> String {
        "probe".into()
    }

    fn inputs(&self) -> Vec<StageId> {
        let mut v = super::paired_features();
        v.extend([
            ids::probe_features(super::Role::Image.as_str()),
            ids::probe_features(super::Role::Reference.as_str()),
            ids::prompt_features(),
            self.train(),
        ]);
        v
    }

    fn defaults(&self) -> ProbeConfig {
        ProbeConfig::default()
    }

    fn problems(&self, config: &ProbeConfig) -> Vec<Problem> {
        Problem::in_section(&self.section(), config.problems())
    }

    /// `accuracy.<features>` (test accuracy) per probed feature set,
    /// `zero_shot.top<k>.<weights>` per zero-shot accuracy and
    /// `r@<k>.<weights>.<direction>` per recall; the performance the sweep tables correlate
    /// alignment with: the aligned image's probe accuracy and the trained adapters' R@1.
    fn report(&self, dir: &std::path::Path) -> anyhow::Result<Vec<Reported>> {
        let results = ProbeArtifact::at(dir).read()?;
        let mut out: Vec<Reported> = results
            .probe
            .rows
            .iter()
            .map(|r| Reported {
                column: format!("accuracy.{}", r.features),
                value: r.test_accuracy,
                role: if r.features == SpaceName::AlignedImage {
                    Role::Performance
                } else {
                    Role::Detail
                },
            })
            .collect();
        for row in &results.zero_shot.rows {
            for (k, value) in [(1, row.top1), (5, row.top5)] {
                out.push(Reported {
                    column: format!("zero_shot.top{k}.{}", row.adapter),
                    value,
                    role: Role::Detail,
                });
            }
        }
        for row in &results.retrieval.rows {
            let r = &row.retrieval;
            for &(k, recall) in &r.recall {
                out.push(Reported {
                    column: format!("r@{k}.{}.{}", row.adapter, r.direction),
                    value: recall,
                    role: if k == 1 && row.adapter == Weights::Trained {
                        Role::Performance
                    } else {
                        Role::Detail
                    },
                });
            }
        }
        Ok(out)
    }

    fn run(&self, ctx: &StageContext, config: &ProbeConfig) -> anyhow::Result<()> {
        let data = super::open_paired_features(ctx)?;
        let clock = std::time::Instant::now();
        let name = ctx.name;
        let results = probe::run(
            config,
            &data,
            &TrainArtifact::at(ctx.input(&self.train())?),
            &ProbeInputs {
                image: ctx.input(&ids::probe_features(super::Role::Image.as_str()))?,
                reference: ctx.input(&ids::probe_features(super::Role::Reference.as_str()))?,
                prompts: ctx.input(&ids::prompt_features())?,
            },
            &ProbeArtifact::at(&ctx.out_dir),
            &|step| tracing::info!("{name}: {step}"),
        )?;
        let acc: Vec<String> = results
            .probe
            .rows
            .iter()
            .map(|r| format!("{} {:.3}", r.features, r.test_accuracy))
            .collect();
        let r1: Vec<String> = results
            .retrieval
            .rows
            .iter()
            .map(|r| {
                format!(
                    "{} {} R@1 {:.3}",
                    r.adapter,
                    r.retrieval.direction,
                    r.retrieval.recall.first().map_or(f64::NAN, |x| x.1)
                )
            })
            .collect();
        let zero_shot: Vec<String> = results
            .zero_shot
            .rows
            .iter()
            .map(|r| format!("{} top-1 {:.3}", r.adapter, r.top1))
            .collect();
        eprintln!(
            "{name}: probe test accuracy {}; zero-shot {} (chance {:.3}); retrieval {} ({:.1} s)",
            acc.join(", "),
            zero_shot.join(", "),
            results
                .zero_shot
                .rows
                .first()
                .map_or(f64::NAN, |r| r.chance_top1),
            r1.join(", "),
            clock.elapsed().as_secs_f64()
        );
        Ok(())
    }
}
