//! The lin-kv checker: per key, is the history linearizable with respect to a
//! compare-and-set register?
//!
//! Maelstrom checks lin-kv with Knossos through `jepsen.independent` (reference 7.7). This
//! checker answers the same question, faster and stricter:
//!
//! - **P-compositionality** ([`split`]): a history of independent registers is
//!   linearizable exactly when each key's sub-history is, so every key is searched alone.
//! - **Wing–Gong–Lowe search with memoization** ([`search`], [`memo`]), as porcupine does
//!   it: depth-first over which operation takes effect next, remembering every (set of
//!   linearized operations, register state) already explored.
//! - **Operations** ([`model`]): `fail` never took effect and is dropped; `info` (and an
//!   invocation that never completed) may take effect at any point after its invocation,
//!   or never; an `ok` read must return the register's value at its linearization point.
//! - **Stricter than Knossos on `null`**: Knossos's `cas-register` accepts a read of `nil`
//!   in any state (its reads are invoked with `nil`); here a read returning `null` says
//!   the key did not exist, which is only true before any write. A node that answers
//!   `null` for a key it holds is reported.
//! - **Bounded** ([`LinOpts::state_limit`]): a key whose search explores that many
//!   states without an answer is `unknown` with the reason, never guessed.
//! - **Witnesses** ([`shrink`]): for a non-linearizable key, a locally minimal set of
//!   operations that cannot be linearized (removing any one makes the rest linearizable),
//!   with a longest partial linearization and the operations left out of it; drawn by
//!   [`timeline`] into the run folder.
//!
//! `details` holds `results` (per key: verdict, operations, indeterminate operations,
//! states explored), `failures` and `unknown` (keys), `anomaly_types`, and `anomalies`:
//! one `{"kind": "nonlinearizable", "key", "ops", "text", "linearized", "unorderable",
//! "locally_minimal", "plot"}` per failed key (at most [`LinOpts::max_witnesses`] are
//! shrunk; the rest list the operations up to the failure).

pub mod memo;
pub mod model;
pub mod search;
pub mod shrink;
pub mod split;
pub mod timeline;

#[cfg(test)]
mod brute;
#[cfg(test)]
mod tests;

use serde_json::{json, Map, Value};

use crate::checker::{CheckResult, Validity};
use crate::history::History;
use model::{describe, RegOp};
use search::{search, Failure, MemoPolicy, SearchOpts, Verdict};
use shrink::{shrink, ShrinkOpts};
use split::{split, KeyHistory};

/// The default [`LinOpts::state_limit`]. The memo holds at most this many states of a key,
/// each `8 × (2 + window + indeterminate / 64)` bytes plus 16 of table: a few tens of MB
/// for Maelstrom's keys (at most about 20 indeterminate operations each).
pub const DEFAULT_STATE_LIMIT: u64 = 1_000_000;

/// The checker's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinOpts {
    /// States one key's search may explore before its verdict is `unknown`.
    pub state_limit: u64,
    /// Failed keys shrunk to a witness at most (the others are reported unshrunk).
    pub max_witnesses: usize,
    /// Work limits of shrinking.
    pub shrink: ShrinkOpts,
}

impl Default for LinOpts {
    fn default() -> Self {
        LinOpts {
            state_limit: DEFAULT_STATE_LIMIT,
            max_witnesses: 8,
            shrink: ShrinkOpts::default(),
        }
    }
}

/// One key's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyVerdict {
    /// Linearizable.
    Valid,
    /// Not linearizable, with where the search stopped.
    Invalid(Failure),
    /// Undecided within the state limit.
    Unknown,
}

/// Searches one key; returns the verdict and the states explored.
pub fn check_key(ops: &[RegOp], opts: &LinOpts) -> (KeyVerdict, u64) {
    let out = search(
        ops,
        &SearchOpts {
            state_limit: opts.state_limit,
            memo: MemoPolicy::Failed,
            record_best: false,
        },
    );
    let v = match out.verdict {
        Verdict::Linearizable(_) => KeyVerdict::Valid,
        Verdict::NotLinearizable(f) => KeyVerdict::Invalid(f),
        Verdict::Unknown => KeyVerdict::Unknown,
    };
    (v, out.states)
}

/// The key as a label: a string key as it is, anything else as JSON.
pub fn key_label(key: &Value) -> String {
    match key {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The file name of a failed key's timeline in the run folder.
pub fn plot_file(key: &Value) -> String {
    let label: String = key_label(key)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    format!("nonlinearizable-{label}.svg")
}

/// The anomaly of a failed key: shrunk to a witness when `shrink_it`, else the operations
/// invoked before the search's frontier.
fn anomaly(k: &KeyHistory, failure: &Failure, shrink_it: bool, opts: &LinOpts) -> Value {
    let named = |v: &[usize]| -> Vec<usize> { v.iter().map(|&i| k.names[i]).collect() };
    let show = |v: &[usize]| -> String {
        v.iter()
            .map(|&i| format!("{} (#{})", describe(k.ops[i].f, &k.values), k.names[i]))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let label = key_label(&k.key);
    if !shrink_it {
        let ops: Vec<usize> = (0..k.ops.len())
            .filter(|&i| k.ops[i].call < failure.frontier)
            .collect();
        return json!({
            "kind": "nonlinearizable", "key": k.key, "ops": named(&ops),
            "text": format!("key {label}: the {} operations invoked before #{} cannot be linearized (not shrunk)", ops.len(), failure.frontier),
        });
    }
    let w = shrink(&k.ops, failure, &opts.shrink);
    let minimal = if w.locally_minimal {
        "locally minimal"
    } else {
        "not fully shrunk"
    };
    let text = format!(
        "key {label}: {} operations cannot be linearized ({minimal}): after [{}], none of [{}] can take effect",
        w.ops.len(),
        show(&w.linearized),
        show(&w.unorderable)
    );
    json!({
        "kind": "nonlinearizable", "key": k.key, "ops": named(&w.ops), "text": text,
        "linearized": named(&w.linearized), "unorderable": named(&w.unorderable),
        "locally_minimal": w.locally_minimal, "shrink_trials": w.trials,
        "plot": plot_file(&k.key),
    })
}

/// Checks a lin-kv history.
pub fn check(h: &History, opts: &LinOpts) -> CheckResult {
    let keys = match split(h) {
        Ok(k) => k,
        Err(e) => return CheckResult::unknown(e.to_string()),
    };
    let mut results = Map::new();
    let (mut failures, mut unknown, mut anomalies, mut problems) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut states_total, mut op_count, mut indeterminate) = (0u64, 0usize, 0usize);
    for k in &keys {
        let (verdict, states) = check_key(&k.ops, opts);
        states_total += states;
        op_count += k.ops.len();
        indeterminate += k.indeterminate();
        let label = key_label(&k.key);
        let valid = match &verdict {
            KeyVerdict::Valid => Validity::Valid,
            KeyVerdict::Invalid(failure) => {
                let a = anomaly(k, failure, failures.len() < opts.max_witnesses, opts);
                problems.push(a["text"].as_str().unwrap_or_default().to_owned());
                anomalies.push(a);
                failures.push(k.key.clone());
                Validity::Invalid
            }
            KeyVerdict::Unknown => {
                problems.push(format!(
                    "key {label}: undecided: the search explored {states} states (the limit) without an answer; raise --linearizable-state-limit"
                ));
                unknown.push(k.key.clone());
                Validity::Unknown
            }
        };
        results.insert(
            label,
            json!({"valid": valid.to_json(), "ops": k.ops.len(),
                   "indeterminate": k.indeterminate(), "states": states}),
        );
    }
    let valid = if !failures.is_empty() {
        Validity::Invalid
    } else if !unknown.is_empty() {
        Validity::Unknown
    } else {
        Validity::Valid
    };
    let types: Vec<&str> = if failures.is_empty() {
        vec![]
    } else {
        vec!["nonlinearizable"]
    };
    let details = json!({
        "valid": valid.to_json(), "key_count": keys.len(), "op_count": op_count,
        "indeterminate_count": indeterminate, "states_explored": states_total,
        "state_limit": opts.state_limit, "failures": failures, "unknown": unknown,
        "anomaly_types": types, "anomalies": anomalies, "results": results,
    });
    CheckResult::new(valid, problems, details)
}
