//! `pipeline sweep NAME` (= `pipeline run --stage sweep:NAME`) and the sweep lines of
//! `pipeline status`: a sweep's members as one plan of distinct artifacts.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::time::Instant;

use crate::cli::compare_table::View;
use crate::config::Config;
use crate::engine::error::{EngineError, Result};
use crate::engine::graph::{Graph, Keyed, Keys};
use crate::engine::hash_index::HashIndex;
use crate::engine::runner::{self, Options, Plan};
use crate::engine::stage::{AnyStage, Registry};
use crate::engine::store::Store;
use crate::executor::submit::SweepWork;
use crate::sweep::compare::CompareNode;
use crate::sweep::{Member, Sweep};

/// A member with its graph, the nodes it needs and their keys.
pub struct Expanded {
    pub member: Member,
    pub graph: Graph,
    /// Its configuration.
    pub config: Config,
    /// Its target nodes (`train:<base>`, `align:<base>`, …) by name.
    pub targets: Vec<String>,
    pub order: Vec<usize>,
    pub keys: Keys,
}

/// Every member of `sweep` configured and keyed: any value a member's stages cannot use is an
/// error here, before anything runs.
pub fn expand(
    sweep: &Sweep,
    config: &Config,
    registry: Registry,
    index: &mut HashIndex,
) -> Result<Vec<Expanded>> {
    // The base must be an adapter of the configuration itself: a member's values could
    // otherwise create one (`train.<typo>.seed`).
    let base_graph = Graph::build(registry(config)?, config)?;
    for base in &sweep.bases {
        sweep.targets(&base_graph, base)?;
    }
    let mut out = Vec::new();
    for member in sweep.members() {
        let mconfig = sweep.member_config(config, &member)?;
        let in_member = |e: EngineError| match e {
            EngineError::Config(msg) => EngineError::Config(format!(
                "sweep {} member [{}]: {msg}",
                sweep.name,
                member.label()
            )),
            other => other,
        };
        let graph = Graph::build(registry(&mconfig)?, &mconfig).map_err(in_member)?;
        let targets = sweep.targets(&graph, &member.base)?;
        let order = graph.closure(&targets);
        graph.check_params(&order).map_err(in_member)?;
        let keys = graph.keys_for(index, &order)?;
        out.push(Expanded {
            member,
            graph,
            config: mconfig,
            targets,
            order,
            keys,
        });
    }
    Ok(out)
}

/// The compare stage of `sweep` over `members`, as a one-node graph, and its key.
pub fn compare_graph(
    sweep: &Sweep,
    members: &[Expanded],
    config: &Config,
    registry: Registry,
    index: &mut HashIndex,
) -> Result<(Graph, Keyed)> {
    let mut inputs = BTreeMap::new();
    let mut with_stages = Vec::new();
    for m in members {
        // Fresh instances of the member's target stages: the compare stage owns them.
        let stages: Vec<Box<dyn AnyStage>> = registry(&m.config)?
            .into_iter()
            .filter(|s| m.targets.contains(&s.stage_name().to_string()))
            .collect();
        for t in &m.targets {
            let i = m.graph.index_of(t).expect("targets are nodes");
            inputs.insert(format!("{t}@{}", m.member.index), m.keys[&i].key.clone());
        }
        with_stages.push((m.member.clone(), stages));
    }
    let report: stages::report::ReportConfig = config.typed("report")?;
    let node = CompareNode::new(sweep, with_stages, (report.font, report.font_bold));
    let graph = Graph::detached(Box::new(node), config)?;
    let keyed = graph.key_with_inputs(index, 0, inputs)?;
    Ok((graph, keyed))
}

/// Builds the members of sweep `name` that are not built, `jobs` at a time; a failed member is
/// reported and the others finish. Exit 1 when any member failed.
pub fn run(
    config: &Config,
    registry: Registry,
    store: &Store,
    index: &mut HashIndex,
    name: &str,
    jobs: usize,
    member: Option<usize>,
) -> Result<i32> {
    let clock = Instant::now();
    let sweep = Sweep::parse(config, name)?;
    let mut members = expand(&sweep, config, registry, index)?;
    if let Some(i) = member {
        if i >= members.len() {
            return Err(EngineError::Config(format!(
                "--member {i}: sweep {name} has {} members (0 to {})",
                members.len(),
                members.len().saturating_sub(1)
            )));
        }
        return run_member(store, name, members.swap_remove(i), jobs);
    }
    let (compare, compare_key) = compare_graph(&sweep, &members, config, registry, index)?;
    let mut plan = Plan::default();
    let mut items_of: Vec<BTreeSet<usize>> = Vec::new();
    let mut compare_deps = Vec::new();
    for m in &members {
        let items = plan.add(
            &m.graph,
            &m.keys,
            &m.order,
            &BTreeSet::new(),
            &m.member.label(),
        );
        for t in &m.targets {
            compare_deps.push(items[&m.graph.index_of(t).expect("targets are nodes")]);
        }
        items_of.push(items.into_values().collect());
    }
    let page = stages::compare::CompareArtifact::at(
        &store.artifact_dir(&compare.nodes[0].name, &compare_key.key),
    )
    .index();
    plan.push(&compare, 0, compare_key, compare_deps, "");
    let mut out = std::io::stdout();
    let _ = writeln!(
        out,
        "sweep {name}: {} members, {} distinct artifacts",
        members.len(),
        plan.items.len()
    );
    let options = Options {
        jobs,
        keep_going: true,
    };
    let summary = runner::run_plan(&plan, store, options, &mut out)?;
    let failed = failed_members(&members, &items_of, &plan, &summary);
    let secs = clock.elapsed().as_secs_f64();
    let _ = writeln!(
        out,
        "sweep {name}: {} members built, {} failed; {} ran, {} reused ({secs:.2} s)",
        members.len() - failed.len(),
        failed.len(),
        summary.ran.len(),
        summary.reused.len()
    );
    // The compare stage can fail with every member built: that fails the sweep too.
    if failed.is_empty() && summary.failed.is_empty() {
        let _ = writeln!(out, "sweep {name}: page {}", page.display());
        return Ok(0);
    }
    for (title, error) in &summary.failed {
        let _ = writeln!(out, "failed: {title}: {error}");
    }
    for m in failed {
        let _ = writeln!(out, "failed member: [{}]", m.member.label());
    }
    Ok(1)
}

/// The members with an item (`items_of[m]`, into `plan`) that failed or was skipped.
fn failed_members<'m>(
    members: &'m [Expanded],
    items_of: &[BTreeSet<usize>],
    plan: &Plan,
    summary: &runner::Summary,
) -> Vec<&'m Expanded> {
    let broken: BTreeSet<String> = summary
        .failed
        .iter()
        .map(|(title, _)| title.clone())
        .chain(summary.skipped.iter().cloned())
        .collect();
    members
        .iter()
        .zip(items_of)
        .filter(|(_, items)| {
            items
                .iter()
                .any(|&i| broken.contains(&plan.items[i].title()))
        })
        .map(|(m, _)| m)
        .collect()
}

/// Builds one member's stages (a Slurm array task of `pipeline submit --stage sweep:NAME`).
fn run_member(store: &Store, name: &str, m: Expanded, jobs: usize) -> Result<i32> {
    let mut plan = Plan::default();
    plan.add(
        &m.graph,
        &m.keys,
        &m.order,
        &BTreeSet::new(),
        &m.member.label(),
    );
    let mut out = std::io::stdout();
    let options = Options {
        jobs,
        keep_going: false,
    };
    let summary = runner::run_plan(&plan, store, options, &mut out)?;
    let _ = writeln!(
        out,
        "sweep {name}: member {} [{}] built; {} ran, {} reused",
        m.member.index,
        m.member.label(),
        summary.ran.len(),
        summary.reused.len()
    );
    Ok(0)
}

/// What of sweep `name` is not built: its missing or stale members and, unless it is built,
/// its compare artifact.
pub fn unbuilt(
    config: &Config,
    registry: Registry,
    store: &Store,
    index: &mut HashIndex,
    name: &str,
) -> Result<SweepWork> {
    let sweep = Sweep::parse(config, name)?;
    let missing = member_states(&sweep, config, registry, store, index)?
        .into_iter()
        .filter(|(_, state)| *state != MemberState::Built)
        .map(|(m, _)| m.index)
        .collect();
    let members = expand(&sweep, config, registry, index)?;
    let (compare, keyed) = compare_graph(&sweep, &members, config, registry, index)?;
    let stage = compare.nodes[0].name.clone();
    let built = store.lookup(&stage, &keyed.key).is_some();
    Ok(SweepWork {
        name: name.to_string(),
        missing,
        compare: (!built).then_some((stage, keyed.key)),
    })
}

/// A member's state: every target built, some target built before with the same parameters
/// but other inputs or code (stale), or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MemberState {
    Built,
    Stale,
    Missing,
}

/// Each member of `sweep` with its state. A member is known by the nodes its values land in
/// (those whose parameters differ between members; its targets when none do): it is built when
/// every target exists, stale when each of those nodes was built before with the same
/// parameters (so only inputs or code changed since), missing otherwise.
pub fn member_states(
    sweep: &Sweep,
    config: &Config,
    registry: Registry,
    store: &Store,
    index: &mut HashIndex,
) -> Result<Vec<(Member, MemberState)>> {
    let members = expand(sweep, config, registry, index)?;
    let params = |m: &Expanded| -> BTreeMap<String, serde_json::Value> {
        m.order
            .iter()
            .map(|&i| {
                (
                    m.graph.nodes[i].name.clone(),
                    m.graph.nodes[i].params().clone(),
                )
            })
            .collect()
    };
    let all: Vec<BTreeMap<String, serde_json::Value>> = members.iter().map(params).collect();
    let names: BTreeSet<&String> = all.iter().flat_map(|p| p.keys()).collect();
    let varying: BTreeSet<&String> = names
        .into_iter()
        .filter(|name| {
            let values: Vec<Option<&serde_json::Value>> =
                all.iter().map(|p| p.get(*name)).collect();
            values.iter().any(|v| *v != values[0])
        })
        .collect();
    let mut history: BTreeMap<String, Vec<serde_json::Value>> = BTreeMap::new();
    let mut built_before = |name: &str, value: &serde_json::Value| {
        history
            .entry(name.to_string())
            .or_insert_with(|| store.history(name).into_iter().map(|m| m.params).collect())
            .contains(value)
    };
    let mut out = Vec::new();
    for (m, p) in members.into_iter().zip(&all) {
        let built = m.targets.iter().all(|t| {
            let i = m.graph.index_of(t).expect("targets are nodes");
            store.lookup(t, &m.keys[&i].key).is_some()
        });
        let mut identifying: Vec<&String> = p.keys().filter(|n| varying.contains(n)).collect();
        if identifying.is_empty() {
            identifying = m.targets.iter().collect();
        }
        let state = if built {
            MemberState::Built
        } else if identifying.iter().all(|n| built_before(n, &p[*n])) {
            MemberState::Stale
        } else {
            MemberState::Missing
        };
        out.push((m.member, state));
    }
    Ok(out)
}

/// One line per sweep of `config`: its members built / stale / missing (or why it is invalid).
pub fn status_lines(
    config: &Config,
    registry: Registry,
    store: &Store,
    index: &mut HashIndex,
) -> Vec<String> {
    Sweep::names(config)
        .into_iter()
        .map(|name| {
            let states = Sweep::parse(config, &name)
                .and_then(|s| member_states(&s, config, registry, store, index));
            match states {
                Ok(states) => {
                    let count = |st: MemberState| states.iter().filter(|(_, s)| *s == st).count();
                    format!(
                        "sweep   {name}: {} members: {} built, {} stale, {} missing",
                        states.len(),
                        count(MemberState::Built),
                        count(MemberState::Stale),
                        count(MemberState::Missing)
                    )
                }
                Err(e) => format!("sweep   {name}: invalid: {e}"),
            }
        })
        .collect()
}

/// `pipeline compare NAME`: the compare artifact of the sweep's current members (built here when
/// every member is), printed.
pub fn compare(
    config: &Config,
    registry: Registry,
    store: &Store,
    index: &mut HashIndex,
    name: &str,
    view: &View,
) -> Result<i32> {
    let sweep = Sweep::parse(config, name)?;
    let members = expand(&sweep, config, registry, index)?;
    let (graph, keyed) = compare_graph(&sweep, &members, config, registry, index)?;
    let stage = graph.nodes[0].name.clone();
    if store.lookup(&stage, &keyed.key).is_none() {
        let missing = members
            .iter()
            .filter(|m| {
                m.targets.iter().any(|t| {
                    let i = m.graph.index_of(t).expect("targets are nodes");
                    store.lookup(t, &m.keys[&i].key).is_none()
                })
            })
            .count();
        if missing > 0 {
            return Err(EngineError::Other(format!(
                "{missing} of the {} members of sweep {name} are not built; run `pipeline sweep \
                 {name}` first",
                members.len()
            )));
        }
        let mut plan = Plan::default();
        let deps: Vec<usize> = Vec::new();
        plan.push(&graph, 0, keyed.clone(), deps, "");
        runner::run_plan(&plan, store, Options::default(), &mut std::io::stderr())?;
    }
    let dir = store.artifact_dir(&stage, &keyed.key);
    let comparison = stages::compare::CompareArtifact::at(&dir)
        .read()
        .map_err(|e| EngineError::Other(e.to_string()))?;
    let mut out = std::io::stdout();
    if view.json {
        let text = serde_json::to_string_pretty(&comparison)
            .map_err(|e| EngineError::Other(e.to_string()))?;
        let _ = writeln!(out, "{text}");
        return Ok(0);
    }
    let _ = write!(
        out,
        "{}",
        crate::cli::compare_table::render(&comparison, view)?
    );
    let _ = writeln!(out, "tables: {}", dir.display());
    Ok(0)
}
