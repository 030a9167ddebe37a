//! Property tests of the G-counter and PN-counter CRDT laws, for both storages.
use glomers_gcounter::{
    BoundedGCounter, BoundedPnCounter, Error, GCounter, MapGCounter, MapPnCounter, NodeId, Slots,
};
use proptest::prelude::*;

/// A list of (node, delta) increments over a small node space.
fn incs() -> impl Strategy<Value = Vec<(NodeId, u64)>> {
    prop::collection::vec((0u32..6, 0u64..1000), 0..20)
}

fn build<S: Slots>(incs: &[(NodeId, u64)]) -> GCounter<S> {
    let mut c = GCounter::<S>::new();
    for &(n, d) in incs {
        c.increment(n, d).unwrap();
    }
    c
}

fn merged<S: Slots>(a: &GCounter<S>, b: &GCounter<S>) -> GCounter<S> {
    let mut m = a.clone();
    m.merge(b).unwrap();
    m
}

proptest! {
    #[test]
    fn merge_commutative(a in incs(), b in incs()) {
        let (a, b): (MapGCounter, MapGCounter) = (build(&a), build(&b));
        let (ab, ba) = (merged(&a, &b), merged(&b, &a));
        prop_assert_eq!(ab.value(), ba.value());
        prop_assert_eq!(ab, ba);
    }

    #[test]
    fn merge_associative(a in incs(), b in incs(), c in incs()) {
        let (a, b, c): (MapGCounter, MapGCounter, MapGCounter) = (build(&a), build(&b), build(&c));
        let l = merged(&merged(&a, &b), &c);
        let r = merged(&a, &merged(&b, &c));
        prop_assert_eq!(l.value(), r.value());
        prop_assert_eq!(l, r);
    }

    #[test]
    fn merge_idempotent(a in incs(), b in incs()) {
        let a: MapGCounter = build(&a);
        let aa = merged(&a, &a);
        prop_assert_eq!(aa.value(), a.value());
        prop_assert_eq!(&aa, &a);
        // Merging the same state twice is the same as once.
        let b: MapGCounter = build(&b);
        let ab = merged(&a, &b);
        prop_assert_eq!(merged(&ab, &b), ab);
    }

    #[test]
    fn merge_never_decreases(a in incs(), b in incs()) {
        let (a, b): (MapGCounter, MapGCounter) = (build(&a), build(&b));
        let m = merged(&a, &b);
        prop_assert!(m.value() >= a.value());
        prop_assert!(m.value() >= b.value());
        for n in 0..6 {
            prop_assert_eq!(m.get(n), a.get(n).max(b.get(n)));
        }
    }

    #[test]
    fn value_is_sum_of_increments(a in incs()) {
        let c: MapGCounter = build(&a);
        prop_assert_eq!(c.value(), a.iter().map(|x| x.1).sum::<u64>());
    }

    #[test]
    fn delta_merge_equals_full_merge(a in incs(), b in incs()) {
        let (a, b): (MapGCounter, MapGCounter) = (build(&a), build(&b));
        let delta = a.delta_since(&b);
        // Only slots where a is strictly ahead are sent.
        for (n, c) in delta.iter() {
            prop_assert!(c > b.get(n));
            prop_assert_eq!(c, a.get(n));
        }
        let mut via_delta = b.clone();
        via_delta.apply(&delta).unwrap();
        prop_assert_eq!(via_delta, merged(&b, &a));
        // Over the wire too.
        let json = serde_json::to_string(&delta).unwrap();
        let back: glomers_gcounter::Delta<glomers_gcounter::BoundedSlots<8>> =
            serde_json::from_str(&json).unwrap();
        let mut bounded: BoundedGCounter<8> = build(&b_incs_of(&b));
        bounded.apply(&back).unwrap();
        prop_assert_eq!(bounded.value(), merged(&b, &a).value());
    }

    #[test]
    fn bounded_equals_alloc(a in incs(), b in incs()) {
        let (ma, mb): (MapGCounter, MapGCounter) = (build(&a), build(&b));
        let (ba, bb): (BoundedGCounter<6>, BoundedGCounter<6>) = (build(&a), build(&b));
        let (m, bm) = (merged(&ma, &mb), merged(&ba, &bb));
        prop_assert_eq!(m.slots().collect::<Vec<_>>(), bm.slots().collect::<Vec<_>>());
        prop_assert_eq!(m.value(), bm.value());
        let (md, bd) = (ma.delta_since(&mb), ba.delta_since(&bb));
        prop_assert_eq!(md.iter().collect::<Vec<_>>(), bd.iter().collect::<Vec<_>>());
        prop_assert_eq!(serde_json::to_string(&m).unwrap(), serde_json::to_string(&bm).unwrap());
    }

    #[test]
    fn bounded_overflowing_merge_leaves_state(a in incs(), b in incs()) {
        let mut small: BoundedGCounter<2> = GCounter::new();
        let mut model: MapGCounter = GCounter::new();
        for &(n, d) in &a {
            let r = small.increment(n, d);
            if r.is_ok() {
                model.increment(n, d).unwrap();
            } else {
                prop_assert_eq!(r, Err(Error::CapacityExceeded));
            }
        }
        let other: MapGCounter = build(&b);
        let before = small.clone();
        let union: std::collections::BTreeSet<_> =
            small.slots().chain(other.slots()).map(|s| s.0).collect();
        match small.merge(&other) {
            Ok(()) => {
                prop_assert!(union.len() <= 2);
                prop_assert_eq!(small.value(), merged(&model, &other).value());
            }
            Err(e) => {
                prop_assert_eq!(e, Error::CapacityExceeded);
                prop_assert!(union.len() > 2);
                prop_assert_eq!(small, before);
            }
        }
    }

    #[test]
    fn pn_value_is_incs_minus_decs(ops in prop::collection::vec((0u32..4, any::<bool>(), 0u64..1000), 0..30)) {
        let mut m = MapPnCounter::new();
        let mut b = BoundedPnCounter::<4>::new();
        let mut expect = 0i64;
        for &(n, up, d) in &ops {
            if up {
                m.increment(n, d).unwrap();
                b.increment(n, d).unwrap();
                expect += d as i64;
            } else {
                m.decrement(n, d).unwrap();
                b.decrement(n, d).unwrap();
                expect -= d as i64;
            }
        }
        prop_assert_eq!(m.value(), expect);
        prop_assert_eq!(b.value(), expect);
    }

    #[test]
    fn pn_replicas_converge(ops in prop::collection::vec((0u32..3, any::<bool>(), 0u64..100), 0..30)) {
        // Each node applies its own operations on its own replica; gossip in two orders.
        let mut reps = [MapPnCounter::new(), MapPnCounter::new(), MapPnCounter::new()];
        let mut expect = 0i64;
        for &(n, up, d) in &ops {
            let r = &mut reps[n as usize];
            if up { r.increment(n, d).unwrap(); expect += d as i64; }
            else { r.decrement(n, d).unwrap(); expect -= d as i64; }
        }
        let mut x = reps[0].clone();
        let d1 = reps[1].delta_since(&x);
        x.apply(&d1).unwrap();
        let d2 = reps[2].delta_since(&x);
        x.apply(&d2).unwrap();
        let mut y = reps[2].clone();
        y.merge(&reps[0]).unwrap();
        y.merge(&reps[1]).unwrap();
        y.merge(&reps[0]).unwrap();
        prop_assert_eq!(x.value(), expect);
        prop_assert_eq!(&x, &y);
        let json = serde_json::to_string(&x).unwrap();
        let back: MapPnCounter = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(back, x);
    }
}

/// Rebuilds increments reproducing a counter's state (one increment per slot).
fn b_incs_of(c: &MapGCounter) -> Vec<(NodeId, u64)> {
    c.slots().collect()
}

#[test]
fn overflow_is_typed_and_harmless() {
    let mut c = MapGCounter::new();
    c.increment(1, u64::MAX).unwrap();
    assert_eq!(c.increment(1, 1), Err(Error::Overflow));
    assert_eq!(c.get(1), u64::MAX);
    c.increment(2, 5).unwrap();
    assert_eq!(c.value(), u64::MAX, "sum saturates");
    let mut p = MapPnCounter::new();
    p.decrement(0, u64::MAX).unwrap();
    assert_eq!(p.value(), i64::MIN);
}

#[test]
fn wire_form_is_pairs() {
    let mut c = MapGCounter::new();
    c.increment(3, 7).unwrap();
    c.increment(1, 2).unwrap();
    c.increment(9, 0).unwrap();
    assert_eq!(serde_json::to_string(&c).unwrap(), "[[1,2],[3,7]]");
    let back: BoundedGCounter<2> = serde_json::from_str("[[3,7],[1,2],[3,4],[5,0]]").unwrap();
    assert_eq!(back.slots().collect::<Vec<_>>(), vec![(1, 2), (3, 7)]);
    assert!(serde_json::from_str::<BoundedGCounter<1>>("[[3,7],[1,2]]").is_err());
}
