//! Opening an encoder's model: the spec's values checked, the model's signature checked, and
//! where each output the spec reads lies in a row.

use std::path::Path;

use crate::error::{Error, Result};
use crate::features::output::LayerSlice;
use crate::features::spec::{EncoderKind, EncoderSpec};
use crate::onnx::OnnxModel;

/// Opens the spec's model, checks its signature and the width of every output it reads.
pub(super) fn open_layers(
    spec: &EncoderSpec,
    model_path: &Path,
) -> Result<(OnnxModel, Vec<LayerSlice>)> {
    check_spec(spec, model_path)?;
    // Image batches are decoded and resized on the same cores while ONNX Runtime runs: its idle
    // threads must not spin. Text preprocessing is tiny, and spinning keeps short runs fast.
    let model = OnnxModel::open_with(model_path, spec.threads, spec.kind == EncoderKind::Text)?;
    let layers = slices(spec, &model, model_path)?;
    Ok((model, layers))
}

/// Values a config can set that would otherwise fail deep inside resizing or batching.
fn check_spec(spec: &EncoderSpec, model_path: &Path) -> Result<()> {
    let bad = |field: &str, why: &str| Error::Invalid {
        what: format!("encoder spec for {}", model_path.display()),
        message: format!("`{field}` {why}"),
    };
    if spec.batch_size == 0 {
        return Err(bad("batch_size", "must be at least 1"));
    }
    if spec.kind == EncoderKind::Image && (spec.image_size == 0 || spec.resize_shorter == 0) {
        return Err(bad(
            "image_size / resize_shorter",
            "must be at least 1 pixel",
        ));
    }
    if spec.kind == EncoderKind::Image && spec.inputs.len() != 1 {
        return Err(bad("inputs", "must name exactly one image input"));
    }
    Ok(())
}

/// The outputs `spec` reads from the open `model`, checked against its signature, and where
/// each lies in a row (side by side, in the spec's order).
pub(super) fn slices(
    spec: &EncoderSpec,
    model: &OnnxModel,
    model_path: &Path,
) -> Result<Vec<LayerSlice>> {
    let signature_err = |message: String| Error::Signature {
        path: model_path.to_path_buf(),
        message,
    };
    let outputs = spec
        .read_outputs(&model.output_names())
        .map_err(signature_err)?;
    model.check_signature(&spec.signature(&outputs))?;
    let mut slices = Vec::with_capacity(outputs.len());
    let mut offset = 0;
    for name in outputs {
        let declared = model
            .output_shape(&name)
            .and_then(|s| s.last().copied())
            .filter(|d| *d > 0)
            .map(|d| d as usize);
        // `dim` is the width of `output`; layers take the widths the file declares.
        let want = if spec.layers.is_empty() { spec.dim } else { 0 };
        let dim = match (declared, want) {
            (Some(d), 0) => d,
            (None, 0) => {
                return Err(signature_err(format!(
                    "output `{name}` has a dynamic width; set `dim` in the encoder spec \
                     (layers must declare theirs)"
                )));
            }
            (Some(d), want) if d != want => {
                return Err(signature_err(format!(
                    "output `{name}` is {d}-d, the encoder spec says dim = {want}"
                )));
            }
            (_, want) => want,
        };
        slices.push(LayerSlice { name, offset, dim });
        offset += dim;
    }
    Ok(slices)
}
