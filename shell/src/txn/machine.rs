//! [`TxnMachine`]: the txn node on the runtime, through the shared [`ReplicaMachine`]
//! adapter.

use super::node::{TxnConfig, TxnNode, TxnNodeError, TxnRefusal};
use super::wire::{TxnBatch, TxnReply, TxnRequest};
use crate::error::ErrorCode;
use crate::replica::{ReplicaMachine, ReplicaNode, ReplicaOut};

/// Everything a txn node sends: replies to clients and batches to peers.
pub type TxnOut = ReplicaOut<TxnReply, TxnRequest>;

/// A [`TxnNode`] driven by the runtime: transactions are answered at once, replication
/// batches go out on every tick.
pub type TxnMachine = ReplicaMachine<TxnNode>;

impl ReplicaNode for TxnNode {
    type Config = TxnConfig;
    type Request = TxnRequest;
    type Reply = TxnReply;
    type Refusal = TxnRefusal;
    type Batch = TxnBatch;
    type NewError = TxnNodeError;

    fn new(id: &str, ids: &[String], config: TxnConfig) -> Result<Self, TxnNodeError> {
        TxnNode::new(id, ids, config)
    }

    fn handle(
        &mut self,
        now_ms: u64,
        src: &str,
        request: TxnRequest,
    ) -> Option<Result<TxnReply, TxnRefusal>> {
        TxnNode::handle(self, now_ms, src, request)
    }

    fn on_tick(&mut self, now_ms: u64, out: &mut Vec<(String, TxnBatch)>) {
        TxnNode::on_tick(self, now_ms, out)
    }

    fn replicate(batch: TxnBatch) -> TxnRequest {
        TxnRequest::TxnReplicate(batch)
    }

    fn refusal_code(refusal: &TxnRefusal) -> ErrorCode {
        match refusal {
            TxnRefusal::BacklogFull(_) => ErrorCode::TemporarilyUnavailable,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inbox::NodeInfo;
    use crate::machine::{Machine, Outbox};
    use crate::protocol::Incoming;
    use crate::protocol::Origin;
    use crate::replica::refusal_error;
    use crate::txn::wire::MicroOp;
    use serde_json::json;
    use std::time::Duration;

    fn machine(id: &str) -> TxnMachine {
        let info = NodeInfo {
            id: id.into(),
            ids: vec!["n0".into(), "n1".into()],
        };
        TxnMachine::from_info(&info, TxnConfig::default(), Duration::from_millis(20))
    }

    #[test]
    fn transactions_replicate_through_the_wire_encoding() {
        let (mut n0, mut n1) = (machine("n0"), machine("n1"));
        let mut out = Outbox::new();
        let client = Origin {
            src: "c2".into(),
            msg_id: Some(3),
        };
        let txn = TxnRequest::Txn {
            txn: vec![MicroOp::write(5, 50), MicroOp::read(5)],
        };
        n0.on_message(
            0,
            Incoming {
                origin: client,
                in_reply_to: None,
                body: txn,
            },
            &mut out,
        );
        let replies: Vec<_> = out.drain().collect();
        assert_eq!(
            replies[0].body_json().expect("encodes"),
            json!({"type": "txn_ok", "txn": [["w", 5, 50], ["r", 5, 50]], "in_reply_to": 3})
        );
        for now in 1..5 {
            n0.on_tick(now, &mut out);
            n1.on_tick(now, &mut out);
            let batch: Vec<_> = out.drain().collect();
            for msg in batch {
                let (from, to) = if msg.dest == "n1" {
                    ("n0", &mut n1)
                } else {
                    ("n1", &mut n0)
                };
                let incoming = msg.deliver_as::<TxnRequest>(from).expect("decodes");
                to.on_message(now, incoming, &mut out);
            }
        }
        assert_eq!(n1.node().read(5).map(|(v, _)| v), Some(50));
        assert_eq!(n0.node().backlog(), 0, "n1 acknowledged the write set");
    }

    #[test]
    fn refusals_map_to_definite_codes() {
        let error = refusal_error::<TxnNode>(&TxnRefusal::BacklogFull(1));
        assert_eq!(error.code, ErrorCode::TemporarilyUnavailable);
        assert!(error.is_definite());
    }
}
