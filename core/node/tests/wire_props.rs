//! Properties of the one read path: no input panics it or stops a node; the header fields
//! read as a `serde_json::Value` would read them; decoding tells error 10 from 12; the
//! one-pass read gives exactly what the full read gives.

use glomers_node::codec::{decode_line, read_envelope, DecodeError};
use glomers_node::{Boot, Incoming, Machine, Outbox, Runtime, Start, Time};
use proptest::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[derive(Debug, PartialEq, Deserialize)]
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

/// The full read: `read_envelope`, then `decode` unless the body is an `init`.
fn full_read(line: &str) -> Option<Incoming<Req>> {
    let env = read_envelope(line).ok()?;
    if env.kind() == Some("init") {
        return None;
    }
    env.decode::<Req>().ok()
}

#[test]
fn one_pass_agrees_on_repeated_escaped_and_mistyped_header_fields() {
    let lines: [&str; 6] = [
        r#"{"src":"c1","dest":"n0","body":{"type":"echo","msg_id":1,"msg_id":"x","echo":1}}"#,
        r#"{"src":"c1","dest":"n0","body":{"in_reply_to":2,"type":"echo","echo":[],"in_reply_to":3}}"#,
        r#"{"src":"c\"1","dest":"n0","body":{"type":"ech\u006f","msg_id":-4,"echo":{"msg_id":5}}}"#,
        r#"{"src":"c1","dest":"n0","body":{"type":"echo","in_reply_to":6,"echo":null,"in_reply_to":7.0}}"#,
        r#"{"src":"c1","dest":"n0","body":{"type":"add","delta":1,"tags":["a"],"msg_id":{"a":1}}}"#,
        r#"{"id":4,"body":{"echo":"x","type":"echo"},"dest":"n0","src":"c2"}"#,
    ];
    for line in lines {
        let full = full_read(line);
        assert!(full.is_some(), "{line}");
        assert_eq!(decode_line::<Req>(line), full, "{line}");
    }
    let repeated = decode_line::<Req>(lines[0]).unwrap();
    assert_eq!(
        repeated.origin.msg_id, None,
        "the last msg_id counts, and it is no integer"
    );
    assert_eq!(decode_line::<Req>(lines[1]).unwrap().in_reply_to, Some(3));
    assert_eq!(
        decode_line::<Req>(lines[3]).unwrap().in_reply_to,
        None,
        "7.0 is no integer"
    );
    let escaped = decode_line::<Req>(lines[2]).unwrap();
    assert_eq!(
        (escaped.origin.src.as_str(), escaped.origin.msg_id),
        ("c\"1", None)
    );
}

#[test]
fn one_pass_leaves_init_non_objects_and_non_messages_to_the_full_read() {
    // The machine's enum would take this array body (serde reads internally tagged enums
    // from sequences too), but the wire's bodies are objects.
    assert!(serde_json::from_str::<Req>(r#"["echo","hi"]"#).is_ok());
    let refused: [&str; 6] = [
        r#"{"src":"c1","dest":"n0","body":["echo","hi"]}"#,
        r#"{"src":"c0","dest":"n0","body":{"type":"init","msg_id":1,"node_id":"n0","node_ids":[]}}"#,
        r#"{"src":"c1","dest":"n0","body":{"type":"nope","msg_id":1}}"#,
        r#"{"src":"c1","dest":"n0","body":{"type":"add","msg_id":1,"delta":-1,"tags":[]}}"#,
        r#"{"src":"c1","dest":7,"body":{"type":"echo","echo":1}}"#,
        r#"{"src":"c1","src":"c2","dest":"n0","body":{"type":"echo","echo":1}}"#,
    ];
    for line in refused {
        assert_eq!(decode_line::<Req>(line), None, "{line}");
    }
}

#[test]
fn a_line_not_utf8_even_in_a_skipped_field_is_not_answered() {
    let mut rt = Runtime::new(|_: Start<'_>| Echo, Boot::default());
    let t = Time::ZERO;
    rt.handle_line(t, br#"{"src":"c0","dest":"n0","body":{"type":"init","msg_id":1,"node_id":"n0","node_ids":["n0"]}}"#);
    rt.output().clear();
    // serde_json skips the unknown key's string without checking it; the line is refused
    // all the same, as a line that is not UTF-8.
    rt.handle_line(t, b"{\"src\":\"c1\",\"rc\":\"c\xc75\",\"dest\":\"n0\",\"body\":{\"type\":\"echo\",\"msg_id\":2,\"echo\":1}}");
    assert!(
        rt.output().is_empty(),
        "{}",
        String::from_utf8_lossy(rt.output())
    );
    rt.handle_line(
        t,
        br#"{"src":"c1","rc":"c5","dest":"n0","body":{"type":"echo","msg_id":3,"echo":1}}"#,
    );
    let out = String::from_utf8_lossy(rt.output()).into_owned();
    assert!(out.contains(r#""in_reply_to":3"#), "{out}");
}

proptest! {
    #[test]
    fn one_pass_gives_what_the_full_read_gives(
        body in json_value(),
        src in "[a-z0-9\\\"]{0,4}",
        junk in "\\PC{0,40}",
    ) {
        let line = json!({"src": src, "dest": "n0", "body": body}).to_string();
        prop_assert_eq!(decode_line::<Req>(&line), full_read(&line));
        prop_assert_eq!(decode_line::<Req>(&junk), full_read(&junk));
    }

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
