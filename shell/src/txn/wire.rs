//! Message bodies of the `txn-rw-register` workload and the node-to-node replication batch.
//!
//! Reply schemas are closed on the Maelstrom side: `txn_ok` carries exactly `txn` (the
//! runtime adds `in_reply_to`). Keys and values are JSON integers. Micro-operations are the
//! core [`MicroOp`] (`["r", k, v|null]` / `["w", k, v]`; anything else, a write of `null`
//! included, fails to decode and is answered with error 12), write sets the core
//! [`WriteSet`] (`[counter, node index, [[key, value], ...]]`).

use serde::{Deserialize, Serialize};

pub use glomers_txn::{MicroOp, WriteSet};

/// A register key.
pub type TxnKey = i64;

/// A register value. Maelstrom writes each value at most once per key.
pub type TxnValue = i64;

/// Every body a txn node accepts, tagged by its `type` field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TxnRequest {
    /// A transaction; answered with [`TxnReply::TxnOk`].
    Txn {
        /// The micro-operations, applied in order as one atomic step.
        txn: Vec<MicroOp>,
    },
    /// Node-to-node replication batch (never sent by clients, never answered directly).
    TxnReplicate(TxnBatch),
}

/// Every reply body a txn node produces, tagged by its `type` field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TxnReply {
    /// The transaction committed; reads carry the values seen, writes are echoed.
    TxnOk {
        /// The completed micro-operations, in request order.
        txn: Vec<MicroOp>,
    },
}

/// A replication batch from one node to one peer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TxnBatch {
    /// Index of `sets[0]` in the sender's origin log (the write sets it committed, in
    /// commit order).
    pub from: u64,
    /// Consecutive origin write sets starting at `from`.
    pub sets: Vec<WriteSet>,
    /// How many of the receiver's origin write sets the sender holds (a prefix length).
    pub ack: u64,
    /// The sender's node life (see [`crate::replica::Replicator`]).
    #[serde(default)]
    pub life: u64,
    /// The receiver's life the acknowledgement refers to.
    #[serde(default)]
    pub ack_life: u64,
    /// The oldest index of its origin log the sender still keeps.
    #[serde(default)]
    pub base: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use glomers_txn::Stamp;
    use serde_json::json;

    #[test]
    fn txn_request_and_reply_match_maelstrom() {
        let request: TxnRequest = serde_json::from_value(
            json!({"type":"txn","msg_id":3,"txn":[["r",1,null],["w",1,6],["w",2,9]]}),
        )
        .expect("txn parses");
        assert_eq!(
            request,
            TxnRequest::Txn {
                txn: vec![MicroOp::read(1), MicroOp::write(1, 6), MicroOp::write(2, 9)]
            }
        );
        let reply = TxnReply::TxnOk {
            txn: vec![
                MicroOp::Read {
                    key: 1,
                    value: Some(3),
                },
                MicroOp::write(1, 6),
            ],
        };
        assert_eq!(
            serde_json::to_value(reply).expect("serialises"),
            json!({"type":"txn_ok","txn":[["r",1,3],["w",1,6]]})
        );
        for bad in [
            json!({"type":"txn","txn":[["x",1,null]]}),
            json!({"type":"txn","txn":[["r",1]]}),
            json!({"type":"txn","txn":[["w",1,null]]}),
            json!({"type":"txn","txn":[["w",1,2,3]]}),
            json!({"type":"txn","txn":[["w",1,1.5]]}),
        ] {
            assert!(
                serde_json::from_value::<TxnRequest>(bad.clone()).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn batch_round_trips_in_the_wire_write_set_form() {
        let batch = TxnRequest::TxnReplicate(TxnBatch {
            from: 4,
            sets: vec![WriteSet {
                stamp: Stamp::new(9, 1),
                writes: vec![(1, 2), (3, 4)],
            }],
            ack: 7,
            life: 5,
            ack_life: 6,
            base: 0,
        });
        let text = serde_json::to_value(&batch).expect("serialises");
        assert_eq!(
            text,
            json!({"type": "txn_replicate", "from": 4, "sets": [[9, 1, [[1, 2], [3, 4]]]], "ack": 7,
                   "life": 5, "ack_life": 6, "base": 0})
        );
        assert_eq!(
            serde_json::from_value::<TxnRequest>(text).expect("parses"),
            batch
        );
    }
}
