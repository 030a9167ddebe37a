//! Anomaly types and found anomalies, shared by the txn checkers (rw-register and
//! list-append).

use serde_json::{json, Value};
use std::fmt;

/// A kind of anomaly the txn checkers can report, named as Elle names it (Elle 0.2
/// calls the item-level `G-single` and `G-nonadjacent` `G-single-item` and
/// `G-nonadjacent-item`; no checker here has predicates, so the short names are used).
/// Declared (and ordered) roughly from most to least severe; reports list problems in
/// this order.
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
    /// A cycle with two or more rw anti-dependencies, no two of them adjacent.
    GNonadjacent,
    /// A cycle with two or more rw anti-dependencies, two of them adjacent.
    G2Item,
    /// [`AnomalyType::G0`] closed with at least one process-order edge.
    G0Process,
    /// [`AnomalyType::G1c`] closed with at least one process-order edge.
    G1cProcess,
    /// [`AnomalyType::GSingle`] closed with at least one process-order edge.
    GSingleProcess,
    /// [`AnomalyType::GNonadjacent`] closed with at least one process-order edge.
    GNonadjacentProcess,
    /// [`AnomalyType::G2Item`] closed with at least one process-order edge.
    G2ItemProcess,
    /// [`AnomalyType::G0`] closed with at least one real-time edge.
    G0Realtime,
    /// [`AnomalyType::G1c`] closed with at least one real-time edge.
    G1cRealtime,
    /// [`AnomalyType::GSingle`] closed with at least one real-time edge.
    GSingleRealtime,
    /// [`AnomalyType::GNonadjacent`] closed with at least one real-time edge.
    GNonadjacentRealtime,
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
    /// An `ok` reply whose micro-ops are not the request's (another function, key or
    /// appended value, another length, or a read of something that is not a list of
    /// integers): it does not answer what was asked. Maelstrom records it as `ok`.
    ReplyMismatch,
    /// Two reads of a key of which neither is a prefix of the other (list-append).
    IncompatibleOrder,
    /// A read of a list holding one element more than once (list-append).
    DuplicateElements,
    /// A committed append on top of an aborted txn's append (list-append).
    DirtyUpdate,
    /// Two committed txns read the same state of a key and both appended to it.
    LostUpdate,
    /// Two writes (in one or two txns) of the same value to the same key.
    DuplicateWrites,
    /// No dependency edge at all could be inferred.
    EmptyTransactionGraph,
    /// The cycle search gave up on a component within its budget.
    CycleSearchTimeout,
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
            GNonadjacent => "G-nonadjacent",
            G2Item => "G2-item",
            G0Process => "G0-process",
            G1cProcess => "G1c-process",
            GSingleProcess => "G-single-process",
            GNonadjacentProcess => "G-nonadjacent-process",
            G2ItemProcess => "G2-item-process",
            G0Realtime => "G0-realtime",
            G1cRealtime => "G1c-realtime",
            GSingleRealtime => "G-single-realtime",
            GNonadjacentRealtime => "G-nonadjacent-realtime",
            G2ItemRealtime => "G2-item-realtime",
            Internal => "internal",
            CyclicVersions => "cyclic-versions",
            FutureRead => "future-read",
            GarbageRead => "garbage-read",
            ReplyMismatch => "reply-mismatch",
            IncompatibleOrder => "incompatible-order",
            DuplicateElements => "duplicate-elements",
            DirtyUpdate => "dirty-update",
            LostUpdate => "lost-update",
            DuplicateWrites => "duplicate-writes",
            EmptyTransactionGraph => "empty-transaction-graph",
            CycleSearchTimeout => "cycle-search-timeout",
        }
    }

    /// Whether this type makes a result unknown rather than invalid (Elle's
    /// `unknown-anomaly-types`): it is reported, but prohibited by no model.
    pub fn is_unknown_type(self) -> bool {
        matches!(
            self,
            AnomalyType::EmptyTransactionGraph | AnomalyType::CycleSearchTimeout
        )
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

impl Anomaly {
    /// The finding that no dependency between transactions could be inferred (each
    /// checker's verdict says what it makes of it).
    pub fn empty_graph() -> Anomaly {
        Anomaly {
            kind: AnomalyType::EmptyTransactionGraph,
            txns: Vec::new(),
            description: "no dependency between transactions could be inferred".into(),
            detail: json!(true),
        }
    }
}
