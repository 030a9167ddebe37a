//! The pn-counter node through the node contract: convergence of increments and
//! decrements through the wire encoding across a partition, the deliberately broken
//! variant, overflow, the gossip body.

use std::time::Duration;

use glomers_node::codec::body_value;
use glomers_node::Outgoing;
use serde_json::json;

use super::*;
use crate::crdt::Topology;
use crate::replica::testkit::{client_request, exchange, info, start};

const IDS: [&str; 4] = ["n0", "n1", "n2", "n3"];

fn cluster(config: &GossipConfig) -> Vec<PnCounterNode> {
    IDS.iter()
        .map(|id| PnCounterNode::new(&start(&info(id, &IDS)), config.clone()))
        .collect()
}

fn request(n: &mut PnCounterNode, now: Time, body: PnIn) -> Outgoing<PnOut> {
    let mut replies = client_request(n, now, body);
    assert_eq!(replies.len(), 1, "one reply, no gossip: {replies:?}");
    replies.remove(0)
}

/// Adds deltas in -5..=4 at every node, one every 100 ms for 5 s, while {n0, n1} and
/// {n2, n3} are apart until 7 s, then heals and gossips for 10 s. Returns the expected value and each
/// node's final value.
fn partitioned_run(config: &GossipConfig) -> (i64, Vec<i64>) {
    let mut nodes = cluster(config);
    let halves = |a: &str, b: &str| (a < "n2") != (b < "n2");
    let mut expected = 0;
    for k in 0..50i64 {
        let now = Time::from_millis(k as u64 * 100);
        let delta = k % 10 - 5;
        expected += delta;
        let ok = request(&mut nodes[(k % 4) as usize], now, PnIn::Add { delta });
        assert_eq!(ok.payload(), Some(&PnOut::AddOk));
        exchange(&mut nodes, now, now, Duration::from_millis(1), &halves);
    }
    // The partition outlasts the adds: each slot's last value, which carries all of the
    // slot, is sent while the halves are apart.
    exchange(
        &mut nodes,
        Time::from_secs(5),
        Time::from_secs(7),
        Duration::from_millis(5),
        &halves,
    );
    exchange(
        &mut nodes,
        Time::from_secs(7),
        Time::from_secs(17),
        Duration::from_millis(5),
        &|_, _| false,
    );
    let values = nodes
        .iter_mut()
        .map(|n| {
            assert_eq!(n.poll_timeout(), None, "converged and acknowledged: idle");
            match request(n, Time::from_secs(18), PnIn::Read).payload() {
                Some(PnOut::ReadOk { value }) => *value,
                other => panic!("not a read_ok: {other:?}"),
            }
        })
        .collect();
    (expected, values)
}

#[test]
fn replicas_converge_through_the_wire_after_a_partition() {
    for topology in [Topology::Star, Topology::Mesh] {
        let config = GossipConfig {
            topology,
            ..GossipConfig::default()
        };
        let (expected, values) = partitioned_run(&config);
        assert!(expected < 0, "decrements dominate: {expected}");
        assert_eq!(values, vec![expected; 4], "{topology:?}");
    }
}

#[test]
fn a_node_that_never_resends_loses_what_the_partition_dropped() {
    let config = GossipConfig {
        resend: false,
        ..GossipConfig::default()
    };
    let (expected, values) = partitioned_run(&config);
    assert!(values.iter().any(|v| *v != expected), "{values:?}");
}

#[test]
fn an_overflowing_decrement_is_refused_definitely() {
    let mut n = cluster(&GossipConfig::default()).remove(2);
    let ok = request(&mut n, Time::ZERO, PnIn::Add { delta: i64::MIN });
    assert_eq!(ok.payload(), Some(&PnOut::AddOk));
    let refused = request(&mut n, Time::ZERO, PnIn::Add { delta: i64::MIN });
    assert!(refused.error().expect("refused").is_definite());
    assert_eq!(n.value(), i64::MIN, "unchanged");
}

#[test]
fn the_gossip_body_names_slots_by_node_life() {
    let mut nodes = cluster(&GossipConfig::default());
    request(&mut nodes[2], Time::ZERO, PnIn::Add { delta: 4 });
    request(&mut nodes[2], Time::ZERO, PnIn::Add { delta: -6 });
    let read = request(&mut nodes[2], Time::ZERO, PnIn::Read);
    assert_eq!(
        body_value(&read).unwrap(),
        json!({"type": "read_ok", "value": -2, "in_reply_to": 1})
    );
    let mut out = Outbox::new();
    let due = nodes[2].poll_timeout().expect("a round is due");
    nodes[2].on_timeout(due, &mut out);
    let gossip: Vec<_> = out.drain().collect();
    assert_eq!(gossip.len(), 1);
    assert_eq!(
        body_value(&gossip[0]).unwrap()["delta"],
        json!({"inc": {"n2.0": 4}, "dec": {"n2.0": 6}})
    );
}
