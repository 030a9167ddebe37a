//! The process driver: the [`World`] on the wall clock, with one OS process per node.
//!
//! Each line of a node log (`node-logs/<node>.log`, the node's stderr) starts with the run
//! time it was read at ([`super::log_stamp`]).
//!
//! One task owns the world. Each node process has a stdout reader task (lines to the
//! world, in order, through one bounded channel: a world that falls behind makes the
//! nodes block on their own stdout), a stdin writer task (deliveries from the world, in
//! order), a stderr logger (`node-logs/<node>.log`, the last lines kept for a crash
//! report) and an exit watcher. The world's task runs every timer when it is due, hands
//! every line to the world as it arrives, and writes the deliveries the world asks for.
//!
//! Bounds: the lines channel holds [`LINES_CAPACITY`] lines; each node's stdin queue
//! [`STDIN_CAPACITY`] lines. A node that leaves that many deliveries unread is not reading
//! its input at all; further deliveries to it are dropped and counted, and the run
//! reports it. Every process is killed on every exit path (and, if the run is dropped, by
//! `kill_on_drop`).

use std::collections::VecDeque;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use glomers_node::Time;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::{RunError, RunOutput};
use crate::cli::TestConfig;
use crate::world::{Action, World};

/// How many stderr lines are kept for a crash report.
pub const STDERR_TAIL: usize = 32;

/// Lines from every node waiting for the world.
pub const LINES_CAPACITY: usize = 4096;

/// Deliveries waiting to be written to one node's stdin.
pub const STDIN_CAPACITY: usize = 65_536;

/// What the node tasks tell the world's task.
enum Event {
    /// Node `0` wrote line `1`.
    Line(usize, String),
    /// Node `0` exited with status `1`; `2` is the end of its stderr.
    Exited(usize, String, Vec<String>),
}

/// A running node process.
struct NodeProc {
    stdin: mpsc::Sender<String>,
    kill: Option<oneshot::Sender<()>>,
    exited: tokio::task::JoinHandle<()>,
    stderr_done: tokio::task::JoinHandle<()>,
    dropped: u64,
}

impl NodeProc {
    /// Kills the process (SIGKILL), waits for it and for its stderr log to be flushed.
    async fn kill(mut self) {
        if let Some(k) = self.kill.take() {
            let _ = k.send(());
        }
        let _ = (&mut self.exited).await;
        let _ =
            tokio::time::timeout(std::time::Duration::from_secs(2), &mut self.stderr_done).await;
    }
}

/// Runs the test described by `cfg` with node processes, writing node logs into
/// `run_dir/node-logs`.
pub async fn run(cfg: &TestConfig, run_dir: &Path) -> Result<RunOutput, RunError> {
    let wall = Instant::now();
    let cpu_at_start = crate::report::process_cpu_secs();
    let logs = run_dir.join("node-logs");
    std::fs::create_dir_all(&logs).map_err(|source| RunError::Store {
        path: logs.clone(),
        source,
    })?;
    let mut world = World::new(cfg, super::message_log(run_dir)?)?;
    let (events, mut incoming) = mpsc::channel(LINES_CAPACITY);
    let start = Instant::now();
    let mut procs = Vec::new();
    for (i, node) in cfg.nodes.iter().enumerate() {
        match spawn(cfg, i, node, &logs, start, events.clone()) {
            Ok(p) => procs.push(p),
            Err(source) => {
                teardown(procs).await;
                return Err(RunError::Spawn {
                    bin: cfg.bin.clone(),
                    node: node.clone(),
                    source,
                });
            }
        }
    }
    drop(events);
    let now = || Time::from_duration(start.elapsed());
    world.start(now());
    let mut actions = Vec::new();
    let mut nodes_alive = true;
    loop {
        world.handle_timeout(now(), &mut actions);
        for Action::Deliver { node, line } in actions.drain(..) {
            let p = &mut procs[node];
            if p.stdin.try_send(line).is_err() {
                p.dropped += 1;
            }
        }
        if world.is_done() {
            break;
        }
        let deadline = world.poll_timeout().map(|t| start + t.since_epoch());
        tokio::select! {
            event = incoming.recv(), if nodes_alive => match event {
                Some(Event::Line(node, line)) => world.from_node(now(), node, &line),
                Some(Event::Exited(node, status, tail)) => world.node_exited(node, status, tail),
                // Every node is gone: the world runs on (its calls time out) to its end.
                None => nodes_alive = false,
            },
            _ = sleep_until(deadline) => {}
        }
    }
    let unread: Vec<(String, u64)> = procs
        .iter()
        .zip(&cfg.nodes)
        .filter(|(p, _)| p.dropped > 0)
        .map(|(p, n)| (n.clone(), p.dropped))
        .collect();
    teardown(procs).await;
    let outcome = world.finish()?;
    for (node, dropped) in unread {
        eprintln!("glomers: node {node} left its input unread: {dropped} deliveries dropped");
    }
    Ok(RunOutput {
        history: outcome.history,
        net: outcome.net,
        problems: outcome.problems,
        wall_secs: wall.elapsed().as_secs_f64(),
        cpu_secs: crate::report::process_cpu_secs()
            .zip(cpu_at_start)
            .map(|(end, start)| end - start),
    })
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

async fn teardown(procs: Vec<NodeProc>) {
    for p in procs {
        p.kill().await;
    }
}

/// Spawns node `i` and its tasks.
fn spawn(
    cfg: &TestConfig,
    i: usize,
    node: &str,
    logs: &Path,
    start: Instant,
    events: mpsc::Sender<Event>,
) -> std::io::Result<NodeProc> {
    let mut child: Child = Command::new(&cfg.bin)
        .args(&cfg.args)
        .current_dir(std::env::temp_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let tail: Arc<Mutex<VecDeque<String>>> = Arc::default();
    let log_file = std::fs::File::create(logs.join(format!("{node}.log")))?;
    let stderr_done = match child.stderr.take() {
        Some(stderr) => {
            let log = StderrLog {
                file: log_file,
                tail: tail.clone(),
                node: node.to_owned(),
                echo: cfg.log_stderr,
                start,
            };
            tokio::spawn(log_stderr(stderr, log))
        }
        None => tokio::spawn(async {}),
    };
    if let Some(stdout) = child.stdout.take() {
        tokio::spawn(read_stdout(stdout, i, events.clone()));
    }
    let (stdin, deliveries) = mpsc::channel(STDIN_CAPACITY);
    if let Some(pipe) = child.stdin.take() {
        tokio::spawn(write_stdin(pipe, deliveries));
    }
    let (kill_tx, kill_rx) = oneshot::channel::<()>();
    let exited = tokio::spawn(watch(child, kill_rx, i, tail, events));
    Ok(NodeProc {
        stdin,
        kill: Some(kill_tx),
        exited,
        stderr_done,
        dropped: 0,
    })
}

/// Waits for the process to exit (reported to the world) or to be killed.
async fn watch(
    mut child: Child,
    kill: oneshot::Receiver<()>,
    i: usize,
    tail: Arc<Mutex<VecDeque<String>>>,
    events: mpsc::Sender<Event>,
) {
    tokio::select! {
        status = child.wait() => {
            let status = match status {
                Ok(s) => s.to_string(),
                Err(e) => e.to_string(),
            };
            // Give the stderr reader a moment to drain the last lines.
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            let tail = tail.lock().unwrap_or_else(|e| e.into_inner()).iter().cloned().collect();
            let _ = events.send(Event::Exited(i, status, tail)).await;
        }
        _ = kill => {
            let _ = child.kill().await;
        }
    }
}

/// Where a node's stderr goes.
struct StderrLog {
    file: std::fs::File,
    tail: Arc<Mutex<VecDeque<String>>>,
    node: String,
    echo: bool,
    start: Instant,
}

async fn log_stderr(stderr: tokio::process::ChildStderr, log: StderrLog) {
    let StderrLog {
        file,
        tail,
        node,
        echo,
        start,
    } = log;
    // A buffered std file: writes go to the page cache and never block for long.
    let mut out = std::io::BufWriter::new(file);
    let mut lines = BufReader::new(stderr);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match lines.read_until(b'\n', &mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let stamp = super::log_stamp(Time::from_duration(start.elapsed()));
        if std::io::Write::write_all(&mut out, stamp.as_bytes()).is_err()
            || std::io::Write::write_all(&mut out, &buf).is_err()
        {
            break;
        }
        let line = String::from_utf8_lossy(&buf).trim_end().to_owned();
        if echo {
            eprintln!("{node} | {line}");
        }
        let mut t = tail.lock().unwrap_or_else(|e| e.into_inner());
        if t.len() == STDERR_TAIL {
            t.pop_front();
        }
        t.push_back(line);
    }
    let _ = std::io::Write::flush(&mut out);
}

/// Hands every stdout line to the world. Stops at end of output; the pipe stays open
/// meanwhile, as Maelstrom keeps it (a node is not killed by a broken pipe).
async fn read_stdout(stdout: tokio::process::ChildStdout, i: usize, events: mpsc::Sender<Event>) {
    let mut r = BufReader::with_capacity(64 * 1024, stdout);
    let mut buf = Vec::with_capacity(1024);
    loop {
        buf.clear();
        match r.read_until(b'\n', &mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let line = String::from_utf8_lossy(&buf);
        let line = line.trim_end_matches(['\n', '\r']).to_owned();
        if events.send(Event::Line(i, line)).await.is_err() {
            return;
        }
    }
}

async fn write_stdin(stdin: tokio::process::ChildStdin, mut deliveries: mpsc::Receiver<String>) {
    let mut w = BufWriter::with_capacity(64 * 1024, stdin);
    while let Some(mut line) = deliveries.recv().await {
        line.push('\n');
        if w.write_all(line.as_bytes()).await.is_err() {
            break;
        }
        // Write what is queued in one go, then flush once.
        while let Ok(mut more) = deliveries.try_recv() {
            more.push('\n');
            if w.write_all(more.as_bytes()).await.is_err() {
                return;
            }
        }
        if w.flush().await.is_err() {
            break;
        }
    }
}
