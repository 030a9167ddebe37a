//! The lin-kv binary driven through stdin/stdout as a cluster of one: it elects itself and
//! serves reads, writes and compare-and-sets with Maelstrom's codes.

mod common;

use common::NodeProc;
use serde_json::json;

#[test]
fn a_lone_node_elects_itself_and_serves_with_maelstroms_codes() {
    // Quick elections: the request sent right after `init` is held until there is a leader.
    let mut n = NodeProc::spawn(
        env!("CARGO_BIN_EXE_lin-kv"),
        &["--round-ms", "2", "--election-ms", "5"],
        &[],
    );
    n.init("n0", &["n0"]);
    let ask = |n: &mut NodeProc, id: u64, body: serde_json::Value| {
        let mut body = body;
        body["msg_id"] = json!(id);
        n.send("c1", "n0", body);
        n.recv_reply("c1", id).0["body"].clone()
    };
    assert_eq!(
        ask(&mut n, 1, json!({"type": "write", "key": 1, "value": 3})),
        json!({"type": "write_ok", "in_reply_to": 1})
    );
    assert_eq!(
        ask(&mut n, 2, json!({"type": "read", "key": 1})),
        json!({"type": "read_ok", "value": 3, "in_reply_to": 2})
    );
    let wrong = ask(
        &mut n,
        3,
        json!({"type": "cas", "key": 1, "from": 4, "to": 5}),
    );
    assert_eq!(
        (wrong["type"].clone(), wrong["code"].clone()),
        (json!("error"), json!(22))
    );
    let missing = ask(&mut n, 4, json!({"type": "read", "key": 9}));
    assert_eq!(missing["code"], json!(20));
    assert_eq!(
        ask(
            &mut n,
            5,
            json!({"type": "cas", "key": 1, "from": 3, "to": 5})
        ),
        json!({"type": "cas_ok", "in_reply_to": 5})
    );
    let odd = ask(&mut n, 6, json!({"type": "frobnicate"}));
    assert_eq!(odd["code"], json!(10), "unknown type");
    let (rest, _) = n.finish();
    assert!(
        rest.is_empty(),
        "a lone node sends no server message: {rest:?}"
    );
}
