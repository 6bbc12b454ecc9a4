//! The sweep's page (`index.html` and `fig/` in the compare artifact), drawn from compare.json
//! alone in the report's style: each result against the swept parameter with its across-seed
//! interval, the best configuration per result, and alignment against performance (every
//! correlation with its interval, and the members' scatter for the headline metrics).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

use crate::compare::SEED_AXIS;
use crate::compare::{AggregateRow, CompareArtifact, Comparison, Role, Value};
use crate::error::{Error, Result};
use crate::report::charts::{IntervalBar, IntervalBars, LinePanels, Panel, Series};
use crate::report::figure::render;
use crate::report::html::{self, escape, num};
use crate::report::{colour, font};

mod correlations;

/// platonic-rep's default metrics: the ones whose scatter against performance is drawn.
const HEADLINE_METRICS: [&str; 3] = ["mutual_knn", "cka", "cknna"];

/// A configuration: the swept values but the seed, in axis order.
type Configuration = Vec<(String, Value)>;

/// Writes the page of `c` into `out` (its figures into `fig/`), with the figures' font.
pub fn write(
    c: &Comparison,
    out: &CompareArtifact,
    regular: &Path,
    bold: Option<&Path>,
) -> Result<()> {
    font::register(regular, bold)?;
    let fig = out.figures();
    std::fs::create_dir_all(&fig).map_err(|e| Error::io(&fig, e))?;
    let view = View::new(c);
    let mut body = String::new();
    body.push_str(&view.trends(&fig)?);
    body.push_str(&view.best());
    body.push_str(&view.correlations(&fig)?);
    body.push_str(&view.files(out));
    let page = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sweep {name}</title>\
         <style>{style}</style></head><body><h1>Sweep {name}</h1>\
         <p class=\"sub\">{n} members; swept: {axes}. Means across seeds with 95% Student t \
         intervals; correlations across members with {b} bootstrap resamples and {p} \
         permutations. Every number is in compare.json beside this page.</p>\n{body}</body></html>\n",
        name = escape(&c.sweep),
        style = html::STYLE,
        n = c.members.len(),
        axes = escape(&c.axes.join(", ")),
        b = c.resampling.bootstrap,
        p = c.resampling.permutations,
    );
    let index = out.index();
    std::fs::write(&index, page).map_err(|e| Error::io(&index, e))
}

/// A short label for a column: `align.cka.aligned_image-reference` → `cka`,
/// `probe.r@1.trained.image_to_text` → `R@1 image→text`.
pub fn short(column: &str) -> String {
    let parts: Vec<&str> = column.split('.').collect();
    match parts.as_slice() {
        ["align", metric, "aligned_image-reference"] => (*metric).to_string(),
        ["align", metric, pair] => format!("{metric} {pair}"),
        ["probe", "r@1", "trained", direction] => format!("R@1 {}", direction.replace("_to_", "→")),
        ["probe", "accuracy", features] => format!("probe accuracy {}", features.replace('_', " ")),
        [_, rest @ ..] if !rest.is_empty() => rest.join(" ").replace("_to_", "→"),
        _ => column.to_string(),
    }
}

fn label(config: &Configuration) -> String {
    if config.is_empty() {
        return "all".into();
    }
    config
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn numeric(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        _ => None,
    }
}

/// One configuration's number for a column.
struct Cell {
    mean: f64,
    low: f64,
    high: f64,
    n: usize,
}

struct View<'a> {
    c: &'a Comparison,
    /// Alignment columns, then performance columns, each sorted by name.
    headline: Vec<String>,
    /// The swept parameters but the seed.
    config_axes: Vec<String>,
    /// The numeric axis the trends are drawn against, when there is one.
    x_axis: Option<String>,
    /// Column → configuration → its cell.
    cells: BTreeMap<String, Vec<(Configuration, Cell)>>,
}

impl<'a> View<'a> {
    fn new(c: &'a Comparison) -> View<'a> {
        let mut headline: Vec<(Role, &String)> = c
            .roles
            .iter()
            .filter(|(_, r)| **r != Role::Detail)
            .map(|(name, r)| (*r, name))
            .collect();
        headline.sort();
        let config_axes: Vec<String> = c.axes.iter().filter(|a| *a != SEED_AXIS).cloned().collect();
        // The first swept parameter with more than one value, all of them numbers.
        let x_axis = config_axes
            .iter()
            .find(|a| {
                let values: Vec<Option<f64>> = c
                    .members
                    .iter()
                    .map(|m| m.values.get(*a).and_then(numeric))
                    .collect();
                values.iter().all(Option::is_some)
                    && values.iter().flatten().any(|v| Some(*v) != values[0])
            })
            .cloned();
        let mut cells: BTreeMap<String, Vec<(Configuration, Cell)>> = BTreeMap::new();
        for row in &c.aggregates {
            if let Some(cell) = Self::cell(row) {
                let config = config_axes
                    .iter()
                    .filter_map(|a| row.values.get(a).map(|v| (a.clone(), v.clone())))
                    .collect();
                cells
                    .entry(row.column.clone())
                    .or_default()
                    .push((config, cell));
            }
        }
        View {
            c,
            headline: headline.into_iter().map(|(_, n)| n.clone()).collect(),
            config_axes,
            x_axis,
            cells,
        }
    }

    fn cell(row: &AggregateRow) -> Option<Cell> {
        let mean = row.mean?;
        Some(Cell {
            mean,
            low: row.ci_low.unwrap_or(f64::NAN),
            high: row.ci_high.unwrap_or(f64::NAN),
            n: row.n,
        })
    }

    /// Each headline result against the swept parameter (one line per value of the other swept
    /// parameters), or per configuration when no parameter is a number.
    fn trends(&self, fig: &Path) -> Result<String> {
        let mut s = String::new();
        if self.headline.is_empty() {
            return Ok(s);
        }
        if let Some(x) = &self.x_axis {
            let (x_label, log_x) = self.x_scale(x);
            let panels = self
                .headline
                .iter()
                .map(|column| Panel {
                    title: short(column),
                    x_label: x_label.clone(),
                    y_label: "mean across seeds".into(),
                    series: self.series(column, x),
                    log_x,
                })
                .collect();
            let figure = LinePanels {
                panels,
                panel_size: (380, 290),
                columns: 4,
            };
            render(&figure, fig, "trends")?;
            let _ = write!(
                s,
                "<section id=\"trends\"><h2>Each result against {x}</h2>{}</section>",
                html::figure(
                    "trends",
                    "each result against the swept parameter",
                    &format!(
                        "Means across seeds with their 95% t intervals, against {}.",
                        escape(x)
                    )
                )
            );
        } else {
            let configs = self.configurations();
            let bars = self
                .headline
                .iter()
                .flat_map(|column| {
                    configs.iter().enumerate().filter_map(move |(i, config)| {
                        let cell = self.lookup(column, config)?;
                        Some(IntervalBar {
                            label: format!("{} · {}", short(column), label(config)),
                            value: cell.mean,
                            low: cell.low,
                            high: cell.high,
                            control: None,
                            colour: colour::SERIES[i % colour::SERIES.len()],
                            clip: false,
                        })
                    })
                })
                .collect();
            let figure = IntervalBars {
                title: "Each result per configuration (mean across seeds, 95% t interval)".into(),
                x_label: "value".into(),
                bars,
                legend: configs
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (label(c), colour::SERIES[i % colour::SERIES.len()], false))
                    .collect(),
                width: 1000,
            };
            render(&figure, fig, "configurations")?;
            let _ = write!(
                s,
                "<section id=\"configurations\"><h2>Each result per configuration</h2>{}</section>",
                html::figure(
                    "configurations",
                    "each result per configuration",
                    "Means across seeds with their 95% t intervals."
                )
            );
        }
        Ok(s)
    }

    /// The trends' x axis: its label, and whether it is a log axis ([`View::spans_decades`]).
    fn x_scale(&self, x: &str) -> (String, bool) {
        if self.spans_decades(x) {
            (format!("{x} (log scale)"), true)
        } else {
            (x.to_string(), false)
        }
    }

    /// Whether the swept values of `x` are all positive and span a factor of 8 or more (a
    /// sample size doubling from 64 to 4,096): such a sweep reads on a log axis.
    fn spans_decades(&self, x: &str) -> bool {
        let values: Vec<f64> = self
            .c
            .members
            .iter()
            .filter_map(|m| m.values.get(x).and_then(numeric))
            .collect();
        let (lo, hi) = values
            .iter()
            .fold((f64::INFINITY, 0.0_f64), |(lo, hi), &v| {
                (lo.min(v), hi.max(v))
            });
        !values.is_empty() && lo > 0.0 && hi / lo >= 8.0
    }

    /// The configurations in the order of the aggregates.
    fn configurations(&self) -> Vec<Configuration> {
        let mut out: Vec<Configuration> = Vec::new();
        for cells in self.cells.values() {
            for (config, _) in cells {
                if !out.contains(config) {
                    out.push(config.clone());
                }
            }
        }
        out
    }

    fn lookup(&self, column: &str, config: &Configuration) -> Option<&Cell> {
        self.cells
            .get(column)?
            .iter()
            .find(|(c, _)| c == config)
            .map(|(_, cell)| cell)
    }

    /// `column` against `x`: one series per value of the other swept parameters.
    fn series(&self, column: &str, x: &str) -> Vec<Series> {
        let mut by_rest: Vec<(Configuration, Vec<(f64, &Cell)>)> = Vec::new();
        for (config, cell) in self.cells.get(column).into_iter().flatten() {
            let Some(xv) = config
                .iter()
                .find(|(k, _)| k == x)
                .and_then(|(_, v)| numeric(v))
            else {
                continue;
            };
            let rest: Configuration = config.iter().filter(|(k, _)| k != x).cloned().collect();
            match by_rest.iter_mut().find(|(r, _)| *r == rest) {
                Some((_, points)) => points.push((xv, cell)),
                None => by_rest.push((rest, vec![(xv, cell)])),
            }
        }
        by_rest
            .into_iter()
            .map(|(rest, mut points)| {
                points.sort_by(|a, b| a.0.total_cmp(&b.0));
                Series {
                    name: label(&rest),
                    points: points.iter().map(|(x, c)| (*x, c.mean)).collect(),
                    light: false,
                    errors: points.iter().map(|(x, c)| (*x, c.low, c.high)).collect(),
                }
            })
            .collect()
    }

    /// Per headline result: the best configuration (highest mean) with its interval, the
    /// runner-up, and whether their intervals are apart.
    fn best(&self) -> String {
        let mut rows = Vec::new();
        for column in &self.headline {
            let Some(cells) = self.cells.get(column) else {
                continue;
            };
            let mut ranked: Vec<&(Configuration, Cell)> =
                cells.iter().filter(|(_, c)| c.mean.is_finite()).collect();
            ranked.sort_by(|a, b| b.1.mean.total_cmp(&a.1.mean));
            let Some((config, top)) = ranked.first() else {
                continue;
            };
            let interval = |c: &Cell| format!("{} [{}, {}]", num(c.mean), num(c.low), num(c.high));
            let (next, apart) = match ranked.get(1) {
                Some((nc, next)) => (
                    format!("{} ({})", interval(next), escape(&label(nc))),
                    if top.low > next.high {
                        "yes"
                    } else if top.low.is_finite() && next.high.is_finite() {
                        "no: the intervals overlap"
                    } else {
                        "– (one seed)"
                    }
                    .to_string(),
                ),
                None => ("–".into(), "–".into()),
            };
            rows.push(vec![
                escape(&short(column)),
                escape(&label(config)),
                interval(top),
                top.n.to_string(),
                next,
                apart,
            ]);
        }
        if rows.is_empty() {
            return String::new();
        }
        format!(
            "<section id=\"best\"><h2>Best configuration per result</h2>{}</section>",
            html::table(
                &[
                    "result",
                    "best configuration",
                    "mean [95% CI]",
                    "seeds",
                    "runner-up",
                    "apart?"
                ],
                &rows,
                "best",
            )
        )
    }

    fn files(&self, out: &CompareArtifact) -> String {
        let name = |p: std::path::PathBuf| {
            p.file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default()
        };
        let mut s = String::from("<section id=\"tables\"><h2>Tables</h2><p>");
        for parquet in [out.members(), out.aggregates(), out.correlations()] {
            let csv = CompareArtifact::csv(&parquet);
            let _ = write!(
                s,
                "<a href=\"{0}\">{0}</a> (<a href=\"{1}\">{1}</a>) ",
                escape(&name(parquet)),
                escape(&name(csv))
            );
        }
        s.push_str("</p></section>");
        s
    }
}

#[cfg(test)]
mod tests {
    use super::short;

    #[test]
    fn short_names() {
        assert_eq!(short("align.cka.aligned_image-reference"), "cka");
        assert_eq!(short("align.cka.image-text"), "cka image-text");
        assert_eq!(short("probe.r@1.trained.image_to_text"), "R@1 image→text");
        assert_eq!(
            short("probe.accuracy.aligned_image"),
            "probe accuracy aligned image"
        );
        assert_eq!(short("train.val_loss"), "val_loss");
        assert_eq!(short("plain"), "plain");
    }
}
