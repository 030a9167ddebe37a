//! The unique-ids checker (Jepsen `checker/unique-ids`).
//!
//! Collects the value of every `ok` `generate`; valid iff no value occurs twice under
//! Clojure equality (`1`, `1.0` and `"1"` are three ids). Failed and indeterminate
//! operations are ignored. As in Jepsen, the reported `range` needs mutually comparable ids;
//! when they are not (e.g. numbers mixed with strings) Jepsen throws and the result is
//! `unknown` — unless duplicates were found, which make it invalid whatever the range.

use std::cmp::Ordering;
use std::collections::HashMap;

use serde_json::{json, Value};

use crate::checker::{CheckResult, Validity};
use crate::checkers::anomalies::{self, anomaly};
use crate::checkers::value::{clojure_compare, ValueKey};
use crate::history::{History, OpType};

/// At most this many duplicated ids are listed (as Jepsen does).
pub const MAX_DUPLICATED_LISTED: usize = 48;

/// Checks a unique-ids history. Output: `valid`, `attempted_count`, `acknowledged_count`,
/// `duplicated_count`, `duplicated` (up to 48 `[id, count]`, most frequent first),
/// `range` `[min, max]`.
pub fn check(h: &History) -> CheckResult {
    let mut attempted = 0usize;
    let mut acked = 0usize;
    // id -> (count, first value, indices of the ops that returned it)
    let mut seen: HashMap<ValueKey, (usize, Vec<usize>)> = HashMap::new();
    let mut range: Option<(Value, Value)> = None;
    let mut comparable = true;
    for op in h.ops.iter().filter(|o| o.is_client() && o.f == "generate") {
        let value = op.value.json();
        match op.kind {
            OpType::Invoke => attempted += 1,
            OpType::Ok => {
                acked += 1;
                let e = seen.entry(ValueKey::of(&value)).or_default();
                e.0 += 1;
                e.1.push(op.index);
                if comparable {
                    range = match range.take() {
                        None => Some(((*value).clone(), (*value).clone())),
                        Some((lo, hi)) => {
                            match (clojure_compare(&value, &lo), clojure_compare(&value, &hi)) {
                                (Some(a), Some(b)) => Some((
                                    if a == Ordering::Less {
                                        (*value).clone()
                                    } else {
                                        lo
                                    },
                                    if b == Ordering::Greater {
                                        (*value).clone()
                                    } else {
                                        hi
                                    },
                                )),
                                _ => {
                                    comparable = false;
                                    None
                                }
                            }
                        }
                    };
                }
            }
            _ => {}
        }
    }
    let mut dups: Vec<(ValueKey, usize, Vec<usize>)> = seen
        .into_iter()
        .filter(|(_, (n, _))| *n > 1)
        .map(|(k, (n, ix))| (k, n, ix))
        .collect();
    // Most frequent first; ties by id for determinism.
    dups.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let problems: Vec<String> = dups
        .iter()
        .map(|(k, n, ix)| format!("duplicate id {k}: returned {n} times, by ops {ix:?}"))
        .collect();
    let found: Vec<Value> = dups
        .iter()
        .zip(&problems)
        .map(|((k, _, ix), line)| {
            anomaly(
                "duplicate-id",
                ix.iter().copied(),
                line.clone(),
                json!({"id": k.to_value()}),
            )
        })
        .collect();
    let listed: Vec<Value> = dups
        .iter()
        .take(MAX_DUPLICATED_LISTED)
        .map(|(k, n, _)| json!([k.to_value(), n]))
        .collect();
    let valid = if !dups.is_empty() {
        Validity::Invalid
    } else if !comparable {
        Validity::Unknown
    } else {
        Validity::Valid
    };
    let mut problems = problems;
    if !comparable {
        problems.push("ids are not mutually comparable: Jepsen cannot compute their range".into());
    }
    let mut details = json!({
        "valid": valid.to_json(),
        "attempted_count": attempted,
        "acknowledged_count": acked,
        "duplicated_count": dups.len(),
        "duplicated": listed,
        "range": range.map(|(a, b)| json!([a, b])),
    });
    anomalies::attach(&mut details, found);
    CheckResult::new(valid, problems, details)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::testkit::Hb;
    use proptest::prelude::*;

    fn gen(b: &mut Hb, p: u64, id: Value) -> usize {
        b.op(p, "generate", Value::Null, OpType::Ok, id).1
    }

    #[test]
    fn distinct_ids_pass_and_report_counts() {
        let mut b = Hb::new();
        gen(&mut b, 0, json!(3));
        gen(&mut b, 1, json!(1));
        b.op(2, "generate", Value::Null, OpType::Info, Value::Null);
        let r = check(&b.build());
        assert_eq!(r.valid, Validity::Valid);
        assert_eq!(r.details["attempted_count"], json!(3));
        assert_eq!(r.details["acknowledged_count"], json!(2));
        assert_eq!(r.details["range"], json!([1, 3]));
        assert_eq!(r.details["anomalies"], json!([]));
    }

    #[test]
    fn duplicate_across_nodes_fails() {
        let mut b = Hb::new();
        let a = gen(&mut b, 0, json!("n1-7"));
        gen(&mut b, 1, json!("n2-7"));
        let c = gen(&mut b, 2, json!("n1-7"));
        let r = check(&b.build());
        assert_eq!(r.valid, Validity::Invalid);
        assert_eq!(r.details["duplicated_count"], json!(1));
        assert_eq!(r.details["duplicated"], json!([["n1-7", 2]]));
        assert!(r.problems[0].contains(&format!("[{a}, {c}]")));
        let found = &r.details["anomalies"][0];
        assert_eq!(
            (&found["kind"], &found["ops"]),
            (&json!("duplicate-id"), &json!([a, c]))
        );
        assert_eq!(found["id"], "n1-7");
    }

    #[test]
    fn one_and_one_point_zero_are_distinct() {
        let mut b = Hb::new();
        gen(&mut b, 0, json!(1));
        gen(&mut b, 1, json!(1.0));
        let r = check(&b.build());
        assert_eq!(r.valid, Validity::Valid);
        assert_eq!(r.details["duplicated_count"], json!(0));
    }

    #[test]
    fn incomparable_ids_are_unknown_but_duplicates_still_fail() {
        let mut b = Hb::new();
        gen(&mut b, 0, json!(1));
        gen(&mut b, 1, json!("1"));
        assert_eq!(check(&b.build()).valid, Validity::Unknown);
        gen(&mut b, 1, json!("1"));
        assert_eq!(check(&b.build()).valid, Validity::Invalid);
    }

    proptest! {
        #[test]
        fn valid_iff_ids_distinct(ids in proptest::collection::vec(0u8..40, 0..30)) {
            let mut b = Hb::new();
            for (i, id) in ids.iter().enumerate() {
                gen(&mut b, i as u64 % 3, json!(id));
            }
            let mut s = ids.clone();
            s.sort();
            s.dedup();
            let r = check(&b.build());
            prop_assert_eq!(r.valid == Validity::Valid, s.len() == ids.len());
        }
    }
}
