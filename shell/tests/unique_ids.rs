//! The unique-ids binary driven through stdin/stdout: ids are distinct JSON integers across
//! nodes and across a restart, and minting needs no server message.

mod common;

use std::collections::HashSet;

use common::NodeProc;
use serde_json::json;

fn mint(n: &mut NodeProc, me: &str, client: &str, count: u64, first_msg_id: u64) -> Vec<u64> {
    for i in 0..count {
        n.send(
            client,
            me,
            json!({"type": "generate", "msg_id": first_msg_id + i}),
        );
    }
    let mut ids = Vec::new();
    for i in 0..count {
        let v = n.recv();
        assert_eq!(
            v["dest"], client,
            "only client replies, no server messages: {v}"
        );
        assert_eq!(v["body"]["type"], "generate_ok", "{v}");
        assert_eq!(
            v["body"]["in_reply_to"],
            first_msg_id + i,
            "replies in order"
        );
        let obj = v["body"].as_object().unwrap();
        assert_eq!(obj.len(), 3, "closed schema: type, id, in_reply_to: {v}");
        ids.push(
            v["body"]["id"]
                .as_u64()
                .expect("id is a JSON unsigned integer"),
        );
    }
    ids
}

fn node(id: &str, ids: &[&str]) -> NodeProc {
    let mut n = NodeProc::spawn(env!("CARGO_BIN_EXE_unique-ids"), &[], &[]);
    n.init(id, ids);
    n
}

#[test]
fn ids_are_distinct_across_nodes() {
    let names = ["n0", "n1", "n2"];
    let mut all = HashSet::new();
    let mut nodes: Vec<_> = names.iter().map(|id| node(id, &names)).collect();
    for (k, n) in nodes.iter_mut().enumerate() {
        for id in mint(n, names[k], &format!("c{k}"), 3000, 1) {
            assert!(all.insert(id), "duplicate id {id}");
        }
    }
    assert_eq!(all.len(), 9000);
    for n in nodes {
        let (rest, _) = n.finish();
        assert!(rest.is_empty());
    }
}

#[test]
fn ids_are_distinct_across_a_restart() {
    let names = ["n0", "n1"];
    let mut first = node("n1", &names);
    let before: HashSet<u64> = mint(&mut first, "n1", "c1", 2000, 1).into_iter().collect();
    first.finish();
    let mut second = node("n1", &names);
    for id in mint(&mut second, "n1", "c1", 2000, 1) {
        assert!(!before.contains(&id), "id {id} repeated after restart");
    }
    second.finish();
}
