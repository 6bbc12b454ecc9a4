//! `features:<name>`: one node per `[encoders.<name>]` table, so replacing one model file reruns
//! only its node (and what reads it). Three names have roles in the adapters' experiment and
//! the embedded models as defaults (`image`, `text`, `reference`); any other name is an encoder
//! for model sets (`align:modelset`), which names its `kind` and its model.
//!
//! Encoders that read one model file over the same items with the same preprocessing share one
//! pass ([`Stage::pass`]): the model runs once and each writes its own artifact, with its own
//! key, bytes as a pass of its own would write them.

mod role;
mod work;

use std::path::PathBuf;

use stages::features::assemble::{self, ShardRecord};
use stages::features::encode::{self, Sink};
use stages::features::output;
use stages::features::spec::EncoderKind;
use stages::features::{EncoderSpec, FeatureMatrix};
use stages::perturb::{CaptionPerturbation, ImagePerturbation};

use crate::config::Config;
use crate::engine::error::{EngineError, Result};
use crate::engine::stage::{PassMember, Problem, Shard, Stage, StageContext, StageId};
use crate::nodes::ids;
pub use role::Role;
use work::Work;

/// The encoder of `[encoders.<name>]`.
pub struct FeaturesNode {
    name: String,
    /// The experiment's role of the name, if it has one.
    role: Option<Role>,
    kind: EncoderKind,
}

impl FeaturesNode {
    /// The experiment's encoder of `role`.
    pub fn of_role(role: Role) -> FeaturesNode {
        FeaturesNode {
            name: role.as_str().into(),
            role: Some(role),
            kind: role.kind(),
        }
    }

    /// The encoder `[encoders.<name>]` of `kind`: a role's when the name is one.
    pub fn named(name: &str, kind: EncoderKind) -> FeaturesNode {
        match Role::ALL.iter().find(|r| r.as_str() == name) {
            Some(&role) => FeaturesNode::of_role(role),
            None => FeaturesNode {
                name: name.into(),
                role: None,
                kind,
            },
        }
    }

    /// Missing fields: the role's embedded model; another name's only the kind's
    /// preprocessing (its model, output and width must be given).
    pub(crate) fn spec_defaults(&self) -> EncoderSpec {
        match self.role {
            Some(role) => role.defaults(),
            None => EncoderSpec::base(self.kind),
        }
    }

    /// The encoder's name (`[encoders.<name>]`).
    pub fn encoder(&self) -> String {
        self.name.clone()
    }

    pub fn kind(&self) -> EncoderKind {
        self.kind
    }

    fn is_role(&self, role: Role) -> bool {
        self.role == Some(role)
    }

    /// The encoder's table, `encoders.<name>`.
    pub(crate) fn spec_section(&self) -> String {
        format!("encoders.{}", self.name)
    }

    /// What the encoder cannot run with, including a model of the wrong kind.
    pub(crate) fn spec_problems(&self, spec: &EncoderSpec) -> Vec<Problem> {
        spec_problems(&self.spec_section(), &self.name, self.kind, spec)
    }
}

/// An encoder spec's keys (at their defaults) as its table holds them: `layers` is left out of
/// a spec's serialisation when empty (so the keys of encoders without one stay as they were),
/// but it is a key all the same.
pub(crate) fn spec_section(spec: &serde_json::Value) -> serde_json::Value {
    let mut spec = spec.clone();
    if let serde_json::Value::Object(map) = &mut spec {
        map.entry("layers")
            .or_insert(serde_json::Value::Array(Vec::new()));
    }
    spec
}

/// Every encoder of `config`: the three roles, then the other `[encoders.<name>]` tables with
/// their kinds. A table beyond the roles must say its `kind`.
pub fn encoders(config: &Config) -> Result<Vec<FeaturesNode>> {
    let mut out: Vec<FeaturesNode> = Role::ALL
        .iter()
        .map(|&r| FeaturesNode::of_role(r))
        .collect();
    for (name, table) in config.section("encoders") {
        if Role::ALL.iter().any(|r| r.as_str() == name) {
            continue;
        }
        let kind = table
            .get("kind")
            .and_then(toml::Value::as_str)
            .and_then(EncoderKind::parse)
            .ok_or_else(|| {
                let key = format!("encoders.{name}.kind");
                EngineError::Config(format!(
                    "`{key}` ({}): expected {}: an encoder other than image, text and \
                     reference says what it reads",
                    config.origin(&key),
                    EncoderKind::expected()
                ))
            })?;
        out.push(FeaturesNode::named(&name, kind));
    }
    Ok(out)
}

/// The text encoder's caption perturbation (`[perturb.caption]`).
pub const CAPTION_PERTURBATION: &str = "perturb.caption";

/// The image encoder's image perturbation (`[perturb.image]`); the reference's images stay clean.
pub const IMAGE_PERTURBATION: &str = "perturb.image";

/// The key parameters holding a perturbation that is not the identity.
const CAPTION_KEY: &str = "perturb_caption";
const IMAGE_KEY: &str = "perturb_image";

/// An encoder's parameters; the text encoder's also say how its captions are perturbed, the
/// image encoder's how its images are.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FeaturesParams {
    pub spec: EncoderSpec,
    pub caption: CaptionPerturbation,
    pub image: ImagePerturbation,
}

impl Stage for FeaturesNode {
    type Params = FeaturesParams;

    fn name(&self) -> StageId {
        ids::features(&self.name)
    }

    fn section(&self) -> String {
        self.spec_section()
    }

    fn inputs(&self) -> Vec<StageId> {
        vec![ids::ingest()]
    }

    fn defaults(&self) -> FeaturesParams {
        FeaturesParams {
            spec: self.spec_defaults(),
            caption: CaptionPerturbation::default(),
            image: ImagePerturbation::default(),
        }
    }

    fn read_params(&self, config: &Config) -> Result<FeaturesParams> {
        Ok(FeaturesParams {
            spec: config.typed_over(&self.section(), &self.spec_defaults())?,
            caption: if self.is_role(Role::Text) {
                config.typed(CAPTION_PERTURBATION)?
            } else {
                CaptionPerturbation::default()
            },
            image: if self.is_role(Role::Image) {
                config.typed(IMAGE_PERTURBATION)?
            } else {
                ImagePerturbation::default()
            },
        })
    }

    fn config_sections(&self, defaults: &serde_json::Value) -> Vec<(String, serde_json::Value)> {
        let mut sections = vec![(self.section(), spec_section(defaults))];
        if self.is_role(Role::Text) {
            let caption =
                serde_json::to_value(CaptionPerturbation::default()).expect("a plain struct");
            sections.push((CAPTION_PERTURBATION.into(), caption));
        }
        if self.is_role(Role::Image) {
            let image = serde_json::to_value(ImagePerturbation::default()).expect("a plain struct");
            sections.push((IMAGE_PERTURBATION.into(), image));
        }
        sections
    }

    /// The encoder's spec; a perturbation only when it is not the identity, so that rate 0
    /// keys (and computes) exactly as no perturbation.
    fn key_params(&self, params: &FeaturesParams) -> Result<serde_json::Value> {
        let failed = |e: serde_json::Error| EngineError::Other(format!("{}: {e}", self.name()));
        let mut value = serde_json::to_value(&params.spec).map_err(failed)?;
        if let serde_json::Value::Object(map) = &mut value {
            if !params.caption.is_identity() {
                let caption = serde_json::to_value(&params.caption).map_err(failed)?;
                map.insert(CAPTION_KEY.into(), caption);
            }
            if !params.image.is_identity() {
                let image = serde_json::to_value(&params.image).map_err(failed)?;
                map.insert(IMAGE_KEY.into(), image);
            }
        }
        Ok(value)
    }

    fn problems(&self, params: &FeaturesParams) -> Vec<Problem> {
        let mut out = self.spec_problems(&params.spec);
        if let Some(role) = self.role
            && !params.spec.layers.is_empty()
        {
            out.push(Problem {
                key: format!("{}.layers", self.section()),
                value: format!("{:?}", params.spec.layers),
                expected: format!(
                    "[] for the {} encoder: the adapters read one output; a layer axis belongs \
                     to another [encoders.<name>] (a model-set encoder)",
                    role.as_str()
                ),
            });
        }
        out.extend(Problem::in_section(
            CAPTION_PERTURBATION,
            params.caption.problems(),
        ));
        out.extend(Problem::in_section(
            IMAGE_PERTURBATION,
            params.image.problems(),
        ));
        out
    }

    fn externals(&self, params: &FeaturesParams, config: &Config) -> Result<Vec<PathBuf>> {
        let spec = &params.spec;
        let mut files = vec![config.resolve(&spec.onnx)];
        if spec.kind == EncoderKind::Text {
            files.push(config.resolve(&spec.tokenizer));
        }
        Ok(files)
    }

    /// Complete `.npy` shards of a killed run are kept (stages::features::shards).
    fn resumable(&self) -> bool {
        true
    }

    fn version(&self) -> u32 {
        match self.kind {
            EncoderKind::Text => stages::features::TEXT_VERSION,
            EncoderKind::Image => stages::features::VERSION,
        }
    }

    fn run(&self, ctx: &StageContext, params: &FeaturesParams) -> anyhow::Result<()> {
        encode_members(&[(ctx, params)], None)
    }

    fn shardable(&self) -> bool {
        true
    }

    /// The rows of whole units (image batches; caption blocks that end between images) that
    /// shard `shard` takes, as `.npy` files and `shard.json`; no table (the assembly writes it).
    fn run_shard(
        &self,
        ctx: &StageContext,
        params: &FeaturesParams,
        shard: Shard,
    ) -> anyhow::Result<()> {
        encode_members(&[(ctx, params)], Some(shard))
    }

    /// The model run and what is fed to it: every field of the spec but those that pick and
    /// pool outputs, and the perturbations.
    fn pass(&self, params: &FeaturesParams) -> Option<serde_json::Value> {
        Some(serde_json::json!({
            "spec": params.spec.pass(),
            "caption": params.caption,
            "image": params.image,
        }))
    }

    fn run_pass(&self, members: &[PassMember<Self>], shard: Option<Shard>) -> anyhow::Result<()> {
        let members: Vec<_> = members.iter().map(|m| (m.ctx, m.params)).collect();
        encode_members(&members, shard)
    }

    fn assemble(
        &self,
        ctx: &StageContext,
        params: &FeaturesParams,
        shards: &[PathBuf],
    ) -> anyhow::Result<()> {
        let work = Work::of(ctx, params)?;
        let rows = encode::storage_shard_rows(&params.spec);
        assemble::assemble(&ctx.out_dir, shards, work.meta.len(), rows)?;
        if !params.spec.layers.is_empty() {
            let layers = encode::layer_slices(&params.spec, &ctx.root.join(&params.spec.onnx))?;
            output::write_layers(&ctx.out_dir, &layers)?;
        }
        let matrix = FeatureMatrix::open(&ctx.out_dir)?;
        output::write_parquet(&ctx.out_dir, &work.meta, &matrix)?;
        Ok(())
    }
}

/// Encodes the rows (of `shard`, or all) once into every member's folder: the whole artifact
/// with its table, or one shard with its record. The members share one pass (the first
/// member's parameters decide it).
fn encode_members(
    members: &[(&StageContext, &FeaturesParams)],
    shard: Option<Shard>,
) -> anyhow::Result<()> {
    let clock = std::time::Instant::now();
    let (ctx, params) = members[0];
    let work = Work::of(ctx, params)?;
    let units = match shard {
        Some(shard) => work.units.shard(shard),
        None => work.units.clone(),
    };
    let sinks: Vec<Sink> = members
        .iter()
        .map(|(ctx, params)| Sink {
            spec: &params.spec,
            out_dir: &ctx.out_dir,
            label: ctx.name,
        })
        .collect();
    work.encode(ctx, params, &units, &sinks)?;
    for (ctx, _) in members {
        if let Some(shard) = shard {
            ShardRecord::new(shard, &units, work.meta.len()).write(&ctx.out_dir)?;
            continue;
        }
        let matrix = FeatureMatrix::open(&ctx.out_dir)?;
        output::write_parquet(&ctx.out_dir, &work.meta, &matrix)?;
        let secs = clock.elapsed().as_secs_f64();
        eprintln!(
            "{}: {} items -> {}-d in {secs:.1} s ({:.1} items/s)",
            ctx.name,
            matrix.rows(),
            matrix.dim(),
            matrix.rows() as f64 / secs.max(1e-9)
        );
    }
    Ok(())
}

/// What the encoder `name` of `section`, which must read `kind`, cannot run with.
fn spec_problems(section: &str, name: &str, kind: EncoderKind, spec: &EncoderSpec) -> Vec<Problem> {
    let mut out = Problem::in_section(section, spec.problems());
    if spec.kind != kind {
        out.push(Problem {
            key: format!("{section}.kind"),
            value: spec.kind.to_string(),
            expected: format!("`{kind}`: the {name} encoder must be an {kind} model"),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// data/models/research-models.toml describes exactly the documented presets.
    #[test]
    fn research_models_file_gives_the_presets() {
        let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../data/models/research-models.toml");
        let config = Config::load(&file, &[]).unwrap();
        let spec = |role: Role| -> EncoderSpec {
            FeaturesNode::of_role(role)
                .read_params(&config)
                .unwrap()
                .spec
        };
        let mut image = EncoderSpec::resnet18("data/models/research/resnet18.onnx");
        image.batch_size = spec(Role::Image).batch_size;
        assert_eq!(spec(Role::Image), image);
        assert_eq!(
            spec(Role::Text),
            EncoderSpec::distilbert(
                "data/models/research/distilbert/model.onnx",
                "data/models/research/distilbert/tokenizer.json"
            )
        );
        assert_eq!(
            spec(Role::Reference),
            EncoderSpec::dinov2_base("data/models/research/dinov2/model.onnx")
        );
    }
}
