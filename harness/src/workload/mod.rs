//! Workloads: what the client workers ask of the nodes, and how they talk to them.
//!
//! Each workload is two sans-IO pieces, driven by the runner (`crate::runner`):
//!
//! - a [`Generator`]: the stream of operations (main phase, then the final phase if the
//!   workload has one). It sees every completion, so that it can react to the history
//!   (kafka's assigns of acknowledged-but-unpolled keys, its final polls up to the highest
//!   offset seen).
//! - a [`Client`] per worker thread: turns one operation into one or more RPCs to the
//!   thread's node (a kafka `poll` is a `poll` then a `commit_offsets`) and decides the
//!   completion (`ok`, `fail`, `info`) as Maelstrom's client does (reference 2.6).
//!
//! Neither does I/O nor reads a clock: the runner passes `now` (nanoseconds since the start
//! of the run) and a seeded RNG, sends the bodies, waits for replies or timeouts, and
//! records the history. The same seed therefore gives the same operations.

use std::time::Duration;

use rand::rngs::StdRng;
use serde_json::Value;

use crate::history::Op;

pub mod kafka;
pub mod lin_kv;
pub mod txn;

/// An operation a generator wants issued: the history's `f` and invoke `value`.
#[derive(Debug, Clone, PartialEq)]
pub struct OpSpec {
    /// The operation's function, e.g. `"send"`.
    pub f: String,
    /// The invoke value, in the form `crate::history` documents for the workload.
    pub value: Value,
}

/// What the generator says when the runner asks for the next operation.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    /// Issue this operation now.
    Op(OpSpec),
    /// Nothing for this thread now; ask again after this long.
    Wait(Duration),
    /// This thread is done with the current phase.
    Done,
}

/// The phase of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Rate-limited operations for `--time-limit` seconds.
    Main,
    /// After heal and the quiet period, not rate-limited (only for workloads that have it).
    Final,
}

/// The stream of operations of one workload.
pub trait Generator: Send {
    /// The next operation for worker `thread` in `phase`. In the main phase the runner
    /// applies `--rate` pacing itself; in the final phase `Next::Wait` is how a generator
    /// spaces its operations (kafka's polls).
    fn next(&mut self, phase: Phase, thread: usize, now: u64, rng: &mut StdRng) -> Next;

    /// Called with every completed operation (invoke and completion as recorded).
    fn observe(&mut self, _invoke: &Op, _completion: &Op) {}

    /// Whether the workload has a final phase (broadcast, g-counter, kafka).
    fn has_final_phase(&self) -> bool;
}

/// How a reply to an RPC came back.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// The reply's body (an `error` body included).
    Body(Value),
    /// No reply within the call's timeout.
    Timeout,
}

/// One step of a client's work on an operation.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Send this body (without `msg_id`, which the runner assigns) to the thread's node
    /// and call [`Client::on_reply`] with what comes back within `timeout`.
    Call {
        /// The request body, with its `type`.
        body: Value,
        /// How long to wait for the reply.
        timeout: Duration,
    },
    /// The operation is over.
    Done(Completion),
}

/// How an operation completed.
#[derive(Debug, Clone, PartialEq)]
pub enum Completion {
    /// Succeeded, with the completion value for the history.
    Ok(Value),
    /// Definitely did not happen, with the error for the history.
    Fail(String),
    /// May or may not have happened, with the error for the history.
    Info(String),
}

/// A worker thread's client: the per-connection state Maelstrom's client keeps (kafka's
/// local offsets, for example).
pub trait Client: Send {
    /// Starts `op` and returns the first step.
    fn start(&mut self, op: &OpSpec) -> Step;

    /// The reply to the last [`Step::Call`]; returns the next step.
    fn on_reply(&mut self, reply: Reply) -> Step;

    /// Whether the client survives an `info` completion (unique-ids, txn). A client that is
    /// not reusable is closed after one and the worker opens a new one (new `cN` id).
    fn reusable(&self) -> bool;
}

pub mod broadcast;
pub mod echo;
pub mod g_counter;
pub mod rpc;
pub mod unique_ids;

/// The workloads the harness can run. Invariant: every variant has a generator, a client
/// and a checker wired in [`build`] and `crate::runner`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WorkloadKind {
    /// Challenge 1.
    Echo,
    /// Challenge 2.
    UniqueIds,
    /// Challenges 3a–3e.
    Broadcast,
    /// Challenge 4.
    GCounter,
    /// Challenges 5a–5c.
    Kafka,
    /// Challenges 6a–6c.
    TxnRwRegister,
    /// Maelstrom's linearizable key-value workload (its Raft guide).
    LinKv,
}

/// A workload name Maelstrom knows but this harness does not run, or no workload at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnknownWorkload {
    /// A Maelstrom workload outside the Gossip Glomers challenges.
    #[error("workload {0} is a Maelstrom workload that glomers does not run; supported: echo, unique-ids, broadcast, g-counter, kafka, txn-rw-register, lin-kv")]
    Unsupported(String),
    /// Not a workload name at all.
    #[error("unknown workload {0}; supported: echo, unique-ids, broadcast, g-counter, kafka, txn-rw-register, lin-kv")]
    Unknown(String),
}

impl std::str::FromStr for WorkloadKind {
    type Err = UnknownWorkload;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "echo" => WorkloadKind::Echo,
            "unique-ids" => WorkloadKind::UniqueIds,
            "broadcast" => WorkloadKind::Broadcast,
            "g-counter" => WorkloadKind::GCounter,
            "kafka" => WorkloadKind::Kafka,
            "txn-rw-register" => WorkloadKind::TxnRwRegister,
            "lin-kv" => WorkloadKind::LinKv,
            "g-set" | "pn-counter" | "txn-list-append" => {
                return Err(UnknownWorkload::Unsupported(s.to_owned()))
            }
            _ => return Err(UnknownWorkload::Unknown(s.to_owned())),
        })
    }
}

impl WorkloadKind {
    /// The name as on the command line and in the store folder.
    pub fn name(self) -> &'static str {
        match self {
            WorkloadKind::Echo => "echo",
            WorkloadKind::UniqueIds => "unique-ids",
            WorkloadKind::Broadcast => "broadcast",
            WorkloadKind::GCounter => "g-counter",
            WorkloadKind::Kafka => "kafka",
            WorkloadKind::TxnRwRegister => "txn-rw-register",
            WorkloadKind::LinKv => "lin-kv",
        }
    }
}

/// The options a workload's generator needs (Maelstrom's defaults when built from the CLI).
#[derive(Debug, Clone, PartialEq)]
pub struct WorkloadOpts {
    /// Worker threads.
    pub concurrency: usize,
    /// Active keys (kafka, txn); Maelstrom's workload default is 10.
    pub key_count: usize,
    /// Micro-ops per txn at most.
    pub max_txn_length: usize,
    /// Writes per key before it is retired.
    pub max_writes_per_key: usize,
    /// Nodes in the run (lin-kv's thread groups are `2 ×` this).
    pub node_count: usize,
    /// Mean one-way latency in ms (lin-kv's RPC timeout is `max(10 ×` this`, 1 s)`).
    pub latency_mean_ms: u64,
}

impl WorkloadOpts {
    /// The options of a validated test configuration.
    pub fn from_config(cfg: &crate::cli::TestConfig) -> Self {
        WorkloadOpts {
            concurrency: cfg.concurrency,
            key_count: cfg.key_count,
            max_txn_length: cfg.max_txn_length,
            max_writes_per_key: cfg.max_writes_per_key,
            node_count: cfg.nodes.len(),
            latency_mean_ms: cfg.latency.mean_ms,
        }
    }
}

/// Makes a fresh client for a worker; called once per `cN` the worker opens.
pub type ClientFactory = Box<dyn Fn() -> Box<dyn Client> + Send + Sync>;

/// The generator and the client factory of `kind`.
pub fn build(
    kind: WorkloadKind,
    opts: &WorkloadOpts,
) -> Result<(Box<dyn Generator>, ClientFactory), UnknownWorkload> {
    Ok(match kind {
        WorkloadKind::Echo => (
            Box::new(echo::EchoGenerator),
            Box::new(|| Box::new(echo::EchoClient) as Box<dyn Client>),
        ),
        WorkloadKind::UniqueIds => (
            Box::new(unique_ids::UniqueIdsGenerator),
            Box::new(|| Box::new(unique_ids::UniqueIdsClient) as Box<dyn Client>),
        ),
        WorkloadKind::Broadcast => (
            Box::new(broadcast::BroadcastGenerator::default()),
            Box::new(|| Box::new(broadcast::client()) as Box<dyn Client>),
        ),
        WorkloadKind::GCounter => (
            Box::new(g_counter::GCounterGenerator::default()),
            Box::new(|| Box::new(g_counter::client()) as Box<dyn Client>),
        ),
        WorkloadKind::Kafka => (
            Box::new(kafka::KafkaGenerator::new(kafka::KafkaOpts {
                key_count: opts.key_count,
                max_writes_per_key: opts.max_writes_per_key as u64,
                concurrency: opts.concurrency,
            })),
            Box::new(|| Box::new(kafka::KafkaClient::new()) as Box<dyn Client>),
        ),
        WorkloadKind::TxnRwRegister => (
            Box::new(txn::TxnGenerator::new(txn::TxnOpts {
                key_count: opts.key_count,
                max_txn_length: opts.max_txn_length,
                max_writes_per_key: opts.max_writes_per_key as u64,
            })),
            Box::new(|| Box::new(txn::TxnClient::new()) as Box<dyn Client>),
        ),
        WorkloadKind::LinKv => {
            let timeout = lin_kv::rpc_timeout(opts.latency_mean_ms);
            (
                Box::new(lin_kv::LinKvGenerator::new(
                    opts.node_count,
                    opts.concurrency,
                )),
                Box::new(move || Box::new(lin_kv::LinKvClient::new(timeout)) as Box<dyn Client>),
            )
        }
    })
}
