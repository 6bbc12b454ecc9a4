//! `align:modelset`: every pair of the `[modelset]` encoders scored on the same rows, each score
//! with its interval and permutation null (stages::evaluate::modelset). Reads the encoders'
//! `features:<name>` artifacts, so an encoder shared with the adapters' experiment is encoded
//! once for both.

use stages::evaluate::modelset::{self, Member, ModelsetArtifact, ModelsetConfig};
use stages::features::spec::EncoderKind;

use crate::config::Config;
use crate::engine::error::Result;
use crate::engine::stage::{Problem, Reported, Role, Stage, StageContext};

pub const SECTION: &str = "modelset";

/// An encoder, with its layer when it has a layer axis.
fn side(name: &str, layer: &str) -> String {
    if layer.is_empty() {
        name.to_string()
    } else {
        format!("{name}/{layer}")
    }
}

pub struct ModelsetNode {
    /// Every configured encoder and its kind (`[encoders.<name>]`).
    encoders: Vec<(String, EncoderKind)>,
    /// The encoders `[modelset]` lists, as the registry read it: the node's inputs.
    listed: Vec<String>,
}

impl ModelsetNode {
    pub fn new(config: &Config, encoders: Vec<(String, EncoderKind)>) -> Result<ModelsetNode> {
        let listed = config.typed::<ModelsetConfig>(SECTION)?.members();
        Ok(ModelsetNode { encoders, listed })
    }

    fn kind(&self, name: &str) -> Option<EncoderKind> {
        self.encoders
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, k)| *k)
    }
}

impl Stage for ModelsetNode {
    type Params = ModelsetConfig;

    fn name(&self) -> String {
        "align:modelset".into()
    }

    fn version(&self) -> u32 {
        stages::evaluate::VERSION * 1000 + stages::metrics::VERSION
    }

    fn section(&self) -> String {
        SECTION.into()
    }

    fn inputs(&self) -> Vec<String> {
        let mut v = vec!["ingest".to_string()];
        v.extend(
            self.listed
                .iter()
                .filter(|n| self.kind(n).is_some())
                .map(|n| format!("features:{n}")),
        );
        v
    }

    fn defaults(&self) -> ModelsetConfig {
        ModelsetConfig::default()
    }

    /// The section's own checks, and every listed name an encoder of the kind it is listed as.
    fn problems(&self, config: &ModelsetConfig) -> Vec<Problem> {
        let mut out = Problem::in_section(SECTION, config.problems());
        let known = self
            .encoders
            .iter()
            .map(|(n, k)| format!("{n} ({k})"))
            .collect::<Vec<_>>()
            .join(", ");
        for (field, names, kind) in [
            ("image", &config.image, EncoderKind::Image),
            ("text", &config.text, EncoderKind::Text),
        ] {
            for name in names {
                let expected = match self.kind(name) {
                    None => format!("an encoder of [encoders.<name>]: {known}"),
                    Some(k) if k != kind => {
                        format!("an {kind} encoder: `{name}` is an {k} encoder ({known})")
                    }
                    Some(_) => continue,
                };
                out.push(Problem {
                    key: format!("{SECTION}.{field}"),
                    value: format!("{name:?}"),
                    expected,
                });
            }
        }
        out
    }

    /// Each score as `modelset.<metric>.<a>-<b>` and its calibrated value, for sweep tables.
    fn report(&self, dir: &std::path::Path) -> anyhow::Result<Vec<Reported>> {
        let mut out = Vec::new();
        for s in ModelsetArtifact::at(dir).read_table()? {
            let column = format!(
                "modelset.{}.{}-{}",
                s.metric.name(),
                side(&s.a, &s.a_layer),
                side(&s.b, &s.b_layer)
            );
            out.push(Reported {
                column: format!("{column}.calibrated"),
                value: s.calibrated,
                role: Role::Detail,
            });
            out.push(Reported {
                column,
                value: s.score,
                role: Role::Detail,
            });
        }
        Ok(out)
    }

    fn run(&self, ctx: &StageContext, config: &ModelsetConfig) -> anyhow::Result<()> {
        let clock = std::time::Instant::now();
        let members = config
            .members()
            .into_iter()
            .map(|name| {
                let kind = self
                    .kind(&name)
                    .ok_or_else(|| anyhow::anyhow!("[modelset] lists `{name}`: no such encoder"))?;
                let dir = ctx.input(&format!("features:{name}"))?.to_path_buf();
                Ok(Member { name, kind, dir })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let name = ctx.name;
        let file = modelset::run(
            config,
            ctx.input("ingest")?,
            &members,
            &ModelsetArtifact::at(&ctx.out_dir),
            &|step| tracing::info!("{name}: {step}"),
        )?;
        let metrics = config.scoring().metric_list()?.len().max(1);
        eprintln!(
            "{name}: {} encoders, {} pairs ({} layer pairs), {} rows scored in {:.1} s",
            members.len(),
            file.best.len() / metrics,
            file.scores.len() / metrics,
            file.settings.n,
            clock.elapsed().as_secs_f64()
        );
        for e in file
            .encoders
            .iter()
            .filter(|e| !e.constant_layers.is_empty())
        {
            eprintln!(
                "{name}:   {}: {} not scored (every row the same vector: no geometry)",
                e.name,
                e.constant_layers.join(", ")
            );
        }
        for b in file.best.iter().filter(|b| b.layer_pairs > 1) {
            eprintln!(
                "{name}:   {:<14} best of {} layer pairs: {} ~ {}: {:.3} (p {:.3}, \
                 corrected for the choice {:.3})",
                b.metric.name(),
                b.layer_pairs,
                side(&b.a, &b.a_layer),
                side(&b.b, &b.b_layer),
                b.score,
                b.p_value,
                b.corrected_p
            );
        }
        for s in file
            .scores
            .iter()
            .filter(|s| s.a_layer.is_empty() && s.b_layer.is_empty())
        {
            eprintln!(
                "{name}:   {:<14} {} ~ {}: {:.3} (null {:.3}, 95% {:.3}; calibrated {:+.3}, p {:.3})",
                s.metric.name(),
                s.a,
                s.b,
                s.score,
                s.null_mean,
                s.null_q95,
                s.calibrated,
                s.p_value
            );
        }
        Ok(())
    }
}
