//! The one read path of every glomers node, under arbitrary input: `glomers_node::Runtime`
//! hosting a small machine gets a valid `init`, then the fuzzer's bytes split into lines,
//! one millisecond apart, with the machine's timeouts run as they come due.
//!
//! Checked for every input: nothing panics (a panic is a crash to libFuzzer), the output
//! is whole lines, and every output line is a JSON object with exactly the keys `src`,
//! `dest` and `body` (each once), string addresses, `src` the node's own id, and an
//! object body with a string `type`. And the runtime's two reads of a line agree: the
//! one-pass `codec::decode_line` gives exactly what `codec::read_envelope` then `decode`
//! give, or leaves the line to them.
//!
//! The machine exercises what the runtime and codec must handle: an arbitrary JSON value
//! (`echo`), integers (`add`), strings and nullable integers (`put`), arrays of pairs
//! (`batch`), requests to an address taken from the input with a pending-call table and
//! its deadlines (`ask`, answered by `ask_ok` or an `error` reply, or expired), and error
//! replies of its own.
#![no_main]

use std::collections::BTreeMap;
use std::time::Duration;

use glomers_node::codec::{decode_line, read_envelope};
use glomers_node::{
    Boot, Calls, ErrorBody, ErrorCode, Incoming, Machine, Origin, Outbox, Recovered, Runtime,
    Start, Time, HEARTBEAT,
};
use libfuzzer_sys::fuzz_target;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

const INIT: &[u8] =
    br#"{"src":"c0","dest":"n0","body":{"type":"init","msg_id":1,"node_id":"n0","node_ids":["n0","n1","n2"]}}"#;
const NODE: &str = "n0";
/// Pending `ask`s at most.
const CALLS: usize = 8;
/// How long an `ask` waits for its answer.
const ASK_TIMEOUT: Duration = Duration::from_millis(5);

#[derive(Debug, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum In {
    Echo { echo: Value },
    Add { delta: u64 },
    Put { key: String, value: Option<i64> },
    Batch { items: Vec<(String, u64)> },
    Ask { to: String },
    AskOk { answer: Option<Value> },
    Ping {},
    Error(ErrorBody),
}

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Out {
    EchoOk { echo: Value },
    AddOk { total: u64 },
    PutOk { previous: Option<i64> },
    BatchOk { count: usize, sum: u64 },
    Ping {},
    AskOk { answer: Option<Value> },
}

/// A small node: a counter, a register map, and asks forwarded to other nodes.
struct Small {
    total: u64,
    registers: BTreeMap<String, i64>,
    /// Pending asks, keyed by the forwarded request's `msg_id`; the context is the client
    /// to answer.
    calls: Calls<Origin>,
}

impl Machine for Small {
    type In = In;
    type Out = Out;

    fn on_message(&mut self, now: Time, msg: Incoming<In>, out: &mut Outbox<Out>) {
        let origin = msg.origin;
        match msg.body {
            In::Echo { echo } => out.reply(&origin, Out::EchoOk { echo }),
            In::Add { delta } => {
                self.total = self.total.saturating_add(delta);
                out.reply(&origin, Out::AddOk { total: self.total });
            }
            In::Put { key, value } => self.put(&origin, key, value, out),
            In::Batch { items } => {
                let sum = items.iter().fold(0u64, |s, (_, v)| s.saturating_add(*v));
                let count = items.len();
                out.reply(&origin, Out::BatchOk { count, sum });
            }
            In::Ask { to } => {
                let sent = self
                    .calls
                    .call(out, now, to, Out::Ping {}, ASK_TIMEOUT, origin.clone());
                if sent.is_err() {
                    out.reply_error(
                        &origin,
                        ErrorBody::new(ErrorCode::TemporarilyUnavailable, "busy"),
                    );
                }
            }
            In::AskOk { answer } => {
                if let Some(client) = msg.in_reply_to.and_then(|id| self.calls.complete(id)) {
                    out.reply(&client, Out::AskOk { answer });
                }
            }
            In::Ping {} => out.reply(&origin, Out::AskOk { answer: None }),
            In::Error(e) => {
                if let Some(client) = msg.in_reply_to.and_then(|id| self.calls.complete(id)) {
                    out.reply_error(&client, e);
                }
            }
        }
    }

    fn on_timeout(&mut self, now: Time, out: &mut Outbox<Out>) {
        while let Some((_, client)) = self.calls.expire(now) {
            out.reply_error(&client, ErrorBody::new(ErrorCode::Timeout, "no answer"));
        }
    }

    fn poll_timeout(&self) -> Option<Time> {
        self.calls.next_deadline()
    }
}

impl Small {
    fn put(&mut self, origin: &Origin, key: String, value: Option<i64>, out: &mut Outbox<Out>) {
        if key.is_empty() {
            let e = ErrorBody::new(ErrorCode::MalformedRequest, "empty key");
            out.reply_error(origin, e);
            return;
        }
        let previous = match value {
            Some(v) => self.registers.insert(key, v),
            None => self.registers.remove(&key),
        };
        out.reply(origin, Out::PutOk { previous });
    }
}

fn small(_start: Start<'_>) -> Small {
    Small {
        total: 0,
        registers: BTreeMap::new(),
        calls: Calls::new(CALLS),
    }
}

/// An output line: exactly these keys, each once (serde reports a repeated field).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    src: String,
    dest: String,
    body: Map<String, Value>,
}

/// Checks and clears what the runtime wrote.
fn check_output(output: &mut Vec<u8>) {
    if output.is_empty() {
        return;
    }
    assert_eq!(output.last(), Some(&b'\n'), "output ends inside a line");
    for raw in output[..output.len() - 1].split(|&b| b == b'\n') {
        let line: Line = match serde_json::from_slice(raw) {
            Ok(l) => l,
            Err(e) => panic!("bad output line ({e}): {}", String::from_utf8_lossy(raw)),
        };
        assert_eq!(line.src, NODE, "reply not from the node");
        // Any string is a valid address: the input's `src` comes back as `dest`.
        let _ = line.dest;
        assert!(
            matches!(line.body.get("type"), Some(Value::String(_))),
            "body without a string type: {}",
            String::from_utf8_lossy(raw)
        );
    }
    output.clear();
}

/// The one-pass read agrees with the full read: when it takes a line, the full read gives
/// the same message.
fn check_reads_agree(line: &[u8]) {
    let Ok(text) = std::str::from_utf8(line) else {
        return;
    };
    let Some(fast) = decode_line::<In>(text) else {
        return;
    };
    let env = read_envelope(text).expect("a line the one-pass read took is an envelope");
    assert_ne!(env.kind(), Some("init"), "init is the runtime's");
    let full = env
        .decode::<In>()
        .expect("a body the one-pass read took decodes");
    assert_eq!(fast, full, "the two reads disagree");
}

fuzz_target!(|data: &[u8]| {
    let boot = Boot {
        epoch_unix_ms: 1_700_000_000_000,
        seed: 7,
        recovered: Recovered::default(),
    };
    let mut rt = Runtime::new(small, boot);
    rt.handle_line(Time::ZERO, INIT);
    assert!(rt.info().is_some(), "init refused");
    check_output(rt.output());
    let mut now = Time::ZERO;
    for line in data.split(|&b| b == b'\n') {
        now = now.plus_millis(1);
        check_reads_agree(line);
        rt.handle_line(now, line);
        check_output(rt.output());
        if rt.poll_timeout().is_some_and(|due| due <= now) {
            rt.handle_timeout(now);
            check_output(rt.output());
        }
    }
    // Let every pending ask expire.
    let end = now.plus_millis(10);
    rt.handle_timeout(end);
    check_output(rt.output());
    // Only the runtime's heartbeat is left: a pending ask would be due before it.
    assert_eq!(
        rt.poll_timeout(),
        Some(end + HEARTBEAT),
        "a call outlived its deadline"
    );
});
