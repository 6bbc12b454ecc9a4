//! The compare tables through polars: the members frame, its lazy unpivot and group-by into
//! the across-seed aggregates, and the correlations across members.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;

use polars::prelude::*;

use super::stats::{self, Coefficient};
use super::{
    AggregateRow, Axis, CompareArtifact, Comparison, CorrelationRow, MemberRow, Members,
    Resampling, Role, SEED_AXIS, Value, finite,
};
use crate::error::{Error, Result};

/// Writes the compare tables of `members` (of sweep `sweep`) into `out`; returns what
/// compare.json holds.
pub fn write(
    sweep: &str,
    members: &Members,
    resampling: Resampling,
    out: &CompareArtifact,
) -> Result<Comparison> {
    check(members)?;
    let members_file = out.members();
    let mut frame = members_frame(members).map_err(|e| polars_err(&members_file, e))?;
    write_both(&mut frame, &members_file)?;

    let config_axes: Vec<&Axis> = members
        .axes
        .iter()
        .filter(|a| a.name != SEED_AXIS)
        .collect();
    let aggregates_file = out.aggregates();
    let mut aggregated = aggregate(&members_file, members, &config_axes)
        .map_err(|e| polars_err(&aggregates_file, e))?;
    let aggregates =
        aggregate_rows(&aggregated, &config_axes).map_err(|e| polars_err(&aggregates_file, e))?;
    add_intervals(&mut aggregated, &aggregates).map_err(|e| polars_err(&aggregates_file, e))?;
    write_both(&mut aggregated, &aggregates_file)?;

    let correlations = correlations(members, resampling);
    let correlations_file = out.correlations();
    let mut frame =
        correlations_frame(&correlations).map_err(|e| polars_err(&correlations_file, e))?;
    write_both(&mut frame, &correlations_file)?;

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
fn write_both(frame: &mut DataFrame, parquet: &Path) -> Result<()> {
    let file = File::create(parquet).map_err(|e| Error::io(parquet, e))?;
    ParquetWriter::new(file)
        .with_compression(ParquetCompression::Uncompressed)
        .finish(frame)
        .map_err(|e| polars_err(parquet, e))?;
    let csv = CompareArtifact::csv(parquet);
    let mut file = File::create(&csv).map_err(|e| Error::io(&csv, e))?;
    CsvWriter::new(&mut file)
        .include_header(true)
        .finish(frame)
        .map_err(|e| polars_err(&csv, e))?;
    Ok(())
}

/// A swept parameter as a typed column: integers, floats (integers among floats widen),
/// booleans, or else strings.
fn axis_column(axis: &Axis) -> Column {
    let name = PlSmallStr::from_str(&axis.name);
    let v = &axis.values;
    if v.iter().all(|x| matches!(x, Value::Int(_))) {
        let ints: Vec<i64> = v
            .iter()
            .map(|x| if let Value::Int(i) = x { *i } else { 0 })
            .collect();
        return Column::new(name, ints);
    }
    if v.iter()
        .all(|x| matches!(x, Value::Int(_) | Value::Float(_)))
    {
        let floats: Vec<f64> = v
            .iter()
            .map(|x| match x {
                Value::Int(i) => *i as f64,
                Value::Float(f) => *f,
                _ => f64::NAN,
            })
            .collect();
        return Column::new(name, floats);
    }
    if v.iter().all(|x| matches!(x, Value::Bool(_))) {
        let bools: Vec<bool> = v.iter().map(|x| matches!(x, Value::Bool(true))).collect();
        return Column::new(name, bools);
    }
    let strings: Vec<String> = v.iter().map(show).collect();
    Column::new(name, strings)
}

fn show(v: &Value) -> String {
    match v {
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Str(s) => s.clone(),
    }
}

fn members_frame(members: &Members) -> PolarsResult<DataFrame> {
    let mut columns = vec![Column::new("member".into(), members.member.clone())];
    columns.extend(members.axes.iter().map(axis_column));
    for c in &members.columns {
        let values: Vec<Option<f64>> = c.values.iter().map(|&x| finite(x)).collect();
        columns.push(Column::new(PlSmallStr::from_str(&c.name), values));
    }
    DataFrame::new(columns)
}

/// n, mean and sample standard deviation of every result column per configuration (the swept
/// values but the seed): a lazy scan of the members file, unpivoted, grouped.
fn aggregate(
    members_file: &Path,
    members: &Members,
    config_axes: &[&Axis],
) -> PolarsResult<DataFrame> {
    let index: Vec<Selector> = std::iter::once("member".to_string())
        .chain(members.axes.iter().map(|a| a.name.clone()))
        .map(Selector::from)
        .collect();
    let on: Vec<Selector> = members
        .columns
        .iter()
        .map(|c| Selector::from(c.name.clone()))
        .collect();
    let mut by: Vec<Expr> = config_axes.iter().map(|a| col(a.name.as_str())).collect();
    by.push(col("column"));
    LazyFrame::scan_parquet(members_file, ScanArgsParquet::default())?
        .unpivot(UnpivotArgsDSL {
            on,
            index,
            variable_name: Some("column".into()),
            value_name: Some("value".into()),
        })
        .group_by_stable(by)
        .agg([
            col("value").count().cast(DataType::UInt64).alias("n"),
            col("value").mean().alias("mean"),
            col("value").std(1).alias("std"),
        ])
        .collect()
}

fn any_value(v: AnyValue) -> Value {
    match v {
        AnyValue::Boolean(b) => Value::Bool(b),
        AnyValue::Int64(i) => Value::Int(i),
        AnyValue::Float64(f) => Value::Float(f),
        AnyValue::String(s) => Value::Str(s.to_string()),
        AnyValue::StringOwned(s) => Value::Str(s.to_string()),
        other => Value::Str(other.to_string()),
    }
}

fn aggregate_rows(frame: &DataFrame, config_axes: &[&Axis]) -> PolarsResult<Vec<AggregateRow>> {
    let column = frame.column("column")?.str()?;
    let n = frame.column("n")?.u64()?;
    let mean = frame.column("mean")?.f64()?;
    let std = frame.column("std")?.f64()?;
    let mut rows = Vec::with_capacity(frame.height());
    for i in 0..frame.height() {
        let mut values = BTreeMap::new();
        for axis in config_axes {
            values.insert(
                axis.name.clone(),
                any_value(frame.column(&axis.name)?.get(i)?),
            );
        }
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
            values,
            column: column.get(i).unwrap_or_default().to_string(),
            n: count,
            mean: finite(m),
            std: if count >= 2 { finite(s) } else { None },
            ci_low: finite(m - half),
            ci_high: finite(m + half),
        });
    }
    Ok(rows)
}

fn add_intervals(frame: &mut DataFrame, rows: &[AggregateRow]) -> PolarsResult<()> {
    let low: Vec<Option<f64>> = rows.iter().map(|r| r.ci_low).collect();
    let high: Vec<Option<f64>> = rows.iter().map(|r| r.ci_high).collect();
    frame.with_column(Column::new("ci_low".into(), low))?;
    frame.with_column(Column::new("ci_high".into(), high))?;
    Ok(())
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

fn correlations_frame(rows: &[CorrelationRow]) -> PolarsResult<DataFrame> {
    let text = |name: &str, f: fn(&CorrelationRow) -> &str| {
        Column::new(name.into(), rows.iter().map(f).collect::<Vec<&str>>())
    };
    let num = |name: &str, f: fn(&CorrelationRow) -> Option<f64>| {
        Column::new(
            name.into(),
            rows.iter().map(f).collect::<Vec<Option<f64>>>(),
        )
    };
    DataFrame::new(vec![
        text("metric", |r| &r.metric),
        text("against", |r| &r.against),
        Column::new(
            "n".into(),
            rows.iter().map(|r| r.n as u64).collect::<Vec<u64>>(),
        ),
        num("spearman", |r| r.spearman),
        num("spearman_ci_low", |r| r.spearman_ci_low),
        num("spearman_ci_high", |r| r.spearman_ci_high),
        num("spearman_p", |r| r.spearman_p),
        num("pearson", |r| r.pearson),
        num("pearson_ci_low", |r| r.pearson_ci_low),
        num("pearson_ci_high", |r| r.pearson_ci_high),
        num("pearson_p", |r| r.pearson_p),
    ])
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
