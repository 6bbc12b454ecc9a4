//! `pipeline.toml` and `--set key=value` overrides.
//!
//! Each stage owns one section (`[dataset]`, `[train.linear]`, …) and reads it as a typed struct
//! whose missing fields take their defaults. A key that no stage reads is an error that lists the
//! valid keys, so a typo (`--set train.linear.lrr=…`) never silently does nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::engine::error::{EngineError, Result};

mod keys;

pub use keys::flatten_json;
use keys::{flatten_toml, is_opaque_under, key_lines, lookup};

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

    /// Errors on any key no stage reads (naming the new name of a renamed one); `known` are the
    /// dotted keys the stages accept.
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
        if let Some((key, (new, why))) = unknown.iter().find_map(|k| renamed(k).map(|r| (k, r))) {
            let origin = self.assigned.get(key).cloned();
            return Err(EngineError::Config(format!(
                "{}: `{key}` is now `{new}`: {why}",
                origin.unwrap_or_else(|| self.file.display().to_string())
            )));
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
mod tests;

/// Keys renamed since they shipped: (old last segment, new last segment, why).
const RENAMED: &[(&str, &str, &str)] = &[(
    "svcca_resamples",
    "costly_resamples",
    "it caps Procrustes' halves and permutations as well as SVCCA's halves",
)];

/// The new key and why, for a key under an old name.
fn renamed(key: &str) -> Option<(String, &'static str)> {
    let (section, last) = match key.rsplit_once('.') {
        Some((section, last)) => (format!("{section}."), last),
        None => (String::new(), key),
    };
    RENAMED
        .iter()
        .find(|(old, _, _)| *old == last)
        .map(|(_, new, why)| (format!("{section}{new}"), *why))
}
