//! Flickr30k: a folder of JPEGs plus captions in either layout:
//! - Karpathy's `dataset_flickr30k.json` (or `dataset_coco.json`): `{"images": [{"filename",
//!   "split", "sentences": [{"raw"}]}]}`, whose `split` (train / val / test; COCO's `restval`,
//!   the validation images Karpathy moved to training, is train) is the dataset's own;
//! - `results.csv` from the Kaggle release: `image_name| comment_number| comment`.
//!
//! `caption_choice` picks the pairs: `longest` (the research proposal), `first`, or `all`
//! (one pair per caption, at most `captions_per_image`; record ids `<image>#<n>`).

use std::collections::BTreeMap;
use std::path::Path;

use crate::dataset::record::{Candidate, Split};
use crate::dataset::spec::CaptionChoice;
use crate::error::{Error, Result};

pub fn read(
    images: &Path,
    captions: &Path,
    choice: CaptionChoice,
    per_image: usize,
) -> Result<Vec<Candidate>> {
    let by_image = if captions.extension().and_then(|e| e.to_str()) == Some("json") {
        read_karpathy(captions)?
    } else {
        read_results_csv(captions)?
    };
    let mut out = Vec::new();
    for (
        file,
        Image {
            split,
            captions: caps,
        },
    ) in by_image
    {
        // The file name with its extension: two files are two images.
        let image_id = file.clone();
        let path = images.join(&file);
        let chosen: Vec<(usize, Result<String, String>)> = match choice {
            CaptionChoice::First => caps.into_iter().take(1).collect(),
            CaptionChoice::Longest => {
                // Longest in characters; the first of equals wins. Bad captions never win.
                let best = caps
                    .iter()
                    .enumerate()
                    .filter_map(|(i, c)| c.1.as_ref().ok().map(|s| (i, s.chars().count())))
                    .fold(None, |best: Option<(usize, usize)>, (i, n)| match best {
                        Some((_, m)) if m >= n => best,
                        _ => Some((i, n)),
                    });
                match best {
                    Some((i, _)) => vec![caps[i].clone()],
                    None => caps.into_iter().take(1).collect(),
                }
            }
            CaptionChoice::All => {
                let n = if per_image == 0 {
                    caps.len()
                } else {
                    per_image
                };
                caps.into_iter().take(n).collect()
            }
        };
        for (n, caption) in chosen {
            let id = if choice == CaptionChoice::All {
                format!("{image_id}#{n}")
            } else {
                image_id.clone()
            };
            out.push(Candidate {
                id,
                image_id: image_id.clone(),
                image_path: path.clone(),
                caption,
                split,
            });
        }
    }
    Ok(out)
}

/// An image's captions (numbered, each readable or why not) and its split, where the file
/// gives one.
#[derive(Default)]
struct Image {
    split: Option<Split>,
    captions: Vec<(usize, Result<String, String>)>,
}

type Captions = BTreeMap<String, Image>;

/// Karpathy's split names: `restval` (COCO's validation images moved to training) is train.
fn karpathy_split(name: &str) -> Option<Split> {
    match name {
        "restval" => Some(Split::Train),
        other => Split::parse(other),
    }
}

fn read_karpathy(path: &Path) -> Result<Captions> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let doc: serde_json::Value = serde_json::from_str(&text).map_err(|e| Error::Invalid {
        what: path.display().to_string(),
        message: format!("not valid JSON: {e}"),
    })?;
    let images = doc["images"].as_array().ok_or_else(|| Error::Invalid {
        what: path.display().to_string(),
        message: "expected Karpathy's layout: an object with an `images` array".into(),
    })?;
    let mut out = Captions::new();
    for (i, img) in images.iter().enumerate() {
        let file = img["filename"].as_str().ok_or_else(|| Error::Invalid {
            what: format!("{} images[{i}]", path.display()),
            message: "no `filename`".into(),
        })?;
        let caps = img["sentences"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let split = match &img["split"] {
            serde_json::Value::Null => None,
            v => Some(
                v.as_str()
                    .and_then(karpathy_split)
                    .ok_or_else(|| Error::Invalid {
                        what: format!("{} images[{i}] ({file})", path.display()),
                        message: format!(
                            "split {v}: expected \"train\", \"val\", \"test\" or \"restval\""
                        ),
                    })?,
            ),
        };
        let entry = out.entry(file.to_string()).or_default();
        if entry.split.is_some() && entry.split != split {
            return Err(Error::Invalid {
                what: format!("{} images[{i}] ({file})", path.display()),
                message: "listed twice, in two splits".into(),
            });
        }
        entry.split = split;
        for (n, s) in caps.iter().enumerate() {
            let raw = s["raw"].as_str().map(str::trim).map(str::to_string);
            entry.captions.push((
                n,
                raw.ok_or_else(|| format!("images[{i}].sentences[{n}] has no `raw` text")),
            ));
        }
    }
    Ok(out)
}

fn read_results_csv(path: &Path) -> Result<Captions> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b'|')
        .trim(csv::Trim::All)
        .flexible(true)
        .from_path(path)
        .map_err(|e| Error::Invalid {
            what: path.display().to_string(),
            message: e.to_string(),
        })?;
    let mut out = Captions::new();
    for (row, rec) in reader.byte_records().enumerate() {
        let rec = rec.map_err(|e| Error::Invalid {
            what: format!("{} line {}", path.display(), row + 2),
            message: e.to_string(),
        })?;
        let field = |i: usize| rec.get(i).map(|b| String::from_utf8(b.to_vec()));
        let Some(Ok(file)) = field(0) else {
            return Err(Error::Invalid {
                what: format!("{} line {}", path.display(), row + 2),
                message: "expected `image_name| comment_number| comment`".into(),
            });
        };
        let n: usize = field(1)
            .and_then(|r| r.ok())
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let caption = match field(2) {
            Some(Ok(c)) => Ok(c.trim().to_string()),
            Some(Err(_)) => Err(format!("line {}: caption is not UTF-8", row + 2)),
            None => Err(format!("line {}: no caption column", row + 2)),
        };
        out.entry(file).or_default().captions.push((n, caption));
    }
    for image in out.values_mut() {
        image.captions.sort_by_key(|c| c.0);
    }
    Ok(out)
}

/// The captions file inside a Flickr30k folder, when not given.
pub fn find_captions(folder: &Path) -> Option<std::path::PathBuf> {
    let parent = folder.parent();
    ["dataset_flickr30k.json", "results.csv"]
        .iter()
        .flat_map(|n| [Some(folder.join(n)), parent.map(|p| p.join(n))])
        .flatten()
        .find(|p| p.is_file())
}
