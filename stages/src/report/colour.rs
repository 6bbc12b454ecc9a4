//! Colours: the viridis map for heatmaps and one fixed colour per space and per adapter, so a
//! space looks the same in every figure.

pub use plotters::style::RGBColor;

use crate::spaces::SpaceName;

const VIRIDIS: [(f64, [u8; 3]); 5] = [
    (0.0, [68, 1, 84]),
    (0.25, [59, 82, 139]),
    (0.5, [33, 145, 140]),
    (0.75, [94, 201, 98]),
    (1.0, [253, 231, 37]),
];

/// Viridis at `t` in [0, 1] (clamped; NaN is grey).
pub fn viridis(t: f64) -> RGBColor {
    if !t.is_finite() {
        return RGBColor(200, 200, 200);
    }
    let t = t.clamp(0.0, 1.0);
    let i = VIRIDIS
        .iter()
        .rposition(|(x, _)| *x <= t)
        .unwrap_or(0)
        .min(VIRIDIS.len() - 2);
    let ((x0, c0), (x1, c1)) = (VIRIDIS[i], VIRIDIS[i + 1]);
    let f = (t - x0) / (x1 - x0);
    let mix = |a: u8, b: u8| (f64::from(a) + f * (f64::from(b) - f64::from(a))).round() as u8;
    RGBColor(mix(c0[0], c1[0]), mix(c0[1], c1[1]), mix(c0[2], c1[2]))
}

/// Text colour readable on `viridis(t)`.
pub fn ink_on(t: f64) -> RGBColor {
    if t > 0.6 {
        RGBColor(0, 0, 0)
    } else {
        RGBColor(255, 255, 255)
    }
}

pub fn space(name: SpaceName) -> RGBColor {
    match name {
        SpaceName::Image => RGBColor(214, 39, 40),
        SpaceName::Text => RGBColor(31, 119, 180),
        SpaceName::AlignedImage => RGBColor(255, 127, 14),
        SpaceName::AlignedText => RGBColor(44, 160, 44),
        SpaceName::Reference => RGBColor(148, 103, 189),
        SpaceName::UntrainedImage | SpaceName::UntrainedText => RGBColor(127, 127, 127),
    }
}

/// Series colours for line charts.
pub const SERIES: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];
