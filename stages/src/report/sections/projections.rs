//! Projections (one joint PCA of the raw, aligned and reference spaces) and the aligned
//! image × aligned caption similarity matrix.

use super::{Page, section, side};
use crate::dataset::Split;
use crate::error::Result;
use crate::evaluate::rows;
use crate::report::figure::render;
use crate::report::{figures, html, pca};
use crate::spaces::SpaceName;

/// The spaces projected, in the order of the figure's legend.
const PROJECTED: [SpaceName; 5] = [
    SpaceName::Image,
    SpaceName::Text,
    SpaceName::AlignedImage,
    SpaceName::AlignedText,
    SpaceName::Reference,
];

pub fn projections(page: &Page) -> Result<String> {
    let d = page.inputs.data;
    let pca_rows = rows::select(d, Split::Val, page.config.pca_sample, page.config.seed);
    let raw_image = rows::matrix(&d.image, pca_rows.iter().map(|p| p.image_row));
    let raw_text = rows::matrix(&d.text, pca_rows.iter().map(|p| p.text_row));
    let reference = rows::matrix(&d.reference, pca_rows.iter().map(|p| p.reference_row));
    let mut items = Vec::new();
    for (a, (ai, at)) in page.results.iter().zip(&page.aligned) {
        let al_image = rows::matrix(ai, pca_rows.iter().map(|p| p.image_row));
        let al_text = rows::matrix(at, pca_rows.iter().map(|p| p.text_row));
        let proj = pca::project(&[&raw_image, &raw_text, &al_image, &al_text, &reference], 3);
        let (two, three) = figures::projections(&a.name, &PROJECTED, &proj);
        let (s2, s3) = (format!("pca2d_{}", a.name), format!("pca3d_{}", a.name));
        render(&two, &page.fig, &s2)?;
        render(&three, &page.fig, &s3)?;
        items.push(format!(
            "{}{}",
            html::figure(&s2, &format!("{} PCA 2-D", a.name), &format!("{} evaluation pairs per space, rows L2-normalised and zero-padded to one width, one joint PCA.", pca_rows.len())),
            html::figure(&s3, &format!("{} PCA 3-D views", a.name), "The first three components as three 2-D views.")
        ));
    }
    Ok(section(
        "projections",
        "Projections (PCA)",
        &format!(
            "<p class=\"note\">Spaces of different encoders have unrelated coordinates, so the distance between two spaces' clouds \
         says little; look at each cloud's spread and structure, and at how the aligned image and text clouds overlap.</p>{}",
            side(items.into_iter())
        ),
    ))
}

pub fn similarity(page: &Page) -> Result<String> {
    let sim_rows = rows::select(
        page.inputs.data,
        Split::Val,
        page.config.similarity_sample,
        page.config.seed,
    );
    let mut items = Vec::new();
    for (a, (ai, at)) in page.results.iter().zip(&page.aligned) {
        let si = rows::matrix(ai, sim_rows.iter().map(|p| p.image_row));
        let st = rows::matrix(at, sim_rows.iter().map(|p| p.text_row));
        let stem = format!("similarity_{}", a.name);
        render(&figures::similarity(&a.name, &si, &st), &page.fig, &stem)?;
        items.push(html::figure(&stem, &format!("{} similarity matrix", a.name), &format!("{} evaluation images and their own captions, in the same order: a bright diagonal is retrieval working.", sim_rows.len())));
    }
    Ok(section(
        "similarity",
        "Aligned image × aligned text similarity",
        &side(items.into_iter()),
    ))
}
