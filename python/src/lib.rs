//! `pipeline_measures._native`: the `measures` crate called from Python, the same code path as
//! `pipeline metric` and the align and model-set stages (the same preparation, defaults and
//! bits). `py/pipeline_measures/__init__.py` re-exports these with their documentation; the
//! computation runs with the GIL released, on rayon's pool (`RAYON_NUM_THREADS`, as the CLI).

mod input;

use measures::resample::{self, ResampleOptions};
use measures::{Metric, Space, calibration, space::GRAM_ROWS};
use ndarray::Array2;
use numpy::{IntoPyArray, PyArray1, PyArray2};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use input::value_error;

/// The preparation both sides get (what `pipeline metric`'s flags set).
#[derive(Clone, Copy)]
struct Prep {
    topk: usize,
    clamp: bool,
    cca_dim: usize,
}

impl Prep {
    fn options(self, metrics: &[Metric]) -> measures::SpaceOptions {
        measures::options_for(metrics, self.topk, self.clamp, self.cca_dim)
    }
}

/// `all`, one name, a comma-separated list, or a list of names.
fn metric_list(obj: &Bound<'_, PyAny>) -> PyResult<Vec<Metric>> {
    if let Ok(text) = obj.extract::<String>() {
        return measures::parse_list(&text).map_err(value_error);
    }
    let names: Vec<String> = obj.extract().map_err(|_| {
        pyo3::exceptions::PyTypeError::new_err(
            "metrics: expected \"all\", a metric name, or a list of metric names",
        )
    })?;
    names
        .iter()
        .map(|n| Metric::parse(n.trim()).map_err(value_error))
        .collect()
}

fn one_metric(name: &str) -> PyResult<Metric> {
    Metric::parse(name.trim()).map_err(value_error)
}

/// Fails before any work when the rows differ in number, as `measures::compare` does.
fn same_rows(a: &Array2<f64>, b: &Array2<f64>, names: (&str, &str)) -> PyResult<()> {
    measures::same_rows(a.nrows(), b.nrows(), names).map_err(value_error)
}

/// The scores of `list` between `a` and `b`, with the GIL released.
fn compare(
    py: Python<'_>,
    a: &Bound<'_, PyAny>,
    b: &Bound<'_, PyAny>,
    list: &[Metric],
    prep: Prep,
) -> PyResult<Vec<(Metric, f64)>> {
    let (ra, rb) = (input::rows(a, "a")?, input::rows(b, "b")?);
    let options = prep.options(list);
    py.detach(|| measures::compare(ra, rb, list, options, ("a", "b")))
        .map_err(value_error)
}

/// `measures` in Python (the Rust name would shadow the crate).
#[pyfunction(name = "measures")]
#[pyo3(signature = (a, b, metrics = None, *, topk = 10, clamp = true, cca_dim = 10))]
fn several(
    py: Python<'_>,
    a: &Bound<'_, PyAny>,
    b: &Bound<'_, PyAny>,
    metrics: Option<&Bound<'_, PyAny>>,
    topk: usize,
    clamp: bool,
    cca_dim: usize,
) -> PyResult<Vec<(String, f64)>> {
    let list = match metrics {
        Some(m) => metric_list(m)?,
        None => Metric::ALL.to_vec(),
    };
    let prep = Prep {
        topk,
        clamp,
        cca_dim,
    };
    Ok(compare(py, a, b, &list, prep)?
        .into_iter()
        .map(|(m, v)| (m.name().to_string(), v))
        .collect())
}

#[pyfunction]
#[pyo3(signature = (a, b, metric, *, topk = 10, clamp = true, cca_dim = 10))]
fn measure(
    py: Python<'_>,
    a: &Bound<'_, PyAny>,
    b: &Bound<'_, PyAny>,
    metric: &str,
    topk: usize,
    clamp: bool,
    cca_dim: usize,
) -> PyResult<f64> {
    let prep = Prep {
        topk,
        clamp,
        cca_dim,
    };
    Ok(compare(py, a, b, &[one_metric(metric)?], prep)?[0].1)
}

/// Prepares `columns` as spaces and scores `pairs` of them with replicates and nulls, with
/// the GIL released.
fn evaluate(
    py: Python<'_>,
    columns: Vec<Array2<f64>>,
    names: Vec<String>,
    pairs: &[(usize, usize)],
    metric: Metric,
    prep: Prep,
    draws: ResampleOptions,
) -> PyResult<resample::Scores> {
    let n = columns[0].nrows();
    let dims: Vec<usize> = columns.iter().map(Array2::ncols).collect();
    let options = prep.options(&[metric]);
    py.detach(|| {
        let threads = rayon::current_num_threads();
        measures::check_memory(
            measures::memory_needed(n, draws.max_rows, &dims, prep.topk, threads),
            "the arrays",
        )?;
        let spaces = columns
            .into_iter()
            .zip(&names)
            .map(|(x, name)| Space::from_rows(x, options, name))
            .collect::<measures::error::Result<Vec<Space>>>()?;
        Ok(resample::evaluate(
            &spaces,
            pairs,
            &[metric],
            draws,
            &|_| {},
        ))
    })
    .map_err(value_error)
}

#[pyfunction]
#[pyo3(signature = (a, b, metric, *, permutations = 1000, seed = 0, alpha = 0.05, topk = 10,
    clamp = true, cca_dim = 10, bootstrap = 1000, costly_resamples = 200,
    resample_rows = GRAM_ROWS))]
#[allow(clippy::too_many_arguments)]
fn calibrate<'py>(
    py: Python<'py>,
    a: &Bound<'py, PyAny>,
    b: &Bound<'py, PyAny>,
    metric: &str,
    permutations: usize,
    seed: u64,
    alpha: f64,
    topk: usize,
    clamp: bool,
    cca_dim: usize,
    bootstrap: usize,
    costly_resamples: usize,
    resample_rows: usize,
) -> PyResult<Bound<'py, PyDict>> {
    let metric = one_metric(metric)?;
    check_alpha(alpha)?;
    let (ra, rb) = (input::rows(a, "a")?, input::rows(b, "b")?);
    same_rows(&ra, &rb, ("a", "b"))?;
    let prep = Prep {
        topk,
        clamp,
        cca_dim,
    };
    let draws = ResampleOptions {
        permutations,
        bootstrap,
        costly_resamples,
        max_rows: resample_rows,
        seed,
    };
    let names = vec!["a".to_string(), "b".to_string()];
    let s = evaluate(py, vec![ra, rb], names, &[(0, 1)], metric, prep, draws)?;
    let (point, tested, null) = (s.point[0][0], s.tested[0][0], &s.null[0][0]);
    let s_max = Some(metric.identical_score(topk));
    let cal = calibration::calibrate(tested, null, alpha, s_max);
    let out = PyDict::new(py);
    out.set_item("metric", metric.name())?;
    out.set_item("score", point)?;
    out.set_item(
        "interval",
        resample::interval(metric, point, &s.replicates[0][0]),
    )?;
    out.set_item("p", s.p_value[0][0])?;
    out.set_item("tested", tested)?;
    out.set_item("tau", cal.tau)?;
    out.set_item("calibrated", cal.calibrated)?;
    out.set_item("null", null.clone().into_pyarray(py))?;
    out.set_item("resample_rows", s.resample_rows[0])?;
    Ok(out)
}

fn check_alpha(alpha: f64) -> PyResult<()> {
    if alpha > 0.0 && alpha < 1.0 {
        return Ok(());
    }
    Err(pyo3::exceptions::PyValueError::new_err(format!(
        "alpha: expected a level between 0 and 1 (exclusive), got {alpha}"
    )))
}

#[pyfunction]
#[pyo3(signature = (a_layers, b_layers, metric, *, permutations = 1000, seed = 0, alpha = 0.05,
    topk = 10, clamp = true, cca_dim = 10, resample_rows = GRAM_ROWS))]
#[allow(clippy::too_many_arguments)]
fn layers<'py>(
    py: Python<'py>,
    a_layers: &Bound<'py, PyAny>,
    b_layers: &Bound<'py, PyAny>,
    metric: &str,
    permutations: usize,
    seed: u64,
    alpha: f64,
    topk: usize,
    clamp: bool,
    cca_dim: usize,
    resample_rows: usize,
) -> PyResult<Bound<'py, PyDict>> {
    let metric = one_metric(metric)?;
    check_alpha(alpha)?;
    let (la, lb) = (
        input::layers(a_layers, "a_layers")?,
        input::layers(b_layers, "b_layers")?,
    );
    for (i, x) in la.iter().chain(&lb).enumerate() {
        same_rows(&la[0], x, ("a_layers[0]", &layer_name(i, la.len())))?;
    }
    let (na, nb) = (la.len(), lb.len());
    let names: Vec<String> = (0..na + nb).map(|i| layer_name(i, na)).collect();
    let pairs: Vec<(usize, usize)> = (0..na)
        .flat_map(|i| (0..nb).map(move |j| (i, na + j)))
        .collect();
    let prep = Prep {
        topk,
        clamp,
        cca_dim,
    };
    // No intervals: the matrix, its nulls and the best pair's corrected p are what is asked.
    let draws = ResampleOptions {
        permutations,
        bootstrap: 0,
        costly_resamples: 0,
        max_rows: resample_rows,
        seed,
    };
    let columns: Vec<Array2<f64>> = la.into_iter().chain(lb).collect();
    let s = evaluate(py, columns, names, &pairs, metric, prep, draws)?;
    layer_results(py, &s, metric, (na, nb), alpha, topk)
}

fn layer_name(i: usize, na: usize) -> String {
    if i < na {
        format!("a_layers[{i}]")
    } else {
        format!("b_layers[{}]", i - na)
    }
}

/// The matrices, the best pair (by score, as the model set picks it) with its own p and the p
/// against the null of the maximum over all pairs (the same permutation for every pair).
fn layer_results<'py>(
    py: Python<'py>,
    s: &resample::Scores,
    metric: Metric,
    (na, nb): (usize, usize),
    alpha: f64,
    topk: usize,
) -> PyResult<Bound<'py, PyDict>> {
    let matrix = |values: &[f64]| -> Bound<'py, PyArray2<f64>> {
        Array2::from_shape_vec((na, nb), values.to_vec())
            .expect("one value per pair")
            .into_pyarray(py)
    };
    let best = (0..na * nb)
        .max_by(|&i, &j| s.point[0][i].total_cmp(&s.point[0][j]))
        .expect("at least one pair");
    let nulls: Vec<&[f64]> = s.null[0].iter().map(Vec::as_slice).collect();
    let maxima = resample::max_null(&nulls);
    let s_max = Some(metric.identical_score(topk));
    // The p against the null of the maximum is Algorithm 2's.
    let cal = calibration::calibrate_max(&s.tested[0], &nulls, alpha, s_max);
    let out = PyDict::new(py);
    out.set_item("metric", metric.name())?;
    out.set_item("scores", matrix(&s.point[0]))?;
    out.set_item("p", matrix(&s.p_value[0]))?;
    out.set_item("best", (best / nb, best % nb))?;
    out.set_item("best_score", s.point[0][best])?;
    out.set_item("best_p", s.p_value[0][best])?;
    out.set_item("corrected_p", cal.p_value)?;
    out.set_item("tau", cal.tau)?;
    out.set_item("calibrated", cal.calibrated)?;
    out.set_item("max_null", PyArray1::from_vec(py, maxima))?;
    out.set_item("resample_rows", s.resample_rows[0])?;
    Ok(out)
}

/// The address `measures` reads an array from (see `input::address`).
#[pyfunction]
fn _input_address(a: &Bound<'_, PyAny>) -> PyResult<usize> {
    input::address(a)
}

/// The metrics' names, in the CLI's order.
#[pyfunction]
fn metric_names() -> Vec<&'static str> {
    Metric::ALL.map(Metric::name).to_vec()
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(several, m)?)?;
    m.add_function(wrap_pyfunction!(measure, m)?)?;
    m.add_function(wrap_pyfunction!(calibrate, m)?)?;
    m.add_function(wrap_pyfunction!(layers, m)?)?;
    m.add_function(wrap_pyfunction!(metric_names, m)?)?;
    m.add_function(wrap_pyfunction!(_input_address, m)?)?;
    m.add("GRAM_ROWS", GRAM_ROWS)?;
    Ok(())
}
