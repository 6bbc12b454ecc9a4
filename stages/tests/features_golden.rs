//! Features of 16 embedded images and 16 captions equal an independent Python computation
//! (PIL + onnxruntime + tokenizers: stages/tests/golden/make_features.py) to 1e-4 relative,
//! and the .npy shards and features.parquet hold the same numbers. Needs `make setup`.
//!
//! Tolerance: |rust − python| ≤ 1e-4 · max|python row| for every value. Preprocessing is
//! bit-identical to PIL's (same 8-bit resampling), so what remains is ONNX Runtime's float
//! summation order, which differs with the batch composition (3 here, 16 in Python).

use std::path::{Path, PathBuf};

use stages::features::output::{self, RowMeta};
use stages::features::{EncoderSpec, FeatureMatrix, encode, npy};
use stages::table::Table;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn golden_dir() -> PathBuf {
    root().join("stages/tests/golden")
}

fn load_npy(path: &Path) -> (usize, usize, Vec<f32>) {
    let bytes = std::fs::read(path).unwrap();
    let (rows, cols, offset) = npy::parse_header(&bytes, path).unwrap();
    let values = bytes[offset..]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    (rows, cols, values)
}

fn inputs() -> (Vec<PathBuf>, Vec<String>) {
    let j: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(golden_dir().join("features.json")).unwrap())
            .unwrap();
    let stamps = root().join("data/datasets/tuxpaint");
    assert!(stamps.is_dir(), "run `make setup` first");
    let images = j["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| stamps.join(p.as_str().unwrap()))
        .collect();
    let captions = j["captions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    (images, captions)
}

fn assert_close(name: &str, got: &FeatureMatrix, golden: &str) {
    let (rows, cols, want) = load_npy(&golden_dir().join(golden));
    assert_eq!((got.rows(), got.dim()), (rows, cols), "{name}: shape");
    for r in 0..rows {
        let w = &want[r * cols..(r + 1) * cols];
        let scale = w.iter().fold(0f32, |m, v| m.max(v.abs()));
        for (c, (g, w)) in got.row(r).iter().zip(w).enumerate() {
            assert!(
                (g - w).abs() <= 1e-4 * scale,
                "{name} row {r} col {c}: {g} vs Python {w} (row max {scale})"
            );
        }
    }
}

fn spec(mut s: EncoderSpec) -> EncoderSpec {
    s.onnx = root().join(&s.onnx).display().to_string();
    s.batch_size = 3;
    s.shard_rows = 5; // rounded up to whole batches: shards of 6, 6 and 4 rows
    s
}

#[test]
fn image_features_match_python() {
    let (images, _) = inputs();
    let s = spec(EncoderSpec::embedded_image());
    let dir = tempfile::tempdir().unwrap();
    let index = encode::encode_images(&s, Path::new(&s.onnx), &images, dir.path(), "test").unwrap();
    assert_eq!(index.shards.len(), 3);
    assert_eq!(index.shards[2].rows, 4);
    let m = FeatureMatrix::open(dir.path()).unwrap();
    assert_close("efficientnet", &m, "features_image.npy");

    // The Parquet file holds exactly the .npy numbers, with its metadata.
    let meta: Vec<RowMeta> = images
        .iter()
        .enumerate()
        .map(|(i, p)| RowMeta {
            id: format!("img{i}"),
            image_id: format!("img{i}"),
            split: "train".into(),
            source: p.display().to_string(),
        })
        .collect();
    output::write_parquet(dir.path(), &meta, &m).unwrap();
    let t = Table::read(&dir.path().join(output::PARQUET)).unwrap();
    let (dim, values) = t.vectors("vector").unwrap();
    assert_eq!(dim, 1280);
    assert_eq!(values, m.to_vec());
    assert_eq!(t.strings("id").unwrap()[3], "img3");
}

#[test]
fn reference_features_match_python() {
    let (images, _) = inputs();
    let s = spec(EncoderSpec::embedded_reference());
    let dir = tempfile::tempdir().unwrap();
    encode::encode_images(&s, Path::new(&s.onnx), &images, dir.path(), "test").unwrap();
    assert_close(
        "dinov2",
        &FeatureMatrix::open(dir.path()).unwrap(),
        "features_reference.npy",
    );
}

#[test]
fn text_features_match_python() {
    let (_, captions) = inputs();
    let s = spec(EncoderSpec::embedded_text());
    let tok = root().join(&s.tokenizer);
    let dir = tempfile::tempdir().unwrap();
    encode::encode_texts(&s, Path::new(&s.onnx), &tok, &captions, dir.path(), "test").unwrap();
    assert_close(
        "minilm",
        &FeatureMatrix::open(dir.path()).unwrap(),
        "features_text.npy",
    );
}

#[test]
fn length_bucketed_text_batches_equal_one_caption_at_a_time() {
    // Captions of very different lengths, so that every bucketed batch reorders them, over
    // three shards (6, 6 and 4 rows): each row must land at its own position.
    let (_, captions) = inputs();
    let captions: Vec<String> = captions
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if i % 3 == 0 {
                format!("{c} {c} {c}")
            } else {
                c.clone()
            }
        })
        .collect();
    let tok = root().join(EncoderSpec::embedded_text().tokenizer);
    let bucketed = spec(EncoderSpec::embedded_text());
    let mut alone = bucketed.clone();
    alone.batch_size = 1;
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for (s, dir) in [(&bucketed, &a), (&alone, &b)] {
        encode::encode_texts(s, Path::new(&s.onnx), &tok, &captions, dir.path(), "test").unwrap();
    }
    let (got, want) = (
        FeatureMatrix::open(a.path()).unwrap(),
        FeatureMatrix::open(b.path()).unwrap(),
    );
    assert_eq!(got.rows(), captions.len());
    for r in 0..got.rows() {
        let w = want.row(r);
        let scale = w.iter().fold(0f32, |m, v| m.max(v.abs()));
        for (g, w) in got.row(r).iter().zip(w.iter()) {
            assert!(
                (g - w).abs() <= 1e-5 * scale,
                "row {r}: {g} bucketed vs {w} alone (row max {scale})"
            );
        }
    }
}
