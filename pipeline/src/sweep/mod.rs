//! Sweeps: the experiment run many times with some parameters changed.
//!
//! ```toml
//! [sweep.lr_seed]
//! base = "linear"                     # the `<stage>:linear` nodes: train, align, probe
//!                                     # (a list, e.g. ["linear", "mlp"], is one more axis)
//! grid = { lr = [1e-4, 2e-4], "align.topk" = [5, 10] }   # cartesian product
//! seeds = [0, 1, 2]                   # train.linear.seed (and dataset.seed with split_seed)
//! seed_keys = ["align.seed"]          # optional: what the seeds set instead (here: other rows
//!                                     # scored, one trained adapter)
//! ```
//!
//! A member is the configuration with one value of every axis assigned, exactly as `--set` would
//! assign it: its stages are the ordinary `train:linear`, `align:linear`, … with those
//! parameters, keyed and stored like any other, so its values live in its manifests and two
//! members with the same effective parameters are one artifact. A grid key without a dot is a
//! key of the base's `[train.<base>]` table (`lr` = `train.linear.lr`); any other stage's
//! parameter is named by its full `--set` path.

pub mod compare;
mod table;

use table::SweepTable;

use std::collections::BTreeSet;

use crate::config::{Config, SWEEP_SECTION};
use crate::engine::error::{EngineError, Result};
use crate::engine::graph::Graph;
use crate::engine::stage::StageId;

/// `run --stage sweep:NAME` runs sweep NAME: the sweep's stage identity.
pub fn stage_id(name: &str) -> StageId {
    StageId::new(FAMILY, name)
}

/// The family of sweeps' stage identities (`sweep:NAME`).
pub const FAMILY: &str = "sweep";

/// The family of the stages a sweep's `base` names: `train:<base>`, trained from `[train.<base>]`.
const TRAIN_FAMILY: &str = "train";

/// The keys a `[sweep.<name>]` table may hold.
const FIELDS: [&str; 5] = ["base", "grid", "seeds", "seed_keys", "split_seed"];

/// Stands for the member's base in an axis key (`train.{base}.lr`).
const BASE: &str = "{base}";

/// The axis of a sweep over several bases.
pub const BASE_AXIS: &str = "base";

/// One parameter a sweep varies.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    /// As the sweep names it (`lr`, `seed`, `align.topk`, `base`): the compare table's column.
    pub name: String,
    /// The dotted configuration keys each value is assigned to; `{base}` in them stands for the
    /// member's base. None for the base axis (it picks the stages, it sets no value).
    pub keys: Vec<String>,
    pub values: Vec<toml::Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Sweep {
    pub name: String,
    /// The adapters whose stages the members build (`train:<base>`, `align:<base>`, …); with
    /// more than one, the first axis is [`BASE_AXIS`].
    pub bases: Vec<String>,
    pub axes: Vec<Axis>,
}

/// One point of a sweep's grid.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// Its position in [`Sweep::members`].
    pub index: usize,
    /// The adapter whose stages it builds.
    pub base: String,
    /// One value per axis, in the sweep's axis order.
    pub values: Vec<(String, toml::Value)>,
}

impl Member {
    /// `lr=0.0001 seed=0`: how run lines and status name the member.
    pub fn label(&self) -> String {
        self.values
            .iter()
            .map(|(name, v)| format!("{name}={}", show(v)))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// A TOML value as a person writes it (strings without quotes).
pub fn show(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl Sweep {
    /// The names of the sweeps `config` defines.
    pub fn names(config: &Config) -> Vec<String> {
        config.sweeps().keys().cloned().collect()
    }

    /// Reads `[sweep.<name>]`; every mistake in it is an error that names its key.
    pub fn parse(config: &Config, name: &str) -> Result<Sweep> {
        let Some(table) = config.sweeps().get(name) else {
            let known = Self::names(config);
            return Err(EngineError::Config(format!(
                "no sweep named `{name}` in {}; {}",
                config.file.display(),
                if known.is_empty() {
                    "it defines none (add a [sweep.<name>] table)".to_string()
                } else {
                    format!("its sweeps: {}", known.join(", "))
                }
            )));
        };
        let section = format!("{SWEEP_SECTION}.{name}");
        let Some(table) = table.as_table() else {
            let r = SweepTable {
                config,
                section,
                table: &toml::Table::new(),
            };
            return Err(r.bad("", Some(table), "a table"));
        };
        let r = SweepTable {
            config,
            section,
            table,
        };
        r.check_keys()?;
        let bases = r.bases()?;
        let mut axes = Vec::new();
        if bases.len() > 1 {
            axes.push(Axis {
                name: BASE_AXIS.into(),
                keys: Vec::new(),
                values: bases
                    .iter()
                    .map(|b| toml::Value::String(b.clone()))
                    .collect(),
            });
        }
        axes.extend(r.grid_axes()?);
        axes.extend(r.seed_axis()?);
        r.check_axes(&axes)?;
        Ok(Sweep {
            name: name.to_string(),
            bases,
            axes,
        })
    }

    /// Every point of the grid: the cartesian product of the axes, the last axis fastest.
    pub fn members(&self) -> Vec<Member> {
        let mut out = vec![Vec::new()];
        for axis in &self.axes {
            out = out
                .into_iter()
                .flat_map(|prefix: Vec<(String, toml::Value)>| {
                    axis.values.iter().map(move |v| {
                        let mut next = prefix.clone();
                        next.push((axis.name.clone(), v.clone()));
                        next
                    })
                })
                .collect();
        }
        out.into_iter()
            .enumerate()
            .map(|(index, values)| {
                let base = values
                    .iter()
                    .find(|(name, _)| name == BASE_AXIS && self.bases.len() > 1)
                    .map(|(_, v)| show(v))
                    .unwrap_or_else(|| self.bases[0].clone());
                Member {
                    index,
                    base,
                    values,
                }
            })
            .collect()
    }

    /// The configuration of `member`: `config` with its values assigned.
    pub fn member_config(&self, config: &Config, member: &Member) -> Result<Config> {
        let origin = format!(
            "sweep {}, {}",
            self.name,
            config.origin(&format!("{SWEEP_SECTION}.{}", self.name))
        );
        let mut values = Vec::new();
        for (axis, (_, value)) in self.axes.iter().zip(&member.values) {
            for key in &axis.keys {
                values.push((key.replace(BASE, &member.base), value.clone()));
            }
        }
        config.with_values(&values, &origin)
    }

    /// The nodes a member on `base` builds: every `<stage>:<base>` node of its graph.
    pub fn targets(&self, graph: &Graph, base: &str) -> Result<Vec<String>> {
        let targets: Vec<String> = graph
            .names()
            .into_iter()
            .filter(|n| n.parse::<StageId>().is_ok_and(|id| id.name() == Some(base)))
            .map(String::from)
            .collect();
        if targets.is_empty() {
            let ids: Vec<StageId> = graph
                .names()
                .iter()
                .filter_map(|n| n.parse().ok())
                .collect();
            let adapters: BTreeSet<&str> = ids
                .iter()
                .filter(|id| id.family() == TRAIN_FAMILY)
                .filter_map(StageId::name)
                .collect();
            return Err(EngineError::Config(format!(
                "`{SWEEP_SECTION}.{}.base` names \"{base}\": no stage of this configuration is \
                 named `<stage>:{base}`; adapters: {}",
                self.name,
                adapters.into_iter().collect::<Vec<_>>().join(", ")
            )));
        }
        Ok(targets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> Config {
        Config::from_str(text, &std::env::temp_dir()).unwrap()
    }

    #[test]
    fn members_are_the_cartesian_product_with_seeds_last() {
        let c = config(
            "[sweep.s]\nbase = \"linear\"\ngrid = { lr = [1, 2], \"align.topk\" = [5, 10, 20] }\n\
             seeds = [0, 1]\n",
        );
        let s = Sweep::parse(&c, "s").unwrap();
        let names: Vec<&str> = s.axes.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["align.topk", "lr", "seed"]);
        assert_eq!(s.axes[1].keys, ["train.{base}.lr"]);
        assert_eq!(s.axes[0].keys, ["align.topk"]);
        let members = s.members();
        assert_eq!(members.len(), 12);
        assert_eq!(members[0].label(), "align.topk=5 lr=1 seed=0");
        assert_eq!(members[1].label(), "align.topk=5 lr=1 seed=1");
        assert_eq!(members[11].label(), "align.topk=20 lr=2 seed=1");
        let m = s.member_config(&c, &members[3]).unwrap();
        assert_eq!(m.section("train.linear")["lr"].as_integer(), Some(2));
        assert_eq!(m.section("train.linear")["seed"].as_integer(), Some(1));
        assert_eq!(m.section("align")["topk"].as_integer(), Some(5));
        assert!(m.origin("train.linear.lr").starts_with("sweep s, "));
    }

    #[test]
    fn split_seed_assigns_the_dataset_seed_too() {
        let c = config("[sweep.s]\nbase = \"mlp\"\nseeds = [3]\nsplit_seed = true\n");
        let s = Sweep::parse(&c, "s").unwrap();
        assert_eq!(s.axes[0].keys, ["train.{base}.seed", "dataset.seed"]);
        let m = s.member_config(&c, &s.members()[0]).unwrap();
        assert_eq!(m.section("dataset")["seed"].as_integer(), Some(3));
    }

    #[test]
    fn seed_keys_say_what_the_seeds_set() {
        let c = config(
            "[sweep.s]\nbase = \"mlp\"\nseeds = [3]\nseed_keys = [\"align.seed\", \"seed\"]\n",
        );
        let s = Sweep::parse(&c, "s").unwrap();
        assert_eq!(s.axes[0].keys, ["align.seed", "train.{base}.seed"]);
        let m = s.member_config(&c, &s.members()[0]).unwrap();
        assert_eq!(m.section("align")["seed"].as_integer(), Some(3));
        assert_eq!(m.section("train.mlp")["seed"].as_integer(), Some(3));
        let c = config("[sweep.s]\nbase = \"mlp\"\nseeds = [3]\nseed_keys = []\n");
        let err = Sweep::parse(&c, "s").unwrap_err().to_string();
        assert!(err.contains("`sweep.s.seed_keys` = []"), "{err}");
    }

    #[test]
    fn a_list_of_bases_is_the_first_axis() {
        let c = config("[sweep.s]\nbase = [\"linear\", \"mlp\"]\ngrid = { lr = [1, 2] }\n");
        let s = Sweep::parse(&c, "s").unwrap();
        let members = s.members();
        assert_eq!(members.len(), 4);
        assert_eq!(members[2].label(), "base=mlp lr=1");
        assert_eq!(members[2].base, "mlp");
        let m = s.member_config(&c, &members[2]).unwrap();
        assert_eq!(m.section("train.mlp")["lr"].as_integer(), Some(1));
        assert!(m.section("train.linear").is_empty());
    }

    #[test]
    fn mistakes_name_their_key() {
        let cases = [
            ("[sweep.s]\ngrid = { lr = [1] }\n", "`sweep.s.base`"),
            (
                "[sweep.s]\nbase = \"l\"\ngrid = { lr = [] }\n",
                "`sweep.s.grid.lr` = []",
            ),
            (
                "[sweep.s]\nbase = \"l\"\ngrid = { lr = 3 }\n",
                "`sweep.s.grid.lr` = 3",
            ),
            (
                "[sweep.s]\nbase = \"l\"\nseeds = [\"a\"]\n",
                "`sweep.s.seeds`",
            ),
            ("[sweep.s]\nbase = \"l\"\n", "at least one parameter"),
            (
                "[sweep.s]\nbase = [\"a\", \"b\"]\n",
                "at least one parameter",
            ),
            (
                "[sweep.s]\nbase = [\"a\", \"a\"]\nseeds = [1]\n",
                "each name once",
            ),
            ("[sweep.s]\nbase = []\nseeds = [1]\n", "`sweep.s.base` = []"),
            (
                "[sweep.s]\nbase = \"l\"\nseeds = [1]\ngird = {}\n",
                "`sweep.s.gird`",
            ),
            (
                "[sweep.s]\nbase = \"l\"\nseeds = [1]\ngrid = { seed = [1] }\n",
                "varied twice",
            ),
        ];
        for (text, expected) in cases {
            let err = Sweep::parse(&config(text), "s").unwrap_err().to_string();
            assert!(err.contains(expected), "{text}: {err}");
        }
        let err = Sweep::parse(&config(""), "s").unwrap_err().to_string();
        assert!(err.contains("no sweep named `s`"), "{err}");
    }
}
