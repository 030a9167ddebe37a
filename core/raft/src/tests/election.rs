//! Election rules, one node driven by hand.

use core::cell::RefCell;
use std::rc::Rc;
use std::vec::Vec;

use super::cluster::test_config;
use super::support::*;
use crate::{
    Config, ConfigError, Error, HardState, MemStorage, Message, Output, Payload, Role, Storage,
    VoteRequest, VoteResponse,
};

fn vote_req(term: u64, last_index: u64, last_term: u64) -> VoteRequest {
    VoteRequest {
        term,
        last_index,
        last_term,
    }
}

fn granted(out: &Out) -> Option<bool> {
    sent(out).into_iter().find_map(|(_, m)| match m {
        Message::VoteResponse(r) | Message::PreVoteResponse(r) => Some(r.granted),
        _ => None,
    })
}

#[test]
fn new_refuses_bad_members_and_settings() {
    let members = [1, 2, 3];
    let bad = |cfg: Config, members: &[u16]| {
        let rng = <rand::rngs::SmallRng as rand::SeedableRng>::seed_from_u64(0);
        let r = crate::Raft::<u64, _, _>::new(
            1,
            members,
            cfg,
            MemStorage::<u64, u64>::new(),
            rng,
            Default::default(),
        );
        r.err()
    };
    let ok = test_config();
    assert_eq!(bad(ok, &[2, 3]), Some(Error::Config(ConfigError::Members)));
    assert_eq!(
        bad(ok, &[1, 2, 2]),
        Some(Error::Config(ConfigError::Members))
    );
    let slow_heartbeat = Config {
        heartbeat_interval: ok.election_timeout_min,
        ..ok
    };
    assert_eq!(
        bad(slow_heartbeat, &members),
        Some(Error::Config(ConfigError::Timeouts))
    );
    let no_window = Config { window: 0, ..ok };
    assert!(matches!(
        bad(no_window, &members),
        Some(Error::Config(ConfigError::Limit { what: "window", .. }))
    ));
    let big_batch = Config {
        max_batch: crate::MAX_APPEND_ENTRIES + 1,
        ..ok
    };
    assert!(bad(big_batch, &members).is_some());
    assert_eq!(bad(ok, &members), None);
}

#[test]
fn timeout_starts_a_pre_vote_without_changing_term_or_vote() {
    let mut n = node(1, 3);
    let out = fire(&mut n);
    assert_eq!(n.role(), Role::PreCandidate);
    assert_eq!((n.term(), n.vote()), (0, None));
    let reqs: Vec<_> = sent(&out);
    assert_eq!(reqs.len(), 2);
    for (_, m) in reqs {
        assert_eq!(m, Message::PreVote(vote_req(1, 0, 0)));
    }
}

#[test]
fn pre_vote_majority_raises_term_votes_for_self_and_asks_for_votes() {
    let mut n = node(1, 3);
    fire(&mut n);
    let out = step(
        &mut n,
        2,
        Message::PreVoteResponse(VoteResponse {
            term: 1,
            granted: true,
        }),
    );
    assert_eq!(n.role(), Role::Candidate);
    assert_eq!((n.term(), n.vote()), (1, Some(1)));
    assert_eq!(
        n.storage().hard_state().ok(),
        Some(HardState {
            term: 1,
            vote: Some(1)
        })
    );
    assert!(sent(&out)
        .iter()
        .all(|(_, m)| *m == Message::Vote(vote_req(1, 0, 0))));
    // A refused pre-vote from a node at a higher term demotes a pre-candidate to that term.
    let mut m = node(1, 3);
    fire(&mut m);
    step(
        &mut m,
        3,
        Message::PreVoteResponse(VoteResponse {
            term: 7,
            granted: false,
        }),
    );
    assert_eq!((m.role(), m.term()), (Role::Follower, 7));
}

#[test]
fn pre_vote_is_refused_while_a_leader_is_heard_and_changes_nothing() {
    let mut n = node(2, 3);
    step(&mut n, 1, append(1, 0, 0, &[], 0));
    assert_eq!(n.leader(), Some(1));
    let out = step(&mut n, 3, Message::PreVote(vote_req(2, 0, 0)));
    assert_eq!(granted(&out), Some(false));
    // Once the leader has been silent for the minimum election timeout, it is granted,
    // and the voter's term and vote stay as they were.
    n.now += test_config().election_timeout_min;
    let out = step(&mut n, 3, Message::PreVote(vote_req(2, 0, 0)));
    assert_eq!(granted(&out), Some(true));
    assert_eq!((n.term(), n.vote(), n.role()), (1, None, Role::Follower));
}

#[test]
fn one_vote_per_term_and_a_repeated_request_gets_the_same_answer() {
    let mut n = node(1, 3);
    assert_eq!(
        granted(&step(&mut n, 2, Message::Vote(vote_req(1, 0, 0)))),
        Some(true)
    );
    assert_eq!(n.vote(), Some(2));
    assert_eq!(
        granted(&step(&mut n, 3, Message::Vote(vote_req(1, 0, 0)))),
        Some(false)
    );
    assert_eq!(
        granted(&step(&mut n, 2, Message::Vote(vote_req(1, 0, 0)))),
        Some(true)
    );
    // A request of an older term is refused with the current one.
    let out = step(&mut n, 3, Message::Vote(vote_req(0, 0, 0)));
    assert!(matches!(
        sent(&out)[0].1,
        Message::VoteResponse(VoteResponse {
            term: 1,
            granted: false
        })
    ));
}

#[test]
fn votes_go_only_to_logs_at_least_as_up_to_date() {
    // Our log: terms 1, 2, 2 (last term 2, last index 3).
    let fresh = || node_on(1, 3, disk(2, &[1, 2, 2]), test_config());
    let cases = [
        (vote_req(3, 5, 1), false), // older last term, however long
        (vote_req(3, 2, 2), false), // same last term, shorter
        (vote_req(3, 3, 2), true),  // same last term, as long
        (vote_req(3, 1, 3), true),  // newer last term, however short
    ];
    for (req, expected) in cases {
        let mut n = fresh();
        assert_eq!(
            granted(&step(&mut n, 2, Message::Vote(req))),
            Some(expected),
            "{req:?}"
        );
        let mut n = fresh();
        assert_eq!(
            granted(&step(&mut n, 2, Message::PreVote(req))),
            Some(expected),
            "pre {req:?}"
        );
    }
}

/// A storage that records its writes in a journal shared with the outbox.
struct Journaled {
    inner: MemStorage<u64, u64>,
    journal: Rc<RefCell<Vec<&'static str>>>,
}

impl Storage<u64> for Journaled {
    type Error = core::convert::Infallible;
    type Snapshot = u64;
    fn first_index(&self) -> u64 {
        self.inner.first_index()
    }
    fn snapshot(&self) -> Result<Option<crate::Snapshot<u64>>, Self::Error> {
        self.inner.snapshot()
    }
    fn install_snapshot(&mut self, snapshot: crate::Snapshot<u64>) -> Result<(), Self::Error> {
        self.journal.borrow_mut().push("snapshot");
        self.inner.install_snapshot(snapshot)
    }
    fn hard_state(&self) -> Result<HardState, Self::Error> {
        self.inner.hard_state()
    }
    fn save_hard_state(&mut self, state: HardState) -> Result<(), Self::Error> {
        self.journal.borrow_mut().push("save");
        self.inner.save_hard_state(state)
    }
    fn last_index(&self) -> u64 {
        self.inner.last_index()
    }
    fn term(&self, index: u64) -> Result<Option<u64>, Self::Error> {
        self.inner.term(index)
    }
    fn entry(&self, index: u64) -> Result<Option<crate::Entry<u64>>, Self::Error> {
        self.inner.entry(index)
    }
    fn append(&mut self, entries: &[crate::Entry<u64>]) -> Result<(), Self::Error> {
        self.journal.borrow_mut().push("append");
        self.inner.append(entries)
    }
    fn truncate(&mut self, from: u64) -> Result<(), Self::Error> {
        self.journal.borrow_mut().push("truncate");
        self.inner.truncate(from)
    }
}

#[test]
fn the_vote_and_the_entries_are_written_before_the_answers_are_pushed() {
    let journal = Rc::new(RefCell::new(Vec::new()));
    let disk = Journaled {
        inner: MemStorage::new(),
        journal: journal.clone(),
    };
    let rng = <rand::rngs::SmallRng as rand::SeedableRng>::seed_from_u64(0);
    let mut n = crate::Raft::new(2, &[1, 2, 3], test_config(), disk, rng, Default::default())
        .expect("node");
    let mut out = |o: Output<u64, u64>| {
        if let Output::Send { msg, .. } = o {
            let what = match msg {
                Message::VoteResponse(_) => "vote sent",
                Message::AppendResponse(_) => "ack sent",
                _ => "other sent",
            };
            journal.borrow_mut().push(what);
        }
    };
    let now = Default::default();
    n.step(now, 1, Message::Vote(vote_req(1, 0, 0)), &mut out)
        .expect("vote");
    n.step(now, 1, append(1, 0, 0, &[1], 0), &mut out)
        .expect("append");
    // The new term, then the vote, then the answer; the entry, then the acknowledgement.
    let expected = ["save", "save", "vote sent", "append", "ack sent"];
    assert_eq!(*journal.borrow(), expected);
}

#[test]
fn a_higher_term_demotes_a_leader_and_fails_its_reads() {
    let mut n = node(1, 3);
    elect(&mut n);
    let mut out = Vec::new();
    let now = n.now;
    n.read(now, 42, &mut out).expect("read queued");
    let out = step(
        &mut n,
        2,
        Message::VoteResponse(VoteResponse {
            term: 9,
            granted: false,
        }),
    );
    assert_eq!((n.role(), n.term(), n.vote()), (Role::Follower, 9, None));
    assert!(out.contains(&Output::ReadFailed {
        id: 42,
        leader: None
    }));
}

#[test]
fn a_new_leader_appends_a_noop_and_sends_it() {
    let mut n = node_on(1, 3, disk(1, &[1, 1]), test_config());
    let out = elect(&mut n);
    let noop = n.storage().entry(3).ok().flatten().expect("noop");
    assert_eq!((noop.term, noop.payload), (n.term(), Payload::Noop));
    let sent = appends(&out);
    assert_eq!(sent.len(), 2);
    for (_, a) in sent {
        assert_eq!((a.term, a.prev_index, a.prev_term), (n.term(), 2, 1));
        assert_eq!(a.entries.len(), 1);
    }
}

#[test]
fn a_single_node_leads_and_commits_alone() {
    let mut n = node(1, 1);
    let out = fire(&mut n);
    assert_eq!(n.role(), Role::Leader);
    assert!(out
        .iter()
        .any(|o| matches!(o, Output::Apply(e) if e.index == 1)));
    let mut out = Vec::new();
    let now = n.now;
    let p = n.propose(now, 7, &mut out).expect("proposal");
    assert_eq!(n.commit_index(), p.index);
    assert!(out
        .iter()
        .any(|o| matches!(o, Output::Apply(e) if e.payload == Payload::Command(7))));
}
