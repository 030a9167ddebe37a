//! The verdict of a checker, composed as Maelstrom composes it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A checker's verdict: Jepsen's `true`, `false` or `:unknown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Validity {
    /// Nothing wrong was found.
    Valid,
    /// Something wrong was found.
    Invalid,
    /// The checker could not decide (e.g. nothing to check, or it threw).
    Unknown,
}

impl Validity {
    /// Jepsen's merge: false if any is false, else unknown if any is unknown, else true.
    pub fn merge(self, other: Validity) -> Validity {
        use Validity::*;
        match (self, other) {
            (Invalid, _) | (_, Invalid) => Invalid,
            (Unknown, _) | (_, Unknown) => Unknown,
            _ => Valid,
        }
    }

    /// From a boolean.
    pub fn from_bool(ok: bool) -> Validity {
        if ok {
            Validity::Valid
        } else {
            Validity::Invalid
        }
    }
}

/// One checker's result: a verdict, a short human reason, and structured details that go
/// to `results.json` (field names follow Maelstrom's `results.edn`, in snake_case).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    /// The verdict.
    pub valid: Validity,
    /// One line per problem found, most important first (empty when valid). Each names
    /// the anomaly and the operations involved (history indices) so that a reader can find
    /// them in `history.jsonl`.
    pub problems: Vec<String>,
    /// Structured output, e.g. `{"lost_count": 0, "stable_latencies": {...}}`.
    pub details: Value,
}

impl CheckResult {
    /// A result with no problems.
    pub fn valid(details: Value) -> Self {
        CheckResult {
            valid: Validity::Valid,
            problems: Vec::new(),
            details,
        }
    }

    /// A result with the given verdict, problems and details.
    pub fn new(valid: Validity, problems: Vec<String>, details: Value) -> Self {
        CheckResult {
            valid,
            problems,
            details,
        }
    }

    /// An undecided result (Jepsen's `{:valid? :unknown :error ...}`): the checker could
    /// not decide, e.g. because the history holds values it cannot compare. `details`
    /// carries `{"error": reason}`.
    pub fn unknown(reason: impl Into<String>) -> Self {
        let reason = reason.into();
        CheckResult {
            valid: Validity::Unknown,
            problems: vec![reason.clone()],
            details: serde_json::json!({ "valid": "unknown", "error": reason }),
        }
    }
}

impl Validity {
    /// As Jepsen prints it in results: `true`, `false` or `"unknown"`.
    pub fn to_json(self) -> Value {
        match self {
            Validity::Valid => Value::Bool(true),
            Validity::Invalid => Value::Bool(false),
            Validity::Unknown => Value::String("unknown".into()),
        }
    }
}
