//! Caption perturbations: captions that carry less of what the image shows. Each is a rate in
//! [0, 1].
//!
//! Deterministic and seeded: a caption's perturbation depends only on the seed, its row id and
//! its text, never on which other captions are encoded with it. Applied in this order:
//! replace words (by words drawn from the dataset's own vocabulary), drop words, shuffle the
//! remaining words, delete characters.

use rand::Rng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::pick;
use crate::check::{BadValue, Checks};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CaptionPerturbation {
    /// Fraction of words replaced by a random word of the dataset's captions.
    pub replace_words: f64,
    /// Fraction of words removed.
    pub drop_words: f64,
    /// Fraction of word positions whose words are shuffled among themselves.
    pub shuffle_words: f64,
    /// Fraction of characters removed.
    pub delete_chars: f64,
    pub seed: u64,
}

impl Default for CaptionPerturbation {
    fn default() -> Self {
        CaptionPerturbation {
            replace_words: 0.0,
            drop_words: 0.0,
            shuffle_words: 0.0,
            delete_chars: 0.0,
            seed: 0,
        }
    }
}

impl CaptionPerturbation {
    /// True when every rate is 0: captions are left as they are.
    pub fn is_identity(&self) -> bool {
        [
            self.replace_words,
            self.drop_words,
            self.shuffle_words,
            self.delete_chars,
        ]
        .iter()
        .all(|&r| r == 0.0)
    }

    pub fn problems(&self) -> Vec<BadValue> {
        let mut c = Checks::new();
        for (field, rate) in [
            ("replace_words", self.replace_words),
            ("drop_words", self.drop_words),
            ("shuffle_words", self.shuffle_words),
            ("delete_chars", self.delete_chars),
        ] {
            c.expect(
                (0.0..=1.0).contains(&rate),
                field,
                rate,
                "a rate from 0 to 1",
            );
        }
        c.into_vec()
    }

    /// Every caption perturbed (`ids` are their row ids); the vocabulary is the captions' words.
    pub fn apply_all(&self, ids: &[&str], captions: &[&str]) -> Vec<String> {
        if self.is_identity() {
            return captions.iter().map(|c| c.to_string()).collect();
        }
        let mut vocabulary: Vec<&str> =
            captions.iter().flat_map(|c| c.split_whitespace()).collect();
        vocabulary.sort_unstable();
        vocabulary.dedup();
        ids.iter()
            .zip(captions)
            .map(|(id, c)| self.apply(id, c, &vocabulary))
            .collect()
    }

    /// One caption perturbed, with replacement words drawn from `vocabulary`.
    pub fn apply(&self, id: &str, caption: &str, vocabulary: &[&str]) -> String {
        if self.is_identity() {
            return caption.to_string();
        }
        let mut rng = self.rng(id, caption);
        let mut words: Vec<String> = caption.split_whitespace().map(String::from).collect();
        let count = |rate: f64, n: usize| (rate * n as f64).round() as usize;
        if !vocabulary.is_empty() {
            for i in pick(
                &mut rng,
                words.len(),
                count(self.replace_words, words.len()),
            ) {
                words[i] = vocabulary[rng.random_range(0..vocabulary.len())].to_string();
            }
        }
        let mut dropped = pick(&mut rng, words.len(), count(self.drop_words, words.len()));
        dropped.sort_unstable_by(|a, b| b.cmp(a));
        for i in dropped {
            words.remove(i);
        }
        let mut positions = pick(
            &mut rng,
            words.len(),
            count(self.shuffle_words, words.len()),
        );
        positions.sort_unstable();
        let mut moved: Vec<String> = positions.iter().map(|&i| words[i].clone()).collect();
        moved.shuffle(&mut rng);
        for (&i, w) in positions.iter().zip(moved) {
            words[i] = w;
        }
        let text = words.join(" ");
        let chars: Vec<char> = text.chars().collect();
        let deleted: std::collections::BTreeSet<usize> =
            pick(&mut rng, chars.len(), count(self.delete_chars, chars.len()))
                .into_iter()
                .collect();
        chars
            .iter()
            .enumerate()
            .filter(|(i, _)| !deleted.contains(i))
            .map(|(_, c)| *c)
            .collect()
    }

    fn rng(&self, id: &str, caption: &str) -> ChaCha8Rng {
        super::rng(self.seed, &[id.as_bytes(), caption.as_bytes()])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAPTION: &str = "a red fox jumps over the lazy brown dog near the river";

    fn with(f: impl FnOnce(&mut CaptionPerturbation)) -> CaptionPerturbation {
        let mut p = CaptionPerturbation {
            seed: 7,
            ..Default::default()
        };
        f(&mut p);
        p
    }

    #[test]
    fn rate_zero_is_the_identity() {
        let p = with(|_| {});
        assert!(p.is_identity());
        assert_eq!(p.apply("1", CAPTION, &["cat"]), CAPTION);
        assert_eq!(p.apply_all(&["1"], &[CAPTION]), vec![CAPTION.to_string()]);
    }

    #[test]
    fn each_perturbation_does_what_it_says() {
        let words: Vec<&str> = CAPTION.split_whitespace().collect();
        let vocab = ["zebra", "piano"];
        // Replace half the words (6 of 12), each by a vocabulary word.
        let out = with(|p| p.replace_words = 0.5).apply("1", CAPTION, &vocab);
        let new: Vec<&str> = out.split_whitespace().collect();
        assert_eq!(new.len(), 12);
        let changed = new.iter().zip(&words).filter(|(a, b)| a != b).count();
        assert_eq!(changed, 6, "{out}");
        assert!(
            new.iter()
                .zip(&words)
                .all(|(a, b)| a == b || vocab.contains(a))
        );
        // Drop a quarter (3 of 12): the rest keeps its order.
        let out = with(|p| p.drop_words = 0.25).apply("1", CAPTION, &vocab);
        let kept: Vec<&str> = out.split_whitespace().collect();
        assert_eq!(kept.len(), 9);
        let mut it = words.iter();
        assert!(
            kept.iter().all(|w| it.any(|x| x == w)),
            "a subsequence: {out}"
        );
        // Shuffle everything: the same words, another order.
        let out = with(|p| p.shuffle_words = 1.0).apply("1", CAPTION, &vocab);
        let mut a: Vec<&str> = out.split_whitespace().collect();
        assert_ne!(a, words);
        a.sort_unstable();
        let mut b = words.clone();
        b.sort_unstable();
        assert_eq!(a, b);
        // Delete 10% of the characters (5 of 52): a subsequence of the characters.
        let out = with(|p| p.delete_chars = 0.1).apply("1", CAPTION, &vocab);
        assert_eq!(out.chars().count(), CAPTION.chars().count() - 5);
        let mut it = CAPTION.chars();
        assert!(out.chars().all(|c| it.any(|x| x == c)));
        // Everything replaced: no original word is left in its place.
        let out = with(|p| p.replace_words = 1.0).apply("1", CAPTION, &vocab);
        assert!(out.split_whitespace().all(|w| vocab.contains(&w)));
    }

    #[test]
    fn seeded_by_seed_and_row_never_by_neighbours() {
        let p = with(|p| p.replace_words = 0.5);
        let vocab = ["zebra", "piano", "cloud"];
        assert_eq!(p.apply("1", CAPTION, &vocab), p.apply("1", CAPTION, &vocab));
        assert_ne!(p.apply("1", CAPTION, &vocab), p.apply("2", CAPTION, &vocab));
        let other = with(|p| {
            p.replace_words = 0.5;
            p.seed = 8;
        });
        assert_ne!(
            p.apply("1", CAPTION, &vocab),
            other.apply("1", CAPTION, &vocab)
        );
        assert!(with(|p| p.drop_words = 1.5).problems().len() == 1);
    }
}
