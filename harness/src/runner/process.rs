//! The process driver: the [`World`] on the wall clock, with one OS process per node.
//!
//! Each line of a node log (`node-logs/<node>.log`, the node's stderr, every life of it
//! appended) starts with the run time it was read at ([`super::log_stamp`]).
//!
//! One task owns the world. Each node process has a stdout reader task (lines to the
//! world, in order, through one bounded channel: a world that falls behind makes the
//! nodes block on their own stdout), a stdin writer task (deliveries from the world, in
//! order), a stderr logger (`node-logs/<node>.log`, the last lines kept for a crash
//! report) and a keeper task, which owns the child: it reports an exit to the world and
//! carries out signals (SIGKILL, SIGSTOP, SIGCONT). Only the keeper reaps the child, so a
//! signal can never reach a recycled process id. The world's task runs every timer when it
//! is due, hands every line to the world as it arrives, and carries out what the world
//! asks: deliveries, and the nemesis's kill (SIGKILL, then wait), start (a new process of
//! the same binary and flags), pause (SIGSTOP) and resume (SIGCONT). A clock fault cannot
//! be carried out here (the command line refuses it).
//!
//! Every node runs in its data directory `<run folder>/data/<node>/`, whose absolute path
//! is also in the environment variable [`DATA_DIR_ENV`]. With `--durable` the directory
//! survives the node's restarts; without, it is emptied before each restart, so a killed
//! node loses whatever it kept there, as it loses its memory.
//!
//! Each life of a node has a generation number; lines and exits of an earlier life that
//! arrive after a restart are ignored (lines a killed process wrote before it died, and that
//! arrive before its restart, are passed on: they were sent before the crash).
//!
//! Bounds: the lines channel holds [`LINES_CAPACITY`] lines; each node's stdin queue
//! [`STDIN_CAPACITY`] lines. A node that leaves that many deliveries unread is not reading
//! its input at all; further deliveries to it are dropped and counted, and the run
//! reports it. Every process is killed on every exit path (and, if the run is dropped, by
//! its keeper and by `kill_on_drop`; if the harness itself is killed, by the kernel, see
//! [`die_with_parent`]), paused ones included.
//!
//! Each keeper also measures its process's memory ([`crate::node_memory`]): a sample every
//! [`crate::node_memory::SAMPLE_PERIOD`] and a last reading right before it kills the
//! process; it hands the life's figures back when it ends, and the run keeps each node's
//! over all its lives.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use glomers_node::Time;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::{RunError, RunOutput};
use crate::cli::TestConfig;
use crate::node_memory::{self, NodeMemory};
use crate::world::{Action, World};

/// How many stderr lines are kept for a crash report.
pub const STDERR_TAIL: usize = 32;

/// Lines from every node waiting for the world.
pub const LINES_CAPACITY: usize = 4096;

/// Deliveries waiting to be written to one node's stdin.
pub const STDIN_CAPACITY: usize = 65_536;

/// The environment variable naming a node's data directory.
pub const DATA_DIR_ENV: &str = "GLOMERS_DATA_DIR";

/// The environment variable by which glomers' own binaries skip fsyncs (`0`). Set for
/// every node unless the harness's own environment sets it: the faults here crash
/// processes, never the machine, and what a process wrote before its SIGKILL survives
/// without an fsync; so a run measures the nodes, not the disk's flush latency.
pub const FSYNC_ENV: &str = "GLOMERS_FSYNC";

/// What the node tasks tell the world's task.
enum Event {
    /// Node `0`, in its life `1`, wrote line `2`.
    Line(usize, u64, String),
    /// Node `0`, in its life `1`, exited with status `2`; `3` is the end of its stderr.
    Exited(usize, u64, String, Vec<String>),
}

/// What the world's task asks of a node's keeper.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Signal {
    /// SIGKILL, then wait for the exit.
    Kill,
    /// SIGSTOP.
    Stop,
    /// SIGCONT.
    Cont,
}

/// Signals waiting for a keeper (a handful at most: one per nemesis operation).
const SIGNALS_CAPACITY: usize = 16;

/// A running node process.
struct NodeProc {
    stdin: mpsc::Sender<String>,
    signals: mpsc::Sender<Signal>,
    keeper: tokio::task::JoinHandle<NodeMemory>,
    stderr_done: tokio::task::JoinHandle<()>,
}

impl NodeProc {
    /// Kills the process (SIGKILL), waits for it and for its stderr log to be flushed;
    /// returns the memory figures of this life.
    async fn kill(mut self) -> NodeMemory {
        // A full or closed channel: the keeper is gone or busy; dropping the sender below
        // makes it kill the child as well.
        let _ = self.signals.try_send(Signal::Kill);
        drop(self.signals);
        let memory = (&mut self.keeper).await.unwrap_or_default();
        let _ =
            tokio::time::timeout(std::time::Duration::from_secs(2), &mut self.stderr_done).await;
        memory
    }
}

/// The node processes of a run and what it takes to start them again.
struct Procs<'a> {
    cfg: &'a TestConfig,
    logs: PathBuf,
    data: PathBuf,
    start: Instant,
    events: mpsc::Sender<Event>,
    /// Node `i`'s process; `None` while it is dead.
    procs: Vec<Option<NodeProc>>,
    /// Node `i`'s current life.
    lives: Vec<u64>,
    /// Deliveries dropped because a node's stdin queue was full.
    dropped: Vec<u64>,
    /// Node `i`'s memory over its finished lives.
    memory: Vec<NodeMemory>,
}

/// Runs the test described by `cfg` with node processes, writing node logs into
/// `run_dir/node-logs` and node data into `run_dir/data`.
pub async fn run(cfg: &TestConfig, run_dir: &Path) -> Result<RunOutput, RunError> {
    let watch = super::Stopwatch::start();
    let store = |path: PathBuf| move |source| RunError::Store { path, source };
    let logs = run_dir.join("node-logs");
    std::fs::create_dir_all(&logs).map_err(store(logs.clone()))?;
    let data = std::path::absolute(run_dir.join("data")).map_err(store(run_dir.into()))?;
    let mut world = World::new(cfg, super::message_log(run_dir)?)?;
    let (events, mut incoming) = mpsc::channel(LINES_CAPACITY);
    let mut procs = Procs {
        cfg,
        logs,
        data,
        start: Instant::now(),
        events,
        procs: Vec::new(),
        lives: vec![0; cfg.nodes.len()],
        dropped: vec![0; cfg.nodes.len()],
        memory: vec![NodeMemory::default(); cfg.nodes.len()],
    };
    for i in 0..cfg.nodes.len() {
        match procs.spawn(i, false) {
            Ok(p) => procs.procs.push(Some(p)),
            Err(e) => {
                procs.teardown().await;
                return Err(e);
            }
        }
    }
    let start = procs.start;
    let now = || Time::from_duration(start.elapsed());
    world.start(now());
    let mut actions = Vec::new();
    let mut nodes_alive = true;
    loop {
        world.handle_timeout(now(), &mut actions);
        for action in actions.drain(..) {
            if let Err(e) = procs.act(action).await {
                world.abort(e);
            }
        }
        if world.is_done() {
            break;
        }
        let deadline = world.poll_timeout().map(|t| start + t.since_epoch());
        tokio::select! {
            event = incoming.recv(), if nodes_alive => match event {
                Some(Event::Line(node, life, line)) if procs.current(node, life) => {
                    world.from_node(now(), node, &line)
                }
                Some(Event::Exited(node, life, status, tail)) if procs.current(node, life) => {
                    world.node_exited(node, status, tail)
                }
                Some(_) => {}
                // Every node task is gone: the world runs on (its calls time out) to its end.
                None => nodes_alive = false,
            },
            _ = sleep_until(deadline) => {}
        }
    }
    let unread: Vec<(String, u64)> = cfg
        .nodes
        .iter()
        .zip(&procs.dropped)
        .filter(|(_, d)| **d > 0)
        .map(|(n, d)| (n.clone(), *d))
        .collect();
    procs.teardown().await;
    let outcome = world.finish()?;
    for (node, dropped) in unread {
        eprintln!("glomers: node {node} left its input unread: {dropped} deliveries dropped");
    }
    let mut out = watch.finish(outcome);
    out.node_memory = Some(procs.memory);
    Ok(out)
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

impl Procs<'_> {
    /// Whether `life` is node `node`'s current life.
    fn current(&self, node: usize, life: u64) -> bool {
        self.lives.get(node) == Some(&life)
    }

    /// Carries out one action of the world.
    async fn act(&mut self, action: Action) -> Result<(), RunError> {
        match action {
            Action::Deliver { node, line } => {
                if let Some(p) = self.procs.get_mut(node).and_then(Option::as_mut) {
                    if p.stdin.try_send(line).is_err() {
                        self.dropped[node] += 1;
                    }
                }
            }
            Action::Kill { node } => self.kill(node).await,
            Action::Start { node } => {
                self.kill(node).await;
                self.lives[node] += 1;
                let p = self.spawn(node, true)?;
                self.procs[node] = Some(p);
            }
            Action::Pause { node } => self.signal(node, Signal::Stop),
            Action::Resume { node } => self.signal(node, Signal::Cont),
            Action::Clock { .. } => {
                tracing::warn!("a node process's clock cannot be skewed; clock fault ignored")
            }
        }
        Ok(())
    }

    fn signal(&self, node: usize, signal: Signal) {
        if let Some(p) = self.procs.get(node).and_then(Option::as_ref) {
            if p.signals.try_send(signal).is_err() {
                tracing::warn!(node, ?signal, "the node's keeper is gone; signal not sent");
            }
        }
    }

    /// Kills node `node`'s process, if it has one, and keeps its memory figures.
    async fn kill(&mut self, node: usize) {
        if let Some(p) = self.procs.get_mut(node).and_then(Option::take) {
            let life = p.kill().await;
            self.memory[node].add_life(life);
        }
    }

    async fn teardown(&mut self) {
        for node in 0..self.procs.len() {
            self.kill(node).await;
        }
    }

    /// Starts node `i` (`again`: a restart, which empties its data directory unless the
    /// run is durable, and appends to its log).
    fn spawn(&self, i: usize, again: bool) -> Result<NodeProc, RunError> {
        let node = &self.cfg.nodes[i];
        let dir = self.data.join(node);
        let store = |source| RunError::Store {
            path: dir.clone(),
            source,
        };
        if again && !self.cfg.durable {
            match std::fs::remove_dir_all(&dir) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(store(e)),
                _ => {}
            }
        }
        std::fs::create_dir_all(&dir).map_err(store)?;
        let log = self.logs.join(format!("{node}.log"));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(again)
            .write(true)
            .truncate(!again)
            .open(&log)
            .map_err(|source| RunError::Store { path: log, source })?;
        let life = Life {
            i,
            life: self.lives[i],
            start: self.start,
            events: self.events.clone(),
        };
        spawn(self.cfg, node, &dir, log, life).map_err(|source| RunError::Spawn {
            bin: self.cfg.bin.clone(),
            node: node.clone(),
            source,
        })
    }
}

/// Which life of which node a process is, and where its tasks report.
struct Life {
    i: usize,
    life: u64,
    start: Instant,
    events: mpsc::Sender<Event>,
}

/// Spawns one life of `node`, in its data directory `dir`, logging stderr into `log`.
fn spawn(
    cfg: &TestConfig,
    node: &str,
    dir: &Path,
    log_file: std::fs::File,
    life: Life,
) -> std::io::Result<NodeProc> {
    let mut command = Command::new(&cfg.bin);
    command
        .args(&cfg.args)
        .current_dir(dir)
        .env(DATA_DIR_ENV, dir)
        .env(
            FSYNC_ENV,
            std::env::var_os(FSYNC_ENV).unwrap_or_else(|| "0".into()),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    die_with_parent(&mut command);
    let mut child: Child = command.spawn()?;
    let tail: Arc<Mutex<VecDeque<String>>> = Arc::default();
    let stderr_done = match child.stderr.take() {
        Some(stderr) => {
            let log = StderrLog {
                file: log_file,
                tail: tail.clone(),
                node: node.to_owned(),
                echo: cfg.log_stderr,
                start: life.start,
            };
            tokio::spawn(log_stderr(stderr, log))
        }
        None => tokio::spawn(async {}),
    };
    if let Some(stdout) = child.stdout.take() {
        let tag = (life.i, life.life);
        tokio::spawn(read_stdout(stdout, tag, life.events.clone()));
    }
    let (stdin, deliveries) = mpsc::channel(STDIN_CAPACITY);
    if let Some(pipe) = child.stdin.take() {
        tokio::spawn(write_stdin(pipe, deliveries));
    }
    let (signals, commands) = mpsc::channel(SIGNALS_CAPACITY);
    let keeper = tokio::spawn(keep(child, commands, life, tail));
    Ok(NodeProc {
        stdin,
        signals,
        keeper,
        stderr_done,
    })
}

/// Makes the node die (SIGKILL) when the harness does, however it ends: even a SIGKILL
/// of the harness, which runs no teardown, leaves no node behind (a paused node would
/// otherwise stay stopped for ever). The kernel sends the signal when the thread that
/// started the node ends; nodes are started from the run's task, on the main thread or a
/// runtime worker, which live as long as the harness. Linux only; elsewhere teardown and
/// `kill_on_drop` are all there is.
fn die_with_parent(command: &mut Command) {
    #[cfg(target_os = "linux")]
    // SAFETY: the closure runs in the child between fork and exec and only calls prctl(2),
    // which is async-signal-safe, touching no memory shared with the parent.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    #[cfg(not(target_os = "linux"))]
    let _ = command;
}

/// Owns the child: reports its exit to the world, or carries out signals until it is
/// killed (also when the run drops the signal channel). Samples the child's memory
/// meanwhile and reads it once more right before killing it; returns the life's figures.
async fn keep(
    mut child: Child,
    mut signals: mpsc::Receiver<Signal>,
    life: Life,
    tail: Arc<Mutex<VecDeque<String>>>,
) -> NodeMemory {
    let mut memory = NodeMemory::default();
    // Only this task reaps the child: while `id()` gives a pid, it is the child's.
    let measure = |child: &Child, memory: &mut NodeMemory| {
        if let Some(pid) = child.id() {
            memory.observe(node_memory::read(pid));
        }
    };
    let mut samples = tokio::time::interval(node_memory::SAMPLE_PERIOD);
    samples.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            status = child.wait() => {
                let status = match status {
                    Ok(s) => s.to_string(),
                    Err(e) => e.to_string(),
                };
                // Give the stderr reader a moment to drain the last lines.
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                let tail = tail.lock().unwrap_or_else(|e| e.into_inner()).iter().cloned().collect();
                let exited = Event::Exited(life.i, life.life, status, tail);
                let _ = life.events.send(exited).await;
                return memory;
            }
            signal = signals.recv() => match signal {
                Some(Signal::Stop) => send_signal(&child, libc::SIGSTOP),
                Some(Signal::Cont) => send_signal(&child, libc::SIGCONT),
                Some(Signal::Kill) | None => {
                    measure(&child, &mut memory);
                    let _ = child.kill().await;
                    return memory;
                }
            },
            _ = samples.tick() => measure(&child, &mut memory),
        }
    }
}

/// Sends `signal` to the child unless it has been reaped (only its keeper reaps it, so the
/// id cannot have been reused).
fn send_signal(child: &Child, signal: libc::c_int) {
    let Some(pid) = child.id().and_then(|p| libc::pid_t::try_from(p).ok()) else {
        return;
    };
    // SAFETY: kill(2) only takes integers; the pid is our unreaped child's.
    let rc = unsafe { libc::kill(pid, signal) };
    if rc != 0 {
        tracing::warn!(
            pid,
            signal,
            "kill(2) failed: {}",
            std::io::Error::last_os_error()
        );
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
async fn read_stdout(
    stdout: tokio::process::ChildStdout,
    (i, life): (usize, u64),
    events: mpsc::Sender<Event>,
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
        let line = line.trim_end_matches(['\n', '\r']).to_owned();
        if events.send(Event::Line(i, life, line)).await.is_err() {
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
