//! Deterministic, seeded choices by id: the train/val split (by image, so one image's captions
//! never straddle splits) and the `num_samples` cap.
//!
//! Each image id gets a rank `blake3(seed, purpose, id)`; sorting by rank is a seeded shuffle
//! that does not depend on the order files were listed in, and adding an image to the dataset
//! does not move any other image to the other split.

use std::collections::{BTreeMap, HashMap};

use crate::dataset::record::{Candidate, Split};

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

/// Keeps whole images, in seeded order, until at least `num_samples` records are kept
/// (0 = keep all). Record order is preserved.
pub fn cap(records: Vec<Candidate>, num_samples: usize, seed: u64) -> Vec<Candidate> {
    if num_samples == 0 || records.len() <= num_samples {
        return records;
    }
    let mut per_image: HashMap<&str, usize> = HashMap::new();
    for r in &records {
        *per_image.entry(r.image_id.as_str()).or_default() += 1;
    }
    let mut kept = std::collections::HashSet::new();
    let mut count = 0;
    for id in ordered_images(records.iter().map(|r| r.image_id.as_str()), seed, "sample") {
        if count >= num_samples {
            break;
        }
        count += per_image[id];
        kept.insert(id.to_string());
    }
    records
        .into_iter()
        .filter(|r| kept.contains(&r.image_id))
        .collect()
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

    fn cand(id: &str, image: &str) -> Candidate {
        Candidate {
            id: id.into(),
            image_id: image.into(),
            image_path: image.into(),
            caption: Ok("c".into()),
        }
    }

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
        let recs: Vec<Candidate> = (0..10)
            .flat_map(|i| (0..3).map(move |c| cand(&format!("{i}#{c}"), &format!("img{i}"))))
            .collect();
        let kept = cap(recs.clone(), 7, 1);
        assert_eq!(kept.len(), 9, "3 whole images of 3 captions");
        let images: std::collections::BTreeSet<_> =
            kept.iter().map(|r| r.image_id.clone()).collect();
        assert_eq!(images.len(), 3);
        assert_eq!(cap(recs.clone(), 0, 1).len(), 30);
        assert_eq!(cap(recs, 100, 1).len(), 30);
    }
}
