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
//! Neither does I/O nor reads a clock: the runner passes `now` (a [`Time`] since the start
//! of the run) and a seeded RNG, sends the bodies, waits for replies or timeouts, and
//! records the history. The same seed therefore gives the same operations.

use std::time::Duration;

use glomers_node::Time;
use rand::rngs::StdRng;
use serde_json::Value;

use crate::history::Op;

pub mod kafka;
pub mod lin_kv;
pub mod txn;
pub mod txn_list_append;

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
    fn next(&mut self, phase: Phase, thread: usize, now: Time, rng: &mut StdRng) -> Next;

    /// Called with every completed operation (invoke and completion as recorded).
    fn observe(&mut self, _invoke: &Op, _completion: &Op) {}

    /// Whether the workload has a final phase (broadcast, g-set, g-counter, pn-counter, kafka).
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
pub mod g_set;
pub mod pn_counter;
pub mod rpc;
pub mod unique_ids;
pub mod write_read;

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
    /// A grow-only set (Maelstrom's CRDT chapter; not a Gossip Glomers challenge).
    GSet,
    /// Challenge 4.
    GCounter,
    /// A counter with increments and decrements (Maelstrom's CRDT chapter).
    PnCounter,
    /// Challenges 5a–5c.
    Kafka,
    /// Challenges 6a–6c.
    TxnRwRegister,
    /// Maelstrom's Datomic guide: transactions of list appends and reads.
    TxnListAppend,
    /// Maelstrom's linearizable key-value workload (its Raft guide).
    LinKv,
}

/// The workload names the harness runs (all ten of Maelstrom's), as listed in messages.
pub const SUPPORTED: &str = "echo, unique-ids, broadcast, g-set, g-counter, pn-counter, lin-kv, \
kafka, txn-rw-register, txn-list-append";

/// A name that is no workload.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown workload {0}; supported: {SUPPORTED}")]
pub struct UnknownWorkload(pub String);

impl std::str::FromStr for WorkloadKind {
    type Err = UnknownWorkload;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "echo" => WorkloadKind::Echo,
            "unique-ids" => WorkloadKind::UniqueIds,
            "broadcast" => WorkloadKind::Broadcast,
            "g-set" => WorkloadKind::GSet,
            "g-counter" => WorkloadKind::GCounter,
            "pn-counter" => WorkloadKind::PnCounter,
            "kafka" => WorkloadKind::Kafka,
            "txn-rw-register" => WorkloadKind::TxnRwRegister,
            "txn-list-append" => WorkloadKind::TxnListAppend,
            "lin-kv" => WorkloadKind::LinKv,
            _ => return Err(UnknownWorkload(s.to_owned())),
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
            WorkloadKind::GSet => "g-set",
            WorkloadKind::GCounter => "g-counter",
            WorkloadKind::PnCounter => "pn-counter",
            WorkloadKind::Kafka => "kafka",
            WorkloadKind::TxnRwRegister => "txn-rw-register",
            WorkloadKind::TxnListAppend => "txn-list-append",
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
        WorkloadKind::Broadcast => write_read(broadcast::SPEC),
        WorkloadKind::GSet => write_read(g_set::SPEC),
        WorkloadKind::GCounter => write_read(g_counter::SPEC),
        WorkloadKind::PnCounter => write_read(pn_counter::SPEC),
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
        WorkloadKind::TxnListAppend => (
            Box::new(txn::TxnGenerator::appending(txn::TxnOpts {
                key_count: opts.key_count,
                max_txn_length: opts.max_txn_length,
                max_writes_per_key: opts.max_writes_per_key as u64,
            })),
            Box::new(|| Box::new(txn_list_append::AppendClient::new()) as Box<dyn Client>),
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

/// The generator and client factory of a write-read workload.
fn write_read(spec: write_read::WriteReadSpec) -> (Box<dyn Generator>, ClientFactory) {
    (
        Box::new(spec.generator()),
        Box::new(move || Box::new(spec.client()) as Box<dyn Client>),
    )
}
