//! Configuration and artifact keys: every setting the numbers on the page came from.

use std::fmt::Write;

use serde::Serialize;

use super::{Page, section};
use crate::report::html::{self, escape};

/// Pretty JSON with sorted keys.
fn sorted_json<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .and_then(|v| serde_json::to_string_pretty(&v))
        .unwrap_or_default()
}

pub fn configuration(page: &Page) -> String {
    let mut conf = String::new();
    for a in page.results {
        let _ = write!(
            conf,
            "<h3>train:{}</h3><pre>{}</pre>",
            escape(&a.name),
            escape(&sorted_json(&a.train_config))
        );
    }
    if let Some(a0) = page.results.first() {
        let _ = write!(
            conf,
            "<h3>align</h3><pre>{}</pre><h3>probe</h3><pre>{}</pre>",
            escape(&sorted_json(a0.align.settings())),
            escape(&sorted_json(&a0.probe.probe.settings)),
        );
    }
    let _ = write!(
        conf,
        "<h3>report</h3><pre>{}</pre>",
        escape(&serde_json::to_string_pretty(page.config).unwrap_or_default()),
    );
    let key_rows: Vec<Vec<String>> = page
        .inputs
        .keys
        .iter()
        .map(|(s, k)| vec![escape(s), format!("<code>{}</code>", escape(k))])
        .collect();
    conf.push_str(&html::table(&["stage", "artifact key"], &key_rows, "keys"));
    section("configuration", "Configuration and artifact keys", &conf)
}
