//! `make bench` (resampling part): align's uncertainty on its seven spaces (widths 1,280 and six
//! of 384, as the embedded default's image, text, reference and adapter spaces) at m = 2,000
//! rows, the row cap of the expensive replicates: every metric on the nine pairs with
//! align's defaults (1,000 bootstrap replicates and random halves, 200 SVCCA halves, 1,000
//! permutations). Prints each phase's seconds beside a baseline measured in the same run (the
//! seven spaces' preparation: their Gram matrices, neighbours and SVCCA bases), and the peak
//! memory. `BENCH_RESAMPLE_N` sets m, `BENCH_RESAMPLE_B` the replicate and permutation counts.

use std::sync::Mutex;
use std::time::Instant;

use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use stages::metrics::resample::{self, ResampleOptions};
use stages::metrics::{Metric, Space, SpaceOptions};
use stages::spaces::PAIRS;

mod common;
use common::peak_rss_mib;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() -> anyhow::Result<()> {
    let n = env("BENCH_RESAMPLE_N", 2000);
    let b = env("BENCH_RESAMPLE_B", 1000);
    // Seven views of a shared 32-d signal plus noise; the image side non-negative with an
    // offset, as pooled ReLU features are.
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let z = Array2::from_shape_fn((n, 32), |_| rng.random::<f64>() - 0.5);
    // In SpaceName::ALL order: image, text, reference, then the four adapter spaces.
    let widths = [1280, 384, 384, 384, 384, 384, 384];
    let raw: Vec<Array2<f64>> = widths
        .iter()
        .enumerate()
        .map(|(s, &d)| {
            let w = Array2::from_shape_fn((32, d), |_| rng.random::<f64>() - 0.5);
            let noise = Array2::from_shape_fn((n, d), |_| rng.random::<f64>() - 0.5);
            let x = z.dot(&w) + noise;
            if s == 0 { x.mapv(f64::abs) + 0.2 } else { x }
        })
        .collect();
    let clock = Instant::now();
    let spaces: Vec<Space> = raw
        .iter()
        .map(|x| Space::new(x.view(), SpaceOptions::default(), "bench"))
        .collect::<Result<_, _>>()?;
    let baseline = clock.elapsed().as_secs_f64();
    println!(
        "resampling on m = {n} rows, seven spaces (1,280 + 6 x 384), nine pairs, every metric, \
         {b} replicates and permutations; baseline: preparing the seven spaces {baseline:.2} s"
    );
    let pairs: Vec<(usize, usize)> = PAIRS.iter().map(|p| (p.a as usize, p.b as usize)).collect();
    let options = ResampleOptions {
        bootstrap: b,
        permutations: b,
        costly_resamples: env("BENCH_RESAMPLE_COSTLY", b / 5),
        seed: 0,
        max_rows: n,
    };
    let phases: Mutex<Vec<(String, f64)>> = Mutex::new(Vec::new());
    let start = Instant::now();
    let progress = |phase: &str| {
        phases
            .lock()
            .expect("no panics while held")
            .push((phase.to_string(), start.elapsed().as_secs_f64()));
    };
    let scores = resample::evaluate(&spaces, &pairs, &Metric::ALL, options, &progress);
    let total = start.elapsed().as_secs_f64();
    let mut marks = phases.into_inner().expect("no panics while held");
    marks.insert(0, ("points".into(), 0.0));
    marks.push(("end".into(), total));
    for w in marks.windows(2) {
        let secs = w[1].1 - w[0].1;
        println!(
            "  {:16} {secs:8.2} s = {:6.2} x baseline",
            w[0].0,
            secs / baseline
        );
    }
    println!(
        "  {:16} {total:8.2} s = {:6.2} x baseline",
        "all",
        total / baseline
    );
    assert!(scores.point.iter().flatten().all(|v| v.is_finite()));
    println!("  peak memory {:.0} MiB", peak_rss_mib());
    Ok(())
}
