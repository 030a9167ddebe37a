//! Wire formats: decode and encode of typical messages with the node codec, the one JSON
//! path every binary runs (`glomers_node::codec`), each against typed `serde_json` over
//! borrowed structs in the same run. Decoding is measured both ways the runtime reads a
//! line: `decode_line`, the one pass it tries first, and `read_envelope` then
//! `Envelope::decode`, the full read that lines `decode_line` leaves (init, errors) take.
//! Encoding is `encode_line_into` a reused buffer, as the runtime writes.
//!
//! The node codec does more than the baseline: it reads the body's header fields
//! (`type`, `msg_id`, `in_reply_to`), decodes into the machines' internally tagged enums
//! (which serde buffers), and carries arbitrary JSON where the protocol allows it (the
//! `echo` value, a kafka `msg`); the full read also keeps the body as raw text so that a
//! failed decode can tell error 10 from error 12. The baseline structs carry exactly the
//! fields of these inputs, strings as `Cow<str>` (borrowed unless escaped), and ignore the
//! rest.
//!
//! Before timing, every input is decoded both ways and the results compared, and every
//! output is encoded both ways and the bytes compared, so a figure is only recorded for
//! code that does the job.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};
use glomers_node::codec::{decode_line, encode_line_into, read_envelope};
use glomers_node::Incoming;
use glomers_shell::broadcast::{BroadcastIn, BroadcastOut};
use glomers_shell::echo::{EchoIn, EchoOut};
use glomers_shell::kafka::{KafkaReply, KafkaRequest};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, PartialEq, Deserialize)]
struct InEnv<'a, B> {
    #[serde(borrow)]
    src: Cow<'a, str>,
    #[serde(borrow)]
    dest: Cow<'a, str>,
    body: B,
}

#[derive(Debug, PartialEq, Deserialize)]
struct EchoReq<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    msg_id: u64,
    #[serde(borrow)]
    echo: Cow<'a, str>,
}

#[derive(Debug, PartialEq, Deserialize)]
struct BroadcastReq<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    msg_id: u64,
    message: u64,
}

#[derive(Debug, PartialEq, Deserialize)]
struct SendReq<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    msg_id: u64,
    #[serde(borrow)]
    key: Cow<'a, str>,
    msg: u64,
}

#[derive(Serialize)]
struct OutEnv<'a, B> {
    src: &'a str,
    dest: &'a str,
    body: B,
}

#[derive(Serialize)]
struct EchoOk<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    echo: &'a str,
    in_reply_to: u64,
}

#[derive(Serialize)]
struct BroadcastOk {
    #[serde(rename = "type")]
    kind: &'static str,
    in_reply_to: u64,
}

#[derive(Serialize)]
struct ReadOk<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    messages: &'a [u64],
    in_reply_to: u64,
}

#[derive(Serialize)]
struct PollOk<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    msgs: &'a BTreeMap<String, Vec<(u64, u64)>>,
    in_reply_to: u64,
}

const ECHO: &str =
    r#"{"src":"c1","dest":"n0","body":{"type":"echo","msg_id":35,"echo":"Please echo 35"}}"#;
const BROADCAST: &str =
    r#"{"src":"c4","dest":"n2","body":{"type":"broadcast","message":1234,"msg_id":17}}"#;
const SEND: &str =
    r#"{"src":"c7","dest":"n1","body":{"type":"send","key":"9","msg":4711,"msg_id":52}}"#;

fn read_ok_values() -> Vec<u64> {
    (0..1000u64).map(|i| i * 37 + 5).collect()
}

fn poll_ok_msgs() -> BTreeMap<String, Vec<(u64, u64)>> {
    (0..4u64)
        .map(|k| {
            (
                k.to_string(),
                (0..25).map(|o| (o * 2 + k, o * 1000 + k)).collect(),
            )
        })
        .collect()
}

/// A baseline reply line from `n0` to `dest`.
fn reply<B>(dest: &str, body: B) -> OutEnv<'_, B> {
    OutEnv {
        src: "n0",
        dest,
        body,
    }
}

/// The node codec's full read: the envelope, then the body into the machine's enum.
fn node_decode<B: DeserializeOwned>(line: &str) -> Option<Incoming<B>> {
    read_envelope(line).ok()?.decode::<B>().ok()
}

/// The node codec's one-pass read, which the runtime tries first.
fn one_pass<B: DeserializeOwned>(line: &str) -> Option<Incoming<B>> {
    decode_line::<B>(line)
}

fn typed_decode<'a, B: Deserialize<'a>>(line: &'a str) -> Option<InEnv<'a, B>> {
    serde_json::from_str(line).ok()
}

/// One output line into a reused buffer, as the runtime writes it; returns its length.
fn node_encode<B: Serialize>(out: &mut Vec<u8>, dest: &str, in_reply_to: u64, body: &B) -> usize {
    out.clear();
    match encode_line_into(out, "n0", dest, None, Some(in_reply_to), body) {
        Ok(()) => out.len(),
        Err(e) => panic!("node encode: {e}"),
    }
}

fn typed_encode<T: Serialize>(out: &mut Vec<u8>, v: &T) -> usize {
    out.clear();
    match serde_json::to_writer(&mut *out, v) {
        Ok(()) => out.len(),
        Err(e) => panic!("serde_json encode: {e}"),
    }
}

/// Decodes `line` both ways; panics unless both succeed and `same` holds of the results.
fn check_decode<'a, B, T>(line: &'a str, same: impl FnOnce(&Incoming<B>, &InEnv<'a, T>) -> bool)
where
    B: DeserializeOwned + std::fmt::Debug,
    T: Deserialize<'a>,
{
    let Some(node) = node_decode::<B>(line) else {
        panic!("the node codec cannot decode {line}");
    };
    let Some(fast) = one_pass::<B>(line) else {
        panic!("the one-pass read leaves {line}");
    };
    // Compared through `Debug`: not every machine's enum is `PartialEq`.
    assert_eq!(
        format!("{fast:?}"),
        format!("{node:?}"),
        "the node codec's two reads disagree on {line}"
    );
    let Some(typed) = typed_decode::<T>(line) else {
        panic!("serde_json cannot decode {line}");
    };
    assert!(same(&node, &typed), "decoders disagree on {line}");
}

/// One encode row pair: checks both encoders write the same bytes, then times each.
fn encode_pair<B: Serialize, T: Serialize>(
    g: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    dest: &str,
    in_reply_to: u64,
    node_body: &B,
    typed: &OutEnv<'_, T>,
) {
    let (mut a, mut b) = (Vec::with_capacity(16 * 1024), Vec::with_capacity(16 * 1024));
    node_encode(&mut a, dest, in_reply_to, node_body);
    typed_encode(&mut b, typed);
    assert_eq!(
        String::from_utf8_lossy(&a),
        String::from_utf8_lossy(&b),
        "encoders disagree on {name}"
    );
    g.bench_function(format!("encode-{name}-node"), |bench| {
        bench.iter(|| black_box(node_encode(&mut a, dest, in_reply_to, black_box(node_body))))
    });
    g.bench_function(format!("encode-{name}-serde-json"), |bench| {
        bench.iter(|| black_box(typed_encode(&mut b, black_box(typed))))
    });
}

fn decode_rows(g: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    check_decode::<EchoIn, EchoReq>(ECHO, |n, t| {
        let EchoIn::Echo { echo } = &n.body;
        n.origin.msg_id == Some(t.body.msg_id)
            && n.origin.src.as_str() == t.src.as_ref()
            && t.dest == "n0"
            && t.body.kind == "echo"
            && echo.as_str() == Some(t.body.echo.as_ref())
    });
    check_decode::<BroadcastIn, BroadcastReq>(BROADCAST, |n, t| {
        n.body
            == BroadcastIn::Broadcast {
                message: t.body.message,
            }
            && n.origin.msg_id == Some(t.body.msg_id)
            && t.body.kind == "broadcast"
    });
    check_decode::<KafkaRequest, SendReq>(SEND, |n, t| {
        n.body
            == KafkaRequest::Send {
                key: t.body.key.as_ref().into(),
                msg: Value::from(t.body.msg),
            }
            && n.origin.msg_id == Some(t.body.msg_id)
            && t.body.kind == "send"
    });

    g.bench_function("decode-echo-one-pass", |b| {
        b.iter(|| black_box(one_pass::<EchoIn>(black_box(ECHO))))
    });
    g.bench_function("decode-echo-node", |b| {
        b.iter(|| black_box(node_decode::<EchoIn>(black_box(ECHO))))
    });
    g.bench_function("decode-echo-serde-json", |b| {
        b.iter(|| black_box(typed_decode::<EchoReq>(black_box(ECHO))))
    });
    g.bench_function("decode-broadcast-one-pass", |b| {
        b.iter(|| black_box(one_pass::<BroadcastIn>(black_box(BROADCAST))))
    });
    g.bench_function("decode-broadcast-node", |b| {
        b.iter(|| black_box(node_decode::<BroadcastIn>(black_box(BROADCAST))))
    });
    g.bench_function("decode-broadcast-serde-json", |b| {
        b.iter(|| black_box(typed_decode::<BroadcastReq>(black_box(BROADCAST))))
    });
    g.bench_function("decode-send-one-pass", |b| {
        b.iter(|| black_box(one_pass::<KafkaRequest>(black_box(SEND))))
    });
    g.bench_function("decode-send-node", |b| {
        b.iter(|| black_box(node_decode::<KafkaRequest>(black_box(SEND))))
    });
    g.bench_function("decode-send-serde-json", |b| {
        b.iter(|| black_box(typed_decode::<SendReq>(black_box(SEND))))
    });
}

fn encode_rows(g: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    let values = read_ok_values();
    let msgs = poll_ok_msgs();
    encode_pair(
        g,
        "echo-ok",
        "c1",
        35,
        &EchoOut::EchoOk {
            echo: Value::from("Please echo 35"),
        },
        &reply(
            "c1",
            EchoOk {
                kind: "echo_ok",
                echo: "Please echo 35",
                in_reply_to: 35,
            },
        ),
    );
    encode_pair(
        g,
        "broadcast-ok",
        "c4",
        17,
        &BroadcastOut::BroadcastOk,
        &reply(
            "c4",
            BroadcastOk {
                kind: "broadcast_ok",
                in_reply_to: 17,
            },
        ),
    );
    encode_pair(
        g,
        "read-ok",
        "c3",
        9,
        &BroadcastOut::ReadOk {
            messages: values.clone(),
        },
        &reply(
            "c3",
            ReadOk {
                kind: "read_ok",
                messages: &values,
                in_reply_to: 9,
            },
        ),
    );
    let node_poll_ok = KafkaReply::PollOk {
        msgs: msgs
            .iter()
            .map(|(k, v)| {
                let pairs = v.iter().map(|&(o, m)| (o, Value::from(m))).collect();
                (k.as_str().into(), pairs)
            })
            .collect(),
    };
    encode_pair(
        g,
        "poll-ok",
        "c2",
        4,
        &node_poll_ok,
        &reply(
            "c2",
            PollOk {
                kind: "poll_ok",
                msgs: &msgs,
                in_reply_to: 4,
            },
        ),
    );
}

fn wire(c: &mut Criterion) {
    let mut g = c.benchmark_group("wire");
    g.throughput(Throughput::Elements(1));
    decode_rows(&mut g);
    encode_rows(&mut g);
    g.finish();
}

criterion_group!(benches, wire);
criterion_main!(benches);
