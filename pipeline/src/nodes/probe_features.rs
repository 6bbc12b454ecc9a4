//! `features:probe-image` and `features:probe-reference`: the downstream probe set (Fashion-MNIST
//! by default) through the image encoder and through the reference encoder, once each. Rows: the
//! first `train_samples` training examples, then the first `test_samples` test examples.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use stages::dataset::probe::{self, ProbeDataSpec, ProbeSplit};
use stages::features::output::{self, RowMeta};
use stages::features::{EncoderSpec, FeatureMatrix, encode};

use crate::config::Config;
use crate::engine::error::{EngineError, Result};
use crate::engine::stage::{Stage, StageContext};
use crate::nodes::features::Role;

pub struct ProbeFeaturesNode(pub Role);

#[derive(Serialize, Deserialize)]
struct Params {
    data: ProbeDataSpec,
    encoder: EncoderSpec,
}

impl ProbeFeaturesNode {
    fn encoder_section(&self) -> String {
        format!("encoders.{}", self.0.as_str())
    }
}

impl Stage for ProbeFeaturesNode {
    fn name(&self) -> String {
        format!("features:probe-{}", self.0.as_str())
    }

    fn version(&self) -> u32 {
        stages::features::VERSION
    }

    fn section(&self) -> String {
        "probe_dataset".into()
    }

    fn config_sections(&self, defaults: &Value) -> Vec<(String, Value)> {
        vec![
            (self.section(), defaults["data"].clone()),
            (self.encoder_section(), defaults["encoder"].clone()),
        ]
    }

    fn inputs(&self) -> Vec<String> {
        Vec::new()
    }

    fn params(&self, config: &Config) -> Result<Value> {
        let (_, data) = config.typed::<ProbeDataSpec>("probe_dataset")?;
        let (_, encoder) = config.typed_over(&self.encoder_section(), &self.0.defaults())?;
        Ok(json!({ "data": data, "encoder": encoder }))
    }

    fn externals(&self, params: &Value, config: &Config) -> Result<Vec<PathBuf>> {
        let p: Params = serde_json::from_value(params.clone())
            .map_err(|e| EngineError::Config(format!("[probe_dataset]: {e}")))?;
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

    fn run(&self, ctx: &StageContext) -> anyhow::Result<()> {
        let p: Params = ctx.params()?;
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
