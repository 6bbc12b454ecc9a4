//! `features:probe-image` and `features:probe-reference`: the downstream probe set (Fashion-MNIST
//! by default) through the image encoder and through the reference encoder, once each. Rows: the
//! first `train_samples` training examples, then the first `test_samples` test examples.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use stages::dataset::probe::{self, ProbeDataSpec, ProbeSplit};
use stages::features::output::{self, RowMeta};
use stages::features::{EncoderSpec, FeatureMatrix, encode};

use crate::config::Config;
use crate::engine::error::{EngineError, Result};
use crate::engine::stage::{Problem, Stage, StageContext};
use crate::nodes::features::{Role, encoder_problems};

pub struct ProbeFeaturesNode(pub Role);

/// The probe set and the encoder it goes through: two sections of the config.
#[derive(Serialize, Deserialize)]
pub struct ProbeFeaturesParams {
    data: ProbeDataSpec,
    encoder: EncoderSpec,
}

impl Stage for ProbeFeaturesNode {
    type Params = ProbeFeaturesParams;

    fn name(&self) -> String {
        format!("features:probe-{}", self.0.as_str())
    }

    fn version(&self) -> u32 {
        stages::features::VERSION
    }

    fn section(&self) -> String {
        "probe_dataset".into()
    }

    fn inputs(&self) -> Vec<String> {
        Vec::new()
    }

    fn defaults(&self) -> ProbeFeaturesParams {
        ProbeFeaturesParams {
            data: ProbeDataSpec::default(),
            encoder: self.0.defaults(),
        }
    }

    fn read_params(&self, config: &Config) -> Result<ProbeFeaturesParams> {
        Ok(ProbeFeaturesParams {
            data: config.typed(&self.section())?,
            encoder: config.typed_over(&self.0.section(), &self.0.defaults())?,
        })
    }

    fn config_sections(&self, defaults: &Value) -> Vec<(String, Value)> {
        vec![
            (self.section(), defaults["data"].clone()),
            (self.0.section(), defaults["encoder"].clone()),
        ]
    }

    fn problems(&self, p: &ProbeFeaturesParams) -> Vec<Problem> {
        let mut out = Problem::in_section(&self.section(), p.data.problems());
        out.extend(encoder_problems(self.0, &p.encoder));
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
        let dir = ctx.root.join(&p.data.path);
        let train = probe::read(p.data.kind, &dir, ProbeSplit::Train, p.data.train_samples)?;
        let test = probe::read(p.data.kind, &dir, ProbeSplit::Test, p.data.test_samples)?;
        let images: Vec<_> = train.images.iter().chain(&test.images).collect();
        let model = ctx.root.join(&p.encoder.onnx);
        encode::encode_images_with(
            &p.encoder,
            &model,
            images.len(),
            |i| Ok(images[i].clone()),
            None,
            &ctx.out_dir,
            ctx.name,
        )?;
        let mut meta = Vec::with_capacity(images.len());
        let mut labels = Vec::with_capacity(images.len());
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
        let matrix = FeatureMatrix::open(&ctx.out_dir)?;
        output::write_parquet_labelled(&ctx.out_dir, &meta, Some(&labels), &matrix)?;
        eprintln!(
            "{}: {} train + {} test images -> {}-d",
            ctx.name,
            train.labels.len(),
            test.labels.len(),
            matrix.dim()
        );
        Ok(())
    }
}
