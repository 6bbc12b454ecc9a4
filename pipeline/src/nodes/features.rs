//! `features:image`, `features:text`, `features:reference`: one node per encoder, so replacing
//! one model file reruns only its node (and what reads it).

use std::path::PathBuf;

use serde_json::Value;
use stages::dataset::ingest;
use stages::features::encode;
use stages::features::output::{self, RowMeta};
use stages::features::spec::EncoderKind;
use stages::features::{EncoderSpec, FeatureMatrix};

use crate::config::Config;
use crate::engine::error::{EngineError, Result};
use crate::engine::stage::{Stage, StageContext};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Image,
    Text,
    Reference,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Image => "image",
            Role::Text => "text",
            Role::Reference => "reference",
        }
    }

    pub(crate) fn defaults(self) -> EncoderSpec {
        match self {
            Role::Image => EncoderSpec::embedded_image(),
            Role::Text => EncoderSpec::embedded_text(),
            Role::Reference => EncoderSpec::embedded_reference(),
        }
    }
}

pub struct FeaturesNode(pub Role);

impl FeaturesNode {
    fn spec(&self, params: &Value) -> Result<EncoderSpec> {
        serde_json::from_value(params.clone())
            .map_err(|e| EngineError::Config(format!("[encoders.{}]: {e}", self.0.as_str())))
    }
}

impl Stage for FeaturesNode {
    fn name(&self) -> String {
        format!("features:{}", self.0.as_str())
    }

    fn version(&self) -> u32 {
        stages::features::VERSION
    }

    fn section(&self) -> String {
        format!("encoders.{}", self.0.as_str())
    }

    fn inputs(&self) -> Vec<String> {
        vec!["ingest".into()]
    }

    fn params(&self, config: &Config) -> Result<Value> {
        let (spec, value) = config.typed_over(&self.section(), &self.0.defaults())?;
        let want = if self.0 == Role::Text {
            EncoderKind::Text
        } else {
            EncoderKind::Image
        };
        if spec.kind != want {
            return Err(EngineError::Config(format!(
                "[{}] kind = {:?}, but the {} encoder must be an {:?} model",
                self.section(),
                spec.kind,
                self.0.as_str(),
                want
            )));
        }
        Ok(value)
    }

    fn externals(&self, params: &Value, config: &Config) -> Result<Vec<PathBuf>> {
        let spec = self.spec(params)?;
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

    fn run(&self, ctx: &StageContext) -> anyhow::Result<()> {
        let spec = self.spec(ctx.params)?;
        let records = ingest::read_manifest(ctx.input("ingest")?)?;
        let model = ctx.root.join(&spec.onnx);
        let label = ctx.name;
        let clock = std::time::Instant::now();
        let meta: Vec<RowMeta> = if spec.kind == EncoderKind::Text {
            let texts: Vec<String> = records.iter().map(|r| r.caption.clone()).collect();
            encode::encode_texts(
                &spec,
                &model,
                &ctx.root.join(&spec.tokenizer),
                &texts,
                &ctx.out_dir,
                label,
            )?;
            records
                .iter()
                .map(|r| RowMeta {
                    id: r.id.clone(),
                    image_id: r.image_id.clone(),
                    split: r.split.as_str().into(),
                    source: r.caption.clone(),
                })
                .collect()
        } else {
            // Each image once, however many captions it has (first occurrence order).
            let mut seen = std::collections::HashSet::new();
            let images: Vec<_> = records
                .iter()
                .filter(|r| seen.insert(r.image_id.clone()))
                .collect();
            let paths: Vec<PathBuf> = images
                .iter()
                .map(|r| ctx.root.join(&r.image_path))
                .collect();
            encode::encode_images(&spec, &model, &paths, &ctx.out_dir, label)?;
            images
                .iter()
                .map(|r| RowMeta {
                    id: r.image_id.clone(),
                    image_id: r.image_id.clone(),
                    split: r.split.as_str().into(),
                    source: r.image_path.clone(),
                })
                .collect()
        };
        let matrix = FeatureMatrix::open(&ctx.out_dir)?;
        output::write_parquet(&ctx.out_dir, &meta, &matrix)?;
        let secs = clock.elapsed().as_secs_f64();
        eprintln!(
            "{label}: {} items -> {}-d in {secs:.1} s ({:.1} items/s)",
            matrix.rows(),
            matrix.dim(),
            matrix.rows() as f64 / secs.max(1e-9)
        );
        Ok(())
    }
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
            serde_json::from_value(FeaturesNode(role).params(&config).unwrap()).unwrap()
        };
        let mut image = EncoderSpec::resnet18("models/resnet18.onnx");
        image.batch_size = spec(Role::Image).batch_size;
        assert_eq!(spec(Role::Image), image);
        assert_eq!(
            spec(Role::Text),
            EncoderSpec::distilbert(
                "models/distilbert/model.onnx",
                "models/distilbert/tokenizer.json"
            )
        );
        assert_eq!(
            spec(Role::Reference),
            EncoderSpec::dinov2_base("models/dinov2/model.onnx")
        );
    }
}
