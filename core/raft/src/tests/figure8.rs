//! Figure 8 of the Raft paper, scripted: a leader that counts replicas of an entry from an
//! earlier term and commits it, then loses it to a leader elected without it.

use core::time::Duration;
use std::vec::Vec;

use super::cluster::{test_config, Cluster, Failure};
use crate::check::{NodeView, Violation};
use crate::raft::Fault;
use crate::{Entry, HardState, MemStorage, Payload, Storage};

const A: usize = 0;
const B: usize = 1;
const C: usize = 2;

/// A disk at term 3 holding entries of the given terms.
fn disk(terms: &[u64]) -> MemStorage<u64, u64> {
    let mut d = MemStorage::new();
    let hard = HardState {
        term: 3,
        vote: None,
    };
    let entries: Vec<Entry<u64>> = terms
        .iter()
        .enumerate()
        .map(|(i, &term)| Entry {
            term,
            index: i as u64 + 1,
            payload: Payload::Command(i as u64 + 100),
        })
        .collect();
    let (Ok(()), Ok(())) = (d.save_hard_state(hard), d.append(&entries));
    d
}

/// A (log 1,2) leads term 4 with C's vote while B (log 1,3) is cut off; C acknowledges
/// index 2 alone (one entry per append) and A crashes; its append of index 3 is lost. Then B
/// returns and wins with C's vote, since its last term 3 beats C's 2. Returns whether B led.
fn figure_8(fault: Fault) -> Result<bool, Failure> {
    let config = crate::Config {
        max_batch: 1,
        ..test_config()
    };
    let disks = std::vec![disk(&[1, 2]), disk(&[1, 3]), disk(&[1])];
    let mut c = Cluster::with_disks(disks, config, 8, fault);
    let bound = Duration::from_secs(30);
    c.partition(1 << B);
    let c_holds_2 = |c: &Cluster| c.slots[C].term_at(2) == Some(2) && c.slots[A].is_leader();
    assert!(
        c.run_until(bound, c_holds_2)?,
        "A leads and C holds index 2"
    );
    c.deliver_to(A)?;
    c.crash(A);
    c.drop_from(A);
    c.heal();
    c.run_until(bound, |c| c.slots[B].is_leader())
}

#[test]
fn figure_8_is_safe_with_the_current_term_rule() {
    assert!(matches!(figure_8(Fault::None), Ok(true)));
}

#[test]
fn figure_8_old_term_commit_is_caught() {
    match figure_8(Fault::CommitsOldTerm) {
        Err(Failure::Violation(Violation::LeaderIncomplete {
            leader: 2,
            index: 2,
            ..
        })) => {}
        other => panic!("expected leader completeness to fail, got {other:?}"),
    }
}
