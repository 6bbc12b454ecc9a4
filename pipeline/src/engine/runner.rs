//! Runs what is stale and reuses what is fresh, one line per artifact.
//!
//! What to run is a [`Plan`]: the distinct artifacts (stage, key) that one graph, or the graphs of
//! a sweep's members, need, each with the items it reads. Members that share an artifact (the
//! features every member reads, a train two members' align settings share) share one item, so it
//! is built once. With `jobs > 1` independent items run at once on threads of this process;
//! they share one rayon pool, and ONNX Runtime sessions get `cores / jobs` threads each, so N
//! stages at once divide the cores rather than multiply the threads. Items that share a pass
//! (encoders reading one model file over the same items) are built together, by one run of
//! the model ([`crate::engine::pass`]).

use std::collections::BTreeSet;
use std::io::Write;
use std::sync::{Condvar, Mutex};

use crate::engine::build::{self, Outcome};
use crate::engine::cores;
use crate::engine::error::{EngineError, Result};
use crate::engine::graph::{Graph, Keys};
use crate::engine::key;
use crate::engine::pass;
pub use crate::engine::plan::{Item, Plan};
use crate::engine::store::Store;

/// How to run a plan.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Items built at once (1 = one after another).
    pub jobs: usize,
    /// After a failure, go on with everything that does not read what failed; otherwise start
    /// nothing new (items already running finish) and return the failure.
    pub keep_going: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            jobs: 1,
            keep_going: false,
        }
    }
}

#[derive(Debug, Default)]
pub struct Summary {
    pub ran: Vec<String>,
    pub reused: Vec<String>,
    /// With `keep_going`: the items that failed, with the error.
    pub failed: Vec<(String, String)>,
    /// Items not built because something they read failed.
    pub skipped: Vec<String>,
}

/// Runs the nodes at `order` of one graph, one after another; the first failure is returned.
pub fn run(
    graph: &Graph,
    keys: &Keys,
    order: &[usize],
    store: &Store,
    force: &BTreeSet<String>,
    out: &mut (dyn Write + Send),
) -> Result<Summary> {
    let plan = Plan::of_graph(graph, keys, order, force);
    run_plan(&plan, store, Options::default(), out)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Pending,
    Running,
    Done,
    Failed,
    Skipped,
}

/// The scheduler's state, behind one mutex.
struct Board {
    state: Vec<State>,
    stop: bool,
    first_error: Option<EngineError>,
    summary: Summary,
}

/// Runs every item of `plan` (see [`Options`]). Without `keep_going` the first failure is the
/// error; with it, failures are in the summary.
pub fn run_plan(
    plan: &Plan,
    store: &Store,
    options: Options,
    out: &mut (dyn Write + Send),
) -> Result<Summary> {
    let jobs = options.jobs.clamp(1, plan.items.len().max(1));
    let (cores, allotted) = match cores::slurm() {
        Some(n) => (n, true),
        None => (cores::machine(), false),
    };
    // 0: each session takes one thread per core; under Slurm, the task's CPUs.
    let share = match (jobs, allotted) {
        (1, false) => 0,
        (1, true) => cores,
        _ => (cores / jobs).max(1),
    };
    stages::onnx::runtime::set_thread_share(share);
    let width = plan
        .items
        .iter()
        .map(|it| it.name().len())
        .max()
        .unwrap_or(0);
    let board = Mutex::new(Board {
        state: vec![State::Pending; plan.items.len()],
        stop: false,
        first_error: None,
        summary: Summary::default(),
    });
    let ready = Condvar::new();
    let out = Mutex::new(out);
    let passes = plan.items.iter().map(pass::pass_id).collect();
    let worker = Worker {
        plan,
        passes,
        store,
        options,
        board: &board,
        ready: &ready,
        out: &out,
        width,
        show_starts: jobs > 1,
    };
    if jobs == 1 {
        worker.work();
    } else {
        std::thread::scope(|scope| {
            for _ in 0..jobs {
                // Stages get the main thread's stack size, whichever thread runs them.
                std::thread::Builder::new()
                    .stack_size(8 << 20)
                    .spawn_scoped(scope, || worker.work())
                    .expect("spawning a worker thread");
            }
        });
    }
    let board = board.into_inner().unwrap_or_else(|p| p.into_inner());
    match board.first_error {
        Some(e) if !options.keep_going => Err(e),
        _ => Ok(board.summary),
    }
}

struct Worker<'a, 'g, 'w> {
    plan: &'a Plan<'g>,
    /// Each item's [`pass::pass_id`].
    passes: Vec<Option<String>>,
    store: &'a Store,
    options: Options,
    board: &'a Mutex<Board>,
    ready: &'a Condvar,
    out: &'a Mutex<&'w mut (dyn Write + Send)>,
    width: usize,
    show_starts: bool,
}

impl Worker<'_, '_, '_> {
    /// Takes ready items until none is left to take.
    fn work(&self) {
        while let Some(i) = self.next() {
            let group = self.claim_pass(i);
            let items: Vec<&Item> = group.iter().map(|&g| &self.plan.items[g]).collect();
            for item in &items {
                if self.show_starts && !self.exists(item) {
                    self.line(item, "start", String::new());
                }
            }
            let on_wait = |item: &Item, pid: Option<u32>| {
                let who = pid.map(|p| format!(" (pid {p})")).unwrap_or_default();
                self.print(&format!(
                    "waiting for another pipeline run{who} building {}",
                    item.name()
                ));
            };
            let outcomes = match items.as_slice() {
                [item] => vec![build::run_item(item, self.store, &|pid| on_wait(item, pid))],
                _ => pass::run_together(&items, self.store, &on_wait),
            };
            for (g, outcome) in group.into_iter().zip(outcomes) {
                self.record(g, outcome);
            }
            self.ready.notify_all();
        }
    }

    /// Item `i` and, when it computes a shared pass, the other items ready to be computed in
    /// the same pass (claimed: marked running).
    fn claim_pass(&self, i: usize) -> Vec<usize> {
        let Some(id) = &self.passes[i] else {
            return vec![i];
        };
        if !build::computes(&self.plan.items[i], self.store) {
            return vec![i];
        }
        let mut board = self.lock();
        let mut group = vec![i];
        for (j, other) in self.plan.items.iter().enumerate() {
            if j != i
                && board.state[j] == State::Pending
                && self.passes[j].as_ref() == Some(id)
                && other.deps.iter().all(|&d| board.state[d] == State::Done)
                && build::computes(other, self.store)
            {
                board.state[j] = State::Running;
                group.push(j);
            }
        }
        group
    }

    /// Records what happened to item `i`, with its line.
    fn record(&self, i: usize, outcome: Result<Outcome>) {
        let item = &self.plan.items[i];
        let mut board = self.lock();
        let done = |board: &mut Board, extra: String| {
            self.line(item, "ran", extra);
            board.summary.ran.push(item.title());
            board.state[i] = State::Done;
        };
        match outcome {
            Ok(Outcome::Reused) => {
                self.line(item, "reused", String::new());
                board.summary.reused.push(item.title());
                board.state[i] = State::Done;
            }
            Ok(Outcome::Ran(secs)) => done(&mut board, format!("  {secs:.2} s")),
            Ok(Outcome::Assembled(secs, count)) => done(
                &mut board,
                format!("  {secs:.2} s (assembled from {count} shards)"),
            ),
            Ok(Outcome::Shared(secs, count)) => done(
                &mut board,
                format!("  {secs:.2} s (one pass for {count} artifacts)"),
            ),
            Err(e) => {
                self.line(item, "failed", String::new());
                board.state[i] = State::Failed;
                if self.options.keep_going {
                    self.print(&format!("  {e}"));
                } else {
                    board.stop = true;
                }
                board.summary.failed.push((item.title(), e.to_string()));
                board.first_error.get_or_insert(e);
            }
        }
    }

    /// The next item whose inputs are all built, waiting while others run; None when nothing
    /// is left that could become ready.
    fn next(&self) -> Option<usize> {
        let mut board = self.lock();
        loop {
            if board.stop {
                return None;
            }
            self.skip_unreachable(&mut board);
            let mut pending = false;
            for (i, item) in self.plan.items.iter().enumerate() {
                if board.state[i] != State::Pending {
                    continue;
                }
                pending = true;
                if item.deps.iter().all(|&d| board.state[d] == State::Done) {
                    board.state[i] = State::Running;
                    return Some(i);
                }
            }
            if !pending {
                return None;
            }
            board = self.ready.wait(board).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Marks as skipped every pending item that reads a failed or skipped one.
    fn skip_unreachable(&self, board: &mut Board) {
        for (i, item) in self.plan.items.iter().enumerate() {
            if board.state[i] == State::Pending
                && item
                    .deps
                    .iter()
                    .any(|&d| matches!(board.state[d], State::Failed | State::Skipped))
            {
                board.state[i] = State::Skipped;
                self.line(item, "skipped", "  (an input failed)".into());
                board.summary.skipped.push(item.title());
            }
        }
    }

    fn exists(&self, item: &Item) -> bool {
        !item.forced && self.store.lookup(item.name(), &item.keyed.key).is_some()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Board> {
        self.board.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn print(&self, text: &str) {
        let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
    }

    fn line(&self, item: &Item, verb: &str, extra: String) {
        let label = if item.label.is_empty() {
            String::new()
        } else {
            format!("  [{}]", item.label)
        };
        self.print(&format!(
            "{verb:<7} {:<width$}  {}{extra}{label}",
            item.name(),
            key::short(&item.keyed.key),
            width = self.width
        ));
    }
}
