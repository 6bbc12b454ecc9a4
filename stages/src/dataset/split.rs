//! Deterministic, seeded choices by id: the train/val split (by image, so one image's captions
//! never straddle splits) and the `num_samples` cap.
//!
//! Each image id gets a rank `blake3(seed, purpose, id)`; sorting by rank is a seeded shuffle
//! that does not depend on the order files were listed in, and adding an image to the dataset
//! does not move any other image to the other split.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::dataset::record::Split;

pub fn rank(seed: u64, purpose: &str, id: &str) -> u64 {
    let mut h = blake3::Hasher::new();
    h.update(&seed.to_le_bytes());
    h.update(purpose.as_bytes());
    h.update(&[0]);
    h.update(id.as_bytes());
    let bytes = h.finalize();
    u64::from_le_bytes(bytes.as_bytes()[..8].try_into().expect("8 bytes"))
}

/// Images in seeded order (ties, impossible in practice, broken by id).
fn ordered_images<'a>(
    image_ids: impl Iterator<Item = &'a str>,
    seed: u64,
    purpose: &str,
) -> Vec<&'a str> {
    let mut ids: Vec<&str> = image_ids.collect();
    ids.sort_unstable();
    ids.dedup();
    ids.sort_by_key(|id| (rank(seed, purpose, id), *id));
    ids
}

/// The cap: whole images, in seeded order, until at least `num_samples` of the records (one
/// image id per record) are kept. Returns the images kept, or None to keep every record
/// (`num_samples` 0, or no more records than it).
pub fn capped_images<'a>(
    record_images: &[&'a str],
    num_samples: usize,
    seed: u64,
) -> Option<HashSet<&'a str>> {
    if num_samples == 0 || record_images.len() <= num_samples {
        return None;
    }
    let mut per_image: HashMap<&str, usize> = HashMap::new();
    for id in record_images {
        *per_image.entry(id).or_default() += 1;
    }
    let mut kept = HashSet::new();
    let mut count = 0;
    for id in ordered_images(record_images.iter().copied(), seed, "sample") {
        if count >= num_samples {
            break;
        }
        count += per_image[id];
        kept.insert(id);
    }
    Some(kept)
}

/// `round(n_images · val_fraction)` images go to val, chosen by seeded rank.
pub fn assign<'a>(
    image_ids: impl Iterator<Item = &'a str>,
    val_fraction: f64,
    seed: u64,
) -> BTreeMap<String, Split> {
    let ordered = ordered_images(image_ids, seed, "split");
    let n_val = (ordered.len() as f64 * val_fraction).round() as usize;
    ordered
        .iter()
        .enumerate()
        .map(|(i, id)| {
            (
                id.to_string(),
                if i < n_val { Split::Val } else { Split::Train },
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_is_by_image_seeded_and_sized() {
        let ids: Vec<String> = (0..100).map(|i| format!("img{i}")).collect();
        let a = assign(ids.iter().map(String::as_str), 0.25, 7);
        let b = assign(ids.iter().rev().map(String::as_str), 0.25, 7);
        assert_eq!(a, b, "independent of listing order");
        assert_eq!(a.values().filter(|s| **s == Split::Val).count(), 25);
        let c = assign(ids.iter().map(String::as_str), 0.25, 8);
        assert_ne!(a, c, "depends on the seed");
        // Adding images never moves an existing image to the other split... unless the val count
        // changes, which moves only the boundary image(s).
        let mut more = ids.clone();
        more.push("new".into());
        let d = assign(more.iter().map(String::as_str), 0.25, 7);
        let moved = ids.iter().filter(|i| a[*i] != d[*i]).count();
        assert!(moved <= 1, "{moved}");
    }

    #[test]
    fn cap_keeps_whole_images() {
        let names: Vec<String> = (0..10).map(|i| format!("img{i}")).collect();
        let recs: Vec<&str> = names.iter().flat_map(|n| [n.as_str(); 3]).collect();
        let kept = capped_images(&recs, 7, 1).unwrap();
        assert_eq!(kept.len(), 3, "3 whole images of 3 captions: 9 records");
        assert_eq!(kept, capped_images(&recs, 7, 1).unwrap(), "seeded");
        assert_ne!(kept, capped_images(&recs, 7, 2).unwrap(), "by the seed");
        assert!(capped_images(&recs, 0, 1).is_none());
        assert!(capped_images(&recs, 30, 1).is_none());
        assert_eq!(capped_images(&recs, 29, 1).unwrap().len(), 10);
    }
}
