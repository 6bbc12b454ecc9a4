//! Downstream probe sets: labelled images for the linear probe.
//!
//! - `fashion-mnist`: the four IDX files (gzipped), 28×28 grey, 10 classes;
//!   magic 0x00000803 (images: count, rows, cols) and 0x00000801 (labels: count), big-endian.
//! - `cifar10`: binary batches (`data_batch_*.bin`, `test_batch.bin`): per record one label
//!   byte then 1024 red, 1024 green, 1024 blue bytes, row-major 32×32; class names in
//!   `batches.meta.txt`.
//!
//! Images are returned as RGB (grey replicated) so any image encoder can take them.

use std::io::Read;
use std::path::{Path, PathBuf};

use image::RgbImage;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProbeKind {
    FashionMnist,
    Cifar10,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProbeSplit {
    Train,
    Test,
}

pub struct ProbeSet {
    pub images: Vec<RgbImage>,
    pub labels: Vec<u8>,
    pub classes: Vec<String>,
}

pub const FASHION_CLASSES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];
pub const CIFAR10_CLASSES: [&str; 10] = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
];

/// Reads the first `limit` examples (0 = all) of a split.
pub fn read(kind: ProbeKind, dir: &Path, split: ProbeSplit, limit: usize) -> Result<ProbeSet> {
    match kind {
        ProbeKind::FashionMnist => read_fashion_mnist(dir, split, limit),
        ProbeKind::Cifar10 => read_cifar10(dir, split, limit),
    }
}

/// The files a probe split reads (for cache keys).
pub fn files(kind: ProbeKind, dir: &Path, split: ProbeSplit) -> Result<Vec<PathBuf>> {
    Ok(match (kind, split) {
        (ProbeKind::FashionMnist, ProbeSplit::Train) => vec![
            dir.join("train-images-idx3-ubyte.gz"),
            dir.join("train-labels-idx1-ubyte.gz"),
        ],
        (ProbeKind::FashionMnist, ProbeSplit::Test) => vec![
            dir.join("t10k-images-idx3-ubyte.gz"),
            dir.join("t10k-labels-idx1-ubyte.gz"),
        ],
        (ProbeKind::Cifar10, ProbeSplit::Test) => vec![dir.join("test_batch.bin")],
        (ProbeKind::Cifar10, ProbeSplit::Train) => {
            let mut v: Vec<PathBuf> = (1..=5)
                .map(|i| dir.join(format!("data_batch_{i}.bin")))
                .filter(|p| p.exists())
                .collect();
            if v.is_empty() {
                // A fixture with only a test batch (data/datasets/cifar10-fixture) probes on it.
                v.push(dir.join("test_batch.bin"));
            }
            v
        }
    })
}

/// The largest IDX payload this reader accepts (Fashion-MNIST's train images are 47 MB).
const MAX_IDX_BYTES: usize = 1 << 30;

/// A gzipped IDX file: its dimensions (the header's `dims` big-endian u32s after the magic)
/// and its payload. The header says how many bytes follow; no more are read (a decompression
/// bomb stops there) and a payload over [`MAX_IDX_BYTES`] is refused before reading it.
fn read_idx(path: &Path, magic: usize, dims: usize) -> Result<(Vec<usize>, Vec<u8>)> {
    let bad = |m: String| Error::Invalid {
        what: path.display().to_string(),
        message: m,
    };
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut gz = flate2::read::GzDecoder::new(file);
    let mut header = vec![0u8; 4 * (1 + dims)];
    gz.read_exact(&mut header)
        .map_err(|e| bad(format!("truncated IDX header ({e})")))?;
    let field = |i: usize| be_u32(&header, 4 * i, path);
    if field(0)? != magic {
        return Err(bad(format!(
            "not an IDX file of this kind (magic != 0x{magic:08x})"
        )));
    }
    let shape: Vec<usize> = (1..=dims).map(field).collect::<Result<_>>()?;
    let size = shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .filter(|&n| n <= MAX_IDX_BYTES)
        .ok_or_else(|| {
            bad(format!(
                "header claims {shape:?} bytes of data, over the {} MiB this reader accepts",
                MAX_IDX_BYTES >> 20
            ))
        })?;
    let mut data = Vec::with_capacity(size);
    gz.take(size as u64 + 1)
        .read_to_end(&mut data)
        .map_err(|e| Error::io(path, e))?;
    if data.len() != size {
        return Err(bad(format!(
            "size does not match the header's {shape:?}: {} bytes of data",
            if data.len() > size {
                format!("more than {size}")
            } else {
                data.len().to_string()
            }
        )));
    }
    Ok((shape, data))
}

fn be_u32(bytes: &[u8], at: usize, path: &Path) -> Result<usize> {
    bytes
        .get(at..at + 4)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map(|b| u32::from_be_bytes(b) as usize)
        .ok_or_else(|| Error::Invalid {
            what: path.display().to_string(),
            message: "truncated IDX header".into(),
        })
}

fn read_fashion_mnist(dir: &Path, split: ProbeSplit, limit: usize) -> Result<ProbeSet> {
    let f = files(ProbeKind::FashionMnist, dir, split)?;
    let (ipath, lpath) = (&f[0], &f[1]);
    let (shape, images) = read_idx(ipath, 0x0803, 3)?;
    let (lshape, labels) = read_idx(lpath, 0x0801, 1)?;
    let (n, rows, cols) = (shape[0], shape[1], shape[2]);
    if n != lshape[0] {
        return Err(Error::Invalid {
            what: ipath.display().to_string(),
            message: format!("{n} images but {} labels in {}", lshape[0], lpath.display()),
        });
    }
    if n > 0 && (rows == 0 || cols == 0) {
        return Err(Error::Invalid {
            what: ipath.display().to_string(),
            message: format!("{n} images of {rows}x{cols} pixels: zero-size images"),
        });
    }
    let take = if limit == 0 { n } else { limit.min(n) };
    let per = rows * cols;
    let mut set = ProbeSet {
        images: Vec::with_capacity(take),
        labels: labels[..take].to_vec(),
        classes: classes(ProbeKind::FashionMnist, dir),
    };
    for i in 0..take {
        let px = &images[i * per..(i + 1) * per];
        set.images
            .push(RgbImage::from_fn(cols as u32, rows as u32, |x, y| {
                let v = px[y as usize * cols + x as usize];
                image::Rgb([v, v, v])
            }));
    }
    Ok(set)
}

const CIFAR_RECORD: usize = 1 + 3 * 1024;

const CIFAR_META: &str = "batches.meta.txt";

/// The class names of a probe set, by label: CIFAR-10's from `batches.meta.txt` where the
/// folder has one, else the published names.
pub fn classes(kind: ProbeKind, dir: &Path) -> Vec<String> {
    let published = |names: &[&str]| names.iter().map(|s| s.to_string()).collect();
    match kind {
        ProbeKind::FashionMnist => published(&FASHION_CLASSES),
        ProbeKind::Cifar10 => match std::fs::read_to_string(dir.join(CIFAR_META)) {
            Ok(t) => t
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect(),
            Err(_) => published(&CIFAR10_CLASSES),
        },
    }
}

/// The files the class names are read from (for cache keys): CIFAR-10's `batches.meta.txt`
/// where it exists.
pub fn class_files(kind: ProbeKind, dir: &Path) -> Vec<PathBuf> {
    match kind {
        ProbeKind::FashionMnist => Vec::new(),
        ProbeKind::Cifar10 => Some(dir.join(CIFAR_META))
            .filter(|p| p.is_file())
            .into_iter()
            .collect(),
    }
}

fn read_cifar10(dir: &Path, split: ProbeSplit, limit: usize) -> Result<ProbeSet> {
    let mut set = ProbeSet {
        images: Vec::new(),
        labels: Vec::new(),
        classes: classes(ProbeKind::Cifar10, dir),
    };
    for path in files(ProbeKind::Cifar10, dir, split)? {
        let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
        if bytes.len() % CIFAR_RECORD != 0 {
            return Err(Error::Invalid {
                what: path.display().to_string(),
                message: format!(
                    "{} bytes is not a whole number of 3073-byte CIFAR-10 records",
                    bytes.len()
                ),
            });
        }
        for (i, rec) in bytes.chunks_exact(CIFAR_RECORD).enumerate() {
            if limit > 0 && set.labels.len() == limit {
                return Ok(set);
            }
            if rec[0] as usize >= set.classes.len() {
                return Err(Error::Invalid {
                    what: format!("{} record {i}", path.display()),
                    message: format!("label {} out of range", rec[0]),
                });
            }
            set.labels.push(rec[0]);
            let (r, g, b) = (&rec[1..1025], &rec[1025..2049], &rec[2049..3073]);
            set.images.push(RgbImage::from_fn(32, 32, |x, y| {
                let k = (y * 32 + x) as usize;
                image::Rgb([r[k], g[k], b[k]])
            }));
        }
    }
    Ok(set)
}

/// `[probe_dataset]` in pipeline.toml: the labelled set the downstream linear probe uses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProbeDataSpec {
    pub kind: ProbeKind,
    /// The folder of the IDX files or of the CIFAR-10 binary batches.
    pub path: String,
    /// The first N examples of each split (0 = all); defaults keep the embedded run in minutes.
    pub train_samples: usize,
    pub test_samples: usize,
}

impl ProbeDataSpec {
    /// Values the probe set cannot be read with, each naming its field.
    pub fn problems(&self) -> Vec<crate::check::BadValue> {
        let mut c = crate::check::Checks::new();
        c.expect(!self.path.is_empty(), "path", "\"\"", "a folder");
        c.into_vec()
    }
}

impl Default for ProbeDataSpec {
    fn default() -> Self {
        ProbeDataSpec {
            kind: ProbeKind::FashionMnist,
            path: "data/datasets/fashion-mnist".into(),
            train_samples: 1000,
            test_samples: 500,
        }
    }
}
