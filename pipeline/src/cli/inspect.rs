//! The subcommands that look at the store rather than build: `status` (and a sweep's),
//! `show`, `verify` and `gc`.

use std::collections::BTreeSet;
use std::io::Write;

use super::session::Session;
use crate::cli::{CliResult, sweep};
use crate::engine::error::EngineError;
use crate::engine::key;
use crate::engine::shards;
use crate::engine::status::{self, State};
use crate::engine::store::{self, Removal, Store};
use crate::executor::jobs;
use crate::sweep::Sweep;

pub(super) fn status(s: &mut Session, json: bool) -> CliResult {
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

pub(super) fn sweep_status(s: &mut Session, name: &str, json: bool) -> CliResult {
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

pub(super) fn show(s: &mut Session, stage: &str, adapter: Option<&str>) -> CliResult {
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

pub(super) fn verify(s: &Session, repair: bool) -> CliResult {
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

pub(super) fn gc(s: &mut Session, dry_run: bool) -> CliResult {
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
