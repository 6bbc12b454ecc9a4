//! `make bench` (metrics part): every alignment metric on n = 5,000 rows of d = 1,280 features
//! (the size), beside the baseline every metric must pay at least once per side: one
//! n x n Gram matrix (an n²d matrix product). Prints seconds, the ratio to that baseline, and the
//! process's peak memory against the 16 · 8 n² bytes the memory check assumes.

use std::time::Instant;

use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use stages::metrics::{self, Metric};

mod common;
use common::peak_rss_mib;

fn main() -> anyhow::Result<()> {
    let (n, d) = (
        std::env::var("BENCH_METRICS_N")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(5000),
        1280,
    );
    // Two views of a shared 64-d signal plus noise: realistic, non-degenerate neighbours.
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let z = Array2::from_shape_fn((n, 64), |_| rng.random::<f64>() - 0.5);
    let wa = Array2::from_shape_fn((64, d), |_| rng.random::<f64>() - 0.5);
    let wb = Array2::from_shape_fn((64, d), |_| rng.random::<f64>() - 0.5);
    let noise = |rng: &mut ChaCha8Rng| Array2::from_shape_fn((n, d), |_| rng.random::<f64>() - 0.5);
    let a = z.dot(&wa) + noise(&mut rng);
    let b = z.dot(&wb) + noise(&mut rng);

    let clock = Instant::now();
    let gram = a.dot(&a.t());
    let baseline = clock.elapsed().as_secs_f64();
    drop(gram);
    println!("metrics on n = {n}, d = {d} (f64); baseline: one n x n Gram matrix {baseline:.2} s");
    let groups: [(&str, Vec<Metric>); 6] = [
        (
            "kNN (mutual, cycle, lcs, edit)",
            vec![
                Metric::MutualKnn,
                Metric::CycleKnn,
                Metric::LcsKnn,
                Metric::EditDistanceKnn,
            ],
        ),
        (
            "kernel alignment + CKA",
            vec![Metric::KernelAlignment, Metric::Cka],
        ),
        (
            "unbiased + debiased CKA",
            vec![Metric::UnbiasedCka, Metric::DebiasedCka],
        ),
        ("CKNNA", vec![Metric::Cknna]),
        ("SVCCA", vec![Metric::Svcca]),
        ("all ten", Metric::ALL.to_vec()),
    ];
    for (name, list) in groups {
        let options = metrics::options_for(&list, 10, true, 10);
        let clock = Instant::now();
        let scores = metrics::compare(a.view(), b.view(), &list, options, ("a", "b"))?;
        let t = clock.elapsed().as_secs_f64();
        let shown: Vec<String> = scores
            .iter()
            .map(|(m, v)| format!("{} {v:.3}", m.name()))
            .collect();
        println!(
            "  {name:32} {t:6.2} s = {:5.1} x baseline   [{}]",
            t / baseline,
            shown.join(", ")
        );
    }
    let assumed = metrics::PAIR_MATRICES as f64 * 8.0 * (n as f64).powi(2) / (1u64 << 20) as f64;
    println!(
        "  peak memory {:.0} MiB (memory check assumes {:.0} MiB = 16 x 8 n² bytes)",
        peak_rss_mib(),
        assumed
    );
    Ok(())
}
