//! The set-full checker's first implementation, kept as a test oracle: it reads every
//! value as JSON, so comparing it with [`super::check`] on the same history shows that the
//! compact read path changes no verdict and no figure.

use std::collections::{BTreeMap, HashMap};

use serde_json::{json, Value};

use super::WORST_STALE;
use crate::checker::{CheckResult, Validity};
use crate::checkers::perf::distribution;
use crate::checkers::value::ValueKey;
use crate::history::{History, Op, OpType};

#[derive(Clone, Copy)]
struct At {
    index: usize,
    time: u64,
}

struct Element {
    key: ValueKey,
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

/// The set-full checker as it was before reads were kept compactly: every read turned back
/// into JSON and looked up element by element. Same output as [`super::check`] but for
/// `anomalies`, which it predates.
pub fn check(h: &History) -> CheckResult {
    let pairs = h.pairs();
    let mut elements: Vec<Element> = Vec::new();
    let mut by_key: HashMap<ValueKey, usize> = HashMap::new();
    let mut dups: BTreeMap<ValueKey, (usize, usize)> = BTreeMap::new(); // max multiplicity, read index
    let mut present = Vec::new();
    for op in h.ops.iter().filter(|o| o.is_client()) {
        match op.f.as_str() {
            "add" | "broadcast" => {
                let k = ValueKey::of(&op.value.json());
                if op.kind == OpType::Invoke {
                    let e = Element {
                        key: k.clone(),
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
                    let inv_key = pairs[op.index].map(|i| ValueKey::of(&h.ops[i].value.json()));
                    let i = by_key.get(inv_key.as_ref().unwrap_or(&k)).copied();
                    if let Some(i) = i {
                        elements[i].known.get_or_insert(at(op));
                    }
                }
            }
            "read" if op.kind == OpType::Ok => {
                let value = op.value.json();
                let Some(vals) = value.as_array() else {
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
                        if e.last_present.is_none_or(|lp| lp.index < inv_at.index) {
                            e.last_present = Some(inv_at);
                        }
                    } else if e.last_absent.is_none_or(|la| la.index < inv_at.index) {
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
    CheckResult::new(valid, problems, d)
}
