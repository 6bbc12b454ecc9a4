//! The readers of files users give the pipeline never panic: seeded mutations of valid files
//! (bit flips, truncations, insertions, spliced chunks, header fields set to extreme integers)
//! go through each reader, and every input must give `Ok` or a named error. Each reader gets
//! `FUZZ_SECS` seconds (default 2; `make fuzz` runs longer). An input that panics is written to
//! `tests/output/fuzz-<reader>.bin` and the test fails naming it.
//!
//! Bounded memory is checked where a file's header states a size: such claims are tested
//! directly below (a header that claims terabytes is refused before anything is allocated).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use stages::dataset::probe::{self, ProbeKind, ProbeSplit};
use stages::dataset::{flickr30k, manifest_file, spec::CaptionChoice};
use stages::features::npy;
use stages::table::{self, Column};

fn budget() -> Duration {
    let secs = std::env::var("FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(2.0);
    Duration::from_secs_f64(secs)
}

/// Integers that break size arithmetic.
const EXTREMES: [u32; 8] = [
    0,
    1,
    0x7f,
    0xff,
    0xffff,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
];

/// One random mutation of `seed`.
fn mutate(seed: &[u8], rng: &mut ChaCha8Rng) -> Vec<u8> {
    let mut v = seed.to_vec();
    let rounds = rng.random_range(1..=4);
    for _ in 0..rounds {
        let len = v.len().max(1);
        match rng.random_range(0..7) {
            0 if !v.is_empty() => {
                let i = rng.random_range(0..v.len());
                v[i] ^= 1 << rng.random_range(0..8);
            }
            1 if !v.is_empty() => {
                let i = rng.random_range(0..v.len());
                v[i] = [0u8, 0xff, 0x7f, 0x80, b'0', b'9', b'-', b'\''][rng.random_range(0..8)];
            }
            2 => v.truncate(rng.random_range(0..len)),
            3 => {
                let i = rng.random_range(0..=v.len());
                let n = rng.random_range(1..16);
                let bytes: Vec<u8> = (0..n).map(|_| rng.random()).collect();
                v.splice(i..i, bytes);
            }
            4 if v.len() > 4 => {
                let a = rng.random_range(0..v.len());
                let b = rng.random_range(a..v.len().min(a + 64));
                let chunk = v[a..b].to_vec();
                let at = rng.random_range(0..=v.len());
                v.splice(at..at, chunk);
            }
            5 if v.len() >= 4 => {
                let i = rng.random_range(0..v.len() - 3);
                let x = EXTREMES[rng.random_range(0..EXTREMES.len())];
                let bytes = if rng.random() {
                    x.to_be_bytes()
                } else {
                    x.to_le_bytes()
                };
                v[i..i + 4].copy_from_slice(&bytes);
            }
            _ => {
                // A number in text formats: digits replaced by a huge one.
                if let Some(i) = v.iter().position(|b| b.is_ascii_digit()) {
                    v.splice(i..i + 1, b"99999999999999999999".iter().copied());
                }
            }
        }
    }
    v
}

/// Runs `read` on mutations of `seeds` for the time budget; fails on the first panic.
fn fuzz(name: &str, seeds: &[Vec<u8>], read: impl Fn(&[u8])) -> usize {
    let mut rng = ChaCha8Rng::seed_from_u64(name.len() as u64 * 7919);
    let start = Instant::now();
    let mut cases = 0;
    // The valid seeds themselves must read.
    for s in seeds {
        read(s);
    }
    while start.elapsed() < budget() || cases < 50 {
        let input = mutate(&seeds[cases % seeds.len()], &mut rng);
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read(&input)));
        if outcome.is_err() {
            let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/output");
            let _ = std::fs::create_dir_all(&out);
            let file = out.join(format!("fuzz-{name}.bin"));
            let _ = std::fs::write(&file, &input);
            panic!(
                "{name}: the reader panicked on the input saved in {}",
                file.display()
            );
        }
        cases += 1;
    }
    eprintln!("fuzz {name}: {cases} inputs, no panic");
    cases
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap();
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

#[test]
fn npy_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.npy");
    let mut seed = npy::header(2, 3);
    for v in [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0] {
        seed.extend(v.to_le_bytes());
    }
    fuzz("npy", &[seed], |bytes| {
        write(&path, bytes);
        let _ = npy::read_f64(&path);
        let _ = npy::parse_header(bytes, &path);
    });
}

#[test]
fn a_npy_header_claiming_a_huge_shape_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.npy");
    let header = npy::header(1 << 40, 1 << 40);
    write(&path, &header);
    let err = npy::read_f64(&path).unwrap_err().to_string();
    assert!(
        err.contains("huge.npy") && err.contains("too large"),
        "{err}"
    );
}

#[test]
fn csv_and_parquet_manifests() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("pairs.csv");
    let seed = b"image,caption\na.png,A frog.\nb/c.jpg,\"A badger, walking.\"\n".to_vec();
    fuzz("csv-manifest", &[seed], |bytes| {
        write(&csv, bytes);
        let _ = manifest_file::read(&csv, "image", "caption");
    });
    let parquet = dir.path().join("pairs.parquet");
    table::write(
        &parquet,
        vec![
            ("image", Column::Str(vec!["a.png".into(), "b.jpg".into()])),
            (
                "caption",
                Column::Str(vec!["A frog.".into(), "A badger.".into()]),
            ),
        ],
    )
    .unwrap();
    let seed = std::fs::read(&parquet).unwrap();
    fuzz("parquet-manifest", &[seed], |bytes| {
        write(&parquet, bytes);
        let _ = manifest_file::read(&parquet, "image", "caption");
    });
}

#[test]
fn karpathy_json() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("dataset_flickr30k.json");
    let seed = br#"{"images": [
        {"filename": "1000.jpg", "split": "train", "sentences": [{"raw": "A frog."}, {"raw": "A green frog."}]},
        {"filename": "1001.jpg", "split": "test", "sentences": [{"raw": "A badger."}]}]}"#
        .to_vec();
    fuzz("karpathy-json", &[seed], |bytes| {
        write(&json, bytes);
        let _ = flickr30k::read(dir.path(), &json, CaptionChoice::All, 0);
    });
}

/// An IDX image file of `n` images of `side` x `side` pixels, and its labels (ungzipped).
fn idx(n: u32, side: u32) -> (Vec<u8>, Vec<u8>) {
    let mut images = Vec::new();
    for v in [0x0803u32, n, side, side] {
        images.extend(v.to_be_bytes());
    }
    images.extend((0..n * side * side).map(|i| i as u8));
    let mut labels = Vec::new();
    for v in [0x0801u32, n] {
        labels.extend(v.to_be_bytes());
    }
    labels.extend((0..n).map(|i| (i % 10) as u8));
    (images, labels)
}

#[test]
fn fashion_mnist_idx() {
    let dir = tempfile::tempdir().unwrap();
    let files = probe::files(ProbeKind::FashionMnist, dir.path(), ProbeSplit::Test).unwrap();
    let (images, labels) = idx(3, 4);
    write(&files[1], &gz(&labels));
    // Mutations of the decompressed file reach the IDX parser; of the gzip stream, the decoder.
    fuzz("idx-images", std::slice::from_ref(&images), |bytes| {
        write(&files[0], &gz(bytes));
        let _ = probe::read(ProbeKind::FashionMnist, dir.path(), ProbeSplit::Test, 0);
    });
    write(&files[0], &gz(&images));
    fuzz("idx-labels", std::slice::from_ref(&labels), |bytes| {
        write(&files[1], &gz(bytes));
        let _ = probe::read(ProbeKind::FashionMnist, dir.path(), ProbeSplit::Test, 2);
    });
    write(&files[1], &gz(&labels));
    fuzz("idx-gzip", &[gz(&images)], |bytes| {
        write(&files[0], bytes);
        let _ = probe::read(ProbeKind::FashionMnist, dir.path(), ProbeSplit::Test, 0);
    });
}

#[test]
fn an_idx_header_claiming_terabytes_is_refused_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let files = probe::files(ProbeKind::FashionMnist, dir.path(), ProbeSplit::Test).unwrap();
    let mut images = Vec::new();
    for v in [0x0803u32, 0xffff_ffff, 0xffff, 0xffff] {
        images.extend(v.to_be_bytes());
    }
    let (_, labels) = idx(3, 4);
    write(&files[0], &gz(&images));
    write(&files[1], &gz(&labels));
    let clock = Instant::now();
    let err = probe::read(ProbeKind::FashionMnist, dir.path(), ProbeSplit::Test, 0)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("t10k-images") && err.contains("MiB"), "{err}");
    assert!(clock.elapsed() < Duration::from_secs(1));
}

#[test]
fn cifar10_batches() {
    let dir = tempfile::tempdir().unwrap();
    let batch: PathBuf = dir.path().join("test_batch.bin");
    let mut seed = Vec::new();
    for label in [0u8, 9] {
        seed.push(label);
        seed.extend((0..3072).map(|i| i as u8));
    }
    fuzz("cifar10", &[seed], |bytes| {
        write(&batch, bytes);
        let _ = probe::read(ProbeKind::Cifar10, dir.path(), ProbeSplit::Test, 0);
    });
}
