//! Three g-counter processes (kv mode) against a model of `seq-kv` that serves every request
//! from a random state between the caller's last state and the newest one, as the real service
//! does. Operations run one at a time, so every read must return exactly the sum of the adds
//! acknowledged before it, stale reads notwithstanding.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::NodeProc;
use serde_json::{json, Value};

/// Deterministic xorshift generator, seeded per test.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Sequentially consistent store: all states kept, per-caller index.
struct SeqKv {
    states: Vec<BTreeMap<String, Value>>,
    index: BTreeMap<String, usize>,
    rng: Rng,
}

impl SeqKv {
    fn new(seed: u64) -> Self {
        Self {
            states: vec![BTreeMap::new()],
            index: BTreeMap::new(),
            rng: Rng(seed),
        }
    }

    /// Applies one request from `caller`, returning the reply body (without in_reply_to).
    fn handle(&mut self, caller: &str, body: &Value) -> Value {
        let last = self.states.len() - 1;
        let ci = *self.index.get(caller).unwrap_or(&0);
        // As the service does: a uniformly random index in [ci, last), or ci when it is the
        // newest. (All states are kept, so an old index yields the genuinely old state, which
        // is at least as stale as the service's 32-state ring.)
        let i = if last > ci {
            ci + self.rng.below((last - ci) as u64) as usize
        } else {
            ci
        };
        let (reply, changed) = Self::apply(&self.states[i], body);
        if changed.is_none() {
            self.index.insert(caller.to_owned(), i);
            return reply;
        }
        let (reply, changed) = Self::apply(&self.states[last], body);
        if let Some(next) = changed {
            self.states.push(next);
        }
        self.index.insert(caller.to_owned(), self.states.len() - 1);
        reply
    }

    fn apply(
        state: &BTreeMap<String, Value>,
        body: &Value,
    ) -> (Value, Option<BTreeMap<String, Value>>) {
        let key = body["key"].as_str().expect("string keys").to_owned();
        match body["type"].as_str() {
            Some("read") => match state.get(&key) {
                Some(v) => (json!({"type": "read_ok", "value": v}), None),
                None => (
                    json!({"type": "error", "code": 20, "text": "key does not exist"}),
                    None,
                ),
            },
            Some("write") => {
                let v = body["value"].clone();
                if state.get(&key) == Some(&v) {
                    return (json!({"type": "write_ok"}), None);
                }
                let mut next = state.clone();
                next.insert(key, v);
                (json!({"type": "write_ok"}), Some(next))
            }
            other => panic!("unexpected request {other:?}"),
        }
    }
}

/// Pumps node output until `client` gets the reply to `msg_id`, serving `seq-kv` on the way.
fn run_op(nodes: &mut [NodeProc], kv: &mut SeqKv, client: &str, msg_id: u64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        assert!(Instant::now() < deadline, "no reply to {client}/{msg_id}");
        for node in nodes.iter_mut() {
            while let Some(v) = node.recv_within(Duration::from_millis(1)) {
                let dest = v["dest"].as_str().unwrap().to_owned();
                if dest == "seq-kv" {
                    let mut reply = kv.handle(v["src"].as_str().unwrap(), &v["body"]);
                    reply["in_reply_to"] = v["body"]["msg_id"].clone();
                    node.send("seq-kv", v["src"].as_str().unwrap(), reply);
                } else if dest == client && v["body"]["in_reply_to"] == msg_id {
                    return v;
                } else {
                    panic!("unexpected message {v}");
                }
            }
        }
    }
}

fn exact_reads_despite_stale_store(seed: u64) {
    let ids = ["n0", "n1", "n2"];
    let mut nodes: Vec<NodeProc> = ids
        .iter()
        .map(|id| {
            let mut n = NodeProc::spawn(env!("CARGO_BIN_EXE_g-counter"), &["--mode", "kv"], &[]);
            n.init(id, &ids);
            n
        })
        .collect();
    let mut kv = SeqKv::new(seed);
    let mut rng = Rng(seed ^ 0x9e37_79b9_7f4a_7c15);
    let mut acked = 0u64;
    let mut reads = 0;
    for op in 0..240u64 {
        let i = rng.below(3) as usize;
        let client = format!("c{}", 10 + i);
        let msg_id = op + 1;
        if rng.below(3) == 0 {
            let delta = rng.below(5);
            nodes[i].send(
                &client,
                ids[i],
                json!({"type": "add", "msg_id": msg_id, "delta": delta}),
            );
            let r = run_op(&mut nodes, &mut kv, &client, msg_id);
            assert_eq!(r["body"]["type"], "add_ok", "{r}");
            acked += delta;
        } else {
            nodes[i].send(&client, ids[i], json!({"type": "read", "msg_id": msg_id}));
            let r = run_op(&mut nodes, &mut kv, &client, msg_id);
            assert_eq!(r["body"]["type"], "read_ok", "{r}");
            assert_eq!(
                r["body"]["value"], acked,
                "read on {} after op {op}",
                ids[i]
            );
            reads += 1;
        }
    }
    assert!(reads > 100 && acked > 0);
    assert!(kv.states.len() > 50, "the store saw many states");
}

#[test]
fn exact_reads_seed_1() {
    exact_reads_despite_stale_store(0x1234_5678_9abc_def1);
}

#[test]
fn exact_reads_seed_2() {
    exact_reads_despite_stale_store(0x0fed_cba9_8765_4321);
}
