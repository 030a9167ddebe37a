//! Test support: drive a node binary through its stdin and stdout like Maelstrom does.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// How long a test waits for one expected line.
pub const WAIT: Duration = Duration::from_secs(10);

/// A running node process.
pub struct NodeProc {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    /// Every stdout line seen so far, for the final pollution check.
    pub seen: Vec<String>,
    stderr: Option<JoinHandle<String>>,
}

impl NodeProc {
    /// Starts `bin` with `args` and the given extra environment.
    pub fn spawn(bin: &str, args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut cmd = Command::new(bin);
        cmd.args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn node binary");
        let stdout = child.stdout.take().expect("stdout");
        let mut stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stderr.read_to_string(&mut s);
            s
        });
        Self {
            stdin: child.stdin.take(),
            child,
            lines: rx,
            seen: Vec::new(),
            stderr: Some(stderr),
        }
    }

    /// Writes one raw line (a newline is appended).
    pub fn send_raw(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(line.as_bytes()).expect("write stdin");
        stdin.write_all(b"\n").expect("write stdin");
        stdin.flush().expect("flush stdin");
    }

    /// Sends a message from `src` with `body`.
    pub fn send(&mut self, src: &str, dest: &str, body: Value) {
        let line = json!({"id": 99, "src": src, "dest": dest, "body": body}).to_string();
        self.send_raw(&line);
    }

    /// The next stdout line, parsed; panics after [`WAIT`].
    pub fn recv(&mut self) -> Value {
        self.recv_within(WAIT)
            .expect("a line from the node in time")
    }

    /// The next stdout line within `wait`, if any.
    pub fn recv_within(&mut self, wait: Duration) -> Option<Value> {
        match self.lines.recv_timeout(wait) {
            Ok(line) => {
                self.seen.push(line.clone());
                Some(
                    serde_json::from_str(&line)
                        .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line}")),
                )
            }
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => None,
        }
    }

    /// Waits for the reply to `msg_id` sent to `client`, skipping other messages (returned
    /// in the second element).
    pub fn recv_reply(&mut self, client: &str, msg_id: u64) -> (Value, Vec<Value>) {
        let deadline = Instant::now() + WAIT;
        let mut others = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let v = self
                .recv_within(left)
                .unwrap_or_else(|| panic!("no reply to {client}/{msg_id}; saw {others:?}"));
            if v["dest"] == client && v["body"]["in_reply_to"] == msg_id {
                return (v, others);
            }
            others.push(v);
        }
    }

    /// Sends `init` and checks the `init_ok`.
    pub fn init(&mut self, id: &str, ids: &[&str]) {
        self.send(
            "c0",
            id,
            json!({"type": "init", "msg_id": 1, "node_id": id, "node_ids": ids}),
        );
        let (reply, _) = self.recv_reply("c0", 1);
        assert_eq!(reply["src"], id);
        assert_eq!(reply["body"], json!({"type": "init_ok", "in_reply_to": 1}));
    }

    /// Closes stdin, waits for the process to exit, and returns (remaining stdout lines,
    /// stderr). Every stdout line ever seen must be a well-formed envelope.
    pub fn finish(self) -> (Vec<Value>, String) {
        let (rest, stderr, _) = self.finish_with_status();
        (rest, stderr)
    }

    /// [`NodeProc::finish`], also returning how the process exited.
    pub fn finish_with_status(mut self) -> (Vec<Value>, String, ExitStatus) {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("node did not exit after end of input");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut rest = Vec::new();
        while let Some(v) = self.recv_within(Duration::from_millis(200)) {
            rest.push(v);
        }
        for line in &self.seen {
            assert_envelope(line);
        }
        (rest, self.take_stderr(), status)
    }

    /// Kills the process (SIGKILL: no chance to flush or clean up, as in a crash), waits
    /// for it, and returns its stderr.
    pub fn kill(mut self) -> String {
        self.child.kill().expect("kill node");
        self.child.wait().expect("wait for killed node");
        self.take_stderr()
    }

    /// Everything the process wrote to stderr (waits for the stream to close).
    fn take_stderr(&mut self) -> String {
        self.stderr
            .take()
            .map(|h| h.join().unwrap_or_default())
            .unwrap_or_default()
    }
}

impl Drop for NodeProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Checks one stdout line: a JSON object with exactly `src`, `dest` (strings) and an object
/// `body` whose `type` is a string.
pub fn assert_envelope(line: &str) {
    let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
    let obj = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {line}"));
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["body", "dest", "src"], "envelope keys of {line}");
    assert!(v["src"].is_string() && v["dest"].is_string(), "{line}");
    assert!(v["body"]["type"].is_string(), "{line}");
    for k in ["msg_id", "in_reply_to"] {
        if let Some(x) = v["body"].get(k) {
            assert!(x.is_u64(), "{k} must be an unsigned integer: {line}");
        }
    }
}
