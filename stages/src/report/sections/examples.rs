//! Examples: evaluation images (thumbnails) with each adapter's top-3 retrieved captions.

use std::fmt::Write;

use super::{Page, section};
use crate::dataset::Split;
use crate::dataset::ingest::IngestArtifact;
use crate::error::{Error, Result};
use crate::evaluate::rows;
use crate::metrics::space::l2_normalise;
use crate::report::artifact::THUMBS;
use crate::report::html::{escape, num};
use crate::report::thumbs;

/// Thumbnail height, pixels.
const THUMB: u32 = 96;
/// Captions listed per image and adapter.
const TOP: usize = 3;

pub fn examples(page: &Page) -> Result<String> {
    let thumbs_dir = page.out.join(THUMBS);
    std::fs::create_dir_all(&thumbs_dir).map_err(|e| Error::io(&thumbs_dir, e))?;
    let records = IngestArtifact::at(page.inputs.ingest).read_records()?;
    let record = |id: &str| records.iter().find(|r| r.id == id);
    let caption_of = |id: &str| record(id).map(|r| r.caption.clone()).unwrap_or_default();
    let path_of = |id: &str| record(id).map(|r| r.image_path.clone()).unwrap_or_default();
    let shown = rows::select(
        page.inputs.data,
        Split::Val,
        page.config.examples,
        page.config.seed ^ 0xe8a,
    );
    // Every adapter's normalised caption gallery, built once.
    let galleries: Vec<_> = page
        .aligned
        .iter()
        .map(|(_, at)| l2_normalise(rows::matrix(at, page.eval_rows.iter().map(|e| e.text_row))))
        .collect();
    let mut cards = String::from("<div class=\"examples\">");
    for (i, p) in shown.iter().enumerate() {
        let thumb = format!("{THUMBS}/{i:02}.png");
        thumbs::write(
            &page.inputs.resolve(&path_of(&p.record_id)),
            &page.out.join(&thumb),
            THUMB,
        )?;
        let _ = write!(
            cards,
            "<div class=\"example\"><img src=\"{thumb}\" alt=\"evaluation image {i}\"><div><i>{}</i></div>",
            escape(&caption_of(&p.record_id))
        );
        for ((a, (ai, _)), gallery) in page.results.iter().zip(&page.aligned).zip(&galleries) {
            let q = rows::matrix(ai, std::iter::once(p.image_row));
            let sims = gallery.dot(&l2_normalise(q).row(0));
            let mut order: Vec<usize> = (0..sims.len()).collect();
            order.sort_by(|&x, &y| sims[y].total_cmp(&sims[x]).then(x.cmp(&y)));
            let _ = write!(
                cards,
                "<div style=\"clear:left\"><b>{}</b> top-3:</div><ol>",
                escape(&a.name)
            );
            for &j in order.iter().take(TOP) {
                let hit = page.eval_rows[j].image_id == p.image_id;
                let _ = write!(
                    cards,
                    "<li{}>{} <small>({})</small></li>",
                    if hit { " class=\"hit\"" } else { "" },
                    escape(&caption_of(&page.eval_rows[j].record_id)),
                    num(sims[j])
                );
            }
            cards.push_str("</ol>");
        }
        cards.push_str("</div>");
    }
    cards.push_str("</div>");
    Ok(section(
        "examples",
        "Examples: evaluation images and their top-3 captions",
        &format!(
            "<p>Among all {} evaluation captions; the image's own caption is in bold green when retrieved.</p>{cards}",
            page.eval_rows.len()
        ),
    ))
}
