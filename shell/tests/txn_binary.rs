//! Drives the real `txn` binary over stdin/stdout: transactions on one node, error
//! replies, and replication between two processes connected by an in-test router.

mod common;

use common::cluster::{load, Cluster};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// The binary under test.
const BIN: &str = env!("CARGO_BIN_EXE_txn");

#[test]
fn single_node_round_trip() {
    let mut cluster = Cluster::start(BIN, 1, 10);
    let first = cluster.call(
        0,
        json!({"type": "txn", "txn": [["r", 1, null], ["w", 1, 6], ["r", 1, null], ["w", 2, 9]]}),
    );
    assert_eq!(
        first,
        json!({"type": "txn_ok", "txn": [["r", 1, null], ["w", 1, 6], ["r", 1, 6], ["w", 2, 9]], "in_reply_to": first["in_reply_to"]})
    );
    let second = cluster.call(
        0,
        json!({"type": "txn", "txn": [["r", 1, null], ["r", 2, null], ["r", 3, null]]}),
    );
    assert_eq!(
        second["txn"],
        json!([["r", 1, 6], ["r", 2, 9], ["r", 3, null]])
    );
}

#[test]
fn malformed_transactions_get_error_12() {
    let mut cluster = Cluster::start(BIN, 1, 10);
    for bad in [
        json!({"type": "txn", "txn": [["w", 1]]}),
        json!({"type": "txn", "txn": [["x", 1, 2]]}),
        json!({"type": "txn", "txn": [["w", 1, null]]}),
        json!({"type": "txn", "txn": [["w", "k", 1]]}),
        json!({"type": "txn"}),
    ] {
        let reply = cluster.call(0, bad.clone());
        assert_eq!(reply["type"], "error", "{bad} accepted");
        assert_eq!(reply["code"], 12, "{bad} got {reply}");
    }
    // Nothing of the refused transactions took effect.
    let read = cluster.call(0, json!({"type": "txn", "txn": [["r", 1, null]]}));
    assert_eq!(read["txn"], json!([["r", 1, null]]));
}

#[test]
fn two_nodes_converge_by_last_writer_wins() {
    let mut cluster = Cluster::start(BIN, 2, 5);
    cluster.call(0, json!({"type": "txn", "txn": [["w", 1, 1], ["w", 2, 1]]}));
    cluster.call(1, json!({"type": "txn", "txn": [["w", 1, 2]]}));
    cluster.call(0, json!({"type": "txn", "txn": [["w", 3, 1]]}));
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let reads = json!({"type": "txn", "txn": [["r", 1, null], ["r", 2, null], ["r", 3, null]]});
        let a = cluster.call(0, reads.clone());
        let b = cluster.call(1, reads);
        if a["txn"] == b["txn"] && a["txn"][2][2] == json!(1) {
            // n1's write of key 1 is stamped (1, 1) or later, above n0's (1, 0): it wins
            // on both replicas whether or not n1 had seen n0's write.
            assert_eq!(a["txn"][0][2], json!(2));
            assert_eq!(a["txn"][1][2], json!(1));
            break;
        }
        assert!(
            Instant::now() < deadline,
            "replicas never converged: {a} vs {b}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn both_sides_of_a_partition_stay_available_and_converge_after_the_heal() {
    let mut cluster = Cluster::start(BIN, 2, 5);
    cluster.partitioned = true;
    for i in 1..=5i64 {
        for node in 0..2usize {
            let value = i * 10 + node as i64;
            let reply = cluster.call(
                node,
                json!({"type": "txn", "txn": [["w", i, value], ["r", i, null]]}),
            );
            assert_eq!(reply["type"], "txn_ok", "txn refused during the partition");
            assert_eq!(
                reply["txn"][1][2],
                json!(value),
                "a txn reads its own write"
            );
        }
    }
    let until = Instant::now() + Duration::from_millis(300);
    while Instant::now() < until {
        cluster.pump();
    }
    assert!(
        cluster.dropped > 0,
        "replication was attempted during the partition"
    );
    cluster.partitioned = false;
    let reads = json!({"type": "txn", "txn": [["r", 1, null], ["r", 2, null], ["r", 3, null], ["r", 4, null], ["r", 5, null]]});
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let a = cluster.call(0, reads.clone());
        let b = cluster.call(1, reads.clone());
        if a["txn"] == b["txn"] {
            // Both sides wrote each key at the same Lamport counter; the node index breaks
            // the tie, so n1's value wins everywhere.
            for i in 1..=5i64 {
                assert_eq!(a["txn"][(i - 1) as usize][2], json!(i * 10 + 1));
            }
            break;
        }
        assert!(
            Instant::now() < deadline,
            "replicas never converged: {a} vs {b}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The shape of the 6c line (2 nodes, 4 clients, about 1000 transactions per second) for a
/// few seconds: every transaction answered `txn_ok`, at most 0.5 server messages per
/// operation. (The harness's `glomers challenge 6c` measures latencies and checks
/// isolation; a unit test does not time.)
#[test]
fn load_like_6c_stays_under_half_a_server_message_per_op() {
    let report = load(
        BIN,
        2,
        4,
        Duration::from_secs(4),
        Duration::from_millis(4),
        |c| {
            move |ops: u64, last: Option<&Value>| {
                if let Some(reply) = last {
                    assert_eq!(reply["type"], "txn_ok", "{reply}");
                }
                // Values unique per key: client index in the low digits.
                let value = ops * 10 + c as u64;
                json!({"type": "txn", "txn": [
                    ["r", ops % 5, null],
                    ["w", ops % 5, value],
                    ["r", (ops + 1) % 5, null]
                ]})
            }
        },
    );
    eprintln!("{report:?}");
    assert!(report.ops > 100, "too few operations: {report:?}");
    assert!(report.per_op() <= 0.5, "{report:?}");
}
