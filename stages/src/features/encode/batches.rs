//! How a pass walks its rows: units cut into batches (texts ordered by length within their
//! unit), the next batch prepared on a second thread while the model runs this one, and each
//! batch's rows put back in their places before a unit's rows are written.

use ndarray::Array2;

use crate::error::Result;
use crate::features::shards::ShardWriter;
use crate::features::units::Units;

/// One batch: the unit it belongs to and its rows (absolute), in the order they are encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Batch {
    pub unit: usize,
    pub rows: Vec<usize>,
}

/// The batches of every unit that ends after row `from` (earlier units are complete), each
/// unit's rows put in `order` and cut into batches of at most `size`.
pub(super) fn unit_batches(
    units: &Units,
    from: usize,
    size: usize,
    order: impl Fn(&mut Vec<usize>),
) -> Vec<Batch> {
    let mut out = Vec::new();
    for (unit, range) in units.ranges().iter().enumerate() {
        if range.end <= from {
            continue;
        }
        let mut rows: Vec<usize> = range.clone().collect();
        order(&mut rows);
        out.extend(rows.chunks(size.max(1)).map(|c| Batch {
            unit,
            rows: c.to_vec(),
        }));
    }
    out
}

/// Runs `prepare` one batch ahead of `consume` on a second thread.
pub(super) fn pipelined<T: Clone + Send, B: Send>(
    batches: Vec<T>,
    prepare: impl Fn(T) -> Result<B> + Sync,
    mut consume: impl FnMut(T, B) -> Result<()>,
) -> Result<()> {
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<(T, Result<B>)>(1);
        let prepare = &prepare;
        scope.spawn(move || {
            for r in batches {
                let b = prepare(r.clone());
                let failed = b.is_err();
                // A closed channel means the consumer stopped (an error): stop too.
                if tx.send((r, b)).is_err() || failed {
                    break;
                }
            }
        });
        for (r, b) in rx {
            consume(r, b?)?;
        }
        Ok(())
    })
}

/// Puts each batch's rows back in their places within their unit, and hands a unit's rows to
/// the writer once all of them are in (less the rows before `from`, already written). Units
/// that end at or before `from` are complete already: their batches are not this writer's.
pub(super) struct Placer<'u> {
    pub units: &'u Units,
    pub from: usize,
    pending: Vec<f32>,
    placed: usize,
}

impl<'u> Placer<'u> {
    pub fn new(units: &'u Units, from: usize) -> Placer<'u> {
        Placer {
            units,
            from,
            pending: Vec::new(),
            placed: 0,
        }
    }

    /// True if `batch` holds rows this writer still needs.
    pub fn wants(&self, batch: &Batch) -> bool {
        self.units.ranges()[batch.unit].end > self.from
    }

    pub fn place(
        &mut self,
        batch: &Batch,
        pooled: &Array2<f32>,
        writer: &mut ShardWriter,
    ) -> Result<()> {
        if !self.wants(batch) {
            return Ok(());
        }
        let range = self.units.ranges()[batch.unit].clone();
        let dim = pooled.ncols();
        self.pending.resize(range.len() * dim, 0.0);
        for (&i, row) in batch.rows.iter().zip(pooled.outer_iter()) {
            let at = (i - range.start) * dim;
            self.pending[at..at + dim]
                .iter_mut()
                .zip(row)
                .for_each(|(d, v)| *d = *v);
        }
        self.placed += batch.rows.len();
        if self.placed == range.len() {
            let skip = self.from.saturating_sub(range.start) * dim;
            writer.append(&self.pending[skip..])?;
            self.pending.clear();
            self.placed = 0;
        }
        Ok(())
    }
}

#[cfg(test)]
mod unit_tests {
    use super::*;

    #[test]
    fn batches_sort_each_unit_by_length_and_keep_units_apart() {
        let lengths = [9, 3, 7, 3, 5, 1, 8, 2];
        let units = Units::texts_alone(8, 1); // one block: 16 rows of batch 1
        assert_eq!(units.ranges().len(), 1);
        assert_eq!(units.rows(), 0..8);
        // Two units of 4 rows, batches of 3; ties by position (rows 1 and 3).
        let units = Units::images(8, 4);
        let by_length = |rows: &mut Vec<usize>| rows.sort_by_key(|&i| (lengths[i], i));
        let rows = |b: Vec<Batch>| b.into_iter().map(|b| b.rows).collect::<Vec<_>>();
        let got = rows(unit_batches(&units, 0, 3, by_length));
        assert_eq!(got, vec![vec![1, 3, 2], vec![0], vec![5, 7, 4], vec![6]]);
        // A resume inside the second unit re-runs that unit whole.
        let resumed = rows(unit_batches(&units, 5, 3, by_length));
        assert_eq!(resumed, vec![vec![5, 7, 4], vec![6]]);
        let resumed = unit_batches(&units, 4, 3, |_| {});
        assert_eq!(
            resumed[0],
            Batch {
                unit: 1,
                rows: vec![4, 5, 6]
            }
        );
        // A writer that resumed further than the pass skips the units it has.
        let placer = Placer::new(&units, 4);
        assert!(!placer.wants(&Batch {
            unit: 0,
            rows: vec![0, 1]
        }));
        assert!(placer.wants(&resumed[0]));
    }
}
