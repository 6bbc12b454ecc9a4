//! The `ingest` stage's computation: read the configured dataset, validate every record, cap,
//! split by image, and write the ingest artifact ([`IngestArtifact`]: `manifest.parquet`,
//! `rejected.parquet`, `summary.json`).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use std::collections::HashMap;

use crate::dataset::record::{BadRecord, Candidate, Record, Split};
use crate::dataset::spec::{DatasetKind, DatasetSpec, OnBadRecord, SplitSource};
use crate::dataset::validate::Valid;
use crate::dataset::{flickr30k, manifest_file, split, tuxpaint, validate};
use crate::error::{Error, Result};
use crate::table;

/// Bump when the same dataset and spec would give a different manifest.
pub const VERSION: u32 = 2;

const MANIFEST: &str = "manifest.parquet";
const REJECTED: &str = "rejected.parquet";
const SUMMARY: &str = "summary.json";

/// The files a dataset spec reads (hashed into the ingest key).
pub fn inputs(spec: &DatasetSpec, root: &Path) -> Vec<std::path::PathBuf> {
    let path = resolve(root, &spec.path);
    match spec.kind {
        DatasetKind::Flickr30k => {
            let mut v = vec![path.clone()];
            if let Some(c) = captions_path(spec, root)
                && !c.starts_with(&path)
            {
                v.push(c);
            }
            v
        }
        // The manifest and exactly the images it names, wherever they are: not its folder,
        // which may also hold the artifacts (their writes would change the key) or a whole
        // project. A missing image is a bad record for the stage to report or skip, not an
        // input; an unreadable manifest is the stage's error to name.
        DatasetKind::Manifest => {
            let mut images: Vec<PathBuf> =
                manifest_file::read(&path, &spec.image_column, &spec.caption_column)
                    .map(|rows| rows.into_iter().map(|r| r.image_path).collect())
                    .unwrap_or_default();
            images.sort();
            images.dedup();
            images.retain(|p| p.is_file());
            let mut v = vec![path];
            v.extend(images);
            v
        }
        DatasetKind::Tuxpaint => vec![path],
    }
}

fn resolve(root: &Path, p: &str) -> std::path::PathBuf {
    let p = Path::new(p);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        root.join(p)
    }
}

fn captions_path(spec: &DatasetSpec, root: &Path) -> Option<std::path::PathBuf> {
    if spec.captions.is_empty() {
        flickr30k::find_captions(&resolve(root, &spec.path))
    } else {
        Some(resolve(root, &spec.captions))
    }
}

pub fn candidates(spec: &DatasetSpec, root: &Path) -> Result<Vec<Candidate>> {
    let path = resolve(root, &spec.path);
    match spec.kind {
        DatasetKind::Tuxpaint => tuxpaint::read(&path, &spec.language, &spec.exclude_categories),
        DatasetKind::Flickr30k => {
            let captions = captions_path(spec, root).ok_or_else(|| Error::Invalid {
                what: path.display().to_string(),
                message: "no dataset_flickr30k.json or results.csv found; set [dataset] captions"
                    .into(),
            })?;
            flickr30k::read(
                &path,
                &captions,
                spec.caption_choice,
                spec.captions_per_image,
            )
        }
        DatasetKind::Manifest => {
            manifest_file::read(&path, &spec.image_column, &spec.caption_column)
        }
    }
}

/// An image file merged into a byte-identical one listed under another path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergedImage {
    pub path: String,
    pub same_as: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Summary {
    pub candidates: usize,
    pub rejected: usize,
    pub capped_from: usize,
    pub records: usize,
    pub images: usize,
    pub train_records: usize,
    pub val_records: usize,
    /// Only the dataset's own split has a test split (absent from the file when 0).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub test_records: usize,
    /// The split is the dataset's own (Karpathy's JSON, a manifest's `split` column), not the
    /// seeded one (absent from the file when seeded).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dataset_split: bool,
    /// Image files byte-identical to another listed file, merged into it (one image, the
    /// captions of both).
    pub identical_images_merged: Vec<MergedImage>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

pub struct Ingested {
    pub records: Vec<Record>,
    pub rejected: Vec<BadRecord>,
    pub summary: Summary,
}

/// Reads, validates, caps and splits. Bad records fail the stage (listing all of them) unless
/// `on_bad_record = "skip"`.
pub fn ingest(spec: &DatasetSpec, root: &Path) -> Result<Ingested> {
    if !(0.0..1.0).contains(&spec.val_fraction) {
        return Err(Error::Invalid {
            what: "[dataset] val_fraction".into(),
            message: format!("{} is not in [0, 1)", spec.val_fraction),
        });
    }
    let cands = candidates(spec, root)?;
    let dataset_split = uses_own_split(spec, &cands)?;
    let n_candidates = cands.len();
    let (valid, rejected) = validate::validate(cands);
    if !rejected.is_empty() && spec.on_bad_record == OnBadRecord::Fail {
        return Err(bad_records(spec, &rejected));
    }
    let (valid, merged) = merge_identical_images(valid, root);
    // Cap after validation, so num_samples counts usable pairs.
    let before_cap = valid.len();
    let valid = cap(valid, spec);
    let splits = splits_of(&valid, spec, dataset_split);
    let records: Vec<Record> = valid
        .into_iter()
        .map(|v| Record {
            split: splits[&v.image_id],
            image_path: v
                .image_path
                .strip_prefix(root)
                .unwrap_or(&v.image_path)
                .to_string_lossy()
                .to_string(),
            id: v.id,
            image_id: v.image_id,
            image_blake3: v.image_blake3,
            caption: v.caption,
        })
        .collect();
    let summary = Summary {
        candidates: n_candidates,
        rejected: rejected.len(),
        capped_from: before_cap,
        records: records.len(),
        images: splits.len(),
        train_records: records
            .iter()
            .filter(|r| r.split == crate::dataset::Split::Train)
            .count(),
        val_records: records
            .iter()
            .filter(|r| r.split == crate::dataset::Split::Val)
            .count(),
        test_records: records.iter().filter(|r| r.split == Split::Test).count(),
        dataset_split,
        identical_images_merged: merged,
    };
    Ok(Ingested {
        records,
        rejected,
        summary,
    })
}

/// The records of at most `num_samples` images, seeded (all of them with 0).
fn cap(valid: Vec<Valid>, spec: &DatasetSpec) -> Vec<Valid> {
    let record_images: Vec<&str> = valid.iter().map(|v| v.image_id.as_str()).collect();
    let kept: Option<Vec<bool>> = split::capped_images(&record_images, spec.num_samples, spec.seed)
        .map(|images| record_images.iter().map(|id| images.contains(id)).collect());
    drop(record_images);
    match kept {
        None => valid,
        Some(kept) => valid
            .into_iter()
            .zip(kept)
            .filter_map(|(v, k)| k.then_some(v))
            .collect(),
    }
}

/// Each image's split: the dataset's own, or the seeded one.
fn splits_of(
    valid: &[Valid],
    spec: &DatasetSpec,
    dataset_split: bool,
) -> std::collections::BTreeMap<String, Split> {
    if dataset_split {
        valid
            .iter()
            .map(|v| {
                (
                    v.image_id.clone(),
                    v.split.expect("checked by uses_own_split"),
                )
            })
            .collect()
    } else {
        split::assign(
            valid.iter().map(|v| v.image_id.as_str()),
            spec.val_fraction,
            spec.seed,
        )
    }
}

/// Whether the records take the dataset's own split (`split_source`), checked before any image
/// is read: every record must then have one, and the records of one image the same one.
fn uses_own_split(spec: &DatasetSpec, cands: &[Candidate]) -> Result<bool> {
    let given = cands.iter().filter(|c| c.split.is_some()).count();
    let own = match spec.split_source {
        SplitSource::Seeded => false,
        SplitSource::Auto => given > 0,
        SplitSource::Dataset if given == 0 => {
            return Err(Error::Invalid {
                what: format!("dataset {}", spec.path),
                message: "split_source = \"dataset\", but the dataset gives no split (Karpathy's \
                          JSON `split`, a manifest's `split` column)"
                    .into(),
            });
        }
        SplitSource::Dataset => true,
    };
    if !own {
        return Ok(false);
    }
    if let Some(c) = cands.iter().find(|c| c.split.is_none()) {
        return Err(Error::Invalid {
            what: format!("dataset {}", spec.path),
            message: format!(
                "{} of {} records have a split of the dataset's own, `{}` has none: give every \
                 record one, or set [dataset] split_source = \"seeded\"",
                given,
                cands.len(),
                c.id
            ),
        });
    }
    let mut by_image: HashMap<&str, (Split, &str)> = HashMap::new();
    for c in cands {
        let split = c.split.expect("checked above");
        let (first, first_id) = *by_image.entry(&c.image_id).or_insert((split, &c.id));
        if first != split {
            return Err(Error::Invalid {
                what: format!("dataset {}", spec.path),
                message: format!(
                    "image {} is in two splits: `{}` says {}, `{}` says {}",
                    c.image_id,
                    first_id,
                    first.as_str(),
                    c.id,
                    split.as_str()
                ),
            });
        }
    }
    Ok(true)
}

/// Byte-identical files listed under different paths are one image: every record of such a
/// file takes the image id and path of the first of them (by id), keeping its own id and
/// caption, so the image is encoded once and its captions stay together in one split. Returns
/// the records and, for each merged path, the one it was merged into.
fn merge_identical_images(valid: Vec<Valid>, root: &Path) -> (Vec<Valid>, Vec<MergedImage>) {
    // Copies the dataset put in two splits stay two images: merging would move captions
    // across its split.
    let mut canonical: HashMap<(String, Option<Split>), (String, PathBuf)> = HashMap::new();
    for v in &valid {
        let entry = canonical
            .entry((v.image_blake3.clone(), v.split))
            .or_insert_with(|| (v.image_id.clone(), v.image_path.clone()));
        if v.image_id < entry.0 {
            *entry = (v.image_id.clone(), v.image_path.clone());
        }
    }
    let rel = |p: &Path| p.strip_prefix(root).unwrap_or(p).display().to_string();
    let mut merged = std::collections::BTreeMap::new();
    let valid = valid
        .into_iter()
        .map(|mut v| {
            let (id, path) = &canonical[&(v.image_blake3.clone(), v.split)];
            if *id != v.image_id {
                merged.insert(rel(&v.image_path), rel(path));
                v.image_id = id.clone();
                v.image_path = path.clone();
            }
            v
        })
        .collect();
    let merged = merged
        .into_iter()
        .map(|(path, same_as)| MergedImage { path, same_as })
        .collect();
    (valid, merged)
}

/// Every bad record, listed at once.
fn bad_records(spec: &DatasetSpec, rejected: &[BadRecord]) -> Error {
    let listing: Vec<String> = rejected
        .iter()
        .map(|b| format!("  {}: {}", b.path, b.reason))
        .collect();
    Error::Invalid {
        what: format!("dataset {}", spec.path),
        message: format!(
            "{} bad record(s):\n{}\n(set [dataset] on_bad_record = \"skip\" to leave them out)",
            rejected.len(),
            listing.join("\n")
        ),
    }
}

/// An ingest artifact folder: the manifest of validated records (id, image_id, image_path,
/// image_blake3, caption, split), the rejected records and the summary.
#[derive(Debug, Clone)]
pub struct IngestArtifact {
    dir: PathBuf,
}

impl IngestArtifact {
    pub fn at(dir: &Path) -> IngestArtifact {
        IngestArtifact {
            dir: dir.to_path_buf(),
        }
    }

    pub fn manifest(&self) -> PathBuf {
        self.dir.join(MANIFEST)
    }

    pub fn rejected(&self) -> PathBuf {
        self.dir.join(REJECTED)
    }

    pub fn summary(&self) -> PathBuf {
        self.dir.join(SUMMARY)
    }

    pub fn write(&self, ingested: &Ingested) -> Result<()> {
        table::write_records(&self.manifest(), &ingested.records)?;
        table::write_records(&self.rejected(), &ingested.rejected)?;
        let path = self.summary();
        let json = serde_json::to_vec_pretty(&ingested.summary).map_err(|e| Error::Invalid {
            what: path.display().to_string(),
            message: e.to_string(),
        })?;
        std::fs::write(&path, json).map_err(|e| Error::io(&path, e))
    }

    pub fn read_summary(&self) -> Result<Summary> {
        let path = self.summary();
        let text = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
        serde_json::from_slice(&text).map_err(|e| Error::Invalid {
            what: path.display().to_string(),
            message: e.to_string(),
        })
    }

    /// The validated records, in manifest order.
    pub fn read_records(&self) -> Result<Vec<Record>> {
        table::read_records(&self.manifest())
    }
}
