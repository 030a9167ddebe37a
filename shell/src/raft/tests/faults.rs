//! Faults: a cut-off leader, kills with and without the disk, stalls, answers out of time.

use std::time::Duration;

use serde_json::{json, Value};

use super::cluster::Cluster;
use crate::raft::args::lin_kv_defaults;
use crate::raft::kv::KvStore;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn code(body: &Value) -> Option<u64> {
    (body["type"] == "error").then(|| body["code"].as_u64().unwrap_or(0))
}

fn settled(durable: bool) -> (Cluster<KvStore>, usize) {
    let mut c = Cluster::<KvStore>::new(3, lin_kv_defaults(), durable);
    c.run_for(ms(3000));
    let leader = c.leader().expect("a leader within 3 s");
    (c, leader)
}

fn write(c: &mut Cluster<KvStore>, client: &str, to: usize, key: u64, value: u64) {
    c.request(
        client,
        to,
        json!({"type": "write", "msg_id": 1, "key": key, "value": value}),
    );
}

#[test]
fn a_cut_off_leader_refuses_at_once_and_the_majority_serves_under_a_new_one() {
    let (mut c, old) = settled(true);
    write(&mut c, "c0", old, 1, 1);
    c.run_for(ms(500));
    c.isolate(old);
    // Just cut: the leader still counts on its majority and proposes, but cannot commit.
    write(&mut c, "c1", old, 1, 2);
    c.run_for(ms(1000));
    // Long cut: it refuses at once.
    let asked = c.now;
    write(&mut c, "c2", old, 1, 3);
    c.run_for(ms(10));
    assert_eq!(
        c.replies_to("c1")
            .iter()
            .map(|b| code(b))
            .collect::<Vec<_>>(),
        [Some(0)],
        "indefinite once its budget ran out"
    );
    assert_eq!(
        c.replies_to("c2")
            .iter()
            .map(|b| code(b))
            .collect::<Vec<_>>(),
        [Some(11)],
        "refused at once"
    );
    assert!(c.now.saturating_since(asked) <= ms(10));
    c.run_for(ms(3000));
    let new = c
        .leader()
        .filter(|&l| l != old)
        .expect("the majority elected another leader");
    let other = (0..3)
        .find(|&i| i != old && i != new)
        .expect("a third node");
    write(&mut c, "c3", other, 1, 4);
    c.run_for(ms(1000));
    c.cut.clear();
    c.run_for(ms(2000));
    c.request("c4", old, json!({"type": "read", "msg_id": 1, "key": 1}));
    c.run_for(ms(1000));
    assert_eq!(
        c.replies_to("c3"),
        [&json!({"type": "write_ok", "in_reply_to": 1})]
    );
    assert_eq!(
        c.replies_to("c4"),
        [&json!({"type": "read_ok", "value": 4, "in_reply_to": 1})],
        "the old leader follows the new one after the cut heals; its uncommitted write is gone"
    );
    assert_eq!(c.violation, None);
}

/// Writes five keys through the leader, kills and restarts both followers, then cuts the
/// leader off, so that the restarted pair must elect one of themselves.
fn kill_both_followers_and_cut_the_leader(durable: bool) -> Cluster<KvStore> {
    let (mut c, leader) = settled(durable);
    for k in 1..=5 {
        write(&mut c, &format!("c{k}"), leader, k, k);
        c.run_for(ms(300));
    }
    assert_eq!(c.replies.len(), 5);
    for f in (0..3).filter(|&i| i != leader) {
        c.kill(f);
        c.restart(f);
    }
    c.isolate(leader);
    c.run_for(ms(5000));
    c
}

#[test]
fn restarted_nodes_recover_term_vote_and_log_from_their_writes() {
    let mut c = kill_both_followers_and_cut_the_leader(true);
    assert_eq!(c.violation, None);
    let leader = c.leader().expect("the restarted pair elected a leader");
    c.request("c9", leader, json!({"type": "read", "msg_id": 1, "key": 5}));
    c.run_for(ms(1000));
    assert_eq!(
        c.replies_to("c9"),
        [&json!({"type": "read_ok", "value": 5, "in_reply_to": 1})],
        "nothing acknowledged was lost"
    );
}

#[test]
fn without_their_disks_restarted_nodes_elect_a_stale_leader_and_the_checks_catch_it() {
    let c = kill_both_followers_and_cut_the_leader(false);
    let violation = c.violation.expect("wiped nodes break Raft's safety");
    assert!(
        violation.contains("election safety") || violation.contains("leader completeness"),
        "{violation}"
    );
}

#[test]
fn requests_read_after_a_stall_are_not_answered() {
    let mut c = Cluster::<KvStore>::new(1, lin_kv_defaults(), true);
    c.run_for(ms(2000));
    write(&mut c, "c0", 0, 1, 1);
    c.run_for(ms(50));
    assert_eq!(c.replies_to("c0").len(), 1, "a lone node serves at once");
    // Nothing runs for two seconds (a pause): the request read then may be older than its
    // client's patience.
    c.now += Duration::from_secs(2);
    write(&mut c, "c1", 0, 1, 2);
    c.run_for(ms(1000));
    assert!(c.replies_to("c1").is_empty());
    write(&mut c, "c2", 0, 1, 3);
    c.run_for(ms(50));
    assert_eq!(
        c.replies_to("c2").len(),
        1,
        "later requests are served again"
    );
}

#[test]
fn a_ring_of_one_way_cuts_is_served_through_relays() {
    let mut c = Cluster::<KvStore>::new(3, lin_kv_defaults(), true);
    // n0 hears nothing from n1, n1 nothing from n2, n2 nothing from n0: no two nodes hear
    // each other, yet each reaches each in two hops.
    c.cut.extend([(1, 0), (2, 1), (0, 2)]);
    c.run_for(ms(5000));
    let leader = c.leader().expect("a leader through relays");
    for node in 0..3 {
        c.request(
            &format!("c{node}"),
            node,
            json!({"type": "write", "msg_id": 1, "key": node, "value": 7}),
        );
        c.run_for(ms(600));
    }
    for node in 0..3 {
        assert_eq!(
            c.replies_to(&format!("c{node}")),
            [&json!({"type": "write_ok", "in_reply_to": 1})],
            "a write at n{node}, leader n{leader}"
        );
    }
    assert_eq!(c.violation, None);
}
