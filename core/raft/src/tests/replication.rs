//! Replication rules: the consistency check, hints, merge, commit, flow control.

use std::vec::Vec;

use super::cluster::test_config;
use super::support::*;
use crate::raft::Fault;
use crate::{AppendResponse, AppendResult, Error, Message, Output, Storage};

fn rejection(out: &Out) -> Option<AppendResult> {
    sent(out).into_iter().find_map(|(_, m)| match m {
        Message::AppendResponse(AppendResponse { result, .. }) => Some(result),
        _ => None,
    })
}

fn reject(
    term: u64,
    prev_index: u64,
    hint_index: u64,
    hint_term: Option<u64>,
) -> Message<u64, u64> {
    Message::AppendResponse(AppendResponse {
        term,
        round: 0,
        result: AppendResult::Rejected {
            prev_index,
            hint_index,
            hint_term,
        },
    })
}

#[test]
fn a_gap_is_rejected_with_the_follower_length() {
    let mut n = node_on(2, 3, disk(1, &[1, 1]), test_config());
    let out = step(&mut n, 1, append(1, 5, 1, &[1], 0));
    let expected = AppendResult::Rejected {
        prev_index: 5,
        hint_index: 3,
        hint_term: None,
    };
    assert_eq!(rejection(&out), Some(expected));
    assert_eq!(log_terms(&n), [1, 1]);
}

#[test]
fn a_conflict_is_rejected_with_the_first_index_of_the_conflicting_term() {
    let mut n = node_on(2, 3, disk(3, &[1, 1, 2, 2, 2]), test_config());
    let out = step(&mut n, 1, append(3, 5, 3, &[3], 0));
    let expected = AppendResult::Rejected {
        prev_index: 5,
        hint_index: 3,
        hint_term: Some(2),
    };
    assert_eq!(rejection(&out), Some(expected));
    assert_eq!(log_terms(&n), [1, 1, 2, 2, 2]);
}

#[test]
fn the_leader_backs_up_a_term_per_rejection_and_ignores_stale_ones() {
    // Leader log 1, 1, 3, 3; elected in term 4 its no-op goes at 5 and it probes at 4.
    let cases = [
        (Some(2), 3, 2), // we hold no term 2: retry at the follower's first index of it
        (Some(1), 1, 2), // we hold term 1 up to 2: retry after it
        (None, 2, 1),    // the follower's log ends at 1
    ];
    for (hint_term, hint_index, prev) in cases {
        let mut n = node_on(1, 3, disk(3, &[1, 1, 3, 3]), test_config());
        elect(&mut n);
        let out = step(&mut n, 2, reject(4, 4, hint_index, hint_term));
        let sent = appends(&out);
        assert_eq!(sent.len(), 1, "{hint_term:?}");
        assert_eq!(
            (sent[0].0, sent[0].1.prev_index),
            (2, prev),
            "{hint_term:?}"
        );
        // The same rejection again is stale: nothing more is sent.
        let out = step(&mut n, 2, reject(4, 4, hint_index, hint_term));
        assert!(appends(&out).is_empty());
    }
}

#[test]
fn a_delayed_shorter_append_never_truncates() {
    let mut n = node(2, 3);
    step(&mut n, 1, append(1, 0, 0, &[1, 1, 1], 0));
    let out = step(&mut n, 1, append(1, 0, 0, &[1], 0));
    assert_eq!(log_terms(&n), [1, 1, 1]);
    assert_eq!(
        rejection(&out),
        Some(AppendResult::Accepted { match_index: 1 })
    );
}

#[test]
fn a_conflicting_suffix_is_replaced() {
    let mut n = node_on(2, 3, disk(3, &[1, 1, 2, 2]), test_config());
    let out = step(&mut n, 1, append(3, 2, 1, &[3], 0));
    assert_eq!(log_terms(&n), [1, 1, 3]);
    assert_eq!(
        rejection(&out),
        Some(AppendResult::Accepted { match_index: 3 })
    );
}

#[test]
fn a_follower_commits_no_further_than_the_index_just_verified() {
    let mut n = node_on(2, 3, disk(3, &[1, 1, 2, 2]), test_config());
    let out = step(&mut n, 1, append(3, 2, 1, &[], 10));
    assert_eq!(n.commit_index(), 2);
    let applied: Vec<u64> = out
        .iter()
        .filter_map(|o| match o {
            Output::Apply(e) => Some(e.index),
            _ => None,
        })
        .collect();
    assert_eq!(applied, [1, 2]);
}

#[test]
fn an_older_term_entry_commits_only_under_a_current_term_entry() {
    let mut n = node_on(1, 3, disk(2, &[1, 2]), test_config());
    elect(&mut n);
    assert_eq!(n.term(), 3);
    step(&mut n, 2, accept(3, 2, 0));
    assert_eq!(
        n.commit_index(),
        0,
        "index 2 is of term 2: a majority holding it is not enough"
    );
    step(&mut n, 2, accept(3, 3, 0));
    assert_eq!(n.commit_index(), 3);
    // The broken rule commits it by count.
    let mut broken = node_on(1, 3, disk(2, &[1, 2]), test_config());
    broken.set_fault(Fault::CommitsOldTerm);
    elect(&mut broken);
    step(&mut broken, 2, accept(3, 2, 0));
    assert_eq!(broken.commit_index(), 2);
}

#[test]
fn overwriting_a_committed_entry_is_refused() {
    let mut n = node(2, 3);
    step(&mut n, 1, append(1, 0, 0, &[1, 1], 2));
    assert_eq!(n.commit_index(), 2);
    let mut out = Vec::new();
    let now = n.now;
    let r = n.step(now, 3, append(2, 1, 1, &[2], 0), &mut out);
    assert_eq!(r, Err(Error::CommittedConflict { index: 2 }));
    assert_eq!(log_terms(&n), [1, 1]);
}

#[test]
fn malformed_appends_are_ignored() {
    let mut n = node(2, 3);
    let mut gap = append(1, 0, 0, &[1, 1], 0);
    if let Message::Append(a) = &mut gap {
        a.entries[1].index = 5;
    }
    assert!(step(&mut n, 1, gap).is_empty());
    assert!(
        step(&mut n, 1, append(1, 0, 0, &[2], 0)).is_empty(),
        "entry term above the message's"
    );
    assert!(
        step(&mut n, 1, append(2, 0, 0, &[2, 1], 0)).is_empty(),
        "terms going down"
    );
    assert!(
        step(&mut n, 9, append(2, 0, 0, &[2], 0)).is_empty(),
        "unknown sender"
    );
    assert_eq!(n.storage().last_index(), 0);
}

#[test]
fn acknowledgements_only_raise_the_match_point() {
    let mut n = node_on(1, 3, disk(1, &[1, 1, 1]), test_config());
    elect(&mut n);
    step(&mut n, 2, accept(2, 3, 0));
    step(&mut n, 2, accept(2, 1, 0));
    step(&mut n, 2, accept(2, 99, 0));
    assert_eq!(n.progress[0].matched, 3);
}

#[test]
fn probing_keeps_one_append_in_flight() {
    let mut n = node_on(1, 3, disk(1, &[1; 10]), test_config());
    let out = elect(&mut n);
    assert_eq!(appends(&out).iter().filter(|(to, _)| *to == 2).count(), 1);
    let mut out = Vec::new();
    let now = n.now;
    n.propose(now, 5, &mut out).expect("proposal");
    assert!(appends(&out).is_empty(), "both followers are still probing");
}

#[test]
fn the_window_bounds_pipelined_appends() {
    let window = test_config().window;
    let mut n = node_on(1, 3, disk(1, &[1; 20]), test_config());
    elect(&mut n);
    // Follower 2 matches at 20: it switches to replicating. The probe carrying the no-op is
    // still in flight and is not sent again.
    let out = step(&mut n, 2, accept(2, 20, 0));
    assert!(appends(&out).is_empty());
    let mut in_flight = 1;
    for command in 0..10 {
        let mut out = Vec::new();
        let now = n.now;
        n.propose(now, command, &mut out).expect("proposal");
        in_flight += appends(&out).iter().filter(|(to, _)| *to == 2).count();
    }
    assert_eq!(in_flight, window);
    // Acknowledging the first frees one slot, which the next batch takes.
    let out = step(&mut n, 2, accept(2, 21, 0));
    let next = appends(&out);
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].1.entries.len(), test_config().max_batch);
}

#[test]
fn a_lost_append_is_sent_again_after_the_retransmit_timeout() {
    let config = test_config();
    let mut n = node_on(1, 3, disk(1, &[1; 5]), config);
    let out = elect(&mut n);
    let first = appends(&out)
        .into_iter()
        .find(|(to, _)| *to == 2)
        .expect("probe");
    // A heartbeat before the timeout only heartbeats; after it, the probe goes again.
    let out = fire(&mut n);
    assert!(appends(&out).iter().all(|(_, a)| a.entries.is_empty()));
    n.now += config.retransmit_timeout;
    let out = fire(&mut n);
    let again = appends(&out)
        .into_iter()
        .find(|(to, _)| *to == 2)
        .expect("resent");
    assert_eq!(again.1.prev_index, first.1.prev_index);
    assert_eq!(again.1.entries, first.1.entries);
}

#[test]
fn the_apply_backlog_is_handed_out_in_batches_due_at_once() {
    let batch = test_config().max_apply_batch;
    let mut n = node(2, 3);
    let out = step(&mut n, 1, append(1, 0, 0, &[1; 10], 10));
    let count = |out: &Out| out.iter().filter(|o| matches!(o, Output::Apply(_))).count();
    assert_eq!(count(&out), batch);
    assert_eq!(n.poll_timeout(), n.now);
    let out = fire(&mut n);
    assert_eq!(count(&out), batch);
    let out = fire(&mut n);
    assert_eq!(count(&out), 10 - 2 * batch);
    assert!(n.poll_timeout() > n.now);
}

#[test]
fn a_heartbeat_acceptance_resolves_no_probe() {
    let mut n = node_on(1, 3, disk(1, &[1; 5]), test_config());
    elect(&mut n);
    // The probe at 5 is in flight; an acceptance at 0 (a heartbeat's) changes nothing.
    step(&mut n, 2, accept(2, 0, 0));
    assert!(!n.progress[0].replicating);
    assert_eq!(n.progress[0].next, 6);
    step(&mut n, 2, accept(2, 6, 0));
    assert!(n.progress[0].replicating);
    assert_eq!((n.progress[0].matched, n.progress[0].next), (6, 7));
}
