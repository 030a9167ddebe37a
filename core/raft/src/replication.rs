//! Log replication: the leader's appends and heartbeats, the follower's consistency check,
//! commit and apply (see the crate docs, section *Replication*, for why it is safe).

use rand_core::RngCore;

use crate::error::Error;
use crate::message::{Append, AppendResponse, AppendResult, Entry, Message, NodeId};
use crate::output::{Outbox, Output};
use crate::raft::{Raft, Res, Role};
use crate::storage::Storage;

impl<C: Clone, S: Storage<C>, R: RngCore> Raft<C, S, R> {
    /// The leader's periodic work: step down without a quorum, expire lost appends,
    /// replicate or heartbeat to every follower.
    pub(crate) fn leader_tick(&mut self, out: &mut impl Outbox<C, S::Snapshot>) -> Res<(), C, S> {
        self.heartbeat_deadline = self.now + self.config.heartbeat_interval;
        if !self.has_quorum() {
            return self.become_follower(self.hard.term, None, out);
        }
        let timeout = self.config.retransmit_timeout;
        for pr in self.progress.iter_mut() {
            pr.expire(self.now, timeout);
        }
        self.replicate(true, out)
    }

    /// Check-quorum: false once a majority (counting the leader) has been silent for the
    /// longest election timeout, so that a leader cut off in a minority stops taking work
    /// that cannot commit.
    fn has_quorum(&self) -> bool {
        #[cfg(any(test, feature = "broken"))]
        if self.fault == crate::raft::Fault::ReadsWithoutQuorum {
            return true;
        }
        let span = self.config.election_timeout_max;
        if self.now.saturating_since(self.led_since) < span {
            return true;
        }
        let recent = self
            .progress
            .iter()
            .filter(|p| {
                p.last_heard
                    .is_some_and(|t| self.now.saturating_since(t) < span)
            })
            .count();
        recent + 1 >= self.majority()
    }

    /// Sends each follower what its window allows; with `heartbeat`, an empty append to
    /// those that got nothing.
    pub(crate) fn replicate(
        &mut self,
        heartbeat: bool,
        out: &mut impl Outbox<C, S::Snapshot>,
    ) -> Res<(), C, S> {
        for k in 0..self.peers.len() {
            if !self.send_append(k, out)? && heartbeat {
                self.send_heartbeat(k, out)?;
            }
        }
        Ok(())
    }

    /// Sends follower `k` the entries from its `next`, if any are due and the window
    /// allows. True if a message left.
    fn send_append(&mut self, k: usize, out: &mut impl Outbox<C, S::Snapshot>) -> Res<bool, C, S> {
        let last = self.storage.last_index();
        let Some(pr) = self.progress.get(k) else {
            return Ok(false);
        };
        if pr.next > last || !pr.can_send(self.config.window) {
            return Ok(false);
        }
        if pr.next < self.storage.first_index() {
            self.send_snapshot(k, out)?;
            return Ok(true);
        }
        let prev_index = pr.next - 1;
        let end = last.min(prev_index + self.config.max_batch as u64);
        let mut entries = heapless::Vec::new();
        for index in pr.next..=end {
            let entry = self.entry_at(index)?;
            if entries.push(entry).is_err() {
                break;
            }
        }
        let sent_last = prev_index + entries.len() as u64;
        self.send_to(k, prev_index, entries, out)?;
        if let Some(pr) = self.progress.get_mut(k) {
            pr.sent(sent_last, self.now);
        }
        Ok(true)
    }

    /// An empty append at follower `k`'s match point: keeps leadership, confirms reads,
    /// carries the commit index; never rejected by a follower still in this term. (If the
    /// match point was compacted away, at the snapshot's index: a follower that lacks it
    /// rejects, and is sent the snapshot.)
    pub(crate) fn send_heartbeat(
        &mut self,
        k: usize,
        out: &mut impl Outbox<C, S::Snapshot>,
    ) -> Res<(), C, S> {
        let matched = self.progress.get(k).map_or(0, |p| p.matched);
        let prev = matched.max(self.snapshot_index());
        self.send_to(k, prev, heapless::Vec::new(), out)
    }

    fn send_to(
        &mut self,
        k: usize,
        prev_index: u64,
        entries: heapless::Vec<Entry<C>, { crate::MAX_APPEND_ENTRIES }>,
        out: &mut impl Outbox<C, S::Snapshot>,
    ) -> Res<(), C, S> {
        let Some(&to) = self.peers.get(k) else {
            return Ok(());
        };
        let msg = Message::Append(Append {
            term: self.hard.term,
            prev_index,
            prev_term: self.term_of(prev_index)?,
            entries,
            commit: self.commit,
            round: self.round,
        });
        out.push(Output::Send { to, msg });
        Ok(())
    }

    pub(crate) fn on_append(
        &mut self,
        from: NodeId,
        a: Append<C>,
        out: &mut impl Outbox<C, S::Snapshot>,
    ) -> Res<(), C, S> {
        if a.term < self.hard.term {
            // Tell a deposed leader the newer term. Round 0: this answer may predate a read
            // of the current term's leader, so it must not confirm one (rounds restart at 0
            // when a node restarts, and a read's round is at least 1).
            let result = AppendResult::Rejected {
                prev_index: a.prev_index,
                hint_index: 0,
                hint_term: None,
            };
            return self.respond(from, 0, result, out);
        }
        if self.role == Role::Leader || !well_formed(&a) {
            return Ok(());
        }
        if self.role != Role::Follower || self.leader != Some(from) {
            self.become_follower(a.term, Some(from), out)?;
        }
        self.leader_contact = Some(self.now);
        self.reset_election_timer();
        if let Some(result) = self.check_prev(&a)? {
            return self.respond(from, a.round, result, out);
        }
        self.merge(&a.entries)?;
        let match_index = a.prev_index + a.entries.len() as u64;
        self.commit = self.commit.max(a.commit.min(match_index));
        self.respond(from, a.round, AppendResult::Accepted { match_index }, out)?;
        self.apply(out)
    }

    /// The consistency check: `None` if our entry at `prev_index` has `prev_term`, else the
    /// rejection with its hint.
    fn check_prev(&self, a: &Append<C>) -> Res<Option<AppendResult>, C, S> {
        let last = self.storage.last_index();
        if a.prev_index > last {
            return Ok(Some(AppendResult::Rejected {
                prev_index: a.prev_index,
                hint_index: last + 1,
                hint_term: None,
            }));
        }
        if a.prev_index < self.snapshot_index() {
            // Compacted, so committed: it matches every leader's entry there.
            return Ok(None);
        }
        let term = self.term_of(a.prev_index)?;
        if term == a.prev_term {
            return Ok(None);
        }
        // The first index of `term`; entries up to the commit index match any leader's.
        let mut first = a.prev_index;
        while first > self.commit + 1 && self.term_of(first - 1)? == term {
            first -= 1;
        }
        Ok(Some(AppendResult::Rejected {
            prev_index: a.prev_index,
            hint_index: first,
            hint_term: Some(term),
        }))
    }

    /// Adds `entries` (which follow a matching entry): skips those already held or
    /// compacted, cuts the log at the first conflicting one, appends the rest.
    fn merge(&mut self, entries: &[Entry<C>]) -> Res<(), C, S> {
        let last = self.storage.last_index();
        let first = self.storage.first_index();
        let mut fresh = entries.len();
        for (i, e) in entries.iter().enumerate() {
            if e.index < first {
                continue;
            }
            if e.index > last {
                fresh = i;
                break;
            }
            if self.term_of(e.index)? != e.term {
                if e.index <= self.commit {
                    return Err(Error::CommittedConflict { index: e.index });
                }
                self.storage.truncate(e.index).map_err(Error::Storage)?;
                fresh = i;
                break;
            }
        }
        match entries.get(fresh..) {
            Some(rest) if !rest.is_empty() => self.storage.append(rest).map_err(Error::Storage),
            _ => Ok(()),
        }
    }

    pub(crate) fn respond(
        &mut self,
        to: NodeId,
        round: u64,
        result: AppendResult,
        out: &mut impl Outbox<C, S::Snapshot>,
    ) -> Res<(), C, S> {
        let term = self.hard.term;
        let msg = Message::AppendResponse(AppendResponse {
            term,
            round,
            result,
        });
        out.push(Output::Send { to, msg });
        Ok(())
    }

    pub(crate) fn on_append_response(
        &mut self,
        from: NodeId,
        r: AppendResponse,
        out: &mut impl Outbox<C, S::Snapshot>,
    ) -> Res<(), C, S> {
        if self.role != Role::Leader || r.term != self.hard.term {
            return Ok(());
        }
        let (Some(k), last) = (self.peer_slot(from), self.storage.last_index()) else {
            return Ok(());
        };
        let Some(pr) = self.progress.get_mut(k) else {
            return Ok(());
        };
        pr.last_heard = Some(self.now);
        pr.acked_round = pr.acked_round.max(r.round.min(self.round));
        match r.result {
            AppendResult::Accepted { match_index } if match_index <= last => {
                pr.accepted(match_index);
                self.advance_commit()?;
                self.send_append(k, out)?;
            }
            AppendResult::Accepted { .. } => {}
            AppendResult::Rejected {
                prev_index,
                hint_index,
                hint_term,
            } => {
                let stale =
                    prev_index < pr.matched || (!pr.replicating && prev_index + 1 != pr.next);
                if !stale {
                    let next = self.next_after_rejection(prev_index, hint_index, hint_term)?;
                    if let Some(pr) = self.progress.get_mut(k) {
                        pr.probe_from(next);
                    }
                    self.send_append(k, out)?;
                }
            }
        }
        self.apply(out)
    }

    /// Where to probe next after a rejection at `prev_index`: past our last entry of the
    /// follower's conflicting term if we have that term, else the follower's hint index.
    fn next_after_rejection(
        &self,
        prev_index: u64,
        hint_index: u64,
        hint_term: Option<u64>,
    ) -> Res<u64, C, S> {
        let mut next = hint_index;
        if let Some(t) = hint_term {
            let mut i = prev_index.min(self.storage.last_index());
            let floor = self.snapshot_index();
            while i > floor {
                let term = self.term_of(i)?;
                if term == t {
                    next = i + 1;
                    break;
                }
                if term < t {
                    break;
                }
                i -= 1;
            }
        }
        Ok(next.min(prev_index).max(1))
    }

    /// Commits the highest index held by a majority, if it is of the current term.
    pub(crate) fn advance_commit(&mut self) -> Res<(), C, S> {
        let mut matched: heapless::Vec<u64, { crate::MAX_NODES }> = heapless::Vec::new();
        let _ = matched.push(self.storage.last_index());
        for pr in self.progress.iter() {
            let _ = matched.push(pr.matched);
        }
        matched.sort_unstable_by(|a, b| b.cmp(a));
        let Some(&n) = matched.get(self.majority() - 1) else {
            return Ok(());
        };
        if n <= self.commit {
            return Ok(());
        }
        #[cfg(any(test, feature = "broken"))]
        if self.fault == crate::raft::Fault::CommitsOldTerm {
            self.commit = n;
            return Ok(());
        }
        if self.term_of(n)? == self.hard.term {
            self.commit = n;
        }
        Ok(())
    }

    /// Hands out committed entries (at most `max_apply_batch`), then the reads now ready.
    pub(crate) fn apply(&mut self, out: &mut impl Outbox<C, S::Snapshot>) -> Res<(), C, S> {
        let mut budget = self.config.max_apply_batch;
        while self.applied < self.commit && budget > 0 {
            let entry = self.entry_at(self.applied + 1)?;
            out.push(Output::Apply(entry));
            self.applied += 1;
            budget -= 1;
        }
        if self.role != Role::Leader {
            return Ok(());
        }
        if self.commit >= self.term_start {
            self.reads.assign(self.commit);
        }
        let confirmed = self.confirmed_round();
        while let Some(id) = self.reads.pop_ready(confirmed, self.applied) {
            out.push(Output::ReadReady { id });
        }
        Ok(())
    }

    /// The highest round a majority (counting the leader, at its current round) answered.
    fn confirmed_round(&self) -> u64 {
        #[cfg(any(test, feature = "broken"))]
        if self.fault == crate::raft::Fault::ReadsWithoutQuorum {
            return self.round;
        }
        let mut rounds: heapless::Vec<u64, { crate::MAX_NODES }> = heapless::Vec::new();
        let _ = rounds.push(self.round);
        for pr in self.progress.iter() {
            let _ = rounds.push(pr.acked_round);
        }
        rounds.sort_unstable_by(|a, b| b.cmp(a));
        rounds.get(self.majority() - 1).copied().unwrap_or(0)
    }

    fn entry_at(&self, index: u64) -> Res<Entry<C>, C, S> {
        self.storage
            .entry(index)
            .map_err(Error::Storage)?
            .ok_or(Error::MissingEntry { index })
    }
}

/// Entries numbered from `prev_index + 1`, of terms between `prev_term` and the message's
/// term, never decreasing.
fn well_formed<C>(a: &Append<C>) -> bool {
    let mut term = a.prev_term;
    for (i, e) in a.entries.iter().enumerate() {
        let expected = a.prev_index.checked_add(i as u64 + 1);
        if expected != Some(e.index) || e.term < term || e.term > a.term {
            return false;
        }
        term = e.term;
    }
    a.prev_term <= a.term
}
