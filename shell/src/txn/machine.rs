//! [`TxnMachine`]: the txn node wired onto the runtime's [`Machine`] trait.

use std::time::Duration;

use serde::Serialize;

use super::node::{TxnConfig, TxnNode, TxnRefusal};
use super::wire::{TxnReply, TxnRequest};
use crate::error::{ErrorBody, ErrorCode};
use crate::inbox::NodeInfo;
use crate::machine::{Machine, Outbox};
use crate::protocol::Incoming;

/// Everything a txn node sends: replies to clients and batches to peers.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum TxnOut {
    /// A reply to a client transaction.
    Reply(TxnReply),
    /// A message to a peer (a replication batch).
    Peer(TxnRequest),
}

/// A [`TxnNode`] driven by the runtime: transactions are answered at once, replication
/// batches go out on every tick of `tick`.
#[derive(Debug, Clone)]
pub struct TxnMachine {
    node: TxnNode,
    tick: Duration,
}

impl TxnMachine {
    /// Builds the node for the identity from `init`. An `init` whose node list lacks the
    /// node's own id is logged and the id appended, so the node still serves clients.
    pub fn from_info(info: &NodeInfo, config: TxnConfig, tick: Duration) -> Self {
        let node = TxnNode::new(&info.id, &info.ids, config.clone()).unwrap_or_else(|error| {
            tracing::error!(%error, "init without own id in node_ids; appending it");
            let mut ids = info.ids.clone();
            ids.push(info.id.clone());
            TxnNode::new(&info.id, &ids, config)
                .unwrap_or_else(|_| unreachable!("own id appended to the list"))
        });
        Self { node, tick }
    }

    /// The node logic, for inspection.
    pub fn node(&self) -> &TxnNode {
        &self.node
    }
}

/// The Maelstrom error for a refusal (all refusals are definite).
pub fn refusal_error(refusal: &TxnRefusal) -> ErrorBody {
    let code = match refusal {
        TxnRefusal::BacklogFull(_) => ErrorCode::TemporarilyUnavailable,
    };
    ErrorBody::new(code, refusal.to_string())
}

impl Machine for TxnMachine {
    type In = TxnRequest;
    type Out = TxnOut;

    fn on_message(&mut self, now_ms: u64, msg: Incoming<TxnRequest>, out: &mut Outbox<TxnOut>) {
        match self.node.handle(now_ms, &msg.origin.src, msg.body) {
            None => {}
            Some(Ok(reply)) => out.reply(&msg.origin, TxnOut::Reply(reply)),
            Some(Err(refusal)) => out.reply_error(&msg.origin, refusal_error(&refusal)),
        }
    }

    /// Adds at most one batch per peer.
    fn on_tick(&mut self, now_ms: u64, out: &mut Outbox<TxnOut>) {
        let mut batches = Vec::new();
        self.node.on_tick(now_ms, &mut batches);
        for (dest, batch) in batches {
            out.send(dest, TxnOut::Peer(TxnRequest::TxnReplicate(batch)));
        }
    }

    fn tick_interval(&self) -> Option<Duration> {
        Some(self.tick)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Origin;
    use crate::txn::wire::MicroOp;
    use serde_json::json;

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
        let error = refusal_error(&TxnRefusal::BacklogFull(1));
        assert_eq!(error.code, ErrorCode::TemporarilyUnavailable);
        assert!(error.is_definite());
    }
}
