//! One run of `glomers test`: set up the network, services and node processes, drive the
//! client workers and the nemesis through the main (and final) phase, tear down, analyse.
//!
//! Life cycle as Maelstrom's (reference 1): nodes registered and spawned, `init` from a
//! fresh client per node (10 s), services registered, client setup (broadcast `topology`,
//! 5 s), main phase (rate-paced ops for the time limit, nemesis alongside), final phase for
//! workloads that have one (wait for outstanding ops, heal, quiet period, final ops),
//! teardown (every process killed on every exit path), analysis.

pub mod net;
pub mod process;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::cli::TestConfig;
use crate::history::{History, Op, OpType, Process};
use crate::sim::net::{Message, NetStats, Network};
use crate::sim::{latency, nemesis as sim_nemesis, services, topology};
use crate::workload::{
    self, ClientFactory, Completion, Generator, Next, OpSpec, Phase, Reply, Step, WorkloadKind,
    WorkloadOpts,
};
use net::Net;
use process::{NodeProblem, NodeProc, Problems};

/// How long a node has to answer `init` by default (Maelstrom's).
pub const INIT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a node has to answer `topology`.
pub const SETUP_TIMEOUT: Duration = Duration::from_secs(5);
/// A client inbox holds at most this many undelivered messages; further ones are dropped.
/// A client has one request outstanding, so only stale replies are ever dropped.
pub const CLIENT_INBOX: usize = 256;
/// The final phase is cut off after this long (kafka's final generator stops at 10 s).
pub const FINAL_PHASE_CAP: Duration = Duration::from_secs(30);

/// Why a run could not be carried out (exit status 255).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The binary could not be started.
    #[error("could not start {bin} for {node}: {source}")]
    Spawn {
        /// The binary.
        bin: PathBuf,
        /// The node.
        node: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// No `init_ok` in time, or a wrong reply.
    #[error("node {node} did not initialise: {why}")]
    Init {
        /// The node.
        node: String,
        /// What happened.
        why: String,
    },
    /// Broadcast's `topology` was not acknowledged.
    #[error("node {node} did not acknowledge topology: {why}")]
    Setup {
        /// The node.
        node: String,
        /// What happened.
        why: String,
    },
    /// File system trouble with the run folder.
    #[error("run folder {path}: {source}")]
    Store {
        /// The path.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A setting the network model refused.
    #[error("configuration: {0}")]
    Config(String),
    /// Interrupted (Ctrl-C).
    #[error("interrupted")]
    Interrupted,
}

/// Everything a finished run produced.
pub struct RunOutput {
    /// The history.
    pub history: History,
    /// Network counts.
    pub net: NetStats,
    /// Node output and crash problems.
    pub problems: Vec<NodeProblem>,
    /// Wall-clock seconds of the run.
    pub wall_secs: f64,
    /// CPU seconds the harness process spent during the run (None if unmeasurable).
    pub cpu_secs: Option<f64>,
}

/// Derives an independent RNG stream for `purpose` from the run's seed.
pub fn stream(seed: u64, purpose: u64) -> StdRng {
    // SplitMix-style mixing so that nearby seeds and purposes give unrelated streams.
    let mut z = seed ^ purpose.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476C_E5B9_E1D5);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    StdRng::seed_from_u64(z ^ (z >> 31))
}

/// State shared by the workers of one run.
struct Ctx {
    net: Arc<Net>,
    history: Mutex<History>,
    gen: Mutex<(Box<dyn Generator>, StdRng)>,
    pacer: Mutex<Pacer>,
    factory: ClientFactory,
    next_client: AtomicU64,
    nodes: Vec<String>,
    concurrency: usize,
}

/// Jepsen's `stagger` over all threads, with the time limit: an op scheduled at t makes
/// the next one due at t + uniform[0, 2/rate); an op due at or after the cutoff is not
/// issued. Invariant: scheduled times never decrease.
struct Pacer {
    next: u64,
    cutoff: u64,
    dt2_ns: Option<u64>,
    rng: StdRng,
}

impl Pacer {
    /// The time the next op may be issued, or `None` when the main phase is over.
    fn reserve(&mut self, now: u64) -> Option<u64> {
        let dt2 = self.dt2_ns?;
        let t = self.next.max(now);
        if t >= self.cutoff {
            return None;
        }
        self.next = t + if dt2 > 0 {
            self.rng.random_range(0..dt2)
        } else {
            0
        };
        Some(t)
    }
}

impl Ctx {
    fn record(&self, op: Op) -> usize {
        self.history
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(op)
    }

    fn new_client_id(&self) -> String {
        format!("c{}", self.next_client.fetch_add(1, Ordering::SeqCst))
    }
}

/// A Maelstrom client connection: its id, inbox and msg_id counter (from 1).
struct Conn {
    id: String,
    inbox: mpsc::Receiver<Message>,
    next_msg_id: u64,
    net: Arc<Net>,
}

impl Conn {
    fn open(net: &Arc<Net>, id: String) -> Conn {
        net.register(&id);
        let (tx, rx) = mpsc::channel(CLIENT_INBOX);
        let (n, me) = (net.clone(), id.clone());
        tokio::spawn(async move {
            while let Some(m) = n.next_delivery(&me).await {
                // Full inbox: drop (see CLIENT_INBOX).
                let _ = tx.try_send(m);
            }
        });
        Conn {
            id,
            inbox: rx,
            next_msg_id: 1,
            net: net.clone(),
        }
    }

    /// One request to `dest`; waits for the reply whose `in_reply_to` matches, discarding
    /// anything else, until `timeout`.
    async fn call(&mut self, dest: &str, mut body: Value, timeout: Duration) -> Reply {
        let msg_id = self.next_msg_id;
        self.next_msg_id += 1;
        if let Value::Object(o) = &mut body {
            o.insert("msg_id".into(), json!(msg_id));
        }
        if self.net.send(&self.id, dest, body).is_err() {
            return Reply::Timeout;
        }
        let deadline = Instant::now() + timeout;
        loop {
            match tokio::time::timeout_at(deadline, self.inbox.recv()).await {
                Ok(Some(m)) => {
                    if m.body.get("in_reply_to").and_then(Value::as_u64) == Some(msg_id) {
                        return Reply::Body(m.body);
                    }
                }
                Ok(None) | Err(_) => return Reply::Timeout,
            }
        }
    }

    fn close(self) {
        self.net.unregister(&self.id);
    }
}

/// Runs the test described by `cfg`, writing node logs into `run_dir/node-logs`.
pub async fn run(cfg: &TestConfig, run_dir: &std::path::Path) -> Result<RunOutput, RunError> {
    let wall = Instant::now();
    let cpu_at_start = crate::report::process_cpu_secs();
    let logs = run_dir.join("node-logs");
    std::fs::create_dir_all(&logs).map_err(|source| RunError::Store {
        path: logs.clone(),
        source,
    })?;
    let start = Instant::now();
    let dist = match cfg.latency.dist {
        crate::cli::DistArg::Constant => latency::LatencyDist::Constant,
        crate::cli::DistArg::Uniform => latency::LatencyDist::Uniform,
        crate::cli::DistArg::Exponential => latency::LatencyDist::Exponential,
    };
    let lat = latency::Latency::new(cfg.latency.mean_ms, dist)
        .map_err(|e| RunError::Config(e.to_string()))?;
    let net = Net::new(Network::new(lat), stream(cfg.seed, 1), start);
    let problems: Problems = Arc::default();
    let mut procs: Vec<NodeProc> = Vec::new();
    let result = run_inner(cfg, &net, &problems, &mut procs, &logs).await;
    // Teardown on every path: stop deliveries, kill every process.
    net.stop();
    for p in procs {
        p.kill().await;
    }
    let history = result?;
    let op_count = history
        .ops
        .iter()
        .filter(|o| o.is_client() && o.kind == OpType::Invoke)
        .count();
    let net_stats = net.stats(op_count);
    let problems = problems.lock().unwrap_or_else(|e| e.into_inner()).clone();
    Ok(RunOutput {
        history,
        net: net_stats,
        problems,
        wall_secs: wall.elapsed().as_secs_f64(),
        cpu_secs: crate::report::process_cpu_secs()
            .zip(cpu_at_start)
            .map(|(end, start)| end - start),
    })
}

async fn run_inner(
    cfg: &TestConfig,
    net: &Arc<Net>,
    problems: &Problems,
    procs: &mut Vec<NodeProc>,
    logs: &std::path::Path,
) -> Result<History, RunError> {
    let nodes = cfg.nodes.clone();
    for n in &nodes {
        net.register(n);
    }
    for n in &nodes {
        let p = process::spawn(
            process::Spawn {
                bin: &cfg.bin,
                args: &cfg.args,
                id: n,
                log: logs.join(format!("{n}.log")),
                log_stderr: cfg.log_stderr,
            },
            net.clone(),
            problems.clone(),
        )
        .map_err(|source| RunError::Spawn {
            bin: cfg.bin.clone(),
            node: n.clone(),
            source,
        })?;
        procs.push(p);
    }
    let next_client = AtomicU64::new(0);
    // Init: one fresh client per node (c0.. in node order), all in parallel.
    let mut inits = Vec::new();
    for n in &nodes {
        let id = format!("c{}", next_client.fetch_add(1, Ordering::SeqCst));
        let mut conn = Conn::open(net, id);
        let body = json!({"type": "init", "node_id": n, "node_ids": nodes});
        let node = n.clone();
        let init_timeout = cfg.init_timeout;
        inits.push(tokio::spawn(async move {
            let reply = conn.call(&node, body, init_timeout).await;
            conn.close();
            (node, reply)
        }));
    }
    for h in inits {
        let Ok((node, reply)) = h.await else {
            return Err(RunError::Init {
                node: "?".into(),
                why: "init task failed".into(),
            });
        };
        match reply {
            Reply::Timeout => {
                return Err(RunError::Init {
                    node,
                    why: format!("no init_ok within {} s", cfg.init_timeout.as_secs_f64()),
                })
            }
            Reply::Body(b) if b.get("type").and_then(Value::as_str) == Some("init_ok") => {}
            Reply::Body(b) => {
                return Err(RunError::Init {
                    node,
                    why: format!("replied {b} instead of init_ok"),
                })
            }
        }
    }
    start_services(net, stream(cfg.seed, 2));

    // Client setup: one client per node, kept open; broadcast sends the topology.
    let mut setup_conns = Vec::new();
    for n in &nodes {
        let id = format!("c{}", next_client.fetch_add(1, Ordering::SeqCst));
        let mut conn = Conn::open(net, id);
        if cfg.workload == WorkloadKind::Broadcast {
            let t: topology::Topology = cfg
                .topology
                .parse()
                .map_err(|_| RunError::Config(format!("unknown topology {}", cfg.topology)))?;
            let topo = topology::build(t, &nodes);
            let reply = conn
                .call(n, workload::broadcast::topology_body(&topo), SETUP_TIMEOUT)
                .await;
            match reply {
                Reply::Body(b) if workload::broadcast::topology_ok(&b) => {}
                Reply::Body(b) => {
                    return Err(RunError::Setup {
                        node: n.clone(),
                        why: format!("replied {b}"),
                    })
                }
                Reply::Timeout => {
                    return Err(RunError::Setup {
                        node: n.clone(),
                        why: "no topology_ok within 5 s".into(),
                    })
                }
            }
        }
        setup_conns.push(conn);
    }

    let wopts = WorkloadOpts::from_config(cfg);
    let (gen, factory) = workload::build(cfg.workload, &wopts).map_err(|e| RunError::Setup {
        node: "-".into(),
        why: e.to_string(),
    })?;
    let has_final = gen.has_final_phase();
    let main_start = net.now();
    let limit_ns = (cfg.time_limit * 1e9) as u64;
    let cutoff = main_start.saturating_add(limit_ns);
    let dt2_ns = (cfg.rate > 0.0).then(|| (2.0e9 / cfg.rate) as u64);
    let ctx = Arc::new(Ctx {
        net: net.clone(),
        history: Mutex::new(History::default()),
        gen: Mutex::new((gen, stream(cfg.seed, 3))),
        pacer: Mutex::new(Pacer {
            next: main_start,
            cutoff,
            dt2_ns,
            rng: stream(cfg.seed, 4),
        }),
        factory,
        next_client,
        nodes: nodes.clone(),
        concurrency: cfg.concurrency,
    });

    let nemesis = cfg.partition.then(|| {
        let ctx = ctx.clone();
        let (interval, rng) = (cfg.nemesis_interval, stream(cfg.seed, 5));
        tokio::spawn(nemesis(ctx, cutoff, interval, rng))
    });

    // Workers: main phase, then (after the coordinator's go) the final phase.
    let (final_tx, final_rx) = tokio::sync::watch::channel(false);
    let mut workers = Vec::new();
    let (main_done_tx, mut main_done_rx) = mpsc::channel::<()>(cfg.concurrency.max(1));
    for t in 0..cfg.concurrency {
        let ctx = ctx.clone();
        let mut go = final_rx.clone();
        let done = main_done_tx.clone();
        workers.push(tokio::spawn(async move {
            let mut w = Worker {
                ctx: ctx.clone(),
                thread: t,
                process: t as u64,
                client: None,
            };
            w.main_phase(cutoff).await;
            let _ = done.send(()).await;
            if has_final {
                while !*go.borrow() {
                    if go.changed().await.is_err() {
                        break;
                    }
                }
                if *go.borrow() {
                    let cap = ctx.net.now() + FINAL_PHASE_CAP.as_nanos() as u64;
                    w.final_phase(cap).await;
                }
            }
            w.close();
        }));
    }
    drop(main_done_tx);
    for _ in 0..cfg.concurrency {
        let _ = main_done_rx.recv().await;
    }
    // A rate of 0 issues nothing; the main phase still lasts the time limit.
    if dt2_ns.is_none() {
        tokio::time::sleep_until(net.instant(cutoff)).await;
    }
    if let Some(n) = nemesis {
        let _ = n.await;
    }
    if has_final {
        if cfg.partition {
            net.heal();
            ctx.record(nemesis_op(
                net.now(),
                "stop-partition",
                sim_nemesis::describe_heal(),
            ));
        }
        eprintln!("Waiting for recovery...");
        tokio::time::sleep(Duration::from_secs_f64(cfg.recovery)).await;
        let _ = final_tx.send(true);
    } else {
        drop(final_tx);
    }
    for w in workers {
        let _ = w.await;
    }
    for c in setup_conns {
        c.close();
    }
    let history = ctx
        .history
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    Ok(history)
}

fn nemesis_op(time: u64, f: &str, value: Value) -> Op {
    Op {
        index: 0,
        time,
        process: Process::Nemesis,
        kind: OpType::Info,
        f: f.into(),
        value,
        is_final: false,
        error: None,
        node: None,
    }
}

/// The partition nemesis: a start-partition at once, then alternating stop/start, gaps
/// uniform in [0, 2·interval), until the cutoff.
async fn nemesis(ctx: Arc<Ctx>, cutoff: u64, interval: f64, mut rng: StdRng) {
    let mut partitioned = false;
    loop {
        let now = ctx.net.now();
        if now >= cutoff {
            return;
        }
        if partitioned {
            ctx.net.heal();
            ctx.record(nemesis_op(
                now,
                "stop-partition",
                sim_nemesis::describe_heal(),
            ));
        } else {
            let (_spec, grudge) = sim_nemesis::random_partition(&ctx.nodes, &mut rng);
            ctx.net.partition(&grudge);
            ctx.record(nemesis_op(
                now,
                "start-partition",
                sim_nemesis::describe(&grudge),
            ));
        }
        partitioned = !partitioned;
        let gap = sim_nemesis::stagger_gap_ns(interval, &mut rng);
        let wake = now.saturating_add(gap).min(cutoff);
        tokio::time::sleep_until(ctx.net.instant(wake)).await;
    }
}

/// One worker thread: its process number and its (lazily opened) client.
struct Worker {
    ctx: Arc<Ctx>,
    thread: usize,
    process: u64,
    client: Option<(Conn, Box<dyn workload::Client>)>,
}

impl Worker {
    async fn main_phase(&mut self, cutoff: u64) {
        loop {
            let now = self.ctx.net.now();
            let due = self
                .ctx
                .pacer
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .reserve(now);
            let Some(due) = due else { return };
            tokio::time::sleep_until(self.ctx.net.instant(due)).await;
            let next = {
                let mut g = self.ctx.gen.lock().unwrap_or_else(|e| e.into_inner());
                let (gen, rng) = &mut *g;
                gen.next(Phase::Main, self.thread, due, rng)
            };
            match next {
                Next::Op(op) => self.perform(op, false).await,
                Next::Wait(d) => {
                    let until = self.ctx.net.instant(self.ctx.net.now()) + d;
                    tokio::time::sleep_until(until.min(self.ctx.net.instant(cutoff))).await;
                }
                Next::Done => return,
            }
        }
    }

    async fn final_phase(&mut self, cap: u64) {
        loop {
            let now = self.ctx.net.now();
            if now >= cap {
                return;
            }
            let next = {
                let mut g = self.ctx.gen.lock().unwrap_or_else(|e| e.into_inner());
                let (gen, rng) = &mut *g;
                gen.next(Phase::Final, self.thread, now, rng)
            };
            match next {
                Next::Op(op) => self.perform(op, true).await,
                Next::Wait(d) => tokio::time::sleep(d).await,
                Next::Done => return,
            }
        }
    }

    async fn perform(&mut self, op: OpSpec, is_final: bool) {
        let node = self.ctx.nodes[self.thread % self.ctx.nodes.len()].clone();
        if self.client.is_none() {
            let conn = Conn::open(&self.ctx.net, self.ctx.new_client_id());
            self.client = Some((conn, (self.ctx.factory)()));
        }
        let Some((conn, client)) = self.client.as_mut() else {
            return;
        };
        let invoke = Op {
            index: 0,
            time: self.ctx.net.now(),
            process: Process::Client(self.process),
            kind: OpType::Invoke,
            f: op.f.clone(),
            value: op.value.clone(),
            is_final,
            error: None,
            node: Some(node.clone()),
        };
        let inv_index = self.ctx.record(invoke.clone());
        let mut step = client.start(&op);
        let completion = loop {
            match step {
                Step::Done(c) => break c,
                Step::Call { body, timeout } => {
                    let reply = conn.call(&node, body, timeout).await;
                    step = client.on_reply(reply);
                }
            }
        };
        let (kind, value, error) = match completion {
            Completion::Ok(v) => (OpType::Ok, v, None),
            Completion::Fail(e) => (OpType::Fail, op.value.clone(), Some(e)),
            Completion::Info(e) => (OpType::Info, op.value.clone(), Some(e)),
        };
        let done = Op {
            index: 0,
            time: self.ctx.net.now(),
            process: Process::Client(self.process),
            kind,
            f: op.f,
            value,
            is_final,
            error,
            node: Some(node),
        };
        let mut inv = invoke;
        inv.index = inv_index;
        let idx = self.ctx.record(done.clone());
        let mut done = done;
        done.index = idx;
        self.ctx
            .gen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .0
            .observe(&inv, &done);
        if kind == OpType::Info {
            self.process += self.ctx.concurrency as u64;
            let reusable = self.client.as_ref().is_some_and(|(_, c)| c.reusable());
            if !reusable {
                if let Some((conn, _)) = self.client.take() {
                    conn.close();
                }
            }
        }
    }

    fn close(&mut self) {
        if let Some((conn, _)) = self.client.take() {
            conn.close();
        }
    }
}

/// Registers the four built-in services and starts one worker each: take the next
/// deliverable message (same delivery rules as nodes), handle it, send the reply.
fn start_services(net: &Arc<Net>, rng: StdRng) {
    let rng = Arc::new(Mutex::new(rng));
    for mut svc in services::all() {
        let name = svc.name();
        net.register(name);
        let (net, rng) = (net.clone(), rng.clone());
        tokio::spawn(async move {
            while let Some(m) = net.next_delivery(name).await {
                let reply = {
                    let mut r = rng.lock().unwrap_or_else(|e| e.into_inner());
                    svc.handle(&m.src, &m.body, &mut r)
                };
                if let Some(reply) = reply {
                    let _ = net.send(name, &m.src, reply);
                }
            }
        });
    }
}
