//! The invariant checks on hand-built clusters: each rejects its broken case and accepts
//! the correct one.

use std::vec::Vec;

use crate::check::{check_cluster, History, NodeView, Violation};
use crate::{Entry, NodeId, Payload};

#[derive(Clone, Debug)]
struct Fake {
    id: NodeId,
    term: u64,
    leader: bool,
    commit: u64,
    log: Vec<Entry<u64>>,
}

impl NodeView<u64> for Fake {
    fn id(&self) -> NodeId {
        self.id
    }
    fn term(&self) -> u64 {
        self.term
    }
    fn is_leader(&self) -> bool {
        self.leader
    }
    fn commit_index(&self) -> u64 {
        self.commit
    }
    fn last_index(&self) -> u64 {
        self.log.len() as u64
    }
    fn entry(&self, index: u64) -> Option<Entry<u64>> {
        let i = usize::try_from(index.checked_sub(1)?).ok()?;
        self.log.get(i).cloned()
    }
}

/// An entry at `index` of `term` holding `command`.
fn e(index: u64, term: u64, command: u64) -> Entry<u64> {
    Entry {
        term,
        index,
        payload: Payload::Command(command),
    }
}

/// Node `id` at `term` with commit `commit` and a log of `(term, command)` pairs.
fn fake(id: NodeId, term: u64, commit: u64, log: &[(u64, u64)]) -> Fake {
    let log = log
        .iter()
        .enumerate()
        .map(|(i, &(t, c))| e(i as u64 + 1, t, c))
        .collect();
    Fake {
        id,
        term,
        leader: false,
        commit,
        log,
    }
}

fn leading(mut f: Fake) -> Fake {
    f.leader = true;
    f
}

/// A healthy cluster: 1 leads term 3, 2 is caught up, 3 lags with a suffix of term 2.
fn healthy() -> Vec<Fake> {
    std::vec![
        leading(fake(1, 3, 3, &[(1, 10), (1, 11), (3, 12)])),
        fake(2, 3, 3, &[(1, 10), (1, 11), (3, 12)]),
        fake(3, 3, 1, &[(1, 10), (1, 11), (2, 20)]),
    ]
}

#[test]
fn a_healthy_cluster_passes_every_check() {
    let nodes = healthy();
    assert_eq!(check_cluster(&nodes), Ok(()));
    let mut h = History::new();
    assert_eq!(h.observe(&nodes), Ok(()));
    for n in &nodes {
        for entry in n.log.iter().take(n.commit as usize) {
            assert_eq!(h.applied(n.id, entry), Ok(()));
        }
    }
    assert_eq!(h.committed_index(), 3);
    assert_eq!(h.leaders().collect::<Vec<_>>(), [(3, 1)]);
}

#[test]
fn two_leaders_of_one_term_are_reported_now_and_across_time() {
    let mut nodes = healthy();
    nodes[1].leader = true;
    assert_eq!(
        check_cluster(&nodes),
        Err(Violation::TwoLeaders {
            term: 3,
            first: 1,
            second: 2
        })
    );
    // Not at the same moment: 1 led term 3, later 2 claims it.
    let mut h = History::new();
    assert_eq!(h.observe(&healthy()), Ok(()));
    let mut later = healthy();
    later[0].leader = false;
    later[1].leader = true;
    assert_eq!(
        h.observe(&later),
        Err(Violation::TwoLeaders {
            term: 3,
            first: 1,
            second: 2
        })
    );
}

#[test]
fn logs_sharing_an_entry_but_not_its_prefix_break_log_matching() {
    let nodes = std::vec![
        fake(1, 3, 0, &[(1, 10), (1, 11), (3, 12)]),
        fake(2, 3, 0, &[(1, 10), (2, 99), (3, 12)]),
    ];
    let expected = Violation::LogMismatch {
        a: 2,
        b: 1,
        shared: 3,
        index: 2,
    };
    assert_eq!(check_cluster(&nodes), Err(expected));
    // Across time: node 1 held (2, term 1) after (1, term 1); later node 2 holds it after
    // an entry of term 2.
    let mut h = History::new();
    assert_eq!(h.observe(&[fake(1, 1, 0, &[(1, 10), (1, 11)])]), Ok(()));
    let later = [fake(2, 2, 0, &[(2, 10), (1, 11)])];
    let expected = Violation::LogMismatch {
        a: 1,
        b: 2,
        shared: 2,
        index: 1,
    };
    assert_eq!(h.observe(&later), Err(expected));
    // Same index and term but another command is a mismatch too.
    let nodes = std::vec![fake(1, 1, 0, &[(1, 10)]), fake(2, 1, 0, &[(1, 11)])];
    assert!(matches!(
        check_cluster(&nodes),
        Err(Violation::LogMismatch { index: 1, .. })
    ));
}

#[test]
fn different_committed_entries_are_reported() {
    let nodes = std::vec![
        fake(1, 3, 2, &[(1, 10), (2, 11)]),
        fake(2, 3, 2, &[(1, 10), (3, 11)])
    ];
    assert_eq!(
        check_cluster(&nodes),
        Err(Violation::CommittedMismatch {
            a: 2,
            b: 1,
            index: 2
        })
    );
    // Across time: index 2 seen committed as (2, 11), later a node commits (3, 11) there.
    let mut h = History::new();
    assert_eq!(h.observe(&nodes[..1]), Ok(()));
    assert_eq!(
        h.observe(&nodes[1..]),
        Err(Violation::CommittedMismatch {
            a: 1,
            b: 2,
            index: 2
        })
    );
}

#[test]
fn a_commit_index_past_the_log_is_reported() {
    let nodes = std::vec![fake(1, 1, 3, &[(1, 10)])];
    assert_eq!(
        check_cluster(&nodes),
        Err(Violation::CommitBeyondLog {
            node: 1,
            commit: 3,
            last: 1
        })
    );
}

#[test]
fn a_leader_without_an_earlier_committed_entry_breaks_completeness() {
    let mut h = History::new();
    assert_eq!(h.observe(&healthy()), Ok(()));
    // Node 3 (log 1, then 2 of term 2) wins term 4 without the committed entries 2 and 3.
    let mut later = healthy();
    later[0].leader = false;
    later[2] = leading(fake(3, 4, 1, &[(1, 10), (2, 20)]));
    // Its log alone is consistent with the others' up to its commit index.
    later[0].commit = 1;
    later[1].commit = 1;
    assert_eq!(check_cluster(&later), Ok(()));
    assert_eq!(
        h.observe(&later),
        Err(Violation::LeaderIncomplete {
            leader: 3,
            term: 4,
            index: 2
        })
    );
    // A stale leader of an older term than the commit is not held to it.
    let mut h = History::new();
    let stale = std::vec![
        leading(fake(1, 2, 0, &[(1, 10)])),
        leading(fake(2, 3, 2, &[(1, 10), (3, 11)])),
    ];
    assert_eq!(h.observe(&stale), Ok(()));
}

#[test]
fn different_applied_entries_or_out_of_order_applies_are_reported() {
    let mut h = History::new();
    assert_eq!(h.applied(1, &e(1, 1, 10)), Ok(()));
    assert_eq!(h.applied(2, &e(1, 1, 10)), Ok(()));
    assert_eq!(
        h.applied(3, &e(1, 1, 99)),
        Err(Violation::AppliedMismatch { node: 3, index: 1 })
    );
    assert_eq!(
        h.applied(1, &e(3, 1, 12)),
        Err(Violation::AppliedOutOfOrder {
            node: 1,
            index: 3,
            expected: 2
        })
    );
    // After a restart a node applies from 1 again.
    h.restarted(2);
    assert_eq!(h.applied(2, &e(1, 1, 10)), Ok(()));
    assert_eq!(h.applied_index(), 1);
}
