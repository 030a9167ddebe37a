//! Property tests of the G-set: the semilattice laws of merge, deltas, both storages, the
//! wire forms, against a `BTreeSet` model.
use std::collections::BTreeSet;

use glomers_gset::{BoundedGSet, Element, Elements, Error, GSet, Runs, VecGSet};
use proptest::prelude::*;

/// Elements over a small range (so runs form, touch and split), with the extremes mixed in.
fn element() -> impl Strategy<Value = Element> {
    prop_oneof![
        8 => 0i64..60,
        1 => prop_oneof![
            Just(i64::MIN),
            Just(i64::MIN + 1),
            Just(i64::MAX - 1),
            Just(i64::MAX),
            Just(-1i64),
        ],
    ]
}

fn elements() -> impl Strategy<Value = Vec<Element>> {
    prop::collection::vec(element(), 0..40)
}

fn build<S: Runs>(xs: &[Element]) -> GSet<S> {
    let mut s = GSet::<S>::new();
    for &x in xs {
        s.insert(x).unwrap();
    }
    s
}

fn model(xs: &[Element]) -> BTreeSet<Element> {
    xs.iter().copied().collect()
}

fn merged<S: Runs>(a: &GSet<S>, b: &GSet<S>) -> GSet<S> {
    let mut m = a.clone();
    m.merge(b).unwrap();
    m
}

/// The runs are sorted, non-empty and separated by at least one missing element.
fn well_formed<S: Runs>(s: &GSet<S>) -> bool {
    let runs: Vec<_> = s.runs().collect();
    runs.iter().all(|r| r.0 <= r.1) && runs.windows(2).all(|w| w[0].1.saturating_add(1) < w[1].0)
}

proptest! {
    #[test]
    fn insert_and_iter_match_the_model(xs in elements(), probe in element()) {
        let s: VecGSet = build(&xs);
        let m = model(&xs);
        prop_assert!(well_formed(&s));
        prop_assert_eq!(s.iter().collect::<Vec<_>>(), m.iter().copied().collect::<Vec<_>>());
        prop_assert_eq!(s.len(), m.len() as u64);
        prop_assert_eq!(s.contains(probe), m.contains(&probe));
        let mut again = s.clone();
        prop_assert_eq!(again.insert(probe), Ok(!m.contains(&probe)));
        prop_assert!(again.contains(probe));
    }

    #[test]
    fn merge_commutative(a in elements(), b in elements()) {
        let (a, b): (VecGSet, VecGSet) = (build(&a), build(&b));
        prop_assert_eq!(merged(&a, &b), merged(&b, &a));
    }

    #[test]
    fn merge_associative(a in elements(), b in elements(), c in elements()) {
        let (a, b, c): (VecGSet, VecGSet, VecGSet) = (build(&a), build(&b), build(&c));
        prop_assert_eq!(merged(&merged(&a, &b), &c), merged(&a, &merged(&b, &c)));
    }

    #[test]
    fn merge_idempotent(a in elements(), b in elements()) {
        let (a, b): (VecGSet, VecGSet) = (build(&a), build(&b));
        prop_assert_eq!(&merged(&a, &a), &a);
        let ab = merged(&a, &b);
        prop_assert_eq!(merged(&ab, &b), ab);
    }

    #[test]
    fn merge_is_the_union(a in elements(), b in elements()) {
        let m: VecGSet = merged(&build(&a), &build(&b));
        let union: BTreeSet<_> = model(&a).union(&model(&b)).copied().collect();
        prop_assert!(well_formed(&m));
        prop_assert_eq!(m.iter().collect::<BTreeSet<_>>(), union);
        prop_assert!(build::<glomers_gset::VecRuns>(&a).is_subset(&m));
    }

    #[test]
    fn delta_is_exactly_what_the_peer_lacks(a in elements(), b in elements()) {
        let (a_set, b_set): (VecGSet, VecGSet) = (build(&a), build(&b));
        let delta = a_set.delta_since(&b_set);
        prop_assert!(well_formed(&delta));
        let want: BTreeSet<_> = model(&a).difference(&model(&b)).copied().collect();
        prop_assert_eq!(delta.iter().collect::<BTreeSet<_>>(), want);
        prop_assert_eq!(merged(&b_set, &delta), merged(&b_set, &a_set));
        prop_assert_eq!(delta.is_empty(), a_set.is_subset(&b_set));
        // Over the wire too.
        let back: VecGSet = serde_json::from_str(&serde_json::to_string(&delta).unwrap()).unwrap();
        prop_assert_eq!(back, delta);
    }

    #[test]
    fn a_delta_that_does_not_fit_is_a_covering_superset(a in elements(), b in elements()) {
        let a_small: BoundedGSet<3> = match build_bounded(&a) { Some(s) => s, None => return Ok(()) };
        let b_set: VecGSet = build(&b);
        let delta = a_small.delta_since(&b_set);
        let lacking: BTreeSet<_> = model(&a).difference(&model(&b)).copied().collect();
        let got: BTreeSet<_> = delta.iter().collect();
        prop_assert!(lacking.is_subset(&got), "every missing element is sent");
        prop_assert!(delta.is_subset(&a_small), "nothing the sender lacks");
    }

    #[test]
    fn bounded_equals_alloc(a in elements(), b in elements()) {
        let (va, vb): (VecGSet, VecGSet) = (build(&a), build(&b));
        let (Some(ba), Some(bb)) = (build_bounded::<64>(&a), build_bounded::<64>(&b)) else {
            return Ok(());
        };
        let (vm, bm) = (merged(&va, &vb), merged(&ba, &bb));
        prop_assert_eq!(vm.runs().collect::<Vec<_>>(), bm.runs().collect::<Vec<_>>());
        prop_assert_eq!(
            va.delta_since(&vb).runs().collect::<Vec<_>>(),
            ba.delta_since(&bb).runs().collect::<Vec<_>>()
        );
        prop_assert_eq!(serde_json::to_string(&vm).unwrap(), serde_json::to_string(&bm).unwrap());
    }

    #[test]
    fn a_bounded_set_refuses_what_does_not_fit_and_stays_unchanged(a in elements(), b in elements()) {
        let mut small = BoundedGSet::<2>::new();
        let mut kept = Vec::new();
        for &x in &a {
            let before = small.clone();
            match small.insert(x) {
                Ok(_) => kept.push(x),
                Err(e) => {
                    prop_assert_eq!(e, Error::CapacityExceeded);
                    prop_assert_eq!(&small, &before);
                }
            }
        }
        prop_assert_eq!(small.iter().collect::<BTreeSet<_>>(), model(&kept));
        let other: VecGSet = build(&b);
        let union: VecGSet = merged(&build(&kept), &other);
        let before = small.clone();
        match small.merge(&other) {
            Ok(()) => prop_assert_eq!(small.runs().collect::<Vec<_>>(), union.runs().collect::<Vec<_>>()),
            Err(e) => {
                prop_assert_eq!(e, Error::CapacityExceeded);
                prop_assert!(union.run_count() > 2);
                prop_assert_eq!(small, before);
            }
        }
    }

    #[test]
    fn runs_read_back_in_any_order(a in elements(), order in prop::collection::vec(any::<prop::sample::Index>(), 0..40)) {
        let s: VecGSet = build(&a);
        // Each element as its own run, shuffled and repeated: the same set.
        let mut singles: Vec<(i64, i64)> = a.iter().map(|&x| (x, x)).collect();
        for (k, i) in order.iter().enumerate() {
            let n = singles.len();
            if n > 0 {
                singles.swap(k % n, i.index(n));
            }
        }
        let back: VecGSet = serde_json::from_str(&serde_json::to_string(&singles).unwrap()).unwrap();
        prop_assert_eq!(&back, &s);
        let flat: Elements<glomers_gset::VecRuns> =
            serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
        prop_assert_eq!(&flat.0, &s);
        let text = serde_json::to_string(&Elements(s.clone())).unwrap();
        let listed: Vec<i64> = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(listed, model(&a).into_iter().collect::<Vec<_>>());
    }
}

/// The set of `xs` in a bounded storage, or `None` when it does not fit.
fn build_bounded<const N: usize>(xs: &[Element]) -> Option<BoundedGSet<N>> {
    let mut s = BoundedGSet::<N>::new();
    for &x in xs {
        s.insert(x).ok()?;
    }
    Some(s)
}

#[test]
fn wire_forms() {
    let s: VecGSet = build(&[3, 0, 1, 2, 7, 5, 6]);
    assert_eq!(serde_json::to_string(&s).unwrap(), "[[0,3],[5,7]]");
    assert_eq!(
        serde_json::to_string(&Elements(s.clone())).unwrap(),
        "[0,1,2,3,5,6,7]"
    );
    let joined: VecGSet = serde_json::from_str("[[5,6],[0,2],[3,3],[7,7],[1,1]]").unwrap();
    assert_eq!(joined, s);
    assert!(
        serde_json::from_str::<VecGSet>("[[4,3]]").is_err(),
        "lo > hi"
    );
    assert!(
        serde_json::from_str::<VecGSet>("[[0,1.5]]").is_err(),
        "not an integer"
    );
    assert!(serde_json::from_str::<VecGSet>(r#"[["a",1]]"#).is_err());
    assert!(serde_json::from_str::<BoundedGSet<1>>("[[0,1],[3,4]]").is_err());
    assert!(serde_json::from_str::<Elements<glomers_gset::BoundedRuns<1>>>("[0,2]").is_err());
}

#[test]
fn runs_join_at_the_edges_of_the_integers() {
    let mut s = VecGSet::new();
    for x in [i64::MAX, i64::MAX - 1, i64::MIN, i64::MIN + 1, 0] {
        assert_eq!(s.insert(x), Ok(true));
    }
    assert_eq!(
        s.runs().collect::<Vec<_>>(),
        [(i64::MIN, i64::MIN + 1), (0, 0), (i64::MAX - 1, i64::MAX)]
    );
    assert_eq!(s.len(), 5);
    let mut full = VecGSet::new();
    full.merge(
        &serde_json::from_str::<VecGSet>(&format!("[[{},{}]]", i64::MIN, i64::MAX)).unwrap(),
    )
    .unwrap();
    assert_eq!(full.len(), u64::MAX, "saturates");
    assert!(s.delta_since(&full).is_empty());
    assert_eq!(full.delta_since(&s).run_count(), 2);
}

#[test]
fn inserting_into_a_gap_closes_it() {
    let mut s: VecGSet = build(&[0, 1, 3, 4]);
    assert_eq!(s.run_count(), 2);
    assert_eq!(s.insert(2), Ok(true));
    assert_eq!(s.runs().collect::<Vec<_>>(), [(0, 4)]);
    assert_eq!(s.insert(2), Ok(false));
    let mut full = BoundedGSet::<1>::new();
    full.insert(0).unwrap();
    assert_eq!(
        full.insert(1),
        Ok(true),
        "extends the run: no new run needed"
    );
    assert_eq!(full.insert(5), Err(Error::CapacityExceeded));
    assert_eq!(full.runs().collect::<Vec<_>>(), [(0, 1)]);
}
