//! Example-based checks of commit, abort, merge, the clock and the bounded store.

use glomers_txn::{
    BoundedStore, Full, Isolation, LamportClock, MicroOp, RegisterMap, Stamp, Versioned, WriteSet,
};

#[test]
fn own_writes_are_visible_and_only_final_writes_are_published() {
    let mut store = RegisterMap::new();
    let txn = [
        MicroOp::read(1),
        MicroOp::write(1, 10),
        MicroOp::read(1),
        MicroOp::write(1, 11),
        MicroOp::write(0, 5),
        MicroOp::read(1),
    ];
    let applied = store
        .apply(&txn, Isolation::ReadCommitted, Stamp::new(3, 1))
        .commit();
    assert_eq!(
        applied.completed,
        vec![
            MicroOp::Read {
                key: 1,
                value: None
            },
            MicroOp::write(1, 10),
            MicroOp::Read {
                key: 1,
                value: Some(10)
            },
            MicroOp::write(1, 11),
            MicroOp::write(0, 5),
            MicroOp::Read {
                key: 1,
                value: Some(11)
            },
        ]
    );
    assert_eq!(applied.writes.writes, vec![(0, 5), (1, 11)]);
    assert_eq!(applied.writes.stamp, Stamp::new(3, 1));
    assert_eq!(applied.isolation, Isolation::ReadCommitted);
    assert_eq!(
        store.get(&1),
        Some(&Versioned {
            value: 11,
            stamp: Stamp::new(3, 1)
        })
    );
}

#[test]
fn an_aborted_transaction_leaves_no_trace() {
    let mut store = RegisterMap::new();
    let _ = store
        .apply(
            &[MicroOp::write(1, 1)],
            Isolation::ReadCommitted,
            Stamp::new(1, 0),
        )
        .commit();
    let before = store.clone();
    let pending = store.apply(
        &[MicroOp::write(1, 2), MicroOp::write(2, 3), MicroOp::read(1)],
        Isolation::ReadUncommitted,
        Stamp::new(2, 0),
    );
    assert_eq!(pending.writes().writes, vec![(1, 2), (2, 3)]);
    pending.abort();
    assert_eq!(store, before);
    drop(store.apply(
        &[MicroOp::write(1, 9)],
        Isolation::ReadCommitted,
        Stamp::new(3, 0),
    ));
    assert_eq!(store, before, "dropping a pending transaction aborts it");
}

#[test]
fn read_only_transactions_replicate_nothing() {
    let mut store: RegisterMap = RegisterMap::new();
    let applied = store
        .apply(
            &[MicroOp::read(4)],
            Isolation::ReadCommitted,
            Stamp::new(1, 0),
        )
        .commit();
    assert!(applied.writes.is_empty());
    assert!(store.is_empty());
}

#[test]
fn equal_counters_are_ordered_by_node() {
    let older = WriteSet {
        stamp: Stamp::new(5, 0),
        writes: vec![(1, 100)],
    };
    let newer = WriteSet {
        stamp: Stamp::new(5, 1),
        writes: vec![(1, 1)],
    };
    let (mut a, mut b) = (RegisterMap::new(), RegisterMap::new());
    a.merge(&older);
    a.merge(&newer);
    b.merge(&newer);
    b.merge(&older);
    assert_eq!(a, b);
    assert_eq!(a.value(&1), Some(&1));
    assert_eq!(b.merge(&newer), 0, "a duplicate changes nothing");
}

#[test]
fn clock_saturates_instead_of_overflowing() {
    let mut clock = LamportClock::new(3);
    assert_eq!(clock.tick(), Stamp::new(1, 3));
    clock.observe(Stamp::new(41, 0));
    assert_eq!(clock.tick(), Stamp::new(43, 3));
    clock.observe(Stamp::new(u64::MAX, 7));
    assert!(clock.is_exhausted());
    assert_eq!(clock.tick(), Stamp::new(u64::MAX, 3));
    assert_eq!(clock.counter(), u64::MAX);
    assert_eq!(clock.node(), 3);
}

#[test]
fn bounded_store_refuses_whole_write_sets_when_full() {
    let mut store: BoundedStore<i64, i64, 4> = BoundedStore::new();
    assert_eq!(
        store.publish(Stamp::new(1, 0), &[(1, 1), (2, 2), (3, 3)]),
        Ok(3)
    );
    let before: Vec<_> = store.iter().map(|(k, v)| (*k, *v)).collect();
    assert_eq!(
        store.publish(Stamp::new(2, 0), &[(1, 7), (4, 4), (5, 5)]),
        Err(Full::Store { capacity: 4 })
    );
    let after: Vec<_> = store.iter().map(|(k, v)| (*k, *v)).collect();
    assert_eq!(before, after, "a refused write set changes nothing");
    // Repeated keys count once, so an unsorted set with a duplicate new key still fits.
    assert_eq!(
        store.publish(Stamp::new(3, 0), &[(4, 1), (1, 8), (4, 2)]),
        Ok(3)
    );
    assert_eq!(store.value(&4), Some(&2));
    assert_eq!(store.len(), store.capacity());
}

#[test]
fn bounded_execution_refuses_oversized_transactions() {
    let store: BoundedStore<i64, i64, 8> = BoundedStore::new();
    let mut txn = [
        MicroOp::write(1, 1),
        MicroOp::write(2, 2),
        MicroOp::write(1, 3),
    ];
    let writes = store.execute::<2>(&mut txn).expect("two distinct keys fit");
    assert_eq!(writes.as_slice(), &[(1, 3), (2, 2)]);
    let mut txn = [
        MicroOp::write(1, 1),
        MicroOp::write(2, 2),
        MicroOp::write(3, 3),
    ];
    assert_eq!(
        store.execute::<2>(&mut txn),
        Err(Full::Buffer { capacity: 2 })
    );
    assert!(store.is_empty());
}

#[test]
fn full_errors_describe_themselves() {
    assert_eq!(
        Full::Store { capacity: 4 }.to_string(),
        "register store full (4 keys)"
    );
    assert_eq!(
        Full::Buffer { capacity: 2 }.to_string(),
        "transaction writes more than 2 distinct keys"
    );
}
