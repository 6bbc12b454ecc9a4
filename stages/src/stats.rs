//! Statistics across a sweep's members: the across-seed mean with its Student t interval, and
//! the correlation of two columns (Pearson, Spearman) with a bootstrap interval over members and
//! a permutation p-value.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::metrics::resample::quantile;

/// Mean, sample standard deviation and the 95% t interval of `values` (NaNs ignored). With one
/// value the standard deviation and the interval are NaN: one seed says nothing about spread.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spread {
    pub n: usize,
    pub mean: f64,
    pub std: f64,
    pub ci_low: f64,
    pub ci_high: f64,
}

pub fn spread(values: &[f64]) -> Spread {
    let v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    let n = v.len();
    let mean = if n == 0 {
        f64::NAN
    } else {
        v.iter().sum::<f64>() / n as f64
    };
    if n < 2 {
        return Spread {
            n,
            mean,
            std: f64::NAN,
            ci_low: f64::NAN,
            ci_high: f64::NAN,
        };
    }
    let std = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt();
    let half = t_quantile(0.975, (n - 1) as f64) * std / (n as f64).sqrt();
    Spread {
        n,
        mean,
        std,
        ci_low: mean - half,
        ci_high: mean + half,
    }
}

/// The `p` quantile (0 < p < 1) of Student's t with `df` degrees of freedom, by bisection on its
/// distribution function (to about 1e-13).
pub fn t_quantile(p: f64, df: f64) -> f64 {
    if !(0.0..=1.0).contains(&p) || df <= 0.0 {
        return f64::NAN;
    }
    if p == 0.5 {
        return 0.0;
    }
    if p < 0.5 {
        return -t_quantile(1.0 - p, df);
    }
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    while t_cdf(hi, df) < p {
        hi *= 2.0;
        if hi > 1e12 {
            return f64::INFINITY;
        }
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if t_cdf(mid, df) < p {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo < 1e-14 * hi.max(1.0) {
            break;
        }
    }
    0.5 * (lo + hi)
}

/// P(T <= t) for Student's t with `df` degrees of freedom.
pub fn t_cdf(t: f64, df: f64) -> f64 {
    let x = df / (df + t * t);
    let tail = 0.5 * incomplete_beta(0.5 * df, 0.5, x);
    if t >= 0.0 { 1.0 - tail } else { tail }
}

/// The regularised incomplete beta function I_x(a, b) (continued fraction, modified Lentz).
fn incomplete_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let front =
        (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln()).exp();
    // The fraction converges fast for x < (a + 1) / (a + b + 2); use the symmetry otherwise.
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_fraction(a, b, x) / a
    } else {
        1.0 - front * beta_fraction(b, a, 1.0 - x) / b
    }
}

fn beta_fraction(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..500 {
        let m = m as f64;
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        d = if d.abs() < TINY { TINY } else { d };
        c = 1.0 + aa / c;
        c = if c.abs() < TINY { TINY } else { c };
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        d = if d.abs() < TINY { TINY } else { d };
        c = 1.0 + aa / c;
        c = if c.abs() < TINY { TINY } else { c };
        d = 1.0 / d;
        let step = d * c;
        h *= step;
        if (step - 1.0).abs() < 1e-16 {
            break;
        }
    }
    h
}

/// ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms; relative error below 1e-15).
fn ln_gamma(x: f64) -> f64 {
    const G: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x) Γ(1 - x) = π / sin(πx).
        return (std::f64::consts::PI / (std::f64::consts::PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut sum = G[0];
    for (i, g) in G.iter().enumerate().skip(1) {
        sum += g / (x + i as f64);
    }
    let t = x + 7.5;
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

/// Pearson's r of two equally long columns (NaN when either is constant).
pub fn pearson(x: &[f64], y: &[f64]) -> f64 {
    // A column of one value has no correlation; its mean can differ from that value in the last
    // bit, which would leave a spread of 1e-33 and a meaningless r of 0.
    if constant(x) || constant(y) {
        return f64::NAN;
    }
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    if sxx == 0.0 || syy == 0.0 {
        return f64::NAN;
    }
    sxy / (sxx * syy).sqrt()
}

/// Whether `a` and `b` are one value computed two ways: equal to a relative 1e-12 (a mutual
/// kNN of 291/1750 summed in two orders gives 0.16628571428571431 and 0.1662857142857143,
/// which must tie, not rank).
fn same_value(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= 1e-12 * a.abs().max(b.abs())
}

/// Every value [`same_value`] as the first (true for no values).
fn constant(x: &[f64]) -> bool {
    x.iter().all(|&v| same_value(v, x[0]))
}

/// Ranks from 1, ties sharing their average rank (as scipy.stats.rankdata), values equal up to
/// float rounding tied too.
pub fn ranks(x: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..x.len()).collect();
    order.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let mut out = vec![0.0; x.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && same_value(x[order[j + 1]], x[order[i]]) {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            out[k] = rank;
        }
        i = j + 1;
    }
    out
}

/// Spearman's rho: Pearson's r of the ranks.
pub fn spearman(x: &[f64], y: &[f64]) -> f64 {
    pearson(&ranks(x), &ranks(y))
}

/// Which correlation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coefficient {
    Pearson,
    Spearman,
}

impl Coefficient {
    pub fn of(self, x: &[f64], y: &[f64]) -> f64 {
        match self {
            Coefficient::Pearson => pearson(x, y),
            Coefficient::Spearman => spearman(x, y),
        }
    }
}

/// A correlation across members, with its 95% bootstrap interval (members resampled with
/// replacement; resamples where a column is constant are dropped) and its two-sided
/// permutation p-value ((1 + #{|r_perm| >= |r|}) / (1 + permutations)).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Correlation {
    pub r: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub p_value: f64,
}

pub fn correlation(
    coefficient: Coefficient,
    x: &[f64],
    y: &[f64],
    resamples: usize,
    permutations: usize,
    seed: u64,
) -> Correlation {
    let r = coefficient.of(x, y);
    let n = x.len();
    if !r.is_finite() || n < 3 {
        return Correlation {
            r,
            ci_low: f64::NAN,
            ci_high: f64::NAN,
            p_value: f64::NAN,
        };
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut bx, mut by) = (vec![0.0; n], vec![0.0; n]);
    let mut replicates = Vec::with_capacity(resamples);
    for _ in 0..resamples {
        for i in 0..n {
            let j = rand::Rng::random_range(&mut rng, 0..n);
            bx[i] = x[j];
            by[i] = y[j];
        }
        replicates.push(coefficient.of(&bx, &by));
    }
    let mut shuffled = y.to_vec();
    let mut extreme = 0usize;
    for _ in 0..permutations {
        shuffled.shuffle(&mut rng);
        // A small tolerance so that permutations equal to the data count as extreme.
        if coefficient.of(x, &shuffled).abs() >= r.abs() - 1e-12 {
            extreme += 1;
        }
    }
    Correlation {
        r,
        ci_low: quantile(&replicates, 0.025),
        ci_high: quantile(&replicates, 0.975),
        p_value: (1 + extreme) as f64 / (1 + permutations) as f64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_quantiles_match_tables() {
        // Two-sided 95% critical values from any t table.
        for (df, t) in [
            (1.0, 12.706_204_736),
            (2.0, 4.302_652_730),
            (4.0, 2.776_445_105),
        ] {
            assert!((t_quantile(0.975, df) - t).abs() < 1e-8, "df {df}");
        }
        assert!((t_quantile(0.975, 1e6) - 1.959_966).abs() < 1e-5);
        assert!((t_cdf(0.0, 3.0) - 0.5).abs() < 1e-15);
    }

    #[test]
    fn ranks_average_ties_and_spearman_is_monotone_invariant() {
        assert_eq!(ranks(&[3.0, 1.0, 3.0, 2.0]), [3.5, 1.0, 3.5, 2.0]);
        // One rational summed in two orders ties; a real difference does not.
        assert_eq!(
            ranks(&[0.16628571428571431, 0.1662857142857143, 0.2]),
            [1.5, 1.5, 3.0]
        );
        assert_eq!(ranks(&[0.166285, 0.166286]), [1.0, 2.0]);
        assert!(spearman(&[1.0, 2.0], &[0.16628571428571431, 0.1662857142857143]).is_nan());
        let x = [1.0, 2.0, 3.0, 4.0, 5.0];
        let y: Vec<f64> = x.iter().map(|v: &f64| v.exp()).collect();
        assert!((spearman(&x, &y) - 1.0).abs() < 1e-15);
        assert!(pearson(&x, &y) < 1.0);
        assert!(pearson(&x, &[1.0; 5]).is_nan());
        // One value computed two ways (0.1 + 0.2 and 0.3): constant, not a spread of 1e-33.
        let same = [0.1 + 0.2, 0.3, 0.1 + 0.2, 0.3, 0.1 + 0.2];
        assert!(pearson(&x, &same).is_nan(), "{}", pearson(&x, &same));
    }

    #[test]
    fn a_perfect_correlation_has_the_smallest_p_value_and_a_tight_interval() {
        let x: Vec<f64> = (0..10).map(f64::from).collect();
        let y: Vec<f64> = x.iter().map(|v| 2.0 * v + 1.0).collect();
        let c = correlation(Coefficient::Pearson, &x, &y, 200, 999, 7);
        assert!((c.r - 1.0).abs() < 1e-12);
        assert!((c.p_value - 1.0 / 1000.0).abs() < 1e-12, "{c:?}");
        assert!(c.ci_low > 0.999 && c.ci_high <= 1.0 + 1e-12, "{c:?}");
        assert_eq!(c, correlation(Coefficient::Pearson, &x, &y, 200, 999, 7));
    }
}
