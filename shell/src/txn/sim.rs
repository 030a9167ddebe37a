//! Deterministic in-process simulation of a txn cluster: random transactions, random
//! delivery delays (with reordering) and directed partitions dropping messages at
//! delivery time, as Maelstrom's network does.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::node::{Isolation, Stamp, TxnConfig, TxnNode};
use super::wire::{MicroOp, TxnBatch, TxnKey, TxnReply, TxnRequest, TxnValue, WriteSet};

struct TxnRecord {
    node: usize,
    request: Vec<MicroOp>,
    reply: Vec<MicroOp>,
    /// Per key read, the value and stamp the node held just before the transaction.
    before: BTreeMap<TxnKey, Option<(TxnValue, Stamp)>>,
}

struct Sim {
    rng: StdRng,
    nodes: Vec<TxnNode>,
    ids: Vec<String>,
    now: u64,
    tick_ms: u64,
    max_delay: u64,
    seq: u64,
    queue: BinaryHeap<Reverse<(u64, u64)>>,
    in_flight: BTreeMap<u64, (usize, usize, TxnBatch)>,
    blocked: BTreeSet<(usize, usize)>,
    server_messages: u64,
}

impl Sim {
    fn new(seed: u64, n: usize, isolation: Isolation) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let ids: Vec<String> = (0..n).map(|i| format!("n{i}")).collect();
        let config = TxnConfig {
            isolation,
            retransmit_ms: 50,
            max_batch_sets: 16,
            max_backlog: 1_000_000,
        };
        let nodes = ids
            .iter()
            .map(|id| TxnNode::new(id, &ids, config.clone()).expect("own id is in the list"))
            .collect();
        let tick_ms = rng.random_range(1..=25);
        let max_delay = rng.random_range(0..=30);
        Self {
            rng,
            nodes,
            ids,
            now: 0,
            tick_ms,
            max_delay,
            seq: 0,
            queue: BinaryHeap::new(),
            in_flight: BTreeMap::new(),
            blocked: BTreeSet::new(),
            server_messages: 0,
        }
    }

    fn step(&mut self) {
        while let Some(Reverse((at, seq))) = self.queue.peek().copied() {
            if at > self.now {
                break;
            }
            self.queue.pop();
            let (src, dest, batch) = self.in_flight.remove(&seq).expect("queued message");
            if self.blocked.contains(&(dest, src)) {
                continue;
            }
            let src_id = self.ids[src].clone();
            let reply = self.nodes[dest].handle(self.now, &src_id, TxnRequest::TxnReplicate(batch));
            assert!(reply.is_none());
        }
        if self.now % self.tick_ms == 0 {
            for i in 0..self.nodes.len() {
                let mut out = Vec::new();
                self.nodes[i].on_tick(self.now, &mut out);
                for (dest, batch) in out {
                    let dest = self
                        .ids
                        .iter()
                        .position(|x| *x == dest)
                        .expect("known peer");
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
}

/// Runs a random workload; returns the simulation after heal and quiet, plus the history.
fn run(seed: u64, n: usize, isolation: Isolation, partitions: bool) -> (Sim, Vec<TxnRecord>) {
    let mut sim = Sim::new(seed, n, isolation);
    let mut rng = StdRng::seed_from_u64(seed ^ 0x7a11);
    let mut next_value: BTreeMap<TxnKey, TxnValue> = BTreeMap::new();
    let mut history = Vec::new();
    for _ in 0..2_000 {
        if partitions && n > 1 && rng.random_bool(0.005) {
            if sim.blocked.is_empty() {
                for a in 0..n {
                    for b in 0..n {
                        if a != b && rng.random_bool(0.5) {
                            sim.blocked.insert((a, b));
                        }
                    }
                }
            } else {
                sim.blocked.clear();
            }
        }
        for client in 0..2 * n {
            if !rng.random_bool(0.3) {
                continue;
            }
            let node = client % n;
            let len = rng.random_range(1..=4);
            let request: Vec<MicroOp> = (0..len)
                .map(|_| {
                    let key = rng.random_range(0..6);
                    if rng.random_bool(0.5) {
                        MicroOp::read(key)
                    } else {
                        let value = next_value.entry(key).or_insert(0);
                        *value += 1;
                        MicroOp::write(key, *value)
                    }
                })
                .collect();
            let before = request
                .iter()
                .map(|op| (*op.key(), sim.nodes[node].read(*op.key())))
                .collect();
            let reply = sim.nodes[node].handle(
                sim.now,
                "c1",
                TxnRequest::Txn {
                    txn: request.clone(),
                },
            );
            let Some(Ok(TxnReply::TxnOk { txn })) = reply else {
                panic!("transaction refused: {reply:?}")
            };
            history.push(TxnRecord {
                node,
                request,
                reply: txn,
                before,
            });
        }
        sim.step();
    }
    sim.blocked.clear();
    for _ in 0..3_000 {
        sim.step();
    }
    (sim, history)
}

fn check(sim: &Sim, history: &[TxnRecord]) {
    check_nodes(&sim.nodes, history);
}

/// Checks a finished run: equal replicas with empty backlogs, echoed writes, reads of own
/// writes, reads only of committed final writes matching the node's state, stamps only
/// growing per node and key.
fn check_nodes(nodes: &[TxnNode], history: &[TxnRecord]) {
    // Convergence: every replica holds the same state.
    let first = nodes[0].snapshot();
    for (i, node) in nodes.iter().enumerate() {
        assert_eq!(node.snapshot(), first, "replica n{i} diverged");
        assert_eq!(
            node.backlog(),
            0,
            "n{i} still has unacknowledged write sets"
        );
    }
    // Final and intermediate writes of committed transactions.
    let mut finals: BTreeSet<(TxnKey, TxnValue)> = BTreeSet::new();
    let mut intermediates: BTreeSet<(TxnKey, TxnValue)> = BTreeSet::new();
    for record in history {
        let mut last: BTreeMap<TxnKey, TxnValue> = BTreeMap::new();
        for op in &record.request {
            if let MicroOp::Write { key, value } = op {
                if let Some(old) = last.insert(*key, *value) {
                    intermediates.insert((*key, old));
                }
            }
        }
        finals.extend(last);
    }
    for record in history {
        assert_eq!(record.reply.len(), record.request.len());
        let mut own: BTreeMap<TxnKey, TxnValue> = BTreeMap::new();
        for (asked, answered) in record.request.iter().zip(&record.reply) {
            assert_eq!(asked.key(), answered.key(), "reply reorders micro-ops");
            assert_eq!(
                asked.is_write(),
                answered.is_write(),
                "reply changes a kind"
            );
            match (asked, answered) {
                (MicroOp::Write { .. }, _) => {
                    assert_eq!(asked, answered, "write not echoed");
                    if let MicroOp::Write { key, value } = answered {
                        own.insert(*key, *value);
                    }
                }
                (MicroOp::Read { key, .. }, MicroOp::Read { value: got, .. }) => {
                    if let Some(mine) = own.get(key) {
                        assert_eq!(*got, Some(*mine), "txn did not read its own write");
                    } else if let Some(v) = got {
                        assert_eq!(
                            record.before[key].map(|(value, _)| value),
                            Some(*v),
                            "read did not see the node's state"
                        );
                        assert!(
                            !intermediates.contains(&(*key, *v)),
                            "read of intermediate write {key}={v} on n{}",
                            record.node
                        );
                        assert!(
                            finals.contains(&(*key, *v)),
                            "read of a value nobody committed {key}={v}"
                        );
                    }
                }
                (MicroOp::Read { .. }, MicroOp::Write { .. }) => {
                    unreachable!("kinds compared above")
                }
            }
        }
    }
    // On each node a key only ever moves to larger stamps, so the reads of one node see
    // every key's versions in stamp order.
    let mut seen: BTreeMap<(usize, TxnKey), Stamp> = BTreeMap::new();
    for record in history {
        for (key, held) in &record.before {
            if let Some((_, stamp)) = held {
                if let Some(previous) = seen.insert((record.node, *key), *stamp) {
                    assert!(
                        previous <= *stamp,
                        "key {key} went back from {previous:?} to {stamp:?} on n{}",
                        record.node
                    );
                }
            }
        }
    }
    // The surviving value of every key is its write with the largest stamp: any other
    // write the replicas hold a stamp for lost to it.
    for (key, value, stamp) in &first {
        assert!(
            finals.contains(&(*key, *value)),
            "final {key}={value} was not committed"
        );
        assert!(
            *stamp
                > Stamp {
                    counter: 0,
                    node: 0
                }
        );
    }
}

#[test]
fn single_node_commits_locally_without_messages() {
    for seed in 0..5 {
        let (sim, history) = run(seed, 1, Isolation::ReadCommitted, false);
        assert_eq!(sim.server_messages, 0);
        assert!(history.len() > 100);
        check(&sim, &history);
    }
}

#[test]
fn replicas_converge_without_faults() {
    for seed in 0..10 {
        let n = 2 + seed as usize % 2;
        let (sim, history) = run(seed, n, Isolation::ReadCommitted, false);
        check(&sim, &history);
    }
}

#[test]
fn replicas_converge_after_partitions_in_both_isolation_levels() {
    for seed in 100..130 {
        let n = 2 + seed as usize % 2;
        let isolation = if seed % 3 == 0 {
            Isolation::ReadUncommitted
        } else {
            Isolation::ReadCommitted
        };
        let (sim, history) = run(seed, n, isolation, true);
        check(&sim, &history);
    }
}

#[test]
fn idle_cluster_stops_sending() {
    let (mut sim, _) = run(3, 2, Isolation::ReadCommitted, false);
    let before = sim.server_messages;
    for _ in 0..2_000 {
        sim.step();
    }
    assert_eq!(sim.server_messages, before);
}

/// One step chosen by the adversarial scheduler.
#[derive(Debug, Clone)]
enum Event {
    /// A client of `node` runs a transaction of these micro-operation seeds.
    Txn { node: usize, ops: Vec<(bool, u8)> },
    /// `node` runs its tick.
    Tick { node: usize },
    /// The in-flight message at `pick` (modulo their number) is delivered now.
    Deliver { pick: usize },
    /// The in-flight message at `pick` is lost.
    Drop { pick: usize },
    /// Time passes.
    Advance { ms: u64 },
}

fn event() -> impl proptest::strategy::Strategy<Value = Event> {
    use proptest::prelude::*;
    prop_oneof![
        4 => (0..3usize, proptest::collection::vec((any::<bool>(), 0..4u8), 1..5))
            .prop_map(|(node, ops)| Event::Txn { node, ops }),
        3 => (0..3usize).prop_map(|node| Event::Tick { node }),
        4 => any::<usize>().prop_map(|pick| Event::Deliver { pick }),
        1 => any::<usize>().prop_map(|pick| Event::Drop { pick }),
        2 => (1..80u64).prop_map(|ms| Event::Advance { ms }),
    ]
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]

    /// Any delivery order, any losses: every transaction commits locally, reads see only
    /// committed final writes, keys move only to larger stamps on each node, and a fair
    /// network afterwards makes all replicas equal.
    #[test]
    fn adversarial_schedules_converge(
        n in 1..=3usize,
        read_uncommitted in proptest::prelude::any::<bool>(),
        events in proptest::collection::vec(event(), 1..300),
    ) {
        let ids: Vec<String> = (0..n).map(|i| format!("n{i}")).collect();
        let isolation = if read_uncommitted { Isolation::ReadUncommitted } else { Isolation::ReadCommitted };
        let config = TxnConfig { isolation, retransmit_ms: 50, max_batch_sets: 3, ..TxnConfig::default() };
        let mut nodes: Vec<TxnNode> = ids
            .iter()
            .map(|id| TxnNode::new(id, &ids, config.clone()).expect("own id is in the list"))
            .collect();
        let mut in_flight: Vec<(usize, usize, TxnBatch)> = Vec::new();
        let mut next_value: BTreeMap<TxnKey, TxnValue> = BTreeMap::new();
        let mut history = Vec::new();
        let mut now = 0u64;
        let tick = |nodes: &mut Vec<TxnNode>, in_flight: &mut Vec<(usize, usize, TxnBatch)>, i: usize, now: u64| {
            let mut out = Vec::new();
            nodes[i].on_tick(now, &mut out);
            for (dest, batch) in out {
                let dest = ids.iter().position(|x| *x == dest).expect("known peer");
                in_flight.push((i, dest, batch));
            }
        };
        for event in events {
            match event {
                Event::Txn { node, ops } => {
                    let node = node % n;
                    let request: Vec<MicroOp> = ops
                        .into_iter()
                        .map(|(write, key)| {
                            let key = TxnKey::from(key);
                            if write {
                                let value = next_value.entry(key).or_insert(0);
                                *value += 1;
                                MicroOp::write(key, *value)
                            } else {
                                MicroOp::read(key)
                            }
                        })
                        .collect();
                    let before = request.iter().map(|op| (*op.key(), nodes[node].read(*op.key()))).collect();
                    let reply = nodes[node].handle(now, "c1", TxnRequest::Txn { txn: request.clone() });
                    let Some(Ok(TxnReply::TxnOk { txn })) = reply else { panic!("txn refused: {reply:?}") };
                    history.push(TxnRecord { node, request, reply: txn, before });
                }
                Event::Tick { node } => tick(&mut nodes, &mut in_flight, node % n, now),
                Event::Deliver { pick } => {
                    if !in_flight.is_empty() {
                        let (src, dest, batch) = in_flight.remove(pick % in_flight.len());
                        let reply = nodes[dest].handle(now, &ids[src], TxnRequest::TxnReplicate(batch));
                        proptest::prop_assert!(reply.is_none());
                    }
                }
                Event::Drop { pick } => {
                    if !in_flight.is_empty() {
                        in_flight.remove(pick % in_flight.len());
                    }
                }
                Event::Advance { ms } => now += ms,
            }
        }
        for _ in 0..200 {
            now += 30;
            for i in 0..n {
                tick(&mut nodes, &mut in_flight, i, now);
            }
            for (src, dest, batch) in std::mem::take(&mut in_flight) {
                nodes[dest].handle(now, &ids[src], TxnRequest::TxnReplicate(batch));
            }
        }
        check_nodes(&nodes, &history);
    }
}

#[test]
fn absurd_peer_batches_never_panic() {
    let ids = vec!["n0".to_string(), "n1".to_string()];
    let mut node = TxnNode::new("n0", &ids, TxnConfig::default()).expect("own id is in the list");
    let batch = TxnBatch {
        from: u64::MAX,
        sets: vec![WriteSet {
            stamp: Stamp::new(u64::MAX, u32::MAX),
            writes: vec![(1, 2)],
        }],
        ack: u64::MAX,
    };
    assert!(node
        .handle(0, "n1", TxnRequest::TxnReplicate(batch.clone()))
        .is_none());
    assert!(node
        .handle(0, "stranger", TxnRequest::TxnReplicate(batch))
        .is_none());
    let reply = node.handle(
        1,
        "c1",
        TxnRequest::Txn {
            txn: vec![MicroOp::write(1, 3)],
        },
    );
    assert!(matches!(reply, Some(Ok(TxnReply::TxnOk { .. }))));
    let mut out = Vec::new();
    node.on_tick(u64::MAX, &mut out);
}
