//! The subcommands.

use std::collections::BTreeSet;
use std::io::Write;
use std::time::Instant;

use crate::cli::session::{Session, open};
use crate::cli::{Cli, CliResult, Command, compare_table, inspect, sweep};
use crate::engine::error::EngineError;
use crate::engine::runner::{self, Options, Plan};
use crate::engine::stage::{Registry, Shard, StageId};
use crate::executor::submit;

pub fn dispatch(cli: Cli, registry: Registry) -> CliResult {
    let mut s = open(&cli, registry)?;
    let code = command(&mut s, &cli);
    // The hash index is only a cache: failing to save it costs time later, nothing else.
    if let Err(e) = s.index.save() {
        tracing::warn!("could not save the hash index: {e}");
    }
    code
}

/// Runs the command of `cli` in session `s`.
fn command(s: &mut Session, cli: &Cli) -> CliResult {
    match &cli.command {
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
            let selection = (stage.as_deref(), adapter.as_deref());
            run(s, selection, *shard, *force, options)
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
        Command::Status { json, sweep: None } => inspect::status(s, *json),
        Command::Status {
            json,
            sweep: Some(name),
        } => inspect::sweep_status(s, name, *json),
        Command::Show { stage, adapter } => inspect::show(s, stage, adapter.as_deref()),
        Command::Submit {
            stage,
            adapter,
            shards,
            dry_run,
        } => {
            let selection = (stage.as_deref(), adapter.as_deref());
            submit(s, cli, selection, *shards, *dry_run)
        }
        Command::Verify { repair } => inspect::verify(s, *repair),
        Command::Gc { dry_run } => inspect::gc(s, *dry_run),
        Command::Metric { .. } => unreachable!("handled before a session is opened"),
    }
}

/// The sweep a `--stage` names (`sweep:NAME`), if it names one.
fn sweep_name(stage: &str) -> Option<String> {
    let id: StageId = stage.parse().ok()?;
    (id.family() == crate::sweep::FAMILY)
        .then(|| id.name().map(String::from))
        .flatten()
}

/// `pipeline run`: the selection (`--stage`, `--adapter`) and what it needs.
fn run(
    s: &mut Session,
    (stage, adapter): (Option<&str>, Option<&str>),
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
    (stage, adapter): (Option<&str>, Option<&str>),
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
