//! A cluster of node processes of one binary, wired by an in-test router: node-to-node
//! lines are forwarded (or dropped while partitioned), client lines are queued for the test.
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// One node process with a thread turning its stdout lines into JSON values.
pub struct Proc {
    child: Child,
    stdin: ChildStdin,
    pub lines: Receiver<Value>,
}

impl Proc {
    fn spawn(program: &str, tick_ms: u64) -> Self {
        let mut child = Command::new(program)
            .arg("--tick-ms")
            .arg(tick_ms.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{program} starts: {e}"));
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let value: Value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line}"));
                if tx.send(value).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            stdin,
            lines,
        }
    }

    pub fn write(&mut self, message: &Value) {
        writeln!(self.stdin, "{message}").expect("node reads stdin");
        self.stdin.flush().expect("flush");
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Nodes `n0..` plus a router that forwards node-to-node lines and queues client lines.
pub struct Cluster {
    pub procs: Vec<Proc>,
    pub to_clients: VecDeque<Value>,
    next_msg_id: u64,
    /// While set, node-to-node lines are dropped (a full partition).
    pub partitioned: bool,
    /// Node-to-node lines dropped so far.
    pub dropped: u64,
}

impl Cluster {
    /// Starts `n` processes of `program` (each given `--tick-ms tick_ms`) and initialises
    /// them as `n0..`.
    pub fn start(program: &str, n: usize, tick_ms: u64) -> Self {
        let ids: Vec<String> = (0..n).map(|i| format!("n{i}")).collect();
        let mut cluster = Self {
            procs: (0..n).map(|_| Proc::spawn(program, tick_ms)).collect(),
            to_clients: VecDeque::new(),
            next_msg_id: 100,
            partitioned: false,
            dropped: 0,
        };
        for (i, id) in ids.iter().enumerate() {
            cluster.procs[i].write(&json!({"id": i, "src": format!("c{i}"), "dest": id,
                "body": {"type": "init", "msg_id": 1, "node_id": id, "node_ids": ids}}));
            let reply = cluster
                .await_client_message(|m| m["dest"] == format!("c{i}"))
                .expect("init answered");
            assert_eq!(reply["body"], json!({"type": "init_ok", "in_reply_to": 1}));
            assert_eq!(reply["src"], json!(id));
        }
        cluster
    }

    /// Moves every pending line once: node-to-node lines to their node, client lines to the
    /// client queue.
    pub fn pump(&mut self) {
        for i in 0..self.procs.len() {
            loop {
                match self.procs[i].lines.recv_timeout(Duration::from_millis(1)) {
                    Ok(line) => {
                        let dest = line["dest"].as_str().expect("dest is a string").to_owned();
                        if let Some(j) =
                            dest.strip_prefix('n').and_then(|d| d.parse::<usize>().ok())
                        {
                            assert_eq!(line["src"], json!(format!("n{i}")), "src is the sender");
                            if self.partitioned {
                                self.dropped += 1;
                            } else {
                                self.procs[j].write(&line);
                            }
                        } else {
                            self.to_clients.push_back(line);
                        }
                    }
                    Err(RecvTimeoutError::Timeout) => break,
                    Err(RecvTimeoutError::Disconnected) => panic!("node n{i} exited"),
                }
            }
        }
    }

    pub fn await_client_message(&mut self, wanted: impl Fn(&Value) -> bool) -> Option<Value> {
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            self.pump();
            if let Some(pos) = self.to_clients.iter().position(&wanted) {
                return self.to_clients.remove(pos);
            }
        }
        None
    }

    /// Sends `body` from client `c9` to node `node` and returns the reply body.
    pub fn call(&mut self, node: usize, mut body: Value) -> Value {
        self.next_msg_id += 1;
        let id = self.next_msg_id;
        body["msg_id"] = json!(id);
        self.procs[node]
            .write(&json!({"id": 1, "src": "c9", "dest": format!("n{node}"), "body": body}));
        let reply = self
            .await_client_message(|m| m["body"]["in_reply_to"] == json!(id))
            .unwrap_or_else(|| panic!("no reply to msg_id {id}"));
        assert_eq!(reply["dest"], json!("c9"));
        reply["body"].clone()
    }
}

/// What [`load`] measured.
#[derive(Debug)]
pub struct LoadReport {
    /// Client operations answered.
    pub ops: u64,
    /// Node-to-node messages the router carried meanwhile.
    pub server_messages: u64,
}

impl LoadReport {
    /// Node-to-node messages per client operation.
    pub fn per_op(&self) -> f64 {
        self.server_messages as f64 / self.ops.max(1) as f64
    }
}

/// Runs `nodes` processes of `program` under `clients` client threads for `run_for`, each
/// client sending one request every `gap` to node `client % nodes` and waiting for its
/// reply, through a threaded router that counts node-to-node lines.
///
/// `client(c)` builds client `c`'s request maker: called with the operation number
/// (from 1) and the previous reply body (`None` first), it returns the next request body
/// without `msg_id`. Every reply must come within 5 s.
pub fn load<C>(
    program: &str,
    nodes: usize,
    clients: usize,
    run_for: Duration,
    gap: Duration,
    client: impl Fn(usize) -> C + Sync,
) -> LoadReport
where
    C: FnMut(u64, Option<&Value>) -> Value + Send,
{
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::mpsc::{channel, Sender};
    use std::sync::{Arc, Mutex};

    let ids: Vec<String> = (0..nodes).map(|i| format!("n{i}")).collect();
    let mut children = Vec::new();
    let mut stdins = Vec::new();
    let mut stdouts = Vec::new();
    for _ in 0..nodes {
        let mut child = Command::new(program)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{program} starts: {e}"));
        stdins.push(Arc::new(Mutex::new(child.stdin.take().expect("stdin"))));
        stdouts.push(child.stdout.take().expect("stdout"));
        children.push(child);
    }
    let server_messages = Arc::new(AtomicU64::new(0));
    let routes: Arc<Mutex<HashMap<String, Sender<Value>>>> = Arc::default();
    for stdout in stdouts {
        let stdins = stdins.clone();
        let routes = routes.clone();
        let server_messages = server_messages.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let value: Value = serde_json::from_str(&line).expect("JSON line");
                let dest = value["dest"].as_str().unwrap_or_default().to_owned();
                if let Some(j) = dest.strip_prefix('n').and_then(|d| d.parse::<usize>().ok()) {
                    server_messages.fetch_add(1, Ordering::Relaxed);
                    let mut stdin = stdins[j].lock().expect("lock");
                    let _ = writeln!(stdin, "{line}");
                    let _ = stdin.flush();
                } else if let Some(tx) = routes.lock().expect("lock").get(&dest) {
                    let _ = tx.send(value);
                }
            }
        });
    }
    let write = |node: usize, message: &Value| {
        let mut stdin = stdins[node].lock().expect("lock");
        writeln!(stdin, "{message}").expect("write");
        stdin.flush().expect("flush");
    };
    for (i, id) in ids.iter().enumerate() {
        let (tx, rx) = channel();
        routes.lock().expect("lock").insert(format!("c{i}"), tx);
        write(
            i,
            &json!({"src": format!("c{i}"), "dest": id,
            "body": {"type": "init", "msg_id": 1, "node_id": id, "node_ids": ids}}),
        );
        rx.recv_timeout(Duration::from_secs(5)).expect("init_ok");
    }
    let ops: u64 = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..clients)
            .map(|c| {
                let write = &write;
                let routes = routes.clone();
                let mut next = client(c);
                scope.spawn(move || {
                    let name = format!("c{}", 10 + c);
                    let (tx, rx) = channel();
                    routes.lock().expect("lock").insert(name.clone(), tx);
                    let node = c % nodes;
                    let start = Instant::now();
                    let mut ops = 0u64;
                    let mut last: Option<Value> = None;
                    while start.elapsed() < run_for {
                        ops += 1;
                        let mut body = next(ops, last.as_ref());
                        body["msg_id"] = json!(ops);
                        let sent_at = Instant::now();
                        write(
                            node,
                            &json!({"src": name, "dest": format!("n{node}"), "body": body}),
                        );
                        let reply = rx.recv_timeout(Duration::from_secs(5)).expect("reply");
                        last = Some(reply["body"].clone());
                        std::thread::sleep(gap.saturating_sub(sent_at.elapsed()));
                    }
                    ops
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("client thread"))
            .sum()
    });
    for mut child in children {
        let _ = child.kill();
        let _ = child.wait();
    }
    LoadReport {
        ops,
        server_messages: server_messages.load(Ordering::Relaxed),
    }
}
