//! Every record is checked before anything trusts it: missing file, undecodable or truncated
//! image, zero-size image, caption unreadable / not UTF-8 / empty, duplicate id. Images are
//! decoded in parallel, each file once however many captions it has.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::dataset::record::{BadRecord, Candidate, Split};
use crate::image::decode;

/// A validated record before its split is assigned.
#[derive(Debug, Clone)]
pub struct Valid {
    pub id: String,
    pub image_id: String,
    pub image_path: PathBuf,
    pub image_blake3: String,
    pub caption: String,
    /// The dataset's own split, where it gives one.
    pub split: Option<Split>,
}

/// Decodes each distinct image once; returns its blake3 or why it is unusable.
fn check_images(paths: Vec<&Path>) -> HashMap<PathBuf, Result<String, String>> {
    paths
        .into_par_iter()
        .map(|p| {
            let result = match std::fs::read(p) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    Err("missing file".to_string())
                }
                Err(e) => Err(format!("unreadable file: {e}")),
                Ok(bytes) if bytes.is_empty() => Err("empty file (zero bytes)".to_string()),
                Ok(bytes) => match decode::decode_rgb(&bytes, p) {
                    Ok(img) if img.width() == 0 || img.height() == 0 => {
                        Err("zero-size image".to_string())
                    }
                    Ok(_) => Ok(blake3::hash(&bytes).to_hex().to_string()),
                    Err(crate::Error::Image { message, .. })
                        if message.starts_with("zero-size") =>
                    {
                        Err(message)
                    }
                    Err(crate::Error::Image { message, .. }) => {
                        Err(format!("undecodable or truncated image: {message}"))
                    }
                    Err(crate::Error::ImageTooLarge {
                        width,
                        height,
                        need_mib,
                        limit_mib,
                        ..
                    }) => Err(format!(
                        "image too large to decode: {width} x {height} pixels need {need_mib} \
                         MiB, over the limit of {limit_mib} MiB"
                    )),
                    Err(e) => Err(e.to_string()),
                },
            };
            (p.to_path_buf(), result)
        })
        .collect()
}

pub fn validate(candidates: Vec<Candidate>) -> (Vec<Valid>, Vec<BadRecord>) {
    let mut paths: Vec<&Path> = candidates.iter().map(|c| c.image_path.as_path()).collect();
    paths.sort();
    paths.dedup();
    let images = check_images(paths);
    // Where each repeated id was first seen, by row: no copy of every id and path.
    let mut first: HashMap<&str, usize> = HashMap::with_capacity(candidates.len());
    let mut first_seen: BTreeMap<usize, String> = BTreeMap::new();
    for (i, c) in candidates.iter().enumerate() {
        if let Some(&f) = first.get(c.id.as_str()) {
            first_seen.insert(i, candidates[f].image_path.display().to_string());
        } else {
            first.insert(&c.id, i);
        }
    }
    drop(first);
    let mut valid = Vec::new();
    let mut bad = Vec::new();
    for (i, c) in candidates.into_iter().enumerate() {
        let mut reasons = Vec::new();
        if let Some(first) = first_seen.get(&i) {
            reasons.push(format!("duplicate id `{}` (first seen at {first})", c.id));
        }
        let image = &images[&c.image_path];
        if let Err(r) = image {
            reasons.push(r.clone());
        }
        match &c.caption {
            Err(r) => reasons.push(r.clone()),
            Ok(t) if t.trim().is_empty() => reasons.push("empty caption".into()),
            Ok(_) => {}
        }
        if reasons.is_empty() {
            valid.push(Valid {
                id: c.id,
                image_id: c.image_id,
                image_path: c.image_path,
                image_blake3: image.clone().expect("checked above"),
                caption: c.caption.expect("checked above"),
                split: c.split,
            });
        } else {
            bad.push(BadRecord {
                id: c.id,
                path: c.image_path.display().to_string(),
                reason: reasons.join("; "),
            });
        }
    }
    (valid, bad)
}
