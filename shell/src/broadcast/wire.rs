//! Message bodies of the broadcast workload and of the node-to-node protocol.
//!
//! Client replies carry exactly Maelstrom's documented fields (the runtime adds
//! `in_reply_to`); values are unsigned integers and always serialised as JSON integers.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Every body a broadcast node accepts, tagged by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BroadcastIn {
    /// Maelstrom's suggested topology; answered with `topology_ok` and otherwise ignored.
    Topology {
        /// Node id to neighbour ids; unused.
        #[serde(default)]
        topology: Option<Value>,
    },
    /// A client broadcast of one new value; answered with `broadcast_ok` at once.
    Broadcast {
        /// The value (unique, increasing integers in Maelstrom's workload).
        message: u64,
    },
    /// A client read; answered with every value known.
    Read {},
    /// Node to hub: new values the recipient should deliver to every other node.
    Relay {
        /// The values.
        messages: Vec<u64>,
    },
    /// Node to node: values to store, never forwarded.
    Deliver {
        /// The values.
        messages: Vec<u64>,
    },
    /// Node to node: values to store, never forwarded, with the sender's digest of its
    /// settled values piggybacked (handled as a [`BroadcastIn::Digest`] that is not a reply),
    /// so that anti-entropy costs no message of its own while values flow.
    Spread {
        /// The values.
        messages: Vec<u64>,
        /// Inclusive `[lo, hi]` ranges of the sender's settled values.
        have: Vec<(u64, u64)>,
    },
    /// Anti-entropy push: values the recipient's digest lacked. They were lost on their
    /// normal path, so others likely lack them too: unless `spread` is false, the recipient
    /// disseminates the ones new to it as if a client had broadcast them there.
    Repair {
        /// The values.
        messages: Vec<u64>,
        /// Whether the recipient disseminates them (false for the answer to a pulled
        /// request, see [`BroadcastIn::Digest::pull`]); absent means true.
        #[serde(default = "yes")]
        spread: bool,
    },
    /// Anti-entropy: the sender's values as ranges. The recipient pushes what the sender
    /// lacks with a [`BroadcastIn::Repair`], and when the digest is not itself a reply and
    /// covers values the recipient lacks, it answers with its own digest.
    Digest {
        /// Inclusive `[lo, hi]` ranges of values the sender holds.
        have: Vec<(u64, u64)>,
        /// True for a digest sent in answer to another digest (never answered again).
        #[serde(default)]
        reply: bool,
        /// True for a reply that pulls a repair after a piggybacked digest showed values
        /// the sender lacks: the repair it asks for is not disseminated further.
        #[serde(default)]
        pull: bool,
    },
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Every body a broadcast node sends, tagged by `type`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BroadcastOut {
    /// Reply to `topology`.
    TopologyOk,
    /// Reply to `broadcast`.
    BroadcastOk,
    /// Reply to `read`: every value known, ascending.
    ReadOk {
        /// The values, as JSON integers.
        messages: Vec<u64>,
    },
    /// See [`BroadcastIn::Relay`].
    Relay {
        /// The values.
        messages: Vec<u64>,
    },
    /// See [`BroadcastIn::Deliver`].
    Deliver {
        /// The values.
        messages: Vec<u64>,
    },
    /// See [`BroadcastIn::Spread`].
    Spread {
        /// The values.
        messages: Vec<u64>,
        /// Inclusive `[lo, hi]` ranges of the sender's settled values.
        have: Vec<(u64, u64)>,
    },
    /// See [`BroadcastIn::Repair`].
    Repair {
        /// The values.
        messages: Vec<u64>,
        /// Whether the recipient disseminates them (written only when false).
        #[serde(default = "yes", skip_serializing_if = "is_true")]
        spread: bool,
    },
    /// See [`BroadcastIn::Digest`].
    Digest {
        /// Inclusive `[lo, hi]` ranges.
        have: Vec<(u64, u64)>,
        /// True when answering a digest.
        reply: bool,
        /// True when pulling a repair (written only when true).
        #[serde(default, skip_serializing_if = "is_false")]
        pull: bool,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn client_bodies_decode_with_extra_fields() {
        let b: BroadcastIn =
            serde_json::from_value(json!({"type": "read", "msg_id": 3})).expect("read");
        assert_eq!(b, BroadcastIn::Read {});
        let b: BroadcastIn = serde_json::from_value(
            json!({"type": "topology", "msg_id": 1, "topology": {"n0": ["n1"]}}),
        )
        .expect("topology");
        assert!(matches!(b, BroadcastIn::Topology { topology: Some(_) }));
        let b: BroadcastIn =
            serde_json::from_value(json!({"type": "broadcast", "message": 7, "msg_id": 2}))
                .expect("broadcast");
        assert_eq!(b, BroadcastIn::Broadcast { message: 7 });
        assert!(serde_json::from_value::<BroadcastIn>(
            json!({"type": "broadcast", "message": 1.5})
        )
        .is_err());
    }

    #[test]
    fn replies_have_exactly_the_documented_fields() {
        assert_eq!(
            serde_json::to_value(BroadcastOut::ReadOk {
                messages: vec![1, 2]
            })
            .expect("json"),
            json!({"type": "read_ok", "messages": [1, 2]})
        );
        assert_eq!(
            serde_json::to_value(BroadcastOut::BroadcastOk).expect("json"),
            json!({"type": "broadcast_ok"})
        );
        assert_eq!(
            serde_json::to_value(BroadcastOut::Digest {
                have: vec![(0, 4)],
                reply: false,
                pull: false,
            })
            .expect("json"),
            json!({"type": "digest", "have": [[0, 4]], "reply": false})
        );
        assert_eq!(
            serde_json::to_value(BroadcastOut::Repair {
                messages: vec![3],
                spread: false,
            })
            .expect("json"),
            json!({"type": "repair", "messages": [3], "spread": false})
        );
        let pushed: BroadcastIn =
            serde_json::from_value(json!({"type": "repair", "messages": [3]})).expect("repair");
        assert_eq!(
            pushed,
            BroadcastIn::Repair {
                messages: vec![3],
                spread: true
            },
            "a repair without the field is disseminated"
        );
    }
}
