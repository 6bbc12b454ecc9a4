//! `probe:modelset`: each model-set encoder's competence (the linear probe on the probe set for
//! every image encoder, `[competence] scores` for any) and its alignment against it, with
//! Spearman's rho (stages::evaluate::competence). Reads `align:modelset` for the alignment and
//! `features:probe-<name>` for every image encoder of `[modelset]`.

use serde::{Deserialize, Serialize};
use stages::evaluate::competence::{self, CompetenceArtifact, CompetenceConfig, Probed};
use stages::evaluate::modelset::ModelsetArtifact;
use stages::evaluate::probe::{LinearProbeSettings, ProbeConfig};
use stages::features::spec::EncoderKind;

use crate::config::Config;
use crate::engine::error::Result;
use crate::engine::stage::{Problem, Reported, Role, Stage, StageContext, StageId};
use crate::nodes::features::Role as EncoderRole;
use crate::nodes::ids;

pub const SECTION: &str = "competence";
const PROBE_SECTION: &str = "probe";

pub struct CompetenceNode {
    /// The encoders `[modelset]` lists, in its order.
    members: Vec<String>,
    /// Those of them that are image encoders: each has a `features:probe-<name>`.
    probed: Vec<String>,
    /// Optional encoders of `[modelset]` that are not installed: their scores are left out.
    absent: Vec<String>,
}

impl CompetenceNode {
    /// The node for `[modelset]`'s `members` among `encoders`, less the `absent` ones.
    pub fn new(
        members: Vec<String>,
        encoders: &[(String, EncoderKind)],
        absent: Vec<String>,
    ) -> CompetenceNode {
        let members: Vec<String> = members
            .into_iter()
            .filter(|m| !absent.contains(m))
            .collect();
        let probed = image_members(&members, encoders);
        CompetenceNode {
            members,
            probed,
            absent,
        }
    }

    /// The model set's image encoders other than the experiment's, whose probe features no
    /// other node asks for.
    pub fn extra_probed(&self) -> impl Iterator<Item = &String> {
        self.probed
            .iter()
            .filter(|n| *n != EncoderRole::Image.as_str() && *n != EncoderRole::Reference.as_str())
    }
}

/// The members of `[modelset]` that are image encoders, in its order.
pub fn image_members(members: &[String], encoders: &[(String, EncoderKind)]) -> Vec<String> {
    members
        .iter()
        .filter(|m| {
            encoders
                .iter()
                .any(|(n, k)| n == *m && *k == EncoderKind::Image)
        })
        .cloned()
        .collect()
}

/// `[competence]`, and the linear probe's part of `[probe]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompetenceParams {
    competence: CompetenceConfig,
    probe: LinearProbeSettings,
}

impl Stage for CompetenceNode {
    type Params = CompetenceParams;

    fn name(&self) -> StageId {
        ids::probe(ids::MODELSET)
    }

    fn version(&self) -> u32 {
        stages::evaluate::PROBE_VERSION
    }

    fn section(&self) -> String {
        SECTION.into()
    }

    fn inputs(&self) -> Vec<StageId> {
        let mut v = vec![ids::align(ids::MODELSET)];
        v.extend(self.probed.iter().map(|n| ids::probe_features(n)));
        v
    }

    fn defaults(&self) -> CompetenceParams {
        CompetenceParams {
            competence: CompetenceConfig::default(),
            probe: ProbeConfig::default().linear(),
        }
    }

    /// A score given for an optional encoder that is not installed is left out with it.
    fn read_params(&self, config: &Config) -> Result<CompetenceParams> {
        let mut competence: CompetenceConfig = config.typed(SECTION)?;
        competence
            .scores
            .retain(|name, _| !self.absent.contains(name));
        Ok(CompetenceParams {
            competence,
            probe: config.typed::<ProbeConfig>(PROBE_SECTION)?.linear(),
        })
    }

    fn config_sections(&self, defaults: &serde_json::Value) -> Vec<(String, serde_json::Value)> {
        vec![
            (SECTION.into(), defaults["competence"].clone()),
            (PROBE_SECTION.into(), defaults["probe"].clone()),
        ]
    }

    /// The sections' own checks, and every scored name an encoder of the model set.
    fn problems(&self, p: &CompetenceParams) -> Vec<Problem> {
        let mut out = Problem::in_section(SECTION, p.competence.problems());
        out.extend(Problem::in_section(PROBE_SECTION, p.probe.problems()));
        for name in p.competence.scores.keys() {
            if !self.members.contains(name) {
                out.push(Problem {
                    key: format!("{SECTION}.scores.{name}"),
                    value: format!("{name:?}"),
                    expected: format!("an encoder of [modelset]: {}", self.members.join(", ")),
                });
            }
        }
        out
    }

    /// `rho.<measure>.<metric>.<anchor>` per correlation, and `competence.<measure>.<encoder>`.
    fn report(&self, dir: &std::path::Path) -> anyhow::Result<Vec<Reported>> {
        let file = CompetenceArtifact::at(dir).read()?;
        let mut out: Vec<Reported> = file
            .competence
            .iter()
            .map(|c| Reported {
                column: format!("competence.{}.{}", c.measure.as_str(), c.encoder),
                value: c.value,
                role: Role::Detail,
            })
            .collect();
        out.extend(file.rho.iter().map(|r| Reported {
            column: format!(
                "rho.{}.{}.{}.{}",
                r.measure.as_str(),
                r.metric.name(),
                r.kind,
                r.anchor
            ),
            value: r.rho,
            role: Role::Detail,
        }));
        Ok(out)
    }

    fn run(&self, ctx: &StageContext, p: &CompetenceParams) -> anyhow::Result<()> {
        let modelset = ModelsetArtifact::at(ctx.input(&ids::align(ids::MODELSET))?).read()?;
        let probed = self
            .probed
            .iter()
            .map(|name| {
                Ok(Probed {
                    name: name.clone(),
                    dir: ctx.input(&ids::probe_features(name))?.to_path_buf(),
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let name = ctx.name;
        let out = CompetenceArtifact::at(&ctx.out_dir);
        let file = competence::run(&p.competence, &p.probe, &modelset, &probed, &out, &|step| {
            tracing::info!("{name}: {step}")
        })?;
        stages::report::charts::competence::write(&file, &out)?;
        for c in &file.competence {
            let layer = if c.layer.is_empty() {
                String::new()
            } else {
                format!(" (at {})", c.layer)
            };
            eprintln!(
                "{name}:   {:<16} {}: {:.3}{layer}",
                c.encoder,
                match c.measure {
                    competence::Measure::LinearProbe => "linear probe",
                    competence::Measure::Score => p.competence.score_name.as_str(),
                },
                c.value
            );
        }
        for r in &file.rho {
            let spread = if r.ci_low.is_finite() {
                format!("[{:.2}, {:.2}], p {:.3}", r.ci_low, r.ci_high, r.p_value)
            } else {
                "no interval or p".into()
            };
            let rho = if r.rho.is_finite() {
                format!("{:+.2}", r.rho)
            } else {
                "undefined (tied values)".into()
            };
            eprintln!(
                "{name}:   {:<14} {} encoders, {} against alignment with {}: rho {rho} {spread} \
                 ({} encoders)",
                r.metric.name(),
                r.kind,
                r.measure.as_str(),
                r.anchor,
                r.encoders
            );
        }
        Ok(())
    }
}
