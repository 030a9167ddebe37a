//! The g-set node through the node contract: replies and gossip on the wire, convergence
//! through the wire encoding across a partition, the deliberately broken variant, bounds.

use std::time::Duration;

use glomers_node::codec::body_value;
use glomers_node::Outgoing;
use serde_json::json;

use super::*;
use crate::replica::testkit::{client_request, exchange, info, start};

const IDS: [&str; 3] = ["n0", "n1", "n2"];

fn cluster(config: &GossipConfig) -> Vec<GSetNode> {
    IDS.iter()
        .map(|id| GSetNode::new(&start(&info(id, &IDS)), config.clone()))
        .collect()
}

fn request(n: &mut GSetNode, now: Time, body: GSetIn) -> Outgoing<GSetOut> {
    let mut replies = client_request(n, now, body);
    assert_eq!(replies.len(), 1, "one reply, no gossip: {replies:?}");
    replies.remove(0)
}

/// Adds 0..40 round-robin, one every 100 ms, while the hub `n0` is cut off from the
/// others, then heals and lets gossip run for 10 s. Returns each node's final read.
fn partitioned_run(config: &GossipConfig) -> Vec<serde_json::Value> {
    let mut nodes = cluster(config);
    let hub_cut = |a: &str, b: &str| (a == "n0") != (b == "n0");
    for x in 0..40i64 {
        let now = Time::from_millis(x as u64 * 100);
        let i = (x % 3) as usize;
        let ok = request(&mut nodes[i], now, GSetIn::Add { element: x });
        assert_eq!(ok.payload(), Some(&GSetOut::AddOk));
        exchange(&mut nodes, now, now, Duration::from_millis(1), &hub_cut);
    }
    exchange(
        &mut nodes,
        Time::from_secs(4),
        Time::from_secs(14),
        Duration::from_millis(5),
        &|_, _| false,
    );
    nodes
        .iter_mut()
        .map(|n| {
            assert_eq!(n.poll_timeout(), None, "converged and acknowledged: idle");
            let read = request(n, Time::from_secs(15), GSetIn::Read);
            body_value(&read).expect("encodes")["value"].take()
        })
        .collect()
}

#[test]
fn replicas_converge_through_the_wire_after_a_partition() {
    let all: Vec<i64> = (0..40).collect();
    for read in partitioned_run(&GossipConfig::default()) {
        assert_eq!(read, json!(all));
    }
}

#[test]
fn a_node_that_never_resends_loses_what_the_partition_dropped() {
    let config = GossipConfig {
        resend: false,
        ..GossipConfig::default()
    };
    let reads = partitioned_run(&config);
    let full = json!((0..40).collect::<Vec<i64>>());
    assert!(reads.iter().any(|r| *r != full), "{reads:?}");
}

#[test]
fn replies_and_gossip_on_the_wire() {
    let mut nodes = cluster(&GossipConfig::default());
    for x in [2, 0, 1, 5] {
        request(&mut nodes[1], Time::ZERO, GSetIn::Add { element: x });
    }
    let read = request(&mut nodes[1], Time::ZERO, GSetIn::Read);
    assert_eq!(
        body_value(&read).unwrap(),
        json!({"type": "read_ok", "value": [0, 1, 2, 5], "in_reply_to": 1})
    );
    let mut out = Outbox::new();
    let due = nodes[1].poll_timeout().expect("a round is due");
    nodes[1].on_timeout(due, &mut out);
    let gossip: Vec<_> = out.drain().collect();
    assert_eq!(gossip.len(), 1, "a leaf sends to the hub only");
    assert_eq!(gossip[0].dest, "n0");
    let body = body_value(&gossip[0]).unwrap();
    assert_eq!(body["type"], "gossip");
    assert_eq!(body["delta"], json!([[0, 2], [5, 5]]));
    assert_eq!(body["full"], true, "the first message introduces the node");
    assert!(body["seq"].is_u64() && body.get("msg_id").is_none());
}

#[test]
fn an_add_that_needs_a_run_beyond_the_bound_is_refused_definitely() {
    let mut n = cluster(&GossipConfig::default()).remove(0);
    for x in 0..MAX_SET_RUNS as i64 {
        let ok = request(&mut n, Time::ZERO, GSetIn::Add { element: 3 * x });
        assert_eq!(ok.payload(), Some(&GSetOut::AddOk));
    }
    let refused = request(&mut n, Time::ZERO, GSetIn::Add { element: -7 });
    assert!(refused.error().expect("refused").is_definite());
    assert!(!n.set().contains(-7));
    let extends = request(&mut n, Time::ZERO, GSetIn::Add { element: 1 });
    assert_eq!(
        extends.payload(),
        Some(&GSetOut::AddOk),
        "joins the run of 0"
    );
    assert_eq!(n.set().run_count(), MAX_SET_RUNS);
}
