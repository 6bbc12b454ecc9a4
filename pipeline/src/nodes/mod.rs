//! The experiment's real stages, wired to the `stages` crate. Each node says what it reads
//! (other nodes, external files) and which pipeline.toml section holds its parameters; the
//! computation itself is a call into `stages`.
//!
//! ```text
//! ingest ─► features:image ─┐
//!        ─► features:text  ─┼─► train:<name> ─► align:<name> ─┐
//!        ─► features:reference              └──► probe:<name> ─┴─► report (all adapters)
//!        ─► features:<name> (other encoders) ─► align:modelset (every listed encoder pair)
//!                                                      └──► probe:modelset (competence) ◄─┐
//! probe dataset ─► features:probe-image, features:probe-reference ─► probe:<name>         │
//!               ─► features:probe-<name> (the model set's other image encoders) ──────────┘
//!               ─► features:probe-prompts (class names in [zero_shot] templates) ─► probe:<name>
//! ```

mod align;
mod competence;
mod features;
pub mod ids;
mod ingest;
mod modelset;
mod probe;
mod probe_features;
mod prompt_features;
mod report;
mod train;

use crate::config::Config;
use crate::engine::error::Result;
use crate::engine::stage::{AnyStage, StageId};
use stages::features::spec::EncoderKind;

pub use align::AlignNode;
pub use competence::CompetenceNode;
pub use features::{FeaturesNode, Role};
pub use ingest::IngestNode;
pub use modelset::ModelsetNode;
pub use probe::ProbeNode;
pub use probe_features::ProbeFeaturesNode;
pub use prompt_features::PromptFeaturesNode;
pub use report::ReportNode;
pub use train::TrainNode;

/// The artifacts every stage after the features reads together: the ingest manifest and the
/// three feature sets of the image–caption pairs.
pub fn paired_features() -> Vec<StageId> {
    let roles = Role::ALL.map(|r| ids::features(r.as_str()));
    std::iter::once(ids::ingest()).chain(roles).collect()
}

/// The image–caption pairs with their feature rows, from a stage's [`paired_features`] inputs.
pub fn open_paired_features(
    ctx: &crate::engine::stage::StageContext,
) -> anyhow::Result<stages::train::data::TrainingData> {
    let input = |id: StageId| ctx.input(&id);
    Ok(stages::train::data::TrainingData::open(
        input(ids::ingest())?,
        input(ids::features(Role::Image.as_str()))?,
        input(ids::features(Role::Text.as_str()))?,
        input(ids::features(Role::Reference.as_str()))?,
    )?)
}

/// The stages of the experiment described by `config`.
pub fn registry(config: &Config) -> Result<Vec<Box<dyn AnyStage>>> {
    let absent = modelset::absent(config)?;
    let absent_names: Vec<String> = absent.iter().map(|a| a.name.clone()).collect();
    // A left-out encoder's section is still checked for unknown keys (a typo in it would
    // otherwise surface only where it is installed): the model-set node claims it.
    let defaults = config.with_empty_table();
    let mut absent_sections = Vec::new();
    let mut encoders = Vec::new();
    for e in features::encoders(config)? {
        if absent_names.contains(&e.encoder()) {
            absent_sections.extend(e.known_sections(&defaults)?);
        } else {
            encoders.push(e);
        }
    }
    let kinds: Vec<(String, EncoderKind)> =
        encoders.iter().map(|e| (e.encoder(), e.kind())).collect();
    let mut nodes: Vec<Box<dyn AnyStage>> = vec![Box::new(IngestNode)];
    for e in encoders {
        nodes.push(Box::new(e));
    }
    let members = modelset::read(config)?.members();
    let competence = CompetenceNode::new(members, &kinds, absent_names);
    // The model set's other image encoders through the probe set, for their competence.
    let extra: Vec<Box<dyn AnyStage>> = competence
        .extra_probed()
        .map(|name| -> Box<dyn AnyStage> {
            Box::new(ProbeFeaturesNode(FeaturesNode::named(
                name,
                EncoderKind::Image,
            )))
        })
        .collect();
    nodes.extend::<[Box<dyn AnyStage>; 5]>([
        Box::new(ModelsetNode::new(config, kinds, &absent, absent_sections)?),
        Box::new(competence),
        Box::new(ProbeFeaturesNode(FeaturesNode::of_role(Role::Image))),
        Box::new(ProbeFeaturesNode(FeaturesNode::of_role(Role::Reference))),
        Box::new(PromptFeaturesNode),
    ]);
    nodes.extend(extra);
    let adapters = train::adapters(config);
    if adapters.iter().any(|a| a == modelset::SECTION) {
        return Err(crate::engine::error::EngineError::Config(format!(
            "[train.{0}]: `{0}` names the model set's stages (align:{0}, probe:{0}); give the \
             adapter another name",
            modelset::SECTION
        )));
    }
    nodes.push(Box::new(ReportNode {
        adapters: adapters.clone(),
    }));
    for name in adapters {
        nodes.push(Box::new(AlignNode {
            adapter: name.clone(),
        }));
        nodes.push(Box::new(ProbeNode {
            adapter: name.clone(),
        }));
        nodes.push(Box::new(TrainNode { name }));
    }
    Ok(nodes)
}
