//! What one read returned, as the set-full checker asks it: which elements it holds, and
//! which it holds more than once. Built from either form of a read's value: integer runs
//! (the compact form a history keeps integer arrays in) or a JSON array of any values.

use std::collections::HashMap;

use serde_json::Value;

use crate::checkers::value::ValueKey;
use crate::history::{IntRuns, OpValue};

/// The elements of one read.
///
/// Invariants: `ranges` are sorted, disjoint and non-adjacent inclusive integer ranges;
/// `others` holds no integer key; `repeated` lists each element present more than once
/// exactly once, with its multiplicity.
#[derive(Debug, Default)]
pub struct ReadSet {
    ranges: Vec<(i128, i128)>,
    others: HashMap<ValueKey, usize>,
    repeated: Vec<(ValueKey, usize)>,
}

impl ReadSet {
    /// The read's elements, or `None` if its value is not an array.
    pub fn of(value: &OpValue) -> Option<ReadSet> {
        match value {
            OpValue::Ints(runs) => Some(Self::of_runs(runs)),
            OpValue::Json(Value::Array(items)) => Some(Self::of_json(items)),
            OpValue::Json(_) => None,
        }
    }

    fn of_runs(runs: &IntRuns) -> ReadSet {
        let spans = runs
            .runs()
            .map(|r| (i128::from(r.start), i128::from(r.last())))
            .collect();
        let mut set = ReadSet::default();
        set.add_spans(spans);
        set
    }

    fn of_json(items: &[Value]) -> ReadSet {
        let mut set = ReadSet::default();
        let mut spans = Vec::new();
        for v in items {
            match ValueKey::of(v) {
                ValueKey::Int(i) => spans.push((i, i)),
                k => *set.others.entry(k).or_default() += 1,
            }
        }
        set.repeated.extend(
            set.others
                .iter()
                .filter(|(_, n)| **n > 1)
                .map(|(k, n)| (k.clone(), *n)),
        );
        set.add_spans(spans);
        set
    }

    /// Merges inclusive integer spans (in any order, possibly overlapping) into `ranges`,
    /// and records every integer covered by more than one span in `repeated`.
    fn add_spans(&mut self, mut spans: Vec<(i128, i128)>) {
        spans.sort_unstable();
        // Sweep over span boundaries: `depth` spans cover [at, next boundary).
        let mut bounds: Vec<(i128, i64)> = Vec::with_capacity(spans.len() * 2);
        for &(lo, hi) in &spans {
            bounds.push((lo, 1));
            bounds.push((hi + 1, -1));
        }
        bounds.sort_unstable();
        let mut depth = 0i64;
        for w in bounds.windows(2) {
            depth += w[0].1;
            if depth > 1 {
                let n = usize::try_from(depth).unwrap_or(usize::MAX);
                let mut x = w[0].0;
                while x < w[1].0 {
                    self.repeated.push((ValueKey::Int(x), n));
                    x += 1;
                }
            }
        }
        for (lo, hi) in spans {
            match self.ranges.last_mut() {
                Some(last) if lo <= last.1 + 1 => last.1 = last.1.max(hi),
                _ => self.ranges.push((lo, hi)),
            }
        }
    }

    /// Whether the read holds the element `k` (Clojure equality: an integer never equals
    /// a float).
    pub fn contains(&self, k: &ValueKey) -> bool {
        match k {
            ValueKey::Int(x) => {
                let i = self.ranges.partition_point(|r| r.1 < *x);
                self.ranges.get(i).is_some_and(|r| r.0 <= *x)
            }
            other => self.others.contains_key(other),
        }
    }

    /// The elements held more than once, each with how many times.
    pub fn repeated(&self) -> &[(ValueKey, usize)] {
        &self.repeated
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    /// Membership and multiplicities counted one element at a time.
    fn naive(items: &[Value]) -> HashMap<ValueKey, usize> {
        let mut m = HashMap::new();
        for v in items {
            *m.entry(ValueKey::of(v)).or_default() += 1;
        }
        m
    }

    fn sorted(mut v: Vec<(ValueKey, usize)>) -> Vec<(ValueKey, usize)> {
        v.sort();
        v
    }

    #[test]
    fn floats_strings_and_repeats() {
        let v = json!([1, 1.0, "1", 2, 3, 2, 2, "x", "x"]);
        let s = ReadSet::of(&OpValue::Json(v)).expect("array");
        assert!(s.contains(&ValueKey::Int(1)) && s.contains(&ValueKey::Int(3)));
        assert!(!s.contains(&ValueKey::Int(4)));
        assert!(s.contains(&ValueKey::Str("1".into())));
        assert_eq!(
            sorted(s.repeated().to_vec()),
            vec![(ValueKey::Int(2), 3), (ValueKey::Str("x".into()), 2)]
        );
        assert!(ReadSet::of(&OpValue::Json(json!(3))).is_none());
    }

    proptest! {
        /// Both forms of an array answer membership and repeats as counting does.
        #[test]
        fn agrees_with_counting(
            xs in proptest::collection::vec(-5i64..60, 0..80),
            extra in proptest::option::of(prop_oneof![Just(json!(2.0)), Just(json!("s"))]),
            probes in proptest::collection::vec(-8i128..64, 1..20),
        ) {
            let mut items: Vec<Value> = xs.iter().copied().map(Value::from).collect();
            items.extend(extra);
            let counts = naive(&items);
            let value = OpValue::from(Value::Array(items.clone()));
            for set in [ReadSet::of(&value), ReadSet::of(&OpValue::Json(Value::Array(items)))] {
                let set = set.expect("array");
                for p in &probes {
                    let k = ValueKey::Int(*p);
                    prop_assert_eq!(set.contains(&k), counts.contains_key(&k));
                }
                let want: Vec<(ValueKey, usize)> =
                    counts.iter().filter(|(_, n)| **n > 1).map(|(k, n)| (k.clone(), *n)).collect();
                prop_assert_eq!(sorted(set.repeated().to_vec()), sorted(want));
            }
        }
    }
}
