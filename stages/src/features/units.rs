//! The units of an encoder's work: consecutive row ranges whose features depend on no row outside
//! them, because each unit's batches are formed from its own rows only.
//!
//! ONNX Runtime's sums depend on a batch's composition, so the bytes of a row depend on which
//! rows shared its batch. Whoever computes a unit (a whole run, a resumed run, one shard of a
//! cluster job array) therefore computes the same bytes, and a stage's shards are whole units.
//! - Images: a unit is one batch (`batch_size` images, the last one shorter).
//! - Texts: a unit is a block of about [`TEXT_BLOCK_BATCHES`] batches whose captions are sorted
//!   by token count before batching (so a batch pads to its neighbours' length). A block ends only
//!   where the image changes, so the consecutive captions of one image stay in one unit.

use std::ops::Range;

use crate::shard::Shard;

/// Batches per text block: enough for length sorting to cut padding, small enough that a
/// Flickr30k-sized caption set splits into hundreds of shards.
pub const TEXT_BLOCK_BATCHES: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Units {
    ranges: Vec<Range<usize>>,
    /// Where the rows are when there are no units (an empty shard still has a place).
    at: usize,
}

impl Units {
    /// `n` images in batches of `batch`.
    pub fn images(n: usize, batch: usize) -> Units {
        let batch = batch.max(1);
        Units {
            ranges: (0..n)
                .step_by(batch)
                .map(|a| a..(a + batch).min(n))
                .collect(),
            at: 0,
        }
    }

    /// Captions whose images are `images` (one id per row): blocks of at least
    /// `TEXT_BLOCK_BATCHES * batch` rows, each ending where the image changes (or at the end).
    pub fn texts<S: AsRef<str>>(images: &[S], batch: usize) -> Units {
        Units::blocks(images.len(), batch, |i| {
            images[i].as_ref() != images[i - 1].as_ref()
        })
    }

    /// Texts without images: blocks of `TEXT_BLOCK_BATCHES * batch` rows.
    pub fn texts_alone(n: usize, batch: usize) -> Units {
        Units::blocks(n, batch, |_| true)
    }

    /// Blocks over `n` rows of at least the text target, each ending before a row `i` where
    /// `new_image(i)` (or at the end).
    fn blocks(n: usize, batch: usize, new_image: impl Fn(usize) -> bool) -> Units {
        let target = TEXT_BLOCK_BATCHES * batch.max(1);
        let mut ranges = Vec::new();
        let mut first = 0;
        for i in 1..=n {
            if i == n || (i - first >= target && new_image(i)) {
                ranges.push(first..i);
                first = i;
            }
        }
        Units { ranges, at: 0 }
    }

    pub fn ranges(&self) -> &[Range<usize>] {
        &self.ranges
    }

    /// The rows the units cover (consecutive).
    pub fn rows(&self) -> Range<usize> {
        match (self.ranges.first(), self.ranges.last()) {
            (Some(a), Some(b)) => a.start..b.end,
            _ => self.at..self.at,
        }
    }

    /// The units shard `shard` computes (none when there are fewer units than shards: its
    /// rows are then empty, at the place the shards before it end).
    pub fn shard(&self, shard: Shard) -> Units {
        let taken = shard.units(self.ranges.len());
        Units {
            at: self
                .ranges
                .get(taken.start)
                .map_or(self.rows().end, |r| r.start),
            ranges: self.ranges[taken].to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_units_are_batches() {
        assert_eq!(Units::images(10, 4).ranges(), &[0..4, 4..8, 8..10]);
        assert_eq!(Units::images(0, 4).rows(), 0..0);
        let u = Units::images(10, 4).shard(Shard { index: 1, count: 2 });
        assert_eq!(u.ranges(), &[4..8, 8..10]);
        assert_eq!(u.rows(), 4..10);
        // More shards than units: the empty ones sit where the rows before them end.
        let three = Units::images(10, 4);
        let rows: Vec<_> = (0..5)
            .map(|index| three.shard(Shard { index, count: 5 }).rows())
            .collect();
        assert_eq!(rows, vec![0..0, 0..4, 4..4, 4..8, 8..10]);
    }

    #[test]
    fn text_blocks_reach_the_target_and_end_where_the_image_changes() {
        // Batch 1: blocks of at least 16 rows. Images of 5 captions each, then one of 3.
        let images: Vec<String> = (0..43).map(|i| format!("img{}", (i / 5).min(8))).collect();
        let u = Units::texts(&images, 1);
        assert_eq!(u.ranges(), &[0..20, 20..40, 40..43]);
        for r in u.ranges() {
            if r.end < images.len() {
                assert_ne!(images[r.end - 1], images[r.end], "a block splits an image");
            }
        }
        // One image with many captions is one block, however long.
        let one = vec!["a"; 50];
        let u = Units::texts(&one, 1);
        assert_eq!((u.ranges().len(), u.rows()), (1, 0..50));
        assert_eq!(Units::texts_alone(40, 1).ranges(), &[0..16, 16..32, 32..40]);
        assert_eq!(Units::texts::<&str>(&[], 4).rows(), 0..0);
    }
}
