//! Zero-shot classification through the aligned space, as CLIP evaluates it: each class name
//! of the probe set in several prompt templates ("a photo of a {}.") through the text encoder
//! and the text adapter; each class's embedding is the mean of its prompts' unit embeddings,
//! normalised again (CLIP's prompt ensemble); an image, through the image encoder and the image
//! adapter, is classified by the class of highest cosine similarity.
//!
//! - [`ZeroShotConfig`]: `[zero_shot]`, the templates and (optionally) the class names;
//! - [`Prompts`]: the prompt texts, class by class (what `features:probe-prompts` encodes);
//! - [`class_embeddings`] and [`top_k_accuracy`]: the classifier and its accuracy.

use ndarray::{Array2, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

use crate::check::{BadValue, Checks};
use crate::metrics::space::l2_normalise;

/// Where a template takes the class name.
pub const SLOT: &str = "{}";

/// `[zero_shot]` in pipeline.toml.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ZeroShotConfig {
    /// Prompt templates, each with one `{}` for the class name; a class's embedding averages
    /// them.
    pub templates: Vec<String>,
    /// The class names in the prompts, by label; empty = the probe set's own names.
    pub class_names: Vec<String>,
}

impl Default for ZeroShotConfig {
    /// A few of CLIP's templates for photos; the default probe set (Fashion-MNIST) is small,
    /// grey and low resolution, which the templates say.
    fn default() -> Self {
        ZeroShotConfig {
            templates: [
                "a photo of a {}.",
                "a photo of the {}.",
                "a blurry photo of a {}.",
                "a black and white photo of a {}.",
                "a low resolution photo of a {}.",
                "a close-up photo of a {}.",
            ]
            .map(String::from)
            .to_vec(),
            class_names: Vec::new(),
        }
    }
}

impl ZeroShotConfig {
    /// Values the prompts cannot be made with, each naming its field.
    pub fn problems(&self) -> Vec<BadValue> {
        let mut c = Checks::new();
        c.expect(
            !self.templates.is_empty(),
            "templates",
            "[]",
            "one or more templates",
        );
        for (i, t) in self.templates.iter().enumerate() {
            c.expect(
                t.matches(SLOT).count() == 1,
                &format!("templates[{i}]"),
                format!("{t:?}"),
                "a template with exactly one `{}` for the class name",
            );
        }
        for (i, name) in self.class_names.iter().enumerate() {
            c.expect(
                !name.trim().is_empty(),
                &format!("class_names[{i}]"),
                "\"\"",
                "a class name",
            );
        }
        c.into_vec()
    }

    /// The class names the prompts use: the configured ones, else the probe set's.
    pub fn names(&self, probe_set: Vec<String>) -> Vec<String> {
        if self.class_names.is_empty() {
            probe_set
        } else {
            self.class_names.clone()
        }
    }
}

/// The prompt texts: every template for class 0, then for class 1, and so on.
#[derive(Debug, Clone, PartialEq)]
pub struct Prompts {
    pub texts: Vec<String>,
    /// The class (label) of each text.
    pub labels: Vec<usize>,
    /// The template index of each text.
    pub templates: Vec<usize>,
}

impl Prompts {
    pub fn new(class_names: &[String], templates: &[String]) -> Prompts {
        let mut p = Prompts {
            texts: Vec::new(),
            labels: Vec::new(),
            templates: Vec::new(),
        };
        for (label, name) in class_names.iter().enumerate() {
            for (t, template) in templates.iter().enumerate() {
                p.texts.push(template.replacen(SLOT, name, 1));
                p.labels.push(label);
                p.templates.push(t);
            }
        }
        p
    }
}

/// Each class's embedding: the mean of its prompts' unit embeddings, scaled to unit length.
/// `prompts` has one row per prompt, `labels` its class; classes without a prompt get a zero
/// row (no image is closer to it than to a class with prompts of positive similarity).
pub fn class_embeddings(prompts: ArrayView2<f64>, labels: &[usize], classes: usize) -> Array2<f64> {
    assert_eq!(prompts.nrows(), labels.len(), "one label per prompt");
    let unit = l2_normalise(prompts.to_owned());
    let mut sums = Array2::<f64>::zeros((classes, prompts.ncols()));
    for (row, &label) in unit.axis_iter(Axis(0)).zip(labels) {
        let mut s = sums.row_mut(label);
        s += &row;
    }
    // The mean's direction is the sum's: scaling to unit length makes the count irrelevant.
    l2_normalise(sums)
}

/// The fraction of `images` whose true class (`labels`) is among the `k` classes of highest
/// cosine similarity, for each `k` of `ks`. Ties rank against the image: a class that scores
/// as high as the true class counts as above it, so a constant classifier is at chance or
/// below, never above.
pub fn top_k_accuracy(
    images: ArrayView2<f64>,
    classes: ArrayView2<f64>,
    labels: &[usize],
    ks: &[usize],
) -> Vec<(usize, f64)> {
    assert_eq!(images.nrows(), labels.len(), "one label per image");
    // Cosine similarity ranks as the dot product with unit class rows, per image.
    let scores = images.dot(&classes.t());
    let ranks: Vec<usize> = scores
        .axis_iter(Axis(0))
        .zip(labels)
        .map(|(row, &label)| {
            let truth = row[label];
            row.iter()
                .enumerate()
                .filter(|&(c, &s)| c != label && (s >= truth || s.is_nan()))
                .count()
        })
        .collect();
    let n = ranks.len().max(1) as f64;
    ks.iter()
        .map(|&k| (k, ranks.iter().filter(|&&r| r < k).count() as f64 / n))
        .collect()
}

/// The accuracy at `k` of guessing: `k` of `classes` classes.
pub fn chance(k: usize, classes: usize) -> f64 {
    (k.min(classes)) as f64 / classes.max(1) as f64
}

#[cfg(test)]
mod tests {
    use ndarray::array;

    use super::*;

    #[test]
    fn prompts_are_every_template_for_every_class() {
        let p = Prompts::new(
            &["cat".into(), "dog".into()],
            &["a {}.".into(), "the {} here".into()],
        );
        assert_eq!(
            p.texts,
            ["a cat.", "the cat here", "a dog.", "the dog here"]
        );
        assert_eq!(p.labels, [0, 0, 1, 1]);
        assert_eq!(p.templates, [0, 1, 0, 1]);
    }

    #[test]
    fn templates_need_one_slot() {
        let bad = ZeroShotConfig {
            templates: vec!["a photo".into(), "{} and {}".into(), "a {}".into()],
            class_names: vec![" ".into()],
        };
        let keys: Vec<String> = bad.problems().into_iter().map(|b| b.field).collect();
        assert_eq!(keys, ["templates[0]", "templates[1]", "class_names[0]"]);
        assert!(ZeroShotConfig::default().problems().is_empty());
    }

    /// Class embeddings by hand: prompts of lengths 2 and 4 weigh the same after the unit
    /// scaling; the sum (1, 0) + (0, 1) has direction (1, 1) / √2.
    #[test]
    fn a_class_is_the_normalised_mean_of_its_unit_prompts() {
        let prompts = array![[2.0, 0.0], [0.0, 4.0], [0.0, -3.0]];
        let c = class_embeddings(prompts.view(), &[0, 0, 1], 3);
        let h = 1.0 / 2f64.sqrt();
        assert_eq!(c, array![[h, h], [0.0, -1.0], [0.0, 0.0]]);
    }

    /// A constructed case with known answers: four classes on the axes of the plane; each
    /// image's scores are its coordinates against them, so its true class's rank is known.
    #[test]
    fn accuracy_on_a_constructed_case_is_exact() {
        let classes = array![[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]];
        let images = array![
            [1.0, 0.1],  // scores 1, 0.1, -1, -0.1; class 0 first: rank 0
            [1.0, 0.5],  // scores 1, 0.5, -1, -0.5; class 1 second: rank 1
            [1.0, -0.5], // scores 1, -0.5, -1, 0.5; class 2 last: rank 3
            [1.0, 1.0],  // scores 1, 1, -1, -1; class 1 tied with 0 ranks below it: rank 1
            [-2.0, 0.0], // scores -2, 0, 2, 0; class 2 first: rank 0
        ];
        let labels = [0, 1, 2, 1, 2];
        let acc = top_k_accuracy(images.view(), classes.view(), &labels, &[1, 2, 3, 4]);
        assert_eq!(
            acc,
            [(1, 2.0 / 5.0), (2, 4.0 / 5.0), (3, 4.0 / 5.0), (4, 1.0)]
        );
        assert_eq!(chance(1, 4), 0.25);
        assert_eq!(chance(5, 4), 1.0);
    }
}
