//! The `report` computation: one self-contained HTML page (relative paths only, no scripts, no
//! network) with PNG figures (and their SVG twins) drawn with plotters, and `metrics.json`
//! gathering every number the page shows.
//!
//! - [`inputs`]: one adapter's train/align/probe artifacts, read through their types;
//! - [`figures`]: each figure built from those results; [`charts`] the chart types;
//!   [`figure`] rendering to PNG and SVG; [`colour`], [`font`];
//! - [`pca`]: the joint projection of the spaces; [`thumbs`]: image thumbnails;
//! - [`html`]: escaping and tables; [`sections`]: one function per section of the page;
//! - [`page`]: the page assembled and `metrics.json`; [`artifact`]: the artifact's layout.

pub mod artifact;
pub mod charts;
pub mod colour;
pub mod figure;
pub mod figures;
pub mod font;
pub mod html;
pub mod inputs;
pub mod page;
pub mod pca;
pub mod sections;
pub mod thumbs;

use serde::{Deserialize, Serialize};

/// Bump when the same inputs would give a different page (3: the zero-shot section; 4: the
/// model set; 5: the retrieval protocol; 6: the calibration table, the model set shaded by the
/// calibrated score).
pub const VERSION: u32 = 6;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReportConfig {
    /// Evaluation pairs per space in the PCA figures.
    pub pca_sample: usize,
    /// Images x captions in the similarity matrix.
    pub similarity_sample: usize,
    /// Evaluation images shown with their top-3 retrieved captions.
    pub examples: usize,
    pub seed: u64,
    /// The font of the PNG figures (installed by `make setup`).
    pub font: String,
    pub font_bold: String,
}

impl Default for ReportConfig {
    fn default() -> Self {
        ReportConfig {
            pca_sample: 150,
            similarity_sample: 40,
            examples: 6,
            seed: 0,
            font: "data/fonts/DejaVuSans.ttf".into(),
            font_bold: "data/fonts/DejaVuSans-Bold.ttf".into(),
        }
    }
}

pub use inputs::AdapterArtifacts;
pub use page::{ReportArtifact, ReportInputs, run};
