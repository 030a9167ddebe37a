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
    let ids = Ids::of(h);
    let dups = duplicates(ids.seen);
    let mut problems: Vec<String> = dups
        .iter()
        .map(|(k, ix)| {
            let n = ix.len();
            format!("duplicate id {k}: returned {n} times, by ops {ix:?}")
        })
        .collect();
    let found: Vec<Value> = dups
        .iter()
        .zip(&problems)
        .map(|((k, ix), line)| {
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
        .map(|(k, ix)| json!([k.to_value(), ix.len()]))
        .collect();
    let valid = if !dups.is_empty() {
        Validity::Invalid
    } else if !ids.comparable {
        Validity::Unknown
    } else {
        Validity::Valid
    };
    if !ids.comparable {
        problems.push("ids are not mutually comparable: Jepsen cannot compute their range".into());
    }
    let mut details = json!({
        "valid": valid.to_json(),
        "attempted_count": ids.attempted,
        "acknowledged_count": ids.acked,
        "duplicated_count": dups.len(),
        "duplicated": listed,
        "range": ids.range.map(|(a, b)| json!([a, b])),
    });
    anomalies::attach(&mut details, found);
    CheckResult::new(valid, problems, details)
}

/// The ids a history's client `generate` operations returned.
struct Ids {
    /// `generate` invocations.
    attempted: usize,
    /// `ok` completions.
    acked: usize,
    /// id -> the history indices of the ok completions that returned it.
    seen: HashMap<ValueKey, Vec<usize>>,
    /// The least and greatest id, while they are mutually comparable.
    range: Option<(Value, Value)>,
    /// Whether every id so far is comparable with the range (once false, `range` is `None`).
    comparable: bool,
}

impl Ids {
    fn of(h: &History) -> Ids {
        let mut ids = Ids {
            attempted: 0,
            acked: 0,
            seen: HashMap::new(),
            range: None,
            comparable: true,
        };
        for op in h.ops.iter().filter(|o| o.is_client() && o.f == "generate") {
            let value = op.value.json();
            match op.kind {
                OpType::Invoke => ids.attempted += 1,
                OpType::Ok => {
                    ids.acked += 1;
                    ids.seen
                        .entry(ValueKey::of(&value))
                        .or_default()
                        .push(op.index);
                    if ids.comparable {
                        ids.range = widened(ids.range.take(), &value);
                        ids.comparable = ids.range.is_some();
                    }
                }
                _ => {}
            }
        }
        ids
    }
}

/// `range` widened to hold `value` (the range of `value` alone when there is none yet);
/// `None` when `value` does not compare with the range's ends.
fn widened(range: Option<(Value, Value)>, value: &Value) -> Option<(Value, Value)> {
    let Some((lo, hi)) = range else {
        return Some((value.clone(), value.clone()));
    };
    let below = clojure_compare(value, &lo)? == Ordering::Less;
    let above = clojure_compare(value, &hi)? == Ordering::Greater;
    Some((
        if below { value.clone() } else { lo },
        if above { value.clone() } else { hi },
    ))
}

/// The ids returned more than once, with the ops that returned them: most frequent
/// first, ties by id for determinism.
fn duplicates(seen: HashMap<ValueKey, Vec<usize>>) -> Vec<(ValueKey, Vec<usize>)> {
    let mut dups: Vec<(ValueKey, Vec<usize>)> =
        seen.into_iter().filter(|(_, ix)| ix.len() > 1).collect();
    dups.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then_with(|| a.0.cmp(&b.0)));
    dups
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
