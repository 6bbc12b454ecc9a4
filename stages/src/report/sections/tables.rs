//! The retrieval, linear-probe and zero-shot tables.

use super::{Page, section};
use crate::evaluate::probe::RetrievalFile;
use crate::metrics::retrieval::Direction;
use crate::report::html::{self, escape, num};

/// Which protocol produced an adapter's retrieval numbers: the split and where it came from, the
/// images and captions searched.
fn retrieval_protocol(file: &RetrievalFile) -> String {
    let source = if file.dataset_split {
        "the dataset's own split"
    } else {
        "ingest's seeded split by image"
    };
    let searched = file
        .rows
        .iter()
        .find(|r| r.retrieval.direction == Direction::ImageToText)
        .map(|r| {
            let (images, captions) = (r.retrieval.queries, r.retrieval.gallery);
            let per_image = if images > 0 && captions % images == 0 {
                format!("{} per image", captions / images)
            } else {
                format!(
                    "{:.2} per image on average",
                    captions as f64 / images.max(1) as f64
                )
            };
            format!(
                "{images} images and their {captions} captions ({per_image}); an image query \
                 hits when any caption of its image ranks within k"
            )
        })
        .unwrap_or_default();
    format!(
        "the <b>{}</b> split ({source}): {searched}",
        escape(&file.split)
    )
}

pub fn retrieval(page: &Page) -> String {
    let mut rows = Vec::new();
    let mut protocols = Vec::new();
    for a in page.results {
        protocols.push(format!(
            "<li>{}: {}</li>",
            escape(&a.name),
            retrieval_protocol(&a.probe.retrieval)
        ));
        for r in &a.probe.retrieval.rows {
            let recall = |i: usize| num(r.retrieval.recall.get(i).map_or(f64::NAN, |x| x.1));
            rows.push(vec![
                escape(&a.name),
                escape(r.adapter.as_str()),
                escape(r.retrieval.direction.as_str()),
                recall(0),
                recall(1),
                recall(2),
                num(r.retrieval.median_rank),
                r.retrieval.gallery.to_string(),
            ]);
        }
    }
    let ks: Vec<String> = page.results.first().map_or_else(Vec::new, |a| {
        a.probe
            .probe
            .settings
            .retrieval_ks
            .iter()
            .map(|k| format!("R@{k}"))
            .collect()
    });
    let header: Vec<&str> = ["adapter", "weights", "direction"]
        .into_iter()
        .chain(ks.iter().map(String::as_str))
        .chain(["median rank", "gallery"])
        .collect();
    section(
        "retrieval",
        "Retrieval",
        &format!(
            "<p>Cosine similarity in the aligned space; the untrained adapters are the floor. Ties rank against the query. Protocol:</p><ul>{}</ul>{}",
            protocols.concat(),
            html::table(&header, &rows, "retrieval")
        ),
    )
}

pub fn probe(page: &Page) -> String {
    let mut rows = Vec::new();
    for a in page.results {
        for p in &a.probe.probe.rows {
            rows.push(vec![
                escape(&a.name),
                escape(p.features.as_str()),
                p.dim.to_string(),
                num(p.train_accuracy),
                num(p.test_accuracy),
                num(p.ratio_to_reference),
            ]);
        }
    }
    let (train_rows, test_rows, classes) = page.results.first().map_or((0, 0, 0), |a| {
        let first = a.probe.probe.rows.first();
        (
            first.map_or(0, |r| r.train_rows),
            first.map_or(0, |r| r.test_rows),
            a.probe.probe.classes,
        )
    });
    section(
        "probe",
        "Downstream linear probe",
        &format!(
            "<p>Multinomial logistic regression on standardised features, {train_rows} train / {test_rows} test images of the probe set, {classes} classes. \
         aligned_image = the image encoder followed by the trained image adapter.</p>{}",
            html::table(
                &[
                    "adapter",
                    "features",
                    "width",
                    "train accuracy",
                    "test accuracy",
                    "ratio to reference"
                ],
                &rows,
                "probe"
            )
        ),
    )
}

pub fn zero_shot(page: &Page) -> String {
    let mut rows = Vec::new();
    for a in page.results {
        for z in &a.probe.zero_shot.rows {
            rows.push(vec![
                escape(&a.name),
                escape(z.adapter.as_str()),
                num(z.top1),
                num(z.top5),
                num(z.chance_top1),
                num(z.chance_top5),
                z.test_rows.to_string(),
            ]);
        }
    }
    let (classes, prompts) = page.results.first().map_or((String::new(), 0), |a| {
        let z = &a.probe.zero_shot;
        (
            z.class_names
                .iter()
                .map(|c| escape(c))
                .collect::<Vec<_>>()
                .join(", "),
            z.prompts.len() / z.class_names.len().max(1),
        )
    });
    section(
        "zero-shot",
        "Zero-shot classification (probe set)",
        &format!(
            "<p>Each class is the mean of its {prompts} prompts (\"a photo of a {{}}.\" and others, \
             <code>[zero_shot]</code>) through the text encoder and the text adapter, normalised; each \
             test image of the probe set, through the image encoder and the image adapter, takes the \
             class of highest cosine similarity. Nothing is fitted to the probe set's labels: they only score. Classes: {classes}. \
             The untrained adapters and chance are the floors.</p>{}",
            html::table(
                &[
                    "adapter",
                    "weights",
                    "top-1",
                    "top-5",
                    "chance top-1",
                    "chance top-5",
                    "test images"
                ],
                &rows,
                "zero-shot"
            )
        ),
    )
}
