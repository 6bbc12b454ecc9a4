//! `features:probe-prompts`: the probe set's class names in the zero-shot prompt templates
//! (`[zero_shot]`), through the text encoder, once. Rows: every template of class 0, then of
//! class 1, and so on; each row's `label` is its class, `image_id` the class name and `source`
//! the prompt. The probe stage classifies the probe images with them
//! (stages::evaluate::zero_shot).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use stages::dataset::probe::{self, ProbeDataSpec};
use stages::evaluate::zero_shot::{Prompts, ZeroShotConfig};
use stages::features::assemble::{self, ShardRecord};
use stages::features::output::{self, RowMeta};
use stages::features::units::Units;
use stages::features::{EncoderSpec, FeatureMatrix, encode};

use crate::config::Config;
use crate::engine::error::{EngineError, Result};
use crate::engine::stage::{Problem, Shard, Stage, StageContext, StageId};
use crate::nodes::features::{FeaturesNode, Role};
use crate::nodes::ids;

pub struct PromptFeaturesNode;

/// The section of the templates and class names.
const SECTION: &str = "zero_shot";
/// The section naming the probe set, whose class names the prompts use.
const PROBE_SECTION: &str = "probe_dataset";

/// The prompts and the encoder they go through: three sections of the config.
#[derive(Serialize, Deserialize)]
pub struct PromptFeaturesParams {
    zero_shot: ZeroShotConfig,
    data: ProbeDataSpec,
    encoder: EncoderSpec,
}

impl Stage for PromptFeaturesNode {
    type Params = PromptFeaturesParams;

    fn name(&self) -> StageId {
        ids::prompt_features()
    }

    fn version(&self) -> u32 {
        stages::features::TEXT_VERSION
    }

    fn section(&self) -> String {
        SECTION.into()
    }

    fn inputs(&self) -> Vec<StageId> {
        Vec::new()
    }

    fn defaults(&self) -> PromptFeaturesParams {
        PromptFeaturesParams {
            zero_shot: ZeroShotConfig::default(),
            data: ProbeDataSpec::default(),
            encoder: Role::Text.defaults(),
        }
    }

    fn read_params(&self, config: &Config) -> Result<PromptFeaturesParams> {
        Ok(PromptFeaturesParams {
            zero_shot: config.typed(SECTION)?,
            data: config.typed(PROBE_SECTION)?,
            encoder: config.typed_over(&Role::Text.section(), &Role::Text.defaults())?,
        })
    }

    /// The templates, the probe set's kind and folder (which name its classes; its sample
    /// counts do not change the prompts) and the text encoder.
    fn key_params(&self, p: &PromptFeaturesParams) -> Result<Value> {
        let failed = |e: serde_json::Error| EngineError::Other(format!("{}: {e}", self.name()));
        Ok(serde_json::json!({
            "zero_shot": serde_json::to_value(&p.zero_shot).map_err(failed)?,
            "data": { "kind": serde_json::to_value(p.data.kind).map_err(failed)?, "path": p.data.path },
            "encoder": serde_json::to_value(&p.encoder).map_err(failed)?,
        }))
    }

    fn config_sections(&self, defaults: &Value) -> Vec<(String, Value)> {
        vec![
            (SECTION.into(), defaults["zero_shot"].clone()),
            (PROBE_SECTION.into(), defaults["data"].clone()),
            (Role::Text.section(), defaults["encoder"].clone()),
        ]
    }

    fn problems(&self, p: &PromptFeaturesParams) -> Vec<Problem> {
        let mut out = Problem::in_section(SECTION, p.zero_shot.problems());
        out.extend(Problem::in_section(PROBE_SECTION, p.data.problems()));
        out.extend(FeaturesNode::of_role(Role::Text).spec_problems(&p.encoder));
        out
    }

    fn externals(&self, p: &PromptFeaturesParams, config: &Config) -> Result<Vec<PathBuf>> {
        let mut files = vec![
            config.resolve(&p.encoder.onnx),
            config.resolve(&p.encoder.tokenizer),
        ];
        files.extend(probe::class_files(
            p.data.kind,
            &config.resolve(&p.data.path),
        ));
        Ok(files)
    }

    fn resumable(&self) -> bool {
        true
    }

    fn run(&self, ctx: &StageContext, p: &PromptFeaturesParams) -> anyhow::Result<()> {
        let work = Work::of(ctx, p);
        work.encode(ctx, p, &work.units)?;
        work.write_table(ctx)
    }

    fn shardable(&self) -> bool {
        true
    }

    fn run_shard(
        &self,
        ctx: &StageContext,
        p: &PromptFeaturesParams,
        shard: Shard,
    ) -> anyhow::Result<()> {
        let work = Work::of(ctx, p);
        let units = work.units.shard(shard);
        work.encode(ctx, p, &units)?;
        ShardRecord::new(shard, &units, work.prompts.texts.len()).write(&ctx.out_dir)?;
        Ok(())
    }

    fn assemble(
        &self,
        ctx: &StageContext,
        p: &PromptFeaturesParams,
        shards: &[PathBuf],
    ) -> anyhow::Result<()> {
        let work = Work::of(ctx, p);
        let rows = encode::storage_shard_rows(&p.encoder);
        assemble::assemble(&ctx.out_dir, shards, work.prompts.texts.len(), rows)?;
        work.write_table(ctx)
    }
}

/// The prompts, their class names and the units their batches are formed within. Cheap: a
/// shard and an assembly compute it again.
struct Work {
    prompts: Prompts,
    class_names: Vec<String>,
    units: Units,
}

impl Work {
    fn of(ctx: &StageContext, p: &PromptFeaturesParams) -> Work {
        let probe_set = probe::classes(p.data.kind, &ctx.root.join(&p.data.path));
        let class_names = p.zero_shot.names(probe_set);
        let prompts = Prompts::new(&class_names, &p.zero_shot.templates);
        let units = Units::texts_alone(prompts.texts.len(), p.encoder.batch_size);
        Work {
            prompts,
            class_names,
            units,
        }
    }

    fn encode(
        &self,
        ctx: &StageContext,
        p: &PromptFeaturesParams,
        units: &Units,
    ) -> anyhow::Result<()> {
        encode::encode_text_units(
            &p.encoder,
            &ctx.root.join(&p.encoder.onnx),
            &ctx.root.join(&p.encoder.tokenizer),
            &self.prompts.texts,
            units,
            &ctx.out_dir,
            ctx.name,
        )?;
        Ok(())
    }

    fn write_table(&self, ctx: &StageContext) -> anyhow::Result<()> {
        let matrix = FeatureMatrix::open(&ctx.out_dir)?;
        let p = &self.prompts;
        let meta: Vec<RowMeta> = (0..p.texts.len())
            .map(|i| RowMeta {
                id: format!("{}/{}", p.labels[i], p.templates[i]),
                image_id: self.class_names[p.labels[i]].clone(),
                split: "prompt".into(),
                source: p.texts[i].clone(),
            })
            .collect();
        let labels: Vec<i64> = p.labels.iter().map(|&l| l as i64).collect();
        output::write_parquet_labelled(&ctx.out_dir, &meta, Some(&labels), &matrix)?;
        eprintln!(
            "{}: {} classes x {} templates -> {}-d",
            ctx.name,
            self.class_names.len(),
            p.texts.len() / self.class_names.len().max(1),
            matrix.dim()
        );
        Ok(())
    }
}
