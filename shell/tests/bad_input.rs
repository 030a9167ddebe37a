//! No input can panic the protocol layer or stop a node: arbitrary lines, arbitrary JSON
//! values as envelopes and bodies.

use std::time::Duration;

use glomers_shell::node::{serve_io, Answer, Handler, Node};
use glomers_shell::protocol::{self, Incoming};
use proptest::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Req {
    Echo { echo: Value },
    Add { delta: u64, tags: Vec<String> },
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Resp {
    EchoOk { echo: Value },
}

struct Echo;

impl Handler for Echo {
    type Request = Req;
    type Response = Resp;

    async fn handle(&self, _node: &Node, msg: Incoming<Req>) -> Answer<Resp> {
        match msg.body {
            Req::Echo { echo } => Ok(Some(Resp::EchoOk { echo })),
            Req::Add { delta, tags } => {
                tracing::debug!(delta, tags = tags.len(), "add ignored");
                Ok(None)
            }
        }
    }
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        "[a-z_]{0,8}".prop_map(Value::String),
        prop_oneof![Just("echo"), Just("add"), Just("init"), Just("error")]
            .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("type".to_owned()),
                    Just("msg_id".to_owned()),
                    Just("in_reply_to".to_owned()),
                    Just("src".to_owned()),
                    Just("dest".to_owned()),
                    Just("body".to_owned()),
                    Just("echo".to_owned()),
                    Just("delta".to_owned()),
                    "[a-z]{1,5}",
                ],
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn parsing_and_decoding_never_panic(line in ".{0,200}", v in json_value()) {
        let _ = protocol::parse_line(&line);
        let text = v.to_string();
        if let Ok(env) = protocol::parse_line(&text) {
            let _ = protocol::decode_body::<Req>(&env.body);
            prop_assert!(env.body.is_object());
        }
        let _ = protocol::decode_body::<Req>(&v);
        let _ = protocol::is_known_type::<Req>(&line);
    }

    #[test]
    fn unknown_and_malformed_bodies_are_told_apart(kind in "[a-z_]{1,10}", delta in json_value()) {
        let body = json!({"type": kind, "delta": delta, "tags": []});
        match protocol::decode_body::<Req>(&body) {
            Err(protocol::DecodeError::UnknownType(k)) => prop_assert!(k != "echo" && k != "add"),
            Err(protocol::DecodeError::Malformed { kind, .. }) => {
                prop_assert!(kind == "echo" || kind == "add")
            }
            Err(protocol::DecodeError::NoType) => prop_assert!(false, "type was present"),
            Ok(_) => prop_assert!(kind == "add" && delta.is_u64()),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn a_node_survives_any_junk_and_answers_the_next_request(junk in prop::collection::vec(json_value(), 1..30), raw in prop::collection::vec(".{0,80}", 0..10)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let (mut to_node, node_in) = tokio::io::duplex(1 << 20);
            let (node_out, from_node) = tokio::io::duplex(1 << 20);
            let task = tokio::spawn(serve_io(BufReader::new(node_in), node_out, |_n: &Node| Echo));
            let mut input = json!({"src":"c0","dest":"n0","body":{"type":"init","msg_id":1,"node_id":"n0","node_ids":["n0"]}}).to_string();
            input.push('\n');
            for j in &junk {
                input.push_str(&json!({"src": "c1", "dest": "n0", "body": j}).to_string());
                input.push('\n');
                input.push_str(&j.to_string());
                input.push('\n');
            }
            for r in &raw {
                input.push_str(&r.replace('\n', " "));
                input.push('\n');
            }
            input.push_str(&json!({"src":"c9","dest":"n0","body":{"type":"echo","msg_id":4242,"echo":"alive"}}).to_string());
            input.push('\n');
            to_node.write_all(input.as_bytes()).await.unwrap();
            drop(to_node);
            let mut lines = BufReader::new(from_node).lines();
            let mut alive = false;
            while let Ok(Ok(Some(line))) = tokio::time::timeout(Duration::from_secs(5), lines.next_line()).await {
                let v: Value = serde_json::from_str(&line).expect("stdout stays JSON");
                let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
                assert_eq!(keys.len(), 3, "{line}");
                if let Some(irt) = v["body"].get("in_reply_to") {
                    assert!(irt.is_u64(), "{line}");
                }
                if v["dest"] == "c9" && v["body"]["in_reply_to"] == 4242 {
                    assert_eq!(v["body"]["echo"], "alive");
                    alive = true;
                }
            }
            assert!(alive, "the node stopped answering");
            tokio::time::timeout(Duration::from_secs(5), task).await.unwrap().unwrap();
        });
    }
}
