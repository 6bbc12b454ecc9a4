//! `make bench` (engine part): a no-op `pipeline run` of a 10-node graph whose external inputs
//! total 1 GiB, beside the cold first run that has to hash them. Goal: the no-op run < 0.3 s.
//!
//! Everything a CLI invocation does after process start is timed: read pipeline.toml, build the
//! graph, load the hash index, compute keys (stat-only for remembered files), look up the
//! artifacts, save the index.

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use pipeline::config::Config;
use pipeline::engine::error::Result;
use pipeline::engine::graph::Graph;
use pipeline::engine::hash_index::HashIndex;
use pipeline::engine::runner;
use pipeline::engine::stage::{AnyStage, Stage, StageContext, StageId};
use pipeline::engine::store::Store;
use serde::{Deserialize, Serialize};

const NODES: usize = 10;
const TOTAL_BYTES: u64 = 1 << 30;

struct Node(usize);

/// The nodes have no parameters.
#[derive(Serialize, Deserialize)]
struct NoParams {}

impl Stage for Node {
    type Params = NoParams;

    fn name(&self) -> StageId {
        StageId::single(&format!("node{}", self.0))
    }
    fn version(&self) -> u32 {
        1
    }
    fn section(&self) -> String {
        String::new()
    }
    fn inputs(&self) -> Vec<StageId> {
        if self.0 == 0 {
            vec![]
        } else {
            vec![StageId::single(&format!("node{}", self.0 - 1))]
        }
    }
    fn defaults(&self) -> NoParams {
        NoParams {}
    }
    fn read_params(&self, _config: &Config) -> Result<NoParams> {
        Ok(NoParams {})
    }
    fn externals(&self, _params: &NoParams, config: &Config) -> Result<Vec<PathBuf>> {
        Ok(vec![config.resolve(&format!("input{}.bin", self.0))])
    }
    fn run(&self, ctx: &StageContext, _params: &NoParams) -> anyhow::Result<()> {
        Ok(std::fs::write(
            ctx.out_dir.join("out.txt"),
            self.name().to_string(),
        )?)
    }
}

fn registry(_c: &Config) -> Result<Vec<Box<dyn AnyStage>>> {
    Ok((0..NODES)
        .map(|i| Box::new(Node(i)) as Box<dyn AnyStage>)
        .collect())
}

/// One whole invocation: config → graph → keys → run (reusing or building) → save the index.
fn invocation(dir: &std::path::Path) -> anyhow::Result<(Duration, usize)> {
    let start = Instant::now();
    let config = Config::load(&dir.join("pipeline.toml"), &[])?;
    let graph = Graph::build(registry(&config)?, &config)?;
    let store = Store::new(dir.join("artifacts"));
    let mut index = HashIndex::load(store.root());
    let keys = graph.keys(&mut index)?;
    let order: Vec<usize> = (0..graph.nodes.len()).collect();
    let summary = runner::run(
        &graph,
        &keys,
        &order,
        &store,
        &Default::default(),
        &mut std::io::sink(),
    )?;
    index.save()?;
    Ok((start.elapsed(), summary.ran.len()))
}

fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("pipeline.toml"), "")?;
    let per_file = TOTAL_BYTES / NODES as u64;
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut buf = vec![0u8; 1 << 20];
    for i in 0..NODES {
        let path = dir.path().join(format!("input{i}.bin"));
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path)?);
        let mut left = per_file;
        while left > 0 {
            for chunk in buf.chunks_mut(8) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                chunk.copy_from_slice(&state.to_le_bytes()[..chunk.len()]);
            }
            let n = left.min(buf.len() as u64) as usize;
            f.write_all(&buf[..n])?;
            left -= n as u64;
        }
        f.flush()?;
        // Outside the racy window, as files are when a user runs the pipeline on them.
        f.get_ref()
            .set_modified(SystemTime::now() - Duration::from_secs(60))?;
    }
    let (cold, ran) = invocation(dir.path())?;
    assert_eq!(ran, NODES);
    let mut noops = Vec::new();
    for _ in 0..5 {
        let (t, ran) = invocation(dir.path())?;
        assert_eq!(ran, 0, "a no-op run must run nothing");
        noops.push(t);
    }
    noops.sort();
    let noop = noops[noops.len() / 2];
    println!(
        "engine: {NODES}-node graph, {:.2} GiB of external inputs",
        TOTAL_BYTES as f64 / f64::from(1u32 << 30)
    );
    println!(
        "  cold first run (hash everything, build): {:9.1} ms",
        cold.as_secs_f64() * 1e3
    );
    println!(
        "  no-op run (median of 5):                 {:9.1} ms   goal < 300 ms: {}",
        noop.as_secs_f64() * 1e3,
        if noop.as_secs_f64() < 0.3 {
            "met"
        } else {
            "NOT MET"
        }
    );
    println!(
        "  ratio no-op / cold:                      {:8.4}  ({:.0}x faster)",
        noop.as_secs_f64() / cold.as_secs_f64(),
        cold.as_secs_f64() / noop.as_secs_f64()
    );
    Ok(())
}
