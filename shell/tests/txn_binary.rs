//! Drives the real `txn` binary over stdin/stdout: transactions on one node, error
//! replies, and replication between two processes connected by an in-test router.

mod common;

use common::cluster::Cluster;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc::channel;
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
/// few seconds, through a threaded router that counts node-to-node messages. Checks the
/// targets: every transaction answered `txn_ok`, at most 0.5 server messages per operation.
#[test]
fn load_like_6c_stays_under_half_a_server_message_per_op() {
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::mpsc::Sender;
    use std::sync::{Arc, Mutex};

    let n = 2;
    let ids: Vec<String> = (0..n).map(|i| format!("n{i}")).collect();
    let mut children = Vec::new();
    let mut stdins = Vec::new();
    let mut stdouts = Vec::new();
    for _ in 0..n {
        let mut child = Command::new(env!("CARGO_BIN_EXE_txn"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("txn binary starts");
        stdins.push(Arc::new(Mutex::new(child.stdin.take().expect("stdin"))));
        stdouts.push(child.stdout.take().expect("stdout"));
        children.push(child);
    }
    let server_messages = Arc::new(AtomicU64::new(0));
    let routes: Arc<Mutex<HashMap<String, Sender<Value>>>> = Arc::default();
    for (i, stdout) in stdouts.into_iter().enumerate() {
        let stdins = stdins.clone();
        let routes = routes.clone();
        let server_messages = server_messages.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let value: Value = serde_json::from_str(&line).expect("JSON line");
                let dest = value["dest"].as_str().unwrap_or_default().to_owned();
                if let Some(j) = dest.strip_prefix('n').and_then(|d| d.parse::<usize>().ok()) {
                    server_messages.fetch_add(1, Ordering::Relaxed);
                    let mut stdin = stdins[j].lock().expect("lock");
                    let _ = writeln!(stdin, "{line}");
                    let _ = stdin.flush();
                } else if let Some(tx) = routes.lock().expect("lock").get(&dest) {
                    let _ = tx.send(value);
                }
                let _ = i;
            }
        });
    }
    let write = |node: usize, message: &Value| {
        let mut stdin = stdins[node].lock().expect("lock");
        writeln!(stdin, "{message}").expect("write");
        stdin.flush().expect("flush");
    };
    for (i, id) in ids.iter().enumerate() {
        let (tx, rx) = channel();
        routes.lock().expect("lock").insert(format!("c{i}"), tx);
        write(
            i,
            &json!({"src": format!("c{i}"), "dest": id,
            "body": {"type": "init", "msg_id": 1, "node_id": id, "node_ids": ids}}),
        );
        rx.recv_timeout(Duration::from_secs(5)).expect("init_ok");
    }
    let run_for = Duration::from_secs(4);
    let per_client_gap = Duration::from_micros(4_000); // 4 clients x 250/s = 1000 ops/s
    let write = Arc::new(write);
    let results: Vec<(u64, Vec<Duration>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4usize)
            .map(|c| {
                let write = write.clone();
                let routes = routes.clone();
                scope.spawn(move || {
                    let name = format!("c{}", 10 + c);
                    let (tx, rx) = channel();
                    routes.lock().expect("lock").insert(name.clone(), tx);
                    let node = c % 2;
                    let mut latencies = Vec::new();
                    let start = Instant::now();
                    let mut ops = 0u64;
                    while start.elapsed() < run_for {
                        ops += 1;
                        // Values unique per key: client index in the low digits.
                        let value = ops * 10 + c as u64;
                        let txn = json!([
                            ["r", ops % 5, null],
                            ["w", ops % 5, value],
                            ["r", (ops + 1) % 5, null]
                        ]);
                        let body = json!({"type": "txn", "txn": txn, "msg_id": ops});
                        let sent_at = Instant::now();
                        write(
                            node,
                            &json!({"src": name, "dest": format!("n{node}"), "body": body}),
                        );
                        let reply = rx.recv_timeout(Duration::from_secs(5)).expect("reply");
                        latencies.push(sent_at.elapsed());
                        assert_eq!(reply["body"]["type"], "txn_ok", "{reply}");
                        std::thread::sleep(per_client_gap.saturating_sub(sent_at.elapsed()));
                    }
                    (ops, latencies)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("client thread"))
            .collect()
    });
    let ops: u64 = results.iter().map(|(ops, _)| ops).sum();
    let mut latencies: Vec<Duration> = results.into_iter().flat_map(|(_, l)| l).collect();
    latencies.sort_unstable();
    let p99 = latencies[latencies.len() * 99 / 100];
    let per_op = server_messages.load(Ordering::Relaxed) as f64 / ops as f64;
    eprintln!("ops {ops}, server messages per op {per_op:.3}, p99 latency {p99:?}");
    for mut child in children {
        let _ = child.kill();
        let _ = child.wait();
    }
    assert!(per_op <= 0.5, "{per_op} server messages per operation");
    assert!(p99 < Duration::from_millis(5), "p99 latency {p99:?}");
}
