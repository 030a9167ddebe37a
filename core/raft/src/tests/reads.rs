//! ReadIndex reads, leader hints and the bounds on proposals and reads.

use std::vec::Vec;

use super::cluster::test_config;
use super::support::*;
use crate::{Error, Output, Role};

fn ready(out: &Out) -> Vec<u64> {
    out.iter()
        .filter_map(|o| match o {
            Output::ReadReady { id } => Some(*id),
            _ => None,
        })
        .collect()
}

fn read(
    n: &mut super::cluster::Node,
    id: u64,
) -> (Result<(), Error<core::convert::Infallible>>, Out) {
    let mut out = Vec::new();
    let now = n.now;
    let r = n.read(now, id, &mut out);
    (r, out)
}

#[test]
fn a_read_needs_a_majority_answering_its_own_round() {
    let mut n = node(1, 3);
    elect(&mut n);
    step(&mut n, 2, accept(1, 1, 0));
    assert_eq!(n.commit_index(), 1, "the no-op");
    let (r, out) = read(&mut n, 7);
    assert!(r.is_ok());
    let round = appends(&out)[0].1.round;
    assert!(ready(&out).is_empty());
    assert!(
        ready(&step(&mut n, 2, accept(1, 1, round - 1))).is_empty(),
        "an older round"
    );
    assert_eq!(ready(&step(&mut n, 2, accept(1, 1, round))), [7]);
}

#[test]
fn a_read_waits_for_the_leader_to_commit_its_term() {
    let mut n = node(1, 3);
    elect(&mut n);
    let (_, out) = read(&mut n, 7);
    let round = appends(&out)[0].1.round;
    // Leadership confirmed, but the no-op is not committed yet.
    assert!(ready(&step(&mut n, 2, accept(1, 0, round))).is_empty());
    let out = step(&mut n, 2, accept(1, 1, round));
    let apply = out
        .iter()
        .position(|o| matches!(o, Output::Apply(e) if e.index == 1));
    let release = out.iter().position(|o| *o == Output::ReadReady { id: 7 });
    assert!(apply.is_some() && apply < release, "{out:?}");
}

#[test]
fn a_follower_refuses_with_the_leader_hint() {
    let mut n = node(2, 3);
    step(&mut n, 3, append(1, 0, 0, &[], 0));
    let mut out = Vec::new();
    let now = n.now;
    assert_eq!(
        n.propose(now, 1, &mut out),
        Err(Error::NotLeader { leader: Some(3) })
    );
    assert_eq!(read(&mut n, 1).0, Err(Error::NotLeader { leader: Some(3) }));
    assert!(out.is_empty());
}

#[test]
fn proposals_and_reads_are_bounded() {
    let config = test_config();
    let mut n = node(1, 3);
    elect(&mut n);
    let mut out = Vec::new();
    let now = n.now;
    // The no-op is the first uncommitted entry.
    for c in 1..config.max_uncommitted {
        n.propose(now, c, &mut out).expect("room left");
    }
    let limit = config.max_uncommitted;
    assert_eq!(
        n.propose(now, 0, &mut out),
        Err(Error::ProposalsFull { limit })
    );
    for id in 0..config.max_pending_reads as u64 {
        assert!(read(&mut n, id).0.is_ok());
    }
    let limit = config.max_pending_reads;
    assert_eq!(read(&mut n, 99).0, Err(Error::ReadsFull { limit }));
}

#[test]
fn a_leader_cut_off_from_a_majority_steps_down() {
    let config = test_config();
    let mut heard = node(1, 3);
    elect(&mut heard);
    let mut silent = node(1, 3);
    elect(&mut silent);
    let (_, _) = read(&mut silent, 5);
    let end = heard.now + config.election_timeout_max;
    while heard.now < end {
        fire(&mut heard);
        step(&mut heard, 2, accept(1, 0, 0));
        let out = fire(&mut silent);
        if silent.role() != Role::Leader {
            assert!(out.contains(&Output::ReadFailed {
                id: 5,
                leader: None
            }));
        }
    }
    assert_eq!(heard.role(), Role::Leader);
    assert_eq!(
        (silent.role(), silent.term(), silent.leader()),
        (Role::Follower, 1, None)
    );
}

#[test]
fn an_answer_to_an_older_term_confirms_no_read() {
    let mut n = node(2, 3);
    step(&mut n, 1, append(4, 0, 0, &[], 0));
    let mut stale = append(3, 0, 0, &[], 0);
    if let crate::Message::Append(a) = &mut stale {
        a.round = 57;
    }
    let out = step(&mut n, 3, stale);
    match &sent(&out)[..] {
        [(3, crate::Message::AppendResponse(r))] => assert_eq!((r.term, r.round), (4, 0)),
        other => panic!("{other:?}"),
    }
}
