//! [`Node`]: a Raft node serving one [`Service`]: Raft's outputs carried out, clients'
//! requests routed, held, batched into rounds and answered (see [`super`] for the design).

use glomers_node::{ErrorBody, ErrorCode, NodeId as Name, Origin, Outbox, Time};
use glomers_raft::{Entry, Error as RaftError, NodeId, Output, Payload, Raft, Role, Storage};
use rand::rngs::SmallRng;

use super::config::RaftConfig;
use super::links::Links;
use super::service::{Request, Service};
use super::storage::LogStore;
use super::waiters::{Stage, Waiter, Waiters};
use super::wire::{Batch, Forwarded, Msgs, Peer, PeerBatch, RaftOut};

/// A request is forwarded at most this many times (once to the leader, or to a node that
/// passes it on to the leader when the leader does not hear this one).
const MAX_HOPS: u8 = 2;

/// The log's command type for service `S`: one batch of its commands per entry.
pub type Log<S> = Batch<<S as Service>::Command>;

/// The Raft core of a node serving `S`.
pub type Core<S> = Raft<Log<S>, LogStore<Log<S>, <S as Service>::Snapshot>, SmallRng>;

/// What a node serving `S` sends.
pub type Out<S> = RaftOut<
    <S as Service>::Reply,
    <S as Service>::Forward,
    <S as Service>::Command,
    <S as Service>::Snapshot,
>;

/// The Raft messages a peer of a node serving `S` sends it.
pub type FromPeer<S> = PeerBatch<<S as Service>::Command, <S as Service>::Snapshot>;

type Waiting<S> = Waiter<<S as Service>::Read, <S as Service>::Command>;
type Req<S> = Request<<S as Service>::Read, <S as Service>::Command>;

/// One running node (see the module documentation).
pub struct Node<S: Service> {
    pub(super) raft: Core<S>,
    service: S,
    config: RaftConfig,
    /// Every member's name, by Raft id.
    names: Vec<Name>,
    /// Raft's outputs of the current call.
    outputs: Vec<Output<Log<S>, S::Snapshot>>,
    /// Per member (by Raft id): Raft messages waiting for the next flush.
    buffers: Vec<Msgs<S::Command, S::Snapshot>>,
    /// The last index applied to `service` (or restored into it).
    applied: u64,
    last_flush: Time,
    links: Links,
    waiters: Waiters<S::Read, S::Command>,
    next_read: u64,
    was_leader: bool,
}

impl<S: Service> Node<S> {
    /// A node around `raft`, a member of `names` (by Raft id), at node time `now`; its
    /// service starts from the snapshot `raft`'s storage holds, if any.
    pub fn new(raft: Core<S>, names: Vec<Name>, config: RaftConfig, now: Time) -> Self {
        let n = names.len();
        let snapshot = raft.storage().snapshot().ok().flatten();
        let service = snapshot.map_or_else(S::default, |s| S::restore(s.data));
        Node {
            links: Links::new(raft.id(), n),
            applied: raft.applied_index(),
            raft,
            service,
            config,
            names,
            outputs: Vec::new(),
            buffers: vec![Vec::new(); n],
            last_flush: now,
            waiters: Waiters::new(config.max_waiters),
            next_read: 1,
            was_leader: false,
        }
    }

    /// The replicated state.
    pub fn service(&self) -> &S {
        &self.service
    }

    /// A batch of Raft messages that the peer named `src` sent, or passed on.
    pub fn on_peer(&mut self, t: Time, src: &str, batch: FromPeer<S>, out: &mut Outbox<Out<S>>) {
        let Some(via) = self.id_of(src) else {
            tracing::warn!(%src, "raft messages from a stranger; ignored");
            return;
        };
        if let Some(to) = batch
            .to
            .as_deref()
            .filter(|&to| self.id_of(to) != Some(self.raft.id()))
        {
            self.links.heard(t, via, via);
            // Passed on once, to a member, named as coming from `src`.
            if self.id_of(to).is_some() {
                let to = Name::from(to);
                let relayed = PeerBatch {
                    to: None,
                    from: Some(src.to_owned()),
                    ..batch
                };
                out.send(to, RaftOut::Peer(Peer::Raft(relayed)));
            }
            return;
        }
        let from = match batch.from.as_deref() {
            Some(name) => match self.id_of(name) {
                Some(id) => id,
                None => return,
            },
            None => via,
        };
        self.links.heard(t, via, from);
        if let Some(mask) = batch.hears {
            self.links.report(t, from, mask);
        }
        for msg in batch.msgs {
            let r = self.raft.step(t, from, msg, &mut self.outputs);
            note(r);
        }
        self.settle(t, out);
    }

    /// A client's request; `forwarded` when another node forwarded it.
    pub fn on_request(
        &mut self,
        t: Time,
        origin: Origin,
        request: Req<S>,
        forwarded: Option<Forwarded>,
        out: &mut Outbox<Out<S>>,
    ) {
        let mut budget = self.config.budget;
        if let Some(f) = forwarded {
            budget = budget.min(core::time::Duration::from_millis(f.budget_ms));
        }
        let hops = forwarded.map_or(0, |f| f.hops);
        let soft = t + budget;
        let mut waiter = Waiter {
            origin,
            arrived: t,
            soft,
            hard: soft + self.config.slack,
            stage: Stage::Queued(request),
        };
        if self.raft.role() == Role::Leader {
            if !self.quorum_fresh(t) {
                return refuse(out, &waiter.origin, "the leader hears no majority");
            }
        } else if let Some(leader) = self.fresh_leader(t).filter(|_| hops < MAX_HOPS) {
            let Stage::Queued(request) = &waiter.stage else {
                return;
            };
            let forwarded = self.forwarded(t, waiter.soft, hops);
            return self.forward(t, leader, &waiter.origin, request, forwarded, out);
        } else if forwarded.is_some() {
            return refuse(out, &waiter.origin, "not the leader");
        } else {
            waiter.soft = t + budget.min(self.config.hold);
            let Stage::Queued(request) = waiter.stage else {
                return;
            };
            waiter.stage = Stage::Held(request);
        }
        let origin = waiter.origin.clone();
        if let Err(full) = self.waiters.admit(waiter) {
            refuse(out, &origin, &full.to_string());
        }
        self.settle(t, out);
    }

    /// The time has come to do what is due: Raft's timers, requests out of time, a round.
    pub fn on_timeout(&mut self, t: Time, out: &mut Outbox<Out<S>>) {
        if t >= self.raft.poll_timeout() {
            let r = self.raft.tick(t, &mut self.outputs);
            note(r);
        }
        for w in self.waiters.take_expired(t) {
            let error = match w.stage {
                Stage::Proposed { .. } => {
                    ErrorBody::new(ErrorCode::Timeout, "not committed in time; it may still be")
                }
                _ => unavailable("not served in time"),
            };
            answer(out, t, &w, Err(error));
        }
        self.settle(t, out);
    }

    /// When the node next has something to do, in node time.
    pub fn poll_timeout(&self) -> Time {
        let mut due = self.raft.poll_timeout();
        if let Some(d) = self.waiters.next_deadline() {
            due = due.min(d);
        }
        if self.raft.role() == Role::Leader && (self.waiters.any_queued() || self.buffered()) {
            due = due.min(self.last_flush + self.config.round);
        }
        due
    }

    /// After every call: compact if due, carry out Raft's outputs, release held requests,
    /// run a due round, flush, and queue Raft's storage writes (durable before any message
    /// of this call).
    fn settle(&mut self, t: Time, out: &mut Outbox<Out<S>>) {
        self.compact();
        self.carry_out(t, out);
        let leader = self.raft.role() == Role::Leader;
        if leader && !self.was_leader {
            self.last_flush = Time::ZERO;
        }
        self.was_leader = leader;
        if self.waiters.any_held() {
            self.release_held(t, out);
        }
        if leader {
            let work = self.waiters.any_queued() || self.buffered();
            if work && t >= self.last_flush + self.config.round {
                self.round(t, out);
            }
        } else if self.buffered() {
            self.flush(t, out);
        }
        for w in self.raft.storage().take_writes() {
            match w {
                glomers_node::Write::Append { log, record } => out.append(log, record),
                glomers_node::Write::Put { name, value } => out.put(name, value),
                glomers_node::Write::Trim { log, before } => out.trim(log, before),
            }
        }
    }

    /// The leader's round: one entry for the queued commands, one ReadIndex read for the
    /// queued reads, then every buffered message out.
    fn round(&mut self, t: Time, out: &mut Outbox<Out<S>>) {
        let queued = self.waiters.take(|w| matches!(w.stage, Stage::Queued(_)));
        let mut batch = Vec::new();
        let mut writers = Vec::new();
        let mut readers = Vec::new();
        for w in queued {
            match &w.stage {
                Stage::Queued(Request::Command(c)) => {
                    batch.push(c.clone());
                    writers.push(w);
                }
                _ => readers.push(w),
            }
        }
        if !batch.is_empty() {
            self.propose(t, batch, writers, out);
        }
        if !readers.is_empty() {
            self.start_read(t, readers, out);
        }
        self.carry_out(t, out);
        self.flush(t, out);
    }

    fn propose(
        &mut self,
        t: Time,
        batch: Log<S>,
        writers: Vec<Waiting<S>>,
        out: &mut Outbox<Out<S>>,
    ) {
        match self.raft.propose(t, batch, &mut self.outputs) {
            Ok(p) => {
                for (slot, mut w) in writers.into_iter().enumerate() {
                    w.stage = Stage::Proposed {
                        index: p.index,
                        term: p.term,
                        slot,
                    };
                    self.waiters.restore(w);
                }
            }
            Err(e) => {
                for w in writers {
                    answer(out, t, &w, Err(unavailable(&e.to_string())));
                }
            }
        }
    }

    fn start_read(&mut self, t: Time, readers: Vec<Waiting<S>>, out: &mut Outbox<Out<S>>) {
        let id = self.next_read;
        self.next_read += 1;
        match self.raft.read(t, id, &mut self.outputs) {
            Ok(()) => {
                for mut w in readers {
                    if let Stage::Queued(Request::Read(read)) = w.stage {
                        w.stage = Stage::Reading { id, read };
                        self.waiters.restore(w);
                    }
                }
            }
            Err(e) => {
                for w in readers {
                    answer(out, t, &w, Err(unavailable(&e.to_string())));
                }
            }
        }
    }

    /// Once [`RaftConfig::compact_every`] entries were applied since the last snapshot,
    /// hands Raft the service's state at the applied index in place of the log up to it.
    /// Done before this call's outputs are applied, so it covers what earlier calls applied
    /// (which the simulator's invariant checks have seen by then).
    fn compact(&mut self) {
        if self.applied < self.raft.snapshot_index() + self.config.compact_every {
            return;
        }
        let snapshot = self.service.snapshot();
        match self.raft.compact(self.applied, snapshot) {
            Ok(()) => tracing::debug!(index = self.applied, "log compacted"),
            Err(e) => tracing::error!(error = %e, "raft compaction"),
        }
    }

    /// Carries out Raft's outputs, in order.
    fn carry_out(&mut self, t: Time, out: &mut Outbox<Out<S>>) {
        while !self.outputs.is_empty() {
            for output in std::mem::take(&mut self.outputs) {
                match output {
                    Output::Send { to, msg } => self.buffer(t, to, msg, out),
                    Output::Apply(entry) => self.apply(t, entry, out),
                    Output::Restore(snapshot) => {
                        tracing::info!(index = snapshot.index, "snapshot installed");
                        self.applied = snapshot.index;
                        self.service = S::restore(snapshot.data);
                    }
                    Output::ReadReady { id } => {
                        for w in self.waiters.take_reading(id) {
                            if let Stage::Reading { read, .. } = &w.stage {
                                answer(out, t, &w, self.service.read(read));
                            }
                        }
                    }
                    Output::ReadFailed { id, .. } => {
                        for w in self.waiters.take_reading(id) {
                            answer(out, t, &w, Err(unavailable("leadership lost")));
                        }
                    }
                }
            }
        }
    }

    /// Applies a committed entry; answers the requests whose commands it holds, or, if
    /// another leader's entry took their place, tells them they did not happen.
    fn apply(&mut self, t: Time, entry: Entry<Log<S>>, out: &mut Outbox<Out<S>>) {
        self.applied = entry.index;
        let mut results: Vec<_> = match &entry.payload {
            Payload::Noop => Vec::new(),
            Payload::Command(batch) => batch.iter().map(|c| Some(self.service.apply(c))).collect(),
        };
        for w in self.waiters.take_proposed(entry.index) {
            let Stage::Proposed { term, slot, .. } = w.stage else {
                continue;
            };
            let result = if term == entry.term {
                results.get_mut(slot).and_then(Option::take)
            } else {
                None
            };
            let result = result.unwrap_or_else(|| Err(unavailable("lost to another leader")));
            answer(out, t, &w, result);
        }
    }

    /// Keeps a Raft message for the next flush (flushing at once when the buffer is full).
    fn buffer(
        &mut self,
        t: Time,
        to: NodeId,
        msg: glomers_raft::Message<Log<S>, S::Snapshot>,
        out: &mut Outbox<Out<S>>,
    ) {
        let Some(buffer) = self.buffers.get_mut(usize::from(to)) else {
            return;
        };
        buffer.push(msg);
        if buffer.len() >= self.config.max_buffered {
            self.flush(t, out);
        }
    }

    fn buffered(&self) -> bool {
        self.buffers.iter().any(|b| !b.is_empty())
    }

    /// Sends every buffered message: one Maelstrom message per peer, through another node
    /// if the peer does not hear this one (see [`Links`]).
    fn flush(&mut self, t: Time, out: &mut Outbox<Out<S>>) {
        let hears = self.links.mask(t, self.config.reach());
        for to in 0..self.buffers.len() {
            if self.buffers[to].is_empty() {
                continue;
            }
            let msgs = std::mem::take(&mut self.buffers[to]);
            let (Ok(peer), Some(name)) = (NodeId::try_from(to), self.names.get(to)) else {
                continue;
            };
            let batch = PeerBatch {
                msgs,
                hears: Some(hears),
                to: None,
                from: None,
            };
            let relay = self.relay(t, peer);
            if let Some(relay) = relay.and_then(|r| self.names.get(usize::from(r))) {
                let relayed = PeerBatch {
                    to: Some(name.to_string()),
                    ..batch.clone()
                };
                out.send(relay.clone(), RaftOut::Peer(Peer::Raft(relayed)));
            }
            if relay.is_none() || self.links.probe_due(t, peer, self.config.reach() / 2) {
                out.send(name.clone(), RaftOut::Peer(Peer::Raft(batch)));
                self.links.sent(t, peer);
            }
            self.last_flush = t;
        }
    }

    /// The node to pass `peer`'s messages through, if `peer` does not hear this one.
    fn relay(&self, t: Time, peer: NodeId) -> Option<NodeId> {
        self.links
            .relay(t, peer, self.config.reach(), self.config.round)
    }

    /// Held requests: to the leader's queue if this node leads now, forwarded if a
    /// reachable leader is known.
    fn release_held(&mut self, t: Time, out: &mut Outbox<Out<S>>) {
        let leading = self.raft.role() == Role::Leader;
        let leader = self.fresh_leader(t);
        if !leading && leader.is_none() {
            return;
        }
        for mut w in self.waiters.take(|w| matches!(w.stage, Stage::Held(_))) {
            let Stage::Held(request) = w.stage else {
                continue;
            };
            match leader {
                Some(l) if !leading => {
                    let forwarded = self.forwarded(t, w.arrived + self.config.budget, 0);
                    self.forward(t, l, &w.origin, &request, forwarded, out);
                }
                _ => {
                    w.soft = w.arrived + self.config.budget;
                    w.hard = w.soft + self.config.slack;
                    w.stage = Stage::Queued(request);
                    self.waiters.restore(w);
                }
            }
        }
    }

    /// What a forward carries: the time left until `soft`, and one more hop than `hops`.
    fn forwarded(&self, t: Time, soft: Time, hops: u8) -> Forwarded {
        let left = soft.saturating_since(t);
        Forwarded {
            budget_ms: u64::try_from(left.as_millis()).unwrap_or(u64::MAX),
            hops: hops + 1,
        }
    }

    /// Forwards `request` towards `leader` on its client's behalf (through another node if
    /// the leader does not hear this one); the leader answers the client itself.
    fn forward(
        &self,
        t: Time,
        leader: NodeId,
        origin: &Origin,
        request: &Req<S>,
        forwarded: Forwarded,
        out: &mut Outbox<Out<S>>,
    ) {
        // One way only: a request that reached the leader twice could be applied twice.
        let via = self.relay(t, leader).unwrap_or(leader);
        let (Some(name), false) = (self.names.get(usize::from(via)), forwarded.budget_ms == 0)
        else {
            return refuse(out, origin, "no time left to forward");
        };
        out.forward(
            origin,
            name.clone(),
            RaftOut::Forward(S::forward(request, forwarded)),
        );
    }

    /// The leader, if it is another node heard from within `fresh`.
    fn fresh_leader(&self, t: Time) -> Option<NodeId> {
        let leader = self.raft.leader().filter(|&l| l != self.raft.id())?;
        self.is_fresh(t, leader).then_some(leader)
    }

    /// Whether a majority, counting this node, was heard from within `fresh`. (Always, for
    /// the deliberately broken leader that believes it still leads:
    /// [`glomers_raft::Fault::ReadsWithoutQuorum`].)
    fn quorum_fresh(&self, t: Time) -> bool {
        #[cfg(feature = "broken-raft")]
        if self.config.fault == glomers_raft::Fault::ReadsWithoutQuorum {
            return true;
        }
        let heard = self
            .raft
            .peers()
            .iter()
            .filter(|&&p| self.is_fresh(t, p))
            .count();
        heard + 1 >= self.raft.majority()
    }

    fn is_fresh(&self, t: Time, id: NodeId) -> bool {
        self.links.fresh(t, id, self.config.fresh)
    }

    fn id_of(&self, name: &str) -> Option<NodeId> {
        let i = self.names.iter().position(|n| n == name)?;
        NodeId::try_from(i).ok()
    }
}

/// Answers `w` with `result`, unless its client has given up (`hard` passed).
fn answer<R, F, C, D, Rd, Cm>(
    out: &mut Outbox<RaftOut<R, F, C, D>>,
    t: Time,
    w: &Waiter<Rd, Cm>,
    result: Result<R, ErrorBody>,
) {
    if t >= w.hard {
        tracing::debug!(client = %w.origin.src, "answer too late for the client; dropped");
        return;
    }
    match result {
        Ok(reply) => out.reply(&w.origin, RaftOut::Reply(reply)),
        Err(e) => out.reply_error(&w.origin, e),
    }
}

/// Error 11 (definite: nothing was done) with `why`.
fn unavailable(why: &str) -> ErrorBody {
    ErrorBody::new(ErrorCode::TemporarilyUnavailable, why)
}

fn refuse<R, F, C, D>(out: &mut Outbox<RaftOut<R, F, C, D>>, origin: &Origin, why: &str) {
    out.reply_error(origin, unavailable(why));
}

/// Logs a failed Raft call: a refused append, or a storage write that could not be encoded.
fn note<T, E: core::fmt::Display>(r: Result<T, RaftError<E>>) {
    match r {
        Ok(_) => {}
        Err(e @ RaftError::Storage(_)) => tracing::error!(error = %e, "raft storage"),
        Err(e) => tracing::warn!(error = %e, "raft refused a step"),
    }
}
