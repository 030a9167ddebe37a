//! [`World`]: one test run as a sans-IO state machine: the network, the services, the
//! setup calls, the client workers, the nemesis and the history, on one set of timers.
//!
//! The world never reads a clock and never does I/O: a driver passes `now`, hands it every
//! line a node writes ([`World::from_node`]), runs its timers when they come due
//! ([`World::handle_timeout`], [`World::poll_timeout`]), and carries out the [`Action`]s it
//! asks for (a line to deliver to a node; a node to kill, start, pause or resume, or whose
//! clock to skew). Two drivers share it: `crate::runner::process`
//! runs node processes on the wall clock, `crate::runner::sim` hosts glomers' own nodes
//! in-process on virtual time. So a run has one model of Maelstrom whichever way its
//! nodes run, and on virtual time the same seed gives the same run, byte for byte.
//!
//! Life cycle (reference 1): `init` to every node; the services; one client per node, which
//! sends broadcast's `topology`; the main phase (paced operations for the time limit, the
//! nemesis alongside, [`nemesis`]); for workloads with one, every fault recovered, a quiet
//! period, and the final phase; done. Every random choice comes from the seed, one stream
//! per purpose.

pub mod conns;
pub mod life;
pub mod nemesis;
pub mod setup;
pub mod timers;
pub mod wires;
pub mod workers;

use std::collections::HashMap;
use std::time::Duration;

use glomers_node::Time;
use rand::rngs::StdRng;
use serde::Serialize;
use serde_json::Value;

use crate::cli::TestConfig;
use crate::history::{History, Op, OpType, Process};
use crate::journal::MessageLog;
use crate::runner::{stream, RunError};
use crate::sim::faults::Skew;
use crate::sim::net::{Message, NetStats, Network};
use crate::sim::{latency, services, topology};
use crate::workload::{self, Reply, WorkloadKind, WorkloadOpts};
use conns::{Conns, Owner};
use nemesis::{FaultCtx, Nemesis};
use setup::{Setup, Stage};
use timers::Timers;
use wires::Wires;
use workers::{Ctx, Workers};

/// The nemesis's view of the world's fields, with the driver's actions `$out`.
macro_rules! fault_ctx {
    ($world:ident, $now:expr, $out:expr) => {
        FaultCtx {
            now: $now,
            wires: &mut $world.wires,
            timers: &mut $world.timers,
            conns: &mut $world.conns,
            history: &mut $world.history,
            out: $out,
        }
    };
}

/// The workers' view of the world's fields (borrowed apart from the workers themselves).
macro_rules! ctx {
    ($world:ident, $now:expr) => {
        Ctx {
            now: $now,
            wires: &mut $world.wires,
            timers: &mut $world.timers,
            conns: &mut $world.conns,
            history: &mut $world.history,
        }
    };
}

/// The final phase is cut off after this long (kafka's final generator stops at 10 s).
pub const FINAL_PHASE_CAP: Duration = Duration::from_secs(30);

/// Something the world asks its driver to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Write `line` (a delivery, without its newline) to node `node`'s stdin.
    Deliver {
        /// Index of the node in the run's node list.
        node: usize,
        /// The line.
        line: String,
    },
    /// Kill node `node` (SIGKILL; in the simulator, drop it). Deliveries to it are held
    /// until it is started again, and then discarded.
    Kill {
        /// Index of the node.
        node: usize,
    },
    /// Start node `node` again: a fresh process (or hosted node) from the same program and
    /// flags. Its `init` follows as a delivery.
    Start {
        /// Index of the node.
        node: usize,
    },
    /// Stop node `node` (SIGSTOP; in the simulator, stop calling it).
    Pause {
        /// Index of the node.
        node: usize,
    },
    /// Let node `node` continue (SIGCONT).
    Resume {
        /// Index of the node.
        node: usize,
    },
    /// Skew node `node`'s clock (`Some`), or set it back to true time (`None`). Only the
    /// simulator can.
    Clock {
        /// Index of the node.
        node: usize,
        /// The jump and rate.
        skew: Option<Skew>,
    },
}

/// A world event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Timer {
    /// The message in flight to this receiver is due.
    Deliver(String),
    /// A client call's reply is overdue.
    CallTimeout {
        /// The client connection.
        conn: String,
        /// The call's `msg_id`.
        msg_id: u64,
    },
    /// A worker's wake-up.
    Wake(usize),
    /// Nemesis package `0`'s next step.
    Nemesis(usize),
    /// The current phase's end.
    Phase,
}

/// A problem with a node's output or life, reported in the summary and results.json.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NodeProblem {
    /// The node printed a line that is not a valid envelope; its output is no longer read.
    BadLine {
        /// The node.
        node: String,
        /// The line (at most 1000 characters).
        line: String,
        /// Why it was refused.
        error: String,
    },
    /// The node sent to (or from) an id that is not registered; its output is no longer
    /// read.
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
    /// A node started again by the nemesis did not answer its `init`.
    RestartFailed {
        /// The node.
        node: String,
        /// What happened.
        why: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    Setup,
    Main { cutoff: Time },
    Recovery,
    Final,
    Done,
}

/// Everything a finished run produced, but for the driver's own figures.
pub struct Outcome {
    /// The history.
    pub history: History,
    /// Network counts.
    pub net: NetStats,
    /// Node output and crash problems.
    pub problems: Vec<NodeProblem>,
}

/// One run (see the module documentation).
pub struct World {
    nodes: Vec<String>,
    node_index: HashMap<String, usize>,
    wires: Wires,
    timers: Timers<Timer>,
    conns: Conns,
    setup: Setup,
    workers: Workers,
    services: Vec<Box<dyn services::Service>>,
    service_rng: StdRng,
    nemesis: Option<Nemesis>,
    history: History,
    phase: Phase,
    time_limit: Duration,
    recovery: Duration,
    problems: Vec<NodeProblem>,
    muted: Vec<bool>,
    error: Option<RunError>,
}

impl World {
    /// The run `cfg` describes, before anything was sent; messages are logged into `log`.
    pub fn new(cfg: &TestConfig, log: MessageLog) -> Result<World, RunError> {
        let dist = match cfg.latency.dist {
            crate::cli::DistArg::Constant => latency::LatencyDist::Constant,
            crate::cli::DistArg::Uniform => latency::LatencyDist::Uniform,
            crate::cli::DistArg::Exponential => latency::LatencyDist::Exponential,
        };
        let lat = latency::Latency::new(cfg.latency.mean_ms, dist)
            .map_err(|e| RunError::Config(e.to_string()))?;
        let topology = match cfg.workload {
            WorkloadKind::Broadcast => {
                let t: topology::Topology = cfg
                    .topology
                    .parse()
                    .map_err(|_| RunError::Config(format!("unknown topology {}", cfg.topology)))?;
                Some(workload::broadcast::topology_body(&topology::build(
                    t, &cfg.nodes,
                )))
            }
            _ => None,
        };
        let opts = WorkloadOpts::from_config(cfg);
        let (gen, factory) =
            workload::build(cfg.workload, &opts).map_err(|e| RunError::Config(e.to_string()))?;
        let time_limit = Duration::from_secs_f64(cfg.time_limit);
        let workers = Workers::new(
            gen,
            stream(cfg.seed, 3),
            factory,
            cfg.concurrency,
            cfg.nodes.clone(),
            cfg.rate,
            stream(cfg.seed, 4),
        );
        Ok(World {
            node_index: cfg
                .nodes
                .iter()
                .enumerate()
                .map(|(i, n)| (n.clone(), i))
                .collect(),
            wires: Wires::new(Network::new(lat), stream(cfg.seed, 1), log),
            timers: Timers::default(),
            conns: Conns::default(),
            setup: Setup::new(cfg.nodes.clone(), cfg.init_timeout, topology),
            workers,
            services: services::all(),
            service_rng: stream(cfg.seed, 2),
            nemesis: (!cfg.faults.is_empty()).then(|| {
                Nemesis::new(
                    cfg.faults,
                    cfg.nodes.clone(),
                    cfg.nemesis_interval,
                    cfg.seed,
                    cfg.init_timeout,
                )
            }),
            history: History::default(),
            phase: Phase::Setup,
            time_limit,
            recovery: Duration::from_secs_f64(cfg.recovery),
            problems: Vec::new(),
            muted: vec![false; cfg.nodes.len()],
            nodes: cfg.nodes.clone(),
            error: None,
        })
    }

    /// Starts the run at `now`: registers the services and the nodes and sends each node
    /// its `init`.
    pub fn start(&mut self, now: Time) {
        // The services run before the nodes start, as in Maelstrom: a node may call one
        // while it handles `init`.
        for name in services::NAMES {
            self.wires.register(name);
        }
        for n in &self.nodes {
            self.wires.register(n);
        }
        self.setup
            .start(now, &mut self.conns, &mut self.wires, &mut self.timers);
    }

    /// When [`World::handle_timeout`] should next run.
    pub fn poll_timeout(&self) -> Option<Time> {
        if self.is_done() {
            return None;
        }
        self.timers.next_due()
    }

    /// Whether the run is over (finished or failed).
    pub fn is_done(&self) -> bool {
        self.phase == Phase::Done || self.error.is_some()
    }

    /// Runs every event due at or before `now`, in order; what the driver must do (deliver
    /// to a node, kill one...) goes to `out`, in order.
    pub fn handle_timeout(&mut self, now: Time, out: &mut Vec<Action>) {
        while !self.is_done() {
            let Some((due, timer)) = self.timers.pop_due(now) else {
                break;
            };
            match timer {
                Timer::Deliver(dest) => {
                    if let Some(msg) = self.wires.deliver(&dest, now, &mut self.timers) {
                        self.route(now, msg, out);
                    }
                }
                Timer::CallTimeout { conn, msg_id } => {
                    if let Some(owner) = self.conns.timed_out(&conn, msg_id) {
                        self.answer(now, owner, Reply::Timeout, out);
                    }
                }
                Timer::Wake(w) => self.workers.wake(w, &mut ctx!(self, now)),
                Timer::Nemesis(p) => self.nemesis_step(due, now, p, out),
                Timer::Phase => self.phase_end(now),
            }
            self.advance_phase(now, out);
        }
    }

    /// A line node `node` wrote at `now` (without its newline). A line that is not a valid
    /// envelope, or names an unknown id, is a problem, and the node's output is no longer
    /// read, as Maelstrom stops reading it.
    pub fn from_node(&mut self, now: Time, node: usize, line: &str) {
        if self.muted.get(node).copied().unwrap_or(true) || self.is_done() {
            return;
        }
        let id = self.nodes[node].clone();
        let shown = || line.chars().take(1000).collect::<String>();
        match crate::sim::wire::parse_node_line(line) {
            Err(e) => {
                let problem = NodeProblem::BadLine {
                    node: id,
                    line: shown(),
                    error: e.to_string(),
                };
                self.problems.push(problem);
                self.muted[node] = true;
            }
            Ok(env) => {
                if let Err(e) =
                    self.wires
                        .send(now, &env.src, &env.dest, env.body, &mut self.timers)
                {
                    let problem = NodeProblem::UnknownNode {
                        node: id,
                        line: shown(),
                        error: e.to_string(),
                    };
                    self.problems.push(problem);
                    self.muted[node] = true;
                }
            }
        }
    }

    /// Node `node`'s process exited with `status` before the run ended.
    pub fn node_exited(&mut self, node: usize, status: String, stderr_tail: Vec<String>) {
        if self.is_done() {
            return;
        }
        let node = self.nodes[node].clone();
        self.problems.push(NodeProblem::Crashed {
            node,
            status,
            stderr_tail,
        });
    }

    /// Stops the run at once (the driver was interrupted).
    pub fn abort(&mut self, error: RunError) {
        self.error.get_or_insert(error);
    }

    /// The run's products; an error when it failed.
    pub fn finish(self) -> Result<Outcome, RunError> {
        if let Err(e) = self.wires.finish_log() {
            tracing::warn!("message log {}: {e}", crate::journal::FILE);
        }
        if let Some(e) = self.error {
            return Err(e);
        }
        let ops = self
            .history
            .ops
            .iter()
            .filter(|o| o.is_client() && o.kind == OpType::Invoke)
            .count();
        Ok(Outcome {
            net: self.wires.stats(ops),
            history: self.history,
            problems: self.problems,
        })
    }

    /// Hands a delivered message to its receiver: a node (an action), a service, or a
    /// client connection.
    fn route(&mut self, now: Time, msg: Message, out: &mut Vec<Action>) {
        if let Some(&node) = self.node_index.get(&msg.dest) {
            let line = crate::sim::wire::encode_delivery(&msg);
            out.push(Action::Deliver { node, line });
        } else if let Some(svc) = self.services.iter_mut().find(|s| s.name() == msg.dest) {
            if let Some(reply) = svc.handle(&msg.src, &msg.body, &mut self.service_rng) {
                let name = svc.name();
                // The caller may be gone (a closed client): its reply is then refused.
                let _ = self
                    .wires
                    .send(now, name, &msg.src, reply, &mut self.timers);
            }
        } else if let Some((owner, reply)) = self.conns.delivered(msg, &mut self.timers) {
            self.answer(now, owner, reply, out);
        }
    }

    /// A client call's answer, to whoever made it.
    fn answer(&mut self, now: Time, owner: Owner, reply: Reply, out: &mut Vec<Action>) {
        match owner {
            Owner::Restart(i) => {
                let Some(nem) = self.nemesis.as_mut() else {
                    return;
                };
                let problem = nem
                    .lives()
                    .init_reply(i, reply, &mut fault_ctx!(self, now, out));
                self.problems.extend(problem);
            }
            Owner::Worker(w) => self.workers.reply(w, reply, &mut ctx!(self, now)),
            Owner::Setup(i) => {
                match self
                    .setup
                    .reply(i, reply, &mut self.conns, &mut self.wires, &mut self.timers)
                {
                    Err(e) => self.abort(e),
                    Ok(false) => {}
                    Ok(true) => self.setup_stage_done(now),
                }
            }
        }
    }

    /// Every node answered the current setup stage.
    fn setup_stage_done(&mut self, now: Time) {
        if self.setup.stage() == Stage::Init
            && self
                .setup
                .open_clients(now, &mut self.conns, &mut self.wires, &mut self.timers)
        {
            return;
        }
        self.setup.ready();
        self.start_main(now);
    }

    fn start_main(&mut self, now: Time) {
        let cutoff = now + self.time_limit;
        self.phase = Phase::Main { cutoff };
        self.workers.begin(now, cutoff);
        self.workers.start_main(&mut ctx!(self, now));
        if let Some(nem) = &self.nemesis {
            nem.begin(now, &mut self.timers);
        }
        self.timers.set(cutoff, Timer::Phase);
    }

    /// Nemesis package `p`'s step, due at `due` (its schedule runs on due times, so that a
    /// driver that runs it late keeps the seed's schedule) and carried out at `now`.
    fn nemesis_step(&mut self, due: Time, now: Time, p: usize, out: &mut Vec<Action>) {
        let Phase::Main { cutoff } = self.phase else {
            return;
        };
        let from = out.len();
        if let Some(nem) = self.nemesis.as_mut() {
            nem.step(p, due, cutoff, &mut fault_ctx!(self, now, out));
        }
        self.unmute_restarted(&out[from..]);
    }

    /// A node started again is a new process whose output is read again, even if its
    /// previous life's was not.
    fn unmute_restarted(&mut self, actions: &[Action]) {
        for a in actions {
            if let Action::Start { node } = a {
                if let Some(m) = self.muted.get_mut(*node) {
                    *m = false;
                }
            }
        }
    }

    fn phase_end(&mut self, now: Time) {
        match self.phase {
            Phase::Recovery => {
                let cap = now + FINAL_PHASE_CAP;
                self.phase = Phase::Final;
                self.timers.set(cap, Timer::Phase);
                self.workers.start_final(cap, &mut ctx!(self, now));
            }
            Phase::Final => self.workers.cap_reached(),
            _ => {}
        }
    }

    /// Moves to the next phase when the current one is over.
    fn advance_phase(&mut self, now: Time, out: &mut Vec<Action>) {
        match self.phase {
            Phase::Main { cutoff } => {
                let nemesis_done = self.nemesis.as_ref().is_none_or(Nemesis::finished);
                if now < cutoff || !self.workers.main_done() || !nemesis_done {
                    return;
                }
                if !self.workers.has_final_phase() {
                    self.end(now);
                    return;
                }
                let from = out.len();
                if let Some(nem) = self.nemesis.as_mut() {
                    nem.recover_all(&mut fault_ctx!(self, now, out));
                }
                self.unmute_restarted(&out[from..]);
                self.phase = Phase::Recovery;
                self.timers.set(now + self.recovery, Timer::Phase);
            }
            Phase::Final if self.workers.all_done() => self.end(now),
            _ => {}
        }
    }

    fn end(&mut self, now: Time) {
        self.workers.close(&mut ctx!(self, now));
        self.phase = Phase::Done;
    }
}

/// A nemesis entry of the history: `:info`, function `f`, value `value`.
fn nemesis_op(time: Time, f: &str, value: Value) -> Op {
    Op {
        index: 0,
        time,
        process: Process::Nemesis,
        kind: OpType::Info,
        f: f.into(),
        value: value.into(),
        is_final: false,
        error: None,
        node: None,
    }
}
