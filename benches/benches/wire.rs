//! Wire formats: decode and encode of four typical messages with `serde_json` and with
//! `serde-json-core`, over the same typed structs (so the parsers are compared, not the
//! types), and the shell's own path (`glomers_shell::protocol`: `read_frame` and
//! `Frame::decode` on the way in, `encode_line_into` a reused buffer on the way out, as the
//! runtime does) for reference. Before timing, every message is decoded and encoded by both
//! libraries and the results are compared, so a figure is only recorded for a library that
//! handles the message correctly.
//!
//! What serde-json-core cannot do, and so cannot represent: `deserialize_any` (no
//! `serde_json::Value`, no internally tagged enums, no untagged enums), so an `echo` body's
//! arbitrary JSON value and a kafka message's arbitrary JSON value are out of reach; the
//! typed structs below carry a string `echo` and integer kafka messages, which is what
//! Maelstrom's workloads send, but not all the protocol allows.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use glomers_shell::broadcast::BroadcastIn;
use glomers_shell::kafka::KafkaReply;
use glomers_shell::protocol::{encode_line, encode_line_into, read_frame};
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
struct ReadOkIn<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    in_reply_to: u64,
    messages: Vec<u64>,
}

#[derive(Debug, PartialEq, Deserialize)]
struct PollOkIn<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    in_reply_to: u64,
    // `&str` keys, not `Cow<str>`/`String`: serde-json-core 0.6's map-key deserializer
    // reaches `unreachable!()` (a panic) on `deserialize_string`, which owned or `Cow`
    // keys call. Keys are Maelstrom's short digit strings, never escaped.
    #[serde(borrow)]
    msgs: BTreeMap<&'a str, Vec<(u64, u64)>>,
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
struct ReadOkOut<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    messages: &'a [u64],
    in_reply_to: u64,
}

#[derive(Serialize)]
struct PollOkOut<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    msgs: &'a BTreeMap<String, Vec<(u64, u64)>>,
    in_reply_to: u64,
}

/// The shell's own echo types, as in the `echo` binary.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ShellEchoIn {
    Echo { echo: Value },
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ShellEchoOut {
    EchoOk { echo: Value },
}

const ECHO: &str =
    r#"{"src":"c1","dest":"n0","body":{"type":"echo","msg_id":35,"echo":"Please echo 35"}}"#;
const BROADCAST: &str =
    r#"{"src":"c4","dest":"n2","body":{"type":"broadcast","message":1234,"msg_id":17}}"#;

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

/// serde-json-core's decoder with a buffer for unescaping (without one it hands escaped
/// strings back unchanged, which would be wrong).
fn sjc_decode<'a, T: Deserialize<'a>>(bytes: &'a [u8], scratch: &mut [u8]) -> Option<T> {
    serde_json_core::from_slice_escaped::<T>(bytes, scratch)
        .ok()
        .map(|(v, _)| v)
}

fn sjc_encode<T: Serialize>(v: &T, buf: &mut [u8]) -> Option<usize> {
    serde_json_core::to_slice(v, buf).ok()
}

fn json_encode<T: Serialize>(v: &T, buf: &mut Vec<u8>) -> usize {
    buf.clear();
    match serde_json::to_writer(&mut *buf, v) {
        Ok(()) => buf.len(),
        Err(e) => panic!("serde_json encode: {e}"),
    }
}

/// Decodes `line` with both libraries and checks they agree.
fn check_decode<'a, T>(line: &'a str, scratch: &mut [u8]) -> T
where
    T: Deserialize<'a> + PartialEq + std::fmt::Debug,
{
    let a: T = match serde_json::from_str(line) {
        Ok(v) => v,
        Err(e) => panic!("serde_json cannot decode {line}: {e}"),
    };
    let Some(b) = sjc_decode::<T>(line.as_bytes(), scratch) else {
        panic!("serde-json-core cannot decode {line}");
    };
    assert_eq!(a, b, "decoders disagree on {line}");
    a
}

/// Encodes `v` with both libraries and checks the bytes are identical.
fn check_encode<T: Serialize>(v: &T, buf: &mut [u8]) -> String {
    let mut a = Vec::new();
    json_encode(v, &mut a);
    let Some(n) = sjc_encode(v, buf) else {
        panic!("serde-json-core cannot encode into {} bytes", buf.len());
    };
    assert_eq!(a.as_slice(), &buf[..n], "encoders disagree");
    String::from_utf8_lossy(&a).into_owned()
}

fn wire(c: &mut Criterion) {
    let mut scratch = [0u8; 256];
    let mut out = [0u8; 16 * 1024];
    let mut vec_out: Vec<u8> = Vec::with_capacity(16 * 1024);

    let values = read_ok_values();
    let msgs = poll_ok_msgs();
    let echo_ok = OutEnv {
        src: "n0",
        dest: "c1",
        body: EchoOk {
            kind: "echo_ok",
            echo: "Please echo 35",
            in_reply_to: 35,
        },
    };
    let broadcast_ok = OutEnv {
        src: "n2",
        dest: "c4",
        body: BroadcastOk {
            kind: "broadcast_ok",
            in_reply_to: 17,
        },
    };
    let read_ok = OutEnv {
        src: "n1",
        dest: "c3",
        body: ReadOkOut {
            kind: "read_ok",
            messages: &values,
            in_reply_to: 9,
        },
    };
    let poll_ok = OutEnv {
        src: "n0",
        dest: "c2",
        body: PollOkOut {
            kind: "poll_ok",
            msgs: &msgs,
            in_reply_to: 4,
        },
    };
    // The encoded forms are the decode inputs of the two replies.
    let read_ok_line = check_encode(&read_ok, &mut out);
    let poll_ok_line = check_encode(&poll_ok, &mut out);
    check_encode(&echo_ok, &mut out);
    check_encode(&broadcast_ok, &mut out);
    let e: InEnv<EchoReq> = check_decode(ECHO, &mut scratch);
    assert_eq!(
        (e.src.as_ref(), e.body.echo.as_ref()),
        ("c1", "Please echo 35")
    );
    let b: InEnv<BroadcastReq> = check_decode(BROADCAST, &mut scratch);
    assert_eq!(b.body.message, 1234);
    let r: InEnv<ReadOkIn> = check_decode(&read_ok_line, &mut scratch);
    assert_eq!(r.body.messages, values);
    let p: InEnv<PollOkIn> = check_decode(&poll_ok_line, &mut scratch);
    assert_eq!(p.body.msgs.len(), 4);
    // An escaped string: serde-json-core unescapes it through the scratch buffer.
    let escaped = r#"{"src":"c1","dest":"n0","body":{"type":"echo","msg_id":1,"echo":"a\"b\n"}}"#;
    let x: InEnv<EchoReq> = check_decode(escaped, &mut scratch);
    assert_eq!(x.body.echo, "a\"b\n");
    // What serde-json-core cannot decode at all: a non-string echo value.
    let object = r#"{"src":"c1","dest":"n0","body":{"type":"echo","msg_id":1,"echo":{"k":[1]}}}"#;
    assert!(sjc_decode::<InEnv<ShellEchoIn>>(object.as_bytes(), &mut scratch).is_none());
    assert!(serde_json::from_str::<InEnv<ShellEchoIn>>(object).is_ok());

    let shell_poll_ok = KafkaReply::PollOk {
        msgs: msgs
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().into(),
                    v.iter().map(|&(o, m)| (o, Value::from(m))).collect(),
                )
            })
            .collect(),
    };
    let shell_read_ok = glomers_shell::broadcast::BroadcastOut::ReadOk {
        messages: values.clone(),
    };
    let shell_echo_ok = ShellEchoOut::EchoOk {
        echo: Value::from("Please echo 35"),
    };
    // The shell encodes exactly what the typed structs encode.
    let shell = |r| match r {
        Ok(s) => s,
        Err(e) => panic!("shell encode: {e}"),
    };
    assert_eq!(
        shell(encode_line("n0", "c2", None, Some(4), &shell_poll_ok)),
        poll_ok_line
    );
    assert_eq!(
        shell(encode_line("n1", "c3", None, Some(9), &shell_read_ok)),
        read_ok_line
    );

    let mut g = c.benchmark_group("wire");
    g.throughput(Throughput::Elements(1));

    g.bench_function("decode-echo-serde-json", |b| {
        b.iter(|| black_box(serde_json::from_str::<InEnv<EchoReq>>(black_box(ECHO)).ok()))
    });
    g.bench_function("decode-echo-sjc", |b| {
        b.iter(|| {
            black_box(sjc_decode::<InEnv<EchoReq>>(
                black_box(ECHO).as_bytes(),
                &mut scratch,
            ))
        })
    });
    g.bench_function("decode-echo-shell", |b| {
        b.iter(|| {
            let frame = read_frame(black_box(ECHO)).ok();
            black_box(frame.and_then(|f| match f.decode::<ShellEchoIn>() {
                Ok(ShellEchoIn::Echo { echo }) => Some(echo),
                Err(_) => None,
            }))
        })
    });
    g.bench_function("encode-echo-ok-serde-json", |b| {
        b.iter(|| black_box(json_encode(black_box(&echo_ok), &mut vec_out)))
    });
    g.bench_function("encode-echo-ok-sjc", |b| {
        b.iter(|| black_box(sjc_encode(black_box(&echo_ok), &mut out)))
    });
    g.bench_function("encode-echo-ok-shell", |b| {
        b.iter(|| {
            vec_out.clear();
            let line = encode_line_into(
                &mut vec_out,
                "n0",
                "c1",
                None,
                Some(35),
                black_box(&shell_echo_ok),
            );
            black_box(line.map(|()| vec_out.len()).ok())
        })
    });

    g.bench_function("decode-broadcast-serde-json", |b| {
        b.iter(|| black_box(serde_json::from_str::<InEnv<BroadcastReq>>(black_box(BROADCAST)).ok()))
    });
    g.bench_function("decode-broadcast-sjc", |b| {
        b.iter(|| {
            black_box(sjc_decode::<InEnv<BroadcastReq>>(
                black_box(BROADCAST).as_bytes(),
                &mut scratch,
            ))
        })
    });
    g.bench_function("decode-broadcast-shell", |b| {
        b.iter(|| {
            let frame = read_frame(black_box(BROADCAST)).ok();
            black_box(frame.map(|f| f.decode::<BroadcastIn>().is_ok()))
        })
    });
    g.bench_function("encode-broadcast-ok-serde-json", |b| {
        b.iter(|| black_box(json_encode(black_box(&broadcast_ok), &mut vec_out)))
    });
    g.bench_function("encode-broadcast-ok-sjc", |b| {
        b.iter(|| black_box(sjc_encode(black_box(&broadcast_ok), &mut out)))
    });

    g.bench_function("decode-read-ok-serde-json", |b| {
        b.iter(|| black_box(serde_json::from_str::<InEnv<ReadOkIn>>(black_box(&read_ok_line)).ok()))
    });
    g.bench_function("decode-read-ok-sjc", |b| {
        b.iter(|| {
            black_box(sjc_decode::<InEnv<ReadOkIn>>(
                black_box(read_ok_line.as_bytes()),
                &mut scratch,
            ))
        })
    });
    g.bench_function("encode-read-ok-serde-json", |b| {
        b.iter(|| black_box(json_encode(black_box(&read_ok), &mut vec_out)))
    });
    g.bench_function("encode-read-ok-sjc", |b| {
        b.iter(|| black_box(sjc_encode(black_box(&read_ok), &mut out)))
    });
    g.bench_function("encode-read-ok-shell", |b| {
        b.iter(|| {
            vec_out.clear();
            let line = encode_line_into(
                &mut vec_out,
                "n1",
                "c3",
                None,
                Some(9),
                black_box(&shell_read_ok),
            );
            black_box(line.map(|()| vec_out.len()).ok())
        })
    });

    g.bench_function("decode-poll-ok-serde-json", |b| {
        b.iter(|| black_box(serde_json::from_str::<InEnv<PollOkIn>>(black_box(&poll_ok_line)).ok()))
    });
    g.bench_function("decode-poll-ok-sjc", |b| {
        b.iter(|| {
            black_box(sjc_decode::<InEnv<PollOkIn>>(
                black_box(poll_ok_line.as_bytes()),
                &mut scratch,
            ))
        })
    });
    g.bench_function("encode-poll-ok-serde-json", |b| {
        b.iter(|| black_box(json_encode(black_box(&poll_ok), &mut vec_out)))
    });
    g.bench_function("encode-poll-ok-sjc", |b| {
        b.iter(|| black_box(sjc_encode(black_box(&poll_ok), &mut out)))
    });
    g.bench_function("encode-poll-ok-shell", |b| {
        b.iter(|| {
            vec_out.clear();
            let line = encode_line_into(
                &mut vec_out,
                "n0",
                "c2",
                None,
                Some(4),
                black_box(&shell_poll_ok),
            );
            black_box(line.map(|()| vec_out.len()).ok())
        })
    });
    g.finish();
}

criterion_group!(benches, wire);
criterion_main!(benches);
