//! `make bench` (metrics part): every alignment metric on n = 5,000 rows of d = 1,280 features,
//! beside a baseline measured in the same run: one n x n Gram matrix (an n²d matrix product,
//! what the neighbour search pays once per side). Prints seconds, the ratio to that baseline,
//! and the process's peak memory against what the memory check assumes (no n x n matrix above
//! 2,000 rows: linear in n). `BENCH_METRICS_N` sets n; `BENCH_METRICS_ONLY_ALL=1` times only
//! every metric together, without the baseline.

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

    // `BENCH_METRICS_ONLY_ALL=1`: only the ten together and no baseline (the scale bench's
    // large n, where its goals are absolute and the baseline alone would take minutes).
    let only_all = std::env::var("BENCH_METRICS_ONLY_ALL").is_ok_and(|v| v == "1");
    // The Gram matrix's product a block of rows at a time, as the neighbour search does: the
    // same n²d multiply-adds without holding n x n (7 GiB at n = 30,000).
    let baseline = (!only_all).then(|| {
        let clock = Instant::now();
        let block = (8 << 20) / n.max(1) + 1;
        let mut checksum = 0.0;
        for start in (0..n).step_by(block) {
            let end = (start + block).min(n);
            checksum += a.slice(ndarray::s![start..end, ..]).dot(&a.t())[[0, 0]];
        }
        assert!(checksum.is_finite());
        clock.elapsed().as_secs_f64()
    });
    match baseline {
        Some(t) => println!(
            "metrics on n = {n}, d = {d} (f64); baseline: one n x n Gram matrix product {t:.2} s"
        ),
        None => println!("metrics on n = {n}, d = {d} (f64)"),
    }
    let groups: [(&str, Vec<Metric>); 11] = [
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
            "kNN, ReSi's (jaccard, rank)",
            vec![Metric::JaccardKnn, Metric::RankKnn],
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
        ("RSA", vec![Metric::Rsa]),
        ("Procrustes", vec![Metric::Procrustes]),
        ("distance correlation", vec![Metric::DistanceCorrelation]),
        ("second-order cosine", vec![Metric::SecondOrderCosine]),
        ("all metrics", Metric::ALL.to_vec()),
    ];
    // The last group (every metric) takes the inputs over, as `pipeline metric` does: the peak is
    // then the metrics' own, not theirs plus a copy the caller keeps.
    let last = groups.len() - 1;
    let mut inputs = Some((a, b));
    for (gi, (name, list)) in groups.into_iter().enumerate() {
        if only_all && list.len() != Metric::ALL.len() {
            continue;
        }
        let (a, b) = if gi == last {
            inputs.take().expect("the last group runs once")
        } else {
            let (a, b) = inputs.as_ref().expect("taken only by the last group");
            (a.clone(), b.clone())
        };
        let options = metrics::options_for(&list, 10, true, 10);
        let clock = Instant::now();
        let scores = metrics::compare(a, b, &list, options, ("a", "b"))?;
        let t = clock.elapsed().as_secs_f64();
        let shown: Vec<String> = scores
            .iter()
            .map(|(m, v)| format!("{} {v:.3}", m.name()))
            .collect();
        let ratio = baseline.map_or(String::new(), |b| format!(" = {:5.1} x baseline", t / b));
        // bench_scale reads the seconds of the "all metrics" line.
        println!("  {name:32} {t:6.2} s{ratio}   [{}]", shown.join(", "));
    }
    let threads = rayon::current_num_threads();
    let assumed = metrics::memory_needed(n, 0, &[d, d], 10, threads) as f64 / (1u64 << 20) as f64;
    println!(
        "  peak memory {:.0} MiB (the memory check assumes {assumed:.0} MiB)",
        peak_rss_mib(),
    );
    Ok(())
}
