//! Reading one `[sweep.<name>]` table, part by part.

use std::collections::BTreeSet;

use super::{Axis, BASE, BASE_AXIS, FIELDS};
use crate::config::Config;
use crate::engine::error::{EngineError, Result};

/// One `[sweep.<name>]` table being read: each part of it, every mistake an error naming its
/// key, its value and where it was set.
pub(super) struct SweepTable<'c> {
    pub config: &'c Config,
    pub section: String,
    pub table: &'c toml::Table,
}

impl SweepTable<'_> {
    pub(super) fn bad(
        &self,
        key: &str,
        value: Option<&toml::Value>,
        expected: &str,
    ) -> EngineError {
        let full = format!("{}.{key}", self.section);
        let given = value.map(|v| format!(" = {v}")).unwrap_or_default();
        EngineError::Config(format!(
            "`{full}`{given} ({}): expected {expected}",
            self.config.origin(&full)
        ))
    }

    pub(super) fn check_keys(&self) -> Result<()> {
        match self.table.keys().find(|k| !FIELDS.contains(&k.as_str())) {
            Some(key) => Err(self.bad(
                key,
                self.table.get(key),
                &format!("one of the keys {}", FIELDS.join(", ")),
            )),
            None => Ok(()),
        }
    }

    /// `base`: one adapter name, or a list of them (each once).
    pub(super) fn bases(&self) -> Result<Vec<String>> {
        let expected = "the name of a [train.<name>] table, or a list of them";
        let bases: Vec<String> = match self.table.get("base") {
            Some(toml::Value::String(s)) if !s.is_empty() => vec![s.clone()],
            Some(toml::Value::Array(list))
                if !list.is_empty()
                    && list
                        .iter()
                        .all(|v| v.as_str().is_some_and(|s| !s.is_empty())) =>
            {
                list.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            }
            other => return Err(self.bad("base", other, expected)),
        };
        if bases.iter().collect::<BTreeSet<_>>().len() != bases.len() {
            return Err(self.bad("base", self.table.get("base"), "each name once"));
        }
        Ok(bases)
    }

    /// `grid`: a key (a base's `[train.<base>]` key, or a dotted `--set` path) per axis.
    pub(super) fn grid_axes(&self) -> Result<Vec<Axis>> {
        let Some(grid) = self.table.get("grid") else {
            return Ok(Vec::new());
        };
        let Some(grid) = grid.as_table() else {
            return Err(self.bad("grid", Some(grid), "a table of key = [values]"));
        };
        let mut axes = Vec::new();
        for (key, values) in grid {
            let values = match values.as_array() {
                Some(v) if !v.is_empty() => v.clone(),
                _ => {
                    let what = format!("grid.{key}");
                    return Err(self.bad(&what, Some(values), "a non-empty list of values"));
                }
            };
            if key == BASE_AXIS {
                return Err(self.bad("grid.base", None, "bases in `base`, not in the grid"));
            }
            axes.push(Axis {
                name: key.clone(),
                keys: vec![full_key(key)],
                values,
            });
        }
        Ok(axes)
    }

    /// `seeds`: assigned to the base's training seed, or to `seed_keys` where given (with
    /// `split_seed`: the dataset's split seed too).
    pub(super) fn seed_axis(&self) -> Result<Option<Axis>> {
        let Some(seeds) = self.table.get("seeds") else {
            return Ok(None);
        };
        let values = match seeds.as_array() {
            Some(v) if !v.is_empty() && v.iter().all(|s| s.as_integer().is_some()) => v.clone(),
            _ => return Err(self.bad("seeds", Some(seeds), "a non-empty list of integers")),
        };
        let mut keys = match self.table.get("seed_keys") {
            None => vec![format!("train.{BASE}.seed")],
            Some(list) => match list.as_array() {
                Some(v) if !v.is_empty() && v.iter().all(|k| k.as_str().is_some()) => v
                    .iter()
                    .filter_map(toml::Value::as_str)
                    .map(full_key)
                    .collect(),
                _ => {
                    let expected = "a non-empty list of keys (`align.seed`, `seed` for the base's)";
                    return Err(self.bad("seed_keys", Some(list), expected));
                }
            },
        };
        match self.table.get("split_seed") {
            None | Some(toml::Value::Boolean(false)) => {}
            Some(toml::Value::Boolean(true)) => keys.push("dataset.seed".into()),
            other => return Err(self.bad("split_seed", other, "true or false")),
        }
        Ok(Some(Axis {
            name: "seed".into(),
            keys,
            values,
        }))
    }

    /// Something varies, and no key is varied twice.
    pub(super) fn check_axes(&self, axes: &[Axis]) -> Result<()> {
        if axes.iter().all(|a| a.keys.is_empty()) {
            let expected = "at least one parameter to vary (grid or seeds)";
            return Err(self.bad("grid", None, expected));
        }
        let mut seen = BTreeSet::new();
        for axis in axes {
            for key in &axis.keys {
                if !seen.insert(key.clone()) {
                    return Err(self.bad(
                        &format!("grid.{}", axis.name),
                        None,
                        &format!("each key varied once; `{key}` is varied twice"),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// A sweep's key as the configuration names it: a dotted `--set` path as written, any other a
/// key of the base's `[train.<base>]` table.
fn full_key(key: &str) -> String {
    if key.contains('.') {
        key.to_string()
    } else {
        format!("train.{BASE}.{key}")
    }
}
