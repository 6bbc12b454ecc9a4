//! `erf` and `exp` for f32 without branches or calls, so the GELU loops vectorise.
//!
//! libm's `erff`/`expf` are accurate to an ulp but scalar calls with branches: they were ~6% of
//! an MLP epoch (GELU forward and backward over every hidden activation). These are the usual
//! vectorisable forms (PyTorch's CPU GELU also uses an approximate erf):
//! - [`erf`]: Eigen's rational approximation (also XLA's and TVM's f32 erf), `x·P(x²)/Q(x²)` on
//!   `[−4, 4]`, clamped outside (erf(4) is 1 − 1.5e-8). Max error 4.7e-7 absolute (measured
//!   against f64 erf over `[−8, 8]` in this module's tests), about 8 ulp near ±1.
//! - [`exp`]: Cephes' `expf`: `eˣ = 2ⁿ·eʳ`, `n = round(x·log₂e)`, `r = x − n·ln 2` (Cody–Waite
//!   split), `eʳ` a degree-7 polynomial. Relative error below 3e-7; inputs clamped to
//!   `[−87, 88]`, so results stay normal (and underflow to ~1e-38 instead of 0).
//!
//! f64 keeps libm (the tests compare f64 GELU with Python's `math.erf` to 1e-14).

/// erf(x), |error| < 4.7e-7.
#[inline(always)]
pub fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = x2 * -2.726_142_3e-10 + 2.770_681_4e-8;
    p = x2 * p - 2.101_024e-6;
    p = x2 * p - 5.692_506_4e-5;
    p = x2 * p - 7.349_906_3e-4;
    p = x2 * p - 2.954_6e-3;
    p = x2 * p - 1.609_603_3e-2;
    let mut q = x2 * -1.456_607_2e-5 - 2.133_740_6e-4;
    q = x2 * q - 1.682_827e-3;
    q = x2 * q - 7.373_329e-3;
    q = x2 * q - 1.426_473_9e-2;
    x * p / q
}

/// eˣ, relative error < 3e-7 for x in [−87, 88].
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    const LOG2_E: f32 = std::f32::consts::LOG2_E;
    // ln 2 = LN2_HI + LN2_LO, LN2_HI with few mantissa bits so n·LN2_HI is exact.
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Adding and subtracting 1.5·2²³ rounds to the nearest integer (|x·log₂e| < 2²²).
    const ROUND: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 88.0);
    let n = (x * LOG2_E + ROUND) - ROUND;
    let r = x - n * LN2_HI - n * LN2_LO;
    let mut p = 1.987_569_1e-4 * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5; // Cephes: 5.0000001201e-1, which is 0.5 in f32
    let e_r = p * (r * r) + r + 1.0;
    // 2ⁿ from its exponent bits; n is in [−126, 127] after the clamp.
    let two_n = f32::from_bits(((n as i32 + 127) as u32) << 23);
    e_r * two_n
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid() -> impl Iterator<Item = f32> {
        (0..=400_000).map(|i| -8.0 + 16.0 * i as f32 / 400_000.0)
    }

    #[test]
    fn erf_is_within_its_bound_of_f64_erf() {
        let worst = grid()
            .map(|x| (erf(x) as f64 - libm::erf(x as f64)).abs())
            .fold(0.0, f64::max);
        assert!(worst < 4.7e-7, "max |erf error| {worst:e}");
        assert_eq!(erf(0.0), 0.0);
        // Odd, and flat beyond the clamp.
        assert!(grid().all(|x| erf(-x) == -erf(x)));
        assert_eq!(erf(9.0), erf(4.0));
    }

    #[test]
    fn exp_is_within_its_bound_of_f64_exp() {
        let worst = (0..=400_000)
            .map(|i| -87.0 + 175.0 * i as f32 / 400_000.0)
            .map(|x| {
                let want = libm::exp(x as f64);
                ((exp(x) as f64 - want) / want).abs()
            })
            .fold(0.0, f64::max);
        assert!(worst < 3e-7, "max relative exp error {worst:e}");
        assert_eq!(exp(0.0), 1.0);
        assert!(exp(-200.0) < 1e-37 && exp(-200.0) >= 0.0);
    }
}
