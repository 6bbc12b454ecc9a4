//! One shard of a stage's rows: `I/N`, the I-th (from 0, as `SLURM_ARRAY_TASK_ID` counts with
//! `--array=0-N-1`) of N parts. A way of running a stage, never one of its parameters: the
//! assembled shards are the bytes one whole run writes.

use std::fmt;
use std::ops::Range;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// The whole: shard 0 of 1.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// Shard `index` of `count`; None unless `index < count`.
    pub fn new(index: usize, count: usize) -> Option<Shard> {
        (index < count).then_some(Shard { index, count })
    }

    /// The units of `0..units` this shard takes: contiguous, in order, as equal as whole units
    /// allow (sizes differ by at most one), and together every unit exactly once.
    pub fn units(self, units: usize) -> Range<usize> {
        let at = |i: usize| i * units / self.count;
        at(self.index)..at(self.index + 1)
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = String;

    /// `I/N` with `0 <= I < N`.
    fn from_str(s: &str) -> Result<Shard, String> {
        let expected = || {
            format!(
                "`{s}`: expected I/N with 0 <= I < N (shards count from 0, as SLURM_ARRAY_TASK_ID)"
            )
        };
        let (i, n) = s.split_once('/').ok_or_else(expected)?;
        let i: usize = i.trim().parse().map_err(|_| expected())?;
        let n: usize = n.trim().parse().map_err(|_| expected())?;
        Shard::new(i, n).ok_or_else(expected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects() {
        assert_eq!(
            "3/16".parse::<Shard>(),
            Ok(Shard {
                index: 3,
                count: 16
            })
        );
        assert_eq!(Shard::new(3, 16).unwrap().to_string(), "3/16");
        for bad in ["16/16", "1", "a/2", "0/0", "-1/2", "1/2/3"] {
            let e = bad.parse::<Shard>().unwrap_err();
            assert!(e.contains(bad) && e.contains("I/N"), "{e}");
        }
    }

    #[test]
    fn shards_cover_every_unit_once_and_balance() {
        for units in [0, 1, 5, 16, 17, 1000] {
            for count in 1..=9 {
                let mut next = 0;
                let mut sizes = Vec::new();
                for index in 0..count {
                    let r = Shard { index, count }.units(units);
                    assert_eq!(r.start, next, "contiguous");
                    next = r.end;
                    sizes.push(r.len());
                }
                assert_eq!(next, units, "every unit");
                let (lo, hi) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
                assert!(hi - lo <= 1, "{units} units in {count}: {sizes:?}");
            }
        }
    }
}
