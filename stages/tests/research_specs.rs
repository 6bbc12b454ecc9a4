//! The documented specs for the research's own models (ResNet-18, DistilBERT, DINOv2-base) wire
//! up to graphs with those models' input/output names and shapes
//! (stages/tests/golden/make_research_signatures.py: random weights, real signatures), and a
//! mismatch is named when the model is opened. Needs `make setup` (ONNX Runtime, tokenizer).

use std::path::{Path, PathBuf};

use stages::features::{EncoderSpec, FeatureMatrix, encode};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn graph(name: &str) -> String {
    repo()
        .join("stages/tests/golden/research")
        .join(name)
        .display()
        .to_string()
}

fn images() -> Vec<PathBuf> {
    [
        "animals/amphibians/frog-1.png",
        "animals/mammals/badger.png",
        "food/fruit/cartoon/lemon.svg",
    ]
    .iter()
    .map(|p| repo().join("data/datasets/tuxpaint").join(p))
    .collect()
}

#[test]
fn resnet18_spec_gives_512_d_features() {
    let spec = EncoderSpec::resnet18(&graph("resnet18.onnx"));
    let dir = tempfile::tempdir().unwrap();
    encode::encode_images(
        &spec,
        Path::new(&spec.onnx),
        &images(),
        dir.path(),
        "resnet18",
    )
    .unwrap();
    let m = FeatureMatrix::open(dir.path()).unwrap();
    assert_eq!((m.rows(), m.dim()), (3, 512));
}

#[test]
fn distilbert_spec_feeds_no_token_types_and_pools_cls() {
    let tokenizer = repo().join("data/models/minilm_l6_v2.tokenizer.json"); // same uncased WordPiece vocabulary
    let spec = EncoderSpec::distilbert(&graph("distilbert.onnx"), &tokenizer.display().to_string());
    let captions: Vec<String> = [
        "A frog.",
        "A badger digging a hole in the ground.",
        "A lemon.",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let dir = tempfile::tempdir().unwrap();
    encode::encode_texts(
        &spec,
        Path::new(&spec.onnx),
        &tokenizer,
        &captions,
        dir.path(),
        "distilbert",
    )
    .unwrap();
    let m = FeatureMatrix::open(dir.path()).unwrap();
    assert_eq!((m.rows(), m.dim()), (3, 768));
    // The toy graph's token state is a function of (id, mask): CLS is token 0 = [CLS] (id 101)
    // for every caption, so CLS pooling gives identical rows whatever the caption.
    assert_eq!(m.row(0), m.row(1));
    assert_eq!(m.row(1), m.row(2));
}

#[test]
fn dinov2_base_spec_takes_the_cls_of_257_tokens() {
    let spec = EncoderSpec::dinov2_base(&graph("dinov2_base.onnx"));
    let dir = tempfile::tempdir().unwrap();
    encode::encode_images(
        &spec,
        Path::new(&spec.onnx),
        &images(),
        dir.path(),
        "dinov2",
    )
    .unwrap();
    let m = FeatureMatrix::open(dir.path()).unwrap();
    assert_eq!((m.rows(), m.dim()), (3, 768));
    // CLS is the learned token, the same for every image.
    assert_eq!(m.row(0), m.row(2));
}

#[test]
fn mismatched_specs_are_named_at_load() {
    let mut wrong_dim = EncoderSpec::resnet18(&graph("resnet18.onnx"));
    wrong_dim.dim = 768;
    let err = encode::open_model(&wrong_dim, Path::new(&wrong_dim.onnx))
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("resnet18.onnx") && err.contains("512-d") && err.contains("dim = 768"),
        "{err}"
    );

    let mut with_types = EncoderSpec::distilbert(&graph("distilbert.onnx"), "unused");
    with_types.inputs.push("token_type_ids".into());
    let err = encode::open_model(&with_types, Path::new(&with_types.onnx))
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("missing input `token_type_ids`"), "{err}");

    let mut zero_size = EncoderSpec::resnet18(&graph("resnet18.onnx"));
    zero_size.image_size = 0;
    let err = encode::open_model(&zero_size, Path::new(&zero_size.onnx))
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("resnet18.onnx") && err.contains("image_size"),
        "{err}"
    );

    let mut pooled_as_tokens = EncoderSpec::resnet18(&graph("resnet18.onnx"));
    pooled_as_tokens.pooling = stages::pooling::Pooling::Cls;
    let err = encode::open_model(&pooled_as_tokens, Path::new(&pooled_as_tokens.onnx))
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("output `features` has rank 2") && err.contains("expected rank 3"),
        "{err}"
    );
}
