//! Leader election: timeouts, pre-vote, vote, and the role changes (see the crate docs,
//! section *Election*, for why it is safe).

use rand_core::RngCore;

use crate::error::Error;
use crate::message::{Entry, Message, NodeId, Payload, VoteRequest, VoteResponse};
use crate::output::{Outbox, Output};
use crate::progress::Progress;
use crate::raft::{Raft, Res, Role};
use crate::storage::{HardState, Storage};

impl<C: Clone, S: Storage<C>, R: RngCore> Raft<C, S, R> {
    pub(crate) fn on_pre_vote(
        &mut self,
        from: NodeId,
        req: VoteRequest,
        out: &mut impl Outbox<C, S::Snapshot>,
    ) -> Res<(), C, S> {
        let granted = req.term > self.hard.term && !self.leader_alive() && self.log_ok(&req)?;
        let term = if granted { req.term } else { self.hard.term };
        let msg = Message::PreVoteResponse(VoteResponse { term, granted });
        out.push(Output::Send { to: from, msg });
        Ok(())
    }

    pub(crate) fn on_pre_vote_response(
        &mut self,
        from: NodeId,
        r: VoteResponse,
        out: &mut impl Outbox<C, S::Snapshot>,
    ) -> Res<(), C, S> {
        let current = self.role == Role::PreCandidate && r.term == self.hard.term + 1;
        if current && r.granted && self.count_grant(from) {
            self.start_election(out)?;
        }
        Ok(())
    }

    pub(crate) fn on_vote(
        &mut self,
        from: NodeId,
        req: VoteRequest,
        out: &mut impl Outbox<C, S::Snapshot>,
    ) -> Res<(), C, S> {
        // A newer term was adopted in `step`; an older one is refused with ours.
        let free = self.hard.vote.is_none() || self.hard.vote == Some(from);
        let granted = req.term == self.hard.term && free && self.log_ok(&req)?;
        if granted {
            if self.hard.vote.is_none() {
                self.save_hard_state(HardState {
                    term: self.hard.term,
                    vote: Some(from),
                })?;
            }
            self.reset_election_timer();
        }
        let term = self.hard.term;
        let msg = Message::VoteResponse(VoteResponse { term, granted });
        out.push(Output::Send { to: from, msg });
        Ok(())
    }

    pub(crate) fn on_vote_response(
        &mut self,
        from: NodeId,
        r: VoteResponse,
        out: &mut impl Outbox<C, S::Snapshot>,
    ) -> Res<(), C, S> {
        let current = self.role == Role::Candidate && r.term == self.hard.term;
        if current && r.granted && self.count_grant(from) {
            self.become_leader(out)?;
        }
        Ok(())
    }

    /// Records a grant from `from`; true when the grants and our own make a majority.
    fn count_grant(&mut self, from: NodeId) -> bool {
        if let Some(k) = self.peer_slot(from) {
            self.granted |= 1 << k;
        }
        self.granted.count_ones() as usize + 1 >= self.majority()
    }

    pub(crate) fn start_pre_vote(
        &mut self,
        out: &mut impl Outbox<C, S::Snapshot>,
    ) -> Res<(), C, S> {
        if self.majority() == 1 {
            return self.start_election(out);
        }
        self.fail_reads(out);
        self.role = Role::PreCandidate;
        self.leader = None;
        self.granted = 0;
        self.reset_election_timer();
        let req = self.vote_request(self.hard.term + 1)?;
        for &to in self.peers.iter() {
            out.push(Output::Send {
                to,
                msg: Message::PreVote(req),
            });
        }
        Ok(())
    }

    fn start_election(&mut self, out: &mut impl Outbox<C, S::Snapshot>) -> Res<(), C, S> {
        self.save_hard_state(HardState {
            term: self.hard.term + 1,
            vote: Some(self.id),
        })?;
        self.role = Role::Candidate;
        self.leader = None;
        self.granted = 0;
        self.reset_election_timer();
        if self.majority() == 1 {
            return self.become_leader(out);
        }
        let req = self.vote_request(self.hard.term)?;
        for &to in self.peers.iter() {
            out.push(Output::Send {
                to,
                msg: Message::Vote(req),
            });
        }
        Ok(())
    }

    fn become_leader(&mut self, out: &mut impl Outbox<C, S::Snapshot>) -> Res<(), C, S> {
        let last = self.storage.last_index();
        self.role = Role::Leader;
        self.leader = Some(self.id);
        self.led_since = self.now;
        self.progress.clear();
        for _ in 0..self.peers.len() {
            // `progress` has the capacity of `peers`.
            let _ = self.progress.push(Progress::new(last));
        }
        let noop = Entry {
            term: self.hard.term,
            index: last + 1,
            payload: Payload::Noop,
        };
        self.storage.append(&[noop]).map_err(Error::Storage)?;
        self.term_start = last + 1;
        self.leader_tick(out)?;
        self.advance_commit()?;
        self.apply(out)
    }

    /// Becomes a follower of `leader` in `term` (saving the new term with no vote when it
    /// changes); a leader's pending reads fail.
    pub(crate) fn become_follower(
        &mut self,
        term: u64,
        leader: Option<NodeId>,
        out: &mut impl Outbox<C, S::Snapshot>,
    ) -> Res<(), C, S> {
        if term != self.hard.term {
            self.save_hard_state(HardState { term, vote: None })?;
        }
        self.fail_reads(out);
        self.role = Role::Follower;
        self.leader = leader;
        self.reset_election_timer();
        Ok(())
    }

    fn fail_reads(&mut self, out: &mut impl Outbox<C, S::Snapshot>) {
        while let Some(id) = self.reads.pop() {
            out.push(Output::ReadFailed { id, leader: None });
        }
    }

    pub(crate) fn save_hard_state(&mut self, hard: HardState) -> Res<(), C, S> {
        self.storage.save_hard_state(hard).map_err(Error::Storage)?;
        self.hard = hard;
        Ok(())
    }

    /// A new election deadline, uniformly in `[min, max)` from now.
    pub(crate) fn reset_election_timer(&mut self) {
        let min = self.config.election_timeout_min;
        let span = self.config.election_timeout_max.saturating_sub(min);
        let span_ns = u64::try_from(span.as_nanos()).unwrap_or(u64::MAX).max(1);
        let jitter = core::time::Duration::from_nanos(self.rng.next_u64() % span_ns);
        self.election_deadline = self.now + min + jitter;
    }

    /// Whether this node leads, or heard from a leader within the minimum election timeout.
    fn leader_alive(&self) -> bool {
        let min = self.config.election_timeout_min;
        self.role == Role::Leader
            || self
                .leader_contact
                .is_some_and(|t| self.now.saturating_since(t) < min)
    }

    fn vote_request(&self, term: u64) -> Res<VoteRequest, C, S> {
        let last_index = self.storage.last_index();
        Ok(VoteRequest {
            term,
            last_index,
            last_term: self.term_of(last_index)?,
        })
    }

    /// The up-to-date check: the candidate's log ends at least as late as ours.
    fn log_ok(&self, req: &VoteRequest) -> Res<bool, C, S> {
        #[cfg(any(test, feature = "broken"))]
        if self.fault == crate::raft::Fault::VoteIgnoresLog {
            return Ok(true);
        }
        let ours = self.vote_request(req.term)?;
        Ok((req.last_term, req.last_index) >= (ours.last_term, ours.last_index))
    }

    /// The term of the entry at `index`, which must exist (index 0 is term 0).
    pub(crate) fn term_of(&self, index: u64) -> Res<u64, C, S> {
        self.storage
            .term(index)
            .map_err(Error::Storage)?
            .ok_or(Error::MissingEntry { index })
    }
}
