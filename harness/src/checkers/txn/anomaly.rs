//! Anomaly types, consistency models, and which models prohibit which anomalies.

use serde_json::Value;
use std::fmt;
use std::str::FromStr;

/// A kind of anomaly the checker can report, named as Elle names it. Declared (and
/// ordered) roughly from most to least severe; reports list problems in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AnomalyType {
    /// A cycle of write-write dependencies only.
    G0,
    /// An `ok` txn read a value written by a `fail` txn.
    G1a,
    /// An `ok` txn read a value its writer overwrote later in the same txn.
    G1b,
    /// A cycle of ww/wr dependencies with at least one wr.
    G1c,
    /// A cycle of ww/wr dependencies and exactly one rw anti-dependency.
    GSingle,
    /// A cycle with two or more rw anti-dependencies.
    G2Item,
    /// [`AnomalyType::G0`] closed with at least one real-time edge.
    G0Realtime,
    /// [`AnomalyType::G1c`] closed with at least one real-time edge.
    G1cRealtime,
    /// [`AnomalyType::GSingle`] closed with at least one real-time edge.
    GSingleRealtime,
    /// [`AnomalyType::G2Item`] closed with at least one real-time edge.
    G2ItemRealtime,
    /// A txn's read disagrees with its own earlier write or read of the key.
    Internal,
    /// A key's inferred version order has a cycle.
    CyclicVersions,
    /// A txn read a value that it only writes later: a degenerate G1c.
    FutureRead,
    /// An `ok` txn read a non-null value that no transaction ever tried to write.
    GarbageRead,
    /// Two writes (in one or two txns) of the same value to the same key.
    DuplicateWrites,
    /// No dependency edge at all could be inferred.
    EmptyTransactionGraph,
}

impl AnomalyType {
    /// Elle's name of the anomaly, e.g. `"G-single"`.
    pub fn as_str(self) -> &'static str {
        use AnomalyType::*;
        match self {
            G0 => "G0",
            G1a => "G1a",
            G1b => "G1b",
            G1c => "G1c",
            GSingle => "G-single",
            G2Item => "G2-item",
            G0Realtime => "G0-realtime",
            G1cRealtime => "G1c-realtime",
            GSingleRealtime => "G-single-realtime",
            G2ItemRealtime => "G2-item-realtime",
            Internal => "internal",
            CyclicVersions => "cyclic-versions",
            FutureRead => "future-read",
            GarbageRead => "garbage-read",
            DuplicateWrites => "duplicate-writes",
            EmptyTransactionGraph => "empty-transaction-graph",
        }
    }
}

impl fmt::Display for AnomalyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One found anomaly: its type, the txns involved (history indices), a one-line
/// human description and structured detail for `results.json`.
#[derive(Debug, Clone, PartialEq)]
pub struct Anomaly {
    /// The anomaly type.
    pub kind: AnomalyType,
    /// History indices of the txns involved (completion index, or invocation index
    /// for txns that never completed).
    pub txns: Vec<usize>,
    /// e.g. `"T12 -wr(3 4)-> T15 -ww(3 4<5)-> T12"`.
    pub description: String,
    /// Structured form of the same.
    pub detail: Value,
}

/// A consistency model the checker can check.
///
/// Ordered from weakest to strongest: each model prohibits everything the previous ones
/// prohibit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ConsistencyModel {
    /// Adya PL-1: no G0 (and no impossible version orders).
    ReadUncommitted,
    /// Adya PL-2: additionally no G1a, G1b, G1c.
    ReadCommitted,
    /// Adya PL-3 (conflict serializability): additionally no G-single, G2-item, and
    /// internally consistent txns.
    Serializable,
    /// Adya PL-SS: additionally no cycles closed by real-time order.
    StrictSerializable,
}

/// Why a consistency-model name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    /// Not a model name Elle knows.
    #[error("unknown consistency model {0:?}")]
    Unknown(String),
    /// A model Elle knows but this checker does not check.
    #[error("consistency model {0:?} is not supported by this checker")]
    Unsupported(String),
}

/// Model names Elle accepts that this checker does not implement.
const ELLE_OTHER_MODELS: &[&str] = &[
    "causal-cerone",
    "consistent-view",
    "PL-2+",
    "cursor-stability",
    "PL-CS",
    "forward-consistent-view",
    "PL-FCV",
    "monotonic-atomic-view",
    "monotonic-snapshot-read",
    "PL-MSR",
    "monotonic-view",
    "PL-2L",
    "parallel-snapshot-isolation",
    "prefix",
    "read-atomic",
    "repeatable-read",
    "PL-2.99",
    "ROLA",
    "snapshot-isolation",
    "PL-SI",
    "session-serializable",
    "1SR",
    "strong-session-serializable",
    "strong-session-snapshot-isolation",
    "strong-snapshot-isolation",
    "update-serializable",
    "PL-3U",
    "view-serializable",
    "strong-session-read-uncommitted",
    "strong-session-read-committed",
    "strong-read-uncommitted",
    "strong-read-committed",
    "strong-session-PL-1",
    "strong-session-PL-2",
    "strong-PL-1",
    "strong-PL-2",
    "linearizable",
    "sequential",
    "causal",
    "writes-follow-reads",
    "PRAM",
    "monotonic-reads",
    "monotonic-writes",
    "read-your-writes",
];

impl FromStr for ConsistencyModel {
    type Err = ModelError;

    /// Accepts Elle's friendly names (`read-uncommitted`, `read-committed`,
    /// `serializable`, `strict-serializable`) and their canonical/alias names
    /// (`PL-1`, `PL-2`, `PL-3`, `conflict-serializable`, `PL-SS`,
    /// `strong-serializable`), with or without a leading `:`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let name = s.trim().trim_start_matches(':');
        Ok(match name {
            "read-uncommitted" | "PL-1" => ConsistencyModel::ReadUncommitted,
            "read-committed" | "PL-2" => ConsistencyModel::ReadCommitted,
            "serializable" | "conflict-serializable" | "PL-3" => ConsistencyModel::Serializable,
            "strict-serializable" | "strong-serializable" | "PL-SS" => {
                ConsistencyModel::StrictSerializable
            }
            other if ELLE_OTHER_MODELS.contains(&other) => {
                return Err(ModelError::Unsupported(other.to_string()))
            }
            other => return Err(ModelError::Unknown(other.to_string())),
        })
    }
}

impl ConsistencyModel {
    /// All supported models, weakest first.
    pub const ALL: [ConsistencyModel; 4] = [
        ConsistencyModel::ReadUncommitted,
        ConsistencyModel::ReadCommitted,
        ConsistencyModel::Serializable,
        ConsistencyModel::StrictSerializable,
    ];

    /// Elle's friendly name, as Maelstrom's `--consistency-models` takes it.
    pub fn as_str(self) -> &'static str {
        match self {
            ConsistencyModel::ReadUncommitted => "read-uncommitted",
            ConsistencyModel::ReadCommitted => "read-committed",
            ConsistencyModel::Serializable => "serializable",
            ConsistencyModel::StrictSerializable => "strict-serializable",
        }
    }

    /// Whether this model prohibits `a`. Monotone: a stronger model prohibits at least
    /// what a weaker one does. `duplicate-writes` and `empty-transaction-graph` are
    /// not prohibited by any model (they make the result unknown / are reported
    /// separately).
    pub fn prohibits(self, a: AnomalyType) -> bool {
        use AnomalyType::*;
        let level = match a {
            G0 | CyclicVersions | GarbageRead => ConsistencyModel::ReadUncommitted,
            G1a | G1b | G1c | FutureRead => ConsistencyModel::ReadCommitted,
            GSingle | G2Item | Internal => ConsistencyModel::Serializable,
            G0Realtime | G1cRealtime | GSingleRealtime | G2ItemRealtime => {
                ConsistencyModel::StrictSerializable
            }
            DuplicateWrites | EmptyTransactionGraph => return false,
        };
        self >= level
    }
}

impl fmt::Display for ConsistencyModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
