//! Properties of the one read path: no input panics it or stops a node; the header fields
//! read as a `serde_json::Value` would read them; decoding tells error 10 from 12.

use glomers_node::codec::{read_envelope, DecodeError};
use glomers_node::{Boot, Incoming, Machine, Outbox, Runtime, Start, Time};
use proptest::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Req {
    Echo {
        echo: Value,
    },
    Add {
        #[allow(dead_code)]
        delta: u64,
        #[allow(dead_code)]
        tags: Vec<String>,
    },
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Resp {
    EchoOk { echo: Value },
}

struct Echo;

impl Machine for Echo {
    type In = Req;
    type Out = Resp;

    fn on_message(&mut self, _now: Time, msg: Incoming<Req>, out: &mut Outbox<Resp>) {
        if let Req::Echo { echo } = msg.body {
            out.reply(&msg.origin, Resp::EchoOk { echo });
        }
    }
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        "[a-z_\\\\\"\n]{0,8}".prop_map(Value::String),
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
    fn the_header_reads_as_through_a_value(body in json_value()) {
        let line = json!({"src": "c1", "dest": "n0", "body": body}).to_string();
        match read_envelope(&line) {
            Ok(env) => {
                prop_assert!(body.is_object());
                prop_assert_eq!(env.kind(), body.get("type").and_then(Value::as_str));
                prop_assert_eq!(env.head.msg_id, body.get("msg_id").and_then(Value::as_u64));
                prop_assert_eq!(env.head.in_reply_to, body.get("in_reply_to").and_then(Value::as_u64));
                prop_assert_eq!(env.body.get(), body.to_string(), "the body is the line's own text");
            }
            Err(_) => prop_assert!(!body.is_object()),
        }
    }

    #[test]
    fn unknown_and_malformed_bodies_are_told_apart(kind in "[a-z_]{1,10}", delta in json_value()) {
        let line = json!({"src": "c1", "dest": "n0", "body": {"type": kind, "delta": delta, "tags": []}}).to_string();
        let env = read_envelope(&line).unwrap();
        match env.decode::<Req>() {
            Err(DecodeError::UnknownType(k)) => {
                prop_assert!(k != "echo" && k != "add");
                prop_assert_eq!(DecodeError::UnknownType(k).to_error_body().code.code(), 10);
            }
            Err(e @ DecodeError::Malformed { .. }) => {
                prop_assert!(kind == "echo" || kind == "add");
                prop_assert_eq!(e.to_error_body().code.code(), 12);
            }
            Err(DecodeError::NoType) => prop_assert!(false, "type was present"),
            Ok(_) => prop_assert!(kind == "add" && delta.is_u64()),
        }
    }

    #[test]
    fn a_node_survives_any_junk_and_answers_the_next_request(
        junk in prop::collection::vec(json_value(), 1..30),
        raw in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..80), 0..10),
    ) {
        let mut rt = Runtime::new(|_: Start<'_>| Echo, Boot::default());
        let t = Time::ZERO;
        rt.handle_line(t, json!({"src":"c0","dest":"n0","body":{"type":"init","msg_id":1,"node_id":"n0","node_ids":["n0"]}}).to_string().as_bytes());
        for j in &junk {
            rt.handle_line(t, json!({"src": "c1", "dest": "n0", "body": j}).to_string().as_bytes());
            rt.handle_line(t, j.to_string().as_bytes());
        }
        for r in &raw {
            rt.handle_line(t, r);
        }
        rt.handle_line(t, json!({"src":"c9","dest":"n0","body":{"type":"echo","msg_id":4242,"echo":"alive"}}).to_string().as_bytes());
        let out = String::from_utf8(std::mem::take(rt.output())).unwrap();
        let mut alive = false;
        for line in out.lines() {
            let v: Value = serde_json::from_str(line).expect("output stays JSON");
            prop_assert_eq!(v.as_object().map(|o| o.len()), Some(3));
            if let Some(irt) = v["body"].get("in_reply_to") {
                prop_assert!(irt.is_u64());
            }
            alive |= v["dest"] == "c9" && v["body"]["in_reply_to"] == 4242 && v["body"]["echo"] == "alive";
        }
        prop_assert!(alive, "the node stopped answering");
    }
}
