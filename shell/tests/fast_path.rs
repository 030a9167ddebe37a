//! The handler runtime's reading and answering paths: every classification the same whichever
//! reader takes a line (plain JSON, JSON with escapes, repeated keys), RPC replies routed from
//! each, input arriving in one chunk, and backpressure from a slow consumer of the output.
//! Each runs on a single-threaded runtime and on a two-worker one (where handlers that wait
//! run beside the reader).

use std::collections::BTreeMap;
use std::time::Duration;

use glomers_shell::node::{serve_io, serve_io_with, Answer, Handler, Limits, Node};
use glomers_shell::protocol::Incoming;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Req {
    Echo { echo: Value },
    Add { delta: u64 },
    Call { dest: String },
}

// Variant names are wire types, which all end in `_ok`.
#[allow(clippy::enum_variant_names)]
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Resp {
    EchoOk { echo: Value },
    AddOk { delta: u64 },
    CallOk { reply: Value },
}

struct Node1;

impl Handler for Node1 {
    type Request = Req;
    type Response = Resp;

    async fn handle(&self, node: &Node, msg: Incoming<Req>) -> Answer<Resp> {
        match msg.body {
            Req::Echo { echo } => Ok(Some(Resp::EchoOk { echo })),
            Req::Add { delta } => Ok(Some(Resp::AddOk { delta })),
            Req::Call { dest } => {
                let reply: Value = node
                    .rpc(&dest, &json!({"type": "ping"}), Duration::from_secs(5))
                    .await?;
                Ok(Some(Resp::CallOk { reply }))
            }
        }
    }
}

const INIT: &str = r#"{"src":"c0","dest":"n0","body":{"type":"init","msg_id":1,"node_id":"n0","node_ids":["n0"]}}"#;

/// Runs the node over `input` (written in one chunk, then end of input) and returns every
/// output line after `init_ok`, parsed.
async fn run(input: &str, limits: Limits, out_capacity: usize) -> Vec<Value> {
    let (mut to_node, node_in) = tokio::io::duplex(1 << 20);
    let (node_out, from_node) = tokio::io::duplex(out_capacity);
    let task = tokio::spawn(serve_io_with(
        BufReader::new(node_in),
        node_out,
        limits,
        |_n: &Node| Node1,
    ));
    let mut all = format!("{INIT}\n");
    all.push_str(input);
    let writer = tokio::spawn(async move {
        to_node
            .write_all(all.as_bytes())
            .await
            .expect("write input");
        drop(to_node);
    });
    let mut lines = BufReader::new(from_node).lines();
    let mut out = Vec::new();
    while let Ok(Ok(Some(line))) =
        tokio::time::timeout(Duration::from_secs(10), lines.next_line()).await
    {
        out.push(serde_json::from_str::<Value>(&line).expect("output is JSON"));
    }
    writer.await.expect("writer");
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("runtime returns")
        .expect("runtime task");
    assert_eq!(
        out.first().map(|v| v["body"]["type"].clone()),
        Some(json!("init_ok"))
    );
    out.remove(0);
    out
}

/// Replies by `in_reply_to`.
fn by_request(out: &[Value]) -> BTreeMap<u64, Value> {
    let mut map = BTreeMap::new();
    for v in out {
        let irt = v["body"]["in_reply_to"]
            .as_u64()
            .expect("replies carry in_reply_to");
        assert!(
            map.insert(irt, v["body"].clone()).is_none(),
            "one reply per request"
        );
    }
    map
}

async fn every_reader_classifies_alike() {
    // Each case in three spellings: plain (the scanner reads it), with an escape (the
    // serde_json reader), and with a repeated envelope key (the Value path).
    let spell = |msg_id: u64, body: &str| {
        [
            format!(r#"{{"src":"c1","dest":"n0","body":{body}}}"#),
            format!(r#"{{"src":"c\u0031","dest":"n0","body":{body}}}"#),
            format!(r#"{{"src":"c9","src":"c1","dest":"n0","body":{body}}}"#),
        ]
        .into_iter()
        .enumerate()
        .map(move |(i, line)| (msg_id + i as u64, line))
    };
    let cases = [
        (10, r#"{"type":"frobnicate","msg_id":ID}"#, Some(10)),
        (20, r#"{"type":"add","msg_id":ID}"#, Some(12)),
        (30, r#"{"type":"add","msg_id":ID,"delta":"x"}"#, Some(12)),
        (40, r#"{"msg_id":ID}"#, Some(12)),
        (50, r#"{"type":"add","msg_id":ID,"delta":ID}"#, None),
        (
            60,
            r#"{"type":"echo","msg_id":ID,"echo":[ID,{"é":"\"x\""}]}"#,
            None,
        ),
    ];
    let mut input = String::new();
    let mut want = BTreeMap::new();
    for (base, body, code) in cases {
        for (id, line) in spell(base, body) {
            input.push_str(&line.replace("ID", &id.to_string()));
            input.push('\n');
            want.insert(id, code);
        }
    }
    // Messages without msg_id get no answer, whichever reader takes them.
    for line in spell(0, r#"{"type":"frobnicate"}"#)
        .chain(spell(0, r#"{"type":"add"}"#))
        .chain(spell(0, r#"{"type":"add","delta":1}"#))
    {
        input.push_str(&line.1);
        input.push('\n');
    }
    let got = by_request(&run(&input, Limits::default(), 1 << 20).await);
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );
    for (id, code) in want {
        let body = &got[&id];
        match code {
            Some(code) => {
                assert_eq!(body["type"], "error", "{id}: {body}");
                assert_eq!(body["code"], code, "{id}: {body}");
            }
            None if id < 60 => {
                assert_eq!(*body, json!({"type":"add_ok","delta":id,"in_reply_to":id}))
            }
            None => assert_eq!(
                *body,
                json!({"type":"echo_ok","echo":[id,{"é":"\"x\""}],"in_reply_to":id})
            ),
        }
    }
}

async fn next(lines: &mut tokio::io::Lines<BufReader<tokio::io::DuplexStream>>) -> Value {
    let line = tokio::time::timeout(Duration::from_secs(5), lines.next_line())
        .await
        .expect("output in time")
        .expect("read")
        .expect("a line");
    serde_json::from_str::<Value>(&line).expect("JSON")
}

async fn replies_from_every_reader_complete_their_calls() {
    let (mut to_node, node_in) = tokio::io::duplex(1 << 16);
    let (node_out, from_node) = tokio::io::duplex(1 << 16);
    tokio::spawn(serve_io(BufReader::new(node_in), node_out, |_n: &Node| {
        Node1
    }));
    let mut lines = BufReader::new(from_node).lines();
    to_node
        .write_all(format!("{INIT}\n").as_bytes())
        .await
        .expect("write");
    assert_eq!(next(&mut lines).await["body"]["type"], "init_ok");
    let replies = [
        r#"{"src":"n1","dest":"n0","body":{"type":"pong","in_reply_to":ID,"n":1}}"#,
        r#"{"src":"n1","dest":"n0","body":{"type":"pong","in_reply_to":ID,"n":"\u0032"}}"#,
        r#"{"src":"n1","dest":"n0","body":{"type":"pong","in_reply_to":0,"in_reply_to":ID,"n":3}}"#,
    ];
    for (i, reply) in replies.iter().enumerate() {
        let msg_id = 100 + i as u64;
        let call =
            json!({"src":"c1","dest":"n0","body":{"type":"call","msg_id":msg_id,"dest":"n1"}});
        to_node
            .write_all(format!("{call}\n").as_bytes())
            .await
            .expect("write");
        let ping = next(&mut lines).await;
        assert_eq!(ping["dest"], "n1");
        let id = ping["body"]["msg_id"].as_u64().expect("rpc msg_id");
        let line = reply.replace("ID", &id.to_string());
        to_node
            .write_all(format!("{line}\n").as_bytes())
            .await
            .expect("write");
        let answer = next(&mut lines).await;
        assert_eq!(answer["body"]["in_reply_to"], msg_id, "{answer}");
        assert_eq!(answer["body"]["type"], "call_ok", "{answer}");
        let n = &answer["body"]["reply"]["n"];
        assert!(
            *n == json!(1) || *n == json!("2") || *n == json!(3),
            "{answer}"
        );
    }
}

async fn a_chunk_of_many_lines_is_answered_completely() {
    let total = 20_000u64;
    let mut input = String::new();
    for i in 1..=total {
        input.push_str(&format!(
            r#"{{"src":"c1","dest":"n0","body":{{"type":"echo","msg_id":{i},"echo":"Please echo {i}"}}}}"#
        ));
        input.push('\n');
    }
    let got = by_request(&run(&input, Limits::default(), 1 << 20).await);
    assert_eq!(got.len() as u64, total);
    for (id, body) in got {
        assert_eq!(body["type"], "echo_ok");
        assert_eq!(body["echo"], format!("Please echo {id}"));
    }
}

async fn a_slow_consumer_slows_the_node_down_instead_of_refusing_requests() {
    // A small output pipe fills at once and the output buffer behind it soon after; with two
    // handler slots, requests would be refused with error 11 if the reader kept going.
    let limits = Limits {
        max_in_flight: 2,
        drain_grace: Duration::from_secs(5),
    };
    let total = 30_000u64;
    let mut input = String::new();
    for i in 1..=total {
        input.push_str(&format!(
            r#"{{"src":"c1","dest":"n0","body":{{"type":"echo","msg_id":{i},"echo":"{}"}}}}"#,
            "x".repeat(40)
        ));
        input.push('\n');
    }
    let got = by_request(&run(&input, limits, 512).await);
    assert_eq!(got.len() as u64, total);
    assert!(
        got.values().all(|b| b["type"] == "echo_ok"),
        "no request refused"
    );
}

/// Each scenario on both runtime flavours.
macro_rules! on_both_runtimes {
    ($($name:ident),* $(,)?) => {
        mod current_thread {
            $(
                #[tokio::test(flavor = "current_thread")]
                async fn $name() {
                    super::$name().await
                }
            )*
        }
        mod multi_thread {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name().await
                }
            )*
        }
    };
}

on_both_runtimes!(
    every_reader_classifies_alike,
    replies_from_every_reader_complete_their_calls,
    a_chunk_of_many_lines_is_answered_completely,
    a_slow_consumer_slows_the_node_down_instead_of_refusing_requests
);
