//! Deterministic in-process simulation of a txn cluster: random transactions, random
//! delivery delays (with reordering) and directed partitions dropping messages at
//! delivery time, as Maelstrom's network does.

use std::collections::{BTreeMap, BTreeSet};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::node::{Isolation, Stamp, TxnConfig, TxnNode};
use super::wire::{MicroOp, TxnBatch, TxnKey, TxnReply, TxnRequest, TxnValue, WriteSet};
use crate::replica::sim::{net_event, Adversary, Net, NetEvent};

struct TxnRecord {
    node: usize,
    request: Vec<MicroOp>,
    reply: Vec<MicroOp>,
    /// Per key read, the value and stamp the node held just before the transaction.
    before: BTreeMap<TxnKey, Option<(TxnValue, Stamp)>>,
}

/// A txn cluster on the simulated network; tick and delay drawn from the seed.
fn sim(seed: u64, n: usize, isolation: Isolation) -> Net<TxnNode> {
    let mut rng = StdRng::seed_from_u64(seed);
    let config = TxnConfig {
        isolation,
        retransmit_ms: 50,
        max_batch_sets: 16,
        max_backlog: 1_000_000,
    };
    let tick_ms = rng.random_range(1..=25);
    let max_delay = rng.random_range(0..=30);
    Net::new(n, &config, rng, tick_ms, max_delay)
}

/// Runs a random workload; returns the simulation after heal and quiet, plus the history.
fn run(
    seed: u64,
    n: usize,
    isolation: Isolation,
    partitions: bool,
) -> (Net<TxnNode>, Vec<TxnRecord>) {
    let mut sim = sim(seed, n, isolation);
    let mut rng = StdRng::seed_from_u64(seed ^ 0x7a11);
    let mut next_value: BTreeMap<TxnKey, TxnValue> = BTreeMap::new();
    let mut history = Vec::new();
    for _ in 0..2_000 {
        if partitions {
            sim.maybe_toggle_partition(&mut rng, 0.005);
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
    sim.settle(3_000);
    (sim, history)
}

fn check(sim: &Net<TxnNode>, history: &[TxnRecord]) {
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
    /// A tick, a delivery, a loss or a wait.
    Net(NetEvent),
}

fn event() -> impl proptest::strategy::Strategy<Value = Event> {
    use proptest::prelude::*;
    prop_oneof![
        4 => (0..3usize, proptest::collection::vec((any::<bool>(), 0..4u8), 1..5))
            .prop_map(|(node, ops)| Event::Txn { node, ops }),
        10 => net_event().prop_map(Event::Net),
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
        let isolation = if read_uncommitted { Isolation::ReadUncommitted } else { Isolation::ReadCommitted };
        let config = TxnConfig { isolation, retransmit_ms: 50, max_batch_sets: 3, ..TxnConfig::default() };
        let mut net: Adversary<TxnNode> = Adversary::new(n, &config);
        let mut next_value: BTreeMap<TxnKey, TxnValue> = BTreeMap::new();
        let mut history = Vec::new();
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
                    let before = request.iter().map(|op| (*op.key(), net.nodes[node].read(*op.key()))).collect();
                    let reply = net.nodes[node].handle(net.now, "c1", TxnRequest::Txn { txn: request.clone() });
                    let Some(Ok(TxnReply::TxnOk { txn })) = reply else { panic!("txn refused: {reply:?}") };
                    history.push(TxnRecord { node, request, reply: txn, before });
                }
                Event::Net(step) => net.apply(step),
            }
        }
        net.heal();
        check_nodes(&net.nodes, &history);
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
