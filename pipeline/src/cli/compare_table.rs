//! `pipeline compare`'s terminal view of compare.json: the members table, the across-seed
//! aggregates and the correlations.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use stages::compare::{Comparison, Role, SEED_AXIS, Value};

use crate::engine::error::{EngineError, Result};

fn show_number(x: Option<f64>) -> String {
    x.map_or_else(|| "-".to_string(), |x| format!("{x:.4}"))
}

/// One table column: a header and a cell per row, with what to sort by.
struct TableColumn {
    header: String,
    cells: Vec<String>,
    keys: Vec<SortKey>,
}

#[derive(PartialEq, PartialOrd)]
enum SortKey {
    Number(f64),
    Text(String),
}

fn sort_key(v: &Value) -> SortKey {
    match v {
        Value::Int(i) => SortKey::Number(*i as f64),
        Value::Float(f) => SortKey::Number(*f),
        other => SortKey::Text(other.to_string()),
    }
}

/// How `pipeline compare` shows the table.
pub struct View {
    pub json: bool,
    pub sort: Option<String>,
    pub only_changed: bool,
    pub all: bool,
}

pub fn render(c: &Comparison, view: &View) -> Result<String> {
    let shown: Vec<&String> = c
        .roles
        .iter()
        .filter(|(_, role)| view.all || **role != Role::Detail)
        .map(|(name, _)| name)
        .collect();
    let mut columns = member_columns(c, &shown);
    let mut order: Vec<usize> = (0..c.members.len()).collect();
    if let Some(by) = &view.sort {
        let Some(col) = columns.iter().find(|t| &t.header == by) else {
            return Err(EngineError::Config(format!(
                "--sort {by}: no such column; columns: {}",
                columns
                    .iter()
                    .map(|t| t.header.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        };
        order.sort_by(|&a, &b| {
            col.keys[a]
                .partial_cmp(&col.keys[b])
                .unwrap_or(std::cmp::Ordering::Equal)
        });
    }
    if view.only_changed {
        columns.retain(|t| t.header == "member" || t.cells.iter().any(|x| x != &t.cells[0]));
    }
    let mut out = String::new();
    let _ = writeln!(out, "sweep {}: {} members", c.sweep, c.members.len());
    write_grid(
        &mut out,
        &columns.iter().map(|t| t.header.clone()).collect::<Vec<_>>(),
        &order
            .iter()
            .map(|&r| columns.iter().map(|t| t.cells[r].clone()).collect())
            .collect::<Vec<_>>(),
    );
    if c.axes.iter().any(|a| a == SEED_AXIS) {
        aggregates(&mut out, c, &shown);
    }
    if !c.correlations.is_empty() {
        correlations(&mut out, c);
    }
    Ok(out)
}

/// The members table's columns: the member, each swept value, each `shown` result.
fn member_columns(c: &Comparison, shown: &[&String]) -> Vec<TableColumn> {
    let mut columns = vec![TableColumn {
        header: "member".into(),
        cells: c.members.iter().map(|m| m.member.to_string()).collect(),
        keys: c
            .members
            .iter()
            .map(|m| SortKey::Number(f64::from(m.member)))
            .collect(),
    }];
    for axis in &c.axes {
        let missing = Value::Str("-".into());
        let values: Vec<&Value> = c
            .members
            .iter()
            .map(|m| m.values.get(axis).unwrap_or(&missing))
            .collect();
        columns.push(TableColumn {
            header: axis.clone(),
            cells: values.iter().map(|v| v.to_string()).collect(),
            keys: values.iter().map(|v| sort_key(v)).collect(),
        });
    }
    for name in shown {
        let values: Vec<Option<f64>> = c
            .members
            .iter()
            .map(|m| m.results.get(*name).copied().flatten())
            .collect();
        columns.push(TableColumn {
            header: (*name).clone(),
            cells: values.iter().map(|v| show_number(*v)).collect(),
            keys: values
                .iter()
                .map(|v| SortKey::Number(v.unwrap_or(f64::NAN)))
                .collect(),
        });
    }
    columns
}

/// Each alignment column against each performance column across members.
fn correlations(out: &mut String, c: &Comparison) {
    let _ = writeln!(
        out,
        "\nalignment vs performance across members (95% bootstrap interval, permutation p):"
    );
    let rows: Vec<Vec<String>> = c
        .correlations
        .iter()
        .map(|r| {
            let interval = |lo: Option<f64>, hi: Option<f64>| {
                format!("[{}, {}]", show_number(lo), show_number(hi))
            };
            vec![
                r.metric.clone(),
                r.against.clone(),
                r.n.to_string(),
                show_number(r.spearman),
                interval(r.spearman_ci_low, r.spearman_ci_high),
                show_number(r.spearman_p),
                show_number(r.pearson),
                interval(r.pearson_ci_low, r.pearson_ci_high),
                show_number(r.pearson_p),
            ]
        })
        .collect();
    let headers = [
        "alignment",
        "against",
        "n",
        "spearman",
        "interval",
        "p",
        "pearson",
        "interval",
        "p",
    ]
    .map(String::from);
    write_grid(out, &headers, &rows);
}

/// Per configuration (the swept values but the seed): mean and 95% t interval of each shown
/// column across seeds.
fn aggregates(out: &mut String, c: &Comparison, shown: &[&String]) {
    let config_axes: Vec<&String> = c.axes.iter().filter(|a| *a != SEED_AXIS).collect();
    let mut configs: Vec<(String, BTreeMap<&str, String>)> = Vec::new();
    for row in &c.aggregates {
        if !shown.contains(&&row.column) {
            continue;
        }
        let label = config_axes
            .iter()
            .map(|a| {
                format!(
                    "{a}={}",
                    row.values.get(*a).map(Value::to_string).unwrap_or_default()
                )
            })
            .collect::<Vec<_>>()
            .join(" ");
        let cell = match (row.mean, row.ci_low, row.ci_high) {
            (Some(m), Some(lo), Some(hi)) => format!("{m:.4} [{lo:.4}, {hi:.4}]"),
            (Some(m), _, _) => format!("{m:.4}"),
            _ => "-".into(),
        };
        let n = format!("{}", row.n);
        match configs.iter_mut().find(|(l, _)| *l == label) {
            Some((_, cells)) => {
                cells.insert(row.column.as_str(), cell);
                cells.entry("n").or_insert(n);
            }
            None => configs.push((
                label,
                BTreeMap::from([(row.column.as_str(), cell), ("n", n)]),
            )),
        }
    }
    let _ = writeln!(out, "\nacross seeds (mean [95% t interval]):");
    let mut headers = vec!["configuration".to_string(), "n".to_string()];
    headers.extend(shown.iter().map(|s| (*s).clone()));
    let rows: Vec<Vec<String>> = configs
        .iter()
        .map(|(label, cells)| {
            let mut row = vec![
                if label.is_empty() {
                    "(all)".into()
                } else {
                    label.clone()
                },
                cells.get("n").cloned().unwrap_or_default(),
            ];
            row.extend(
                shown
                    .iter()
                    .map(|s| cells.get(s.as_str()).cloned().unwrap_or_else(|| "-".into())),
            );
            row
        })
        .collect();
    write_grid(out, &headers, &rows);
}

fn write_grid(out: &mut String, headers: &[String], rows: &[Vec<String>]) {
    let widths: Vec<usize> = (0..headers.len())
        .map(|j| {
            rows.iter()
                .map(|r| r[j].chars().count())
                .chain(std::iter::once(headers[j].chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[String]| {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let _ = writeln!(out, "{}", line(headers));
    for r in rows {
        let _ = writeln!(out, "{}", line(r));
    }
}
