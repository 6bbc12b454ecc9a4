//! The page's "alignment against performance" section: every correlation as a bar with its
//! interval, the members' scatters for the headline metrics, and the table.

use std::path::Path;

use plotters::style::RGBColor;

use super::{Configuration, HEADLINE_METRICS, View, label, short};
use crate::compare::{CorrelationRow, Role, finite};
use crate::error::Result;
use crate::report::charts::{IntervalBar, IntervalBars, ScatterGroup, ScatterPanel, ScatterPanels};
use crate::report::colour;
use crate::report::figure::render;
use crate::report::html::{self, escape, num};

impl View<'_> {
    /// Every correlation as a bar with its interval, the scatters of the headline metrics, and
    /// the table.
    pub(super) fn correlations(&self, fig: &Path) -> Result<String> {
        let rows = &self.c.correlations;
        if rows.is_empty() {
            return Ok(String::new());
        }
        let bars = rows
            .iter()
            .map(|r| IntervalBar {
                // The colour says what it is against (the legend).
                label: short(&r.metric),
                value: r.spearman.unwrap_or(f64::NAN),
                low: r.spearman_ci_low.unwrap_or(f64::NAN),
                high: r.spearman_ci_high.unwrap_or(f64::NAN),
                control: None,
                colour: against_colour(&self.performance(), &r.against),
                clip: false,
            })
            .collect();
        let figure = IntervalBars {
            title: "Spearman's ρ across members, with its 95% bootstrap interval".into(),
            x_label: "ρ (alignment score against performance)".into(),
            bars,
            legend: self
                .performance()
                .iter()
                .map(|p| (short(p), against_colour(&self.performance(), p), false))
                .collect(),
            width: 1000,
        };
        render(&figure, fig, "correlations")?;
        let mut s = format!(
            "<section id=\"correlations\"><h2>Alignment against performance</h2>{}",
            html::figure(
                "correlations",
                "every correlation with its interval",
                "Each alignment score against each performance number, across all members: \
                 the bar is Spearman's ρ, the whisker its bootstrap interval."
            )
        );
        s.push_str(&self.scatters(fig)?);
        s.push_str(&correlation_table(rows));
        s.push_str("</section>");
        Ok(s)
    }

    fn performance(&self) -> Vec<String> {
        self.headline
            .iter()
            .filter(|c| self.c.roles.get(*c) == Some(&Role::Performance))
            .cloned()
            .collect()
    }

    /// The alignment columns of platonic-rep's default metrics (any three when none is there).
    fn scatter_metrics(&self) -> Vec<String> {
        let alignment: Vec<&String> = self
            .headline
            .iter()
            .filter(|c| self.c.roles.get(*c) == Some(&Role::Alignment))
            .collect();
        let named: Vec<String> = HEADLINE_METRICS
            .iter()
            .filter_map(|m| alignment.iter().find(|c| c.split('.').nth(1) == Some(m)))
            .map(|c| (*c).clone())
            .collect();
        if named.is_empty() {
            alignment.into_iter().take(3).cloned().collect()
        } else {
            named
        }
    }

    fn scatter(&self, metric: &str, against: &str) -> Option<ScatterPanel> {
        let row: &CorrelationRow = self
            .c
            .correlations
            .iter()
            .find(|r| r.metric == metric && r.against == against)?;
        let configs = self.configurations();
        let mut groups: Vec<ScatterGroup> = configs
            .iter()
            .enumerate()
            .map(|(i, c)| {
                (
                    label(c),
                    colour::SERIES[i % colour::SERIES.len()],
                    Vec::new(),
                )
            })
            .collect();
        for m in &self.c.members {
            let (Some(Some(x)), Some(Some(y))) = (m.results.get(metric), m.results.get(against))
            else {
                continue;
            };
            let config: Configuration = self
                .config_axes
                .iter()
                .filter_map(|a| m.values.get(a).map(|v| (a.clone(), v.clone())))
                .collect();
            if let Some(i) = configs.iter().position(|c| *c == config) {
                groups[i].2.push((*x, *y));
            }
        }
        let f = |v: Option<f64>| num(v.and_then(finite).unwrap_or(f64::NAN));
        Some(ScatterPanel {
            title: format!(
                "ρ {} [{}, {}], p {}",
                f(row.spearman),
                f(row.spearman_ci_low),
                f(row.spearman_ci_high),
                f(row.spearman_p)
            ),
            x_label: short(metric),
            y_label: short(against),
            groups: groups.into_iter().filter(|g| !g.2.is_empty()).collect(),
        })
    }

    /// For each performance number, the headline metrics' scatters against it (one point per
    /// member).
    fn scatters(&self, fig: &Path) -> Result<String> {
        let mut s = String::new();
        for (k, against) in self.performance().iter().enumerate() {
            let panels: Vec<ScatterPanel> = self
                .scatter_metrics()
                .iter()
                .filter_map(|metric| self.scatter(metric, against))
                .collect();
            if panels.is_empty() {
                continue;
            }
            let stem = format!("scatter-{k}");
            render(
                &ScatterPanels {
                    panels,
                    panel_size: (420, 340),
                },
                fig,
                &stem,
            )?;
            s.push_str(&html::figure(
                &stem,
                "alignment against performance, one point per member",
                &format!(
                    "One point per member (colour: configuration); ρ is Spearman's across members \
                     with its bootstrap interval and permutation p. Against {}.",
                    escape(&short(against))
                ),
            ));
        }
        Ok(s)
    }
}

/// The correlations as a table: Spearman's and Pearson's with their intervals and p-values.
fn correlation_table(rows: &[CorrelationRow]) -> String {
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let f = |v: Option<f64>| num(v.unwrap_or(f64::NAN));
            vec![
                escape(&short(&r.metric)),
                escape(&short(&r.against)),
                r.n.to_string(),
                format!(
                    "{} [{}, {}]",
                    f(r.spearman),
                    f(r.spearman_ci_low),
                    f(r.spearman_ci_high)
                ),
                f(r.spearman_p),
                format!(
                    "{} [{}, {}]",
                    f(r.pearson),
                    f(r.pearson_ci_low),
                    f(r.pearson_ci_high)
                ),
                f(r.pearson_p),
            ]
        })
        .collect();
    html::table(
        &[
            "alignment",
            "against",
            "n",
            "Spearman [95% CI]",
            "p",
            "Pearson [95% CI]",
            "p",
        ],
        &table,
        "correlations",
    )
}

fn against_colour(performance: &[String], against: &str) -> RGBColor {
    let i = performance.iter().position(|p| p == against).unwrap_or(0);
    colour::SERIES[i % colour::SERIES.len()]
}
