//! Snapshots and compaction: followers caught up by the leader's snapshot, compaction
//! bounded by the applied index, installing only what is newer than the commit index and
//! keeping a matching suffix, restarting from a snapshot. The swarms with compaction on,
//! and the broken variants they catch, are in `schedules`.

use core::time::Duration;
use std::vec::Vec;

use super::cluster::{test_config, Cluster, Slot};
use super::support::*;
use crate::raft::Fault;
use crate::{
    AppendResponse, AppendResult, Error, InstallSnapshot, MemStorage, Message, Output, Snapshot,
    Storage,
};

fn install(term: u64, index: u64, last_term: u64, data: u64) -> Message<u64, u64> {
    Message::Snapshot(InstallSnapshot {
        term,
        snapshot: Snapshot {
            index,
            term: last_term,
            data,
        },
        round: 0,
    })
}

fn accepted(out: &Out) -> Option<u64> {
    sent(out).into_iter().find_map(|(_, m)| match m {
        Message::AppendResponse(AppendResponse {
            result: AppendResult::Accepted { match_index },
            ..
        }) => Some(match_index),
        _ => None,
    })
}

fn restored(out: &Out) -> Vec<Snapshot<u64>> {
    out.iter()
        .filter_map(|o| match o {
            Output::Restore(s) => Some(s.clone()),
            _ => None,
        })
        .collect()
}

fn bound() -> Duration {
    test_config().election_timeout_max * 20
}

/// A follower that misses entries the leader then compacts (down with its disk kept, or
/// replaced by an empty one) is caught up by the snapshot, and reaches the same state.
#[test]
fn a_lagging_or_new_follower_is_caught_up_by_the_leaders_snapshot() {
    for fresh in [false, true] {
        let mut c = Cluster::new(3, 11, Fault::None).compacting(4);
        c.settle(bound()).expect("a leader commits");
        let leader = c.leader().expect("a leader");
        let f = (leader + 1) % 3;
        c.crash(f);
        for _ in 0..24 {
            c.propose(leader).expect("proposed");
            c.run_until(Duration::from_millis(50), |c| c.net.is_empty())
                .expect("delivered");
        }
        let snap = c.node(leader).map_or(0, |n| n.snapshot_index());
        assert!(snap >= 20, "the leader compacted, to {snap}");
        if fresh {
            c.slots[f] = Slot::Down(c.ids[f], MemStorage::new());
        }
        c.restart(f).expect("restarted");
        let caught_up = c
            .run_until(bound(), |c| {
                let applied = |k: usize| c.node(k).map_or(0, |n| n.applied_index());
                applied(f) >= applied(leader)
            })
            .expect("no violation");
        assert!(caught_up, "fresh {fresh}");
        assert_eq!(c.snapshots.1, 1, "one snapshot installed (fresh {fresh})");
        let follower = c.node(f).expect("up");
        assert!(follower.snapshot_index() >= snap, "fresh {fresh}");
    }
}

#[test]
fn compaction_never_drops_an_uncommitted_entry() {
    let mut n = node(1, 3);
    elect(&mut n);
    let now = n.now;
    for c in 0..3 {
        n.propose(now, c, &mut Vec::new()).expect("proposed");
    }
    assert_eq!((n.commit_index(), n.applied_index()), (0, 0));
    assert_eq!(
        n.compact(2, 7),
        Err(Error::CompactBeyondApplied {
            index: 2,
            applied: 0
        })
    );
    assert_eq!(n.storage().entries().len(), 4, "nothing dropped");
    let term = n.term();
    step(&mut n, 2, accept(term, 2, 0));
    assert_eq!((n.commit_index(), n.applied_index()), (2, 2));
    assert!(n.compact(3, 7).is_err(), "entry 3 is not applied");
    n.compact(2, 7).expect("compacts what was applied");
    assert_eq!(n.storage().first_index(), 3);
    assert_eq!(n.storage().term(2), Ok(Some(term)));
    assert_eq!(n.storage().entry(2), Ok(None));
    assert_eq!(n.storage().last_index(), 4, "the uncommitted entries stay");
    n.compact(1, 8).expect("below the snapshot: nothing to do");
    assert_eq!(
        n.storage().snapshot().ok().flatten().map(|s| s.data),
        Some(7)
    );
}

#[test]
fn a_follower_keeps_the_entries_after_a_matching_snapshot_and_drops_a_conflicting_log() {
    let mut n = node_on(2, 3, disk(2, &[1, 1, 2, 2]), test_config());
    let out = step(&mut n, 1, install(3, 3, 2, 9));
    let snapshot = Snapshot {
        index: 3,
        term: 2,
        data: 9,
    };
    assert_eq!(restored(&out), [snapshot]);
    assert_eq!(accepted(&out), Some(3));
    assert_eq!((n.commit_index(), n.applied_index()), (3, 3));
    assert_eq!(
        log_terms(&n),
        [2],
        "entry 4 matches the leader's up to 3: kept"
    );

    let mut n = node_on(2, 3, disk(2, &[1, 1, 1, 1]), test_config());
    let out = step(&mut n, 1, install(3, 3, 2, 9));
    assert_eq!(restored(&out).len(), 1);
    assert_eq!(
        log_terms(&n),
        Vec::<u64>::new(),
        "its entry 3 conflicts: all dropped"
    );
    assert_eq!(n.storage().last_index(), 3);
    // Appends continue after the snapshot; one reaching behind it is accepted too.
    let out = step(&mut n, 1, append(3, 2, 1, &[2, 3], 4));
    assert_eq!(accepted(&out), Some(4));
    assert_eq!(log_terms(&n), [3]);
    assert_eq!(n.commit_index(), 4);
}

#[test]
fn a_snapshot_not_newer_than_the_commit_index_changes_nothing() {
    let mut n = node_on(2, 3, MemStorage::new(), test_config());
    step(&mut n, 1, append(1, 0, 0, &[1, 1, 1, 1], 4));
    assert_eq!(n.applied_index(), 4);
    let out = step(&mut n, 1, install(1, 2, 1, 5));
    assert!(restored(&out).is_empty());
    assert_eq!(accepted(&out), Some(2));
    assert_eq!(log_terms(&n), [1, 1, 1, 1]);
    assert_eq!(n.storage().first_index(), 1);
}

#[test]
fn a_node_restarts_from_its_snapshot_and_a_leader_sends_it_to_who_lacks_it() {
    let mut d = disk(2, &[1, 1, 2]);
    let snapshot = Snapshot {
        index: 2,
        term: 1,
        data: 5,
    };
    d.install_snapshot(snapshot.clone()).expect("in memory");
    let mut n = node_on(1, 3, d, test_config());
    assert_eq!((n.commit_index(), n.applied_index()), (2, 2));
    let out = elect(&mut n);
    // The followers' match points are unknown: probes after the last entry.
    assert!(appends(&out).iter().all(|(_, a)| a.prev_index == 3));
    let term = n.term();
    let out = step(
        &mut n,
        2,
        Message::AppendResponse(AppendResponse {
            term,
            round: 0,
            result: AppendResult::Rejected {
                prev_index: 3,
                hint_index: 1,
                hint_term: None,
            },
        }),
    );
    let sent_snapshot = sent(&out).into_iter().find_map(|(to, m)| match m {
        Message::Snapshot(s) => Some((to, s.snapshot)),
        _ => None,
    });
    assert_eq!(sent_snapshot, Some((2, snapshot)));
    let out = step(&mut n, 2, accept(term, 2, 0));
    let next = appends(&out).into_iter().find(|(to, _)| *to == 2);
    assert_eq!(
        next.map(|(_, a)| a.prev_index),
        Some(2),
        "entries after the snapshot"
    );
}
