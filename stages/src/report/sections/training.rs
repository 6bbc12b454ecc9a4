//! Training: each adapter's loss, variance term, learning rate and validation R@1 per epoch.

use super::{Page, section, side};
use crate::error::Result;
use crate::report::figure::render;
use crate::report::{figures, html};

pub fn training(page: &Page) -> Result<String> {
    let mut items = Vec::new();
    for a in page.results {
        let stem = format!("loss_{}", a.name);
        render(&figures::losses(a), &page.fig, &stem)?;
        items.push(html::figure(&stem, &format!("{} training curves", a.name), "Epoch 0 is the untrained adapters. With one optimiser step per epoch the first warm-up step has lr 0 and changes nothing."));
    }
    Ok(section("training", "Training", &side(items.into_iter())))
}
