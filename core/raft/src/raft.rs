//! [`Raft`]: one node's state machine and its public calls.

use core::marker::PhantomData;

use glomers_node::Time;
use heapless::Vec;
use rand_core::RngCore;
use serde::{Deserialize, Serialize};

use crate::config::{Config, ConfigError, MAX_NODES};
use crate::error::Error;
use crate::message::{Entry, Message, NodeId, Payload};
use crate::output::Outbox;
use crate::progress::Progress;
use crate::read::Reads;
use crate::storage::{HardState, Storage};

/// A node's role in its current term.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Follows the leader it hears from (if any).
    Follower,
    /// Asking for pre-votes before campaigning; its term is unchanged.
    PreCandidate,
    /// Campaigning in its (already incremented) term.
    Candidate,
    /// Leading its term.
    Leader,
}

/// Where a proposal went in the log; see [`Output::Apply`](crate::Output::Apply) for how to learn its fate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Proposed {
    /// Its index.
    pub index: u64,
    /// The leader's term, which the applied entry at `index` has if the proposal succeeded.
    pub term: u64,
}

/// A deliberately broken rule, for the tests that show the invariant checks catch it.
///
/// Built only for the crate's own tests and with the `broken` feature, which exists so
/// that other crates' tests (a node program's swarm) can show the checks catch a broken
/// node too. **Every variant but `None` makes the node unsafe.**
#[cfg(any(test, feature = "broken"))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Fault {
    /// The correct rules.
    #[default]
    None,
    /// Grant (pre-)votes without the up-to-date-log check.
    VoteIgnoresLog,
    /// Commit any entry a majority holds, of whatever term.
    ///
    /// Unsafe only in the Raft paper's figure 8, which random faults on a node program
    /// practically never build. It needs a follower to acknowledge an old-term entry
    /// without the leader's current-term entries after it, but a new leader appends its
    /// no-op at once and sends a follower everything from where their logs match, up to
    /// [`MAX_APPEND_ENTRIES`](crate::MAX_APPEND_ENTRIES) entries per append: unless the
    /// follower lags by more than that, the old-term entry and the no-op arrive together,
    /// and counting replicas commits what the current-term rule commits. It also needs a
    /// leader of an intermediate term whose entry at that index reached none of its
    /// voters, but a leader's no-op leaves with its first heartbeat, the moment it wins.
    /// The crate's tests script that schedule, one entry per append.
    CommitsOldTerm,
    /// Release reads without a majority confirming the leader's round, and never step
    /// down by check-quorum: a leader that believes it still leads. Check-quorum is the
    /// leader's other quorum test: with it, a leader cut off by a partition steps down
    /// after the longest election timeout, which leaves a stale read only the narrow
    /// window between the new leader's first write and that step-down. A node program
    /// that refuses requests at a leader that heard from no majority lately (the shell's
    /// programs: within two rounds) must skip that test too for this variant: a new leader
    /// is elected an election timeout (longer than a round) after its voters last heard
    /// the old one, and commits a write later still, so only a clock fault on the old
    /// leader could open a window.
    ReadsWithoutQuorum,
    /// Install every snapshot a leader sends, even one older than the commit index, in
    /// place of the whole log (no matching suffix kept).
    InstallsStaleSnapshot,
    /// Compact the whole log, uncommitted entries included, whatever index is asked.
    CompactsUncommitted,
}

pub(crate) type Res<T, C, S> = Result<T, Error<<S as Storage<C>>::Error>>;

/// One Raft node, sans-IO: feed it messages ([`Raft::step`]), deadlines ([`Raft::tick`]),
/// proposals and reads; it writes its persistent state to `S` and pushes [`Output`](crate::Output)s.
/// `C` is the command type, `R` the randomness for election timeouts.
pub struct Raft<C, S, R> {
    pub(crate) id: NodeId,
    pub(crate) peers: Vec<NodeId, MAX_NODES>,
    pub(crate) config: Config,
    pub(crate) storage: S,
    pub(crate) rng: R,
    pub(crate) hard: HardState,
    pub(crate) role: Role,
    pub(crate) leader: Option<NodeId>,
    pub(crate) commit: u64,
    pub(crate) applied: u64,
    pub(crate) now: Time,
    pub(crate) election_deadline: Time,
    pub(crate) heartbeat_deadline: Time,
    /// When this node last accepted an append from its term's leader.
    pub(crate) leader_contact: Option<Time>,
    /// Bit `k`: peer `k` granted the (pre-)vote being collected.
    pub(crate) granted: u32,
    /// Leader only: one per peer, same order as `peers`.
    pub(crate) progress: Vec<Progress, MAX_NODES>,
    pub(crate) reads: Reads,
    /// Heartbeat round, raised for every read; never decreases while the process lives.
    pub(crate) round: u64,
    /// Leader only: index of its term's no-op; reads wait until it is committed.
    pub(crate) term_start: u64,
    pub(crate) led_since: Time,
    #[cfg(any(test, feature = "broken"))]
    pub(crate) fault: Fault,
    _command: PhantomData<fn() -> C>,
}

impl<C: Clone, S: Storage<C>, R: RngCore> Raft<C, S, R> {
    /// Starts (or restarts) node `id` of the cluster `members` (which includes `id`) from
    /// `storage`, as a follower with a fresh election timeout from `now`. If `storage` holds
    /// a snapshot, the node starts with it committed and applied: the application restores
    /// its state from [`Storage::snapshot`] before acting on any output.
    pub fn new(
        id: NodeId,
        members: &[NodeId],
        config: Config,
        storage: S,
        rng: R,
        now: Time,
    ) -> Res<Self, C, S> {
        config.validate()?;
        let peers = peers_of(id, members)?;
        let hard = storage.hard_state().map_err(Error::Storage)?;
        // What the snapshot covers is committed and, by the application, restored.
        let base = storage.first_index().saturating_sub(1);
        let mut raft = Raft {
            id,
            peers,
            config,
            storage,
            rng,
            hard,
            role: Role::Follower,
            leader: None,
            commit: base,
            applied: base,
            now,
            election_deadline: now,
            heartbeat_deadline: now,
            leader_contact: None,
            granted: 0,
            progress: Vec::new(),
            reads: Reads::default(),
            round: 0,
            term_start: 0,
            led_since: now,
            #[cfg(any(test, feature = "broken"))]
            fault: Fault::None,
            _command: PhantomData,
        };
        raft.reset_election_timer();
        Ok(raft)
    }

    /// Handles a message `from` a peer. Messages from unknown ids, stale terms or that do
    /// not fit the log are ignored (or answered with this node's term).
    pub fn step(
        &mut self,
        now: Time,
        from: NodeId,
        msg: Message<C, S::Snapshot>,
        out: &mut impl Outbox<C, S::Snapshot>,
    ) -> Res<(), C, S> {
        self.now = now;
        if from == self.id || self.peer_slot(from).is_none() {
            return Ok(());
        }
        if let Message::PreVote(req) = msg {
            return self.on_pre_vote(from, req, out);
        }
        let newer = msg.term() > self.hard.term;
        let own_pre_vote = matches!(&msg, Message::PreVoteResponse(r) if r.granted);
        if newer && !own_pre_vote {
            self.become_follower(msg.term(), None, out)?;
        }
        match msg {
            Message::PreVote(_) => Ok(()),
            Message::PreVoteResponse(r) => self.on_pre_vote_response(from, r, out),
            Message::Vote(req) => self.on_vote(from, req, out),
            Message::VoteResponse(r) => self.on_vote_response(from, r, out),
            Message::Append(a) => self.on_append(from, a, out),
            Message::AppendResponse(r) => self.on_append_response(from, r, out),
            Message::Snapshot(m) => self.on_snapshot(from, m, out),
        }
    }

    /// Acts on whatever deadline has passed at `now`: an election timeout (start a
    /// pre-vote), a heartbeat (check quorum, retransmit, heartbeat), an apply backlog.
    /// Calling it early is harmless.
    pub fn tick(&mut self, now: Time, out: &mut impl Outbox<C, S::Snapshot>) -> Res<(), C, S> {
        self.now = now;
        if self.role == Role::Leader {
            if now >= self.heartbeat_deadline {
                self.leader_tick(out)?;
            }
        } else if now >= self.election_deadline {
            self.start_pre_vote(out)?;
        }
        self.apply(out)
    }

    /// When [`Raft::tick`] next has something to do (the time of the last call while an
    /// apply backlog remains).
    pub fn poll_timeout(&self) -> Time {
        if self.applied < self.commit {
            self.now
        } else if self.role == Role::Leader {
            self.heartbeat_deadline
        } else {
            self.election_deadline
        }
    }

    /// Appends `command` to the log (leader only) and starts replicating it.
    pub fn propose(
        &mut self,
        now: Time,
        command: C,
        out: &mut impl Outbox<C, S::Snapshot>,
    ) -> Res<Proposed, C, S> {
        self.now = now;
        self.require_leader()?;
        let last = self.storage.last_index();
        if last - self.commit >= self.config.max_uncommitted {
            return Err(Error::ProposalsFull {
                limit: self.config.max_uncommitted,
            });
        }
        let term = self.hard.term;
        let index = last + 1;
        let entry = Entry {
            term,
            index,
            payload: Payload::Command(command),
        };
        self.storage.append(&[entry]).map_err(Error::Storage)?;
        self.replicate(false, out)?;
        self.advance_commit()?;
        self.apply(out)?;
        Ok(Proposed { index, term })
    }

    /// Starts the linearizable read `id` (leader only): a heartbeat round goes out, and
    /// [`Output::ReadReady`](crate::Output::ReadReady) follows once it is safe to serve the read from the state
    /// machine, or [`Output::ReadFailed`](crate::Output::ReadFailed) if leadership is lost first.
    pub fn read(
        &mut self,
        now: Time,
        id: u64,
        out: &mut impl Outbox<C, S::Snapshot>,
    ) -> Res<(), C, S> {
        self.now = now;
        self.require_leader()?;
        let limit = self.config.max_pending_reads;
        if self.reads.len() >= limit {
            return Err(Error::ReadsFull { limit });
        }
        self.round += 1;
        let index = (self.commit >= self.term_start).then_some(self.commit);
        if !self.reads.push(id, self.round, index) {
            return Err(Error::ReadsFull { limit });
        }
        for k in 0..self.peers.len() {
            self.send_heartbeat(k, out)?;
        }
        self.apply(out)
    }

    fn require_leader(&self) -> Res<(), C, S> {
        if self.role == Role::Leader {
            Ok(())
        } else {
            Err(Error::NotLeader {
                leader: self.leader,
            })
        }
    }
}

impl<C, S, R> Raft<C, S, R> {
    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.id
    }
    /// Its role.
    pub fn role(&self) -> Role {
        self.role
    }
    /// Its current term.
    pub fn term(&self) -> u64 {
        self.hard.term
    }
    /// Whom it voted for in the current term.
    pub fn vote(&self) -> Option<NodeId> {
        self.hard.vote
    }
    /// The current term's leader as far as this node knows (itself when leading): where to
    /// forward or redirect a client.
    pub fn leader(&self) -> Option<NodeId> {
        self.leader
    }
    /// Highest index known committed.
    pub fn commit_index(&self) -> u64 {
        self.commit
    }
    /// Highest index handed out as [`Output::Apply`](crate::Output::Apply).
    pub fn applied_index(&self) -> u64 {
        self.applied
    }
    /// The storage (to inspect the log).
    pub fn storage(&self) -> &S {
        &self.storage
    }
    /// Stops the node, handing back its storage (to restart from, or inspect).
    pub fn into_storage(self) -> S {
        self.storage
    }
    /// The other members, in the order used internally.
    pub fn peers(&self) -> &[NodeId] {
        &self.peers
    }
    /// Votes needed to win, and acknowledgements needed to commit.
    pub fn majority(&self) -> usize {
        let members = self.peers.len() + 1;
        members / 2 + 1
    }
    pub(crate) fn peer_slot(&self, id: NodeId) -> Option<usize> {
        self.peers.iter().position(|&p| p == id)
    }
    /// Switches on a deliberately broken rule (see [`Fault`]): for tests only.
    #[cfg(any(test, feature = "broken"))]
    pub fn set_fault(&mut self, fault: Fault) {
        self.fault = fault;
    }
}

fn peers_of(id: NodeId, members: &[NodeId]) -> Result<Vec<NodeId, MAX_NODES>, ConfigError> {
    let mut peers = Vec::new();
    let distinct = members
        .iter()
        .enumerate()
        .all(|(i, m)| !members[..i].contains(m));
    if !distinct || !members.contains(&id) || members.len() > MAX_NODES {
        return Err(ConfigError::Members);
    }
    for &m in members.iter().filter(|&&m| m != id) {
        peers.push(m).map_err(|_| ConfigError::Members)?;
    }
    Ok(peers)
}
