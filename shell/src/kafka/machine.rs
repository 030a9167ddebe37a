//! [`KafkaMachine`]: the kafka node on the runtime, through the shared
//! [`ReplicaMachine`] adapter.

use super::node::{KafkaConfig, KafkaNode, KafkaNodeError, KafkaRefusal};
use super::wire::{KafkaReply, KafkaRequest, ReplicateBatch};
use crate::error::ErrorCode;
use crate::replica::{ReplicaMachine, ReplicaNode, ReplicaOut};

/// Everything a kafka node sends: replies to clients and batches to peers.
pub type KafkaOut = ReplicaOut<KafkaReply, KafkaRequest>;

/// A [`KafkaNode`] driven by the runtime: requests are answered at once, replication
/// batches go out on every tick.
pub type KafkaMachine = ReplicaMachine<KafkaNode>;

impl ReplicaNode for KafkaNode {
    type Config = KafkaConfig;
    type Request = KafkaRequest;
    type Reply = KafkaReply;
    type Refusal = KafkaRefusal;
    type Batch = ReplicateBatch;
    type NewError = KafkaNodeError;

    fn new(id: &str, ids: &[String], config: KafkaConfig) -> Result<Self, KafkaNodeError> {
        KafkaNode::new(id, ids, config)
    }

    fn handle(
        &mut self,
        now_ms: u64,
        src: &str,
        request: KafkaRequest,
    ) -> Option<Result<KafkaReply, KafkaRefusal>> {
        KafkaNode::handle(self, now_ms, src, request)
    }

    fn on_tick(&mut self, now_ms: u64, out: &mut Vec<(String, ReplicateBatch)>) {
        KafkaNode::on_tick(self, now_ms, out)
    }

    fn replicate(batch: ReplicateBatch) -> KafkaRequest {
        KafkaRequest::KafkaReplicate(batch)
    }

    fn refusal_code(refusal: &KafkaRefusal) -> ErrorCode {
        match refusal {
            KafkaRefusal::BacklogFull(_) | KafkaRefusal::OffsetsExhausted(_) => {
                ErrorCode::TemporarilyUnavailable
            }
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
    use serde_json::json;
    use std::time::Duration;

    fn machine(id: &str, ids: &[&str]) -> KafkaMachine {
        let info = NodeInfo {
            id: id.into(),
            ids: ids.iter().map(|s| s.to_string()).collect(),
        };
        KafkaMachine::from_info(&info, KafkaConfig::default(), Duration::from_millis(5))
    }

    #[test]
    fn replies_and_batches_cross_the_wire_and_replicate() {
        let mut n0 = machine("n0", &["n0", "n1"]);
        let mut n1 = machine("n1", &["n0", "n1"]);
        let mut out = Outbox::new();
        let client = Origin {
            src: "c4".into(),
            msg_id: Some(7),
        };
        let send = KafkaRequest::Send {
            key: "k".into(),
            msg: json!("hello"),
        };
        n0.on_message(
            0,
            Incoming {
                origin: client.clone(),
                in_reply_to: None,
                body: send,
            },
            &mut out,
        );
        let sent: Vec<_> = out.drain().collect();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].dest, "c4");
        assert_eq!(
            sent[0].body_json().expect("encodes"),
            json!({"type": "send_ok", "offset": 0, "in_reply_to": 7})
        );
        // Ticks exchange batches through the same JSON decoding a real peer does, until
        // both nodes expose the message.
        for now in 1..10 {
            n0.on_tick(now, &mut out);
            n1.on_tick(now, &mut out);
            let batch: Vec<_> = out.drain().collect();
            for msg in batch {
                let (from, to) = if msg.dest == "n1" {
                    ("n0", &mut n1)
                } else {
                    ("n1", &mut n0)
                };
                let incoming = msg.deliver_as::<KafkaRequest>(from).expect("decodes");
                to.on_message(now, incoming, &mut out);
            }
        }
        for node in [&n0, &n1] {
            assert_eq!(
                node.node().stable_offset("k"),
                1,
                "offset 0 stable everywhere"
            );
        }
        let poll = KafkaRequest::Poll {
            offsets: [("k".into(), 0)].into_iter().collect(),
        };
        n1.on_message(
            20,
            Incoming {
                origin: client,
                in_reply_to: None,
                body: poll,
            },
            &mut out,
        );
        let polled: Vec<_> = out.drain().collect();
        assert_eq!(
            polled[0].body_json().expect("encodes"),
            json!({"type": "poll_ok", "msgs": {"k": [[0, "hello"]]}, "in_reply_to": 7})
        );
    }

    #[test]
    fn a_send_past_the_offset_space_is_refused_and_stores_nothing() {
        use crate::kafka::ReplicateBatch;
        let mut n0 = machine("n0", &["n0", "n1"]);
        let mut out = Outbox::new();
        let peer = Origin {
            src: "n1".into(),
            msg_id: None,
        };
        // A peer replicates an entry at the largest storable offset: n0's next offset of
        // its residue class no longer fits.
        let batch = ReplicateBatch {
            from: 0,
            entries: vec![("k".into(), u64::MAX - 1, json!("far"))],
            marks: None,
            ack_entries: 0,
            ack_version: 0,
        };
        n0.on_message(
            0,
            Incoming {
                origin: peer,
                in_reply_to: None,
                body: KafkaRequest::KafkaReplicate(batch),
            },
            &mut out,
        );
        let client = Origin {
            src: "c1".into(),
            msg_id: Some(1),
        };
        for attempt in 0..2 {
            let send = KafkaRequest::Send {
                key: "k".into(),
                msg: json!(attempt),
            };
            n0.on_message(
                1,
                Incoming {
                    origin: client.clone(),
                    in_reply_to: None,
                    body: send,
                },
                &mut out,
            );
            let replies: Vec<_> = out.drain().collect();
            let error = replies[0].error().expect("refused");
            assert_eq!(error.code, ErrorCode::TemporarilyUnavailable);
            assert!(error.is_definite());
        }
        assert_eq!(
            n0.node().entries("k"),
            vec![(u64::MAX - 1, json!("far"))],
            "nothing stored, nothing overwritten"
        );
        assert_eq!(n0.node().backlog(), 0);
    }

    #[test]
    fn refusals_are_definite_errors() {
        for refusal in [
            KafkaRefusal::BacklogFull(3),
            KafkaRefusal::OffsetsExhausted("k".into()),
        ] {
            let error = refusal_error::<KafkaNode>(&refusal);
            assert_eq!(error.code, ErrorCode::TemporarilyUnavailable);
            assert!(error.is_definite());
        }
    }
}
