//! `make bench` (model-set part): platonic-rep's matrix for 5 encoders x 6 layers each on 1,000
//! rows: 3 image and 2 text encoders, every image-text encoder pair at every layer pair
//! (6 x 36 = 216 pairs), with align:modelset's metrics (mutual kNN, unbiased CKA, CKNNA), their
//! intervals and permutation nulls. Measured two ways in the same run:
//!
//! - shared (what align:modelset does): each of the 30 encoder-layer spaces prepared once (its
//!   Gram matrix, neighbour lists and moments), then one `resample::evaluate` over all pairs;
//! - naive (per pair, as a loop over pairs would): both spaces prepared again for every pair and
//!   evaluated alone.
//!
//! Prints each way's seconds, the permutation nulls' share, and naive / shared. The same
//! permutations are drawn in both, so the scores must agree exactly (checked).
//! `BENCH_MODELSET_N` sets the rows, `BENCH_MODELSET_B` the replicates and permutations (100).

use std::sync::Mutex;
use std::time::Instant;

use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use stages::metrics::resample::{self, ResampleOptions, Scores};
use stages::metrics::{self, Metric, Space};

mod common;
use common::peak_rss_mib;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Seconds from the start to the permutation phase and to the end, from evaluate's progress.
fn timed(
    spaces: &[Space],
    pairs: &[(usize, usize)],
    list: &[Metric],
    options: ResampleOptions,
) -> (Scores, f64, f64) {
    let marks: Mutex<Vec<(String, f64)>> = Mutex::new(Vec::new());
    let start = Instant::now();
    let progress = |phase: &str| {
        marks
            .lock()
            .expect("no panics while held")
            .push((phase.to_string(), start.elapsed().as_secs_f64()));
    };
    let scores = resample::evaluate(spaces, pairs, list, options, &progress);
    let total = start.elapsed().as_secs_f64();
    let perms = marks
        .into_inner()
        .expect("no panics while held")
        .into_iter()
        .find(|(p, _)| p == "permutations")
        .map_or(total, |(_, t)| t);
    (scores, total, total - perms)
}

fn main() -> anyhow::Result<()> {
    let n = env("BENCH_MODELSET_N", 1000);
    let b = env("BENCH_MODELSET_B", 100);
    let (encoders, layers) = (5, 6);
    let image_encoders = 3;
    // Each layer a view of a shared 32-d signal plus noise, deeper layers a little less noisy;
    // widths as the embedded encoders' (384 and 768).
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let z = Array2::from_shape_fn((n, 32), |_| rng.random::<f64>() - 0.5);
    let mut raw: Vec<Array2<f64>> = Vec::new();
    for e in 0..encoders {
        let d = if e % 2 == 0 { 384 } else { 768 };
        for l in 0..layers {
            let w = Array2::from_shape_fn((32, d), |_| rng.random::<f64>() - 0.5);
            let noise = 1.0 - 0.1 * l as f64;
            let x =
                z.dot(&w) + Array2::from_shape_fn((n, d), |_| noise * (rng.random::<f64>() - 0.5));
            raw.push(x);
        }
    }
    let list = [Metric::MutualKnn, Metric::UnbiasedCka, Metric::Cknna];
    let options = metrics::options_for(&list, 10, true, 10);
    let mut pairs = Vec::new();
    for a in 0..image_encoders {
        for t in image_encoders..encoders {
            for la in 0..layers {
                for lt in 0..layers {
                    pairs.push((a * layers + la, t * layers + lt));
                }
            }
        }
    }
    let ro = ResampleOptions {
        bootstrap: b,
        permutations: b,
        costly_resamples: 0,
        seed: 0,
        max_rows: n,
    };
    println!(
        "model set: {encoders} encoders x {layers} layers on {n} rows, {} layer pairs, \
         mutual_knn + unbiased_cka + cknna, {b} replicates and permutations",
        pairs.len()
    );

    let clock = Instant::now();
    let spaces: Vec<Space> = raw
        .iter()
        .map(|x| Space::new(x.view(), options, "bench"))
        .collect::<Result<_, _>>()?;
    let prepare = clock.elapsed().as_secs_f64();
    let (shared, evaluate, shared_nulls) = timed(&spaces, &pairs, &list, ro);
    let shared_total = prepare + evaluate;
    drop(spaces);

    let clock = Instant::now();
    let mut naive_nulls = 0.0;
    for (pi, &(a, t)) in pairs.iter().enumerate() {
        let two = [
            Space::new(raw[a].view(), options, "bench")?,
            Space::new(raw[t].view(), options, "bench")?,
        ];
        let (scores, _, nulls) = timed(&two, &[(0, 1)], &list, ro);
        naive_nulls += nulls;
        for mi in 0..list.len() {
            assert_eq!(scores.point[mi][0], shared.point[mi][pi], "pair {pi}");
            assert_eq!(scores.null[mi][0], shared.null[mi][pi], "pair {pi} null");
        }
    }
    let naive_total = clock.elapsed().as_secs_f64();
    println!(
        "  shared: {shared_total:7.2} s (30 spaces prepared once {prepare:.2} s; nulls {shared_nulls:.2} s)"
    );
    println!(
        "  naive:  {naive_total:7.2} s (both spaces prepared per pair; nulls {naive_nulls:.2} s)"
    );
    println!(
        "  naive / shared: {:.1} x overall, {:.1} x for the nulls; peak memory {:.0} MiB",
        naive_total / shared_total,
        naive_nulls / shared_nulls.max(1e-9),
        peak_rss_mib()
    );
    Ok(())
}
