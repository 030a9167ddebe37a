//! Random schedules against the invariant checks, liveness after them, and the broken
//! variants the checks must catch.

use core::time::Duration;
use std::vec;
use std::vec::Vec;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config as RunnerConfig, RngAlgorithm, TestError, TestRng, TestRunner};

use super::cluster::{Cluster, Failure};
use crate::raft::Fault;

#[derive(Clone, Debug)]
enum Action {
    Deliver(usize),
    Burst(usize),
    Duplicate(usize),
    Drop(usize),
    Advance(u16),
    Propose(usize),
    Read(usize),
    Crash(usize),
    CrashLeader,
    Restart(usize),
    Partition(u32),
    Heal,
}

#[derive(Clone, Debug)]
struct Schedule {
    size: usize,
    seed: u64,
    actions: Vec<Action>,
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        20 => any::<usize>().prop_map(Action::Deliver),
        20 => (1usize..16).prop_map(Action::Burst),
        3 => any::<usize>().prop_map(Action::Duplicate),
        3 => any::<usize>().prop_map(Action::Drop),
        12 => (1u16..40).prop_map(Action::Advance),
        2 => (40u16..400).prop_map(Action::Advance),
        6 => (0usize..5).prop_map(Action::Propose),
        3 => (0usize..5).prop_map(Action::Read),
        1 => (0usize..5).prop_map(Action::Crash),
        1 => Just(Action::CrashLeader),
        2 => (0usize..5).prop_map(Action::Restart),
        1 => any::<u32>().prop_map(Action::Partition),
        1 => Just(Action::Heal),
    ]
}

fn schedule() -> impl Strategy<Value = Schedule> {
    (
        prop_oneof![Just(3usize), Just(5usize)],
        any::<u64>(),
        proptest::collection::vec(action(), 1..800),
    )
        .prop_map(|(size, seed, actions)| Schedule {
            size,
            seed,
            actions,
        })
}

/// Compaction in the swarms that turn it on: every this many applied entries, so that
/// snapshots flow under partitions and restarts.
const COMPACT_EVERY: u64 = 8;

/// Runs the schedule with the invariant checks after every step, then a fault-free stretch
/// that must elect a leader and commit within `bound` of simulated time. With `compact`,
/// every node compacts every [`COMPACT_EVERY`] applied entries. Returns the time the
/// fault-free stretch took and the number of snapshots followers installed.
fn run(s: &Schedule, fault: Fault, compact: bool) -> Result<(Duration, u64), Failure> {
    let mut c = Cluster::new(s.size, s.seed, fault);
    if compact {
        c = c.compacting(COMPACT_EVERY);
    }
    for a in &s.actions {
        match *a {
            Action::Deliver(i) => c.deliver(i, false)?,
            Action::Burst(n) => c.burst(n)?,
            Action::Duplicate(i) => c.deliver(i, true)?,
            Action::Drop(i) => c.drop_message(i),
            Action::Advance(ms) => c.advance(Duration::from_millis(u64::from(ms)))?,
            Action::Propose(k) => c.propose(k % s.size)?,
            Action::Read(k) => c.read(k % s.size)?,
            Action::Crash(k) => c.crash(k % s.size),
            Action::CrashLeader => c.crash_leader(),
            Action::Restart(k) => c.restart(k % s.size)?,
            Action::Partition(mask) => c.partition(mask),
            Action::Heal => c.heal(),
        }
    }
    let took = c.settle(liveness_bound())?;
    Ok((took, c.snapshots.1))
}

/// Twenty of the longest election timeouts: room for several split votes.
fn liveness_bound() -> Duration {
    super::cluster::test_config().election_timeout_max * 20
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    /// Safety under any schedule of delivery, loss, duplication, reordering, delay, crashes
    /// and partitions; then liveness once the faults stop.
    #[test]
    fn random_schedules_keep_the_invariants_and_then_commit(s in schedule()) {
        if let Err(f) = run(&s, Fault::None, false) {
            prop_assert!(false, "{}", f);
        }
    }

    /// The same with compaction every few entries: followers that fall behind, restart or
    /// return from a partition are caught up by snapshots, and every invariant still holds
    /// (state machines agree at every index, whether reached by entries or a snapshot).
    #[test]
    fn random_schedules_with_compaction_keep_the_invariants_and_then_commit(s in schedule()) {
        if let Err(f) = run(&s, Fault::None, true) {
            prop_assert!(false, "{}", f);
        }
    }
}

/// Runs random schedules with `fault` switched on and returns the first failure `caught`
/// accepts (shrunk by proptest), or `None` if no schedule produced one.
fn hunt(
    fault: Fault,
    compact: bool,
    cases: u32,
    caught: fn(&Failure) -> bool,
) -> Option<std::string::String> {
    let config = RunnerConfig {
        cases,
        failure_persistence: None,
        ..RunnerConfig::default()
    };
    let rng = TestRng::deterministic_rng(RngAlgorithm::ChaCha);
    let mut runner = TestRunner::new_with_rng(config, rng);
    let result = runner.run(&schedule(), |s| match run(&s, fault, compact) {
        Err(f) if caught(&f) => Err(TestCaseError::fail(std::format!("{f}"))),
        _ => Ok(()),
    });
    match result {
        Err(TestError::Fail(reason, _)) => Some(std::format!("{reason}")),
        _ => None,
    }
}

/// Voting without the up-to-date-log check lets a node without committed entries win an
/// election and overwrite them: the invariant checks must report it.
#[test]
fn vote_without_log_check_is_caught() {
    let found = hunt(Fault::VoteIgnoresLog, false, 512, |f| {
        matches!(f, Failure::Violation(_))
    });
    let reason = found.expect("a schedule breaking an invariant");
    assert!(
        reason.contains("leader completeness")
            || reason.contains("committed")
            || reason.contains("state machine"),
        "{reason}"
    );
}

/// A follower that installs a snapshot older than its commit index in place of its whole
/// log forgets committed entries: the checks report its commit index beyond its log.
#[test]
fn installing_a_stale_snapshot_is_caught() {
    let found = hunt(Fault::InstallsStaleSnapshot, true, 4096, |f| {
        matches!(f, Failure::Violation(_))
    });
    let reason = found.expect("a schedule breaking an invariant");
    assert!(reason.contains("beyond its last index"), "{reason}");
}

/// Compacting the whole log, uncommitted entries included, is reported at once.
#[test]
fn compacting_past_the_commit_index_is_caught() {
    let found = hunt(Fault::CompactsUncommitted, true, 256, |f| {
        matches!(f, Failure::Violation(_))
    });
    let reason = found.expect("a schedule breaking an invariant");
    assert!(reason.contains("beyond its commit index"), "{reason}");
}

/// The swarm with compaction really exercises snapshots: over a fixed set of schedules,
/// followers install many (and none without compaction).
#[test]
fn the_compacting_swarm_installs_snapshots() {
    let rng = TestRng::deterministic_rng(RngAlgorithm::ChaCha);
    let mut runner = TestRunner::new_with_rng(RunnerConfig::default(), rng);
    let (mut with, mut without) = (0, 0);
    for _ in 0..64 {
        let s = schedule()
            .new_tree(&mut runner)
            .expect("a schedule")
            .current();
        with += run(&s, Fault::None, true).map_or(0, |(_, n)| n);
        without += run(&s, Fault::None, false).map_or(0, |(_, n)| n);
    }
    assert_eq!(without, 0);
    assert!(with >= 8, "{with} snapshots installed");
}
