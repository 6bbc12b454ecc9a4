//! A trained `train:<name>` artifact put back to work: its adapters loaded from `model.mpk`
//! (the config beside it says their shape) and applied to other features, such as the probe
//! set's image features.

use std::path::Path;

use burn::module::Module;
use burn::record::{FullPrecisionSettings, NamedMpkFileRecorder, Recorder};
use burn::tensor::{Tensor, TensorData};

use crate::error::{Error, Result};
use crate::features::FeatureMatrix;
use crate::train::TrainConfig;
use crate::train::model::AlignModel;
use crate::train::training::MODEL;

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
    /// Loads the adapters of the train artifact `dir` for image features of width `d_image`
    /// and text features of width `d_text`.
    pub fn load(dir: &Path, d_image: usize, d_text: usize) -> Result<TrainedAdapters> {
        let cpath = dir.join("config.json");
        let bytes = std::fs::read(&cpath).map_err(|e| Error::io(&cpath, e))?;
        let config: TrainConfig =
            serde_json::from_slice(&bytes).map_err(|e| invalid(&cpath, e.to_string()))?;
        let d_embed = FeatureMatrix::open(&dir.join("aligned/image"))?.dim();
        let device = Default::default();
        let record = NamedMpkFileRecorder::<FullPrecisionSettings>::new()
            .load(dir.join(MODEL), &device)
            .map_err(|e| invalid(&dir.join(MODEL), format!("Burn record: {e}")))?;
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
