//! Drives the real `broadcast` binary over stdin/stdout: the client RPCs on one node, error
//! replies, and several processes connected by an in-test router, with a partition that
//! drops node-to-node lines and then heals.

mod common;

use std::time::{Duration, Instant};

use common::NodeProc;
use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_broadcast");

#[test]
fn single_node_answers_topology_broadcast_and_read_with_integers() {
    let mut n = NodeProc::spawn(BIN, &[], &[]);
    n.init("n0", &["n0"]);
    n.send(
        "c1",
        "n0",
        json!({"type": "topology", "msg_id": 1, "topology": {"n0": []}}),
    );
    let (r, _) = n.recv_reply("c1", 1);
    assert_eq!(r["body"], json!({"type": "topology_ok", "in_reply_to": 1}));
    for (i, v) in [3u64, 1, 2, 3].iter().enumerate() {
        let id = 10 + i as u64;
        n.send(
            "c1",
            "n0",
            json!({"type": "broadcast", "msg_id": id, "message": v}),
        );
        let (r, _) = n.recv_reply("c1", id);
        assert_eq!(
            r["body"],
            json!({"type": "broadcast_ok", "in_reply_to": id})
        );
    }
    n.send("c1", "n0", json!({"type": "read", "msg_id": 20}));
    let (r, _) = n.recv_reply("c1", 20);
    assert_eq!(
        r["body"],
        json!({"type": "read_ok", "messages": [1, 2, 3], "in_reply_to": 20})
    );
    // Integers, never floats.
    assert!(r["body"]["messages"]
        .as_array()
        .is_some_and(|a| a.iter().all(Value::is_u64)));
    let (_, stderr) = n.finish();
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn bad_requests_get_maelstrom_errors_not_a_crash() {
    let mut n = NodeProc::spawn(BIN, &["--mode", "latency"], &[]);
    n.init("n0", &["n0", "n1"]);
    n.send(
        "c1",
        "n0",
        json!({"type": "broadcast", "msg_id": 2, "message": "x"}),
    );
    let (r, _) = n.recv_reply("c1", 2);
    assert_eq!(r["body"]["type"], "error");
    assert_eq!(r["body"]["code"], 12);
    n.send("c1", "n0", json!({"type": "frobnicate", "msg_id": 3}));
    let (r, _) = n.recv_reply("c1", 3);
    assert_eq!(r["body"]["code"], 10);
    n.send("c1", "n0", json!({"type": "read", "msg_id": 4}));
    let (r, _) = n.recv_reply("c1", 4);
    assert_eq!(r["body"]["messages"], json!([]));
    let (_, stderr) = n.finish();
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn unknown_mode_is_refused_at_start() {
    let out = std::process::Command::new(BIN)
        .args(["--mode", "fastest"])
        .output()
        .expect("binary runs");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown broadcast mode"));
}

/// Node processes `n0..` and a router that forwards node-to-node lines (unless partitioned)
/// and keeps client-bound lines.
struct Cluster {
    nodes: Vec<NodeProc>,
    ids: Vec<String>,
    partitioned: bool,
    forwarded: u64,
    dropped: u64,
    replies: Vec<Value>,
    next_msg_id: u64,
}

impl Cluster {
    fn start(n: usize, args: &[&str]) -> Self {
        let ids: Vec<String> = (0..n).map(|i| format!("n{i}")).collect();
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let mut nodes = Vec::new();
        for id in &ids {
            let mut p = NodeProc::spawn(BIN, args, &[]);
            p.init(id, &refs);
            nodes.push(p);
        }
        Self {
            nodes,
            ids,
            partitioned: false,
            forwarded: 0,
            dropped: 0,
            replies: Vec::new(),
            next_msg_id: 100,
        }
    }

    /// Moves lines between nodes for `dur`.
    fn pump(&mut self, dur: Duration) {
        let end = Instant::now() + dur;
        while Instant::now() < end {
            let mut idle = true;
            for i in 0..self.nodes.len() {
                while let Some(line) = self.nodes[i].recv_within(Duration::from_millis(1)) {
                    idle = false;
                    let dest = line["dest"].as_str().unwrap_or_default().to_owned();
                    match self.ids.iter().position(|x| *x == dest) {
                        Some(j) if self.partitioned => {
                            let _ = j;
                            self.dropped += 1;
                        }
                        Some(j) => {
                            self.forwarded += 1;
                            let src = line["src"].as_str().unwrap_or_default().to_owned();
                            self.nodes[j].send(&src, &dest, line["body"].clone());
                        }
                        None => self.replies.push(line),
                    }
                }
            }
            if idle {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
    }

    /// Sends a client request to node `i` and pumps until its reply arrives.
    fn call(&mut self, i: usize, mut body: Value) -> Value {
        self.next_msg_id += 1;
        let id = self.next_msg_id;
        body["msg_id"] = json!(id);
        let dest = self.ids[i].clone();
        self.nodes[i].send("c9", &dest, body);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(pos) = self
                .replies
                .iter()
                .position(|r| r["dest"] == "c9" && r["body"]["in_reply_to"] == id)
            {
                return self.replies.remove(pos)["body"].clone();
            }
            assert!(Instant::now() < deadline, "no reply to {id} from {dest}");
            self.pump(Duration::from_millis(5));
        }
    }

    fn read(&mut self, i: usize) -> Vec<u64> {
        let body = self.call(i, json!({"type": "read"}));
        body["messages"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_u64).collect())
            .unwrap_or_default()
    }

    /// Pumps until every node reads `expected`, or panics after `limit`.
    fn await_everywhere(&mut self, expected: &[u64], limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            let all = (0..self.nodes.len()).all(|i| self.read(i) == expected);
            if all {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "not every node reads {expected:?}: {:?}",
                (0..self.nodes.len())
                    .map(|i| self.read(i))
                    .collect::<Vec<_>>()
            );
            self.pump(Duration::from_millis(50));
        }
    }
}

#[test]
fn values_reach_every_process_in_each_mode() {
    for mode in ["latency", "balanced", "messages"] {
        let mut c = Cluster::start(4, &["--mode", mode]);
        let topo = json!({"type": "topology", "topology": {"n0": ["n1"], "n1": ["n0"]}});
        for i in 0..4 {
            assert_eq!(c.call(i, topo.clone())["type"], "topology_ok");
        }
        for (i, v) in [(0, 10u64), (3, 11), (2, 12), (1, 13)] {
            assert_eq!(
                c.call(i, json!({"type": "broadcast", "message": v}))["type"],
                "broadcast_ok"
            );
        }
        c.await_everywhere(&[10, 11, 12, 13], Duration::from_secs(10));
        assert!(c.forwarded > 0, "{mode}: values moved between processes");
    }
}

#[test]
fn values_from_both_sides_of_a_partition_meet_after_the_heal() {
    // Short anti-entropy period so the test is quick.
    let mut c = Cluster::start(
        3,
        &[
            "--mode",
            "balanced",
            "--digest-ms",
            "200",
            "--settle-ms",
            "100",
        ],
    );
    c.partitioned = true;
    for (i, v) in [(0, 1u64), (1, 2), (2, 3)] {
        assert_eq!(
            c.call(i, json!({"type": "broadcast", "message": v}))["type"],
            "broadcast_ok"
        );
    }
    c.pump(Duration::from_millis(1500));
    assert!(c.dropped > 0, "the partition dropped node-to-node lines");
    assert_eq!(c.read(1), vec![2], "nothing crosses the partition");
    c.partitioned = false;
    c.await_everywhere(&[1, 2, 3], Duration::from_secs(10));
}
