//! The compare tables: the members table, its across-seed aggregates (a polars group-by of the
//! members' numbers by configuration and column), and the correlations across members. The
//! tables are written as Parquet and CSV by [`crate::table`]; polars does the grouping only, in
//! its eager API (its lazy engine and its Parquet codecs would triple its build for one
//! group-by over a few hundred rows).

use std::path::Path;

use polars::prelude::{Column as Series, DataFrame, PolarsError, PolarsResult};

use super::{
    AggregateRow, Axis, CompareArtifact, Comparison, CorrelationRow, MemberRow, Members,
    Resampling, Role, SEED_AXIS, Value, finite,
};
use crate::error::{Error, Result};
use crate::stats::{self, Coefficient};
use crate::table::{self, Column};

/// Writes the compare tables of `members` (of sweep `sweep`) into `out`; returns what
/// compare.json holds.
pub fn write(
    sweep: &str,
    members: &Members,
    resampling: Resampling,
    out: &CompareArtifact,
) -> Result<Comparison> {
    check(members)?;
    write_both(members_columns(members), &out.members())?;

    let config_axes: Vec<&Axis> = members
        .axes
        .iter()
        .filter(|a| a.name != SEED_AXIS)
        .collect();
    let aggregates_file = out.aggregates();
    let aggregates =
        aggregate(members, &config_axes).map_err(|e| polars_err(&aggregates_file, e))?;
    write_both(
        aggregate_columns(&aggregates, &config_axes),
        &aggregates_file,
    )?;

    let correlations = correlations(members, resampling);
    write_both(correlation_columns(&correlations), &out.correlations())?;

    let comparison = Comparison {
        sweep: sweep.to_string(),
        axes: members.axes.iter().map(|a| a.name.clone()).collect(),
        roles: members
            .columns
            .iter()
            .map(|c| (c.name.clone(), c.role))
            .collect(),
        resampling,
        members: member_rows(members),
        aggregates,
        correlations,
    };
    crate::json::write(&out.json(), &comparison)?;
    Ok(comparison)
}

fn check(members: &Members) -> Result<()> {
    let n = members.len();
    let mut names = std::collections::BTreeSet::from(["member".to_string()]);
    for (name, len) in members
        .axes
        .iter()
        .map(|a| (&a.name, a.values.len()))
        .chain(members.columns.iter().map(|c| (&c.name, c.values.len())))
    {
        if len != n {
            return Err(invalid(format!(
                "column `{name}` has {len} values for {n} members"
            )));
        }
        if !names.insert(name.clone()) {
            return Err(invalid(format!(
                "two columns are named `{name}` (a swept parameter and a result?)"
            )));
        }
    }
    Ok(())
}

fn polars_err(path: &Path, e: PolarsError) -> Error {
    Error::Invalid {
        what: path.display().to_string(),
        message: e.to_string(),
    }
}

fn invalid(message: String) -> Error {
    Error::Invalid {
        what: "compare".into(),
        message,
    }
}

/// The Parquet file and a CSV beside it.
fn write_both(columns: Vec<(String, Column)>, parquet: &Path) -> Result<()> {
    table::write_csv(&CompareArtifact::csv(parquet), &columns)?;
    table::write(parquet, columns)
}

/// A swept parameter as a typed column: integers, floats (integers among floats widen),
/// booleans, or else strings.
fn axis_column(values: &[&Value]) -> Column {
    if values.iter().all(|x| matches!(x, Value::Int(_))) {
        let ints = values
            .iter()
            .map(|x| if let Value::Int(i) = x { *i } else { 0 })
            .collect();
        return Column::I64(ints);
    }
    if values
        .iter()
        .all(|x| matches!(x, Value::Int(_) | Value::Float(_)))
    {
        let floats = values
            .iter()
            .map(|x| match x {
                Value::Int(i) => *i as f64,
                Value::Float(f) => *f,
                _ => f64::NAN,
            })
            .collect();
        return Column::F64(floats);
    }
    if values.iter().all(|x| matches!(x, Value::Bool(_))) {
        return Column::Bool(
            values
                .iter()
                .map(|x| matches!(x, Value::Bool(true)))
                .collect(),
        );
    }
    Column::Str(values.iter().map(|v| v.to_string()).collect())
}

fn members_columns(members: &Members) -> Vec<(String, Column)> {
    let member = members.member.iter().map(|&m| i64::from(m)).collect();
    let mut columns = vec![("member".to_string(), Column::I64(member))];
    for a in &members.axes {
        columns.push((
            a.name.clone(),
            axis_column(&a.values.iter().collect::<Vec<_>>()),
        ));
    }
    for c in &members.columns {
        let values = c.values.iter().map(|&x| finite(x)).collect();
        columns.push((c.name.clone(), Column::OptF64(values)));
    }
    columns
}

/// Each member's configuration (its swept values but the seed) as an index into the distinct
/// configurations, in order of first appearance, and each configuration's first member.
fn configurations(members: &Members, config_axes: &[&Axis]) -> (Vec<u32>, Vec<usize>) {
    let values = |m: usize| -> Vec<&Value> { config_axes.iter().map(|a| &a.values[m]).collect() };
    let mut firsts: Vec<usize> = Vec::new();
    let mut of_member = Vec::with_capacity(members.len());
    for m in 0..members.len() {
        let at = match firsts.iter().position(|&f| values(f) == values(m)) {
            Some(at) => at,
            None => {
                firsts.push(m);
                firsts.len() - 1
            }
        };
        of_member.push(at as u32);
    }
    (of_member, firsts)
}

/// n, mean and sample standard deviation of every result column per configuration: one row
/// per (column, member), grouped by column and configuration in order of first appearance
/// (column by column, as the members table reads left to right).
fn aggregate(members: &Members, config_axes: &[&Axis]) -> PolarsResult<Vec<AggregateRow>> {
    let (config_of, firsts) = configurations(members, config_axes);
    let (mut column, mut config, mut value, mut present) = (vec![], vec![], vec![], vec![]);
    for (c, col) in members.columns.iter().enumerate() {
        for (m, &x) in col.values.iter().enumerate() {
            column.push(c as u32);
            config.push(config_of[m]);
            value.push(finite(x));
            present.push(u32::from(x.is_finite()));
        }
    }
    let long = DataFrame::new(vec![
        Series::new("column".into(), column),
        Series::new("config".into(), config),
        Series::new("value".into(), value),
        Series::new("present".into(), present),
    ])?;
    let groups = long.group_by_stable(["column", "config"])?;
    // The eager aggregations are deprecated in favour of the lazy engine, which this crate
    // does not build (see the module's comment); they are the same kernels.
    #[allow(deprecated)]
    let (n, mean, std) = (
        groups.clone().select(["present"]).sum()?,
        groups.clone().select(["value"]).mean()?,
        groups.select(["value"]).std(1)?,
    );
    let keys = (mean.column("column")?.u32()?, mean.column("config")?.u32()?);
    // Each aggregation's frame is the keys, then its one aggregated column.
    let aggregated =
        |frame: &DataFrame| -> PolarsResult<Series> {
            frame.get_columns().last().cloned().ok_or_else(|| {
                PolarsError::NoData("a group-by aggregation without its column".into())
            })
        };
    let (n, mean, std) = (aggregated(&n)?, aggregated(&mean)?, aggregated(&std)?);
    let (n, mean, std) = (n.u32()?, mean.f64()?, std.f64()?);
    let mut rows = Vec::with_capacity(mean.len());
    for i in 0..mean.len() {
        let (c, k) = (keys.0.get(i).unwrap_or(0), keys.1.get(i).unwrap_or(0));
        let first = firsts[k as usize];
        let count = n.get(i).unwrap_or(0) as usize;
        let (m, s) = (
            mean.get(i).unwrap_or(f64::NAN),
            std.get(i).unwrap_or(f64::NAN),
        );
        let half = if count >= 2 {
            stats::t_quantile(0.975, (count - 1) as f64) * s / (count as f64).sqrt()
        } else {
            f64::NAN
        };
        rows.push(AggregateRow {
            values: config_axes
                .iter()
                .map(|a| (a.name.clone(), a.values[first].clone()))
                .collect(),
            column: members.columns[c as usize].name.clone(),
            n: count,
            mean: finite(m),
            std: if count >= 2 { finite(s) } else { None },
            ci_low: finite(m - half),
            ci_high: finite(m + half),
        });
    }
    Ok(rows)
}

fn aggregate_columns(rows: &[AggregateRow], config_axes: &[&Axis]) -> Vec<(String, Column)> {
    let mut columns: Vec<(String, Column)> = config_axes
        .iter()
        .map(|a| {
            let values: Vec<&Value> = rows.iter().map(|r| &r.values[&a.name]).collect();
            (a.name.clone(), axis_column(&values))
        })
        .collect();
    let num = |f: fn(&AggregateRow) -> Option<f64>| Column::OptF64(rows.iter().map(f).collect());
    columns.extend([
        (
            "column".to_string(),
            Column::Str(rows.iter().map(|r| r.column.clone()).collect()),
        ),
        (
            "n".to_string(),
            Column::I64(rows.iter().map(|r| r.n as i64).collect()),
        ),
        ("mean".to_string(), num(|r| r.mean)),
        ("std".to_string(), num(|r| r.std)),
        ("ci_low".to_string(), num(|r| r.ci_low)),
        ("ci_high".to_string(), num(|r| r.ci_high)),
    ]);
    columns
}

/// Each alignment column against each performance column over the members that report both.
pub fn correlations(members: &Members, resampling: Resampling) -> Vec<CorrelationRow> {
    let of = |role: Role| members.columns.iter().filter(move |c| c.role == role);
    let mut out = Vec::new();
    for (i, metric) in of(Role::Alignment).enumerate() {
        for (j, against) in of(Role::Performance).enumerate() {
            let (x, y): (Vec<f64>, Vec<f64>) = metric
                .values
                .iter()
                .zip(&against.values)
                .filter(|(a, b)| a.is_finite() && b.is_finite())
                .map(|(a, b)| (*a, *b))
                .unzip();
            // Each pair its own stream of resamples, fixed by the seed and the pair's place.
            let seed = resampling.seed ^ ((i as u64) << 32 | j as u64);
            let one = |c: Coefficient| {
                stats::correlation(
                    c,
                    &x,
                    &y,
                    resampling.bootstrap,
                    resampling.permutations,
                    seed,
                )
            };
            let (s, p) = (one(Coefficient::Spearman), one(Coefficient::Pearson));
            out.push(CorrelationRow {
                metric: metric.name.clone(),
                against: against.name.clone(),
                n: x.len(),
                spearman: finite(s.r),
                spearman_ci_low: finite(s.ci_low),
                spearman_ci_high: finite(s.ci_high),
                spearman_p: finite(s.p_value),
                pearson: finite(p.r),
                pearson_ci_low: finite(p.ci_low),
                pearson_ci_high: finite(p.ci_high),
                pearson_p: finite(p.p_value),
            });
        }
    }
    out
}

fn correlation_columns(rows: &[CorrelationRow]) -> Vec<(String, Column)> {
    let text = |f: fn(&CorrelationRow) -> &str| {
        Column::Str(rows.iter().map(|r| f(r).to_string()).collect())
    };
    let num = |f: fn(&CorrelationRow) -> Option<f64>| Column::OptF64(rows.iter().map(f).collect());
    vec![
        ("metric".into(), text(|r| &r.metric)),
        ("against".into(), text(|r| &r.against)),
        (
            "n".into(),
            Column::I64(rows.iter().map(|r| r.n as i64).collect()),
        ),
        ("spearman".into(), num(|r| r.spearman)),
        ("spearman_ci_low".into(), num(|r| r.spearman_ci_low)),
        ("spearman_ci_high".into(), num(|r| r.spearman_ci_high)),
        ("spearman_p".into(), num(|r| r.spearman_p)),
        ("pearson".into(), num(|r| r.pearson)),
        ("pearson_ci_low".into(), num(|r| r.pearson_ci_low)),
        ("pearson_ci_high".into(), num(|r| r.pearson_ci_high)),
        ("pearson_p".into(), num(|r| r.pearson_p)),
    ]
}

fn member_rows(members: &Members) -> Vec<MemberRow> {
    (0..members.len())
        .map(|i| MemberRow {
            member: members.member[i],
            values: members
                .axes
                .iter()
                .map(|a| (a.name.clone(), a.values[i].clone()))
                .collect(),
            results: members
                .columns
                .iter()
                .map(|c| (c.name.clone(), finite(c.values[i])))
                .collect(),
        })
        .collect()
}
