//! `pipeline.toml` and `--set key=value` overrides.
//!
//! Each stage owns one section (`[dataset]`, `[train.linear]`, …) and reads it as a typed struct
//! whose missing fields take their defaults. A key that no stage reads is an error that lists the
//! valid keys, so a typo (`--set train.linear.lrr=…`) never silently does nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::engine::error::{EngineError, Result};

pub const DEFAULT_FILE: &str = "pipeline.toml";

/// The section of sweep definitions (`[sweep.<name>]`).
pub const SWEEP_SECTION: &str = "sweep";
/// `[executor.<name>]`: where stages run (a Slurm cluster), never what they compute.
pub const EXECUTOR_SECTION: &str = "executor";

/// The origin of a value given on the command line.
const SET_ORIGIN: &str = "--set";

#[derive(Debug, Clone)]
pub struct Config {
    /// The folder holding the config file: relative paths in it resolve against this folder.
    pub root: PathBuf,
    pub file: PathBuf,
    table: toml::Table,
    /// The `[sweep.<name>]` tables: how to run the experiment many times, not a stage's
    /// parameters, so kept apart from `table` (crate::sweep reads them).
    sweeps: toml::Table,
    /// The `[executor.<name>]` tables: how to run stages elsewhere, so never in a key.
    executors: toml::Table,
    /// Keys set outside the file (`--set`, a sweep member) → where, for error messages.
    assigned: BTreeMap<String, String>,
    /// Dotted key → its line in the file, for error messages.
    lines: BTreeMap<String, usize>,
}

impl Config {
    /// Reads `file` and applies `sets` (each `dotted.key=value`, the value in TOML syntax, or a
    /// bare string).
    pub fn load(file: &Path, sets: &[String]) -> Result<Config> {
        let text = std::fs::read_to_string(file).map_err(|e| {
            EngineError::Config(format!("{}: cannot read config: {e}", file.display()))
        })?;
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            EngineError::Config(format!("{}: invalid TOML: {e}", file.display()))
        })?;
        let file = std::path::absolute(file).map_err(|e| EngineError::io(file, e))?;
        let root = file
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let mut config = Config {
            root,
            file,
            table,
            sweeps: toml::Table::new(),
            executors: toml::Table::new(),
            assigned: BTreeMap::new(),
            lines: key_lines(&text),
        };
        config.split_sweeps();
        for set in sets {
            config.apply_set(set)?;
        }
        Ok(config)
    }

    /// A config from TOML text (tests).
    pub fn from_str(text: &str, root: &Path) -> Result<Config> {
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| EngineError::Config(format!("invalid TOML: {e}")))?;
        let mut config = Config {
            root: root.to_path_buf(),
            file: root.join(DEFAULT_FILE),
            table,
            sweeps: toml::Table::new(),
            executors: toml::Table::new(),
            assigned: BTreeMap::new(),
            lines: key_lines(text),
        };
        config.split_sweeps();
        Ok(config)
    }

    /// Moves `[sweep.*]` out of the stages' table (see [`Config::sweeps`]).
    fn split_sweeps(&mut self) {
        if let Some(toml::Value::Table(t)) = self.table.remove(SWEEP_SECTION) {
            self.sweeps.extend(t);
        }
        if let Some(toml::Value::Table(t)) = self.table.remove(EXECUTOR_SECTION) {
            self.executors.extend(t);
        }
    }

    /// `[executor.<name>]` as `T` (its defaults where a key is missing); errors name the key.
    pub fn executor<T: DeserializeOwned + Default>(&self, name: &str) -> Result<T> {
        let Some(value) = self.executors.get(name) else {
            return Ok(T::default());
        };
        serde_path_to_error::deserialize(value.clone()).map_err(|e| {
            let key = format!("{EXECUTOR_SECTION}.{name}.{}", e.path());
            EngineError::Config(format!(
                "`{key}` ({}): {}",
                self.origin(&key),
                e.inner().message()
            ))
        })
    }

    /// The `[sweep.<name>]` tables, by name.
    pub fn sweeps(&self) -> &toml::Table {
        &self.sweeps
    }

    /// The same config with `values` (dotted key → value) assigned, each recorded as coming from
    /// `origin` (a sweep member's values: errors about them name the sweep, not the file).
    pub fn with_values(&self, values: &[(String, toml::Value)], origin: &str) -> Result<Config> {
        let mut config = self.clone();
        for (key, value) in values {
            config.assign(key, value.clone(), origin)?;
        }
        Ok(config)
    }

    fn apply_set(&mut self, set: &str) -> Result<()> {
        let (key, raw) = set.split_once('=').ok_or_else(|| {
            EngineError::Config(format!(
                "--set {set}: expected key=value, e.g. train.linear.lr=2e-4"
            ))
        })?;
        let key = key.trim();
        if key.is_empty() || key.split('.').any(str::is_empty) {
            return Err(EngineError::Config(format!(
                "--set {set}: invalid key `{key}`"
            )));
        }
        // Parse the value as TOML (numbers, booleans, arrays, quoted strings); anything else is
        // taken as a bare string, so `--set dataset.kind=flickr30k` works without quotes.
        let value = format!("v = {raw}")
            .parse::<toml::Table>()
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| toml::Value::String(raw.to_string()));
        self.assign(key, value, SET_ORIGIN)
            .map_err(|e| EngineError::Config(format!("--set {set}: {e}")))
    }

    /// Sets dotted `key` to `value`, remembering `origin` for error messages.
    fn assign(&mut self, key: &str, value: toml::Value, origin: &str) -> Result<()> {
        let mut parts: Vec<&str> = key.split('.').collect();
        let leaf = parts.pop().expect("split yields at least one part");
        let mut table = if parts.first() == Some(&SWEEP_SECTION) {
            parts.remove(0);
            &mut self.sweeps
        } else if parts.first() == Some(&EXECUTOR_SECTION) {
            parts.remove(0);
            &mut self.executors
        } else {
            &mut self.table
        };
        for part in parts {
            let entry = table
                .entry(part.to_string())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            table = entry.as_table_mut().ok_or_else(|| {
                EngineError::Config(format!("`{part}` in `{key}` is not a section"))
            })?;
        }
        table.insert(leaf.to_string(), value);
        self.assigned.insert(key.to_string(), origin.to_string());
        Ok(())
    }

    /// The same config with nothing set: every stage's parameters at their defaults.
    pub fn with_empty_table(&self) -> Config {
        Config {
            table: toml::Table::new(),
            assigned: BTreeMap::new(),
            lines: BTreeMap::new(),
            ..self.clone()
        }
    }

    /// The section at dotted path `section` ("" = the whole file), or an empty table.
    pub fn section(&self, section: &str) -> toml::Table {
        let mut table = &self.table;
        if section.is_empty() {
            return table.clone();
        }
        for part in section.split('.') {
            match table.get(part).and_then(toml::Value::as_table) {
                Some(t) => table = t,
                None => return toml::Table::new(),
            }
        }
        table.clone()
    }

    /// Reads section `section` as `T`, missing fields at `T`'s defaults.
    pub fn typed<T: DeserializeOwned + Serialize + Default>(&self, section: &str) -> Result<T> {
        self.typed_over(section, &T::default())
    }

    /// Reads section `section` as `T`; missing fields take their values from `defaults` (for
    /// sections whose defaults depend on the node, e.g. each encoder's preset). Every stage's
    /// parameters are read here, so every configuration error has this one shape.
    pub fn typed_over<T: DeserializeOwned + Serialize>(
        &self,
        section: &str,
        defaults: &T,
    ) -> Result<T> {
        let mut merged = match toml::Value::try_from(defaults) {
            Ok(toml::Value::Table(t)) => t,
            _ => {
                return Err(EngineError::Other(format!(
                    "section [{section}]: defaults are not a table"
                )));
            }
        };
        merged.extend(self.section(section));
        let value = toml::Value::Table(merged);
        serde_path_to_error::deserialize(value.clone()).map_err(|e| {
            let field = e.path().to_string();
            let key = if section.is_empty() {
                field.clone()
            } else {
                format!("{section}.{field}")
            };
            let given = lookup(&value, &field)
                .map(|v| format!(" = {v}"))
                .unwrap_or_default();
            EngineError::Config(format!(
                "`{key}`{given} ({}): {}",
                self.origin(&key),
                e.inner().message()
            ))
        })
    }

    /// Where `key` (dotted) was set: `--set`, the file and line, or `default`.
    pub fn origin(&self, key: &str) -> String {
        if let Some(origin) = self.assigned.get(key) {
            return origin.clone();
        }
        // The key itself, or the table it is in (an inline table, an array of tables).
        let mut k = key;
        loop {
            if let Some(line) = self.lines.get(k) {
                return format!("{}:{line}", self.file.display());
            }
            match k.rsplit_once('.') {
                Some((parent, _)) => k = parent,
                None => return "default".into(),
            }
        }
    }

    /// Resolves a path from the config against the config's folder.
    pub fn resolve(&self, path: &str) -> PathBuf {
        let p = Path::new(path);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.root.join(p)
        }
    }

    /// Every leaf key in the file (after overrides), dotted.
    pub fn leaf_keys(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        flatten_toml("", &self.table, &mut out);
        out
    }

    /// Errors on any key no stage reads; `known` are the dotted keys the stages accept.
    pub fn check_known(
        &self,
        known: &BTreeSet<String>,
        known_sections: &BTreeSet<String>,
    ) -> Result<()> {
        let unknown: Vec<String> = self
            .leaf_keys()
            .into_iter()
            .filter(|k| {
                !known.contains(k)
                    && !known_sections.iter().any(|s| is_opaque_under(k, s))
                    // An empty table that is a known section (`[train.b]`, all defaults).
                    && !known.iter().any(|known| is_opaque_under(known, k))
            })
            .collect();
        if unknown.is_empty() {
            return Ok(());
        }
        let valid = known.iter().cloned().collect::<Vec<_>>().join("\n  ");
        let from_set: Vec<&String> = unknown
            .iter()
            .filter(|k| self.assigned.get(*k).is_some_and(|o| o == SET_ORIGIN))
            .collect();
        let elsewhere: Vec<String> = unknown
            .iter()
            .filter_map(|k| match self.assigned.get(k) {
                Some(o) if o != SET_ORIGIN => Some(format!("`{k}` ({o})")),
                _ => None,
            })
            .collect();
        let msg = if !elsewhere.is_empty() {
            format!(
                "unknown key {}; valid keys:\n  {valid}",
                elsewhere.join(", ")
            )
        } else if !from_set.is_empty() {
            format!(
                "unknown --set key {}; valid keys:\n  {valid}",
                from_set
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        } else {
            format!(
                "{}: unknown key {}; valid keys:\n  {valid}",
                self.file.display(),
                unknown
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        Err(EngineError::Config(msg))
    }
}

/// The value at a serde path (`lr`, `mean[1]`, `a.b`) inside `v`, as TOML.
fn lookup(v: &toml::Value, path: &str) -> Option<String> {
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
fn key_lines(text: &str) -> BTreeMap<String, usize> {
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
fn is_opaque_under(key: &str, section: &str) -> bool {
    key.strip_prefix(section)
        .is_some_and(|rest| rest.starts_with('.'))
}

fn flatten_toml(prefix: &str, table: &toml::Table, out: &mut BTreeSet<String>) {
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

/// Finds the config file: `explicit` if given, else ./pipeline.toml, else the nearest one above.
pub fn find_file(explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(p) = explicit {
        return Ok(p.to_path_buf());
    }
    let cwd = std::env::current_dir().map_err(|e| EngineError::io(".", e))?;
    cwd.ancestors()
        .map(|d| d.join(DEFAULT_FILE))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            EngineError::Config(format!(
                "no {DEFAULT_FILE} in {} or above; pass --config FILE",
                cwd.display()
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_parses_toml_values_and_bare_strings() {
        let dir = std::env::temp_dir();
        let mut c = Config::from_str("[a]\nx = 1\n", &dir).unwrap();
        c.apply_set("a.x=2e-4").unwrap();
        c.apply_set("a.name=flickr30k").unwrap();
        c.apply_set("a.list=[1, 2]").unwrap();
        c.apply_set("b.c.d=true").unwrap();
        let a = c.section("a");
        assert_eq!(a["x"].as_float(), Some(2e-4));
        assert_eq!(a["name"].as_str(), Some("flickr30k"));
        assert_eq!(a["list"].as_array().unwrap().len(), 2);
        assert_eq!(c.section("b.c")["d"].as_bool(), Some(true));
        assert!(c.apply_set("novalue").is_err());
        assert!(c.apply_set("a..b=1").is_err());
    }

    #[derive(serde::Deserialize, serde::Serialize, Default)]
    #[serde(default, deny_unknown_fields)]
    struct Section {
        lr: f64,
        steps: usize,
        mean: Vec<f64>,
    }

    #[test]
    fn type_errors_name_the_key_its_value_and_where_it_was_set() {
        let dir = std::env::temp_dir();
        let text = "[a]\nlr = 0.1\n\n[b]\nsteps = -4\n";
        let mut c = Config::from_str(text, &dir).unwrap();
        let err = c.typed::<Section>("b").err().unwrap().to_string();
        assert!(
            err.contains("`b.steps` = -4 (") && err.contains(":5)"),
            "{err}"
        );
        assert!(err.contains("usize"), "{err}");
        c.apply_set("a.lr=abc").unwrap();
        let err = c.typed::<Section>("a").err().unwrap().to_string();
        assert!(err.contains("`a.lr` = \"abc\" (--set)"), "{err}");
        assert!(err.contains("expected f64"), "{err}");
        let c = Config::from_str("[b]\nmean = [1.0, \"x\"]\n", &dir).unwrap();
        let err = c.typed::<Section>("b").err().unwrap().to_string();
        assert!(err.contains("`b.mean[1]` = \"x\""), "{err}");
    }

    #[test]
    fn unknown_keys_are_listed_with_the_valid_ones() {
        let dir = std::env::temp_dir();
        let mut c = Config::from_str("[a]\nx = 1\n", &dir).unwrap();
        c.apply_set("a.y=3").unwrap();
        let known: BTreeSet<String> = ["a.x".to_string()].into();
        let err = c
            .check_known(&known, &BTreeSet::new())
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown --set key `a.y`"), "{err}");
        assert!(err.contains("a.x"), "{err}");
    }
}
