//! What a run builds: a [`Plan`] of the distinct artifacts (stage, key) that one graph, or the
//! graphs of a sweep's members, need, each an [`Item`] with the items it reads. Members that
//! share an artifact (the features every member reads, a train two members' align settings
//! share) share one item, so it is built once.

use std::collections::{BTreeMap, BTreeSet};

use crate::engine::graph::{Graph, Keyed, Keys};
use crate::engine::stage::Shard;

/// One artifact to reuse or build.
pub struct Item<'g> {
    pub graph: &'g Graph,
    /// The node of `graph` that builds it.
    pub node: usize,
    pub keyed: Keyed,
    /// The items it reads (indices into the plan, each before this one).
    pub deps: Vec<usize>,
    /// Rebuild even when it exists (`--force`).
    pub forced: bool,
    /// Who asked for it first, shown on its line (a sweep member's values; "" for a plain run).
    pub label: String,
    /// Build only this row shard of it, as a shard artifact (`--shard I/N`).
    pub shard: Option<Shard>,
}

impl Item<'_> {
    pub fn name(&self) -> &str {
        &self.graph.nodes[self.node].name
    }

    /// The name with the label, as summaries list it.
    pub fn title(&self) -> String {
        if self.label.is_empty() {
            self.name().to_string()
        } else {
            format!("{} [{}]", self.name(), self.label)
        }
    }
}

/// The distinct artifacts to reuse or build, in an order where every item follows what it reads.
#[derive(Default)]
pub struct Plan<'g> {
    pub items: Vec<Item<'g>>,
    by_artifact: BTreeMap<(String, String), usize>,
}

impl<'g> Plan<'g> {
    /// Adds the nodes at `order` of `graph` (inputs before readers, as [`Graph::closure`] gives
    /// them). A node whose artifact is already planned is that item. Returns node → item.
    pub fn add(
        &mut self,
        graph: &'g Graph,
        keys: &Keys,
        order: &[usize],
        forced: &BTreeSet<String>,
        label: &str,
    ) -> BTreeMap<usize, usize> {
        let mut items = BTreeMap::new();
        for &i in order {
            let node = &graph.nodes[i];
            let keyed = keys[&i].clone();
            let id = (node.name.clone(), keyed.key.clone());
            if let Some(&existing) = self.by_artifact.get(&id) {
                items.insert(i, existing);
                continue;
            }
            let deps = node
                .inputs
                .iter()
                .map(|name| {
                    let j = graph.index_of(name).expect("inputs checked at build");
                    items[&j]
                })
                .collect();
            let item = self.items.len();
            self.items.push(Item {
                graph,
                node: i,
                keyed,
                deps,
                forced: forced.contains(&node.name),
                label: label.to_string(),
                shard: None,
            });
            self.by_artifact.insert(id, item);
            items.insert(i, item);
        }
        items
    }

    /// Adds node `node` of `graph` keyed `keyed`, reading the items `deps` (a node whose inputs
    /// are other graphs' artifacts: `compare:<sweep>`). Returns its item.
    pub fn push(
        &mut self,
        graph: &'g Graph,
        node: usize,
        keyed: Keyed,
        deps: Vec<usize>,
        label: &str,
    ) -> usize {
        let id = (graph.nodes[node].name.clone(), keyed.key.clone());
        if let Some(&existing) = self.by_artifact.get(&id) {
            return existing;
        }
        let item = self.items.len();
        self.items.push(Item {
            graph,
            node,
            keyed,
            deps,
            forced: false,
            label: label.to_string(),
            shard: None,
        });
        self.by_artifact.insert(id, item);
        item
    }

    /// The plan of one graph's nodes at `order`.
    pub fn of_graph(
        graph: &'g Graph,
        keys: &Keys,
        order: &[usize],
        forced: &BTreeSet<String>,
    ) -> Plan<'g> {
        let mut plan = Plan::default();
        plan.add(graph, keys, order, forced, "");
        plan
    }
}
