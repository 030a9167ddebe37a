//! Property tests of the applier's invariants: convergence, read-committed visibility,
//! completed micro-operations, Lamport stamps, stale write sets, bounded/growable agreement.

use std::collections::{BTreeMap, BTreeSet};

use glomers_txn::{
    BoundedStore, Isolation, LamportClock, MicroOp, RegisterMap, Stamp, Versioned, WriteSet,
};
use proptest::prelude::*;

fn stamp() -> impl Strategy<Value = Stamp> {
    // Small ranges so that equal counters (node tie-break) and equal stamps occur.
    (0u64..6, 0u32..3).prop_map(|(counter, node)| Stamp::new(counter, node))
}

fn write_set() -> impl Strategy<Value = WriteSet> {
    (stamp(), prop::collection::vec((0i64..5, 0i64..10), 0..5))
        .prop_map(|(stamp, writes)| WriteSet { stamp, writes })
}

fn micro_op() -> impl Strategy<Value = MicroOp> {
    prop_oneof![
        (0i64..4).prop_map(MicroOp::read),
        (0i64..4, 0i64..100).prop_map(|(k, v)| MicroOp::write(k, v)),
    ]
}

/// Write sets plus a delivery order: a permutation of all of them with duplicates mixed in.
fn sets_and_delivery() -> impl Strategy<Value = (Vec<WriteSet>, Vec<usize>)> {
    prop::collection::vec(write_set(), 1..8).prop_flat_map(|sets| {
        let n = sets.len();
        let order = prop::collection::vec(0..n, 0..n).prop_flat_map(move |extra| {
            let mut all: Vec<usize> = (0..n).collect();
            all.extend(extra);
            Just(all).prop_shuffle()
        });
        (Just(sets), order)
    })
}

fn snapshot<K: Clone + Ord, V: Clone>(
    iter: impl Iterator<Item = (K, Versioned<V>)>,
) -> BTreeMap<K, Versioned<V>> {
    iter.collect()
}

proptest! {
    /// (1) Any permutation with duplicates of a set of write sets, merged into fresh
    /// replicas, yields the same state (growable and bounded store alike).
    #[test]
    fn replicas_converge_regardless_of_order_and_duplication(
        (sets, order) in sets_and_delivery()
    ) {
        let mut reference = RegisterMap::new();
        for set in &sets {
            reference.merge(set);
        }
        let mut shuffled = RegisterMap::new();
        let mut bounded: BoundedStore<i64, i64, 8> = BoundedStore::new();
        for &i in &order {
            shuffled.merge(&sets[i]);
            prop_assert!(bounded.merge(&sets[i]).is_ok());
        }
        let mut reversed = RegisterMap::new();
        for set in sets.iter().rev() {
            reversed.merge(set);
            reversed.merge(set);
        }
        prop_assert_eq!(&shuffled, &reference);
        prop_assert_eq!(&reversed, &reference);
        prop_assert_eq!(
            snapshot(bounded.iter().map(|(k, v)| (*k, *v))),
            snapshot(reference.iter().map(|(k, v)| (*k, *v)))
        );
        // Each key holds the largest (stamp, value) written to it.
        for (key, version) in reference.iter() {
            let best = sets
                .iter()
                .flat_map(|s| s.writes.iter().filter(|(k, _)| k == key).map(|(_, v)| (s.stamp, *v)))
                .max();
            prop_assert_eq!(best, Some((version.stamp, version.value)));
        }
    }

    /// (5) A write set with a lower stamp never overwrites a newer value, whichever order
    /// the two arrive in.
    #[test]
    fn stale_write_sets_never_overwrite_newer_values(
        old in write_set(),
        new in write_set(),
        old_first in any::<bool>(),
    ) {
        prop_assume!(old.stamp < new.stamp);
        let mut store = RegisterMap::new();
        if old_first {
            store.merge(&old);
            store.merge(&new);
        } else {
            store.merge(&new);
            store.merge(&old);
        }
        let mut newest: BTreeMap<i64, i64> = BTreeMap::new();
        for (k, v) in &new.writes {
            let slot = newest.entry(*k).or_insert(*v);
            *slot = (*slot).max(*v);
        }
        for (key, value) in newest {
            prop_assert_eq!(store.get(&key), Some(&Versioned { value, stamp: new.stamp }));
        }
    }

    /// (3) `apply` returns the micro-operations in order: writes echoed, reads filled with
    /// the transaction's own latest write of the key or else the committed value; the
    /// write set is each key's final write, sorted, stamped with the given stamp.
    #[test]
    fn apply_completes_micro_ops_in_order(
        seed in prop::collection::vec(write_set(), 0..4),
        txn in prop::collection::vec(micro_op(), 0..10),
        isolation in prop_oneof![Just(Isolation::ReadCommitted), Just(Isolation::ReadUncommitted)],
        commit_stamp in stamp(),
    ) {
        let mut store = RegisterMap::new();
        for set in &seed {
            store.merge(set);
        }
        let committed: BTreeMap<i64, i64> =
            store.iter().map(|(k, v)| (*k, v.value)).collect();
        let applied = store.apply(&txn, isolation, commit_stamp).commit();
        prop_assert_eq!(applied.completed.len(), txn.len());
        prop_assert_eq!(applied.isolation, isolation);
        let mut own: BTreeMap<i64, i64> = BTreeMap::new();
        for (request, done) in txn.iter().zip(&applied.completed) {
            match (request, done) {
                (MicroOp::Write { key, value }, done) => {
                    prop_assert_eq!(done, request);
                    own.insert(*key, *value);
                }
                (MicroOp::Read { key, .. }, MicroOp::Read { key: done_key, value }) => {
                    prop_assert_eq!(key, done_key);
                    let expected = own.get(key).or_else(|| committed.get(key)).copied();
                    prop_assert_eq!(*value, expected);
                }
                (MicroOp::Read { .. }, MicroOp::Write { .. }) => {
                    prop_assert!(false, "a read came back as a write");
                }
            }
        }
        let finals: Vec<(i64, i64)> = own.into_iter().collect();
        prop_assert_eq!(&applied.writes.writes, &finals);
        prop_assert_eq!(applied.writes.stamp, commit_stamp);
    }

    /// (4) Stamps from one clock strictly increase and exceed every stamp it observed.
    #[test]
    fn lamport_stamps_increase_past_everything_observed(
        steps in prop::collection::vec(
            prop_oneof![
                Just(None),
                (0u64..(1 << 40), any::<u32>()).prop_map(|(c, n)| Some(Stamp::new(c, n))),
            ],
            1..40,
        ),
        node in any::<u32>(),
    ) {
        let mut clock = LamportClock::new(node);
        let mut last_issued: Option<Stamp> = None;
        let mut max_observed: Option<Stamp> = None;
        for step in steps {
            match step {
                Some(observed) => {
                    clock.observe(observed);
                    max_observed = max_observed.max(Some(observed));
                }
                None => {
                    let issued = clock.tick();
                    prop_assert_eq!(issued.node, node);
                    prop_assert!(Some(issued) > last_issued);
                    if let Some(seen) = max_observed {
                        prop_assert!(issued.counter > seen.counter);
                        prop_assert!(issued > seen);
                    }
                    last_issued = Some(issued);
                }
            }
        }
    }

    /// The bounded store behaves exactly like the growable one while it has room.
    #[test]
    fn bounded_store_agrees_with_register_map(
        steps in prop::collection::vec(
            prop_oneof![
                prop::collection::vec(micro_op(), 1..6).prop_map(Ok),
                write_set().prop_map(Err),
            ],
            0..20,
        ),
    ) {
        let mut map = RegisterMap::new();
        let mut bounded: BoundedStore<i64, i64, 8> = BoundedStore::new();
        let mut clock = LamportClock::new(0);
        for step in steps {
            match step {
                Ok(txn) => {
                    let stamp = clock.tick();
                    let applied = map.apply(&txn, Isolation::ReadCommitted, stamp).commit();
                    let mut ops = txn.clone();
                    let writes = bounded.execute::<8>(&mut ops).map_err(|e| TestCaseError::fail(e.to_string()))?;
                    prop_assert_eq!(&ops, &applied.completed);
                    prop_assert_eq!(writes.as_slice(), applied.writes.writes.as_slice());
                    prop_assert!(bounded.publish(stamp, &writes).is_ok());
                }
                Err(set) => {
                    clock.observe(set.stamp);
                    map.merge(&set);
                    prop_assert!(bounded.merge(&set).is_ok());
                }
            }
            prop_assert_eq!(
                snapshot(bounded.iter().map(|(k, v)| (*k, *v))),
                snapshot(map.iter().map(|(k, v)| (*k, *v)))
            );
        }
    }
}

/// One step of the read-committed scenario.
#[derive(Debug, Clone)]
enum Step {
    /// Run a transaction on `replica`: `(is_write, key)` per micro-op; abort it if `abort`.
    Txn {
        replica: usize,
        ops: Vec<(bool, i64)>,
        abort: bool,
    },
    /// Deliver committed write set number `set` (modulo the count) to `replica`.
    Deliver { replica: usize, set: usize },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0usize..2, prop::collection::vec((any::<bool>(), 0i64..3), 1..6), prop::bool::weighted(0.3))
            .prop_map(|(replica, ops, abort)| Step::Txn { replica, ops, abort }),
        2 => (0usize..2, any::<usize>()).prop_map(|(replica, set)| Step::Deliver { replica, set }),
    ]
}

proptest! {
    /// (2) Under read-committed, across two replicas exchanging write sets in any order,
    /// every read returns the transaction's own latest write of the key if it wrote it
    /// earlier, and otherwise null or the *final* write of some *committed* transaction:
    /// never an aborted value nor an intermediate one. Every written value is unique
    /// (tagged by step and position), so the origin of each read is unambiguous.
    #[test]
    fn read_committed_reads_only_committed_final_writes(
        steps in prop::collection::vec(step(), 1..40)
    ) {
        let mut replicas = [RegisterMap::new(), RegisterMap::new()];
        let mut clocks = [LamportClock::new(0), LamportClock::new(1)];
        let mut committed_sets: Vec<WriteSet> = Vec::new();
        let mut committed_finals: BTreeSet<(i64, i64)> = BTreeSet::new();
        for (n, step) in steps.into_iter().enumerate() {
            match step {
                Step::Txn { replica, ops, abort } => {
                    let txn: Vec<MicroOp> = ops
                        .iter()
                        .enumerate()
                        .map(|(j, &(write, key))| {
                            if write {
                                // Later writes get smaller tags, so a published intermediate
                                // write would win the value tie-break and be read.
                                MicroOp::write(key, (n * 16 + 15 - j) as i64)
                            } else {
                                MicroOp::read(key)
                            }
                        })
                        .collect();
                    let stamp = clocks[replica].tick();
                    let pending = replicas[replica].apply(&txn, Isolation::ReadCommitted, stamp);
                    let mut own: BTreeMap<i64, i64> = BTreeMap::new();
                    for op in pending.completed() {
                        match op {
                            MicroOp::Write { key, value } => {
                                own.insert(*key, *value);
                            }
                            MicroOp::Read { key, value } => match own.get(key) {
                                Some(mine) => prop_assert_eq!(*value, Some(*mine)),
                                None => {
                                    if let Some(v) = value {
                                        prop_assert!(
                                            committed_finals.contains(&(*key, *v)),
                                            "read {}={} is not a committed final write", key, v
                                        );
                                    }
                                }
                            },
                        }
                    }
                    if abort {
                        pending.abort();
                    } else {
                        let applied = pending.commit();
                        // The oracle is the txn's own last write per key, not the
                        // implementation's write set.
                        committed_finals.extend(own.iter().map(|(k, v)| (*k, *v)));
                        committed_sets.push(applied.writes);
                    }
                }
                Step::Deliver { replica, set } => {
                    if !committed_sets.is_empty() {
                        let set = &committed_sets[set % committed_sets.len()];
                        clocks[replica].observe(set.stamp);
                        replicas[replica].merge(set);
                    }
                }
            }
        }
        // Once every committed set reached both, they agree.
        for set in &committed_sets {
            replicas[0].merge(set);
            replicas[1].merge(set);
        }
        prop_assert_eq!(&replicas[0], &replicas[1]);
    }
}
