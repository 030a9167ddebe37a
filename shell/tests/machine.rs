//! The state-machine runtime driven in-process over in-memory pipes.

use std::time::Duration;

use glomers_shell::error::ErrorBody;
use glomers_shell::inbox::NodeInfo;
use glomers_shell::machine::{run_io, Machine, Outbox};
use glomers_shell::protocol::Incoming;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream, Lines};

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum In {
    Ask { peer: String },
    AskOk,
    Count,
    Error(ErrorBody),
}

// Variant names are wire types.
#[allow(clippy::enum_variant_names)]
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Out {
    Ask {
        peer: String,
    },
    AskOk,
    CountOk {
        ticks: u64,
        acks: Vec<u64>,
        node: String,
        peers: Vec<String>,
    },
}

struct Probe {
    info: NodeInfo,
    ticks: u64,
    acks: Vec<u64>,
    asked: Vec<u64>,
}

impl Machine for Probe {
    type In = In;
    type Out = Out;

    fn on_message(&mut self, _now: u64, msg: Incoming<In>, out: &mut Outbox<Out>) {
        match msg.body {
            In::Ask { peer } => {
                let id = out.request(peer.clone(), Out::Ask { peer });
                self.asked.push(id);
                out.reply(&msg.origin, Out::AskOk);
            }
            In::AskOk => {
                if let Some(irt) = msg.in_reply_to {
                    self.acks.push(irt);
                }
            }
            In::Count => out.reply(
                &msg.origin,
                Out::CountOk {
                    ticks: self.ticks,
                    acks: self.acks.clone(),
                    node: self.info.id.clone(),
                    peers: self.info.peers().map(str::to_owned).collect(),
                },
            ),
            In::Error(e) => out.reply_error(&msg.origin, e),
        }
    }

    fn on_tick(&mut self, _now: u64, _out: &mut Outbox<Out>) {
        self.ticks += 1;
    }

    fn tick_interval(&self) -> Option<Duration> {
        Some(Duration::from_millis(10))
    }
}

struct Wire {
    to_node: Option<DuplexStream>,
    from_node: Lines<BufReader<DuplexStream>>,
}

impl Wire {
    async fn raw(&mut self, line: &str) {
        let w = self.to_node.as_mut().unwrap();
        w.write_all(line.as_bytes()).await.unwrap();
        w.write_all(b"\n").await.unwrap();
    }

    async fn send(&mut self, src: &str, body: Value) {
        self.raw(&json!({"src": src, "dest": "n1", "body": body}).to_string())
            .await;
    }

    async fn recv(&mut self) -> Value {
        let line = tokio::time::timeout(Duration::from_secs(5), self.from_node.next_line())
            .await
            .expect("output in time")
            .unwrap()
            .expect("a line");
        serde_json::from_str(&line).unwrap()
    }
}

fn start() -> (Wire, tokio::task::JoinHandle<()>) {
    let (to_node, node_in) = tokio::io::duplex(1 << 16);
    let (node_out, from_node) = tokio::io::duplex(1 << 16);
    let task = tokio::spawn(run_io(
        BufReader::new(node_in),
        node_out,
        |info: &NodeInfo, _now| Probe {
            info: info.clone(),
            ticks: 0,
            acks: Vec::new(),
            asked: Vec::new(),
        },
    ));
    (
        Wire {
            to_node: Some(to_node),
            from_node: BufReader::new(from_node).lines(),
        },
        task,
    )
}

#[tokio::test]
async fn machine_gets_early_messages_requests_acks_and_ticks() {
    let (mut w, task) = start();
    // A peer request before init is held and handled after it.
    w.send("n0", json!({"type": "ask", "msg_id": 4, "peer": "n2"}))
        .await;
    w.send(
        "c0",
        json!({"type": "init", "msg_id": 1, "node_id": "n1", "node_ids": ["n0", "n1", "n2"]}),
    )
    .await;
    assert_eq!(
        w.recv().await["body"],
        json!({"type": "init_ok", "in_reply_to": 1})
    );
    let req = w.recv().await;
    assert_eq!(req["src"], "n1");
    assert_eq!(req["dest"], "n2");
    let id = req["body"]["msg_id"]
        .as_u64()
        .expect("request carries msg_id");
    let ok = w.recv().await;
    assert_eq!(ok["dest"], "n0");
    assert_eq!(ok["body"], json!({"type": "ask_ok", "in_reply_to": 4}));

    // The ack reaches the machine (replies are not swallowed in this style).
    w.send("n2", json!({"type": "ask_ok", "in_reply_to": id}))
        .await;
    // Unknown type, bad fields, garbage.
    w.send("c3", json!({"type": "nope", "msg_id": 9})).await;
    assert_eq!(w.recv().await["body"]["code"], 10);
    w.send("c3", json!({"type": "ask", "msg_id": 10})).await;
    assert_eq!(w.recv().await["body"]["code"], 12);
    w.raw("{{{").await;

    tokio::time::sleep(Duration::from_millis(100)).await;
    w.send("c3", json!({"type": "count", "msg_id": 11})).await;
    let c = w.recv().await;
    assert_eq!(c["body"]["in_reply_to"], 11);
    assert_eq!(c["body"]["acks"], json!([id]));
    assert_eq!(c["body"]["node"], "n1");
    assert_eq!(c["body"]["peers"], json!(["n0", "n2"]));
    assert!(c["body"]["ticks"].as_u64().unwrap() >= 2, "{c}");

    // End of input: queued work is finished and the runtime returns.
    w.send("c3", json!({"type": "count", "msg_id": 12})).await;
    w.to_node = None;
    assert_eq!(w.recv().await["body"]["in_reply_to"], 12);
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("runtime returns at end of input")
        .unwrap();
}

#[tokio::test]
async fn error_replies_reach_the_machine_as_typed_errors() {
    let (mut w, _task) = start();
    w.send(
        "c0",
        json!({"type": "init", "msg_id": 1, "node_id": "n1", "node_ids": ["n1"]}),
    )
    .await;
    w.recv().await;
    // The probe answers an incoming error body by replying it back; this shows the error
    // variant decoded with its integer code and text.
    w.send(
        "c2",
        json!({"type": "error", "msg_id": 3, "code": 22, "text": "x"}),
    )
    .await;
    let r = w.recv().await;
    assert_eq!(
        r["body"],
        json!({"type": "error", "code": 22, "text": "x", "in_reply_to": 3})
    );
}
