//! The sweep tables against numpy/scipy (golden/make_compare.py): the across-seed aggregates
//! and t quantiles exactly, the correlations exactly, their bootstrap intervals and permutation
//! p-values within Monte Carlo error of scipy's; and the tables open in arrow-rs and in DuckDB.

use std::path::{Path, PathBuf};
use std::process::Command;

use stages::compare::{self, Axis, Column, Members, Resampling, Role, Value};
use stages::stats;

fn golden() -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/compare.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn members(inputs: &serde_json::Value) -> Members {
    let floats = |v: &serde_json::Value| -> Vec<f64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap_or(f64::NAN))
            .collect()
    };
    Members {
        member: inputs["member"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap() as u32)
            .collect(),
        axes: vec![
            Axis {
                name: "lr".into(),
                values: floats(&inputs["axes"]["lr"])
                    .into_iter()
                    .map(Value::Float)
                    .collect(),
            },
            Axis {
                name: "seed".into(),
                values: floats(&inputs["axes"]["seed"])
                    .into_iter()
                    .map(|s| Value::Int(s as i64))
                    .collect(),
            },
        ],
        columns: inputs["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| Column {
                name: c["name"].as_str().unwrap().into(),
                role: serde_json::from_value::<Role>(c["role"].clone()).unwrap(),
                values: floats(&c["values"]),
            })
            .collect(),
    }
}

fn close(a: f64, b: f64, tol: f64, what: &str) {
    assert!(
        (a - b).abs() <= tol * b.abs().max(1.0),
        "{what}: {a} vs {b} (tolerance {tol})"
    );
}

const RESAMPLES: usize = 4000;

fn write(dir: &Path) -> compare::Comparison {
    let g = golden();
    let resampling = Resampling {
        bootstrap: RESAMPLES,
        permutations: RESAMPLES,
        seed: 3,
    };
    compare::write(
        "golden",
        &members(&g["inputs"]),
        resampling,
        &compare::CompareArtifact::at(dir),
    )
    .unwrap()
}

#[test]
fn aggregates_and_correlations_match_scipy() {
    let g = golden();
    for (df, t) in g["t_975"].as_object().unwrap() {
        let df: f64 = df.parse().unwrap();
        close(
            stats::t_quantile(0.975, df),
            t.as_f64().unwrap(),
            1e-10,
            "t quantile",
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let c = write(dir.path());
    let want = g["aggregates"].as_array().unwrap();
    assert_eq!(c.aggregates.len(), want.len());
    for w in want {
        let lr = w["lr"].as_f64().unwrap();
        let column = w["column"].as_str().unwrap();
        let got = c
            .aggregates
            .iter()
            .find(|a| a.column == column && a.values["lr"] == Value::Float(lr))
            .unwrap_or_else(|| panic!("no aggregate for lr {lr} {column}"));
        assert_eq!(got.n as u64, w["n"].as_u64().unwrap(), "{column}");
        assert!(!got.values.contains_key("seed"), "aggregated over seeds");
        for field in ["mean", "std", "ci_low", "ci_high"] {
            let value = match field {
                "mean" => got.mean,
                "std" => got.std,
                "ci_low" => got.ci_low,
                _ => got.ci_high,
            };
            close(value.unwrap(), w[field].as_f64().unwrap(), 1e-12, field);
        }
    }
    let want = g["correlations"].as_array().unwrap();
    assert_eq!(c.correlations.len(), want.len(), "alignment x performance");
    for w in want {
        let got = c
            .correlations
            .iter()
            .find(|r| r.metric == w["metric"].as_str().unwrap())
            .unwrap();
        assert_eq!(got.against, w["against"].as_str().unwrap());
        assert_eq!(
            got.n as u64,
            w["n"].as_u64().unwrap(),
            "members with both numbers"
        );
        let pairs = [
            (
                "pearson",
                got.pearson,
                got.pearson_ci_low,
                got.pearson_ci_high,
                got.pearson_p,
            ),
            (
                "spearman",
                got.spearman,
                got.spearman_ci_low,
                got.spearman_ci_high,
                got.spearman_p,
            ),
        ];
        for (name, r, lo, hi, p) in pairs {
            let what = format!("{} {name}", got.metric);
            close(r.unwrap(), w[name].as_f64().unwrap(), 1e-12, &what);
            // Percentile intervals from 4,000 (ours) and 20,000 (scipy's) resamples.
            close(
                lo.unwrap(),
                w[format!("{name}_ci_low")].as_f64().unwrap(),
                0.06,
                &what,
            );
            close(
                hi.unwrap(),
                w[format!("{name}_ci_high")].as_f64().unwrap(),
                0.06,
                &what,
            );
            let (p, want_p) = (p.unwrap(), w[format!("{name}_p")].as_f64().unwrap());
            let error = 4.0 * (want_p * (1.0 - want_p) / RESAMPLES as f64).sqrt() + 2e-3;
            assert!((p - want_p).abs() <= error, "{what} p: {p} vs {want_p}");
        }
    }
    // The same seed, the same numbers.
    let again = tempfile::tempdir().unwrap();
    assert_eq!(write(again.path()), c);
    let read = compare::CompareArtifact::at(dir.path()).read().unwrap();
    assert_eq!(read.correlations.len(), c.correlations.len());
    assert_eq!(read.members.len(), 12);
}

fn venv_python() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python")
}

#[test]
fn the_tables_open_in_arrow_and_duckdb() {
    let dir = tempfile::tempdir().unwrap();
    let c = write(dir.path());
    let members = stages::table::Table::read(&dir.path().join("members.parquet")).unwrap();
    assert_eq!(members.num_rows(), 12);
    let names = members.column_names();
    assert_eq!(
        names,
        [
            "member",
            "lr",
            "seed",
            "align.cka",
            "align.mutual_knn",
            "probe.accuracy",
            "train.val_loss"
        ]
    );
    let batches = stages::table::read_batches(&dir.path().join("members.parquet")).unwrap();
    let nulls: usize = batches
        .iter()
        .map(|b| b.column_by_name("align.mutual_knn").unwrap().null_count())
        .sum();
    assert_eq!(nulls, 1);
    assert!(dir.path().join("members.csv").is_file());
    assert!(dir.path().join("correlations.csv").is_file());

    // DuckDB (Python, from make setup's .venv) reads the same files.
    let script = format!(
        "import duckdb, json\n\
         d = {dir:?}\n\
         m = duckdb.sql(f\"select count(*), avg(\\\"align.cka\\\") from '{{d}}/members.parquet'\").fetchall()[0]\n\
         a = duckdb.sql(f\"select mean, ci_low from '{{d}}/aggregates.parquet' where lr = 0.0002 and \\\"column\\\" = 'probe.accuracy'\").fetchall()[0]\n\
         c = duckdb.sql(f\"select count(*) from read_csv_auto('{{d}}/correlations.csv')\").fetchall()[0]\n\
         print(json.dumps([m[0], m[1], a[0], a[1], c[0]]))\n",
        dir = dir.path().display().to_string()
    );
    let out = Command::new(venv_python())
        .arg("-c")
        .arg(&script)
        .output()
        .expect(".venv missing: run `make setup`");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: Vec<f64> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(got[0], 12.0);
    let cka: Vec<f64> = c
        .members
        .iter()
        .map(|m| m.results["align.cka"].unwrap())
        .collect();
    close(
        got[1],
        cka.iter().sum::<f64>() / 12.0,
        1e-12,
        "duckdb mean of align.cka",
    );
    let agg = c
        .aggregates
        .iter()
        .find(|a| a.column == "probe.accuracy" && a.values["lr"] == Value::Float(2e-4))
        .unwrap();
    close(got[2], agg.mean.unwrap(), 1e-12, "duckdb aggregate mean");
    close(
        got[3],
        agg.ci_low.unwrap(),
        1e-12,
        "duckdb aggregate ci_low",
    );
    assert_eq!(got[4], c.correlations.len() as f64);
}
