//! Serving clients: forwarding to the leader, answers and error codes, rounds, and
//! list-append transactions.

use std::time::Duration;

use serde_json::{json, Value};

use super::cluster::Cluster;
use crate::raft::args::{lin_kv_defaults, list_append_defaults};
use crate::raft::kv::KvStore;
use crate::raft::list_append::ListStore;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// A settled 3-node lin-kv cluster and its leader.
fn settled() -> (Cluster<KvStore>, usize) {
    let mut c = Cluster::<KvStore>::new(3, lin_kv_defaults(), true);
    c.run_for(secs(3));
    let leader = c.leader().expect("a leader within 3 s");
    (c, leader)
}

fn code(body: &Value) -> Option<u64> {
    (body["type"] == "error").then(|| body["code"].as_u64().unwrap_or(0))
}

#[test]
fn followers_forward_and_the_leader_answers_with_maelstrom_codes() {
    let (mut c, leader) = settled();
    let (f1, f2) = ((leader + 1) % 3, (leader + 2) % 3);
    c.request(
        "c1",
        f1,
        json!({"type": "write", "msg_id": 1, "key": 5, "value": 3}),
    );
    c.run_for(secs(1));
    c.request("c2", f2, json!({"type": "read", "msg_id": 1, "key": 5}));
    c.run_for(secs(1));
    c.request(
        "c3",
        leader,
        json!({"type": "cas", "msg_id": 1, "key": 5, "from": 4, "to": 1}),
    );
    c.request("c4", f1, json!({"type": "read", "msg_id": 1, "key": 6}));
    c.request(
        "c5",
        f2,
        json!({"type": "cas", "msg_id": 1, "key": 5, "from": 3, "to": 4}),
    );
    c.run_for(secs(1));
    assert_eq!(
        c.replies_to("c1"),
        [&json!({"type": "write_ok", "in_reply_to": 1})]
    );
    assert_eq!(
        c.replies_to("c2"),
        [&json!({"type": "read_ok", "value": 3, "in_reply_to": 1})]
    );
    assert_eq!(
        c.replies_to("c3")
            .iter()
            .map(|b| code(b))
            .collect::<Vec<_>>(),
        [Some(22)]
    );
    assert_eq!(
        c.replies_to("c4")
            .iter()
            .map(|b| code(b))
            .collect::<Vec<_>>(),
        [Some(20)]
    );
    assert_eq!(
        c.replies_to("c5"),
        [&json!({"type": "cas_ok", "in_reply_to": 1})]
    );
    assert_eq!(
        c.forwards, 4,
        "the followers' four requests went to the leader"
    );
    assert_eq!(c.violation, None);
}

#[test]
fn a_leader_sends_each_peer_at_most_one_message_per_round_whatever_the_load() {
    let (mut c, _) = settled();
    let config = lin_kv_defaults();
    let span = secs(10);
    let rounds = span.as_millis() as f64 / config.round.as_millis() as f64;
    // Both ways, per peer: one message per round, and one answer.
    let ceiling = (2.0 * 2.0 * rounds * 1.1) as usize;
    let idle_before = c.peer_msgs;
    c.run_for(span);
    let idle = c.peer_msgs - idle_before;
    let busy_before = c.peer_msgs;
    for k in 0..200u64 {
        let node = (k % 3) as usize;
        let body = if k % 3 == 0 {
            json!({"type": "read", "msg_id": k, "key": k % 4})
        } else {
            json!({"type": "write", "msg_id": k, "key": k % 4, "value": k})
        };
        c.request(&format!("c{k}"), node, body);
        c.run_for(Duration::from_millis(50));
    }
    let busy = c.peer_msgs - busy_before;
    assert!(
        idle <= ceiling && busy <= ceiling,
        "idle {idle}, busy {busy}, ceiling {ceiling}"
    );
    assert!(idle as f64 >= rounds, "heartbeats flow: {idle}");
    let ok = c.replies.iter().filter(|(_, b)| code(b).is_none()).count();
    assert!(ok >= 190, "{ok} of 200 requests served in 10 s");
    assert_eq!(c.violation, None);
}

#[test]
fn list_append_transactions_see_every_earlier_append_in_log_order() {
    let mut c = Cluster::<ListStore>::new(2, list_append_defaults(), true);
    c.request(
        "c0",
        0,
        json!({"type": "txn", "msg_id": 1, "txn": [["append", 1, 1]]}),
    );
    c.run_for(secs(2));
    assert_eq!(
        c.replies_to("c0"),
        [&json!({"type": "txn_ok", "txn": [["append", 1, 1]], "in_reply_to": 1})],
        "held until the first leader, then served"
    );
    c.request(
        "c1",
        1,
        json!({"type": "txn", "msg_id": 1, "txn": [["append", 1, 2], ["r", 1, null]]}),
    );
    c.run_for(Duration::from_millis(500));
    c.request(
        "c0",
        0,
        json!({"type": "txn", "msg_id": 2, "txn": [["r", 1, null], ["r", 2, null]]}),
    );
    c.run_for(Duration::from_millis(500));
    assert_eq!(
        c.replies_to("c1"),
        [&json!({"type": "txn_ok", "txn": [["append", 1, 2], ["r", 1, [1, 2]]], "in_reply_to": 1})]
    );
    assert_eq!(
        c.replies_to("c0")[1],
        &json!({"type": "txn_ok", "txn": [["r", 1, [1, 2]], ["r", 2, null]], "in_reply_to": 2})
    );
    assert_eq!(c.violation, None);
}
