//! What a features stage encodes: the rows (with the metadata its table records) and the units
//! its batches are formed within, and the pass that encodes them into one or more artifacts.

use std::path::PathBuf;

use stages::dataset::ingest::IngestArtifact;
use stages::dataset::record::Record;
use stages::features::encode::{self, Sink};
use stages::features::output::RowMeta;
use stages::features::spec::EncoderKind;
use stages::features::units::Units;

use super::FeaturesParams;
use crate::engine::stage::StageContext;

/// What a features stage encodes: its rows (with the metadata its table records) and the units
/// its batches are formed within. Cheap to compute: a shard and an assembly compute it again.
pub(super) struct Work {
    pub meta: Vec<RowMeta>,
    items: Items,
    pub units: Units,
}

enum Items {
    /// The (perturbed) captions, one per row: each row's `source`.
    Texts,
    /// Each image once, however many captions it has (first occurrence order): ids and files.
    Images(Vec<String>, Vec<PathBuf>),
}

impl Work {
    pub fn of(ctx: &StageContext, params: &FeaturesParams) -> anyhow::Result<Work> {
        let records =
            IngestArtifact::at(ctx.input(&crate::nodes::ids::ingest())?).read_records()?;
        let batch = params.spec.batch_size;
        if params.spec.kind == EncoderKind::Text {
            let units = Units::texts(
                &records
                    .iter()
                    .map(|r| r.image_id.as_str())
                    .collect::<Vec<_>>(),
                batch,
            );
            // What is encoded (and recorded as each row's source) is the perturbed caption. The
            // records move into the rows: one copy of every caption and id, at any size.
            let perturbed = (!params.caption.is_identity()).then(|| {
                let ids: Vec<&str> = records.iter().map(|r| r.id.as_str()).collect();
                let captions: Vec<&str> = records.iter().map(|r| r.caption.as_str()).collect();
                params.caption.apply_all(&ids, &captions)
            });
            let meta = match perturbed {
                None => records
                    .into_iter()
                    .map(|mut r| {
                        let text = std::mem::take(&mut r.caption);
                        row_of_caption(r, text)
                    })
                    .collect(),
                Some(texts) => records
                    .into_iter()
                    .zip(texts)
                    .map(|(r, text)| row_of_caption(r, text))
                    .collect(),
            };
            Ok(Work {
                meta,
                units,
                items: Items::Texts,
            })
        } else {
            let mut seen = std::collections::HashSet::new();
            let images: Vec<_> = records
                .iter()
                .filter(|r| seen.insert(r.image_id.clone()))
                .collect();
            let meta: Vec<RowMeta> = images
                .iter()
                .map(|r| RowMeta {
                    id: r.image_id.clone(),
                    image_id: r.image_id.clone(),
                    split: r.split.as_str().into(),
                    source: r.image_path.clone(),
                })
                .collect();
            let ids = images.iter().map(|r| r.image_id.clone()).collect();
            let paths = images
                .iter()
                .map(|r| ctx.root.join(&r.image_path))
                .collect();
            Ok(Work {
                units: Units::images(meta.len(), batch),
                meta,
                items: Items::Images(ids, paths),
            })
        }
    }

    /// Encodes the rows of `units` into every sink in one pass (the sinks' specs share one
    /// [`EncoderSpec::pass`](stages::features::EncoderSpec::pass); `params` are the first's).
    pub fn encode(
        &self,
        ctx: &StageContext,
        params: &FeaturesParams,
        units: &Units,
        sinks: &[Sink],
    ) -> anyhow::Result<()> {
        let spec = &params.spec;
        let model = ctx.root.join(&spec.onnx);
        match &self.items {
            Items::Texts => {
                let texts: Vec<&str> = self.meta.iter().map(|m| m.source.as_str()).collect();
                let tokenizer = ctx.root.join(&spec.tokenizer);
                encode::encode_texts_into(sinks, &model, &tokenizer, &texts, units)?;
            }
            Items::Images(ids, paths) => {
                let perturb = |i: usize, img| params.image.apply(&ids[i], img);
                encode::encode_images_into(
                    sinks,
                    &model,
                    units,
                    |i| stages::image::decode::load_rgb(&paths[i]),
                    (!params.image.is_identity()).then_some(&perturb as encode::AfterResize),
                )?;
            }
        }
        Ok(())
    }
}

/// A caption's row: the record's id and image, and the text encoded (the caption, perturbed).
pub(super) fn row_of_caption(r: Record, text: String) -> RowMeta {
    RowMeta {
        id: r.id,
        image_id: r.image_id,
        split: r.split.as_str().into(),
        source: text,
    }
}
