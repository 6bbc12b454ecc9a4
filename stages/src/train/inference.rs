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
use crate::train::model::AlignModel;

/// Inference runs on the plain CPU backend: no autodiff, so dropout is off.
type Cpu = burn::backend::NdArray<f32>;

pub struct TrainedAdapters {
    model: AlignModel<Cpu>,
    pub d_image: usize,
    pub d_embed: usize,
}

fn invalid(path: &Path, message: String) -> Error {
    Error::Invalid {
        what: path.display().to_string(),
        message,
    }
}

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
            d_embed,
        })
    }

    /// The image adapter applied to `rows` x `d_image` row-major features.
    pub fn project_image(&self, values: Vec<f32>, rows: usize) -> Result<Vec<f32>> {
        if values.len() != rows * self.d_image {
            return Err(Error::Invalid {
                what: "image adapter input".into(),
                message: format!(
                    "{} values are not {rows} rows of the adapter's width {}",
                    values.len(),
                    self.d_image
                ),
            });
        }
        let device = Default::default();
        let mut out = Vec::with_capacity(rows * self.d_embed);
        for start in (0..rows).step_by(1024) {
            let end = (start + 1024).min(rows);
            let chunk = values[start * self.d_image..end * self.d_image].to_vec();
            let x = Tensor::<Cpu, 2>::from_data(
                TensorData::new(chunk, [end - start, self.d_image]),
                &device,
            );
            let y = self.model.image.forward(x).into_data();
            out.extend(
                y.into_vec::<f32>()
                    .map_err(|e| invalid(Path::new("image adapter"), format!("{e:?}")))?,
            );
        }
        Ok(out)
    }
}
