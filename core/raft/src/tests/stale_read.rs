//! A leader cut off in a minority while the majority elects another and writes: its reads
//! must wait for a quorum round (and so never come), not answer from its stale state.

use core::time::Duration;

use super::cluster::{Cluster, Failure};
use crate::check::NodeView;
use crate::raft::Fault;
use crate::Role;

/// Returns whether the old leader still led when the read was asked.
fn read_at_cut_off_leader(fault: Fault) -> Result<bool, Failure> {
    let mut c = Cluster::new(3, 5, fault);
    let bound = Duration::from_secs(30);
    let elected = |c: &Cluster| c.leader().is_some_and(|k| c.slots[k].commit_index() >= 1);
    assert!(c.run_until(bound, elected)?);
    let old = c.leader().unwrap_or(0);
    c.partition(1 << old);
    let newer = move |c: &Cluster| {
        c.leader().filter(|&k| k != old).is_some_and(|k| {
            c.node(k)
                .is_some_and(|n| n.applied_index() >= 1 && n.commit_index() >= 1)
        })
    };
    assert!(c.run_until(bound, newer)?);
    let new = c.leader().unwrap_or(0);
    c.propose(new)?;
    let written = c.history.committed_index() + 1;
    assert!(c.run_until(bound, move |c| c.history.applied_index() >= written)?);
    let still_leading = c.node(old).is_some_and(|n| n.role() == Role::Leader);
    c.read(old)?;
    c.run_until(Duration::from_secs(2), |_| false)?;
    Ok(still_leading)
}

#[test]
fn a_cut_off_leader_does_not_serve_reads() {
    assert!(matches!(read_at_cut_off_leader(Fault::None), Ok(true)));
}

#[test]
fn reads_without_a_quorum_round_are_caught() {
    let r = read_at_cut_off_leader(Fault::ReadsWithoutQuorum);
    assert!(matches!(r, Err(Failure::StaleRead { .. })), "{r:?}");
}
