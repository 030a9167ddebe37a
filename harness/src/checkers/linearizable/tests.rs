//! Hand-written histories for each rule, and the search cross-checked against the
//! brute-force reference on random small histories.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use super::brute;
use super::model::{RegF, RegOp, Val, NULL};
use super::search::{search, MemoPolicy, SearchOpts, Verdict};
use super::shrink::{shrink, ShrinkOpts};
use super::*;
use crate::checkers::testkit::Hb;
use crate::history::OpType;

fn run(hb: &Hb) -> CheckResult {
    check(&hb.build(), &LinOpts::default())
}

fn anomalies(r: &CheckResult) -> Vec<Value> {
    r.details["anomalies"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn ops_of(a: &Value, field: &str) -> Vec<usize> {
    a[field]
        .as_array()
        .map(|v| {
            v.iter()
                .filter_map(|i| i.as_u64())
                .map(|i| i as usize)
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_sequential_register_history_is_valid() {
    let mut hb = Hb::new();
    hb.op(0, "read", json!([1, null]), OpType::Ok, json!([1, null]));
    hb.op(0, "write", json!([1, 3]), OpType::Ok, json!([1, 3]));
    hb.op(1, "read", json!([1, null]), OpType::Ok, json!([1, 3]));
    hb.op(1, "cas", json!([1, [3, 4]]), OpType::Ok, json!([1, [3, 4]]));
    hb.op(0, "read", json!([1, null]), OpType::Ok, json!([1, 4]));
    let r = run(&hb);
    assert_eq!(r.valid, Validity::Valid, "{:?}", r.problems);
    assert_eq!(r.details["results"]["1"]["ops"], 5);
    assert_eq!(r.details["failures"], json!([]));
    assert!(anomalies(&r).is_empty());
}

#[test]
fn a_stale_read_is_reported_with_the_writes_that_make_it_stale() {
    let mut hb = Hb::new();
    let (_, w1) = hb.op(0, "write", json!([7, 1]), OpType::Ok, json!([7, 1]));
    let (_, w2) = hb.op(1, "write", json!([7, 2]), OpType::Ok, json!([7, 2]));
    hb.op(2, "read", json!([7, null]), OpType::Ok, json!([7, 2]));
    let (_, stale) = hb.op(0, "read", json!([7, null]), OpType::Ok, json!([7, 1]));
    let r = run(&hb);
    assert_eq!(r.valid, Validity::Invalid);
    assert_eq!(r.details["failures"], json!([7]));
    assert_eq!(r.details["anomaly_types"], json!(["nonlinearizable"]));
    let a = &anomalies(&r)[0];
    assert_eq!(a["kind"], "nonlinearizable");
    assert_eq!(a["key"], 7);
    // The read of 2 is not needed; the write of 1 is (the witness is self-contained).
    assert_eq!(ops_of(a, "ops"), vec![w1, w2, stale]);
    assert_eq!(ops_of(a, "unorderable"), vec![stale]);
    assert_eq!(ops_of(a, "linearized"), vec![w1, w2]);
    assert_eq!(a["locally_minimal"], true);
    assert_eq!(a["plot"], "nonlinearizable-7.svg");
    assert!(r.problems[0].contains("key 7"), "{}", r.problems[0]);
    assert!(r.problems[0].contains("r 1"), "{}", r.problems[0]);
}

#[test]
fn concurrent_operations_may_take_effect_in_either_order() {
    // The read overlaps the write: it may see the old or the new value.
    for seen in [json!(null), json!(5)] {
        let mut hb = Hb::new();
        hb.invoke(0, "write", json!([1, 5]));
        hb.invoke(1, "read", json!([1, null]));
        hb.ok(1, "read", json!([1, seen]));
        hb.ok(0, "write", json!([1, 5]));
        assert_eq!(run(&hb).valid, Validity::Valid, "read {seen}");
    }
    // But not a value nobody wrote.
    let mut hb = Hb::new();
    hb.invoke(0, "write", json!([1, 5]));
    hb.invoke(1, "read", json!([1, null]));
    hb.ok(1, "read", json!([1, 6]));
    hb.ok(0, "write", json!([1, 5]));
    assert_eq!(run(&hb).valid, Validity::Invalid);
}

#[test]
fn failed_operations_never_take_effect() {
    let mut hb = Hb::new();
    hb.op(0, "write", json!([1, 5]), OpType::Fail, json!([1, 5]));
    hb.op(1, "read", json!([1, null]), OpType::Ok, json!([1, 5]));
    assert_eq!(run(&hb).valid, Validity::Invalid);
    // A failed read constrains nothing, whatever it carries.
    let mut hb = Hb::new();
    hb.op(1, "read", json!([1, null]), OpType::Fail, json!([1, 9]));
    hb.op(0, "write", json!([1, 5]), OpType::Ok, json!([1, 5]));
    assert_eq!(run(&hb).valid, Validity::Valid);
}

#[test]
fn indeterminate_operations_take_effect_later_or_never() {
    for completed in [true, false] {
        let crash = |hb: &mut Hb, p: u64, f: &str, v: Value| {
            hb.invoke(p, f, v.clone());
            if completed {
                hb.info(p, f, v);
            }
        };
        // Long after the crash, the write shows up: it took effect late.
        let mut hb = Hb::new();
        crash(&mut hb, 0, "write", json!([1, 5]));
        hb.op(1, "read", json!([1, null]), OpType::Ok, json!([1, null]));
        hb.op(1, "read", json!([1, null]), OpType::Ok, json!([1, 5]));
        assert_eq!(run(&hb).valid, Validity::Valid, "completed {completed}");
        // It never took effect.
        let mut hb = Hb::new();
        crash(&mut hb, 0, "cas", json!([1, [0, 5]]));
        hb.op(1, "read", json!([1, null]), OpType::Ok, json!([1, null]));
        assert_eq!(run(&hb).valid, Validity::Valid, "completed {completed}");
        // Once seen it stays: it took effect once, not twice.
        let mut hb = Hb::new();
        crash(&mut hb, 0, "write", json!([1, 5]));
        hb.op(1, "read", json!([1, null]), OpType::Ok, json!([1, 5]));
        hb.op(1, "write", json!([1, 6]), OpType::Ok, json!([1, 6]));
        hb.op(1, "read", json!([1, null]), OpType::Ok, json!([1, 5]));
        let r = run(&hb);
        assert_eq!(r.valid, Validity::Invalid, "completed {completed}");
        assert_eq!(r.details["results"]["1"]["indeterminate"], 1);
    }
}

#[test]
fn an_indeterminate_operation_cannot_take_effect_before_its_invocation() {
    let mut hb = Hb::new();
    hb.op(1, "read", json!([1, null]), OpType::Ok, json!([1, 5]));
    hb.invoke(0, "write", json!([1, 5]));
    hb.info(0, "write", json!([1, 5]));
    assert_eq!(run(&hb).valid, Validity::Invalid);
    // An indeterminate read is dropped: it says nothing.
    let mut hb = Hb::new();
    hb.invoke(1, "read", json!([1, null]));
    hb.info(1, "read", json!([1, null]));
    hb.op(0, "write", json!([1, 5]), OpType::Ok, json!([1, 5]));
    let r = run(&hb);
    assert_eq!(r.valid, Validity::Valid);
    assert_eq!(r.details["results"]["1"]["ops"], 1);
}

#[test]
fn a_null_read_means_a_missing_key_not_any_value() {
    let mut hb = Hb::new();
    hb.op(0, "read", json!([1, null]), OpType::Ok, json!([1, null]));
    hb.op(0, "write", json!([1, 2]), OpType::Ok, json!([1, 2]));
    let (_, null_read) = hb.op(1, "read", json!([1, null]), OpType::Ok, json!([1, null]));
    let r = run(&hb);
    // Knossos's cas-register accepts this (a nil read matches any state); a register
    // holding 2 cannot be read as missing.
    assert_eq!(r.valid, Validity::Invalid);
    assert_eq!(ops_of(&anomalies(&r)[0], "unorderable"), vec![null_read]);
}

#[test]
fn cas_needs_its_from_value() {
    let mut hb = Hb::new();
    hb.op(0, "cas", json!([1, [0, 2]]), OpType::Ok, json!([1, [0, 2]]));
    assert_eq!(run(&hb).valid, Validity::Invalid, "cas on a missing key");
    let mut hb = Hb::new();
    hb.op(0, "write", json!([1, 0]), OpType::Ok, json!([1, 0]));
    hb.op(0, "cas", json!([1, [0, 2]]), OpType::Ok, json!([1, [0, 2]]));
    hb.op(
        1,
        "cas",
        json!([1, [0, 3]]),
        OpType::Fail,
        json!([1, [0, 3]]),
    );
    hb.op(1, "read", json!([1, null]), OpType::Ok, json!([1, 2]));
    assert_eq!(run(&hb).valid, Validity::Valid);
    // Two concurrent cas from the same value cannot both succeed: a lost update.
    let mut hb = Hb::new();
    let (_, w) = hb.op(0, "write", json!([1, 0]), OpType::Ok, json!([1, 0]));
    hb.invoke(1, "cas", json!([1, [0, 2]]));
    hb.invoke(2, "cas", json!([1, [0, 3]]));
    let a = hb.ok(1, "cas", json!([1, [0, 2]]));
    let b = hb.ok(2, "cas", json!([1, [0, 3]]));
    let r = run(&hb);
    assert_eq!(r.valid, Validity::Invalid);
    assert_eq!(ops_of(&anomalies(&r)[0], "ops"), vec![w, a, b]);
}

#[test]
fn shrinking_stops_at_its_budget_with_a_failing_set() {
    let mut hb = Hb::new();
    for v in 0..6 {
        hb.op(0, "write", json!([1, v]), OpType::Ok, json!([1, v]));
    }
    hb.op(1, "read", json!([1, null]), OpType::Ok, json!([1, 2]));
    let h = hb.build();
    let full = check(&h, &LinOpts::default());
    let a = &anomalies(&full)[0];
    assert_eq!(a["locally_minimal"], true);
    assert_eq!(ops_of(a, "ops").len(), 3, "w 2, w 5, r 2: {a}");
    let tight = LinOpts {
        shrink: ShrinkOpts {
            max_trials: 1,
            ..ShrinkOpts::default()
        },
        ..LinOpts::default()
    };
    let r = check(&h, &tight);
    let a = &anomalies(&r)[0];
    assert_eq!(a["locally_minimal"], false);
    assert!(a["text"]
        .as_str()
        .unwrap_or_default()
        .contains("not fully shrunk"));
    assert_eq!(ops_of(a, "ops").len(), 7, "{a}");
}

#[test]
fn keys_are_checked_alone() {
    let mut hb = Hb::new();
    // Key 1 is fine; key 2 reads a value never written. Their operations interleave.
    hb.invoke(0, "write", json!([1, 1]));
    hb.invoke(1, "write", json!([2, 1]));
    hb.ok(0, "write", json!([1, 1]));
    hb.ok(1, "write", json!([2, 1]));
    hb.op(0, "read", json!([1, null]), OpType::Ok, json!([1, 1]));
    let (_, bad) = hb.op(1, "read", json!([2, null]), OpType::Ok, json!([2, 4]));
    hb.nemesis("start-partition");
    let r = run(&hb);
    assert_eq!(r.valid, Validity::Invalid);
    assert_eq!(r.details["key_count"], 2);
    assert_eq!(r.details["failures"], json!([2]));
    assert_eq!(r.details["results"]["1"]["valid"], true);
    assert_eq!(r.details["results"]["2"]["valid"], false);
    let a = anomalies(&r);
    assert_eq!(a.len(), 1);
    assert_eq!(a[0]["key"], 2);
    assert_eq!(ops_of(&a[0], "ops"), vec![bad]);
}

/// `n` concurrent indeterminate writes of distinct values, then a read of each value in
/// turn: valid (they took effect in that order), but many orders to explore.
fn many_crashed_writes(n: u64) -> Hb {
    let mut hb = Hb::new();
    for p in 0..n {
        hb.invoke(p, "write", json!([1, p]));
    }
    for p in 0..n {
        hb.info(p, "write", json!([1, p]));
    }
    for p in (0..n).rev() {
        hb.op(100, "read", json!([1, null]), OpType::Ok, json!([1, p]));
    }
    hb
}

#[test]
fn the_state_limit_makes_a_key_unknown_never_invalid() {
    let hb = many_crashed_writes(12);
    assert_eq!(run(&hb).valid, Validity::Valid);
    let opts = LinOpts {
        state_limit: 5,
        ..LinOpts::default()
    };
    let r = check(&hb.build(), &opts);
    assert_eq!(r.valid, Validity::Unknown);
    assert_eq!(r.details["unknown"], json!([1]));
    assert!(r.problems[0].contains("undecided"), "{:?}", r.problems);
    assert!(anomalies(&r).is_empty());
}

#[test]
fn malformed_histories_are_unknown_and_empty_ones_valid() {
    let mut hb = Hb::new();
    hb.op(0, "write", json!(3), OpType::Ok, json!(3));
    let r = run(&hb);
    assert_eq!(r.valid, Validity::Unknown);
    assert!(r.problems[0].contains("[key, value]"), "{:?}", r.problems);
    let mut hb = Hb::new();
    hb.op(0, "append", json!([1, 3]), OpType::Ok, json!([1, 3]));
    assert_eq!(run(&hb).valid, Validity::Unknown);
    let mut hb = Hb::new();
    hb.op(0, "cas", json!([1, 3]), OpType::Ok, json!([1, 3]));
    assert_eq!(run(&hb).valid, Validity::Unknown);
    let mut hb = Hb::new();
    hb.op(0, "read", json!([1, null]), OpType::Ok, json!([2, 3]));
    assert_eq!(run(&hb).valid, Validity::Unknown);
    let r = run(&Hb::new());
    assert_eq!(r.valid, Validity::Valid);
    assert_eq!(r.details["key_count"], 0);
}

// ---- Random small histories against the brute force ----

/// A random history of `n` operations by `procs` processes on one register with values
/// `0..3`: each operation takes effect at a random moment between its invocation and its
/// completion (reads see the register then), or, if it crashes, maybe never; some
/// operations fail (and never take effect). With `corrupt`, one read or cas is then
/// changed, which often makes the history non-linearizable.
fn random_history(rng: &mut StdRng, n: usize, procs: usize, corrupt: bool) -> Vec<RegOp> {
    #[derive(Clone, Copy)]
    enum Phase {
        Idle,
        Pending(usize, RegF, bool),
    }
    let mut reg: Val = NULL;
    let mut out = Vec::new();
    let mut state = vec![Phase::Idle; procs];
    let (mut t, mut started) = (0usize, 0usize);
    let value = |rng: &mut StdRng| rng.random_range(1..4u32);
    while started < n || state.iter().any(|s| matches!(s, Phase::Pending(..))) {
        let p = rng.random_range(0..procs);
        t += 1;
        match state[p] {
            Phase::Idle if started < n => {
                started += 1;
                let f = match rng.random_range(0..3) {
                    0 => RegF::Read(NULL),
                    1 => RegF::Write(value(rng)),
                    _ => RegF::Cas(value(rng), value(rng)),
                };
                state[p] = Phase::Pending(t, f, false);
            }
            Phase::Idle => {}
            Phase::Pending(call, f, done) if !done && rng.random_bool(0.5) => {
                // The linearization point.
                let f = match f {
                    RegF::Read(_) => RegF::Read(reg),
                    other => other,
                };
                let applied = f.step(reg);
                reg = applied.unwrap_or(reg);
                state[p] = Phase::Pending(call, f, applied.is_some());
                if applied.is_none() {
                    // A cas whose from did not match: a definite failure.
                    state[p] = Phase::Idle;
                }
            }
            Phase::Pending(call, f, done) => {
                state[p] = Phase::Idle;
                let roll = rng.random_range(0..10);
                if roll == 0 && !done {
                    continue; // failed before taking effect
                }
                if roll == 1 || (!done && roll < 4) {
                    // Crashed: indeterminate, whether or not it took effect.
                    out.push(RegOp {
                        f,
                        call,
                        ret: None,
                        process: p as u64,
                    });
                } else if done {
                    out.push(RegOp {
                        f,
                        call,
                        ret: Some(t),
                        process: p as u64,
                    });
                }
            }
        }
    }
    if corrupt && !out.is_empty() {
        let i = rng.random_range(0..out.len());
        out[i].f = match out[i].f {
            RegF::Read(_) => RegF::Read(rng.random_range(0..4)),
            RegF::Cas(_, to) => RegF::Cas(rng.random_range(0..4), to),
            RegF::Write(_) => RegF::Read(value(rng)),
        };
    }
    out
}

fn opts() -> SearchOpts {
    SearchOpts {
        state_limit: u64::MAX,
        memo: MemoPolicy::Failed,
        record_best: true,
    }
}

/// The search against the reference on one history; returns the reference verdict.
fn agree(ops: &[RegOp]) -> bool {
    let want = brute::linearizable(ops);
    let got = search(ops, &opts()).verdict;
    match &got {
        Verdict::Linearizable(order) => {
            assert!(
                want,
                "search found an order the brute force says cannot exist: {ops:?}"
            );
            assert!(
                brute::valid_order(ops, order),
                "bad order {order:?} for {ops:?}"
            );
            assert!(
                ops.iter()
                    .enumerate()
                    .all(|(i, o)| o.ret.is_none() || order.contains(&i)),
                "order {order:?} leaves out a determinate operation of {ops:?}"
            );
        }
        Verdict::NotLinearizable(f) => {
            assert!(!want, "search missed a linearization of {ops:?}");
            // The frontier claim: the operations invoked before it already fail.
            let cut: Vec<RegOp> = ops
                .iter()
                .copied()
                .filter(|o| o.call < f.frontier)
                .collect();
            assert!(
                !brute::linearizable(&cut),
                "frontier {} of {ops:?}",
                f.frontier
            );
        }
        Verdict::Unknown => panic!("no limit, yet unknown"),
    }
    for memo in [MemoPolicy::Off, MemoPolicy::Entered] {
        let other = SearchOpts { memo, ..opts() };
        let out = search(ops, &other);
        let same = matches!(out.verdict, Verdict::Linearizable(_));
        assert_eq!(same, want, "{memo:?}: {ops:?}");
        if memo == MemoPolicy::Entered {
            // Remembering failed pairs prunes exactly what remembering every pair does.
            assert_eq!(out.states, search(ops, &opts()).states, "{ops:?}");
        }
    }
    want
}

#[test]
fn random_histories_cover_both_verdicts() {
    let mut rng = StdRng::seed_from_u64(5);
    let (mut valid, mut invalid, mut with_info) = (0, 0, 0);
    for k in 0..600 {
        let ops = random_history(&mut rng, 6, 3, k % 2 == 0);
        with_info += usize::from(ops.iter().any(|o| o.ret.is_none()));
        if agree(&ops) {
            valid += 1;
        } else {
            invalid += 1;
        }
    }
    assert!(
        valid > 150 && invalid > 100,
        "valid {valid}, invalid {invalid}"
    );
    assert!(
        with_info > 150,
        "{with_info} histories with indeterminate operations"
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

    /// The search and the brute force agree on small random histories (concurrent,
    /// crashed, failed operations; valid and corrupted).
    #[test]
    fn search_agrees_with_brute_force(
        seed in 0u64..u64::MAX, n in 1usize..8, procs in 1usize..4, corrupt: bool,
    ) {
        let mut rng = StdRng::seed_from_u64(seed);
        agree(&random_history(&mut rng, n, procs, corrupt));
    }

    /// A witness is non-linearizable, self-contained and locally minimal, per the brute
    /// force.
    #[test]
    fn witnesses_are_locally_minimal(seed in 0u64..u64::MAX, n in 2usize..8) {
        let mut rng = StdRng::seed_from_u64(seed);
        let ops = random_history(&mut rng, n, 3, true);
        let Verdict::NotLinearizable(f) = search(&ops, &opts()).verdict else {
            return Ok(());
        };
        let w = shrink(&ops, &f, &ShrinkOpts::default());
        proptest::prop_assert!(w.locally_minimal);
        let sub = |s: &[usize]| s.iter().map(|&i| ops[i]).collect::<Vec<_>>();
        proptest::prop_assert!(!brute::linearizable(&sub(&w.ops)));
        for drop in 0..w.ops.len() {
            let mut rest = w.ops.clone();
            rest.remove(drop);
            let contained = self_contained(&ops, &rest);
            proptest::prop_assert!(
                !contained || rest.is_empty() || brute::linearizable(&sub(&rest)),
                "dropping {} of {:?} still fails", w.ops[drop], w.ops
            );
        }
        proptest::prop_assert!(self_contained(&ops, &w.ops));
        for i in &w.unorderable {
            proptest::prop_assert!(w.ops.contains(i) && !w.linearized.contains(i));
        }
    }
}

/// The shrink rule, restated independently: every non-null value read or compared in
/// `subset` that the key writes somewhere is written inside `subset`.
fn self_contained(ops: &[RegOp], subset: &[usize]) -> bool {
    let writes = |s: &mut dyn Iterator<Item = &RegOp>| -> Vec<Val> {
        s.filter_map(|o| match o.f {
            RegF::Write(v) | RegF::Cas(_, v) => Some(v),
            RegF::Read(_) => None,
        })
        .collect()
    };
    let all = writes(&mut ops.iter());
    let own = writes(&mut subset.iter().map(|&i| &ops[i]));
    subset.iter().all(|&i| match ops[i].f {
        RegF::Read(v) | RegF::Cas(v, _) => v == NULL || own.contains(&v) || !all.contains(&v),
        RegF::Write(_) => true,
    })
}
