//! The line runtime end to end: `init`, early messages, error 10/12, bad lines, timeouts.

use std::time::Duration;

use glomers_node::{
    Boot, ErrorBody, Incoming, Machine, Outbox, Recovered, Runtime, Start, Time, HEARTBEAT,
    SHED_AFTER, SHED_WINDOW,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum In {
    Echo { echo: Value },
    Add { delta: u64 },
    Arm { after_ms: u64 },
    Error(ErrorBody),
}

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Out {
    EchoOk { echo: Value },
    AddOk { total: u64 },
    Fired { at_ms: u64 },
}

/// Echoes, counts, and fires a one-way `fired` to `n9` when an armed deadline comes.
struct Probe {
    total: u64,
    deadline: Option<Time>,
    /// A broken machine never moves its deadline after firing.
    sticky: bool,
    seen_errors: Vec<u64>,
}

impl Machine for Probe {
    type In = In;
    type Out = Out;

    fn on_message(&mut self, now: Time, msg: Incoming<In>, out: &mut Outbox<Out>) {
        match msg.body {
            In::Echo { echo } => out.reply(&msg.origin, Out::EchoOk { echo }),
            In::Add { delta } => {
                self.total += delta;
                out.reply(&msg.origin, Out::AddOk { total: self.total });
            }
            In::Arm { after_ms } => self.deadline = Some(now.plus_millis(after_ms)),
            In::Error(e) => self.seen_errors.push(e.code.code()),
        }
    }

    fn on_timeout(&mut self, now: Time, out: &mut Outbox<Out>) {
        if self.deadline.is_some_and(|d| d <= now) {
            if !self.sticky {
                self.deadline = None;
            }
            out.send(
                "n9",
                Out::Fired {
                    at_ms: now.as_millis(),
                },
            );
        }
    }

    fn poll_timeout(&self) -> Option<Time> {
        self.deadline
    }
}

type ProbeRuntime = Runtime<Probe, Box<dyn FnOnce(Start<'_>) -> Probe>>;

fn node(sticky: bool) -> ProbeRuntime {
    Runtime::new(
        Box::new(move |start: Start<'_>| {
            assert_eq!(start.info.id, "n0");
            assert_eq!(start.unix_ms, 1_000_000 + start.now.as_millis());
            assert_eq!(start.seed, 42);
            Probe {
                total: 0,
                deadline: None,
                sticky,
                seen_errors: Vec::new(),
            }
        }),
        Boot {
            epoch_unix_ms: 1_000_000,
            seed: 42,
            recovered: Recovered::default(),
        },
    )
}

fn line(src: &str, body: Value) -> Vec<u8> {
    json!({"id": 1, "src": src, "dest": "n0", "body": body})
        .to_string()
        .into_bytes()
}

fn init_line() -> Vec<u8> {
    line(
        "c0",
        json!({"type": "init", "msg_id": 1, "node_id": "n0", "node_ids": ["n0", "n1"]}),
    )
}

/// Feeds `lines` at `now` and returns the output lines as JSON.
fn feed(rt: &mut ProbeRuntime, now: Time, lines: &[Vec<u8>]) -> Vec<Value> {
    for l in lines {
        rt.handle_line(now, l);
    }
    take(rt)
}

fn take(rt: &mut ProbeRuntime) -> Vec<Value> {
    let out = std::mem::take(rt.output());
    let text = String::from_utf8(out).expect("output is UTF-8");
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "whole lines only: {text:?}"
    );
    text.lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("each output line is JSON");
            assert_eq!(
                v.as_object().map(|o| o.len()),
                Some(3),
                "exactly src, dest, body: {l}"
            );
            v
        })
        .collect()
}

#[test]
fn init_is_answered_first_and_messages_then_reach_the_machine() {
    let mut rt = node(false);
    let t = Time::from_millis(3);
    let out = feed(
        &mut rt,
        t,
        &[
            init_line(),
            line(
                "c1",
                json!({"type": "echo", "msg_id": 5, "echo": {"a": [1, "x\n"]}}),
            ),
        ],
    );
    assert_eq!(out.len(), 2);
    assert_eq!(
        out[0],
        json!({"src": "n0", "dest": "c0", "body": {"type": "init_ok", "in_reply_to": 1}})
    );
    assert_eq!(
        out[1]["body"],
        json!({"type": "echo_ok", "echo": {"a": [1, "x\n"]}, "in_reply_to": 5})
    );
    assert_eq!(out[1]["dest"], "c1");
    assert_eq!(rt.info().map(|i| i.ids.len()), Some(2));
}

#[test]
fn messages_before_init_are_held_in_order_and_overflow_gets_error_11() {
    let mut rt = node(false);
    let t = Time::from_millis(1);
    let mut early = Vec::new();
    for i in 0..glomers_node::EARLY_CAPACITY as u64 + 2 {
        early.push(line(
            "c1",
            json!({"type": "add", "msg_id": 100 + i, "delta": 1}),
        ));
    }
    let refused = feed(&mut rt, t, &early);
    assert_eq!(
        refused.len(),
        2,
        "only the overflow is answered before init"
    );
    for r in &refused {
        assert_eq!(r["body"]["code"], 11);
        assert_eq!(r["src"], "n0", "answered as the node it was addressed to");
    }
    let out = feed(&mut rt, t, &[init_line()]);
    assert_eq!(out[0]["body"]["type"], "init_ok");
    let totals: Vec<u64> = out[1..]
        .iter()
        .map(|v| v["body"]["total"].as_u64().unwrap_or(0))
        .collect();
    let expected: Vec<u64> = (1..=glomers_node::EARLY_CAPACITY as u64).collect();
    assert_eq!(
        totals, expected,
        "held messages are delivered once, in order"
    );
}

#[test]
fn bad_init_gets_error_12_and_a_second_init_changes_nothing() {
    let mut rt = node(false);
    let t = Time::ZERO;
    let bad = line("c0", json!({"type": "init", "msg_id": 1, "node_id": 7}));
    let out = feed(&mut rt, t, &[bad]);
    assert_eq!(out[0]["body"]["code"], 12);
    assert!(rt.info().is_none());
    let out = feed(&mut rt, t, &[init_line(), init_line()]);
    assert_eq!(out.len(), 2);
    assert!(out.iter().all(|v| v["body"]["type"] == "init_ok"));
    let second = line(
        "c0",
        json!({"type": "init", "msg_id": 2, "node_id": "n5", "node_ids": ["n5"]}),
    );
    feed(&mut rt, t, &[second]);
    assert_eq!(rt.info().map(|i| i.id.as_str()), Some("n0"));
}

#[test]
fn unknown_types_get_10_bad_fields_12_and_one_way_messages_nothing() {
    let mut rt = node(false);
    let t = Time::ZERO;
    feed(&mut rt, t, &[init_line()]);
    let out = feed(
        &mut rt,
        t,
        &[
            line("c1", json!({"type": "frobnicate", "msg_id": 2})),
            line("c1", json!({"type": "add", "msg_id": 3, "delta": "five"})),
            line("c1", json!({"type": "add", "msg_id": 4})),
            line("c1", json!({"msg_id": 5})),
            line("c1", json!({"type": "frobnicate"})),
            line("c1", json!({"type": 7, "msg_id": 6})),
        ],
    );
    let codes: Vec<(u64, u64)> = out
        .iter()
        .map(|v| {
            (
                v["body"]["in_reply_to"].as_u64().unwrap_or(0),
                v["body"]["code"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(codes, [(2, 10), (3, 12), (4, 12), (5, 12), (6, 12)]);
}

#[test]
fn header_fields_of_the_wrong_type_count_as_absent_and_the_last_repeat_counts() {
    let mut rt = node(false);
    let t = Time::ZERO;
    feed(&mut rt, t, &[init_line()]);
    let raw = [
        br#"{"src":"c1","dest":"n0","body":{"type":"add","msg_id":"7","delta":1}}"#.to_vec(),
        br#"{"src":"c1","dest":"n0","body":{"type":"add","msg_id":-1,"delta":1}}"#.to_vec(),
        br#"{"src":"c1","dest":"n0","body":{"msg_id":1,"type":"add","msg_id":9,"delta":1}}"#.to_vec(),
        br#"{"src":"c\u0031","dest":"n0","body":{"type":"add","msg_id":{"x":[1]},"in_reply_to":[2],"delta":1}}"#.to_vec(),
        br#"{"src":"c1","dest":"n0","body":{"type":"ad\u0064","msg_id":10,"delta":1}}"#.to_vec(),
    ];
    let out = feed(&mut rt, t, &raw);
    let ids: Vec<Value> = out
        .iter()
        .map(|v| v["body"]["in_reply_to"].clone())
        .collect();
    assert_eq!(
        ids,
        [json!(9), json!(10)],
        "only integer msg_ids are answered"
    );
    assert_eq!(out[1]["body"]["total"], 5, "every add reached the machine");
}

#[test]
fn junk_lines_are_skipped_and_the_node_keeps_answering() {
    let mut rt = node(false);
    let t = Time::ZERO;
    feed(&mut rt, t, &[init_line()]);
    let junk: [&[u8]; 8] = [
        b"hello",
        b"",
        b"   ",
        b"\xff\xfe",
        br#"{"src":"c1","dest":"n0","body":[1,2]}"#,
        br#"{"src":1,"dest":"n0","body":{}}"#,
        br#"{"src":"c1","src":"c2","dest":"n0","body":{"type":"echo","msg_id":1,"echo":1}}"#,
        br#"{"src":"c1","dest":"n0","body":{"type":"echo","msg_id":1,"echo":1}"#,
    ];
    let out = feed(&mut rt, t, &junk.map(<[u8]>::to_vec));
    assert!(out.is_empty(), "{out:?}");
    let out = feed(
        &mut rt,
        t,
        &[line(
            "c9",
            json!({"type": "echo", "msg_id": 42, "echo": "alive"}),
        )],
    );
    assert_eq!(out[0]["body"]["echo"], "alive");
}

#[test]
fn deadlines_fire_once_when_due_and_a_stuck_deadline_at_most_once_a_millisecond() {
    let mut rt = node(false);
    let t0 = Time::from_millis(10);
    feed(
        &mut rt,
        t0,
        &[
            init_line(),
            line("c1", json!({"type": "arm", "after_ms": 100})),
        ],
    );
    assert_eq!(rt.poll_timeout(), Some(Time::from_millis(110)));
    rt.handle_timeout(Time::from_millis(109));
    assert!(take(&mut rt).is_empty(), "not before the deadline");
    rt.handle_timeout(Time::from_millis(111));
    let out = take(&mut rt);
    assert_eq!(out[0]["body"], json!({"type": "fired", "at_ms": 111}));
    assert_eq!(
        rt.poll_timeout(),
        Some(Time::from_millis(111) + HEARTBEAT),
        "nothing due: only the runtime's heartbeat"
    );
    rt.handle_timeout(Time::from_millis(611));
    assert!(
        take(&mut rt).is_empty(),
        "a heartbeat does not call the machine"
    );

    let mut stuck = node(true);
    feed(
        &mut stuck,
        t0,
        &[
            init_line(),
            line("c1", json!({"type": "arm", "after_ms": 0})),
        ],
    );
    stuck.handle_timeout(t0);
    assert_eq!(take(&mut stuck).len(), 1);
    assert_eq!(stuck.poll_timeout(), Some(t0 + Duration::from_millis(1)));
    stuck.handle_timeout(t0 + Duration::from_micros(500));
    assert!(take(&mut stuck).is_empty(), "at most once per millisecond");
    stuck.handle_timeout(t0 + Duration::from_millis(1));
    assert_eq!(take(&mut stuck).len(), 1);
}

#[test]
fn after_a_stop_waiting_client_requests_are_dropped_but_peers_are_heard() {
    let mut rt = node(false);
    let t0 = Time::from_millis(10);
    let echo = |id: u64| line("c1", json!({"type": "echo", "msg_id": id, "echo": id}));
    feed(&mut rt, t0, &[init_line()]);
    assert_eq!(feed(&mut rt, t0 + HEARTBEAT, &[echo(1)]).len(), 1);
    // Not run for a little less than SHED_AFTER: still answered.
    let t1 = t0 + HEARTBEAT + (SHED_AFTER - Duration::from_millis(1));
    assert_eq!(feed(&mut rt, t1, &[echo(2)]).len(), 1);
    // Stopped for SHED_AFTER: what comes in at once is dropped, unseen by the machine,
    // except a peer's message and a service's reply.
    let t2 = t1 + SHED_AFTER;
    let peer = line("n1", json!({"type": "add", "delta": 5}));
    let service = line(
        "seq-kv",
        json!({"type": "error", "in_reply_to": 3, "code": 20}),
    );
    assert!(feed(&mut rt, t2, &[echo(3), peer, service]).is_empty());
    assert_eq!(rt.machine().map(|m| m.total), Some(5));
    assert_eq!(rt.machine().map(|m| m.seen_errors.clone()), Some(vec![20]));
    let late = t2 + (SHED_WINDOW - Duration::from_millis(1));
    assert!(feed(&mut rt, late, &[echo(4)]).is_empty());
    let out = feed(&mut rt, t2 + SHED_WINDOW, &[echo(5)]);
    assert_eq!(out[0]["body"]["echo"], 5, "answered again after the window");
    // A stop noticed by a heartbeat opens the window too.
    let t3 = t2 + SHED_WINDOW + SHED_AFTER;
    rt.handle_timeout(t3);
    assert!(feed(&mut rt, t3, &[echo(6)]).is_empty());
}

#[test]
fn error_replies_reach_the_machine_as_messages() {
    let mut rt = node(false);
    let t = Time::ZERO;
    feed(&mut rt, t, &[init_line()]);
    let out = feed(
        &mut rt,
        t,
        &[line(
            "seq-kv",
            json!({"type": "error", "in_reply_to": 3, "code": 20, "text": "no"}),
        )],
    );
    assert!(out.is_empty());
    assert_eq!(rt.machine().map(|m| m.seen_errors.clone()), Some(vec![20]));
}

/// Keeps a running total durable: recovers it at start, appends each add.
struct Durable {
    total: u64,
}

impl Machine for Durable {
    type In = In;
    type Out = Out;

    fn on_message(&mut self, _now: Time, msg: Incoming<In>, out: &mut Outbox<Out>) {
        if let In::Add { delta } = msg.body {
            self.total += delta;
            out.append("adds", delta.to_le_bytes().to_vec());
            out.reply(&msg.origin, Out::AddOk { total: self.total });
        }
    }
}

#[test]
fn writes_come_out_with_their_call_and_the_factory_gets_what_was_recovered() {
    let mut recovered = Recovered {
        durable: true,
        ..Recovered::default()
    };
    recovered.apply([glomers_node::Write::Append {
        log: "adds".into(),
        record: 5u64.to_le_bytes().to_vec(),
    }]);
    let boot = Boot {
        epoch_unix_ms: 0,
        seed: 0,
        recovered,
    };
    let make = |start: Start<'_>| {
        assert!(start.recovered.durable);
        let (_, records) = start.recovered.log("adds");
        let total = records
            .iter()
            .filter_map(|r| <[u8; 8]>::try_from(r.as_slice()).ok())
            .map(u64::from_le_bytes)
            .sum();
        Durable { total }
    };
    let mut rt = Runtime::new(make, boot);
    let t = Time::ZERO;
    rt.handle_line(t, &init_line());
    assert!(rt.writes().is_empty(), "init writes nothing");
    rt.handle_line(
        t,
        &line("c1", json!({"type": "add", "msg_id": 2, "delta": 3})),
    );
    let writes = std::mem::take(rt.writes());
    assert_eq!(
        writes,
        [glomers_node::Write::Append {
            log: "adds".into(),
            record: 3u64.to_le_bytes().to_vec()
        }]
    );
    let out = String::from_utf8(std::mem::take(rt.output())).unwrap_or_default();
    assert!(
        out.contains(r#""total":8"#),
        "the recovered 5 plus 3: {out}"
    );
}

#[test]
fn a_host_sees_the_machine_only_after_init_and_as_its_own_type() {
    use glomers_node::LineMachine;
    let mut rt = node(false);
    assert!(LineMachine::as_any(&rt).is_none(), "no machine before init");
    feed(
        &mut rt,
        Time::ZERO,
        &[init_line(), line("c1", json!({"type": "add", "delta": 5}))],
    );
    let host: &dyn LineMachine = &rt;
    let probe = host.as_any().and_then(|m| m.downcast_ref::<Probe>());
    assert_eq!(probe.map(|p| p.total), Some(5));
    assert!(
        host.as_any().and_then(|m| m.downcast_ref::<u8>()).is_none(),
        "another type does not match"
    );
}

#[test]
fn a_clock_that_went_back_does_not_hold_the_next_timeout_until_it_catches_up() {
    let mut stuck = node(true);
    let late = Time::from_secs(30);
    feed(
        &mut stuck,
        late,
        &[
            init_line(),
            line("c1", json!({"type": "arm", "after_ms": 0})),
        ],
    );
    stuck.handle_timeout(late);
    assert_eq!(take(&mut stuck).len(), 1);
    // The clock is set back 20 s; the machine arms a deadline 5 ms ahead of it.
    let back = Time::from_secs(10);
    feed(
        &mut stuck,
        back,
        &[line("c1", json!({"type": "arm", "after_ms": 5}))],
    );
    assert_eq!(
        stuck.poll_timeout(),
        Some(back + Duration::from_millis(5)),
        "due on the clock as it reads now, not 20 s later"
    );
}
