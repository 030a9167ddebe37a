//! G-counter on `seq-kv`: one key per node, fenced reads. A sans-IO machine whose store
//! calls wait in a [`Calls`] table.
//!
//! # Design
//!
//! - Node `p` owns the key `counter-<p>` and is its only writer. It keeps its own running
//!   total `T_p` exactly in memory. An `add` raises `T_p`; the node then writes the current
//!   `T_p` (a total, not a delta, so a retried or reordered write can only carry a value the
//!   node really reached). At most one write is in flight, and one write covers every
//!   `add` that raised `T_p` before it (group commit); `add_ok` is sent once a write of a
//!   total that includes the delta is acknowledged. A write that fails answers the adds it
//!   covered with error 13 (crash: indefinite), and the node rewrites its total every
//!   [`FLUSH_PERIOD`] until the store holds it, so an indeterminate `add` still reaches it.
//! - A `read` first writes a never-repeated value to its own fence key `fence-<p>`, then
//!   reads every peer's key (missing = 0) and adds its own in-memory `T_p`.
//!
//! # Why final reads are exact
//!
//! `seq-kv` keeps a totally ordered sequence of states and, per caller, the index of the
//! last state the caller touched; a request from that caller runs against a random state
//! at or after that index, except that a request which would change the chosen state runs
//! against the newest one. So:
//!
//! 1. Every write of node `p` changes its key (totals only grow; zero deltas are not
//!    written), and every state at or after `p`'s index already holds `p`'s last value
//!    (nobody else writes that key), so each such write lands on the newest state: a no-op
//!    write can never be acknowledged without taking effect.
//! 2. The fence value is never repeated, so the fence write also lands on the newest state
//!    `f`, and every later read from this node sees a state at or after `f`.
//! 3. An `add` acknowledged to a client before the read began had its write acknowledged
//!    before that, so the write's state precedes `f`: every peer value the read sees
//!    includes every acknowledged `add` of that peer, and never more than the peer really
//!    added.
//!
//! In the final phase no `add` is in flight, so each final read returns exactly the sum of
//! all acknowledged adds, plus those indeterminate ones whose total reached the store (any
//! subset is acceptable to the checker). Partitions do not matter: services are never
//! partitioned.
//!
//! # Kills
//!
//! The store is the durable copy: an `add` is acknowledged only once a write of a total
//! that includes it is, so nothing acknowledged is lost with the node's memory, with or
//! without a data directory. What a restarted node must not do is count again from zero:
//! its first write would lower its key below what its previous life acknowledged. So a
//! node life starts by reading its own key ([`KvCounter::recovering`]; this node's reads of
//! `seq-kv` never go backwards, and its previous life used the same id, so the read sees
//! that life's last write), and answers adds and reads only once it knows its total (they
//! wait, at most [`MAX_EARLY`] of them, in order). The one write this cannot order is one
//! the previous life sent just before it died and that reaches the store after the new
//! life's read: that needs a store slower than a restart.
//!
//! # Bounds
//!
//! At most [`MAX_READS`] reads run at once (a further one is refused with error 11,
//! definite), each with one call per peer in flight; adds waiting for a write are bounded by
//! the clients' concurrency (each client waits for its answer).

use std::collections::BTreeMap;
use std::time::Duration;

use glomers_node::{
    Calls, ErrorBody, ErrorCode, Incoming, Machine, NodeInfo, Origin, Outbox, Time,
};
use serde::Serialize;

use super::wire::{CounterIn, CounterOut};
use crate::kv::{KvError, KvRequest, KvService};

/// How often a node rewrites its total while the store lacks it.
pub const FLUSH_PERIOD: Duration = Duration::from_millis(500);

/// Timeout of one store request.
pub const KV_TIMEOUT: Duration = Duration::from_millis(1000);

/// Reads running at once.
pub const MAX_READS: usize = 1024;

/// Client requests that wait for a starting node to know its total; beyond, error 11.
pub const MAX_EARLY: usize = 1024;

/// The store key a node's total lives under.
pub fn counter_key(node: &str) -> String {
    format!("counter-{node}")
}

/// The store key a node writes to fence its reads.
pub fn fence_key(node: &str) -> String {
    format!("fence-{node}")
}

/// What a kv-mode counter sends: its own messages, and its `seq-kv` calls.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum KvCounterOut {
    /// To clients.
    Node(CounterOut),
    /// To `seq-kv`.
    Kv(KvRequest<String, u64>),
}

/// What a pending store call is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    /// A write of this node's total.
    Total(u64),
    /// The fence write of a read.
    Fence(u64),
    /// A read of one peer's total for a read.
    Peer(u64),
    /// The read of this node's own total at start.
    Own,
}

/// Where a starting node is in learning its own total from the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Start {
    /// The read of the own key is due at this time.
    Due(Time),
    /// The read is in flight.
    Reading,
    /// The total is known.
    Known,
}

/// A client request that came before the node knew its total.
#[derive(Debug)]
enum Early {
    Add(u64),
    Read,
}

/// A client read in progress.
#[derive(Debug)]
struct ReadState {
    origin: Origin,
    /// Peer reads not answered yet (0 while the fence is in flight).
    pending: usize,
    sum: u64,
}

/// The `seq-kv` counter machine.
#[derive(Debug)]
pub struct KvCounter {
    me: String,
    peers: Vec<String>,
    /// Everything added on this node.
    total: u64,
    /// The largest total the store acknowledged.
    written: u64,
    /// The total being written, if a write is in flight.
    writing: Option<u64>,
    /// Adds waiting for a write of at least their total.
    waiting: Vec<(Origin, u64)>,
    /// When the store lacks the total and no write is in flight: when to write again.
    next_flush: Option<Time>,
    /// The next fence value (never repeats: starts from the wall clock at start).
    fence: u64,
    next_read: u64,
    reads: BTreeMap<u64, ReadState>,
    calls: Calls<Call>,
    start: Start,
    early: Vec<(Origin, Early)>,
}

impl KvCounter {
    /// A counter for the node in `info`, whose fence values start at `fence_base` (pass
    /// something that differs between process starts, e.g. wall-clock microseconds, so a
    /// restarted node never repeats a fence value).
    pub fn new(info: &NodeInfo, fence_base: u64) -> Self {
        Self {
            me: info.id.clone(),
            peers: info.peers().map(str::to_owned).collect(),
            total: 0,
            written: 0,
            writing: None,
            waiting: Vec::new(),
            next_flush: None,
            fence: fence_base,
            next_read: 0,
            reads: BTreeMap::new(),
            calls: Calls::new(MAX_READS * (1 + info.ids.len()) + 2),
            start: Start::Known,
            early: Vec::new(),
        }
    }

    /// This counter, first learning its own total from the store (a node life that may
    /// follow another, see the module documentation): requests wait until it knows.
    pub fn recovering(mut self) -> Self {
        self.start = Start::Due(Time::ZERO);
        self
    }

    /// Sends the read of the own key when it is due.
    fn read_own(&mut self, now: Time, out: &mut Outbox<KvCounterOut>) {
        if !matches!(self.start, Start::Due(at) if at <= now) {
            return;
        }
        let req = KvRequest::Read {
            key: counter_key(&self.me),
        };
        self.start = if self.kv(now, out, req, Call::Own) {
            Start::Reading
        } else {
            Start::Due(now + FLUSH_PERIOD)
        };
    }

    /// The own key's read ended: the total is known (then the waiting requests run), or
    /// the read is tried again.
    fn own_read(
        &mut self,
        now: Time,
        result: Result<Option<u64>, KvError>,
        out: &mut Outbox<KvCounterOut>,
    ) {
        let total = match result {
            Ok(v) => v.unwrap_or(0),
            Err(KvError::KeyDoesNotExist) => 0,
            Err(e) => {
                tracing::debug!(error = %e, "own total not read; trying again");
                self.start = Start::Due(now + FLUSH_PERIOD);
                return;
            }
        };
        tracing::info!(total, "own total read from the store");
        self.total = total;
        self.written = total;
        self.start = Start::Known;
        for (origin, op) in std::mem::take(&mut self.early) {
            match op {
                Early::Add(delta) => self.add(now, origin, delta, out),
                Early::Read => self.read(now, origin, out),
            }
        }
    }

    /// Holds a request until the total is known; `false` when it may run now.
    fn wait_for_start(
        &mut self,
        origin: &Origin,
        op: Early,
        out: &mut Outbox<KvCounterOut>,
    ) -> bool {
        if self.start == Start::Known {
            return false;
        }
        if self.early.len() >= MAX_EARLY {
            out.reply_error(
                origin,
                ErrorBody::new(ErrorCode::TemporarilyUnavailable, "starting"),
            );
        } else {
            self.early.push((origin.clone(), op));
        }
        true
    }

    /// This node's total as known locally.
    pub fn local_total(&self) -> u64 {
        self.total
    }

    fn kv(
        &mut self,
        now: Time,
        out: &mut Outbox<KvCounterOut>,
        req: KvRequest<String, u64>,
        call: Call,
    ) -> bool {
        let sent = self.calls.call(
            out,
            now,
            KvService::Seq.node_id(),
            KvCounterOut::Kv(req),
            KV_TIMEOUT,
            call,
        );
        sent.is_ok()
    }

    /// Writes the current total when the store lacks it and no write is in flight.
    fn write_total(&mut self, now: Time, out: &mut Outbox<KvCounterOut>) {
        if self.writing.is_some() || self.written >= self.total {
            return;
        }
        let total = self.total;
        let req = KvRequest::Write {
            key: counter_key(&self.me),
            value: total,
        };
        if self.kv(now, out, req, Call::Total(total)) {
            self.writing = Some(total);
            self.next_flush = None;
        } else {
            self.next_flush = Some(now + FLUSH_PERIOD);
        }
    }

    fn add(&mut self, now: Time, origin: Origin, delta: u64, out: &mut Outbox<KvCounterOut>) {
        if delta == 0 {
            out.reply(&origin, KvCounterOut::Node(CounterOut::AddOk));
            return;
        }
        let Some(total) = self.total.checked_add(delta) else {
            out.reply_error(
                &origin,
                ErrorBody::new(ErrorCode::Abort, "counter would overflow"),
            );
            return;
        };
        self.total = total;
        self.waiting.push((origin, total));
        self.write_total(now, out);
    }

    /// The write of `total` ended: answer the adds it covered.
    fn total_written(
        &mut self,
        now: Time,
        total: u64,
        result: Result<(), KvError>,
        out: &mut Outbox<KvCounterOut>,
    ) {
        self.writing = None;
        match result {
            Ok(()) => self.written = self.written.max(total),
            Err(e) => {
                tracing::debug!(error = %e, total, "counter write failed");
                self.next_flush = Some(now + FLUSH_PERIOD);
            }
        }
        let written = self.written;
        let failed = ErrorBody::new(ErrorCode::Crash, "store write failed");
        self.waiting.retain(|(origin, target)| {
            if *target <= written {
                out.reply(origin, KvCounterOut::Node(CounterOut::AddOk));
            } else if *target <= total {
                out.reply_error(origin, failed.clone());
            } else {
                return true;
            }
            false
        });
        if self.next_flush.is_none() {
            self.write_total(now, out);
        }
    }

    fn read(&mut self, now: Time, origin: Origin, out: &mut Outbox<KvCounterOut>) {
        if self.reads.len() >= MAX_READS {
            out.reply_error(
                &origin,
                ErrorBody::new(ErrorCode::TemporarilyUnavailable, "too many reads"),
            );
            return;
        }
        let id = self.next_read;
        self.next_read += 1;
        self.fence += 1;
        let req = KvRequest::Write {
            key: fence_key(&self.me),
            value: self.fence,
        };
        if !self.kv(now, out, req, Call::Fence(id)) {
            out.reply_error(
                &origin,
                ErrorBody::new(ErrorCode::TemporarilyUnavailable, "too many calls"),
            );
            return;
        }
        self.reads.insert(
            id,
            ReadState {
                origin,
                pending: 0,
                sum: 0,
            },
        );
    }

    /// One step of read `id`: the fence is written (start the peer reads), or a peer's
    /// value came.
    fn read_step(
        &mut self,
        now: Time,
        id: u64,
        call: Call,
        result: Result<Option<u64>, KvError>,
        out: &mut Outbox<KvCounterOut>,
    ) {
        if !self.reads.contains_key(&id) {
            return;
        }
        let value = match result {
            Ok(v) => v,
            Err(e) => return self.fail_read(id, &e, out),
        };
        match call {
            Call::Fence(_) => {
                // Every peer read starts after the fence; the own total is taken now.
                let peers = self.peers.clone();
                if let Some(state) = self.reads.get_mut(&id) {
                    state.sum = self.total;
                    state.pending = peers.len();
                }
                for p in peers {
                    let req = KvRequest::Read {
                        key: counter_key(&p),
                    };
                    if !self.kv(now, out, req, Call::Peer(id)) {
                        return self.fail_read(id, &KvError::Overloaded, out);
                    }
                }
            }
            Call::Peer(_) => {
                if let Some(state) = self.reads.get_mut(&id) {
                    state.sum = state.sum.saturating_add(value.unwrap_or(0));
                    state.pending = state.pending.saturating_sub(1);
                }
            }
            Call::Total(_) | Call::Own => return,
        }
        if self.reads.get(&id).is_some_and(|s| s.pending == 0) {
            if let Some(state) = self.reads.remove(&id) {
                let value = state.sum;
                out.reply(
                    &state.origin,
                    KvCounterOut::Node(CounterOut::ReadOk { value }),
                );
            }
        }
    }

    /// Ends read `id` with error 13 (crash: the read may be retried; it changed nothing);
    /// its other calls' answers then find no read and are dropped.
    fn fail_read(&mut self, id: u64, error: &KvError, out: &mut Outbox<KvCounterOut>) {
        if let Some(state) = self.reads.remove(&id) {
            let body = ErrorBody::new(ErrorCode::Crash, format!("read: {error}"));
            out.reply_error(&state.origin, body);
        }
    }

    /// A call ended with `result` (`Ok(value)` for `read_ok`, `Ok(None)` for `write_ok` or a
    /// missing key).
    fn call_ended(
        &mut self,
        now: Time,
        call: Call,
        result: Result<Option<u64>, KvError>,
        out: &mut Outbox<KvCounterOut>,
    ) {
        match call {
            Call::Own => self.own_read(now, result, out),
            Call::Total(total) => self.total_written(now, total, result.map(|_| ()), out),
            Call::Fence(id) | Call::Peer(id) => {
                let result = match result {
                    Err(KvError::KeyDoesNotExist) if matches!(call, Call::Peer(_)) => Ok(None),
                    other => other,
                };
                self.read_step(now, id, call, result, out);
            }
        }
    }
}

impl Machine for KvCounter {
    type In = CounterIn;
    type Out = KvCounterOut;

    /// Adds at most one reply per waiting client, plus one store call per peer.
    fn on_message(&mut self, now: Time, msg: Incoming<CounterIn>, out: &mut Outbox<KvCounterOut>) {
        let result = match msg.body {
            CounterIn::Add { delta } => {
                if !self.wait_for_start(&msg.origin, Early::Add(delta), out) {
                    self.add(now, msg.origin, delta, out);
                }
                return;
            }
            CounterIn::Read => {
                if !self.wait_for_start(&msg.origin, Early::Read, out) {
                    self.read(now, msg.origin, out);
                }
                return;
            }
            CounterIn::Gossip(_) => {
                let e = ErrorBody::new(ErrorCode::NotSupported, "gossip is not used in kv mode");
                return out.reply_error(&msg.origin, e);
            }
            CounterIn::ReadOk { value } => Ok(Some(value)),
            CounterIn::WriteOk => Ok(None),
            CounterIn::Error(e) => Err(KvError::from_reply(e)),
        };
        let Some(call) = msg.in_reply_to.and_then(|id| self.calls.complete(id)) else {
            tracing::debug!(src = %msg.origin.src, "late or unmatched store reply dropped");
            return;
        };
        self.call_ended(now, call, result, out);
    }

    fn on_timeout(&mut self, now: Time, out: &mut Outbox<KvCounterOut>) {
        while let Some((_, call)) = self.calls.expire(now) {
            self.call_ended(now, call, Err(KvError::Timeout), out);
        }
        self.read_own(now, out);
        if self.next_flush.is_some_and(|t| t <= now) {
            self.next_flush = None;
            self.write_total(now, out);
        }
    }

    fn poll_timeout(&self) -> Option<Time> {
        let start = match self.start {
            Start::Due(at) => Some(at),
            Start::Reading | Start::Known => None,
        };
        [self.calls.next_deadline(), self.next_flush, start]
            .into_iter()
            .flatten()
            .min()
    }
}

#[cfg(test)]
mod tests;
