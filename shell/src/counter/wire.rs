//! Messages of the g-counter workload and of counter gossip.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::ErrorBody;

/// Messages a counter node accepts.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CounterIn {
    /// Client: add a non-negative `delta`.
    Add {
        /// Amount to add; a negative or fractional delta is a malformed request.
        delta: u64,
    },
    /// Client: read the current total.
    Read,
    /// Peer (CRDT mode): the sender's full per-node totals.
    Gossip {
        /// Per-node contribution, keyed by node id.
        counts: BTreeMap<String, u64>,
    },
    /// An error reply (not expected; logged).
    Error(ErrorBody),
}

/// Messages a counter node sends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CounterOut {
    /// Reply to `add`.
    AddOk,
    /// Reply to `read`: `value` is a JSON integer.
    ReadOk {
        /// The total.
        value: u64,
    },
    /// Peer (CRDT mode): full per-node totals.
    Gossip {
        /// Per-node contribution, keyed by node id.
        counts: BTreeMap<String, u64>,
    },
}
