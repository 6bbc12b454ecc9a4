//! What every subcommand works in: the configuration, its stage graph, the artifact store and
//! the external files' hash index.

use crate::cli::Cli;
use crate::config::{self, Config};
use crate::engine::error::EngineError;
use crate::engine::graph::Graph;
use crate::engine::hash_index::HashIndex;
use crate::engine::stage::Registry;
use crate::engine::store::Store;

pub(super) struct Session {
    pub(super) config: Config,
    pub(super) registry: Registry,
    pub(super) graph: Graph,
    pub(super) store: Store,
    pub(super) index: HashIndex,
}

pub(super) fn open(cli: &Cli, registry: Registry) -> Result<Session, EngineError> {
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
