//! [`KafkaMachine`]: the kafka node wired onto the runtime's [`Machine`] trait.

use std::time::Duration;

use serde::Serialize;

use super::node::{KafkaConfig, KafkaNode, KafkaRefusal};
use super::wire::{KafkaReply, KafkaRequest};
use crate::error::{ErrorBody, ErrorCode};
use crate::inbox::NodeInfo;
use crate::machine::{Machine, Outbox};
use crate::protocol::Incoming;

/// Everything a kafka node sends: replies to clients and batches to peers.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum KafkaOut {
    /// A reply to a client request.
    Reply(KafkaReply),
    /// A message to a peer (a replication batch).
    Peer(KafkaRequest),
}

/// A [`KafkaNode`] driven by the runtime: requests are answered at once, replication
/// batches go out on every tick of `tick`.
#[derive(Debug, Clone)]
pub struct KafkaMachine {
    node: KafkaNode,
    tick: Duration,
}

impl KafkaMachine {
    /// Builds the node for the identity from `init`. An `init` whose node list lacks the
    /// node's own id is logged and the id appended, so the node still serves clients.
    pub fn from_info(info: &NodeInfo, config: KafkaConfig, tick: Duration) -> Self {
        let node = KafkaNode::new(&info.id, &info.ids, config.clone()).unwrap_or_else(|error| {
            tracing::error!(%error, "init without own id in node_ids; appending it");
            let mut ids = info.ids.clone();
            ids.push(info.id.clone());
            KafkaNode::new(&info.id, &ids, config)
                .unwrap_or_else(|_| unreachable!("own id appended to the list"))
        });
        Self { node, tick }
    }

    /// The node logic, for inspection.
    pub fn node(&self) -> &KafkaNode {
        &self.node
    }
}

/// The Maelstrom error for a refusal (all refusals are definite).
pub fn refusal_error(refusal: &KafkaRefusal) -> ErrorBody {
    match refusal {
        KafkaRefusal::BacklogFull(_) => {
            ErrorBody::new(ErrorCode::TemporarilyUnavailable, refusal.to_string())
        }
    }
}

impl Machine for KafkaMachine {
    type In = KafkaRequest;
    type Out = KafkaOut;

    fn on_message(&mut self, now_ms: u64, msg: Incoming<KafkaRequest>, out: &mut Outbox<KafkaOut>) {
        match self.node.handle(now_ms, &msg.origin.src, msg.body) {
            None => {}
            Some(Ok(reply)) => out.reply(&msg.origin, KafkaOut::Reply(reply)),
            Some(Err(refusal)) => out.reply_error(&msg.origin, refusal_error(&refusal)),
        }
    }

    /// Adds at most one batch per peer.
    fn on_tick(&mut self, now_ms: u64, out: &mut Outbox<KafkaOut>) {
        let mut batches = Vec::new();
        self.node.on_tick(now_ms, &mut batches);
        for (dest, batch) in batches {
            out.send(dest, KafkaOut::Peer(KafkaRequest::KafkaReplicate(batch)));
        }
    }

    fn tick_interval(&self) -> Option<Duration> {
        Some(self.tick)
    }
}
