//! Tests of the kafka client: offsets through assign, poll and commit, sends, the error
//! mapping, and malformed replies.

use super::*;
use proptest::strategy::Strategy;

fn call_body(step: Step) -> Value {
    match step {
        Step::Call { body, timeout } => {
            assert_eq!(timeout, DEFAULT_RPC_TIMEOUT);
            body
        }
        other => panic!("expected a call, got {other:?}"),
    }
}

fn spec(f: &str, value: Value) -> OpSpec {
    OpSpec {
        f: f.to_string(),
        value,
    }
}

#[test]
fn assign_then_poll_sends_the_right_offsets_and_commits() {
    let mut c = KafkaClient::new();
    assert!(!c.reusable());
    // A fresh client polls with no offsets.
    let body = call_body(c.start(&spec("poll", json!([["poll"]]))));
    assert_eq!(body, json!({"type": "poll", "offsets": {}}));
    assert_eq!(
        c.on_reply(Reply::Body(
            json!({"type": "poll_ok", "in_reply_to": 1, "msgs": {}})
        )),
        Step::Done(Completion::Ok(json!([["poll", {}]])))
    );
    // Assign 1, 2, 3: committed 1 -> 5, 2 absent.
    let assign = json!({"keys": ["1", "2"], "seek_to_beginning": false});
    let body = call_body(c.start(&spec("assign", assign.clone())));
    assert_eq!(
        body,
        json!({"type": "list_committed_offsets", "keys": ["1", "2"]})
    );
    let step = c.on_reply(Reply::Body(
        json!({"type": "list_committed_offsets_ok", "offsets": {"1": 5, "9": 3}, "in_reply_to": 2}),
    ));
    assert_eq!(step, Step::Done(Completion::Ok(assign)));
    let body = call_body(c.start(&spec("poll", json!([["poll"]]))));
    assert_eq!(body, json!({"type": "poll", "offsets": {"1": 5, "2": 0}}));
    let msgs = json!({"1": [[5, 10], [7, 11]], "2": []});
    let body = call_body(c.on_reply(Reply::Body(
        json!({"type": "poll_ok", "in_reply_to": 1, "msgs": msgs}),
    )));
    assert_eq!(body, json!({"type": "commit_offsets", "offsets": {"1": 7}}));
    assert_eq!(
        c.on_reply(Reply::Body(
            json!({"type": "commit_offsets_ok", "in_reply_to": 1})
        )),
        Step::Done(Completion::Ok(json!([["poll", msgs]])))
    );
    assert_eq!(c.offsets().get("1"), Some(&8));
    assert_eq!(c.offsets().get("2"), Some(&0));
    // Re-assigning keeps local offsets over committed ones and drops unassigned keys.
    call_body(c.start(&spec(
        "assign",
        json!({"keys": ["1", "3"], "seek_to_beginning": false}),
    )));
    c.on_reply(Reply::Body(
        json!({"type": "list_committed_offsets_ok", "in_reply_to": 1, "offsets": {"1": 2, "3": 4}}),
    ));
    assert_eq!(
        c.offsets().clone(),
        BTreeMap::from([("1".to_string(), 8), ("3".to_string(), 4)])
    );
    // Seek to beginning: no RPC, exactly these keys at 0.
    let seek = json!({"keys": ["3", "4"], "seek_to_beginning": true});
    assert_eq!(
        c.start(&spec("assign", seek.clone())),
        Step::Done(Completion::Ok(seek))
    );
    assert_eq!(
        c.offsets().clone(),
        BTreeMap::from([("3".to_string(), 0), ("4".to_string(), 0)])
    );
}

#[test]
fn send_records_offset_and_message() {
    let mut c = KafkaClient::new();
    let body = call_body(c.start(&spec("send", json!([["send", "3", 7]]))));
    assert_eq!(body, json!({"type": "send", "key": "3", "msg": 7}));
    assert_eq!(
        c.on_reply(Reply::Body(
            json!({"type": "send_ok", "in_reply_to": 1, "offset": 12, "msg_id": 1})
        )),
        Step::Done(Completion::Ok(json!([["send", "3", [12, 7]]])))
    );
    assert_eq!(
        c.start(&spec("crash", Value::Null)),
        Step::Done(Completion::Info("crash".into()))
    );
}

/// Runs `f` to the first call and answers it with `reply`.
fn answer(f: &str, value: Value, reply: Reply) -> Step {
    let mut c = KafkaClient::new();
    call_body(c.start(&spec(f, value)));
    c.on_reply(reply)
}

#[test]
fn error_mapping() {
    let send = || json!([["send", "3", 7]]);
    let assign = || json!({"keys": ["1"], "seek_to_beginning": false});
    let poll = || json!([["poll"]]);
    let err = |code: i64| Reply::Body(json!({"type": "error", "code": code, "text": "t"}));
    let cases: Vec<(&str, Value, Reply, Completion)> = vec![
        (
            "send",
            send(),
            Reply::Timeout,
            Completion::Info("net-timeout".into()),
        ),
        (
            "poll",
            poll(),
            Reply::Timeout,
            Completion::Info("net-timeout".into()),
        ),
        (
            "assign",
            assign(),
            Reply::Timeout,
            Completion::Fail("net-timeout".into()),
        ),
        (
            "send",
            send(),
            err(11),
            Completion::Fail("[temporarily-unavailable \"t\"]".into()),
        ),
        (
            "send",
            send(),
            err(13),
            Completion::Info("[crash \"t\"]".into()),
        ),
        (
            "poll",
            poll(),
            err(14),
            Completion::Fail("[abort \"t\"]".into()),
        ),
        (
            "poll",
            poll(),
            err(0),
            Completion::Info("[timeout \"t\"]".into()),
        ),
        (
            "assign",
            assign(),
            err(13),
            Completion::Fail("[crash \"t\"]".into()),
        ),
        (
            "assign",
            assign(),
            err(5000),
            Completion::Fail("[unknown \"t\"]".into()),
        ),
        (
            "send",
            send(),
            err(5000),
            Completion::Info("[unknown \"t\"]".into()),
        ),
    ];
    for (f, value, reply, want) in cases {
        assert_eq!(
            answer(f, value, reply.clone()),
            Step::Done(want),
            "{f} {reply:?}"
        );
    }
}

#[test]
fn commit_failure_fails_the_poll() {
    for (reply, info) in [
        (Reply::Timeout, true),
        (Reply::Body(json!({"type": "error", "code": 11})), false),
    ] {
        let mut c = KafkaClient::new();
        call_body(c.start(&spec("poll", json!([["poll"]]))));
        call_body(c.on_reply(Reply::Body(
            json!({"type": "poll_ok", "in_reply_to": 1, "msgs": {"1": [[0, 1]]}}),
        )));
        match c.on_reply(reply) {
            Step::Done(Completion::Info(_)) => assert!(info),
            Step::Done(Completion::Fail(_)) => assert!(!info),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn malformed_replies_are_info() {
    let cases: Vec<(&str, Value, Value)> = vec![
        (
            "send",
            json!([["send", "3", 7]]),
            json!({"type": "send_ok", "in_reply_to": 1, "offset": 1.0}),
        ),
        (
            "send",
            json!([["send", "3", 7]]),
            json!({"type": "send_ok", "in_reply_to": 1, "offset": 1, "extra": 2}),
        ),
        (
            "send",
            json!([["send", "3", 7]]),
            json!({"type": "send_ok", "in_reply_to": 1}),
        ),
        (
            "send",
            json!([["send", "3", 7]]),
            json!({"type": "poll_ok", "in_reply_to": 1, "offset": 1}),
        ),
        (
            "poll",
            json!([["poll"]]),
            json!({"type": "poll_ok", "in_reply_to": 1, "msgs": {"1": [[0.5, 1]]}}),
        ),
        (
            "poll",
            json!([["poll"]]),
            json!({"type": "poll_ok", "in_reply_to": 1, "msgs": {"1": [[0, 1, 2]]}}),
        ),
        (
            "poll",
            json!([["poll"]]),
            json!({"type": "poll_ok", "in_reply_to": 1, "msgs": {"1": [0, 1]}}),
        ),
        (
            "poll",
            json!([["poll"]]),
            json!({"type": "poll_ok", "in_reply_to": 1, "msgs": [[0, 1]]}),
        ),
        (
            "poll",
            json!([["poll"]]),
            json!({"type": "poll_ok", "in_reply_to": 1, "msgs": {}, "offsets": {}}),
        ),
        (
            "assign",
            json!({"keys": ["1"], "seek_to_beginning": false}),
            json!({"type": "list_committed_offsets_ok", "in_reply_to": 1, "offsets": {"1": "3"}}),
        ),
        (
            "assign",
            json!({"keys": ["1"], "seek_to_beginning": false}),
            json!({"type": "list_committed_offsets_ok", "in_reply_to": 1}),
        ),
    ];
    for (f, value, reply) in cases {
        match answer(f, value, Reply::Body(reply.clone())) {
            Step::Done(Completion::Info(e)) => {
                assert!(e.contains("malformed"), "{reply}: {e}")
            }
            other => panic!("{reply}: expected info, got {other:?}"),
        }
    }
    // A malformed commit reply makes the poll indeterminate too.
    let mut c = KafkaClient::new();
    call_body(c.start(&spec("poll", json!([["poll"]]))));
    call_body(c.on_reply(Reply::Body(
        json!({"type": "poll_ok", "in_reply_to": 1, "msgs": {"1": [[0, 1]]}}),
    )));
    assert!(matches!(
        c.on_reply(Reply::Body(
            json!({"type": "commit_offsets_ok", "in_reply_to": 1, "offsets": {}})
        )),
        Step::Done(Completion::Info(_))
    ));
}

#[test]
fn bad_op_values_fail_without_rpc() {
    let mut c = KafkaClient::new();
    for (f, value) in [
        ("send", json!([["send", 3, 7]])),
        ("assign", json!({"keys": [1]})),
        ("frobnicate", Value::Null),
    ] {
        assert!(matches!(
            c.start(&spec(f, value)),
            Step::Done(Completion::Fail(_))
        ));
    }
}

proptest::proptest! {
    /// After any well-formed poll reply, every returned key's local offset is past the
    /// highest offset returned, offsets never go down, and the commit names exactly
    /// the keys with messages at their highest offset.
    #[test]
    fn poll_advances_offsets_and_commits_highest(
        start in proptest::collection::btree_map(0u8..4, 0i64..50, 0..4),
        msgs in proptest::collection::btree_map(
            0u8..6,
            proptest::collection::vec((0i64..100, 0u64..9), 0..5),
            0..5,
        ),
    ) {
        let mut c = KafkaClient::new();
        let keys: Vec<String> = start.keys().map(|k| k.to_string()).collect();
        call_body(c.start(&spec("assign", json!({"keys": keys, "seek_to_beginning": false}))));
        let committed: Map<String, Value> =
            start.iter().map(|(k, o)| (k.to_string(), json!(o))).collect();
        c.on_reply(Reply::Body(json!({
            "type": "list_committed_offsets_ok", "in_reply_to": 1, "offsets": committed
        })));
        let before = c.offsets().clone();
        call_body(c.start(&spec("poll", json!([["poll"]]))));
        let body: Map<String, Value> = msgs
            .iter()
            .map(|(k, pairs)| (k.to_string(), json!(pairs)))
            .collect();
        let step = c.on_reply(Reply::Body(json!({
            "type": "poll_ok", "in_reply_to": 2, "msgs": body.clone()
        })));
        let mut want_commit = Map::new();
        for (k, pairs) in &msgs {
            let k = k.to_string();
            if let Some(h) = pairs.iter().map(|p| p.0).max() {
                proptest::prop_assert!(c.offsets()[&k] > h);
                want_commit.insert(k, json!(h));
            }
        }
        for (k, o) in &before {
            proptest::prop_assert!(c.offsets()[k] >= *o);
        }
        if want_commit.is_empty() {
            proptest::prop_assert_eq!(step, Step::Done(Completion::Ok(json!([["poll", body]]))));
        } else {
            proptest::prop_assert_eq!(
                call_body(step),
                json!({"type": "commit_offsets", "offsets": want_commit})
            );
        }
    }

    /// No reply body, whatever its shape, panics a client in any state; it always
    /// ends the operation or asks for the commit.
    #[test]
    fn any_reply_is_handled(
        f in 0usize..3,
        reply in proptest::prop_oneof![
            proptest::strategy::Just(json!(null)),
            (0i64..40).prop_map(|c| json!({"type": "error", "code": c})),
            proptest::strategy::Just(json!({"type": "poll_ok", "in_reply_to": 1, "msgs": {"1": [[0, 1]]}})),
            proptest::strategy::Just(json!({"type": "send_ok", "in_reply_to": 1, "offset": -1})),
            "[a-z_]{0,12}".prop_map(|t| json!({"type": t, "in_reply_to": 1})),
            proptest::collection::vec(0i64..5, 0..3).prop_map(|v| json!({"type": "poll_ok", "in_reply_to": 1, "msgs": {"1": [v]}})),
        ],
    ) {
        let (name, value) = [
            ("send", json!([["send", "1", 1]])),
            ("poll", json!([["poll"]])),
            ("assign", json!({"keys": ["1"], "seek_to_beginning": false})),
        ][f].clone();
        let mut c = KafkaClient::new();
        call_body(c.start(&spec(name, value)));
        match c.on_reply(Reply::Body(reply)) {
            Step::Done(_) => {}
            Step::Call { body, .. } => proptest::prop_assert_eq!(&body["type"], "commit_offsets"),
        }
    }
}
