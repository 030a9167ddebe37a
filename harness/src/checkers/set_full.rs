//! The set-full checker (Jepsen `checker/set-full`), used by broadcast (`broadcast` is the
//! add) and g-set (`add`).
//!
//! For each added element, over the `ok` reads that complete after its add was invoked:
//! *known* is the add's `ok` completion or the first read completion containing it,
//! whichever comes first; *last-present* / *last-absent* are the reads with the highest
//! invocation index that did / did not contain it. An element is **stable** if some read
//! saw it and the last absent read was invoked before the last present one; **lost** if it
//! is known and the last absent read was invoked after both the last present read and the
//! moment it became known; **never-read** otherwise. Stable latency is
//! `max(0, last_absent.time + 1 (or 0) − known.time)` in whole ms.
//!
//! Validity: invalid if any element is lost, else unknown if none is stable, else valid.
//! Duplicates inside one read are detected and reported (`duplicated_count`, `duplicated`,
//! `warnings`) but, as in Maelstrom, do not affect validity.

use std::collections::{BTreeMap, HashMap};

use serde_json::{json, Value};

use crate::checker::{CheckResult, Validity};
use crate::checkers::anomalies::{self, anomaly};
use crate::checkers::perf::distribution;
use crate::checkers::value::ValueKey;
use crate::history::{History, Op, OpType};

/// How many of the stalest elements `worst_stale` lists.
pub const WORST_STALE: usize = 8;

#[derive(Clone, Copy)]
struct At {
    index: usize,
    time: u64,
}

struct Element {
    key: ValueKey,
    /// The invocation of its (latest) add.
    added: usize,
    known: Option<At>,
    last_present: Option<At>,
    last_absent: Option<At>,
}

/// Outcome of one element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Stable,
    Lost,
    NeverRead,
}

fn at(op: &Op) -> At {
    At {
        index: op.index,
        time: op.time,
    }
}

fn ms(ns: i128) -> u64 {
    (ns.max(0) / 1_000_000) as u64
}

/// Checks a broadcast or g-set history (adds are `f == "broadcast"` or `"add"`, reads
/// `f == "read"` with an array value). Output fields as Maelstrom's: `valid`,
/// `attempt_count`, `stable_count`, `lost_count`, `lost`, `never_read_count`,
/// `never_read`, `stale_count`, `stale`, `worst_stale`, `stable_latencies`,
/// `lost_latencies` (when any lost), `duplicated_count`, `duplicated`.
pub fn check(h: &History) -> CheckResult {
    let pairs = h.pairs();
    let mut elements: Vec<Element> = Vec::new();
    let mut by_key: HashMap<ValueKey, usize> = HashMap::new();
    let mut dups: BTreeMap<ValueKey, (usize, usize)> = BTreeMap::new(); // max multiplicity, read index
    let mut present = Vec::new();
    for op in h.ops.iter().filter(|o| o.is_client()) {
        match op.f.as_str() {
            "add" | "broadcast" => {
                let k = ValueKey::of(&op.value);
                if op.kind == OpType::Invoke {
                    let e = Element {
                        key: k.clone(),
                        added: op.index,
                        known: None,
                        last_present: None,
                        last_absent: None,
                    };
                    // A second add of the same value restarts its tracking, as in Jepsen.
                    match by_key.get(&k) {
                        Some(&i) => elements[i] = e,
                        None => {
                            by_key.insert(k, elements.len());
                            elements.push(e);
                        }
                    }
                } else if op.kind == OpType::Ok {
                    let inv_key = pairs[op.index].map(|i| ValueKey::of(&h.ops[i].value));
                    let i = by_key.get(inv_key.as_ref().unwrap_or(&k)).copied();
                    if let Some(i) = i {
                        elements[i].known.get_or_insert(at(op));
                    }
                }
            }
            "read" if op.kind == OpType::Ok => {
                let Some(vals) = op.value.as_array() else {
                    return CheckResult::unknown(format!(
                        "read {} returned a non-array value {}",
                        op.index, op.value
                    ));
                };
                let Some(inv) = pairs[op.index].map(|i| &h.ops[i]) else {
                    continue;
                };
                present.clear();
                present.resize(elements.len(), false);
                let mut mult: HashMap<ValueKey, usize> = HashMap::new();
                for v in vals {
                    let k = ValueKey::of(v);
                    if let Some(&i) = by_key.get(&k) {
                        present[i] = true;
                    }
                    *mult.entry(k).or_default() += 1;
                }
                for (k, n) in mult {
                    if n > 1 {
                        let e = dups.entry(k).or_insert((n, op.index));
                        if n > e.0 {
                            *e = (n, op.index);
                        }
                    }
                }
                let inv_at = at(inv);
                for (e, &p) in elements.iter_mut().zip(present.iter()) {
                    if p {
                        e.known.get_or_insert(at(op));
                        if e.last_present.map_or(true, |lp| lp.index < inv_at.index) {
                            e.last_present = Some(inv_at);
                        }
                    } else if e.last_absent.map_or(true, |la| la.index < inv_at.index) {
                        e.last_absent = Some(inv_at);
                    }
                }
            }
            _ => {}
        }
    }

    elements.sort_by(|a, b| a.key.cmp(&b.key));
    let mut res = Vec::with_capacity(elements.len());
    for e in &elements {
        let lp = e.last_present.map_or(-1, |x| x.index as i64);
        let la = e.last_absent.map_or(-1, |x| x.index as i64);
        let stable = e.last_present.is_some() && la < lp;
        let lost = match (e.known, e.last_absent) {
            (Some(k), Some(a)) => lp < la && k.index < a.index,
            _ => false,
        };
        let known_t = e.known.map_or(0, |k| i128::from(k.time));
        let outcome = if stable {
            Outcome::Stable
        } else if lost {
            Outcome::Lost
        } else {
            Outcome::NeverRead
        };
        let stable_latency =
            stable.then(|| ms(e.last_absent.map_or(0, |a| i128::from(a.time) + 1) - known_t));
        let lost_latency =
            lost.then(|| ms(e.last_present.map_or(0, |p| i128::from(p.time) + 1) - known_t));
        res.push((e, outcome, stable_latency, lost_latency));
    }

    let of = |o: Outcome| res.iter().filter(move |r| r.1 == o);
    let lost: Vec<_> = of(Outcome::Lost).collect();
    let stable_count = of(Outcome::Stable).count();
    let never: Vec<Value> = of(Outcome::NeverRead).map(|r| r.0.key.to_value()).collect();
    let stale: Vec<_> = of(Outcome::Stable)
        .filter(|r| r.2.unwrap_or(0) > 0)
        .collect();
    let mut worst: Vec<_> = stale.clone();
    worst.sort_by_key(|r| r.2);
    worst.reverse();
    let op_ref = |a: Option<At>| a.map(|a| h.ops[a.index].brief());
    let worst_stale: Vec<Value> = worst
        .iter()
        .take(WORST_STALE)
        .map(|r| {
            json!({
                "element": r.0.key.to_value(),
                "outcome": "stable",
                "stable_latency": r.2,
                "lost_latency": null,
                "known": op_ref(r.0.known),
                "last_absent": op_ref(r.0.last_absent),
            })
        })
        .collect();

    let valid = if !lost.is_empty() {
        Validity::Invalid
    } else if stable_count == 0 {
        Validity::Unknown
    } else {
        Validity::Valid
    };
    let mut problems: Vec<String> = lost
        .iter()
        .map(|r| {
            format!(
                "lost: element {} known at op {} was missing from read invoked at op {}{}",
                r.0.key,
                r.0.known.map_or(0, |k| k.index),
                r.0.last_absent.map_or(0, |a| a.index),
                match r.0.last_present {
                    Some(p) => format!(", last seen by read invoked at op {}", p.index),
                    None => ", and was never read".to_string(),
                }
            )
        })
        .collect();
    let found: Vec<Value> = lost
        .iter()
        .zip(&problems)
        .map(|(r, line)| {
            let e = r.0;
            let ops = [e.known, e.last_absent, e.last_present]
                .into_iter()
                .flatten()
                .map(|a| a.index)
                .chain([e.added]);
            anomaly(
                "lost",
                ops,
                line.clone(),
                json!({"element": e.key.to_value()}),
            )
        })
        .collect();
    if valid == Validity::Unknown {
        problems.push("no element is stable: no read ever observed an added element".into());
    }
    let warnings: Vec<String> = dups
        .iter()
        .map(|(k, (n, i))| {
            format!("duplicate: element {k} appears {n} times in the read completed at op {i}")
        })
        .collect();

    let mut d = json!({
        "valid": valid.to_json(),
        "attempt_count": res.len(),
        "stable_count": stable_count,
        "lost_count": lost.len(),
        "lost": lost.iter().map(|r| r.0.key.to_value()).collect::<Vec<_>>(),
        "never_read_count": never.len(),
        "never_read": never,
        "stale_count": stale.len(),
        "stale": stale.iter().map(|r| r.0.key.to_value()).collect::<Vec<_>>(),
        "worst_stale": worst_stale,
        "duplicated_count": dups.len(),
        "duplicated": dups.iter().map(|(k, (n, _))| json!([k.to_value(), n])).collect::<Vec<_>>(),
        "warnings": warnings,
    });
    if let Some(q) = distribution(res.iter().filter_map(|r| r.2).collect()) {
        d["stable_latencies"] = json!(q);
    }
    if let Some(q) = distribution(res.iter().filter_map(|r| r.3).collect()) {
        d["lost_latencies"] = json!(q);
    }
    anomalies::attach(&mut d, found);
    CheckResult::new(valid, problems, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::testkit::{Hb, MS};
    use proptest::prelude::*;

    #[test]
    fn all_seen_is_valid() {
        let mut b = Hb::new();
        b.op(0, "broadcast", json!(0), OpType::Ok, json!(0));
        b.op(1, "broadcast", json!(1), OpType::Ok, json!(1));
        b.final_phase();
        b.op(0, "read", json!(null), OpType::Ok, json!([0, 1]));
        b.op(1, "read", json!(null), OpType::Ok, json!([1, 0]));
        let r = check(&b.build());
        assert_eq!(r.valid, Validity::Valid, "{:?}", r.problems);
        assert_eq!(r.details["stable_count"], json!(2));
        assert_eq!(r.details["lost_count"], json!(0));
        assert_eq!(r.details["stable_latencies"]["1"], json!(0));
        assert_eq!(r.details["anomalies"], json!([]));
    }

    #[test]
    fn acked_broadcast_missing_from_final_read_is_lost() {
        let mut b = Hb::new();
        b.op(0, "broadcast", json!(0), OpType::Ok, json!(0));
        b.op(0, "read", json!(null), OpType::Ok, json!([0]));
        let (add, acked) = b.op(1, "broadcast", json!(1), OpType::Ok, json!(1));
        b.final_phase();
        let (seen, _) = b.op(0, "read", json!(null), OpType::Ok, json!([0, 1]));
        let (inv, _) = b.op(1, "read", json!(null), OpType::Ok, json!([0]));
        let r = check(&b.build());
        assert_eq!(r.valid, Validity::Invalid);
        assert_eq!(r.details["lost"], json!([1]));
        let found = &r.details["anomalies"];
        assert_eq!(found.as_array().map(Vec::len), Some(1));
        assert_eq!(found[0]["kind"], "lost");
        assert_eq!(found[0]["element"], 1);
        assert_eq!(found[0]["ops"], json!([add, acked, seen, inv]));
        assert!(r.problems[0].contains(&format!("invoked at op {inv}")));
        assert!(r.details.get("lost_latencies").is_some());
    }

    #[test]
    fn floats_are_not_integers() {
        let mut b = Hb::new();
        b.op(0, "add", json!(1), OpType::Ok, json!(1));
        b.op(0, "read", json!(null), OpType::Ok, json!([1.0]));
        assert_eq!(check(&b.build()).valid, Validity::Invalid);
    }

    #[test]
    fn stable_latency_arithmetic() {
        // add 7 acked at t=10ms; read invoked at 25ms (absent), read invoked at 40ms sees it.
        // stable latency = (25ms + 1ns) - 10ms = 15.000001ms -> 15.
        let mut b = Hb::new();
        b.at(5 * MS).invoke(0, "add", json!(7));
        b.at(10 * MS).ok(0, "add", json!(7));
        b.at(25 * MS).invoke(1, "read", json!(null));
        b.at(26 * MS).ok(1, "read", json!([]));
        b.at(40 * MS).invoke(1, "read", json!(null));
        b.at(41 * MS).ok(1, "read", json!([7]));
        // 8: first seen by a read (completion 60ms) before its add is acked (70ms); a read
        // invoked at 50ms lacked it: latency = 50ms+1ns - 60ms < 0 -> 0.
        b.at(45 * MS).invoke(2, "add", json!(8));
        b.at(50 * MS).invoke(1, "read", json!(null));
        b.at(52 * MS).ok(1, "read", json!([7]));
        b.at(55 * MS).invoke(3, "read", json!(null));
        b.at(60 * MS).ok(3, "read", json!([7, 8]));
        b.at(70 * MS).ok(2, "add", json!(8));
        let r = check(&b.build());
        assert_eq!(r.valid, Validity::Valid, "{:?}", r.problems);
        assert_eq!(r.details["stale"], json!([7]));
        assert_eq!(r.details["stable_latencies"]["1"], json!(15));
        assert_eq!(r.details["stable_latencies"]["0"], json!(0));
        assert_eq!(r.details["worst_stale"][0]["element"], json!(7));
        assert_eq!(r.details["worst_stale"][0]["stable_latency"], json!(15));
    }

    #[test]
    fn never_read_is_harmless_and_no_stable_is_unknown() {
        let mut b = Hb::new();
        b.op(0, "broadcast", json!(0), OpType::Info, json!(0));
        b.op(1, "read", json!(null), OpType::Ok, json!([]));
        let r = check(&b.build());
        assert_eq!(r.details["never_read"], json!([0]));
        assert_eq!(r.valid, Validity::Unknown);
        b.op(1, "broadcast", json!(1), OpType::Ok, json!(1));
        b.op(1, "read", json!(null), OpType::Ok, json!([1]));
        let r = check(&b.build());
        assert_eq!(r.valid, Validity::Valid, "{:?}", r.problems);
        assert_eq!(r.details["never_read"], json!([0]));
    }

    #[test]
    fn duplicates_reported_not_invalid() {
        let mut b = Hb::new();
        b.op(0, "broadcast", json!(3), OpType::Ok, json!(3));
        b.op(0, "read", json!(null), OpType::Ok, json!([3, 3]));
        let r = check(&b.build());
        assert_eq!(r.valid, Validity::Valid);
        assert_eq!(r.details["duplicated"], json!([[3, 2]]));
    }

    proptest! {
        /// A correct set service: reads return every value whose add completed before the
        /// read was invoked, plus any subset of those in flight. Never invalid.
        #[test]
        fn correct_set_is_never_invalid(script in proptest::collection::vec((0u8..3, any::<bool>(), any::<u8>()), 1..60)) {
            let mut b = Hb::new();
            let mut next = 0u64;
            let mut done = std::collections::BTreeSet::new();
            let mut inflight: Vec<(u64, u64, bool)> = vec![]; // (process, value, info)
            for (what, flag, pick) in script {
                match what {
                    0 => {
                        let p = 10 + next;
                        b.invoke(p, "broadcast", json!(next));
                        inflight.push((p, next, flag));
                        next += 1;
                    }
                    1 if !inflight.is_empty() => {
                        let (p, v, info) = inflight.remove(pick as usize % inflight.len());
                        if info {
                            b.info(p, "broadcast", json!(v));
                            if pick % 2 == 0 { done.insert(v); }
                        } else {
                            b.ok(p, "broadcast", json!(v));
                            done.insert(v);
                        }
                    }
                    _ => {
                        // Once visible, a value stays visible.
                        if flag {
                            done.extend(inflight.iter().map(|x| x.1));
                        }
                        let seen: Vec<u64> = done.iter().copied().collect();
                        b.op(0, "read", json!(null), OpType::Ok, json!(seen));
                    }
                }
            }
            let r = check(&b.build());
            prop_assert_ne!(r.valid, Validity::Invalid, "{:?}", r.problems);
        }
    }
}
