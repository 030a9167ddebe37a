//! The g-counter binary, in both modes, driven through stdin/stdout (the test plays the
//! clients, the peers and `seq-kv`).

mod common;

use std::time::Duration;

use common::NodeProc;
use serde_json::{json, Value};

fn counter(mode: &str) -> NodeProc {
    NodeProc::spawn(env!("CARGO_BIN_EXE_g-counter"), &["--mode", mode], &[])
}

/// Next message addressed to `dest`, skipping others.
fn next_to(n: &mut NodeProc, dest: &str) -> Value {
    for _ in 0..100 {
        let v = n.recv();
        if v["dest"] == dest {
            return v;
        }
    }
    panic!("no message to {dest}");
}

/// Answers the read of its own total a kv-mode node `me` makes at start (a life that may
/// follow another) with `total` (`None`: the key does not exist).
fn started(n: &mut NodeProc, me: &str, total: Option<u64>) {
    let r = next_to(n, "seq-kv");
    assert_eq!(r["body"]["type"], "read");
    assert_eq!(r["body"]["key"], format!("counter-{me}"));
    let reply = match total {
        Some(v) => json!({"type": "read_ok", "value": v, "in_reply_to": r["body"]["msg_id"]}),
        None => {
            json!({"type": "error", "code": 20, "text": "key does not exist", "in_reply_to": r["body"]["msg_id"]})
        }
    };
    n.send("seq-kv", me, reply);
}

#[test]
fn kv_mode_writes_totals_and_fences_reads() {
    let mut n = counter("kv");
    n.init("n0", &["n0", "n1"]);
    started(&mut n, "n0", None);

    n.send("c1", "n0", json!({"type": "add", "msg_id": 2, "delta": 3}));
    let w = next_to(&mut n, "seq-kv");
    assert_eq!(w["body"]["type"], "write");
    assert_eq!(w["body"]["key"], "counter-n0");
    assert_eq!(w["body"]["value"], 3);
    n.send(
        "seq-kv",
        "n0",
        json!({"type": "write_ok", "in_reply_to": w["body"]["msg_id"]}),
    );
    let (ok, _) = n.recv_reply("c1", 2);
    assert_eq!(ok["body"], json!({"type": "add_ok", "in_reply_to": 2}));

    n.send("c1", "n0", json!({"type": "add", "msg_id": 3, "delta": 4}));
    let w = next_to(&mut n, "seq-kv");
    assert_eq!(
        w["body"]["value"], 7,
        "the running total is written, not the delta"
    );
    n.send(
        "seq-kv",
        "n0",
        json!({"type": "write_ok", "in_reply_to": w["body"]["msg_id"]}),
    );
    n.recv_reply("c1", 3);

    n.send("c1", "n0", json!({"type": "read", "msg_id": 4}));
    let fence = next_to(&mut n, "seq-kv");
    assert_eq!(fence["body"]["type"], "write");
    assert_eq!(fence["body"]["key"], "fence-n0");
    let f1 = fence["body"]["value"].as_u64().expect("integer fence");
    n.send(
        "seq-kv",
        "n0",
        json!({"type": "write_ok", "in_reply_to": fence["body"]["msg_id"]}),
    );
    let r = next_to(&mut n, "seq-kv");
    assert_eq!(
        r["body"],
        json!({"type": "read", "key": "counter-n1", "msg_id": r["body"]["msg_id"]})
    );
    n.send(
        "seq-kv",
        "n0",
        json!({"type": "read_ok", "value": 5, "in_reply_to": r["body"]["msg_id"]}),
    );
    let (ok, _) = n.recv_reply("c1", 4);
    assert_eq!(
        ok["body"],
        json!({"type": "read_ok", "value": 12, "in_reply_to": 4})
    );

    // A second read uses a different fence value; a missing peer key counts as zero.
    n.send("c1", "n0", json!({"type": "read", "msg_id": 5}));
    let fence = next_to(&mut n, "seq-kv");
    assert_ne!(fence["body"]["value"].as_u64().unwrap(), f1);
    n.send(
        "seq-kv",
        "n0",
        json!({"type": "write_ok", "in_reply_to": fence["body"]["msg_id"]}),
    );
    let r = next_to(&mut n, "seq-kv");
    n.send(
        "seq-kv",
        "n0",
        json!({"type": "error", "code": 20, "text": "key does not exist", "in_reply_to": r["body"]["msg_id"]}),
    );
    let (ok, _) = n.recv_reply("c1", 5);
    assert_eq!(ok["body"]["value"], 7);

    // Negative deltas are malformed.
    n.send("c1", "n0", json!({"type": "add", "msg_id": 6, "delta": -1}));
    let (err, _) = n.recv_reply("c1", 6);
    assert_eq!(err["body"]["code"], 12);
    drop(n);
}

#[test]
fn kv_mode_failed_write_is_indefinite_and_retried() {
    let mut n = counter("kv");
    n.init("n0", &["n0"]);
    started(&mut n, "n0", None);
    n.send("c1", "n0", json!({"type": "add", "msg_id": 2, "delta": 2}));
    let w = next_to(&mut n, "seq-kv");
    n.send(
        "seq-kv",
        "n0",
        json!({"type": "error", "code": 13, "text": "boom", "in_reply_to": w["body"]["msg_id"]}),
    );
    let (err, _) = n.recv_reply("c1", 2);
    assert_eq!(err["body"]["type"], "error");
    assert_eq!(
        err["body"]["code"], 13,
        "the add may still take effect: indefinite"
    );
    // The periodic flush writes the total again.
    let again = next_to(&mut n, "seq-kv");
    assert_eq!(again["body"]["key"], "counter-n0");
    assert_eq!(again["body"]["value"], 2);
}

#[test]
fn crdt_mode_answers_locally_and_gossips_integers() {
    let mut n = counter("crdt");
    n.init("n0", &["n0", "n1", "n2"]);
    n.send("c1", "n0", json!({"type": "add", "msg_id": 2, "delta": 4}));
    let (ok, _) = n.recv_reply("c1", 2);
    assert_eq!(ok["body"], json!({"type": "add_ok", "in_reply_to": 2}));
    n.send(
        "n1",
        "n0",
        json!({"type": "gossip", "seq": 1, "delta": {"n1.1": 5, "n2.1": 1, "n2": 9}}),
    );
    n.send("c1", "n0", json!({"type": "read", "msg_id": 3}));
    let (ok, others) = n.recv_reply("c1", 3);
    assert_eq!(
        ok["body"],
        json!({"type": "read_ok", "value": 10, "in_reply_to": 3})
    );
    // Gossip carries integer totals for every node.
    let mut gossip: Vec<Value> = others
        .into_iter()
        .filter(|v| v["body"]["type"] == "gossip")
        .collect();
    while gossip.iter().all(|g| g["dest"] != "n2") {
        let v = n.recv_within(Duration::from_secs(3)).expect("gossip to n2");
        if v["body"]["type"] == "gossip" {
            gossip.push(v);
        }
    }
    let g = gossip.iter().rev().find(|g| g["dest"] == "n2").unwrap();
    // Slots per node life: `<node>.<life>`; a key that names no life is ignored.
    let delta = g["body"]["delta"].as_object().expect("slots");
    let own: Vec<_> = delta.keys().filter(|k| k.starts_with("n0.")).collect();
    assert_eq!(own.len(), 1, "{delta:?}");
    assert_eq!(delta[own[0].as_str()], 4);
    assert_eq!(
        (delta["n1.1"].clone(), delta["n2.1"].clone()),
        (json!(5), json!(1))
    );
    assert_eq!(delta.len(), 3, "{delta:?}");
    assert_eq!(
        g["body"]["full"], true,
        "the first message to n2 carries the whole state"
    );
    assert!(g["body"].get("msg_id").is_none(), "gossip is one-way");
    let (_, _stderr) = n.finish();
}

#[test]
fn crdt_mode_from_environment() {
    let mut n = NodeProc::spawn(
        env!("CARGO_BIN_EXE_g-counter"),
        &[],
        &[("GLOMERS_GCOUNTER", "crdt")],
    );
    n.init("n0", &["n0"]);
    n.send("c1", "n0", json!({"type": "add", "msg_id": 2, "delta": 1}));
    // In kv mode this would be a write to seq-kv; in crdt mode the add is answered at once.
    let v = n.recv();
    assert_eq!(v["dest"], "c1");
    assert_eq!(v["body"]["type"], "add_ok");
    n.finish();
}
