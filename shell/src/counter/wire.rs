//! Messages of the g-counter workload, of counter gossip, and of the `seq-kv` calls.

use glomers_node::ErrorBody;
use serde::{Deserialize, Serialize};

use crate::crdt::{Counts, GossipMsg};

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
    /// Peer (CRDT mode): per-node totals the recipient lacks, keyed by node id.
    Gossip(GossipMsg<Counts>),
    /// `seq-kv` (kv mode): a read's answer.
    ReadOk {
        /// The stored total.
        value: u64,
    },
    /// `seq-kv` (kv mode): a write's answer.
    WriteOk,
    /// An error reply (kv mode: from `seq-kv`).
    Error(ErrorBody),
}

/// Messages a counter node sends to clients and peers (kv mode adds its `seq-kv` calls, see
/// `super::kv::KvCounterOut`).
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
    /// Peer (CRDT mode): per-node totals the recipient lacks, keyed by node id.
    Gossip(GossipMsg<Counts>),
}
