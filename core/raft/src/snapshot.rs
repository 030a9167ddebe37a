//! Snapshots and log compaction: the application compacts what it applied
//! ([`Raft::compact`]); a leader that no longer holds the entries a follower needs sends its
//! snapshot instead ([`InstallSnapshot`]); the follower installs it if it is newer than its
//! commit index and hands it to the application ([`Output::Restore`]). See the crate docs,
//! section *Snapshots*, for why this keeps every invariant.

use rand_core::RngCore;

use crate::error::Error;
use crate::message::{AppendResult, InstallSnapshot, Message, NodeId};
use crate::output::{Outbox, Output};
use crate::raft::{Raft, Res, Role};
use crate::storage::{Snapshot, Storage};

impl<C: Clone, S: Storage<C>, R: RngCore> Raft<C, S, R> {
    /// Replaces the log up to `index` with `data`, the application's state after applying
    /// every entry up to `index`. `index` must not exceed [`Raft::applied_index`]
    /// ([`Error::CompactBeyondApplied`]); at or below the current snapshot it does nothing.
    /// Entries after `index` stay. Its storage writes follow the usual rule (durable before
    /// the outputs of the next call are released).
    pub fn compact(&mut self, index: u64, data: S::Snapshot) -> Res<(), C, S> {
        #[cfg(any(test, feature = "broken"))]
        if self.fault == crate::raft::Fault::CompactsUncommitted {
            return self.compact_to(self.storage.last_index(), data);
        }
        if index > self.applied {
            return Err(Error::CompactBeyondApplied {
                index,
                applied: self.applied,
            });
        }
        self.compact_to(index, data)
    }

    fn compact_to(&mut self, index: u64, data: S::Snapshot) -> Res<(), C, S> {
        if index < self.storage.first_index() {
            return Ok(());
        }
        let term = self.term_of(index)?;
        let snapshot = Snapshot { index, term, data };
        self.storage
            .install_snapshot(snapshot)
            .map_err(Error::Storage)
    }

    /// The index of the last entry the snapshot covers (0 without one).
    pub fn snapshot_index(&self) -> u64 {
        self.storage.first_index().saturating_sub(1)
    }

    /// Sends follower `k` the snapshot (its `next` entry is compacted away).
    pub(crate) fn send_snapshot(
        &mut self,
        k: usize,
        out: &mut impl Outbox<C, S::Snapshot>,
    ) -> Res<(), C, S> {
        let (Some(&to), Some(snapshot)) = (
            self.peers.get(k),
            self.storage.snapshot().map_err(Error::Storage)?,
        ) else {
            return Ok(());
        };
        let last = snapshot.index;
        let msg = Message::Snapshot(InstallSnapshot {
            term: self.hard.term,
            snapshot,
            round: self.round,
        });
        out.push(Output::Send { to, msg });
        if let Some(pr) = self.progress.get_mut(k) {
            pr.sent(last, self.now);
        }
        Ok(())
    }

    /// A leader's snapshot: installed if newer than the commit index, then accepted up to
    /// its index (a committed prefix matches every leader's log).
    pub(crate) fn on_snapshot(
        &mut self,
        from: NodeId,
        m: InstallSnapshot<S::Snapshot>,
        out: &mut impl Outbox<C, S::Snapshot>,
    ) -> Res<(), C, S> {
        let index = m.snapshot.index;
        if m.term < self.hard.term {
            let result = AppendResult::Rejected {
                prev_index: index,
                hint_index: 0,
                hint_term: None,
            };
            return self.respond(from, 0, result, out);
        }
        if self.role == Role::Leader {
            return Ok(());
        }
        if self.role != Role::Follower || self.leader != Some(from) {
            self.become_follower(m.term, Some(from), out)?;
        }
        self.leader_contact = Some(self.now);
        self.reset_election_timer();
        #[cfg(any(test, feature = "broken"))]
        if self.fault == crate::raft::Fault::InstallsStaleSnapshot && index <= self.commit {
            self.storage
                .install_snapshot(m.snapshot)
                .map_err(Error::Storage)?;
            self.storage.truncate(index + 1).map_err(Error::Storage)?;
            let result = AppendResult::Accepted { match_index: index };
            return self.respond(from, m.round, result, out);
        }
        if index > self.commit {
            self.storage
                .install_snapshot(m.snapshot.clone())
                .map_err(Error::Storage)?;
            self.commit = index;
            self.applied = index;
            out.push(Output::Restore(m.snapshot));
        }
        let result = AppendResult::Accepted { match_index: index };
        self.respond(from, m.round, result, out)?;
        self.apply(out)
    }
}
