//! Node processes: spawn, stdin through the delivery task, stdout parsed into the network,
//! stderr to `node-logs/<node>.log`, exit watching and killing.
//!
//! Each line of a node log starts with the harness's run time when the line was read: `[`,
//! seconds since the start of the run (at least four digits wide, space-padded), `.`, six
//! digits of microseconds, `] `, then the line as the node wrote it, e.g.
//! `[   2.041337] gossip to n3`. The clock is the one of `history.jsonl` and
//! `messages.jsonl`, so log lines can be placed on the run's timeline.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::oneshot;

use super::net::Net;

/// How many stderr lines are kept for a crash report.
pub const STDERR_TAIL: usize = 32;

/// A problem with a node's output or life, reported in the summary and results.json.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NodeProblem {
    /// The node printed a line that is not a valid envelope; its stdout is no longer read.
    BadLine {
        /// The node.
        node: String,
        /// The line (at most 1000 characters).
        line: String,
        /// Why it was refused.
        error: String,
    },
    /// The node sent to (or from) an id that is not registered; its stdout is no longer read.
    UnknownNode {
        /// The node.
        node: String,
        /// The line.
        line: String,
        /// Why it was refused.
        error: String,
    },
    /// The process exited before teardown.
    Crashed {
        /// The node.
        node: String,
        /// Its exit status.
        status: String,
        /// The last lines of its stderr.
        stderr_tail: Vec<String>,
    },
}

/// Shared problem list. Bounded by construction: at most two entries per node (one
/// stdout problem, since reading stops, and one exit).
pub type Problems = Arc<Mutex<Vec<NodeProblem>>>;

fn push(problems: &Problems, p: NodeProblem) {
    problems.lock().unwrap_or_else(|e| e.into_inner()).push(p);
}

/// A running node process.
pub struct NodeProc {
    /// Its id.
    pub id: String,
    /// Its OS process id.
    pub pid: Option<u32>,
    kill: Option<oneshot::Sender<()>>,
    exited: tokio::task::JoinHandle<()>,
    stderr_done: tokio::task::JoinHandle<()>,
}

/// What the node needs to be spawned.
pub struct Spawn<'a> {
    /// Absolute path of the binary.
    pub bin: &'a Path,
    /// Its arguments.
    pub args: &'a [String],
    /// Node id.
    pub id: &'a str,
    /// Log file path.
    pub log: PathBuf,
    /// Echo stderr lines to ours.
    pub log_stderr: bool,
}

/// Spawns the node, its stdout reader, stderr logger and delivery task. Returns the
/// handle; the process is killed by [`NodeProc::kill`] or when the handle's tasks drop.
pub fn spawn(s: Spawn<'_>, net: Arc<Net>, problems: Problems) -> std::io::Result<NodeProc> {
    let mut child: Child = Command::new(s.bin)
        .args(s.args)
        .current_dir(std::env::temp_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let pid = child.id();
    let id = s.id.to_owned();
    let stdin = child.stdin.take();
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let tail: Arc<Mutex<VecDeque<String>>> = Arc::default();

    let log_file = std::fs::File::create(&s.log)?;
    let stderr_done = {
        let (tail, id, echo, clock) = (tail.clone(), id.clone(), s.log_stderr, net.clone());
        tokio::spawn(async move {
            let Some(stderr) = stderr else { return };
            // A buffered std file: writes go to the page cache and never block for long; tokio's
            // fs feature is not enabled in the workspace.
            let mut out = std::io::BufWriter::new(log_file);
            let mut lines = BufReader::new(stderr);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match lines.read_until(b'\n', &mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
                let stamped = std::io::Write::write_all(&mut out, stamp(clock.now()).as_bytes());
                if stamped.is_err() || std::io::Write::write_all(&mut out, &buf).is_err() {
                    break;
                }
                let line = String::from_utf8_lossy(&buf).trim_end().to_owned();
                if echo {
                    eprintln!("{id} | {line}");
                }
                let mut t = tail.lock().unwrap_or_else(|e| e.into_inner());
                if t.len() == STDERR_TAIL {
                    t.pop_front();
                }
                t.push_back(line);
            }
            let _ = std::io::Write::flush(&mut out);
        })
    };

    if let Some(stdout) = stdout {
        let (net, id, problems) = (net.clone(), id.clone(), problems.clone());
        tokio::spawn(read_stdout(stdout, net, id, problems));
    }
    if let Some(stdin) = stdin {
        tokio::spawn(deliver_to_stdin(stdin, net.clone(), id.clone()));
    }

    let (kill_tx, kill_rx) = oneshot::channel::<()>();
    let exited = {
        let (net, id, problems) = (net, id.clone(), problems);
        tokio::spawn(async move {
            tokio::select! {
                status = child.wait() => {
                    if !net.is_stopped() {
                        let status = match status {
                            Ok(s) => s.to_string(),
                            Err(e) => e.to_string(),
                        };
                        // Give the stderr reader a moment to drain the last lines.
                        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                        let stderr_tail = tail.lock().unwrap_or_else(|e| e.into_inner()).iter().cloned().collect();
                        push(&problems, NodeProblem::Crashed { node: id, status, stderr_tail });
                    }
                }
                _ = kill_rx => {
                    let _ = child.kill().await;
                }
            }
        })
    };
    Ok(NodeProc {
        id,
        pid,
        kill: Some(kill_tx),
        exited,
        stderr_done,
    })
}

/// The prefix of a node log line read at `ns` nanoseconds into the run (module doc).
pub fn stamp(ns: u64) -> String {
    format!(
        "[{:>4}.{:06}] ",
        ns / 1_000_000_000,
        ns % 1_000_000_000 / 1_000
    )
}

impl NodeProc {
    /// Kills the process (SIGKILL), waits for it and for its stderr log to be flushed.
    pub async fn kill(mut self) {
        if let Some(k) = self.kill.take() {
            let _ = k.send(());
        }
        let _ = (&mut self.exited).await;
        let _ =
            tokio::time::timeout(std::time::Duration::from_secs(2), &mut self.stderr_done).await;
    }
}

async fn read_stdout(
    stdout: tokio::process::ChildStdout,
    net: Arc<Net>,
    id: String,
    problems: Problems,
) {
    let mut r = BufReader::with_capacity(64 * 1024, stdout);
    let mut buf = Vec::with_capacity(1024);
    loop {
        buf.clear();
        match r.read_until(b'\n', &mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let line = String::from_utf8_lossy(&buf);
        let line = line.trim_end_matches(['\n', '\r']);
        let shown: String = line.chars().take(1000).collect();
        match crate::sim::wire::parse_node_line(line) {
            Err(e) => {
                let error = e.to_string();
                push(
                    &problems,
                    NodeProblem::BadLine {
                        node: id,
                        line: shown,
                        error,
                    },
                );
                break;
            }
            Ok(env) => {
                if let Err(e) = net.send(&env.src, &env.dest, env.body) {
                    push(
                        &problems,
                        NodeProblem::UnknownNode {
                            node: id,
                            line: shown,
                            error: e.to_string(),
                        },
                    );
                    break;
                }
            }
        }
    }
    // Stop reading but keep the pipe open, as Maelstrom does: the node is not killed by a
    // broken pipe; a node that keeps writing eventually blocks on the full pipe.
    net.until_stopped().await;
    drop(r);
}

async fn deliver_to_stdin(stdin: ChildStdin, net: Arc<Net>, id: String) {
    let mut w = BufWriter::with_capacity(64 * 1024, stdin);
    let mut line = String::with_capacity(1024);
    let mut broken = false;
    while let Some(msg) = net.next_delivery(&id).await {
        if broken {
            continue;
        }
        line.clear();
        line.push_str(&crate::sim::wire::encode_delivery(&msg));
        line.push('\n');
        if w.write_all(line.as_bytes()).await.is_err() || w.flush().await.is_err() {
            // The node is gone; keep draining its queue so senders never stall.
            broken = true;
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn log_stamp_is_seconds_and_microseconds() {
        assert_eq!(super::stamp(2_041_337_999), "[   2.041337] ");
        assert_eq!(super::stamp(12_345_000_000_000), "[12345.000000] ");
    }
}
