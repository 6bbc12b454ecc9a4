//! The subcommands.

use std::collections::BTreeSet;
use std::io::Write;
use std::time::Instant;

use crate::cli::{Cli, CliResult, Command, compare_table, sweep};
use crate::config::{self, Config};
use crate::engine::error::EngineError;
use crate::engine::graph::Graph;
use crate::engine::hash_index::HashIndex;
use crate::engine::key;
use crate::engine::runner::{self, Options, Plan};
use crate::engine::shards;
use crate::engine::stage::{Registry, Shard, StageId};
use crate::engine::status::{self, State};
use crate::engine::store::{self, Removal, Store};
use crate::executor::{jobs, submit};
use crate::sweep::Sweep;

struct Session {
    config: Config,
    registry: Registry,
    graph: Graph,
    store: Store,
    index: HashIndex,
}

fn open(cli: &Cli, registry: Registry) -> Result<Session, EngineError> {
    let file = config::find_file(cli.config.as_deref())?;
    let config = Config::load(&file, &cli.sets)?;
    let graph = Graph::build(registry(&config)?, &config)?;
    let store = Store::open(config.root.join("artifacts"))?;
    let index = HashIndex::load(store.root());
    Ok(Session {
        config,
        registry,
        graph,
        store,
        index,
    })
}

pub fn dispatch(cli: Cli, registry: Registry) -> CliResult {
    let mut s = open(&cli, registry)?;
    let code = match &cli.command {
        Command::Run {
            stage: Some(stage),
            jobs,
            ..
        } if sweep_name(stage).is_some() => {
            let name = sweep_name(stage).unwrap_or_default();
            sweep::run(
                &s.config,
                s.registry,
                &s.store,
                &mut s.index,
                &name,
                *jobs,
                None,
            )
        }
        Command::Run {
            stage,
            adapter,
            force,
            jobs,
            keep_going,
            shard,
        } => {
            let options = Options {
                jobs: *jobs,
                keep_going: *keep_going,
            };
            run(
                &mut s,
                stage.as_deref(),
                adapter.as_deref(),
                *shard,
                *force,
                options,
            )
        }
        Command::Sweep { name, jobs, member } => sweep::run(
            &s.config,
            s.registry,
            &s.store,
            &mut s.index,
            name,
            *jobs,
            *member,
        ),
        Command::Compare {
            name,
            json,
            sort,
            only_changed,
            all,
        } => {
            let view = compare_table::View {
                json: *json,
                sort: sort.clone(),
                only_changed: *only_changed,
                all: *all,
            };
            sweep::compare(&s.config, s.registry, &s.store, &mut s.index, name, &view)
        }
        Command::Status { json, sweep: None } => status(&mut s, *json),
        Command::Status {
            json,
            sweep: Some(name),
        } => sweep_status(&mut s, name, *json),
        Command::Show { stage, adapter } => show(&mut s, stage, adapter.as_deref()),
        Command::Submit {
            stage,
            adapter,
            shards,
            dry_run,
        } => submit(
            &mut s,
            &cli,
            stage.as_deref(),
            adapter.as_deref(),
            *shards,
            *dry_run,
        ),
        Command::Verify { repair } => verify(&s, *repair),
        Command::Gc { dry_run } => gc(&mut s, *dry_run),
        Command::Metric { .. } => unreachable!("handled before a session is opened"),
    };
    // The hash index is only a cache: failing to save it costs time later, nothing else.
    if let Err(e) = s.index.save() {
        tracing::warn!("could not save the hash index: {e}");
    }
    code
}

/// The sweep a `--stage` names (`sweep:NAME`), if it names one.
fn sweep_name(stage: &str) -> Option<String> {
    let id: StageId = stage.parse().ok()?;
    (id.family() == crate::sweep::FAMILY)
        .then(|| id.name().map(String::from))
        .flatten()
}

fn run(
    s: &mut Session,
    stage: Option<&str>,
    adapter: Option<&str>,
    shard: Option<Shard>,
    force: bool,
    options: Options,
) -> CliResult {
    let clock = Instant::now();
    let targets = match stage {
        Some(name) => s.graph.resolve(name, adapter)?,
        None if adapter.is_some() => {
            return Err(EngineError::Config("--adapter needs --stage train".into()));
        }
        None => s.graph.names().iter().map(|n| n.to_string()).collect(),
    };
    let order = s.graph.closure(&targets);
    s.graph.check_params(&order)?;
    for note in s.graph.notes(&order) {
        eprintln!("{note}");
    }
    let keys = s.graph.keys_for(&mut s.index, &order)?;
    let forced: BTreeSet<String> = if force {
        targets.iter().cloned().collect()
    } else {
        BTreeSet::new()
    };
    let mut out = std::io::stdout();
    let mut plan = Plan::of_graph(&s.graph, &keys, &order, &forced);
    if let Some(shard) = shard {
        shard_targets(&mut plan, &targets, shard)?;
    }
    let summary = runner::run_plan(&plan, &s.store, options, &mut out)?;
    let secs = clock.elapsed().as_secs_f64();
    if !summary.failed.is_empty() {
        let _ = writeln!(
            out,
            "done: {} ran, {} reused, {} failed, {} skipped ({secs:.2} s)",
            summary.ran.len(),
            summary.reused.len(),
            summary.failed.len(),
            summary.skipped.len()
        );
        for (name, error) in &summary.failed {
            let _ = writeln!(out, "failed: {name}: {error}");
        }
        return Ok(1);
    }
    if summary.ran.is_empty() {
        let _ = writeln!(
            out,
            "nothing to do: {} stage{} fresh ({secs:.2} s)",
            summary.reused.len(),
            if summary.reused.len() == 1 { "" } else { "s" }
        );
    } else {
        let _ = writeln!(
            out,
            "done: {} ran, {} reused ({secs:.2} s)",
            summary.ran.len(),
            summary.reused.len()
        );
    }
    Ok(0)
}

/// Makes every target of `plan` build only its row shard `shard`.
fn shard_targets(plan: &mut Plan, targets: &[String], shard: Shard) -> Result<(), EngineError> {
    for item in plan.items.iter_mut() {
        if !targets.iter().any(|t| t == item.name()) {
            continue;
        }
        if !item.graph.nodes[item.node].stage.is_shardable() {
            let shardable: Vec<&str> = item
                .graph
                .nodes
                .iter()
                .filter(|n| n.stage.is_shardable())
                .map(|n| n.name.as_str())
                .collect();
            return Err(EngineError::Config(format!(
                "--shard: {} does not split into shards; these do: {}",
                item.name(),
                shardable.join(", ")
            )));
        }
        item.shard = Some(shard);
        item.label = format!("shard {shard}");
    }
    Ok(())
}

fn submit(
    s: &mut Session,
    cli: &Cli,
    stage: Option<&str>,
    adapter: Option<&str>,
    shards: usize,
    dry_run: bool,
) -> CliResult {
    let mut global = vec!["--config".to_string(), s.config.file.display().to_string()];
    for set in &cli.sets {
        global.extend(["--set".to_string(), set.clone()]);
    }
    if cli.require_gpu {
        global.push("--require-gpu".into());
    }
    if let Some(name) = stage.and_then(sweep_name) {
        let work = sweep::unbuilt(&s.config, s.registry, &s.store, &mut s.index, &name)?;
        let mut out = std::io::stdout();
        submit::submit_sweep(&s.store, &s.config, &global, dry_run, work, &mut out)?;
        return Ok(0);
    }
    let targets = match stage {
        Some(name) => s.graph.resolve(name, adapter)?,
        None => s.graph.names().iter().map(|n| n.to_string()).collect(),
    };
    let order = s.graph.closure(&targets);
    s.graph.check_params(&order)?;
    let keys = s.graph.keys_for(&mut s.index, &order)?;
    let request = submit::Request {
        graph: &s.graph,
        keys: &keys,
        order: &order,
        store: &s.store,
        config: &s.config,
        global,
        shards,
        dry_run,
    };
    submit::submit(&request, &mut std::io::stdout())?;
    Ok(0)
}

fn status(s: &mut Session, json: bool) -> CliResult {
    let keys = s.graph.keys(&mut s.index)?;
    let mut rows = status::status(&s.graph, &keys, &s.store);
    jobs::annotate(&s.store, &mut rows);
    let mut out = std::io::stdout();
    if json {
        let text =
            serde_json::to_string_pretty(&rows).map_err(|e| EngineError::Other(e.to_string()))?;
        let _ = writeln!(out, "{text}");
        return Ok(0);
    }
    let width = rows.iter().map(|r| r.stage.len()).max().unwrap_or(0);
    for r in &rows {
        let state = match r.state {
            State::Fresh => "fresh",
            State::Stale => "stale",
            State::Missing => "missing",
        };
        let why = if r.reasons.is_empty() {
            String::new()
        } else {
            format!("  {}", r.reasons.join("; "))
        };
        let _ = writeln!(
            out,
            "{state:<7} {:<width$}  {}{why}",
            r.stage,
            key::short(&r.key)
        );
    }
    for line in sweep::status_lines(&s.config, s.registry, &s.store, &mut s.index) {
        let _ = writeln!(out, "{line}");
    }
    let every: Vec<usize> = (0..s.graph.nodes.len()).collect();
    for note in s.graph.notes(&every) {
        eprintln!("{note}");
    }
    Ok(0)
}

fn sweep_status(s: &mut Session, name: &str, json: bool) -> CliResult {
    let sweep = Sweep::parse(&s.config, name)?;
    let states = sweep::member_states(&sweep, &s.config, s.registry, &s.store, &mut s.index)?;
    let mut out = std::io::stdout();
    if json {
        let rows: Vec<serde_json::Value> = states
            .iter()
            .map(|(m, state)| {
                let values: serde_json::Map<String, serde_json::Value> = m
                    .values
                    .iter()
                    .map(|(k, v)| (k.clone(), serde_json::to_value(v).unwrap_or_default()))
                    .collect();
                serde_json::json!({"member": m.index, "values": values, "state": state})
            })
            .collect();
        let text =
            serde_json::to_string_pretty(&rows).map_err(|e| EngineError::Other(e.to_string()))?;
        let _ = writeln!(out, "{text}");
        return Ok(0);
    }
    for (m, state) in &states {
        let state = serde_json::to_value(state).unwrap_or_default();
        let _ = writeln!(out, "{:<7} [{}]", state.as_str().unwrap_or("?"), m.label());
    }
    Ok(0)
}

fn show(s: &mut Session, stage: &str, adapter: Option<&str>) -> CliResult {
    let names = s.graph.resolve(stage, adapter)?;
    let [name] = names.as_slice() else {
        return Err(EngineError::Config(format!(
            "`{stage}` names several stages ({}); name one",
            names.join(", ")
        )));
    };
    let i = s.graph.index_of(name).expect("resolved names exist");
    let order = s.graph.closure(std::slice::from_ref(name));
    let keys = s.graph.keys_for(&mut s.index, &order)?;
    let k = &keys[&i];
    if s.store.lookup(name, &k.key).is_none() {
        return Err(EngineError::Other(format!(
            "{name} is not built for this configuration (key {}); run `pipeline run --stage {name}`",
            key::short(&k.key)
        )));
    }
    println!("{}", s.store.artifact_dir(name, &k.key).display());
    Ok(0)
}

fn verify(s: &Session, repair: bool) -> CliResult {
    let (found, temps) = s.store.scan()?;
    let mut broken = 0usize;
    let mut checked = 0usize;
    for f in &found {
        let problems = match &f.manifest {
            None => vec![format!("{}: no valid manifest.json", f.dir.display())],
            Some(m) => store::verify_artifact(&f.dir, m),
        };
        checked += 1;
        if problems.is_empty() {
            continue;
        }
        broken += 1;
        println!("broken   {}/{}", f.stage_dir, f.key);
        for p in &problems {
            println!("         {p}");
        }
        if repair {
            match s.store.remove(f)? {
                Removal::Removed => println!("removed  {}", f.dir.display()),
                Removal::Busy => println!("busy     {} (another run holds it)", f.dir.display()),
            }
        }
    }
    for t in &temps {
        if s.store.is_abandoned(t) {
            println!(
                "leftover {} (an interrupted build; never trusted)",
                t.display()
            );
            if repair {
                s.store.remove_abandoned(t)?;
            }
        }
    }
    println!(
        "verified {checked} artifacts: {} ok, {broken} broken",
        checked - broken
    );
    Ok(if broken > 0 && !repair { 1 } else { 0 })
}

fn gc(s: &mut Session, dry_run: bool) -> CliResult {
    let keys = s.graph.keys(&mut s.index)?;
    let mut reachable: BTreeSet<(String, String)> = keys
        .iter()
        .map(|(&i, k)| (Store::stage_dir_name(&s.graph.nodes[i].name), k.key.clone()))
        .collect();
    // A sweep's members are reached too; a sweep that cannot be read stops gc (exit 2) rather
    // than let it remove what the sweep built.
    for name in Sweep::names(&s.config) {
        let sweep = Sweep::parse(&s.config, &name)?;
        let members = sweep::expand(&sweep, &s.config, s.registry, &mut s.index)?;
        let (compare, keyed) =
            sweep::compare_graph(&sweep, &members, &s.config, s.registry, &mut s.index)?;
        reachable.insert((Store::stage_dir_name(&compare.nodes[0].name), keyed.key));
        for m in members {
            reachable.extend(
                m.keys
                    .iter()
                    .map(|(&i, k)| (Store::stage_dir_name(&m.graph.nodes[i].name), k.key.clone())),
            );
        }
    }
    let (found, temps) = s.store.scan()?;
    let verb = if dry_run { "would remove" } else { "removed" };
    let (mut kept, mut removed) = (0usize, 0usize);
    for f in found {
        if reachable.contains(&(f.stage_dir.clone(), f.key.clone())) && f.manifest.is_some() {
            kept += 1;
            continue;
        }
        // A row shard is kept while the artifact it is part of is current and not assembled.
        if let Some((of, stage)) = f.manifest.as_ref().and_then(|m| {
            let (of, _) = shards::of(m)?;
            Some((of, shards::parent_stage(&m.stage)?.to_string()))
        }) && reachable.contains(&(Store::stage_dir_name(&stage), of.clone()))
            && s.store.lookup(&stage, &of).is_none()
        {
            kept += 1;
            continue;
        }
        if dry_run {
            removed += 1;
            println!("{verb} {}", f.dir.display());
            continue;
        }
        match s.store.remove(&f)? {
            Removal::Removed => {
                removed += 1;
                println!("{verb} {}", f.dir.display());
            }
            Removal::Busy => {
                kept += 1;
                println!("kept {} (another run holds its lock)", f.dir.display());
            }
        }
    }
    for t in temps {
        if s.store.is_abandoned(&t) {
            removed += 1;
            println!("{verb} {}", t.display());
            if !dry_run {
                s.store.remove_abandoned(&t)?;
            }
        }
    }
    let locks = s.store.remove_orphan_locks(dry_run)?.len();
    println!("kept {kept}, {verb} {removed} (and {locks} unused lock files)");
    Ok(0)
}
