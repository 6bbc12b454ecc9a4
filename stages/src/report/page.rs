//! The page: sections in the order a researcher reads them, with linear and MLP side by side.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::dataset::Split;
use crate::dataset::ingest;
use crate::error::{Error, Result};
use crate::evaluate::align::write_json;
use crate::evaluate::rows;
use crate::features::FeatureMatrix;
use crate::metrics::Metric;
use crate::metrics::space::l2_normalise;
use crate::report::figure::render;
use crate::report::html::{self, escape, num};
use crate::report::inputs::AdapterResults;
use crate::report::{ReportConfig, figures, font, pca, thumbs};
use crate::train::data::TrainingData;

/// The sections every page has, by element id (the browser test checks them).
pub const SECTIONS: [&str; 10] = [
    "summary",
    "training",
    "alignment",
    "hypotheses",
    "projections",
    "similarity",
    "retrieval",
    "probe",
    "examples",
    "configuration",
];

pub struct ReportInputs<'a> {
    pub data: &'a TrainingData,
    pub ingest: &'a Path,
    /// (adapter name, train dir, align dir, probe dir)
    pub adapters: Vec<(String, PathBuf, PathBuf, PathBuf)>,
    /// (stage name, artifact key) of everything the page was built from.
    pub keys: Vec<(String, String)>,
    /// Where relative paths (image files, fonts) resolve.
    pub root: &'a Path,
}

fn section(id: &str, title: &str, body: &str) -> String {
    format!(
        "<section id=\"{id}\"><h2>{}</h2>\n{body}\n</section>\n",
        escape(title)
    )
}

fn side(items: impl Iterator<Item = String>) -> String {
    let mut s = String::from("<div class=\"side\">");
    for i in items {
        s.push_str("<div>");
        s.push_str(&i);
        s.push_str("</div>");
    }
    s.push_str("</div>");
    s
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

fn resolve(root: &Path, p: &str) -> PathBuf {
    let path = Path::new(p);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        root.join(path)
    }
}

/// Builds the page into `out`; returns the path of index.html.
pub fn run(config: &ReportConfig, inputs: &ReportInputs, out: &Path) -> Result<PathBuf> {
    font::register(
        &resolve(inputs.root, &config.font),
        Some(&resolve(inputs.root, &config.font_bold))
            .filter(|p| p.is_file())
            .map(PathBuf::as_path),
    )?;
    let fig = out.join("fig");
    std::fs::create_dir_all(&fig).map_err(|e| Error::io(&fig, e))?;
    let results: Vec<AdapterResults> = inputs
        .adapters
        .iter()
        .map(|(n, t, a, p)| AdapterResults::load(n, t, a, p))
        .collect::<Result<_>>()?;
    if results.is_empty() {
        return Err(Error::Invalid {
            what: "report".into(),
            message: "no trained adapters to report on".into(),
        });
    }
    let topk = results[0].metrics["settings"]["topk"]
        .as_u64()
        .unwrap_or(10) as usize;
    let mut body = String::new();

    // Summary.
    let mut summary = String::from("<ul>");
    for a in &results {
        let count = |adapter: &str, h: &str| {
            a.tests()
                .iter()
                .filter(|t| {
                    t["adapter"] == adapter
                        && t["tested"] == "aligned_image"
                        && t["hypothesis"] == h
                        && t["verdict"] == "supported"
                })
                .count()
        };
        let r1 = a.retrieval["rows"]
            .as_array()
            .and_then(|rows| {
                rows.iter()
                    .find(|r| r["adapter"] == "trained" && r["direction"] == "image_to_text")
            })
            .map_or(f64::NAN, |r| f(&r["recall"][0][1]));
        let _ = write!(
            summary,
            "<li><b>{}</b>: H1 supported on {} of 10 metrics (untrained control: {}), H2 on {} (control: {}); \
             val image→text R@1 {}; n = {} evaluation pairs.</li>",
            escape(&a.name),
            count("trained", "H1"),
            count("untrained", "H1"),
            count("trained", "H2"),
            count("untrained", "H2"),
            num(r1),
            a.metrics["settings"]["n"],
        );
    }
    summary.push_str("</ul><p class=\"note\">H1: the aligned image space is closer to the reference (DINOv2) than the \
        average of the raw image and text spaces; H2: closer than the better of the two. A verdict is \
        <i>supported</i> when the 95% interval of the margin lies above 0. Random (untrained) adapters are the \
        control: a hypothesis they also pass says more about the metric than about training.</p>");
    body.push_str(&section("summary", "Summary", &summary));

    // Training curves.
    let mut items = Vec::new();
    for a in &results {
        let stem = format!("loss_{}", a.name);
        render(&figures::losses(a), &fig, &stem)?;
        items.push(html::figure(&stem, &format!("{} training curves", a.name), "Epoch 0 is the untrained adapters. With one optimiser step per epoch the first warm-up step has lr 0 and changes nothing."));
    }
    body.push_str(&section("training", "Training", &side(items.into_iter())));

    // Alignment heatmaps and the kernel-alignment note.
    let mut items = Vec::new();
    for a in &results {
        let stem = format!("alignment_{}", a.name);
        render(&figures::alignment_heatmap(a, topk), &fig, &stem)?;
        let rows: Vec<Vec<String>> = crate::evaluate::align::SPACES
            .iter()
            .map(|s| {
                vec![
                    escape(s),
                    format!("{}", a.space(s, "dim")),
                    num(a.space(s, "mean_pairwise_cosine")),
                    num(a.space(s, "variance_difference_to_reference")),
                ]
            })
            .collect();
        items.push(format!(
            "{}{}",
            html::figure(
                &stem,
                &format!("{} alignment heatmap", a.name),
                "Colour: score divided by the score of identical inputs (lcs_knn's is topk)."
            ),
            html::table(
                &[
                    "space",
                    "width",
                    "mean pairwise cosine",
                    "variance difference to reference"
                ],
                &rows,
                "spaces"
            )
        ));
    }
    let a0 = &results[0];
    let note = format!(
        "<p class=\"note\">The research's kernel alignment is uncentred: tr(K₁K₂)/√(tr(K₁²)tr(K₂²)) with K = ZZᵀ of \
         normalised rows. It is dominated by each space's mean direction. Contrastive training spreads the aligned \
         embeddings out (mean pairwise cosine {} for {}'s aligned images) while DINOv2's CLS tokens share a strong common \
         direction ({}), so the uncentred score collapses after training ({} against {} for the untrained adapter) even \
         where the centred metrics (CKA, debiased CKA, CKNNA, mutual kNN) stay level or rise. Read the centred metrics for \
         H1/H2; the kernel alignment is shown because the research reported it.</p>",
        num(a0.space("aligned_image", "mean_pairwise_cosine")),
        escape(&a0.name),
        num(a0.space("reference", "mean_pairwise_cosine")),
        num(a0.score("kernel_alignment", "aligned_image-reference")),
        num(a0.score("kernel_alignment", "untrained_image-reference")),
    );
    body.push_str(&section(
        "alignment",
        "Alignment",
        &format!("{}{note}", side(items.into_iter())),
    ));

    // Hypotheses.
    let mut items = Vec::new();
    for a in &results {
        let stem = format!("hypotheses_{}", a.name);
        render(&figures::hypothesis_bars(a, topk), &fig, &stem)?;
        let mut rows = Vec::new();
        for m in Metric::ALL {
            for h in ["H1", "H2"] {
                let find = |adapter: &str| {
                    a.tests().iter().find(|t| {
                        t["hypothesis"] == h
                            && t["metric"] == m.name()
                            && t["tested"] == "aligned_image"
                            && t["adapter"] == adapter
                    })
                };
                if let (Some(t), Some(u)) = (find("trained"), find("untrained")) {
                    let v = t["verdict"].as_str().unwrap_or("");
                    let uv = u["verdict"].as_str().unwrap_or("");
                    rows.push(vec![
                        escape(m.name()),
                        h.into(),
                        num(f(&t["score"])),
                        num(f(&t["baseline"])),
                        format!(
                            "{} [{}, {}]",
                            num(f(&t["margin"])),
                            num(f(&t["ci_low"])),
                            num(f(&t["ci_high"]))
                        ),
                        format!("<span class=\"{v}\">{v}</span>"),
                        format!("<span class=\"{uv}\">{uv}</span>"),
                    ]);
                }
            }
        }
        items.push(format!(
            "{}{}",
            html::figure(&stem, &format!("{} hypothesis margins", a.name), "Bars: trained adapter's margin with its paired 95% interval; circles: the untrained adapter's margin."),
            html::table(&["metric", "", "aligned image", "baseline", "margin [95% CI]", "verdict", "untrained"], &rows, "hypotheses")
        ));
    }
    body.push_str(&section("hypotheses", "Hypotheses H1 and H2", &format!(
        "<p>Baselines are measured on the same rows: H1's is the mean of m(image, reference) and m(text, reference), H2's the \
         larger. Every replicate scores all pairs on the same rows, so margins get paired intervals. hypotheses.json also \
         tests the aligned text and the mean of both.</p>{}", side(items.into_iter()))));

    // Projections and similarity need the embeddings themselves.
    let eval_rows = rows::select(inputs.data, Split::Val, 0, config.seed);
    if eval_rows.is_empty() {
        return Err(Error::Invalid {
            what: inputs.ingest.display().to_string(),
            message: "the val split holds no image–caption pairs: nothing to project or retrieve"
                .into(),
        });
    }
    // Each adapter's aligned image and text embeddings, opened once for the figures and examples.
    let aligned: Vec<(FeatureMatrix, FeatureMatrix)> = results
        .iter()
        .map(|a| {
            Ok((
                FeatureMatrix::open(&a.train_dir.join("aligned/image"))?,
                FeatureMatrix::open(&a.train_dir.join("aligned/text"))?,
            ))
        })
        .collect::<Result<_>>()?;
    let pca_rows: Vec<_> = rows::select(inputs.data, Split::Val, config.pca_sample, config.seed);
    let sim_rows: Vec<_> = rows::select(
        inputs.data,
        Split::Val,
        config.similarity_sample,
        config.seed,
    );
    let mut pca_items = Vec::new();
    let mut sim_items = Vec::new();
    let d = inputs.data;
    let raw_image = rows::matrix(&d.image, pca_rows.iter().map(|p| p.image_row));
    let raw_text = rows::matrix(&d.text, pca_rows.iter().map(|p| p.text_row));
    let reference = rows::matrix(&d.reference, pca_rows.iter().map(|p| p.reference_row));
    for (a, (ai, at)) in results.iter().zip(&aligned) {
        let al_image = rows::matrix(ai, pca_rows.iter().map(|p| p.image_row));
        let al_text = rows::matrix(at, pca_rows.iter().map(|p| p.text_row));
        let names = [
            "image",
            "text",
            "aligned_image",
            "aligned_text",
            "reference",
        ];
        let proj = pca::project(&[&raw_image, &raw_text, &al_image, &al_text, &reference], 3);
        let (two, three) = figures::projections(&a.name, &names, &proj);
        let (s2, s3) = (format!("pca2d_{}", a.name), format!("pca3d_{}", a.name));
        render(&two, &fig, &s2)?;
        render(&three, &fig, &s3)?;
        pca_items.push(format!(
            "{}{}",
            html::figure(&s2, &format!("{} PCA 2-D", a.name), &format!("{} evaluation pairs per space, rows L2-normalised and zero-padded to one width, one joint PCA.", pca_rows.len())),
            html::figure(&s3, &format!("{} PCA 3-D views", a.name), "The first three components as three 2-D views.")
        ));
        let si = rows::matrix(ai, sim_rows.iter().map(|p| p.image_row));
        let st = rows::matrix(at, sim_rows.iter().map(|p| p.text_row));
        let stem = format!("similarity_{}", a.name);
        render(&figures::similarity(&a.name, &si, &st), &fig, &stem)?;
        sim_items.push(html::figure(&stem, &format!("{} similarity matrix", a.name), &format!("{} evaluation images and their own captions, in the same order: a bright diagonal is retrieval working.", sim_rows.len())));
    }
    body.push_str(&section("projections", "Projections (PCA)", &format!(
        "<p class=\"note\">Spaces of different encoders have unrelated coordinates, so the distance between two spaces' clouds \
         says little; look at each cloud's spread and structure, and at how the aligned image and text clouds overlap.</p>{}",
        side(pca_items.into_iter())
    )));
    body.push_str(&section(
        "similarity",
        "Aligned image × aligned text similarity",
        &side(sim_items.into_iter()),
    ));

    // Retrieval and probe tables.
    let mut rrows = Vec::new();
    let mut prows = Vec::new();
    for a in &results {
        for r in a.retrieval["rows"]
            .as_array()
            .map_or(&[][..], Vec::as_slice)
        {
            let recall = |i: usize| num(f(&r["recall"][i][1]));
            rrows.push(vec![
                escape(&a.name),
                escape(r["adapter"].as_str().unwrap_or("")),
                escape(r["direction"].as_str().unwrap_or("")),
                recall(0),
                recall(1),
                recall(2),
                num(f(&r["median_rank"])),
                format!("{}", r["gallery"]),
            ]);
        }
        for p in a.probe["rows"].as_array().map_or(&[][..], Vec::as_slice) {
            prows.push(vec![
                escape(&a.name),
                escape(p["features"].as_str().unwrap_or("")),
                format!("{}", p["dim"]),
                num(f(&p["train_accuracy"])),
                num(f(&p["test_accuracy"])),
                num(f(&p["ratio_to_reference"])),
            ]);
        }
    }
    let ks: Vec<String> = results[0].probe["settings"]["retrieval_ks"]
        .as_array()
        .map(|v| v.iter().map(|k| format!("R@{k}")).collect())
        .unwrap_or_else(|| vec!["R@1".into(), "R@5".into(), "R@10".into()]);
    let header: Vec<&str> = ["adapter", "weights", "direction"]
        .into_iter()
        .chain(ks.iter().map(String::as_str))
        .chain(["median rank", "gallery"])
        .collect();
    body.push_str(&section("retrieval", "Retrieval (evaluation split)", &format!(
        "<p>Cosine similarity in the aligned space; the untrained adapters are the floor. Ties rank against the query.</p>{}",
        html::table(&header, &rrows, "retrieval")
    )));
    let p0 = &results[0].probe;
    body.push_str(&section("probe", "Downstream linear probe", &format!(
        "<p>Multinomial logistic regression on standardised features, {} train / {} test images of the probe set, {} classes. \
         aligned_image = the image encoder followed by the trained image adapter.</p>{}",
        p0["rows"][0]["train_rows"], p0["rows"][0]["test_rows"], p0["classes"],
        html::table(&["adapter", "features", "width", "train accuracy", "test accuracy", "ratio to reference"], &prows, "probe")
    )));

    // Examples: thumbnails with each adapter's top-3 captions.
    let thumbs_dir = out.join("thumbs");
    std::fs::create_dir_all(&thumbs_dir).map_err(|e| Error::io(&thumbs_dir, e))?;
    let records = ingest::read_manifest(inputs.ingest)?;
    let caption_of = |id: &str| {
        records
            .iter()
            .find(|r| r.id == id)
            .map(|r| r.caption.clone())
            .unwrap_or_default()
    };
    let path_of = |id: &str| {
        records
            .iter()
            .find(|r| r.id == id)
            .map(|r| r.image_path.clone())
            .unwrap_or_default()
    };
    let shown = rows::select(
        inputs.data,
        Split::Val,
        config.examples,
        config.seed ^ 0xe8a,
    );
    // Every adapter's normalised caption gallery, built once.
    let galleries: Vec<_> = aligned
        .iter()
        .map(|(_, at)| l2_normalise(rows::matrix(at, eval_rows.iter().map(|e| e.text_row))))
        .collect();
    let mut cards = String::from("<div class=\"examples\">");
    for (i, p) in shown.iter().enumerate() {
        let thumb = format!("thumbs/{i:02}.png");
        thumbs::write(
            &resolve(inputs.root, &path_of(&p.record_id)),
            &out.join(&thumb),
            96,
        )?;
        let _ = write!(
            cards,
            "<div class=\"example\"><img src=\"{thumb}\" alt=\"evaluation image {i}\"><div><i>{}</i></div>",
            escape(&caption_of(&p.record_id))
        );
        for ((a, (ai, _)), gallery) in results.iter().zip(&aligned).zip(&galleries) {
            let q = rows::matrix(ai, std::iter::once(p.image_row));
            let sims = gallery.dot(&l2_normalise(q).row(0));
            let mut order: Vec<usize> = (0..sims.len()).collect();
            order.sort_by(|&x, &y| sims[y].total_cmp(&sims[x]).then(x.cmp(&y)));
            let _ = write!(
                cards,
                "<div style=\"clear:left\"><b>{}</b> top-3:</div><ol>",
                escape(&a.name)
            );
            for &j in order.iter().take(3) {
                let hit = eval_rows[j].image_id == p.image_id;
                let _ = write!(
                    cards,
                    "<li{}>{} <small>({})</small></li>",
                    if hit { " class=\"hit\"" } else { "" },
                    escape(&caption_of(&eval_rows[j].record_id)),
                    num(sims[j])
                );
            }
            cards.push_str("</ol>");
        }
        cards.push_str("</div>");
    }
    cards.push_str("</div>");
    body.push_str(&section("examples", "Examples: evaluation images and their top-3 captions", &format!(
        "<p>Among all {} evaluation captions; the image's own caption is in bold green when retrieved.</p>{cards}",
        eval_rows.len()
    )));

    // Configuration and keys.
    let mut conf = String::new();
    for a in &results {
        let _ = write!(
            conf,
            "<h3>train:{}</h3><pre>{}</pre>",
            escape(&a.name),
            escape(&serde_json::to_string_pretty(&a.train_config).unwrap_or_default())
        );
    }
    let _ = write!(
        conf,
        "<h3>align</h3><pre>{}</pre><h3>probe</h3><pre>{}</pre><h3>report</h3><pre>{}</pre>",
        escape(&serde_json::to_string_pretty(&results[0].metrics["settings"]).unwrap_or_default()),
        escape(&serde_json::to_string_pretty(&results[0].probe["settings"]).unwrap_or_default()),
        escape(&serde_json::to_string_pretty(config).unwrap_or_default()),
    );
    let key_rows: Vec<Vec<String>> = inputs
        .keys
        .iter()
        .map(|(s, k)| vec![escape(s), format!("<code>{}</code>", escape(k))])
        .collect();
    conf.push_str(&html::table(&["stage", "artifact key"], &key_rows, "keys"));
    body.push_str(&section(
        "configuration",
        "Configuration and artifact keys",
        &conf,
    ));

    let page = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Platonic alignment report</title>\
         <style>{}</style></head><body><h1>Aligning unimodal encoders: does the aligned space approach the reference?</h1>\
         <p class=\"sub\">Adapters: {}. Every number on this page is in metrics.json beside it.</p>\n{body}</body></html>\n",
        html::STYLE,
        results
            .iter()
            .map(|a| escape(&a.name))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let index = out.join("index.html");
    std::fs::write(&index, page).map_err(|e| Error::io(&index, e))?;

    let adapters: serde_json::Map<String, Value> = results
        .iter()
        .map(|a| {
            (
                a.name.clone(),
                json!({
                    "train_config": a.train_config,
                    "metrics": a.metrics,
                    "hypotheses": a.hypotheses,
                    "spaces": a.spaces,
                    "probe": a.probe,
                    "retrieval": a.retrieval,
                }),
            )
        })
        .collect();
    let keys: serde_json::Map<String, Value> = inputs
        .keys
        .iter()
        .map(|(s, k)| (s.clone(), json!(k)))
        .collect();
    write_json(
        &out.join("metrics.json"),
        &json!({"adapters": adapters, "keys": keys, "report": config}),
    )?;
    Ok(index)
}
