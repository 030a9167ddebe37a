//! Helpers for driving one node by hand.

use std::vec::Vec;

use glomers_node::Time;
use rand::rngs::SmallRng;
use rand::SeedableRng;

use super::cluster::{test_config, Node};
use crate::{
    Append, AppendResponse, AppendResult, Config, Entry, HardState, MemStorage, Message, NodeId,
    Output, Payload, Raft, Role, Storage, VoteResponse,
};

pub(crate) type Out = Vec<Output<u64, u64>>;

/// Node `id` of members `1..=size`, on `disk`, at time zero.
pub(crate) fn node_on(
    id: NodeId,
    size: NodeId,
    disk: MemStorage<u64, u64>,
    config: Config,
) -> Node {
    let members: Vec<NodeId> = (1..=size).collect();
    let rng = SmallRng::seed_from_u64(u64::from(id));
    Raft::new(id, &members, config, disk, rng, Time::ZERO).expect("valid test node")
}

/// A fresh node `id` of a cluster of `size`.
pub(crate) fn node(id: NodeId, size: NodeId) -> Node {
    node_on(id, size, MemStorage::new(), test_config())
}

/// A disk at `term` holding entries of the given terms (commands 100, 101, ...).
pub(crate) fn disk(term: u64, terms: &[u64]) -> MemStorage<u64, u64> {
    let mut d = MemStorage::new();
    let (Ok(()), Ok(())) = (
        d.save_hard_state(HardState { term, vote: None }),
        d.append(&entries(1, terms)),
    );
    d
}

/// Entries from `first` with the given terms.
pub(crate) fn entries(first: u64, terms: &[u64]) -> heapless::Vec<Entry<u64>, 32> {
    terms
        .iter()
        .enumerate()
        .map(|(i, &term)| Entry {
            term,
            index: first + i as u64,
            payload: Payload::Command(first + i as u64 + 99),
        })
        .collect()
}

/// The messages sent in `out`.
pub(crate) fn sent(out: &[Output<u64, u64>]) -> Vec<(NodeId, Message<u64, u64>)> {
    out.iter()
        .filter_map(|o| match o {
            Output::Send { to, msg } => Some((*to, msg.clone())),
            _ => None,
        })
        .collect()
}

/// The appends sent in `out`, with their recipients.
pub(crate) fn appends(out: &[Output<u64, u64>]) -> Vec<(NodeId, Append<u64>)> {
    sent(out)
        .into_iter()
        .filter_map(|(to, m)| match m {
            Message::Append(a) => Some((to, a)),
            _ => None,
        })
        .collect()
}

/// Ticks `n` at its deadline (or now, if that is later).
pub(crate) fn fire(n: &mut Node) -> Out {
    let mut out = Vec::new();
    let at = n.poll_timeout().max(n.now);
    n.tick(at, &mut out).expect("tick");
    out
}

/// Delivers `msg` from `from` at the node's last time.
pub(crate) fn step(n: &mut Node, from: NodeId, msg: Message<u64, u64>) -> Out {
    let mut out = Vec::new();
    let now = n.now;
    n.step(now, from, msg, &mut out).expect("step");
    out
}

/// Makes `n` leader: a timeout, pre-votes and votes granted by every peer.
pub(crate) fn elect(n: &mut Node) -> Out {
    fire(n);
    let peers: Vec<NodeId> = n.peers().to_vec();
    let mut out = Vec::new();
    for &p in &peers {
        let term = n.term() + 1;
        out = step(
            n,
            p,
            Message::PreVoteResponse(VoteResponse {
                term,
                granted: true,
            }),
        );
        if n.role() == Role::Candidate {
            break;
        }
    }
    for &p in &peers {
        let term = n.term();
        out = step(
            n,
            p,
            Message::VoteResponse(VoteResponse {
                term,
                granted: true,
            }),
        );
        if n.role() == Role::Leader {
            break;
        }
    }
    assert_eq!(n.role(), Role::Leader);
    out
}

/// An append of `terms` after `(prev_index, prev_term)`.
pub(crate) fn append(
    term: u64,
    prev_index: u64,
    prev_term: u64,
    terms: &[u64],
    commit: u64,
) -> Message<u64, u64> {
    Message::Append(Append {
        term,
        prev_index,
        prev_term,
        entries: entries(prev_index + 1, terms),
        commit,
        round: 0,
    })
}

/// Follower `from`'s acceptance up to `match_index` in `term`, for `round`.
pub(crate) fn accept(term: u64, match_index: u64, round: u64) -> Message<u64, u64> {
    Message::AppendResponse(AppendResponse {
        term,
        round,
        result: AppendResult::Accepted { match_index },
    })
}

/// The terms of a node's log.
pub(crate) fn log_terms(n: &Node) -> Vec<u64> {
    n.storage().entries().iter().map(|e| e.term).collect()
}
