//! The handler runtime driven in-process over in-memory pipes: RPC correlation, timeouts,
//! late replies, the key-value client, periodic tasks and shutdown.

use std::time::Duration;

use glomers_shell::error::ErrorBody;
use glomers_shell::kv::{Kv, KvError, KvService};
use glomers_shell::node::{serve_io, serve_io_with, Answer, Handler, Limits, Node};
use glomers_shell::protocol::Incoming;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream, Lines};

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Req {
    Call { dest: String, timeout_ms: u64 },
    KvRead { key: String },
    KvCas { key: String, from: u64, to: u64 },
    Pending,
}

// Variant names are wire types, which all end in `_ok`.
#[allow(clippy::enum_variant_names)]
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Resp {
    CallOk { reply: Value },
    KvReadOk { value: Option<u64> },
    KvCasOk,
    PendingOk { pending: usize },
}

struct Probe;

impl Handler for Probe {
    type Request = Req;
    type Response = Resp;

    async fn handle(&self, node: &Node, msg: Incoming<Req>) -> Answer<Resp> {
        match msg.body {
            Req::Call { dest, timeout_ms } => {
                let reply: Value = node
                    .rpc(
                        &dest,
                        &json!({"type": "ping"}),
                        Duration::from_millis(timeout_ms),
                    )
                    .await?;
                Ok(Some(Resp::CallOk { reply }))
            }
            Req::KvRead { key } => {
                let kv = Kv::new(node.clone(), KvService::Seq);
                let value = kv.read_opt(&key).await?;
                Ok(Some(Resp::KvReadOk { value }))
            }
            Req::KvCas { key, from, to } => {
                let kv = Kv::new(node.clone(), KvService::Lin);
                match kv.cas(&key, &from, &to, true).await {
                    Ok(()) => Ok(Some(Resp::KvCasOk)),
                    Err(e @ KvError::PreconditionFailed(_)) => Err(ErrorBody::new(
                        glomers_shell::error::ErrorCode::PreconditionFailed,
                        e.to_string(),
                    )),
                    Err(e) => Err(e.into()),
                }
            }
            Req::Pending => Ok(Some(Resp::PendingOk {
                pending: node.calls().pending(),
            })),
        }
    }
}

struct Wire {
    to_node: DuplexStream,
    from_node: Lines<BufReader<DuplexStream>>,
}

impl Wire {
    async fn send(&mut self, src: &str, body: Value) {
        let line = json!({"id": 1, "src": src, "dest": "n0", "body": body}).to_string() + "\n";
        self.to_node.write_all(line.as_bytes()).await.unwrap();
    }

    async fn recv(&mut self) -> Value {
        let line = tokio::time::timeout(Duration::from_secs(5), self.from_node.next_line())
            .await
            .expect("output in time")
            .unwrap()
            .expect("a line");
        serde_json::from_str(&line).unwrap()
    }

    async fn nothing_for(&mut self, d: Duration) {
        if let Ok(Ok(Some(line))) = tokio::time::timeout(d, self.from_node.next_line()).await {
            panic!("unexpected output {line}");
        }
    }
}

fn start() -> (Wire, tokio::task::JoinHandle<()>) {
    let (to_node, node_in) = tokio::io::duplex(1 << 16);
    let (node_out, from_node) = tokio::io::duplex(1 << 16);
    let task = tokio::spawn(serve_io(
        BufReader::new(node_in),
        node_out,
        |_node: &Node| Probe,
    ));
    (
        Wire {
            to_node,
            from_node: BufReader::new(from_node).lines(),
        },
        task,
    )
}

async fn init(w: &mut Wire) {
    w.send(
        "c0",
        json!({"type":"init","msg_id":1,"node_id":"n0","node_ids":["n0","n1"]}),
    )
    .await;
    assert_eq!(
        w.recv().await["body"],
        json!({"type":"init_ok","in_reply_to":1})
    );
}

#[tokio::test]
async fn rpc_reply_is_routed_to_the_caller() {
    let (mut w, _t) = start();
    init(&mut w).await;
    w.send(
        "c1",
        json!({"type":"call","msg_id":7,"dest":"n1","timeout_ms":5000}),
    )
    .await;
    let req = w.recv().await;
    assert_eq!(req["dest"], "n1");
    assert_eq!(req["body"]["type"], "ping");
    let id = req["body"]["msg_id"].as_u64().expect("integer msg_id");
    w.send("n1", json!({"type":"pong","in_reply_to":id,"x":1}))
        .await;
    let reply = w.recv().await;
    assert_eq!(reply["dest"], "c1");
    assert_eq!(reply["body"]["in_reply_to"], 7);
    assert_eq!(reply["body"]["reply"]["x"], 1);
    w.send("c1", json!({"type":"pending","msg_id":8})).await;
    assert_eq!(w.recv().await["body"]["pending"], 0);
}

#[tokio::test]
async fn timed_out_call_leaves_nothing_pending_and_late_reply_is_dropped() {
    let (mut w, _t) = start();
    init(&mut w).await;
    w.send(
        "c1",
        json!({"type":"call","msg_id":2,"dest":"n1","timeout_ms":50}),
    )
    .await;
    let req = w.recv().await;
    let id = req["body"]["msg_id"].as_u64().unwrap();
    let err = w.recv().await;
    assert_eq!(err["body"]["type"], "error");
    assert_eq!(err["body"]["in_reply_to"], 2);
    assert_eq!(
        err["body"]["code"], 13,
        "a timed-out downstream call is indefinite"
    );
    w.send("c1", json!({"type":"pending","msg_id":9})).await;
    let p = w.recv().await;
    assert_eq!(p["body"]["in_reply_to"], 9);
    assert_eq!(
        p["body"]["pending"], 0,
        "the timed-out call left no entry behind"
    );
    w.send("n1", json!({"type":"pong","in_reply_to":id})).await;
    w.nothing_for(Duration::from_millis(100)).await;
    w.send("c1", json!({"type":"pending","msg_id":3})).await;
    let p = w.recv().await;
    assert_eq!(p["body"]["in_reply_to"], 3);
    assert_eq!(p["body"]["pending"], 0);
}

#[tokio::test]
async fn distinct_calls_get_distinct_msg_ids() {
    let (mut w, _t) = start();
    init(&mut w).await;
    for i in 0..20u64 {
        w.send(
            "c1",
            json!({"type":"call","msg_id":100 + i,"dest":"n1","timeout_ms":5000}),
        )
        .await;
    }
    let mut ids = std::collections::HashSet::new();
    for _ in 0..20 {
        let req = w.recv().await;
        assert!(ids.insert(req["body"]["msg_id"].as_u64().unwrap()));
    }
    // Answer in reverse order: each answer reaches its own caller.
    let mut sorted: Vec<u64> = ids.into_iter().collect();
    sorted.sort_unstable();
    for id in sorted.iter().rev() {
        w.send("n1", json!({"type":"pong","in_reply_to":id,"echo":id}))
            .await;
    }
    let mut seen = std::collections::HashSet::new();
    for _ in 0..20 {
        let r = w.recv().await;
        assert!(seen.insert(r["body"]["in_reply_to"].as_u64().unwrap()));
    }
    assert_eq!(seen.len(), 20);
}

#[tokio::test]
async fn kv_client_speaks_the_service_schema() {
    let (mut w, _t) = start();
    init(&mut w).await;
    w.send("c1", json!({"type":"kv_read","msg_id":2,"key":"a"}))
        .await;
    let req = w.recv().await;
    assert_eq!(req["dest"], "seq-kv");
    assert_eq!(req["body"]["type"], "read");
    assert_eq!(req["body"]["key"], "a");
    let id = req["body"]["msg_id"].clone();
    w.send(
        "seq-kv",
        json!({"type":"error","code":20,"text":"key does not exist","in_reply_to":id}),
    )
    .await;
    assert_eq!(
        w.recv().await["body"],
        json!({"type":"kv_read_ok","value":null,"in_reply_to":2})
    );

    w.send("c1", json!({"type":"kv_read","msg_id":3,"key":"a"}))
        .await;
    let id = w.recv().await["body"]["msg_id"].clone();
    w.send(
        "seq-kv",
        json!({"type":"read_ok","value":41,"in_reply_to":id}),
    )
    .await;
    assert_eq!(
        w.recv().await["body"],
        json!({"type":"kv_read_ok","value":41,"in_reply_to":3})
    );

    w.send(
        "c1",
        json!({"type":"kv_cas","msg_id":4,"key":"a","from":1,"to":2}),
    )
    .await;
    let req = w.recv().await;
    assert_eq!(req["dest"], "lin-kv");
    assert_eq!(req["body"]["from"], 1);
    assert_eq!(req["body"]["to"], 2);
    assert_eq!(req["body"]["create_if_not_exists"], true);
    let id = req["body"]["msg_id"].clone();
    w.send(
        "lin-kv",
        json!({"type":"error","code":22,"text":"expected 1, had 5","in_reply_to":id}),
    )
    .await;
    let r = w.recv().await;
    assert_eq!(r["body"]["code"], 22);
}

#[tokio::test]
async fn end_of_input_shuts_down_after_running_handlers() {
    let (mut w, task) = start();
    init(&mut w).await;
    w.send(
        "c1",
        json!({"type":"call","msg_id":2,"dest":"n1","timeout_ms":100}),
    )
    .await;
    let _req = w.recv().await;
    let Wire { to_node, from_node } = w;
    drop(to_node);
    let mut w = from_node;
    // The running call times out and is answered before the runtime returns.
    let line = w
        .next_line()
        .await
        .unwrap()
        .expect("the timed-out call is answered");
    let err: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(err["body"]["in_reply_to"], 2);
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("runtime returns after end of input")
        .unwrap();
}

#[tokio::test]
async fn busy_handlers_refuse_new_requests_but_replies_still_flow() {
    let (to_node, node_in) = tokio::io::duplex(1 << 16);
    let (node_out, from_node) = tokio::io::duplex(1 << 16);
    let limits = Limits {
        max_in_flight: 2,
        drain_grace: Duration::from_secs(1),
    };
    tokio::spawn(serve_io_with(
        BufReader::new(node_in),
        node_out,
        limits,
        |_node: &Node| Probe,
    ));
    let mut w = Wire {
        to_node,
        from_node: BufReader::new(from_node).lines(),
    };
    init(&mut w).await;
    let mut ids = Vec::new();
    for i in 0..2u64 {
        w.send(
            "c1",
            json!({"type":"call","msg_id":10 + i,"dest":"n1","timeout_ms":5000}),
        )
        .await;
        ids.push(w.recv().await["body"]["msg_id"].clone());
    }
    // Both slots wait on replies: a third request is refused at once, definitely.
    w.send("c2", json!({"type":"pending","msg_id":3})).await;
    let busy = w.recv().await;
    assert_eq!(busy["dest"], "c2");
    assert_eq!(busy["body"]["code"], 11);
    // The reader was not blocked: the replies still reach the waiting calls.
    for id in &ids {
        w.send("n1", json!({"type":"pong","in_reply_to":id})).await;
    }
    let mut answered = Vec::new();
    for _ in 0..2 {
        answered.push(w.recv().await["body"]["in_reply_to"].as_u64().unwrap());
    }
    answered.sort_unstable();
    assert_eq!(answered, [10, 11]);
    // Slots are free again.
    w.send("c2", json!({"type":"pending","msg_id":4})).await;
    assert_eq!(w.recv().await["body"]["type"], "pending_ok");
}
