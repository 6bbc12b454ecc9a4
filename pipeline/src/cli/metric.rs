//! `pipeline metric A.npy B.npy`: the align stage's metrics on any two row-aligned feature
//! files, with the align stage's preprocessing; one JSON object on stdout.

use std::path::Path;

use ndarray::Array2;
use stages::features::npy;
use stages::metrics::{self, Metric};

use crate::cli::CliResult;
use crate::engine::error::EngineError;

pub struct MetricArgs<'a> {
    pub a: &'a Path,
    pub b: &'a Path,
    pub metric: &'a str,
    pub topk: usize,
    pub no_clamp: bool,
    pub cca_dim: usize,
}

fn load(path: &Path) -> Result<Array2<f64>, EngineError> {
    let (rows, cols, values) =
        npy::read_f64(path).map_err(|e| EngineError::Config(e.to_string()))?;
    Array2::from_shape_vec((rows, cols), values).map_err(|e| EngineError::Other(e.to_string()))
}

pub fn run(args: MetricArgs) -> CliResult {
    let list: Vec<Metric> =
        metrics::parse_list(args.metric).map_err(|e| EngineError::Config(e.to_string()))?;
    let (a, b) = (load(args.a)?, load(args.b)?);
    let options = metrics::options_for(&list, args.topk, !args.no_clamp, args.cca_dim);
    let names = (args.a.display().to_string(), args.b.display().to_string());
    let scores = metrics::compare(a, b, &list, options, (&names.0, &names.1))
        .map_err(|e| EngineError::Config(e.to_string()))?;
    let object: serde_json::Map<String, serde_json::Value> = scores
        .into_iter()
        .map(|(m, v)| (m.name().to_string(), serde_json::json!(v)))
        .collect();
    println!("{}", serde_json::Value::Object(object));
    Ok(0)
}
