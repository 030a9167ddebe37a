//! Test support: deterministic in-process networks of [`ReplicaNode`]s.
//!
//! - [`Net`]: Maelstrom's network in miniature. Every tick's batches get a random delay
//!   (so they reorder), and directed partitions drop messages at delivery time.
//! - [`Adversary`]: messages in flight in a plain list; a proptest schedule of
//!   [`NetEvent`]s picks which to deliver, drop, tick or wait for, and [`Adversary::heal`]
//!   then runs a fair network long enough for every retransmission to land.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

use rand::rngs::StdRng;
use rand::Rng;

use super::ReplicaNode;

/// Nodes `n0..n{len-1}` built with `config`.
pub(crate) fn cluster<N: ReplicaNode>(n: usize, config: &N::Config) -> (Vec<N>, Vec<String>) {
    let ids: Vec<String> = (0..n).map(|i| format!("n{i}")).collect();
    let nodes = ids
        .iter()
        .map(|id| match N::new(id, &ids, config.clone()) {
            Ok(node) => node,
            Err(e) => panic!("own id is in the list: {e}"),
        })
        .collect();
    (nodes, ids)
}

fn index_of(ids: &[String], id: &str) -> usize {
    ids.iter()
        .position(|x| x == id)
        .unwrap_or_else(|| panic!("unknown node id {id}"))
}

/// A network with random delays and directed partitions.
pub(crate) struct Net<N: ReplicaNode> {
    pub(crate) nodes: Vec<N>,
    pub(crate) ids: Vec<String>,
    /// Simulated milliseconds.
    pub(crate) now: u64,
    /// Directed pairs (receiver, sender) whose messages the receiver drops.
    pub(crate) blocked: BTreeSet<(usize, usize)>,
    /// Batches sent so far.
    pub(crate) server_messages: u64,
    rng: StdRng,
    tick_ms: u64,
    max_delay: u64,
    seq: u64,
    queue: BinaryHeap<Reverse<(u64, u64)>>,
    in_flight: BTreeMap<u64, (usize, usize, N::Batch)>,
}

impl<N: ReplicaNode> Net<N> {
    /// `n` nodes ticking every `tick_ms` (>= 1), batches delayed by up to `max_delay` ms.
    pub(crate) fn new(
        n: usize,
        config: &N::Config,
        rng: StdRng,
        tick_ms: u64,
        max_delay: u64,
    ) -> Self {
        let (nodes, ids) = cluster(n, config);
        Self {
            nodes,
            ids,
            now: 0,
            blocked: BTreeSet::new(),
            server_messages: 0,
            rng,
            tick_ms: tick_ms.max(1),
            max_delay,
            seq: 0,
            queue: BinaryHeap::new(),
            in_flight: BTreeMap::new(),
        }
    }

    /// Advances one millisecond: deliveries due now, then ticks.
    pub(crate) fn step(&mut self) {
        while let Some(Reverse((at, seq))) = self.queue.peek().copied() {
            if at > self.now {
                break;
            }
            self.queue.pop();
            let Some((src, dest, batch)) = self.in_flight.remove(&seq) else {
                panic!("queued message {seq} not in flight")
            };
            if self.blocked.contains(&(dest, src)) {
                continue;
            }
            let reply = self.nodes[dest].handle(self.now, &self.ids[src], N::replicate(batch));
            assert!(
                reply.is_none(),
                "replication batches are never answered directly"
            );
        }
        if self.now % self.tick_ms == 0 {
            for i in 0..self.nodes.len() {
                let mut out = Vec::new();
                self.nodes[i].on_tick(self.now, &mut out);
                for (dest, batch) in out {
                    let dest = index_of(&self.ids, &dest);
                    assert_ne!(dest, i, "a node never replicates to itself");
                    let delay = self.rng.random_range(0..=self.max_delay);
                    self.seq += 1;
                    self.server_messages += 1;
                    self.queue.push(Reverse((self.now + delay, self.seq)));
                    self.in_flight.insert(self.seq, (i, dest, batch));
                }
            }
        }
        self.now += 1;
    }

    /// With probability `p`, toggles the partition: a random set of directed links cut,
    /// or all links healed.
    pub(crate) fn maybe_toggle_partition(&mut self, rng: &mut StdRng, p: f64) {
        let n = self.nodes.len();
        if n < 2 || !rng.random_bool(p) {
            return;
        }
        if self.blocked.is_empty() {
            for a in 0..n {
                for b in 0..n {
                    if a != b && rng.random_bool(0.5) {
                        self.blocked.insert((a, b));
                    }
                }
            }
        } else {
            self.blocked.clear();
        }
    }

    /// Heals every partition and runs `ms` more milliseconds.
    pub(crate) fn settle(&mut self, ms: u64) {
        self.blocked.clear();
        for _ in 0..ms {
            self.step();
        }
    }
}

/// One network step chosen by an adversarial schedule.
#[derive(Debug, Clone)]
pub(crate) enum NetEvent {
    /// Node `node` (modulo their number) runs its tick.
    Tick { node: usize },
    /// The in-flight message at `pick` (modulo their number) is delivered now.
    Deliver { pick: usize },
    /// The in-flight message at `pick` is lost.
    Drop { pick: usize },
    /// Time passes.
    Advance { ms: u64 },
}

/// [`NetEvent`]s, weighted 3 ticks : 4 deliveries : 1 loss : 2 waits.
pub(crate) fn net_event() -> impl proptest::strategy::Strategy<Value = NetEvent> {
    use proptest::prelude::*;
    prop_oneof![
        3 => (0..3usize).prop_map(|node| NetEvent::Tick { node }),
        4 => any::<usize>().prop_map(|pick| NetEvent::Deliver { pick }),
        1 => any::<usize>().prop_map(|pick| NetEvent::Drop { pick }),
        2 => (1..80u64).prop_map(|ms| NetEvent::Advance { ms }),
    ]
}

/// Nodes whose messages in flight are delivered, dropped and reordered by a schedule.
pub(crate) struct Adversary<N: ReplicaNode> {
    pub(crate) nodes: Vec<N>,
    pub(crate) ids: Vec<String>,
    /// Simulated milliseconds.
    pub(crate) now: u64,
    in_flight: Vec<(usize, usize, N::Batch)>,
}

impl<N: ReplicaNode> Adversary<N> {
    /// `n` nodes built with `config`, nothing in flight.
    pub(crate) fn new(n: usize, config: &N::Config) -> Self {
        let (nodes, ids) = cluster(n, config);
        Self {
            nodes,
            ids,
            now: 0,
            in_flight: Vec::new(),
        }
    }

    /// Runs node `i`'s tick; its batches join the messages in flight.
    pub(crate) fn tick(&mut self, i: usize) {
        let mut out = Vec::new();
        self.nodes[i].on_tick(self.now, &mut out);
        for (dest, batch) in out {
            let dest = index_of(&self.ids, &dest);
            self.in_flight.push((i, dest, batch));
        }
    }

    /// Applies one scheduled step. Panics if a delivered batch gets a direct answer.
    pub(crate) fn apply(&mut self, event: NetEvent) {
        let n = self.nodes.len();
        match event {
            NetEvent::Tick { node } => self.tick(node % n),
            NetEvent::Deliver { pick } => {
                if !self.in_flight.is_empty() {
                    let (src, dest, batch) = self.in_flight.remove(pick % self.in_flight.len());
                    let reply =
                        self.nodes[dest].handle(self.now, &self.ids[src], N::replicate(batch));
                    assert!(
                        reply.is_none(),
                        "replication batches are never answered directly"
                    );
                }
            }
            NetEvent::Drop { pick } => {
                if !self.in_flight.is_empty() {
                    self.in_flight.remove(pick % self.in_flight.len());
                }
            }
            NetEvent::Advance { ms } => self.now += ms,
        }
    }

    /// A fair network from here on: 200 rounds 30 ms apart, every node ticking and every
    /// message delivered in order, past any retransmission window.
    pub(crate) fn heal(&mut self) {
        for _ in 0..200 {
            self.now += 30;
            for i in 0..self.nodes.len() {
                self.tick(i);
            }
            for (src, dest, batch) in std::mem::take(&mut self.in_flight) {
                self.nodes[dest].handle(self.now, &self.ids[src], N::replicate(batch));
            }
        }
    }
}
