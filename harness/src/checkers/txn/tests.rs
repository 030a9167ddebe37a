//! Tests for the txn-rw-register checker: a serial-execution property, one deliberately
//! broken history per anomaly, and model parsing.

use super::*;
use crate::history::{Op, OpType, Process};
use glomers_node::Time;
use proptest::prelude::*;
use serde_json::{json, Value};
use std::collections::HashMap;

/// A tiny history builder: processes issue txns, completions carry the reply.
#[derive(Default)]
struct Builder {
    h: History,
}

impl Builder {
    fn push(&mut self, p: u64, kind: OpType, value: Value) -> usize {
        // One microsecond per entry.
        let time = Time::from_micros(self.h.ops.len() as u64);
        self.h.push(Op {
            index: 0,
            time,
            process: Process::Client(p),
            kind,
            f: "txn".into(),
            value: value.into(),
            is_final: false,
            error: None,
            node: Some("n0".into()),
        })
    }

    /// The request for a reply: reads with `null` values.
    fn request(reply: &Value) -> Value {
        let mops = reply.as_array().cloned().unwrap_or_default();
        Value::Array(
            mops.into_iter()
                .map(|m| {
                    if m[0] == "r" {
                        json!(["r", m[1], null])
                    } else {
                        m
                    }
                })
                .collect(),
        )
    }

    fn invoke(&mut self, p: u64, reply: &Value) -> usize {
        self.push(p, OpType::Invoke, Self::request(reply))
    }

    fn complete(&mut self, p: u64, kind: OpType, reply: Value) -> usize {
        let value = if kind == OpType::Ok {
            reply
        } else {
            Self::request(&reply)
        };
        self.push(p, kind, value)
    }

    /// Invokes and immediately completes a txn; returns the completion's index.
    fn txn(&mut self, p: u64, kind: OpType, reply: Value) -> usize {
        self.invoke(p, &reply);
        self.complete(p, kind, reply)
    }

    fn ok(&mut self, p: u64, reply: Value) -> usize {
        self.txn(p, OpType::Ok, reply)
    }
}

fn types(r: &CheckResult) -> Vec<String> {
    r.details["anomaly_types"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn check_one(h: &History, m: ConsistencyModel) -> CheckResult {
    check(h, &[m])
}

use ConsistencyModel::{
    ReadCommitted as RC, ReadUncommitted as RU, Serializable as SER, StrictSerializable as SSER,
};

// ---------------------------------------------------------------------------------------
// Correct histories: serial execution against a register map.

/// One scheduling step: which process acts, the txn it would start, and the outcome
/// (fail / info-applied / info-not-applied / ok) if it completes instead.
pub(super) type Step = (u8, Vec<(bool, u16)>, u8);

pub(super) fn steps() -> impl Strategy<Value = Vec<Step>> {
    proptest::collection::vec(
        (
            0u8..4,
            proptest::collection::vec((any::<bool>(), 0u16..4), 1..5),
            0u8..10,
        ),
        0..80,
    )
}

/// Runs the steps: a txn is applied atomically at its completion, which lies between its
/// invocation and completion, so the history is strict serializable.
pub(super) fn serial_history(steps: &[Step]) -> History {
    let mut b = Builder::default();
    let mut store: HashMap<i64, i64> = HashMap::new();
    let mut next: HashMap<i64, i64> = HashMap::new();
    let mut inflight: HashMap<u64, Value> = HashMap::new();
    for (p, spec, outcome) in steps {
        let p = u64::from(*p);
        match inflight.remove(&p) {
            None => {
                let mops: Vec<Value> = spec
                    .iter()
                    .map(|&(write, k)| {
                        let k = i64::from(k);
                        if write {
                            let v = next.entry(k).or_insert(0);
                            *v += 1;
                            json!(["w", k, *v])
                        } else {
                            json!(["r", k, null])
                        }
                    })
                    .collect();
                let req = Value::Array(mops);
                b.push(p, OpType::Invoke, req.clone());
                inflight.insert(p, req);
            }
            Some(req) => {
                let (kind, apply) = match outcome {
                    0 => (OpType::Fail, false),
                    1 => (OpType::Info, true),
                    2 => (OpType::Info, false),
                    _ => (OpType::Ok, true),
                };
                let mut reply = Vec::new();
                if apply {
                    for m in req.as_array().into_iter().flatten() {
                        let k = m[1].as_i64().unwrap_or(0);
                        if m[0] == "w" {
                            store.insert(k, m[2].as_i64().unwrap_or(0));
                            reply.push(m.clone());
                        } else {
                            reply.push(json!(["r", k, store.get(&k)]));
                        }
                    }
                }
                let value = if kind == OpType::Ok {
                    Value::Array(reply)
                } else {
                    req
                };
                b.push(p, kind, value);
            }
        }
    }
    b.h
}

proptest! {
    /// Serial executions are valid under every supported model; the only thing that may be
    /// reported is an empty dependency graph, and then truly no edge was inferred.
    #[test]
    fn serial_histories_are_valid(steps in steps()) {
        let h = serial_history(&steps);
        for m in ConsistencyModel::ALL {
            let r = check_one(&h, m);
            let t = types(&r);
            if t.is_empty() {
                prop_assert_eq!(r.valid, Validity::Valid);
            } else {
                prop_assert_eq!(t, vec!["empty-transaction-graph".to_string()], "{:?}", r);
                let e = &r.details["edges"];
                prop_assert_eq!(e["ww"].as_u64(), Some(0));
                prop_assert_eq!(e["wr"].as_u64(), Some(0));
                prop_assert_eq!(e["rw"].as_u64(), Some(0));
                prop_assert_eq!(e["realtime"].as_u64(), Some(0));
                prop_assert_eq!(r.valid, Validity::Invalid);
            }
        }
    }

    /// A serial history where one ok reader is made to observe a failed write is always
    /// rejected under read-committed with G1a.
    #[test]
    fn reading_a_failed_write_is_always_g1a(steps in steps()) {
        let mut h = serial_history(&steps);
        let mut b = Builder { h: std::mem::take(&mut h) };
        b.txn(9, OpType::Fail, json!([["w", 100, 1]]));
        b.ok(9, json!([["r", 100, 1]]));
        let r = check_one(&b.h, RC);
        prop_assert_eq!(r.valid, Validity::Invalid);
        prop_assert!(types(&r).contains(&"G1a".to_string()));
    }
}

proptest! {
    /// A serial history plus a reader of another txn's intermediate write is always G1b
    /// under read-committed, and the history is otherwise unchanged in verdict under
    /// read-uncommitted (intermediate reads are allowed there).
    #[test]
    fn reading_an_intermediate_write_is_always_g1b(steps in steps()) {
        let mut b = Builder { h: serial_history(&steps) };
        let ru_before = check_one(&b.h, RU).valid;
        b.ok(9, json!([["w", 200, 1], ["w", 200, 2], ["r", 201, null]]));
        b.ok(9, json!([["r", 200, 1], ["w", 201, 1]]));
        let r = check_one(&b.h, RC);
        prop_assert_eq!(r.valid, Validity::Invalid);
        prop_assert!(types(&r).contains(&"G1b".to_string()));
        // The appended pair adds edges, so an empty graph can only disappear.
        let ru_after = check_one(&b.h, RU).valid;
        prop_assert!(ru_after == Validity::Valid || ru_after == ru_before);
    }
}

/// An arbitrary (mostly nonsensical) history: random micro-ops, values and outcomes.
fn arbitrary_history() -> impl Strategy<Value = History> {
    let mop = (any::<bool>(), 0i64..3, proptest::option::of(0i64..4));
    proptest::collection::vec(
        (0u64..3, proptest::collection::vec(mop, 0..5), 0u8..4),
        0..30,
    )
    .prop_map(|txns| {
        let mut b = Builder::default();
        for (p, mops, outcome) in txns {
            let reply: Vec<Value> = mops
                .into_iter()
                .map(|(w, k, v)| match (w, v) {
                    (true, Some(v)) => json!(["w", k, v]),
                    (true, None) => json!(["w", k, null]),
                    (false, v) => json!(["r", k, v]),
                })
                .collect();
            let kind = [OpType::Ok, OpType::Ok, OpType::Fail, OpType::Info][outcome as usize];
            b.txn(p, kind, Value::Array(reply));
        }
        b.h
    })
}

proptest! {
    /// The checker never panics, and its verdict is always the one its details imply:
    /// unknown iff the history is malformed or writes a value twice, else invalid iff
    /// some type was reported.
    #[test]
    fn verdict_matches_details_on_arbitrary_histories(h in arbitrary_history()) {
        for m in ConsistencyModel::ALL {
            let r = check_one(&h, m);
            let t = types(&r);
            match r.valid {
                Validity::Unknown => prop_assert!(
                    t == vec!["duplicate-writes".to_string()] || r.details.get("error").is_some()
                ),
                Validity::Invalid => prop_assert!(!t.is_empty()),
                Validity::Valid => prop_assert!(t.is_empty() && r.problems.is_empty()),
            }
            if r.valid == Validity::Unknown {
                prop_assert_eq!(r.problems.len(), 1);
            } else {
                prop_assert_eq!(r.problems.len(), t.len());
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Broken histories, one per anomaly.

#[test]
fn aborted_read_is_g1a_under_read_committed_only() {
    let mut b = Builder::default();
    let writer = b.txn(0, OpType::Fail, json!([["w", 1, 1]]));
    let reader = b.ok(1, json!([["r", 1, 1], ["w", 2, 1]]));
    b.ok(2, json!([["r", 2, null]]));
    let r = check_one(&b.h, RC);
    assert_eq!(r.valid, Validity::Invalid);
    assert_eq!(types(&r), vec!["G1a"]);
    let ex = &r.details["anomaly_examples"]["G1a"][0]["txns"];
    assert_eq!(ex, &json!([reader, writer]));
    let found = &r.details["anomalies"][0];
    assert_eq!(
        (&found["kind"], &found["prohibited"]),
        (&json!("G1a"), &json!(true))
    );
    let mut both = [reader, writer];
    both.sort_unstable();
    assert_eq!(found["ops"], json!(both));
    assert!(found["text"]
        .as_str()
        .is_some_and(|t| t.starts_with("G1a: ")));
    // Dirty reads are allowed by read-uncommitted.
    let r = check_one(&b.h, RU);
    assert_eq!(r.valid, Validity::Valid, "{r:?}");
    assert_eq!(r.details["not"], json!(["read-committed"]));
}

#[test]
fn intermediate_read_of_a_failed_writer_is_g1a_and_g1b() {
    let mut b = Builder::default();
    b.txn(0, OpType::Fail, json!([["w", 1, 1], ["w", 1, 2]]));
    b.ok(1, json!([["r", 1, 1], ["r", 2, null]]));
    b.ok(2, json!([["w", 2, 1]]));
    assert_eq!(types(&check_one(&b.h, RC)), vec!["G1a", "G1b"]);
}

#[test]
fn intermediate_read_is_g1b() {
    let mut b = Builder::default();
    b.ok(0, json!([["w", 1, 1], ["w", 1, 2]]));
    b.ok(1, json!([["r", 1, 1]]));
    let r = check_one(&b.h, RC);
    assert_eq!(types(&r), vec!["G1b"]);
    assert_eq!(r.valid, Validity::Invalid);
    assert_eq!(check_one(&b.h, RU).valid, Validity::Valid);
}

#[test]
fn intermediate_read_of_an_indeterminate_writer_is_g1b() {
    let mut b = Builder::default();
    b.txn(0, OpType::Info, json!([["w", 1, 1], ["w", 1, 2]]));
    b.ok(1, json!([["r", 1, 1]]));
    assert_eq!(types(&check_one(&b.h, RC)), vec!["G1b"]);
    // Reading the final write of an info txn is fine.
    let mut b = Builder::default();
    b.txn(0, OpType::Info, json!([["w", 1, 1], ["w", 1, 2]]));
    b.ok(1, json!([["r", 1, 2], ["r", 2, null]]));
    b.ok(2, json!([["w", 2, 1]]));
    let r = check_one(&b.h, RC);
    assert_eq!(r.valid, Validity::Valid, "{r:?}");
}

#[test]
fn circular_information_flow_is_g1c() {
    let mut b = Builder::default();
    let t1 = b.ok(0, json!([["w", 1, 1], ["r", 2, 1]]));
    let t2 = b.ok(1, json!([["w", 2, 1], ["r", 1, 1]]));
    let r = check_one(&b.h, RC);
    assert_eq!(types(&r), vec!["G1c"]);
    let d = r.details["anomaly_examples"]["G1c"][0]["description"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let a = format!("T{t1} -wr(1 1)-> T{t2} -wr(2 1)-> T{t1}");
    let b2 = format!("T{t2} -wr(2 1)-> T{t1} -wr(1 1)-> T{t2}");
    assert!(d == a || d == b2, "{d}");
    // No write cycle: read-uncommitted is satisfied.
    assert_eq!(check_one(&b.h, RU).valid, Validity::Valid);
}

/// A dirty-write cycle across two keys that Maelstrom's inference cannot see.
///
/// Physically: T1 writes x=1; T2 reads x=1, writes x=5 and y=2; T1 reads y=2, writes y=3
/// and x=9. T2 overwrote T1's x and T1 overwrote T2's y: G0.
///
/// Maelstrom indexes only final writes and relates only a txn's first read to its final
/// write: it gets y 2<3 (T2 -ww-> T1, plus wr T2 -> T1) but, for x, only 1<5 where 1 is
/// T1's *intermediate* write, which its index does not contain. So it has no edge
/// T1 -> T2, no cycle, and the history passes read-uncommitted there. Here, T1's own
/// program order (1 before 9) puts 1 in the version order with T1 as its writer, and the
/// read-before-write rule gives T1 -ww(x 1<5)-> T2.
#[test]
fn cross_key_write_cycle_missed_by_maelstrom_is_g0() {
    let mut b = Builder::default();
    let t1_reply = json!([["w", 0, 1], ["r", 1, 2], ["w", 1, 3], ["w", 0, 9]]);
    let t2_reply = json!([["r", 0, 1], ["w", 0, 5], ["w", 1, 2]]);
    b.invoke(0, &t1_reply);
    b.invoke(1, &t2_reply);
    let t2 = b.complete(1, OpType::Ok, t2_reply);
    let t1 = b.complete(0, OpType::Ok, t1_reply);
    let r = check_one(&b.h, RU);
    assert_eq!(r.valid, Validity::Invalid);
    assert_eq!(types(&r), vec!["G0"]);
    let cycle = r.details["anomalies"]
        .as_array()
        .and_then(|l| l.iter().find(|x| x["kind"] == "G0"))
        .map(|x| x["ops"].clone());
    assert_eq!(cycle, Some(json!([t2.min(t1), t2.max(t1)])));
    let d = r.details["anomaly_examples"]["G0"][0]["description"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    // Under read-committed the dirty read of x=1 (G1b) and the wr cycle (G1c) count too;
    // the write cycle is listed first.
    let rc = check_one(&b.h, RC);
    assert_eq!(types(&rc), vec!["G0", "G1b", "G1c"]);
    assert!(rc.problems[0].starts_with("G0: "), "{:?}", rc.problems);
    let a = format!("T{t1} -ww(0 1<5)-> T{t2} -ww(1 2<3)-> T{t1}");
    let b2 = format!("T{t2} -ww(1 2<3)-> T{t1} -ww(0 1<5)-> T{t2}");
    assert!(d == a || d == b2, "{d}");
}

/// The history of Maelstrom issue #56 (one key, two interleaved txns), which Maelstrom
/// passes under read-uncommitted: t2's first micro-op on key 0 is a write, so it has no
/// external read, and t3's first read (1) is t2's intermediate write, absent from
/// Maelstrom's write index. Program order and read-before-write give 1 < 10 < 2.
#[test]
fn maelstrom_issue_56_is_g0() {
    let mut b = Builder::default();
    let t2 = json!([
        ["w", 0, 1],
        ["r", 0, 1],
        ["r", 0, 10],
        ["w", 0, 2],
        ["w", 0, 3],
        ["r", 0, 3]
    ]);
    let t3 = json!([["r", 0, 1], ["w", 0, 10], ["r", 0, 3], ["w", 0, 11]]);
    b.invoke(2, &t2);
    b.invoke(3, &t3);
    b.complete(2, OpType::Ok, t2);
    b.complete(3, OpType::Ok, t3);
    let r = check_one(&b.h, RU);
    assert_eq!(r.valid, Validity::Invalid);
    assert_eq!(types(&r), vec!["G0"]);
}

#[test]
fn unrelated_blind_writes_are_an_empty_graph_not_g0() {
    // Elle's own example: could be a write cycle, but nothing orders the versions.
    let mut b = Builder::default();
    b.ok(0, json!([["w", 1, 1], ["w", 2, 2]]));
    b.ok(1, json!([["w", 1, 2], ["w", 2, 1]]));
    let r = check_one(&b.h, RU);
    assert_eq!(types(&r), vec!["empty-transaction-graph"]);
    assert_eq!(r.valid, Validity::Invalid);
}

#[test]
fn internal_inconsistency_is_prohibited_from_serializable() {
    let mut b = Builder::default();
    b.ok(0, json!([["w", 1, 1]]));
    let t = b.ok(1, json!([["w", 1, 2], ["r", 1, 1]]));
    let r = check_one(&b.h, SER);
    assert_eq!(types(&r), vec!["internal"]);
    assert_eq!(
        r.details["anomaly_examples"]["internal"][0]["txns"],
        json!([t])
    );
    assert_eq!(check_one(&b.h, RC).valid, Validity::Valid);
    // A non-repeatable read from nil.
    let mut b = Builder::default();
    b.ok(0, json!([["w", 1, 2]]));
    b.ok(1, json!([["r", 1, null], ["r", 1, 2]]));
    assert!(types(&check_one(&b.h, SER)).contains(&"internal".to_string()));
}

#[test]
fn contradictory_version_orders_are_cyclic_versions() {
    let mut b = Builder::default();
    b.ok(0, json!([["r", 1, 1], ["w", 1, 2]]));
    b.ok(1, json!([["r", 1, 2], ["w", 1, 1]]));
    let r = check_one(&b.h, RU);
    assert_eq!(r.valid, Validity::Invalid);
    assert_eq!(types(&r), vec!["cyclic-versions"]);
    assert_eq!(
        r.details["anomaly_examples"]["cyclic-versions"][0]["detail"]["scc"],
        json!([1, 2])
    );
}

#[test]
fn reading_a_later_own_write_is_future_read() {
    let mut b = Builder::default();
    b.ok(0, json!([["r", 1, 5], ["w", 1, 5], ["r", 2, null]]));
    b.ok(1, json!([["w", 2, 1]]));
    let r = check_one(&b.h, RC);
    assert_eq!(types(&r), vec!["future-read"]);
    assert_eq!(check_one(&b.h, RU).valid, Validity::Valid);
}

#[test]
fn reading_an_unwritten_value_is_garbage_under_every_model() {
    let mut b = Builder::default();
    b.ok(0, json!([["r", 1, 7], ["r", 2, null]]));
    b.ok(1, json!([["w", 2, 1]]));
    let r = check_one(&b.h, RU);
    assert_eq!(types(&r), vec!["garbage-read"]);
}

#[test]
fn read_skew_is_g_single_under_serializable_only() {
    let mut b = Builder::default();
    b.ok(0, json!([["w", 1, 1], ["w", 2, 1]]));
    // Concurrent reader: saw x before and y after the writer.
    let reply = json!([["r", 1, null], ["r", 2, 1]]);
    b.invoke(1, &reply);
    b.complete(1, OpType::Ok, reply);
    let r = check_one(&b.h, SER);
    assert_eq!(types(&r), vec!["G-single"]);
    assert!(r.details["anomaly_examples"]["G-single"][0]["description"]
        .as_str()
        .unwrap_or_default()
        .contains("-rw(1 nil<1)->"));
    assert_eq!(check_one(&b.h, RC).valid, Validity::Valid);
}

#[test]
fn lost_update_is_g2_item() {
    let mut b = Builder::default();
    let t1 = json!([["r", 1, null], ["w", 1, 1]]);
    let t2 = json!([["r", 1, null], ["w", 1, 2]]);
    b.invoke(0, &t1);
    b.invoke(1, &t2);
    b.complete(0, OpType::Ok, t1);
    b.complete(1, OpType::Ok, t2);
    let r = check_one(&b.h, SER);
    assert_eq!(types(&r), vec!["G2-item"]);
    assert_eq!(check_one(&b.h, RC).valid, Validity::Valid);
}

#[test]
fn stale_read_after_completion_is_realtime_anomaly() {
    let mut b = Builder::default();
    b.ok(0, json!([["w", 1, 1]]));
    b.ok(1, json!([["r", 1, null]]));
    let r = check_one(&b.h, SSER);
    assert_eq!(types(&r), vec!["G-single-realtime"]);
    assert!(
        r.details["anomaly_examples"]["G-single-realtime"][0]["description"]
            .as_str()
            .unwrap_or_default()
            .contains("-rt->")
    );
    assert_eq!(check_one(&b.h, SER).valid, Validity::Valid);
    assert_eq!(
        check(&b.h, &[]).valid,
        Validity::Invalid,
        "default is strict"
    );
}

#[test]
fn duplicate_writes_are_unknown() {
    let mut b = Builder::default();
    b.ok(0, json!([["w", 1, 1]]));
    b.ok(1, json!([["w", 1, 1], ["r", 1, 1]]));
    let r = check_one(&b.h, RC);
    assert_eq!(r.valid, Validity::Unknown);
    assert_eq!(types(&r), vec!["duplicate-writes"]);
}

#[test]
fn malformed_txn_is_unknown() {
    let mut b = Builder::default();
    b.push(0, OpType::Invoke, json!([["r", 1, null]]));
    b.push(0, OpType::Ok, json!([["r", "x"]]));
    let r = check_one(&b.h, RC);
    assert_eq!(r.valid, Validity::Unknown);
    assert!(r.problems[0].contains("micro-op 0"), "{:?}", r.problems);
}

#[test]
fn model_names_parse_like_maelstrom() {
    assert_eq!("read-uncommitted".parse(), Ok(RU));
    assert_eq!(":read-committed".parse(), Ok(RC));
    assert_eq!("serializable".parse(), Ok(SER));
    assert_eq!("strict-serializable".parse(), Ok(SSER));
    assert_eq!("PL-2".parse(), Ok(RC));
    assert_eq!(
        "snapshot-isolation".parse::<ConsistencyModel>(),
        Err(ModelError::Unsupported("snapshot-isolation".into()))
    );
    assert_eq!(
        "a,b".parse::<ConsistencyModel>(),
        Err(ModelError::Unknown("a,b".into()))
    );
    assert_eq!(
        parse_models(&["read-committed", "serializable"]),
        Ok(vec![RC, SER])
    );
    for m in ConsistencyModel::ALL {
        assert_eq!(m.as_str().parse(), Ok(m));
    }
}

#[test]
fn prohibitions_grow_with_model_strength() {
    use AnomalyType::*;
    let all = [
        G0,
        G1a,
        G1b,
        G1c,
        GSingle,
        G2Item,
        G0Realtime,
        G1cRealtime,
        GSingleRealtime,
        G2ItemRealtime,
        Internal,
        CyclicVersions,
        FutureRead,
        GarbageRead,
        DuplicateWrites,
        EmptyTransactionGraph,
    ];
    for w in ConsistencyModel::ALL.windows(2) {
        for a in all {
            assert!(!w[0].prohibits(a) || w[1].prohibits(a), "{} {a}", w[1]);
        }
    }
    assert!(RU.prohibits(G0) && !RU.prohibits(G1a) && !RU.prohibits(G1c));
    assert!(RC.prohibits(G1a) && RC.prohibits(G1b) && RC.prohibits(G1c));
    assert!(!RC.prohibits(Internal) && !RC.prohibits(GSingle));
    assert!(SER.prohibits(Internal) && !SER.prohibits(GSingleRealtime));
}

/// Run with `cargo test -p glomers-harness --lib checkers::txn -- --ignored --nocapture`.
#[test]
#[ignore]
fn timing_20k_txns() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut steps: Vec<Step> = Vec::new();
    let mut keys_base = 0u16;
    while steps.len() < 40_000 {
        let len = rng.random_range(1..=4);
        let spec = (0..len)
            .map(|_| {
                (
                    rng.random_bool(0.5),
                    keys_base.wrapping_add(rng.random_range(0..10)),
                )
            })
            .collect();
        steps.push((rng.random_range(0..8), spec, rng.random_range(0..20)));
        if steps.len() % 400 == 0 {
            keys_base = keys_base.wrapping_add(3);
        }
    }
    let h = serial_history(&steps);
    let n = h.ops.len() / 2;
    // Where the time goes, stage by stage.
    let start = std::time::Instant::now();
    let txns = parse::transactions(&h).unwrap_or_default();
    let parsed = start.elapsed();
    let idx = infer::index_writes(&txns);
    let indexed = start.elapsed();
    let inf = infer::infer(&txns, &idx, true);
    let inferred = start.elapsed();
    let names: Vec<usize> = txns.iter().map(|t| t.name).collect();
    let found = cycles::find_cycles(&inf.edges, &names, &SEARCH);
    let searched = start.elapsed();
    println!(
        "stages: parse {parsed:?}, index {:?}, infer {:?}, cycles {:?} ({} found)",
        indexed - parsed,
        inferred - indexed,
        searched - inferred,
        found.len()
    );
    for m in [RC, SSER] {
        let start = std::time::Instant::now();
        let r = check_one(&h, m);
        let took = start.elapsed();
        println!(
            "{n} txns, {m}: {took:?}, valid {:?}, edges {}",
            r.valid, r.details["edges"]
        );
        assert_eq!(r.valid, Validity::Valid, "{:?}", r.problems);
    }
}
