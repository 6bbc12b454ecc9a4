//! `[dataset]` in pipeline.toml: which image–caption dataset, and how to read it.

use serde::{Deserialize, Serialize};

use crate::check::{BadValue, Checks};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DatasetKind {
    /// The embedded default: Tux Paint stamps (PNG/SVG + a .txt caption per image).
    Tuxpaint,
    /// A folder of JPEGs plus Karpathy's dataset_flickr30k.json or the results.csv layout.
    Flickr30k,
    /// A CSV or Parquet file with an image path column and a caption column.
    Manifest,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CaptionChoice {
    /// The longest caption of each image (the research proposal's choice).
    Longest,
    First,
    /// One pair per caption (capped by `captions_per_image`).
    All,
}

/// Where the train / val / test split comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SplitSource {
    /// The dataset's own where it gives one (Karpathy's JSON `split`, a manifest's `split`
    /// column), else the seeded one.
    Auto,
    /// The dataset's own; a dataset without one is an error.
    Dataset,
    /// `val_fraction` of the images by seeded rank, whatever the dataset says (no test split).
    Seeded,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OnBadRecord {
    /// Stop, listing every bad record at once.
    Fail,
    /// Keep going; rejected records are listed in the ingest artifact.
    Skip,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatasetSpec {
    pub kind: DatasetKind,
    /// tuxpaint / flickr30k: the folder of images; manifest: the CSV or Parquet file.
    pub path: String,
    /// flickr30k: the captions file (dataset_flickr30k.json or results.csv); empty = look for
    /// either inside `path`.
    pub captions: String,
    /// tuxpaint: `en` = the first line of the .txt; otherwise the `<language>.utf8=` line.
    pub language: String,
    /// tuxpaint: top-level categories left out (`symbols`: letters, coins, sign language).
    pub exclude_categories: Vec<String>,
    /// flickr30k: which captions of an image become pairs.
    pub caption_choice: CaptionChoice,
    /// flickr30k with `all`: at most this many captions per image (0 = no cap).
    pub captions_per_image: usize,
    /// manifest: column names.
    pub image_column: String,
    pub caption_column: String,
    pub on_bad_record: OnBadRecord,
    /// Where the split comes from; `val_fraction` and `seed` make the seeded one.
    pub split_source: SplitSource,
    /// Fraction of images in the validation split.
    pub val_fraction: f64,
    pub seed: u64,
    /// Cap on the number of pairs, chosen deterministically from the seed (0 = all).
    pub num_samples: usize,
}

impl Default for DatasetSpec {
    fn default() -> Self {
        DatasetSpec {
            kind: DatasetKind::Tuxpaint,
            path: "data/datasets/tuxpaint".into(),
            captions: String::new(),
            language: "en".into(),
            exclude_categories: vec!["symbols".into()],
            caption_choice: CaptionChoice::Longest,
            captions_per_image: 5,
            image_column: "image".into(),
            caption_column: "caption".into(),
            on_bad_record: OnBadRecord::Fail,
            split_source: SplitSource::Auto,
            val_fraction: 0.25,
            seed: 42,
            num_samples: 0,
        }
    }
}

impl DatasetSpec {
    /// Values ingest cannot use, each naming its field.
    pub fn problems(&self) -> Vec<BadValue> {
        let mut c = Checks::new();
        c.expect(
            (0.0..1.0).contains(&self.val_fraction),
            "val_fraction",
            self.val_fraction,
            "a fraction in [0, 1)",
        );
        c.expect(!self.path.is_empty(), "path", "\"\"", "a folder or file");
        c.into_vec()
    }
}
