//! Dotted keys: a table's keys flattened (`train.mlp.lr`), the value at a key, and the line of
//! the file each key is set on (for errors that say where a value came from).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

/// The value at a serde path (`lr`, `mean[1]`, `a.b`) inside `v`, as TOML.
pub(super) fn lookup(v: &toml::Value, path: &str) -> Option<String> {
    let mut cur = v;
    for part in path.split('.') {
        let (name, index) = match part.split_once('[') {
            Some((n, rest)) => (n, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (part, None),
        };
        if !name.is_empty() {
            cur = cur.get(name)?;
        }
        if let Some(i) = index {
            cur = cur.get(i)?;
        }
    }
    Some(cur.to_string())
}

/// Dotted key → line number (1-based) of every `key = value` line and `[table]` header in a
/// TOML text, for pointing at where a value was set.
pub(super) fn key_lines(text: &str) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    let mut table = String::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.starts_with('#') || t.is_empty() {
            continue;
        }
        if t.starts_with('[') {
            table = t
                .trim_start_matches('[')
                .split(']')
                .next()
                .unwrap_or("")
                .trim()
                .to_string();
            out.entry(table.clone()).or_insert(i + 1);
            continue;
        }
        if let Some((k, _)) = t.split_once('=') {
            let k = k.trim().trim_matches('"');
            let key = if table.is_empty() {
                k.to_string()
            } else {
                format!("{table}.{k}")
            };
            out.entry(key).or_insert(i + 1);
        }
    }
    out
}

/// Keys under a section whose params are free-form (a map of user-chosen names) are accepted.
pub(super) fn is_opaque_under(key: &str, section: &str) -> bool {
    key.strip_prefix(section)
        .is_some_and(|rest| rest.starts_with('.'))
}

pub(super) fn flatten_toml(prefix: &str, table: &toml::Table, out: &mut BTreeSet<String>) {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(t) if !t.is_empty() => flatten_toml(&key, t, out),
            _ => {
                out.insert(key);
            }
        }
    }
}

/// Dotted leaf keys of a JSON object (a stage's default-filled params), under `prefix`.
pub fn flatten_json(prefix: &str, value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten_json(&key, v, out);
            }
        }
        _ => {
            if !prefix.is_empty() {
                out.insert(prefix.to_string());
            }
        }
    }
}
