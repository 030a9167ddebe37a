//! Deterministic in-process simulation of a kafka cluster: random client operations,
//! random delivery delays (with reordering) and random directed partitions that drop
//! messages at delivery time, as Maelstrom's network does.

use std::collections::{BTreeMap, BTreeSet};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use super::node::{KafkaConfig, KafkaNode};
use super::wire::{KafkaReply, KafkaRequest, Key, Offset, ReplicateBatch};
use crate::replica::sim::{net_event, Adversary, Net, NetEvent};

/// One completed poll: the client's requested offsets and what came back.
struct PollRecord {
    node: usize,
    requested: BTreeMap<Key, Offset>,
    msgs: BTreeMap<Key, Vec<(Offset, Value)>>,
}

/// One acknowledged send.
struct SendRecord {
    node: usize,
    key: Key,
    offset: Offset,
    msg: Value,
}

struct Sim {
    net: Net<KafkaNode>,
    sends: Vec<SendRecord>,
    polls: Vec<PollRecord>,
}

impl Sim {
    fn new(seed: u64, n: usize, tick_ms: u64, max_delay: u64) -> Self {
        let config = KafkaConfig {
            retransmit_ms: 50,
            max_batch_entries: 32,
            poll_limit: 10_000,
            max_backlog: 1_000_000,
        };
        Self {
            net: Net::new(n, &config, StdRng::seed_from_u64(seed), tick_ms, max_delay),
            sends: Vec::new(),
            polls: Vec::new(),
        }
    }

    fn step(&mut self) {
        self.net.step();
    }

    fn request(&mut self, node: usize, request: KafkaRequest) -> KafkaReply {
        self.net.nodes[node]
            .handle(self.net.now, "c1", request)
            .expect("client requests are answered")
            .expect("no refusal with an unbounded backlog")
    }
}

/// A Maelstrom-like client: pinned to one node, tracks per-key poll offsets.
struct Client {
    node: usize,
    offsets: BTreeMap<Key, Offset>,
}

fn run(seed: u64, n: usize, partitions: bool) -> Sim {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed);
    let tick_ms = rng.random_range(1..=10);
    let max_delay = rng.random_range(0..=20);
    let mut sim = Sim::new(seed, n, tick_ms, max_delay);
    let mut clients: Vec<Client> = (0..2 * n)
        .map(|c| Client {
            node: c % n,
            offsets: BTreeMap::new(),
        })
        .collect();
    let mut next_msg: BTreeMap<Key, u64> = BTreeMap::new();
    let main_ms = 2_000;
    for _ in 0..main_ms {
        if partitions {
            sim.net.maybe_toggle_partition(&mut rng, 0.005);
        }
        for client in clients.iter_mut() {
            if !rng.random_bool(0.3) {
                continue;
            }
            let node = client.node;
            if rng.random_bool(0.5) {
                // Shared keys, plus keys only this node ever writes (their peers
                // learn them only through replication).
                let key = if rng.random_bool(0.2) {
                    compact_str::format_compact!("only-n{node}-{}", rng.random_range(0..3u32))
                } else {
                    compact_str::format_compact!("{}", rng.random_range(0..6u32))
                };
                let counter = next_msg.entry(key.clone()).or_insert(0);
                *counter += 1;
                let msg = json!(*counter);
                let reply = sim.request(
                    node,
                    KafkaRequest::Send {
                        key: key.clone(),
                        msg: msg.clone(),
                    },
                );
                let KafkaReply::SendOk { offset } = reply else {
                    panic!("send refused: {reply:?}")
                };
                client.offsets.entry(key.clone()).or_insert(0);
                sim.sends.push(SendRecord {
                    node,
                    key,
                    offset,
                    msg,
                });
            } else {
                let requested = client.offsets.clone();
                let reply = sim.request(
                    node,
                    KafkaRequest::Poll {
                        offsets: requested.clone(),
                    },
                );
                let KafkaReply::PollOk { msgs } = reply else {
                    panic!("poll refused: {reply:?}")
                };
                let mut commits = BTreeMap::new();
                for (key, pairs) in &msgs {
                    if let Some((last, _)) = pairs.last() {
                        client.offsets.insert(key.clone(), last + 1);
                        commits.insert(key.clone(), *last);
                    }
                }
                if !commits.is_empty() {
                    let ack = sim.request(node, KafkaRequest::CommitOffsets { offsets: commits });
                    assert_eq!(ack, KafkaReply::CommitOffsetsOk);
                }
                sim.polls.push(PollRecord {
                    node,
                    requested,
                    msgs,
                });
            }
        }
        sim.step();
    }
    sim.net.settle(5_000);
    sim
}

/// The final per-key logs, after checking every node holds the same ones.
fn converged_logs(nodes: &[KafkaNode]) -> BTreeMap<Key, Vec<(Offset, Value)>> {
    let keys: BTreeSet<Key> = nodes
        .iter()
        .flat_map(|node| node.keys().map(Key::from).collect::<Vec<_>>())
        .collect();
    let mut logs = BTreeMap::new();
    for key in keys {
        let first = nodes[0].entries(&key);
        for (i, node) in nodes.iter().enumerate() {
            assert_eq!(node.entries(&key), first, "node n{i} diverges on key {key}");
        }
        logs.insert(key, first);
    }
    logs
}

fn check(sim: &Sim) {
    check_history(&sim.net.nodes, &sim.sends, &sim.polls);
}

/// Checks a finished run: converged logs, every acknowledged send at its offset, per-node
/// increasing offsets, every poll a run of the final order, everything exposed.
fn check_history(nodes: &[KafkaNode], sends: &[SendRecord], polls: &[PollRecord]) {
    let logs = converged_logs(nodes);
    // Every acknowledged send is in the final log at its offset; offsets never repeat.
    let mut per_node_last: BTreeMap<(usize, Key), Offset> = BTreeMap::new();
    let mut seen: BTreeSet<(Key, Offset)> = BTreeSet::new();
    for send in sends {
        let log = &logs[&send.key];
        let found = log.iter().find(|(offset, _)| *offset == send.offset);
        assert_eq!(
            found.map(|(_, msg)| msg),
            Some(&send.msg),
            "acknowledged send lost or overwritten: key {} offset {}",
            send.key,
            send.offset
        );
        assert!(
            seen.insert((send.key.clone(), send.offset)),
            "offset {} of key {} assigned twice",
            send.offset,
            send.key
        );
        if let Some(last) = per_node_last.insert((send.node, send.key.clone()), send.offset) {
            assert!(
                send.offset > last,
                "sends of n{} to key {} went backwards: {last} then {}",
                send.node,
                send.key,
                send.offset
            );
        }
    }
    // Every poll is a gap-free run of the final order starting at the first offset at or
    // above the requested one.
    for poll in polls {
        for (key, got) in &poll.msgs {
            let from = poll.requested[key];
            let log = &logs[key];
            let start = log.partition_point(|(offset, _)| *offset < from);
            let expected = &log[start..(start + got.len()).min(log.len())];
            assert_eq!(
                got.as_slice(),
                expected,
                "poll on n{} of key {key} from {from} is not a run of the final order",
                poll.node
            );
        }
    }
    // After the heal every node exposes every message.
    for node in nodes {
        let offsets: BTreeMap<Key, Offset> = logs.keys().map(|k| (k.clone(), 0)).collect();
        let KafkaReply::PollOk { msgs } = node.poll(&offsets) else {
            panic!("poll answered with another reply after heal")
        };
        for (key, log) in &logs {
            assert_eq!(
                msgs.get(key).map_or(&[][..], Vec::as_slice),
                log.as_slice(),
                "key {key} not fully exposed after heal"
            );
        }
    }
}

#[test]
fn single_node_is_a_local_log() {
    for seed in 0..5 {
        let sim = run(seed, 1, false);
        assert!(!sim.sends.is_empty());
        assert_eq!(sim.net.server_messages, 0, "one node sends nothing");
        check(&sim);
    }
}

#[test]
fn two_and_three_nodes_stay_consistent_without_faults() {
    for seed in 0..20 {
        let n = 2 + (seed as usize % 2);
        let sim = run(seed, n, false);
        check(&sim);
        assert!(
            sim.polls.iter().any(|p| !p.msgs.is_empty()),
            "seed {seed}: polls never saw anything"
        );
    }
}

#[test]
fn partitions_and_reordering_never_break_polls_and_heal_fully() {
    for seed in 100..140 {
        let n = 2 + (seed as usize % 2);
        let sim = run(seed, n, true);
        check(&sim);
    }
}

#[test]
fn idle_cluster_stops_sending() {
    let mut sim = run(7, 2, false);
    let before = sim.net.server_messages;
    for _ in 0..2_000 {
        sim.step();
    }
    assert_eq!(sim.net.server_messages, before, "no traffic without news");
    for node in &sim.net.nodes {
        assert_eq!(node.backlog(), 0, "every entry acknowledged");
    }
}

#[test]
fn a_key_written_once_on_one_node_becomes_visible_everywhere() {
    for n in 2..=3 {
        for writer in 0..n {
            let mut sim = Sim::new(writer as u64, n, 5, 3);
            let reply = sim.request(
                writer,
                KafkaRequest::Send {
                    key: "solo".into(),
                    msg: json!("only"),
                },
            );
            let KafkaReply::SendOk { offset } = reply else {
                panic!("send refused: {reply:?}")
            };
            for _ in 0..200 {
                sim.step();
            }
            for reader in 0..n {
                let poll = sim.request(
                    reader,
                    KafkaRequest::Poll {
                        offsets: [(Key::from("solo"), 0)].into_iter().collect(),
                    },
                );
                assert_eq!(
                    poll,
                    KafkaReply::PollOk {
                        msgs: [(Key::from("solo"), vec![(offset, json!("only"))])]
                            .into_iter()
                            .collect()
                    },
                    "n{reader} of {n} does not expose n{writer}'s only message"
                );
            }
        }
    }
}

/// One step chosen by the adversarial scheduler.
#[derive(Debug, Clone)]
enum Event {
    /// A client of `node` sends to key `key`.
    Send { node: usize, key: u8 },
    /// Client `client` polls its assigned keys.
    Poll { client: usize },
    /// A tick, a delivery, a loss or a wait.
    Net(NetEvent),
}

fn event() -> impl proptest::strategy::Strategy<Value = Event> {
    use proptest::prelude::*;
    prop_oneof![
        3 => (0..3usize, 0..3u8).prop_map(|(node, key)| Event::Send { node, key }),
        3 => (0..6usize).prop_map(|client| Event::Poll { client }),
        10 => net_event().prop_map(Event::Net),
    ]
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]

    /// Any delivery order, any losses, any interleaving of ticks and client operations:
    /// polls are always runs of the final order, and a fair network afterwards heals all.
    #[test]
    fn adversarial_schedules_keep_polls_gap_free(
        n in 1..=3usize,
        events in proptest::collection::vec(event(), 1..300),
    ) {
        let config = KafkaConfig { retransmit_ms: 50, max_batch_entries: 3, ..KafkaConfig::default() };
        let mut net: Adversary<KafkaNode> = Adversary::new(n, &config);
        let mut clients: Vec<BTreeMap<Key, Offset>> = vec![BTreeMap::new(); 6];
        let (mut sends, mut polls) = (Vec::new(), Vec::new());
        let mut counter = 0u64;
        for event in events {
            match event {
                Event::Send { node, key } => {
                    let node = node % n;
                    counter += 1;
                    let key = compact_str::format_compact!("k{key}");
                    let reply = net.nodes[node].handle(net.now, "c1", KafkaRequest::Send { key: key.clone(), msg: json!(counter) });
                    let Some(Ok(KafkaReply::SendOk { offset })) = reply else { panic!("send refused: {reply:?}") };
                    for client in clients.iter_mut().skip(node).step_by(n) {
                        client.entry(key.clone()).or_insert(0);
                    }
                    sends.push(SendRecord { node, key, offset, msg: json!(counter) });
                }
                Event::Poll { client } => {
                    let node = client % n;
                    let requested = clients[client].clone();
                    let reply = net.nodes[node].handle(net.now, "c1", KafkaRequest::Poll { offsets: requested.clone() });
                    let Some(Ok(KafkaReply::PollOk { msgs })) = reply else { panic!("poll refused: {reply:?}") };
                    for (key, pairs) in &msgs {
                        if let Some((last, _)) = pairs.last() {
                            clients[client].insert(key.clone(), last + 1);
                        }
                    }
                    polls.push(PollRecord { node, requested, msgs });
                }
                Event::Net(step) => net.apply(step),
            }
        }
        net.heal();
        check_history(&net.nodes, &sends, &polls);
    }
}

#[test]
fn absurd_peer_batches_never_panic() {
    let ids = vec!["n0".to_string(), "n1".to_string()];
    let mut node =
        KafkaNode::new("n0", &ids, KafkaConfig::default()).expect("own id is in the list");
    let batch = ReplicateBatch {
        from: 0,
        entries: vec![
            ("k".into(), u64::MAX, json!(1)),
            ("k".into(), u64::MAX - 1, json!(2)),
        ],
        marks: Some(super::wire::MarkBatch {
            upto: u64::MAX,
            since: 0,
            version: u64::MAX,
            marks: vec![("k".into(), u64::MAX, Some(u64::MAX))],
        }),
        ack_entries: u64::MAX,
        ack_version: u64::MAX,
    };
    assert!(node
        .handle(0, "n1", KafkaRequest::KafkaReplicate(batch.clone()))
        .is_none());
    assert!(node
        .handle(1, "stranger", KafkaRequest::KafkaReplicate(batch))
        .is_none());
    let mut out = Vec::new();
    node.on_tick(u64::MAX, &mut out);
    let _ = node.handle(
        2,
        "c1",
        KafkaRequest::Send {
            key: "k".into(),
            msg: json!(3),
        },
    );
}
