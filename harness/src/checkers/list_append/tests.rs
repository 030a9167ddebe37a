//! Tests of the list-append checker: serial executions pass, and one deliberately broken
//! history per anomaly is rejected under the models that prohibit it and accepted under
//! those that allow it.

use super::*;
use crate::checkers::testkit::Hb;
use crate::history::OpType;
use proptest::prelude::*;
use serde_json::json;
use std::collections::HashMap;

use Model::{
    ReadCommitted as RC, ReadUncommitted as RU, RepeatableRead as RR, Serializable as SER,
    SnapshotIsolation as SI, StrictSerializable as SSER,
};

/// The request of a reply: reads with `null` values.
pub(super) fn request(reply: &Value) -> Value {
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

/// An `ok` txn invoked and completed at once; returns the completion's index.
fn ok(b: &mut Hb, p: u64, reply: Value) -> usize {
    b.op(p, "txn", request(&reply), OpType::Ok, reply).1
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

fn has(r: &CheckResult, t: &str) -> bool {
    types(r).iter().any(|x| x == t)
}

fn check1(h: &History, m: Model) -> CheckResult {
    check(h, &[m])
}

// ---------------------------------------------------------------------------------------
// Serial executions.

/// One step: which process acts, the txn it would start ((append?, key) per micro-op),
/// and how it ends if it completes now (0 fail, 1 info applied, 2 info not applied,
/// else ok).
type Step = (u8, Vec<(bool, u8)>, u8);

fn steps() -> impl Strategy<Value = Vec<Step>> {
    proptest::collection::vec(
        (
            0u8..4,
            proptest::collection::vec((any::<bool>(), 0u8..4), 1..5),
            0u8..8,
        ),
        0..60,
    )
}

/// Runs the steps against a map of lists: a txn takes effect atomically at its
/// completion, between its invocation and completion, so the history is strict
/// serializable. Elements are unique per key.
/// The micro-ops of a transaction's invocation from its spec (`(append?, key)` pairs): an
/// append of the next unique element, or a read of `null`.
pub(super) fn invocation<K: serde::Serialize + Copy>(
    spec: &[(bool, K)],
    next: &mut i64,
) -> Vec<Value> {
    spec.iter()
        .map(|&(append, k)| {
            *next += 1;
            if append {
                json!(["append", k, *next])
            } else {
                json!(["r", k, null])
            }
        })
        .collect()
}

pub(super) fn serial_history(steps: &[Step]) -> History {
    let mut b = Hb::new();
    let mut store: HashMap<i64, Vec<i64>> = HashMap::new();
    let mut next = 0i64;
    let mut inflight: HashMap<u64, Value> = HashMap::new();
    for (p, spec, outcome) in steps {
        let p = u64::from(*p);
        let Some(req) = inflight.remove(&p) else {
            let mops = invocation(spec, &mut next);
            b.invoke(p, "txn", Value::Array(mops.clone()));
            inflight.insert(p, Value::Array(mops));
            continue;
        };
        let mut scratch = store.clone();
        let done: Vec<Value> = req
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| {
                let k = m[1].as_i64().unwrap_or(0);
                if m[0] == "r" {
                    json!(["r", k, scratch.get(&k)])
                } else {
                    scratch
                        .entry(k)
                        .or_default()
                        .push(m[2].as_i64().unwrap_or(0));
                    m.clone()
                }
            })
            .collect();
        match outcome {
            0 => drop(b.fail(p, "txn", req)),
            1 | 2 => {
                if *outcome == 1 {
                    store = scratch;
                }
                b.info(p, "txn", req);
            }
            _ => {
                store = scratch;
                b.ok(p, "txn", Value::Array(done));
            }
        }
    }
    b.h
}

proptest! {
    /// Serial executions are valid under every model; at most an empty graph (unknown) is
    /// reported, and then there truly is no edge.
    #[test]
    fn serial_histories_are_valid(steps in steps()) {
        let h = serial_history(&steps);
        for m in Model::ALL {
            let r = check1(&h, m);
            let t = types(&r);
            if t.is_empty() {
                prop_assert_eq!(r.valid, Validity::Valid);
            } else {
                prop_assert_eq!(t, vec!["empty-transaction-graph".to_string()], "{:?}", r);
                prop_assert_eq!(r.valid, Validity::Unknown);
            }
        }
    }

    /// A serial history plus one read of a failed txn's append is always G1a under
    /// read-committed.
    #[test]
    fn reading_a_failed_append_is_always_g1a(steps in steps()) {
        let mut b = Hb::new();
        b.h = serial_history(&steps);
        b.op(9, "txn", json!([["append", 100, 1]]), OpType::Fail, json!([["append", 100, 1]]));
        ok(&mut b, 9, json!([["r", 100, [1]]]));
        let r = check1(&b.h, RC);
        prop_assert_eq!(r.valid, Validity::Invalid);
        prop_assert!(has(&r, "G1a"));
    }
}

// ---------------------------------------------------------------------------------------
// Broken histories, one per anomaly.

/// Asserts `h` is invalid under `bad` with `kind` reported, and not invalid under `fine`.
fn rejected(h: &History, kind: &str, bad: Model, fine: Option<Model>) -> CheckResult {
    let r = check1(h, bad);
    assert_eq!(r.valid, Validity::Invalid, "{kind} under {bad}: {r:?}");
    assert!(has(&r, kind), "{kind} under {bad}: {:?}", types(&r));
    let listed = r.details["anomalies"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let entry = listed
        .iter()
        .find(|a| a["kind"] == kind)
        .cloned()
        .unwrap_or_default();
    assert!(
        entry["ops"].as_array().is_some_and(|o| !o.is_empty()) && entry["text"].is_string(),
        "{entry}"
    );
    if let Some(m) = fine {
        let r2 = check1(h, m);
        assert!(!has(&r2, kind), "{kind} reported under {m}: {r2:?}");
    }
    r
}

#[test]
fn write_cycle_is_g0() {
    let mut b = Hb::new();
    ok(&mut b, 0, json!([["append", 1, 1], ["append", 2, 2]]));
    ok(&mut b, 1, json!([["append", 1, 2], ["append", 2, 1]]));
    ok(&mut b, 2, json!([["r", 1, [1, 2]], ["r", 2, [1, 2]]]));
    let r = rejected(&b.h, "G0", RU, None);
    assert!(r.problems[0].starts_with("G0: "), "{:?}", r.problems);
}

#[test]
fn aborted_read_is_g1a() {
    let mut b = Hb::new();
    let (_, w) = b.op(
        0,
        "txn",
        json!([["append", 1, 1]]),
        OpType::Fail,
        json!([["append", 1, 1]]),
    );
    let reader = ok(&mut b, 1, json!([["r", 1, [1]]]));
    let r = rejected(&b.h, "G1a", RC, Some(RU));
    let ops = &r.details["anomalies"][0]["ops"];
    assert_eq!(ops, &json!([reader, w]));
}

#[test]
fn intermediate_read_is_g1b() {
    let mut b = Hb::new();
    ok(&mut b, 0, json!([["append", 1, 1], ["append", 1, 2]]));
    ok(&mut b, 1, json!([["r", 1, [1]]]));
    rejected(&b.h, "G1b", RC, Some(RU));
}

#[test]
fn circular_information_flow_is_g1c() {
    let mut b = Hb::new();
    let inv0 = request(&json!([["append", 1, 1], ["r", 2, [1]]]));
    let inv1 = request(&json!([["append", 2, 1], ["r", 1, [1]]]));
    b.invoke(0, "txn", inv0);
    b.invoke(1, "txn", inv1);
    b.ok(0, "txn", json!([["append", 1, 1], ["r", 2, [1]]]));
    b.ok(1, "txn", json!([["append", 2, 1], ["r", 1, [1]]]));
    let r = rejected(&b.h, "G1c", RC, Some(RU));
    assert!(r.details["anomalies"][0]["text"]
        .as_str()
        .unwrap_or("")
        .contains("-wr(2 1)->"));
}

#[test]
fn read_skew_is_g_single() {
    let mut b = Hb::new();
    let reply = json!([["r", 1, []], ["r", 2, [1]]]);
    b.invoke(1, "txn", request(&reply));
    ok(&mut b, 0, json!([["append", 1, 1], ["append", 2, 1]]));
    b.ok(1, "txn", reply);
    rejected(&b.h, "G-single", SI, Some(RC));
    rejected(&b.h, "G-single", RR, None);
}

#[test]
fn alternating_anti_dependencies_are_g_nonadjacent() {
    // T0 -rw(1)-> T1 -ww(2)-> T2 -rw(3)-> T3 -wr(4)-> T0, all concurrent.
    let replies = [
        json!([["r", 1, []], ["r", 4, [1]]]),
        json!([["append", 1, 1], ["append", 2, 1]]),
        json!([["append", 2, 2], ["r", 3, []]]),
        json!([["append", 3, 1], ["append", 4, 1]]),
        json!([["r", 2, [1, 2]]]),
    ];
    let mut b = Hb::new();
    for (p, r) in replies.iter().enumerate() {
        b.invoke(p as u64, "txn", request(r));
    }
    for (p, r) in replies.iter().enumerate() {
        b.ok(p as u64, "txn", r.clone());
    }
    let r = rejected(&b.h, "G-nonadjacent", SI, Some(RC));
    assert!(
        !has(&r, "G2-item") && !has(&r, "G-single"),
        "{:?}",
        types(&r)
    );
}

#[test]
fn write_skew_is_g2_item_under_serializable_not_snapshot_isolation() {
    let t1 = json!([["r", 1, []], ["r", 2, []], ["append", 1, 1]]);
    let t2 = json!([["r", 1, []], ["r", 2, []], ["append", 2, 1]]);
    let mut b = Hb::new();
    b.invoke(0, "txn", request(&t1));
    b.invoke(1, "txn", request(&t2));
    b.ok(0, "txn", t1);
    b.ok(1, "txn", t2);
    let r = rejected(&b.h, "G2-item", SER, None);
    assert_eq!(r.details["not"], json!(["repeatable-read"]));
    assert_eq!(check1(&b.h, SI).valid, Validity::Valid);
}

#[test]
fn lost_update_is_reported_under_snapshot_isolation() {
    let t1 = json!([["r", 1, []], ["append", 1, 1]]);
    let t2 = json!([["r", 1, []], ["append", 1, 2]]);
    let mut b = Hb::new();
    b.invoke(0, "txn", request(&t1));
    b.invoke(1, "txn", request(&t2));
    b.ok(0, "txn", t1);
    b.ok(1, "txn", t2);
    ok(&mut b, 2, json!([["r", 1, [1, 2]]]));
    rejected(&b.h, "lost-update", SI, Some(RC));
}

#[test]
fn stale_read_after_completion_is_realtime_or_process() {
    let mut b = Hb::new();
    ok(&mut b, 0, json!([["append", 1, 1]]));
    ok(&mut b, 1, json!([["r", 1, []]]));
    let r = rejected(&b.h, "G-single-realtime", SSER, Some(SER));
    assert!(r.problems[0].contains("-rt->"), "{:?}", r.problems);
    assert_eq!(
        check(&b.h, &[]).valid,
        Validity::Invalid,
        "default is strict"
    );
    // The same process: process order alone closes the cycle.
    let mut b = Hb::new();
    ok(&mut b, 0, json!([["append", 1, 1]]));
    ok(&mut b, 0, json!([["r", 1, []]]));
    rejected(&b.h, "G-single-process", SSER, Some(SER));
}

#[test]
fn disagreeing_with_own_appends_is_internal() {
    let mut b = Hb::new();
    ok(&mut b, 0, json!([["append", 1, 1]]));
    ok(&mut b, 1, json!([["append", 1, 5], ["r", 1, [1]]]));
    rejected(&b.h, "internal", SI, Some(RR));
}

#[test]
fn reading_a_later_own_append_is_future_read() {
    let mut b = Hb::new();
    ok(&mut b, 0, json!([["r", 1, [1]], ["append", 1, 1]]));
    rejected(&b.h, "future-read", RC, Some(RU));
}

#[test]
fn a_list_holding_an_element_twice_is_duplicate_elements() {
    let mut b = Hb::new();
    ok(&mut b, 0, json!([["append", 1, 1]]));
    ok(&mut b, 1, json!([["r", 1, [1, 1]]]));
    rejected(&b.h, "duplicate-elements", RU, None);
}

#[test]
fn reads_that_are_not_prefixes_are_incompatible_order() {
    let mut b = Hb::new();
    ok(&mut b, 0, json!([["append", 1, 1]]));
    ok(&mut b, 1, json!([["append", 1, 2]]));
    ok(&mut b, 2, json!([["r", 1, [1, 2]]]));
    ok(&mut b, 3, json!([["r", 1, [2, 1]]]));
    rejected(&b.h, "incompatible-order", RC, Some(RU));
}

#[test]
fn committed_append_after_an_aborted_one_is_dirty_update() {
    let mut b = Hb::new();
    b.op(
        0,
        "txn",
        json!([["append", 1, 1]]),
        OpType::Fail,
        json!([["append", 1, 1]]),
    );
    ok(&mut b, 1, json!([["append", 1, 2]]));
    ok(&mut b, 2, json!([["r", 1, [1, 2]]]));
    let r = rejected(&b.h, "dirty-update", RC, Some(RU));
    assert!(has(&r, "G1a"));
}

#[test]
fn a_reply_that_answers_another_request_is_rejected() {
    // maelstrom#14: an append returned where a read was sent passes Maelstrom's schema.
    let mut b = Hb::new();
    ok(&mut b, 0, json!([["append", 1, 1]]));
    let (_, done) = b.op(
        1,
        "txn",
        json!([["r", 1, null]]),
        OpType::Ok,
        json!([["append", 1, 1]]),
    );
    let r = rejected(&b.h, "reply-mismatch", RU, None);
    assert_eq!(r.details["anomalies"][0]["ops"], json!([done]));
    // A changed key and a changed appended element, too.
    for reply in [json!([["r", 2, [1]]]), json!([["append", 1, 7]])] {
        let mut b = Hb::new();
        ok(&mut b, 0, json!([["append", 1, 1]]));
        let req = if reply[0][0] == "r" {
            json!([["r", 1, null]])
        } else {
            json!([["append", 1, 6]])
        };
        b.op(1, "txn", req, OpType::Ok, reply);
        rejected(&b.h, "reply-mismatch", RU, None);
    }
}

#[test]
fn reading_an_element_nobody_appended_is_garbage() {
    let mut b = Hb::new();
    ok(&mut b, 0, json!([["append", 1, 1]]));
    ok(&mut b, 1, json!([["r", 1, [1, 9]]]));
    rejected(&b.h, "garbage-read", RU, None);
}

#[test]
fn undecidable_histories_are_unknown() {
    // No edge at all.
    let mut b = Hb::new();
    ok(&mut b, 0, json!([["append", 1, 1]]));
    let r = check1(&b.h, SSER);
    assert_eq!(r.valid, Validity::Unknown);
    assert_eq!(types(&r), vec!["empty-transaction-graph"]);
    // An element appended twice.
    let mut b = Hb::new();
    ok(&mut b, 0, json!([["append", 1, 1]]));
    ok(&mut b, 1, json!([["append", 1, 1]]));
    let r = check1(&b.h, RU);
    assert_eq!(r.valid, Validity::Unknown);
    assert!(
        r.problems[0].contains("duplicate-writes"),
        "{:?}",
        r.problems
    );
    // A malformed request.
    let mut b = Hb::new();
    b.op(
        0,
        "txn",
        json!([["w", 1, 1]]),
        OpType::Ok,
        json!([["w", 1, 1]]),
    );
    assert_eq!(check1(&b.h, RU).valid, Validity::Unknown);
}

#[test]
fn model_names_parse_with_aliases() {
    assert_eq!(
        parse_models(&["snapshot-isolation", "PL-2.99"]),
        Ok(vec![SI, RR])
    );
    assert!(parse_models(&["prefix"]).is_err());
}
