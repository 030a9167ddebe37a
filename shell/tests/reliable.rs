//! Reliable sending over the handler runtime, with the test playing the peer.

use std::time::Duration;

use glomers_shell::node::{serve_io, Answer, Handler, Node};
use glomers_shell::protocol::Incoming;
use glomers_shell::reliable::{Reliable, RetryPolicy};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream, Lines};

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Req {
    Push { dest: String, value: u64 },
    Stats,
}

// Variant names are wire types.
#[allow(clippy::enum_variant_names)]
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Resp {
    PushOk,
    StatsOk {
        delivered: u64,
        given_up: u64,
        attempts: u64,
    },
}

struct Pusher {
    reliable: Reliable,
}

impl Handler for Pusher {
    type Request = Req;
    type Response = Resp;

    async fn handle(&self, _node: &Node, msg: Incoming<Req>) -> Answer<Resp> {
        match msg.body {
            Req::Push { dest, value } => {
                self.reliable
                    .send(&dest, &json!({"type": "replicate", "value": value}))
                    .await
                    .map_err(|e| {
                        glomers_shell::error::ErrorBody::new(
                            glomers_shell::error::ErrorCode::Abort,
                            e.to_string(),
                        )
                    })?;
                Ok(Some(Resp::PushOk))
            }
            Req::Stats => {
                let s = self.reliable.stats();
                Ok(Some(Resp::StatsOk {
                    delivered: s.delivered,
                    given_up: s.given_up,
                    attempts: s.attempts,
                }))
            }
        }
    }
}

struct Wire {
    to_node: DuplexStream,
    from_node: Lines<BufReader<DuplexStream>>,
}

impl Wire {
    async fn send(&mut self, src: &str, body: Value) {
        let line = json!({"src": src, "dest": "n0", "body": body}).to_string() + "\n";
        self.to_node.write_all(line.as_bytes()).await.unwrap();
    }

    async fn recv_within(&mut self, d: Duration) -> Option<Value> {
        match tokio::time::timeout(d, self.from_node.next_line()).await {
            Ok(Ok(Some(line))) => Some(serde_json::from_str(&line).unwrap()),
            _ => None,
        }
    }

    async fn recv(&mut self) -> Value {
        self.recv_within(Duration::from_secs(5))
            .await
            .expect("output in time")
    }

    async fn stats(&mut self, msg_id: u64) -> Value {
        self.send("c1", json!({"type": "stats", "msg_id": msg_id}))
            .await;
        loop {
            let v = self.recv().await;
            if v["body"]["in_reply_to"] == msg_id {
                return v["body"].clone();
            }
        }
    }
}

fn start(policy: RetryPolicy) -> Wire {
    let (to_node, node_in) = tokio::io::duplex(1 << 16);
    let (node_out, from_node) = tokio::io::duplex(1 << 16);
    tokio::spawn(serve_io(
        BufReader::new(node_in),
        node_out,
        move |node: &Node| Pusher {
            reliable: Reliable::start(node, policy),
        },
    ));
    Wire {
        to_node,
        from_node: BufReader::new(from_node).lines(),
    }
}

fn quick(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        capacity: 8,
        // Long enough that a loaded machine still acknowledges within one attempt.
        attempt_timeout: Duration::from_millis(250),
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(40),
        max_attempts,
    }
}

async fn init(w: &mut Wire) {
    w.send(
        "c0",
        json!({"type":"init","msg_id":1,"node_id":"n0","node_ids":["n0","n1"]}),
    )
    .await;
    assert_eq!(w.recv().await["body"]["type"], "init_ok");
}

#[tokio::test]
async fn resends_until_acknowledged_then_stops() {
    let mut w = start(quick(50));
    init(&mut w).await;
    w.send(
        "c1",
        json!({"type":"push","msg_id":2,"dest":"n1","value":42}),
    )
    .await;
    let mut attempts = Vec::new();
    let mut acked = false;
    while !acked {
        let v = w.recv().await;
        if v["dest"] != "n1" {
            continue;
        }
        assert_eq!(v["body"]["type"], "replicate");
        assert_eq!(v["body"]["value"], 42);
        let id = v["body"]["msg_id"].as_u64().expect("attempts carry msg_id");
        attempts.push(id);
        if attempts.len() == 3 {
            w.send("n1", json!({"type":"replicate_ok","in_reply_to":id}))
                .await;
            acked = true;
        }
    }
    let mut distinct = attempts.clone();
    distinct.dedup();
    assert_eq!(distinct.len(), 3, "each attempt has its own msg_id");
    // No further attempt after the acknowledgement.
    while let Some(v) = w.recv_within(Duration::from_millis(300)).await {
        assert_ne!(v["dest"], "n1", "resent after ack: {v}");
    }
    let s = w.stats(3).await;
    assert_eq!(s["delivered"], 1);
    assert_eq!(s["given_up"], 0);
    assert_eq!(s["attempts"], 3);
}

#[tokio::test]
async fn gives_up_after_max_attempts() {
    let mut w = start(quick(3));
    init(&mut w).await;
    w.send(
        "c1",
        json!({"type":"push","msg_id":2,"dest":"n1","value":1}),
    )
    .await;
    let mut attempts = 0;
    while attempts < 3 {
        let v = w.recv().await;
        if v["dest"] == "n1" {
            attempts += 1;
        }
    }
    // The third unanswered attempt was the last.
    while let Some(v) = w.recv_within(Duration::from_millis(800)).await {
        assert_ne!(v["dest"], "n1", "attempt beyond max_attempts: {v}");
    }
    let s = w.stats(3).await;
    assert_eq!(s["given_up"], 1);
    assert_eq!(s["delivered"], 0);
}

#[tokio::test]
async fn definite_error_gives_up_at_once() {
    let mut w = start(quick(50));
    init(&mut w).await;
    w.send(
        "c1",
        json!({"type":"push","msg_id":2,"dest":"n1","value":1}),
    )
    .await;
    loop {
        let v = w.recv().await;
        if v["dest"] == "n1" {
            let id = v["body"]["msg_id"].clone();
            w.send("n1", json!({"type":"error","code":10,"in_reply_to":id}))
                .await;
            break;
        }
    }
    while let Some(v) = w.recv_within(Duration::from_millis(300)).await {
        assert_ne!(v["dest"], "n1", "resent after a definite error: {v}");
    }
    let s = w.stats(3).await;
    assert_eq!(s["given_up"], 1);
    assert_eq!(s["attempts"], 1);
}
