//! `features:probe-<name>`: the downstream probe set (Fashion-MNIST by default) through an image
//! encoder, once: the experiment's image and reference encoders (`features:probe-image`,
//! `features:probe-reference`, which the probe stage reads), and every other image encoder of
//! `[modelset]` (which `probe:modelset` reads for its competence). Rows: the first
//! `train_samples` training examples, then the first `test_samples` test examples.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use stages::dataset::probe::{self, ProbeDataSpec, ProbeSplit};
use stages::features::assemble::{self, ShardRecord};
use stages::features::encode::{self, Sink};
use stages::features::output::{self, RowMeta};
use stages::features::units::Units;
use stages::features::{EncoderSpec, FeatureMatrix};

use crate::config::Config;
use crate::engine::error::{EngineError, Result};
use crate::engine::stage::{PassMember, Problem, Shard, Stage, StageContext, StageId};
use crate::nodes::features::{FeaturesNode, spec_section};
use crate::nodes::ids;

/// The probe set through the image encoder of `[encoders.<name>]`.
pub struct ProbeFeaturesNode(pub FeaturesNode);

/// The probe set and the encoder it goes through: two sections of the config.
#[derive(Serialize, Deserialize)]
pub struct ProbeFeaturesParams {
    data: ProbeDataSpec,
    encoder: EncoderSpec,
}

impl Stage for ProbeFeaturesNode {
    type Params = ProbeFeaturesParams;

    fn name(&self) -> StageId {
        ids::probe_features(&self.0.encoder())
    }

    fn version(&self) -> u32 {
        stages::features::VERSION
    }

    fn section(&self) -> String {
        "probe_dataset".into()
    }

    fn inputs(&self) -> Vec<StageId> {
        Vec::new()
    }

    fn defaults(&self) -> ProbeFeaturesParams {
        ProbeFeaturesParams {
            data: ProbeDataSpec::default(),
            encoder: self.0.spec_defaults(),
        }
    }

    fn read_params(&self, config: &Config) -> Result<ProbeFeaturesParams> {
        Ok(ProbeFeaturesParams {
            data: config.typed(&self.section())?,
            encoder: config.typed_over(&self.0.spec_section(), &self.0.spec_defaults())?,
        })
    }

    fn config_sections(&self, defaults: &Value) -> Vec<(String, Value)> {
        vec![
            (self.section(), defaults["data"].clone()),
            (self.0.spec_section(), spec_section(&defaults["encoder"])),
        ]
    }

    fn problems(&self, p: &ProbeFeaturesParams) -> Vec<Problem> {
        let mut out = Problem::in_section(&self.section(), p.data.problems());
        out.extend(self.0.spec_problems(&p.encoder));
        out
    }

    fn externals(&self, p: &ProbeFeaturesParams, config: &Config) -> Result<Vec<PathBuf>> {
        let dir = config.resolve(&p.data.path);
        let mut files = vec![config.resolve(&p.encoder.onnx)];
        for split in [ProbeSplit::Train, ProbeSplit::Test] {
            files.extend(
                probe::files(p.data.kind, &dir, split)
                    .map_err(|e| EngineError::Config(e.to_string()))?,
            );
        }
        files.sort();
        files.dedup();
        Ok(files)
    }

    fn resumable(&self) -> bool {
        true
    }

    fn run(&self, ctx: &StageContext, p: &ProbeFeaturesParams) -> anyhow::Result<()> {
        encode_members(&[(ctx, p)], None)
    }

    fn shardable(&self) -> bool {
        true
    }

    fn run_shard(
        &self,
        ctx: &StageContext,
        p: &ProbeFeaturesParams,
        shard: Shard,
    ) -> anyhow::Result<()> {
        encode_members(&[(ctx, p)], Some(shard))
    }

    /// The probe set and the encoder's model run (not the outputs it keeps).
    fn pass(&self, p: &ProbeFeaturesParams) -> Option<Value> {
        Some(serde_json::json!({ "data": p.data, "encoder": p.encoder.pass() }))
    }

    fn run_pass(&self, members: &[PassMember<Self>], shard: Option<Shard>) -> anyhow::Result<()> {
        let members: Vec<_> = members.iter().map(|m| (m.ctx, m.params)).collect();
        encode_members(&members, shard)
    }

    fn assemble(
        &self,
        ctx: &StageContext,
        p: &ProbeFeaturesParams,
        shards: &[PathBuf],
    ) -> anyhow::Result<()> {
        let set = Rows::read(ctx, p)?;
        let rows = encode::storage_shard_rows(&p.encoder);
        assemble::assemble(&ctx.out_dir, shards, set.images.images.len(), rows)?;
        set.write_table(ctx)
    }
}

/// The probe set's images (train, then test) with the rows' metadata and labels.
struct Rows {
    /// The train set, its images followed by the test set's.
    images: probe::ProbeSet,
    meta: Vec<RowMeta>,
    labels: Vec<i64>,
    /// Train and test rows, for the log line.
    counts: (usize, usize),
}

impl Rows {
    fn read(ctx: &StageContext, p: &ProbeFeaturesParams) -> anyhow::Result<Rows> {
        let dir = ctx.root.join(&p.data.path);
        let train = probe::read(p.data.kind, &dir, ProbeSplit::Train, p.data.train_samples)?;
        let test = probe::read(p.data.kind, &dir, ProbeSplit::Test, p.data.test_samples)?;
        let mut meta = Vec::with_capacity(train.images.len() + test.images.len());
        let mut labels = Vec::with_capacity(meta.capacity());
        for (split, set) in [("train", &train), ("test", &test)] {
            for (i, l) in set.labels.iter().enumerate() {
                meta.push(RowMeta {
                    id: format!("{split}/{i:05}"),
                    image_id: format!("{split}/{i:05}"),
                    split: split.into(),
                    source: set.classes.get(*l as usize).cloned().unwrap_or_default(),
                });
                labels.push(i64::from(*l));
            }
        }
        let counts = (train.labels.len(), test.labels.len());
        let mut images = train;
        images.images.extend(test.images);
        Ok(Rows {
            images,
            meta,
            labels,
            counts,
        })
    }

    /// Encodes the images of `units` once into every sink (one pass: `p` is the first's).
    fn encode(
        &self,
        ctx: &StageContext,
        p: &ProbeFeaturesParams,
        units: &Units,
        sinks: &[Sink],
    ) -> anyhow::Result<()> {
        encode::encode_images_into(
            sinks,
            &ctx.root.join(&p.encoder.onnx),
            units,
            |i| Ok(self.images.images[i].clone()),
            None,
        )?;
        Ok(())
    }

    fn write_table(&self, ctx: &StageContext) -> anyhow::Result<()> {
        let matrix = FeatureMatrix::open(&ctx.out_dir)?;
        output::write_parquet_labelled(&ctx.out_dir, &self.meta, Some(&self.labels), &matrix)?;
        eprintln!(
            "{}: {} train + {} test images -> {}-d",
            ctx.name,
            self.counts.0,
            self.counts.1,
            matrix.dim()
        );
        Ok(())
    }
}

/// Encodes the probe set's images (of `shard`, or all) once into every member's folder: the
/// whole artifact with its table, or one shard with its record.
fn encode_members(
    members: &[(&StageContext, &ProbeFeaturesParams)],
    shard: Option<Shard>,
) -> anyhow::Result<()> {
    let (ctx, p) = members[0];
    let set = Rows::read(ctx, p)?;
    let rows = set.images.images.len();
    let mut units = Units::images(rows, p.encoder.batch_size);
    if let Some(shard) = shard {
        units = units.shard(shard);
    }
    let sinks: Vec<Sink> = members
        .iter()
        .map(|(ctx, p)| Sink {
            spec: &p.encoder,
            out_dir: &ctx.out_dir,
            label: ctx.name,
        })
        .collect();
    set.encode(ctx, p, &units, &sinks)?;
    for (ctx, _) in members {
        match shard {
            Some(shard) => ShardRecord::new(shard, &units, rows).write(&ctx.out_dir)?,
            None => set.write_table(ctx)?,
        }
    }
    Ok(())
}
