//! The g-counter / pn-counter checker (Maelstrom `workload/pn_counter.clj`).
//!
//! The acceptable set is the sum of the `ok` adds' deltas plus the sum of any subset of the
//! indeterminate adds' deltas (an add whose invocation never completed counts as
//! indeterminate). Only `ok` final-phase reads are checked; each must be an integer in the
//! acceptable set. Non-final reads are not checked.

use serde_json::{json, Value};

use crate::checker::{CheckResult, Validity};
use crate::checkers::anomalies::{self, anomaly};
use crate::history::{History, OpType};

/// A set of integers as sorted, disjoint, non-adjacent inclusive ranges.
///
/// Invariant: `ranges` is sorted, and consecutive ranges `[a, b]`, `[c, d]` satisfy
/// `b + 1 < c` (adjacent ranges are merged, as Guava's open-range trick does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeSet {
    ranges: Vec<(i128, i128)>,
}

impl RangeSet {
    /// The set `{x}`.
    pub fn single(x: i128) -> Self {
        RangeSet {
            ranges: vec![(x, x)],
        }
    }

    /// `self ∪ (self + delta)`: the add may or may not have happened.
    pub fn widen(&mut self, delta: i128) {
        if delta == 0 {
            return;
        }
        let mut all: Vec<(i128, i128)> = self.ranges.clone();
        all.extend(self.ranges.iter().map(|(a, b)| (a + delta, b + delta)));
        all.sort_unstable();
        let mut out: Vec<(i128, i128)> = Vec::with_capacity(all.len());
        for (a, b) in all {
            match out.last_mut() {
                Some(last) if a <= last.1 + 1 => last.1 = last.1.max(b),
                _ => out.push((a, b)),
            }
        }
        self.ranges = out;
    }

    /// Whether `x` is in the set.
    pub fn contains(&self, x: i128) -> bool {
        let i = self.ranges.partition_point(|r| r.1 < x);
        self.ranges.get(i).is_some_and(|r| r.0 <= x)
    }

    /// The inclusive ranges.
    pub fn ranges(&self) -> &[(i128, i128)] {
        &self.ranges
    }
}

fn int(v: &Value) -> Option<i128> {
    v.as_i64()
        .map(i128::from)
        .or_else(|| v.as_u64().map(i128::from))
}

/// Checks a counter history. Output: `valid`, `errors` (offending final reads, or null),
/// `final_reads`, `acceptable` (list of inclusive `[lo, hi]`), and `anomalies`: one
/// `{"kind": "unacceptable-read", "ops": [invoke, completion], "text", "value"}` per final
/// read outside the acceptable set.
pub fn check(h: &History) -> CheckResult {
    let mut definite: i128 = 0;
    let mut maybe: Vec<i128> = Vec::new();
    let mut problems = Vec::new();
    let mut finals = Vec::new();
    for (inv, done) in h.completed() {
        if inv.f == "add" {
            let Some(d) = int(&inv.value.json()) else {
                return CheckResult::unknown(format!(
                    "add invoked at op {} has a non-integer delta {}",
                    inv.index, inv.value
                ));
            };
            match done.map(|c| c.kind) {
                Some(OpType::Ok) => definite += d,
                Some(OpType::Info) | None => maybe.push(d),
                _ => {}
            }
        } else if inv.f == "read" {
            if let Some(c) = done {
                if c.kind == OpType::Ok && (c.is_final || inv.is_final) {
                    finals.push((inv.index, c));
                }
            }
        }
    }
    let mut acc = RangeSet::single(definite);
    for d in maybe {
        acc.widen(d);
    }
    let mut errors = Vec::new();
    let mut found = Vec::new();
    for (inv, c) in &finals {
        let value = c.value.json();
        if int(&value).is_some_and(|x| acc.contains(x)) {
            continue;
        }
        let text = format!(
            "final read at op {} returned {}, outside the acceptable set {:?}",
            c.index,
            value,
            acc.ranges()
        );
        found.push(anomaly(
            "unacceptable-read",
            [*inv, c.index],
            text.clone(),
            json!({"value": value}),
        ));
        problems.push(text);
        errors.push(json!({"op": c.brief(), "value": value}));
    }
    let valid = Validity::from_bool(errors.is_empty());
    let acceptable: Vec<Value> = acc
        .ranges()
        .iter()
        .map(|(a, b)| json!([*a as i64, *b as i64]))
        .collect();
    let mut details = json!({
        "valid": valid.to_json(),
        "errors": if errors.is_empty() { Value::Null } else { json!(errors) },
        "final_reads": finals.iter().map(|(_, c)| c.value.clone()).collect::<Vec<_>>(),
        "acceptable": acceptable,
    });
    anomalies::attach(&mut details, found);
    CheckResult::new(valid, problems, details)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::testkit::Hb;
    use proptest::prelude::*;

    fn add(b: &mut Hb, d: i64, kind: OpType) {
        b.op(0, "add", json!(d), kind, json!(d));
    }

    #[test]
    fn exact_sum_passes_and_other_fails() {
        let mut b = Hb::new();
        add(&mut b, 3, OpType::Ok);
        add(&mut b, 4, OpType::Ok);
        b.op(1, "read", json!(null), OpType::Ok, json!(100)); // not final: unchecked
        b.final_phase();
        b.op(1, "read", json!(null), OpType::Ok, json!(7));
        let r = check(&b.build());
        assert_eq!(r.valid, Validity::Valid, "{:?}", r.problems);
        assert_eq!(r.details["acceptable"], json!([[7, 7]]));
        let (inv, bad) = b.op(2, "read", json!(null), OpType::Ok, json!(6));
        let r = check(&b.build());
        assert_eq!(r.valid, Validity::Invalid);
        assert!(r.problems[0].contains(&format!("op {bad}")));
        let a = &r.details["anomalies"][0];
        assert_eq!(a["kind"], "unacceptable-read");
        assert_eq!(a["ops"], json!([inv, bad]));
        assert_eq!(a["value"], 6);
    }

    #[test]
    fn info_adds_widen_the_set() {
        let mut b = Hb::new();
        add(&mut b, 1, OpType::Ok);
        add(&mut b, 5, OpType::Info);
        add(&mut b, -2, OpType::Info);
        add(&mut b, 9, OpType::Fail);
        b.final_phase();
        for v in [1, 6, -1, 4] {
            b.op(1, "read", json!(null), OpType::Ok, json!(v));
        }
        let r = check(&b.build());
        assert_eq!(r.valid, Validity::Valid, "{:?}", r.problems);
        assert_eq!(
            r.details["acceptable"],
            json!([[-1, -1], [1, 1], [4, 4], [6, 6]])
        );
        b.op(1, "read", json!(null), OpType::Ok, json!(5));
        assert_eq!(check(&b.build()).valid, Validity::Invalid);
        b.op(1, "read", json!(null), OpType::Ok, json!(10)); // would need the failed add
        let r = check(&b.build());
        assert_eq!(r.problems.len(), 2);
    }

    #[test]
    fn float_final_read_fails() {
        let mut b = Hb::new();
        add(&mut b, 1, OpType::Ok);
        b.final_phase();
        b.op(1, "read", json!(null), OpType::Ok, json!(1.0));
        assert_eq!(check(&b.build()).valid, Validity::Invalid);
    }

    proptest! {
        #[test]
        fn rangeset_is_subset_sums(ok in proptest::collection::vec(-5i64..5, 0..5), info in proptest::collection::vec(-5i64..5, 0..6), probe in -40i64..40) {
            let base: i64 = ok.iter().sum();
            let mut s = RangeSet::single(i128::from(base));
            for d in &info { s.widen(i128::from(*d)); }
            let mut reachable = false;
            for mask in 0u32..(1 << info.len()) {
                let sum: i64 = info.iter().enumerate().filter(|(i, _)| mask & (1 << i) != 0).map(|(_, d)| *d).sum();
                if base + sum == probe { reachable = true; }
            }
            prop_assert_eq!(s.contains(i128::from(probe)), reachable);
            for w in s.ranges().windows(2) { prop_assert!(w[0].1 + 1 < w[1].0); }
        }
    }
}
