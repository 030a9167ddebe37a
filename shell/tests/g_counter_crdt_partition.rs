//! Three g-counter processes in CRDT mode, gossip routed by the test: adds during a partition
//! that isolates n0, then a heal; every node's read converges to the exact total within a few
//! gossip periods.

mod common;

use std::time::{Duration, Instant};

use common::NodeProc;
use serde_json::{json, Value};

const IDS: [&str; 3] = ["n0", "n1", "n2"];

struct Cluster {
    nodes: Vec<NodeProc>,
    cut: bool,
    dropped: usize,
    delivered: usize,
}

impl Cluster {
    fn index(id: &str) -> usize {
        IDS.iter().position(|x| *x == id).expect("a cluster node")
    }

    fn partitioned(&self, a: &str, b: &str) -> bool {
        self.cut && ((a == "n0") != (b == "n0"))
    }

    /// Routes peer messages for `d`, returning client replies seen.
    fn pump(&mut self, d: Duration) -> Vec<Value> {
        let end = Instant::now() + d;
        let mut replies = Vec::new();
        while Instant::now() < end {
            for i in 0..IDS.len() {
                while let Some(v) = self.nodes[i].recv_within(Duration::from_millis(2)) {
                    let dest = v["dest"].as_str().unwrap().to_owned();
                    if dest.starts_with('c') {
                        replies.push(v);
                        continue;
                    }
                    let src = v["src"].as_str().unwrap().to_owned();
                    if self.partitioned(&src, &dest) {
                        self.dropped += 1;
                        continue;
                    }
                    self.delivered += 1;
                    let j = Self::index(&dest);
                    self.nodes[j].send(&src, &dest, v["body"].clone());
                }
            }
        }
        replies
    }

    fn call(&mut self, node: usize, msg_id: u64, body: Value) -> Value {
        let client = format!("c{}", 10 + node);
        let mut body = body;
        body["msg_id"] = json!(msg_id);
        self.nodes[node].send(&client, IDS[node], body);
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            assert!(Instant::now() < deadline, "no reply to {msg_id}");
            for r in self.pump(Duration::from_millis(5)) {
                if r["body"]["in_reply_to"] == msg_id {
                    return r["body"].clone();
                }
            }
        }
    }
}

#[test]
fn exact_after_partition_heals() {
    let nodes = IDS
        .iter()
        .map(|id| {
            let mut n = NodeProc::spawn(env!("CARGO_BIN_EXE_g-counter"), &["--mode", "crdt"], &[]);
            n.init(id, &IDS);
            n
        })
        .collect();
    let mut c = Cluster {
        nodes,
        cut: true,
        dropped: 0,
        delivered: 0,
    };
    let mut total = 0;
    let mut msg_id = 1;
    for round in 0..30u64 {
        let node = (round % 3) as usize;
        let delta = round % 5;
        let r = c.call(node, msg_id, json!({"type": "add", "delta": delta}));
        assert_eq!(r["type"], "add_ok");
        total += delta;
        msg_id += 1;
    }
    c.pump(Duration::from_millis(600));
    // While cut, n0 cannot know the others' adds (and vice versa).
    let r0 = c.call(0, msg_id, json!({"type": "read"}));
    msg_id += 1;
    assert!(
        r0["value"].as_u64().unwrap() < total,
        "partition had no effect: {r0}"
    );
    assert!(c.dropped > 0);

    c.cut = false;
    // Converges within a few gossip periods; allow a loaded machine up to 10 s.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        c.pump(Duration::from_millis(300));
        let mut values = Vec::new();
        for node in 0..IDS.len() {
            let r = c.call(node, msg_id, json!({"type": "read"}));
            msg_id += 1;
            values.push(r["value"].as_u64().unwrap());
        }
        assert!(values.iter().all(|v| *v <= total), "over-count: {values:?}");
        if values.iter().all(|v| *v == total) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no convergence: {values:?} vs {total}"
        );
    }
    assert!(c.delivered > 0);
}
