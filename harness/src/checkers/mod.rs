//! One checker per workload, plus the run-wide checkers (`stats`, `availability`, `perf`).
//!
//! Every checker is a pure function from a [`History`](crate::history::History) to a
//! [`CheckResult`](crate::checker::CheckResult), computed as Maelstrom and Jepsen compute
//! the corresponding entry of `results.edn`. [`compose`] merges the parts into the run's
//! verdict with Jepsen's rule.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::checker::{CheckResult, Validity};

pub mod anomalies;
pub mod availability;
pub mod counter;
pub mod echo;
pub mod kafka;
pub mod linearizable;
pub mod list_append;
pub mod perf;
pub mod set_full;
pub mod stats;
pub mod txn;
pub mod unique_ids;
pub mod value;

#[cfg(test)]
pub(crate) mod testkit;

/// The composed verdict of a run: every part's result by name, and their merge.
///
/// Invariant (when built by [`compose`]): `valid` is the Jepsen merge of every part's
/// verdict: `Invalid` if any part is invalid, else `Unknown` if any is unknown, else `Valid`
/// (also `Valid` when there are no parts).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The merged verdict.
    pub valid: Validity,
    /// Each part's result, by name (e.g. `"workload"`, `"stats"`, `"availability"`).
    pub parts: BTreeMap<String, CheckResult>,
}

/// Composes named results as Jepsen's `compose` does: false if any is false, else unknown
/// if any is unknown, else true. A later part with the same name replaces an earlier one.
pub fn compose(parts: Vec<(String, CheckResult)>) -> Report {
    let parts: BTreeMap<String, CheckResult> = parts.into_iter().collect();
    let valid = parts
        .values()
        .fold(Validity::Valid, |acc, r| acc.merge(r.valid));
    Report { valid, parts }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn r(v: Validity) -> CheckResult {
        CheckResult {
            valid: v,
            problems: vec![],
            details: json!({}),
        }
    }

    #[test]
    fn compose_merges_like_jepsen() {
        use Validity::*;
        assert_eq!(compose(vec![]).valid, Valid);
        assert_eq!(compose(vec![("a".into(), r(Valid))]).valid, Valid);
        let rep = compose(vec![("a".into(), r(Valid)), ("b".into(), r(Unknown))]);
        assert_eq!(rep.valid, Unknown);
        assert_eq!(rep.parts.len(), 2);
        let rep = compose(vec![
            ("a".into(), r(Unknown)),
            ("b".into(), r(Invalid)),
            ("c".into(), r(Valid)),
        ]);
        assert_eq!(rep.valid, Invalid);
    }
}
