//! The echo binary driven through stdin/stdout.

mod common;

use common::NodeProc;
use serde_json::json;

fn echo() -> NodeProc {
    NodeProc::spawn(env!("CARGO_BIN_EXE_echo"), &[], &[("GLOMERS_LOG", "warn")])
}

#[test]
fn init_then_echo_round_trip() {
    let mut n = echo();
    n.init("n0", &["n0"]);
    for i in 2..20u64 {
        let value = json!({"s": format!("Please echo {i}"), "n": i, "nested": [1, 2, {"x": -3}]});
        n.send(
            "c1",
            "n0",
            json!({"type": "echo", "msg_id": i, "echo": value}),
        );
        let (reply, _) = n.recv_reply("c1", i);
        assert_eq!(reply["src"], "n0");
        assert_eq!(
            reply["body"],
            json!({"type": "echo_ok", "echo": value, "in_reply_to": i})
        );
        // Integers stay integers.
        assert!(reply["body"]["echo"]["n"].is_u64());
        assert!(reply["body"]["echo"]["nested"][2]["x"].is_i64());
    }
    let (rest, _) = n.finish();
    assert!(rest.is_empty(), "unexpected output {rest:?}");
}

#[test]
fn bad_input_is_logged_and_the_node_goes_on() {
    let mut n = echo();
    n.init("n0", &["n0"]);
    n.send_raw("this is not json");
    n.send_raw(r#"{"src":"c1","body":{"type":"echo","msg_id":2,"echo":1}}"#);
    n.send_raw(r#"{"src":"c1","dest":"n0","body":"not an object"}"#);
    n.send("c1", "n0", json!({"type": "what", "echo": 1}));
    n.send_raw("");
    n.send(
        "c1",
        "n0",
        json!({"type": "echo", "msg_id": 3, "echo": "still here"}),
    );
    let (reply, others) = n.recv_reply("c1", 3);
    assert!(
        others.is_empty(),
        "bad lines must produce no output: {others:?}"
    );
    assert_eq!(reply["body"]["echo"], "still here");
    let (rest, stderr) = n.finish();
    assert!(rest.is_empty(), "{rest:?}");
    assert!(stderr.contains("this is not json"), "stderr: {stderr}");
    assert!(
        stderr.contains(r#"body":"not an object"#),
        "stderr: {stderr}"
    );
    assert!(stderr.contains("what"), "stderr: {stderr}");
}

#[test]
fn unknown_type_gets_error_10_and_bad_fields_error_12() {
    let mut n = echo();
    n.init("n0", &["n0"]);
    n.send("c1", "n0", json!({"type": "frobnicate", "msg_id": 5}));
    let (reply, _) = n.recv_reply("c1", 5);
    assert_eq!(reply["body"]["type"], "error");
    assert_eq!(reply["body"]["code"], 10);
    assert!(reply["body"]["code"].is_u64());

    n.send("c1", "n0", json!({"type": "echo", "msg_id": 6}));
    let (reply, _) = n.recv_reply("c1", 6);
    assert_eq!(reply["body"]["type"], "error");
    assert_eq!(reply["body"]["code"], 12);

    n.send(
        "c1",
        "n0",
        json!({"type": "echo", "msg_id": "seven", "echo": 1}),
    );
    n.send("c1", "n0", json!({"type": "echo", "msg_id": 8, "echo": 8}));
    let (reply, others) = n.recv_reply("c1", 8);
    assert_eq!(reply["body"]["echo"], 8);
    // A string msg_id cannot be answered with a valid in_reply_to; it must not produce a
    // reply with a non-integer in_reply_to (checked by `finish`).
    for o in &others {
        assert!(o["body"].get("in_reply_to").is_none_or(|x| x.is_u64()));
    }
    n.finish();
}

#[test]
fn messages_before_init_are_answered_after_it() {
    let mut n = echo();
    n.send(
        "c5",
        "n1",
        json!({"type": "echo", "msg_id": 1, "echo": "early"}),
    );
    n.init("n1", &["n0", "n1"]);
    let (reply, _) = n.recv_reply("c5", 1);
    assert_eq!(reply["src"], "n1");
    assert_eq!(reply["body"]["echo"], "early");
    n.finish();
}

#[test]
fn a_burst_of_requests_is_answered_in_full() {
    let mut n = echo();
    n.init("n0", &["n0"]);
    let total = 5000u64;
    let mut burst = String::new();
    for i in 0..total {
        burst.push_str(
            &json!({"src": "c1", "dest": "n0", "body": {"type": "echo", "msg_id": 100 + i, "echo": i}})
                .to_string(),
        );
        burst.push('\n');
    }
    n.send_raw(burst.trim_end());
    let mut seen = std::collections::HashSet::new();
    for _ in 0..total {
        let v = n.recv();
        assert_eq!(v["body"]["type"], "echo_ok", "{v}");
        let irt = v["body"]["in_reply_to"].as_u64().unwrap();
        assert_eq!(v["body"]["echo"], irt - 100);
        assert!(seen.insert(irt));
    }
    let (rest, stderr) = n.finish();
    assert!(rest.is_empty());
    assert!(stderr.is_empty(), "nothing worth a warning: {stderr}");
}

#[test]
fn any_json_value_comes_back_equal() {
    let mut n = echo();
    n.init("n0", &["n0"]);
    let values = [
        r#"{"k":[1,{"x":null}],"b":true,"e":{}}"#,
        r#"[1,-2,3.5,1e3,18446744073709551615,-9223372036854775808,[]]"#,
        r#"0"#,
        r#"-0.0"#,
        r#""tab\t quote\" slash\\ nl\n \u00e9 é \ud83d\ude00 😀 \u0000""#,
        r#""plain""#,
        r#"{"dup":1,"dup":2}"#,
        r#"  {  "spaced" : [ 1 , 2 ] }  "#,
    ];
    for (i, text) in values.iter().enumerate() {
        let msg_id = 10 + i as u64;
        n.send_raw(&format!(
            r#"{{"src":"c1","dest":"n0","body":{{"type":"echo","msg_id":{msg_id},"echo":{text}}}}}"#
        ));
        let (reply, _) = n.recv_reply("c1", msg_id);
        let sent: serde_json::Value = serde_json::from_str(text).expect("test value is JSON");
        assert_eq!(reply["body"]["echo"], sent, "{text}");
        assert_eq!(reply["body"]["type"], "echo_ok");
    }
    n.finish();
}
