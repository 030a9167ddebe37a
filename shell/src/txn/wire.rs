//! Message bodies of the `txn-rw-register` workload and the node-to-node replication batch.
//!
//! Reply schemas are closed on the Maelstrom side: `txn_ok` carries exactly `txn` (the
//! runtime adds `in_reply_to`). Keys and values are JSON integers.

use serde::{Deserialize, Serialize};

/// A register key.
pub type TxnKey = i64;

/// A register value. Maelstrom writes each value at most once per key.
pub type TxnValue = i64;

/// The kind of a micro-operation: `"r"` or `"w"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OpKind {
    /// Read the key; the reply carries the value seen (`null` for a missing key).
    #[serde(rename = "r")]
    Read,
    /// Write the value to the key; echoed unchanged in the reply.
    #[serde(rename = "w")]
    Write,
}

/// One micro-operation, `[kind, key, value]`: requests carry `null` for reads.
pub type MicroOp = (OpKind, TxnKey, Option<TxnValue>);

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

/// A committed write set on the wire: `[counter, node index, [[key, value], ...]]`.
/// `(counter, node index)` is the Lamport stamp every write of the set carries.
pub type WireWriteSet = (u64, u32, Vec<(TxnKey, TxnValue)>);

/// A replication batch from one node to one peer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TxnBatch {
    /// Index of `sets[0]` in the sender's origin log (the write sets it committed, in
    /// commit order).
    pub from: u64,
    /// Consecutive origin write sets starting at `from`.
    pub sets: Vec<WireWriteSet>,
    /// How many of the receiver's origin write sets the sender holds (a prefix length).
    pub ack: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
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
                txn: vec![
                    (OpKind::Read, 1, None),
                    (OpKind::Write, 1, Some(6)),
                    (OpKind::Write, 2, Some(9))
                ]
            }
        );
        let reply = TxnReply::TxnOk {
            txn: vec![(OpKind::Read, 1, Some(3)), (OpKind::Write, 1, Some(6))],
        };
        assert_eq!(
            serde_json::to_value(reply).expect("serialises"),
            json!({"type":"txn_ok","txn":[["r",1,3],["w",1,6]]})
        );
        assert!(
            serde_json::from_value::<TxnRequest>(json!({"type":"txn","txn":[["x",1,null]]}))
                .is_err()
        );
        assert!(
            serde_json::from_value::<TxnRequest>(json!({"type":"txn","txn":[["r",1]]})).is_err()
        );
    }

    #[test]
    fn batch_round_trips() {
        let batch = TxnRequest::TxnReplicate(TxnBatch {
            from: 4,
            sets: vec![(9, 1, vec![(1, 2), (3, 4)])],
            ack: 7,
        });
        let text = serde_json::to_string(&batch).expect("serialises");
        assert_eq!(
            serde_json::from_str::<TxnRequest>(&text).expect("parses"),
            batch
        );
    }
}
