//! `align:modelset`: every pair of the `[modelset]` encoders scored on the same rows, each score
//! with its interval and permutation null (stages::evaluate::modelset). Reads the encoders'
//! `features:<name>` artifacts, so an encoder shared with the adapters' experiment is encoded
//! once for both.

use stages::evaluate::modelset::{self, Member, ModelsetArtifact, ModelsetConfig};
use stages::evaluate::scoring::ScoringConfig;
use stages::features::spec::EncoderKind;

use crate::config::Config;
use crate::engine::error::Result;
use crate::engine::stage::{Problem, Reported, Role, Stage, StageContext, StageId};
use crate::nodes::ids;

pub const SECTION: &str = "modelset";
/// `[modelset] optional`'s key (kept out of the stage's key).
const OPTIONAL: &str = "optional";

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
    /// `[modelset] optional` encoders whose model files are not installed: left out.
    absent: Vec<String>,
    /// What is said about them ([`Stage::notes`]).
    notes: Vec<String>,
    /// Their `[encoders.<name>]` sections and defaults, claimed here so that their keys are
    /// still checked.
    absent_sections: Vec<(String, serde_json::Value)>,
}

/// `[modelset]`, read as its scoring settings first, then the whole section: serde loses the
/// key of an error inside a flattened field, so the scoring part is read on its own, where the
/// error names its key (`modelset.split`), before the part that holds the encoder lists.
pub fn read(config: &Config) -> Result<ModelsetConfig> {
    let defaults = ModelsetConfig::default();
    let scoring: ScoringConfig = config.typed_over(SECTION, &defaults.scoring)?;
    let lists: ModelsetConfig = config.typed_over(SECTION, &defaults)?;
    Ok(ModelsetConfig { scoring, ..lists })
}

/// An optional encoder of `[modelset]` that is left out, and the file it lacks.
#[derive(Debug, Clone, PartialEq)]
pub struct Absent {
    pub name: String,
    pub missing: std::path::PathBuf,
}

/// The `[modelset] optional` encoders whose `onnx` (or, for text, `tokenizer`) file is not
/// there. A name that is no `[encoders.<name>]` table is not absent but wrong: the node's
/// problems say so.
pub fn absent(config: &Config) -> Result<Vec<Absent>> {
    let listed = read(config)?;
    let mut out = Vec::new();
    for name in listed.optional {
        let table = config.section(&format!("encoders.{name}"));
        let missing = ["onnx", "tokenizer"]
            .iter()
            .filter_map(|k| table.get(*k).and_then(toml::Value::as_str))
            .map(|p| config.resolve(p))
            .find(|p| !p.is_file());
        if let Some(missing) = missing {
            out.push(Absent { name, missing });
        }
    }
    Ok(out)
}

impl ModelsetNode {
    pub fn new(
        config: &Config,
        encoders: Vec<(String, EncoderKind)>,
        absent: &[Absent],
        absent_sections: Vec<(String, serde_json::Value)>,
    ) -> Result<ModelsetNode> {
        let notes = absent
            .iter()
            .map(|a| {
                format!(
                    "modelset: `{}` left out: optional, and {} is not installed",
                    a.name,
                    a.missing.display()
                )
            })
            .collect();
        let absent: Vec<String> = absent.iter().map(|a| a.name.clone()).collect();
        let listed = read(config)?.without(&absent).members();
        Ok(ModelsetNode {
            encoders,
            listed,
            absent,
            notes,
            absent_sections,
        })
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

    fn name(&self) -> StageId {
        ids::align(ids::MODELSET)
    }

    fn notes(&self) -> Vec<String> {
        self.notes.clone()
    }

    fn version(&self) -> u32 {
        stages::evaluate::VERSION * 1000 + stages::metrics::VERSION
    }

    fn section(&self) -> String {
        SECTION.into()
    }

    fn inputs(&self) -> Vec<StageId> {
        let mut v = vec![ids::ingest()];
        v.extend(
            self.listed
                .iter()
                .filter(|n| self.kind(n).is_some())
                .map(|n| ids::features(n)),
        );
        v
    }

    fn defaults(&self) -> ModelsetConfig {
        ModelsetConfig::default()
    }

    /// Which encoders may be missing changes nothing computed (the lists without the absent
    /// ones do): it stays out of the key, so listing one that is installed nowhere keeps every
    /// key as it was.
    fn key_params(&self, params: &ModelsetConfig) -> Result<serde_json::Value> {
        let mut value = serde_json::to_value(params).map_err(|e| {
            crate::engine::error::EngineError::Other(format!("{}: {e}", self.name()))
        })?;
        if let serde_json::Value::Object(map) = &mut value {
            map.remove(OPTIONAL);
        }
        Ok(value)
    }

    fn config_sections(&self, defaults: &serde_json::Value) -> Vec<(String, serde_json::Value)> {
        let mut own = defaults.clone();
        if let serde_json::Value::Object(map) = &mut own {
            map.insert(OPTIONAL.into(), serde_json::Value::Array(Vec::new()));
        }
        let mut sections = vec![(self.section(), own)];
        sections.extend(self.absent_sections.iter().cloned());
        sections
    }

    /// The section without the optional encoders that are not installed: the key is that of
    /// a model set that never listed them.
    fn read_params(&self, config: &Config) -> Result<ModelsetConfig> {
        Ok(read(config)?.without(&self.absent))
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
        let members = config.members();
        for name in &config.optional {
            if !members.contains(name) && !self.absent.contains(name) {
                out.push(Problem {
                    key: format!("{SECTION}.optional"),
                    value: format!("{name:?}"),
                    expected: format!("an encoder listed in image or text: {}", members.join(", ")),
                });
            }
        }
        out
    }

    /// Each score as `modelset.<metric>.<a>-<b>`, its calibrated value and its p, for sweep
    /// tables.
    fn report(&self, dir: &std::path::Path) -> anyhow::Result<Vec<Reported>> {
        let mut out = Vec::new();
        for s in ModelsetArtifact::at(dir).read_table()? {
            let column = format!(
                "modelset.{}.{}-{}",
                s.metric.name(),
                side(&s.a, &s.a_layer),
                side(&s.b, &s.b_layer)
            );
            for (suffix, value) in [
                (".calibrated", s.calibrated),
                (".p", s.p_value),
                ("", s.score),
            ] {
                out.push(Reported {
                    column: format!("{column}{suffix}"),
                    value,
                    role: Role::Detail,
                });
            }
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
                let dir = ctx.input(&ids::features(&name))?.to_path_buf();
                Ok(Member { name, kind, dir })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let name = ctx.name;
        let out = ModelsetArtifact::at(&ctx.out_dir);
        let file = modelset::run(
            config,
            ctx.input(&ids::ingest())?,
            &members,
            &out,
            &|step| tracing::info!("{name}: {step}"),
        )?;
        stages::report::charts::modelset::write(&file, &out)?;
        let metrics = config.scoring.metric_list().len().max(1);
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
                "{name}:   {:<14} best of {} layer pairs: {} ~ {}: {:.3} (p {:.3}; corrected \
                 for the choice: p {:.3}, calibrated {:.3})",
                b.metric.name(),
                b.layer_pairs,
                side(&b.a, &b.a_layer),
                side(&b.b, &b.b_layer),
                b.score,
                b.p_value,
                b.corrected_p,
                b.calibrated
            );
        }
        for s in file
            .scores
            .iter()
            .filter(|s| s.a_layer.is_empty() && s.b_layer.is_empty())
        {
            eprintln!(
                "{name}:   {:<14} {} ~ {}: {:.3} (null {:.3}, 95% {:.3}; τ {:.3}, calibrated {:.3}, \
                 p {:.3})",
                s.metric.name(),
                s.a,
                s.b,
                s.score,
                s.null_mean,
                s.null_q95,
                s.tau,
                s.calibrated,
                s.p_value
            );
        }
        Ok(())
    }
}
