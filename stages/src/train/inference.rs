//! A trained `train:<name>` artifact put back to work: its adapters loaded from `model.mpk`
//! (the config beside it says their shape) and applied to other features, such as the probe
//! set's image features.

use std::path::Path;

use burn::module::Module;
use burn::record::Recorder;
use burn::tensor::{Tensor, TensorData};

use crate::error::{Error, Result};
use crate::spaces::{Modality, Weights};
use crate::train::artifact::TrainArtifact;
use crate::train::checkpoint::recorder;
use crate::train::data::{TrainingData, gather};
use crate::train::model::AlignModel;
use crate::train::training::initial_model;

/// Inference runs on the plain CPU backend: no autodiff, so dropout is off.
type Cpu = burn::backend::NdArray<f32>;

pub struct TrainedAdapters {
    model: AlignModel<Cpu>,
    pub d_image: usize,
    pub d_text: usize,
    pub d_embed: usize,
}

fn invalid(path: &Path, message: String) -> Error {
    Error::Invalid {
        what: path.display().to_string(),
        message,
    }
}

/// Rows of the training data the rebuilt untrained adapters are checked on.
const CHECK_ROWS: usize = 16;

impl TrainedAdapters {
    /// Loads the adapters of `artifact` for image features of width `d_image` and text
    /// features of width `d_text`.
    pub fn load(
        artifact: &TrainArtifact,
        d_image: usize,
        d_text: usize,
    ) -> Result<TrainedAdapters> {
        let config = artifact.read_config()?;
        let d_embed = artifact
            .open_embeddings(Weights::Trained, Modality::Image)?
            .dim();
        let device = Default::default();
        let record = recorder()
            .load(artifact.model(), &device)
            .map_err(|e| invalid(&artifact.model(), format!("Burn record: {e}")))?;
        let model =
            AlignModel::<Cpu>::new(&config, d_image, d_text, d_embed, &device).load_record(record);
        Ok(TrainedAdapters {
            model,
            d_image,
            d_text,
            d_embed,
        })
    }

    /// The adapters of `artifact` under `weights`, for the features of `data`: the trained
    /// ones from `model.mpk`; the untrained ones (epoch 0, the floor) rebuilt from the seed in
    /// the artifact's config as training initialised them, and checked against the untrained
    /// image embeddings the artifact exported, so a rebuild that draws other weights (another
    /// Burn, another initialisation) is an error rather than another floor.
    pub fn of(
        artifact: &TrainArtifact,
        weights: Weights,
        data: &TrainingData,
    ) -> Result<TrainedAdapters> {
        let (d_image, d_text) = (data.image.dim(), data.text.dim());
        if weights == Weights::Trained {
            return TrainedAdapters::load(artifact, d_image, d_text);
        }
        let config = artifact.read_config()?;
        let exported = artifact.open_embeddings(Weights::Untrained, Modality::Image)?;
        let d_embed = exported.dim();
        let model = initial_model::<Cpu>(&config, d_image, d_text, d_embed, &Default::default());
        let adapters = TrainedAdapters {
            model,
            d_image,
            d_text,
            d_embed,
        };
        let rows = CHECK_ROWS.min(data.image.rows()).min(exported.rows());
        let rebuilt = adapters.project_image(gather(&data.image, 0..rows), rows)?;
        let expected = gather(&exported, 0..rows);
        if let Some((i, (a, b))) = rebuilt
            .iter()
            .zip(&expected)
            .enumerate()
            .find(|(_, (a, b))| (*a - *b).abs() > 1e-5 * b.abs().max(1.0))
        {
            return Err(invalid(
                artifact.dir(),
                format!(
                    "the untrained adapters rebuilt from seed {} give {a} where the artifact's \
                     untrained image embeddings hold {b} (row {}, column {}): the artifact was \
                     trained by a build that initialises differently; rebuild it \
                     (`pipeline run --force --stage train:<name>`)",
                    config.seed,
                    i / d_embed,
                    i % d_embed
                ),
            ));
        }
        Ok(adapters)
    }

    /// The image adapter applied to `rows` x `d_image` row-major features.
    pub fn project_image(&self, values: Vec<f32>, rows: usize) -> Result<Vec<f32>> {
        self.project(Modality::Image, values, rows)
    }

    /// The text adapter applied to `rows` x `d_text` row-major features.
    pub fn project_text(&self, values: Vec<f32>, rows: usize) -> Result<Vec<f32>> {
        self.project(Modality::Text, values, rows)
    }

    fn project(&self, modality: Modality, values: Vec<f32>, rows: usize) -> Result<Vec<f32>> {
        let (adapter, width) = match modality {
            Modality::Image => (&self.model.image, self.d_image),
            Modality::Text => (&self.model.text, self.d_text),
        };
        if values.len() != rows * width {
            return Err(Error::Invalid {
                what: format!("{} adapter input", modality.as_str()),
                message: format!(
                    "{} values are not {rows} rows of the adapter's width {width}",
                    values.len(),
                ),
            });
        }
        let device = Default::default();
        let mut out = Vec::with_capacity(rows * self.d_embed);
        for start in (0..rows).step_by(1024) {
            let end = (start + 1024).min(rows);
            let chunk = values[start * width..end * width].to_vec();
            let x =
                Tensor::<Cpu, 2>::from_data(TensorData::new(chunk, [end - start, width]), &device);
            let y = adapter.forward(x).into_data();
            out.extend(y.into_vec::<f32>().map_err(|e| {
                invalid(
                    Path::new(&format!("{} adapter", modality.as_str())),
                    format!("{e:?}"),
                )
            })?);
        }
        Ok(out)
    }
}
