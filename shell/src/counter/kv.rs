//! G-counter on `seq-kv`: one key per node, fenced reads.
//!
//! # Design
//!
//! - Node `p` owns the key `counter-<p>` and is its only writer. It keeps its own running
//!   total `T_p` exactly in memory. An `add` raises `T_p` and then writes the current `T_p`
//!   (a total, not a delta, so a retried or reordered write can only carry a value the node
//!   really reached). Writes of one node are serialised, and one write covers every `add`
//!   that raised `T_p` before it (group commit); `add_ok` is sent once a write of a total that
//!   includes the delta is acknowledged.
//! - A node whose last write failed rewrites its total from a periodic flush
//!   ([`FLUSH_PERIOD`]), so an indeterminate `add` still reaches the store.
//! - A `read` first writes a never-repeated value to its own fence key `fence-<p>`, then reads
//!   every peer's key (missing = 0) and adds its own in-memory `T_p`.
//!
//! # Why final reads are exact
//!
//! `seq-kv` keeps a totally ordered sequence of states and, per caller, the index of the last
//! state the caller touched; a request from that caller runs against a random state at or
//! after that index, except that a request which would change the chosen state runs against
//! the newest one. So:
//!
//! 1. Every write of node `p` changes its key (totals only grow; zero deltas are not written),
//!    and every state at or after `p`'s index already holds `p`'s last value (nobody else
//!    writes that key), so each such write lands on the newest state: a no-op write can never
//!    be acknowledged without taking effect.
//! 2. The fence value is never repeated, so the fence write also lands on the newest state
//!    `f`, and every later read from this node sees a state at or after `f` (a caller's index
//!    never moves back; a retained ring slot only ever holds a newer state than the index that
//!    maps to it).
//! 3. An `add` acknowledged to a client before the read began had its write acknowledged
//!    before that, so the write's state precedes `f`: every peer value the read sees includes
//!    every acknowledged `add` of that peer, and never more than the peer really added.
//!
//! In the final phase no `add` is in flight, so each final read returns exactly the sum of all
//! acknowledged adds, plus those indeterminate ones whose total reached the store (any subset
//! is acceptable to the checker). Partitions do not matter: services are never partitioned.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use crate::error::{ErrorBody, ErrorCode};
use crate::kv::{Kv, KvService};
use crate::node::{Answer, Handler, Node};
use crate::protocol::Incoming;

use super::wire::{CounterIn, CounterOut};

/// How often a node rewrites its total when its last write did not succeed.
pub const FLUSH_PERIOD: Duration = Duration::from_millis(500);

/// Timeout of one store request.
pub const KV_TIMEOUT: Duration = Duration::from_millis(1000);

/// The store key a node's total lives under.
pub fn counter_key(node: &str) -> String {
    format!("counter-{node}")
}

/// The store key a node writes to fence its reads.
pub fn fence_key(node: &str) -> String {
    format!("fence-{node}")
}

#[derive(Debug, Default)]
struct Totals {
    /// Everything added on this node.
    total: u64,
    /// The largest total the store acknowledged.
    written: u64,
}

/// The `seq-kv` counter handler.
#[derive(Debug)]
pub struct KvCounter {
    kv: Kv,
    me: String,
    peers: Vec<String>,
    totals: Mutex<Totals>,
    writer: tokio::sync::Mutex<()>,
    fence: AtomicU64,
}

impl KvCounter {
    /// A counter for `node`, whose fence values start at `fence_base` (pass something that
    /// differs between process starts, e.g. wall-clock microseconds, so a restarted node never
    /// repeats a fence value). [`start`] also starts the periodic flush.
    pub fn new(node: &Node, fence_base: u64) -> Self {
        Self {
            kv: Kv::new(node.clone(), KvService::Seq).with_timeout(KV_TIMEOUT),
            me: node.id().to_owned(),
            peers: node.info().peers().map(str::to_owned).collect(),
            totals: Mutex::new(Totals::default()),
            writer: tokio::sync::Mutex::new(()),
            fence: AtomicU64::new(fence_base),
        }
    }

    fn totals(&self) -> std::sync::MutexGuard<'_, Totals> {
        self.totals.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// This node's total as known locally.
    pub fn local_total(&self) -> u64 {
        self.totals().total
    }

    /// Makes sure the store holds a total of at least `target`, writing the current total if
    /// not. Writes are serialised; one write serves every waiter it covers.
    pub async fn flush_to(&self, target: u64) -> Result<(), ErrorBody> {
        let _turn = self.writer.lock().await;
        let total = {
            let t = self.totals();
            if t.written >= target {
                return Ok(());
            }
            t.total
        };
        self.kv
            .write(&counter_key(&self.me), &total)
            .await
            .map_err(|e| ErrorBody::new(ErrorCode::Crash, e.to_string()))?;
        let mut t = self.totals();
        t.written = t.written.max(total);
        Ok(())
    }

    /// Rewrites the total if the store is behind (called periodically).
    pub async fn flush(&self) {
        let target = self.local_total();
        if let Err(e) = self.flush_to(target).await {
            tracing::debug!(error = %e, "periodic counter flush failed");
        }
    }

    async fn add(&self, delta: u64) -> Answer<CounterOut> {
        if delta == 0 {
            return Ok(Some(CounterOut::AddOk));
        }
        let target = {
            let mut t = self.totals();
            let Some(n) = t.total.checked_add(delta) else {
                return Err(ErrorBody::new(ErrorCode::Abort, "counter would overflow"));
            };
            t.total = n;
            n
        };
        self.flush_to(target).await?;
        Ok(Some(CounterOut::AddOk))
    }

    async fn read(&self) -> Answer<CounterOut> {
        let fence = self.fence.fetch_add(1, Ordering::Relaxed);
        self.kv
            .write(&fence_key(&self.me), &fence)
            .await
            .map_err(|e| ErrorBody::new(ErrorCode::Crash, format!("fence: {e}")))?;
        // Peer keys are read concurrently; each read is issued after the fence completed.
        let mut reads = tokio::task::JoinSet::new();
        for p in &self.peers {
            let kv = self.kv.clone();
            let key = counter_key(p);
            reads.spawn(async move { kv.read_opt::<String, u64>(&key).await });
        }
        let mut sum = self.local_total();
        while let Some(done) = reads.join_next().await {
            let v = done
                .map_err(|e| ErrorBody::new(ErrorCode::Crash, format!("read task: {e}")))?
                .map_err(|e| ErrorBody::new(ErrorCode::Crash, format!("read: {e}")))?;
            sum = sum.saturating_add(v.unwrap_or(0));
        }
        Ok(Some(CounterOut::ReadOk { value: sum }))
    }
}

impl Handler for KvCounter {
    type Request = CounterIn;
    type Response = CounterOut;

    async fn handle(&self, _node: &Node, msg: Incoming<CounterIn>) -> Answer<CounterOut> {
        match msg.body {
            CounterIn::Add { delta } => self.add(delta).await,
            CounterIn::Read => self.read().await,
            CounterIn::Gossip { .. } => Err(ErrorBody::new(
                ErrorCode::NotSupported,
                "gossip is not used in kv mode",
            )),
            CounterIn::Error(e) => {
                tracing::warn!(error = %e, src = %msg.origin.src, "unexpected error message");
                Ok(None)
            }
        }
    }
}

/// Builds the handler and starts its periodic flush.
pub fn start(node: &Node, fence_base: u64) -> std::sync::Arc<KvCounter> {
    let counter = std::sync::Arc::new(KvCounter::new(node, fence_base));
    let c = std::sync::Arc::clone(&counter);
    node.spawn_every(FLUSH_PERIOD, move |_node| {
        let c = std::sync::Arc::clone(&c);
        async move { c.flush().await }
    });
    counter
}
