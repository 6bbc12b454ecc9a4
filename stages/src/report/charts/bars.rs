//! Horizontal interval bars: a value per row with its interval and an optional control marker.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{finite_range, font};
use crate::report::figure::{Area, Figure, err};

/// One horizontal bar with an interval and an optional control marker.
pub struct IntervalBar {
    pub label: String,
    pub value: f64,
    pub low: f64,
    pub high: f64,
    /// The untrained control's value (drawn as a hollow marker).
    pub control: Option<f64>,
    pub colour: RGBColor,
    /// Left out of the axis range: drawn clipped at the edge, with its value written there
    /// (the uncentred kernel alignment's margins would otherwise flatten every other bar).
    pub clip: bool,
}

pub struct IntervalBars {
    pub title: String,
    pub x_label: String,
    pub bars: Vec<IntervalBar>,
    pub legend: Vec<(String, RGBColor, bool)>,
    pub width: u32,
}

/// Where the bars go: value → x pixel, and the rows' geometry.
struct Layout {
    lo: f64,
    hi: f64,
    left: i32,
    right: i32,
    top: i32,
    row: i32,
}

impl Layout {
    fn x(&self, v: f64) -> i32 {
        let v = v.clamp(self.lo, self.hi);
        self.left
            + ((v - self.lo) / (self.hi - self.lo) * f64::from(self.right - self.left)).round()
                as i32
    }
}

impl IntervalBars {
    fn legend<DB: DrawingBackend>(&self, root: &Area<DB>) -> Result<(), String> {
        let mut lx = 10;
        for (name, c, hollow) in &self.legend {
            let style = if *hollow {
                c.stroke_width(2)
            } else {
                c.filled()
            };
            root.draw(&Rectangle::new([(lx, 38), (lx + 14, 52)], style))
                .map_err(err)?;
            root.draw(&Text::new(name.clone(), (lx + 20, 38), font(12.0)))
                .map_err(err)?;
            lx += 30 + 7 * name.len() as i32;
        }
        Ok(())
    }

    /// The axis with five ticks, its label and the zero line.
    fn axis<DB: DrawingBackend>(&self, root: &Area<DB>, l: &Layout) -> Result<(), String> {
        let bottom = l.top + l.row * self.bars.len() as i32;
        for i in 0..=4 {
            let v = l.lo + (l.hi - l.lo) * f64::from(i) / 4.0;
            let px = l.x(v);
            root.draw(&PathElement::new(
                vec![(px, l.top - 4), (px, bottom)],
                RGBColor(230, 230, 230),
            ))
            .map_err(err)?;
            let style = font(11.0).pos(Pos::new(HPos::Center, VPos::Top));
            root.draw(&Text::new(format!("{v:.2}"), (px, bottom + 4), style))
                .map_err(err)?;
        }
        let style = font(13.0).pos(Pos::new(HPos::Center, VPos::Top));
        root.draw(&Text::new(
            self.x_label.clone(),
            ((l.left + l.right) / 2, bottom + 22),
            style,
        ))
        .map_err(err)?;
        root.draw(&PathElement::new(
            vec![(l.x(0.0), l.top - 6), (l.x(0.0), bottom)],
            BLACK.stroke_width(1),
        ))
        .map_err(err)?;
        Ok(())
    }

    /// Bar `b` in row `i`: its label, its bar, then its interval and control marker (or, for a
    /// clipped bar off the scale, its value written at the edge).
    fn bar<DB: DrawingBackend>(
        root: &Area<DB>,
        l: &Layout,
        i: usize,
        b: &IntervalBar,
    ) -> Result<(), String> {
        let y = l.top + l.row * i as i32;
        let m = y + l.row / 2;
        let label = font(12.0).pos(Pos::new(HPos::Right, VPos::Center));
        root.draw(&Text::new(b.label.clone(), (l.left - 8, m), label))
            .map_err(err)?;
        if b.value.is_finite() {
            let (a, c) = (l.x(0.0).min(l.x(b.value)), l.x(0.0).max(l.x(b.value)));
            root.draw(&Rectangle::new(
                [(a, y + 4), (c.max(a + 1), y + l.row - 4)],
                b.colour.mix(0.75).filled(),
            ))
            .map_err(err)?;
        }
        if b.clip && (b.value < l.lo || b.value > l.hi) {
            let (px, anchor) = if b.value < l.lo {
                (l.x(l.lo) + 4, HPos::Left)
            } else {
                (l.x(l.hi) - 4, HPos::Right)
            };
            let style = font(11.0).color(&WHITE).pos(Pos::new(anchor, VPos::Center));
            root.draw(&Text::new(
                format!("off scale: {:.2}", b.value),
                (px, m),
                style,
            ))
            .map_err(err)?;
            return Ok(());
        }
        if b.low.is_finite() && b.high.is_finite() {
            let (lx, hx) = (l.x(b.low), l.x(b.high));
            for seg in [
                vec![(lx, m), (hx, m)],
                vec![(lx, m - 5), (lx, m + 5)],
                vec![(hx, m - 5), (hx, m + 5)],
            ] {
                root.draw(&PathElement::new(seg, BLACK.stroke_width(1)))
                    .map_err(err)?;
            }
        }
        if let Some(cv) = b.control.filter(|v| v.is_finite()) {
            root.draw(&Circle::new(
                (l.x(cv), m),
                4,
                RGBColor(90, 90, 90).stroke_width(2),
            ))
            .map_err(err)?;
        }
        Ok(())
    }
}

impl Figure for IntervalBars {
    fn size(&self) -> (u32, u32) {
        (self.width, 90 + 20 * self.bars.len() as u32 + 50)
    }

    fn draw<DB: DrawingBackend>(&self, root: &Area<DB>) -> Result<(), String> {
        let (w, _) = self.size();
        let (lo, hi) = finite_range(
            self.bars
                .iter()
                .filter(|b| !b.clip)
                .flat_map(|b| [b.value, b.low, b.high, b.control.unwrap_or(0.0), 0.0]),
        );
        let layout = Layout {
            lo,
            hi,
            left: 200,
            right: w as i32 - 20,
            top: 80,
            row: 20,
        };
        root.draw(&Text::new(self.title.clone(), (10, 8), font(16.0)))
            .map_err(err)?;
        self.legend(root)?;
        self.axis(root, &layout)?;
        for (i, b) in self.bars.iter().enumerate() {
            Self::bar(root, &layout, i, b)?;
        }
        Ok(())
    }
}
