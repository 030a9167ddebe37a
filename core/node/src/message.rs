//! Who a message came from, what arrived, and who the node is.

use alloc::string::String;
use alloc::vec::Vec;

/// A node, client or service id (`"n3"`, `"c12"`, `"lin-kv"`). Maelstrom's ids are short,
/// so they are kept inline: answering a message allocates nothing for its address.
pub type NodeId = compact_str::CompactString;

/// Where a message came from and how to answer it.
///
/// A reply goes to `src` with `in_reply_to = msg_id`; a message without `msg_id` cannot be
/// answered.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Origin {
    /// The sender's node, client or service id.
    pub src: NodeId,
    /// The sender's `msg_id`, if it expects an answer.
    pub msg_id: Option<u64>,
}

/// A received message with a decoded body.
///
/// `origin` is a separate field so that it stays borrowable after `body` is moved out by a
/// `match`: keep it and answer with it.
#[derive(Clone, Debug, PartialEq)]
pub struct Incoming<B> {
    /// Sender and its `msg_id`.
    pub origin: Origin,
    /// The body's `in_reply_to`, when the message is itself a reply.
    pub in_reply_to: Option<u64>,
    /// The decoded body (its `type` selected the variant).
    pub body: B,
}

/// The node's identity, from `init`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeInfo {
    /// This node's id, e.g. `"n3"`.
    pub id: String,
    /// Every node id of the test, in Maelstrom's order, normally this node's included.
    pub ids: Vec<String>,
}

impl NodeInfo {
    /// Every node id except this node's, in order.
    pub fn peers(&self) -> impl Iterator<Item = &str> + '_ {
        self.ids
            .iter()
            .map(String::as_str)
            .filter(move |p| *p != self.id)
    }

    /// Position of this node in `ids`, if present.
    pub fn index(&self) -> Option<usize> {
        self.ids.iter().position(|p| *p == self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn peers_skip_self_and_index_finds_it() {
        let info = NodeInfo {
            id: "n1".into(),
            ids: vec!["n0".into(), "n1".into(), "n2".into()],
        };
        assert_eq!(info.peers().collect::<Vec<_>>(), ["n0", "n2"]);
        assert_eq!(info.index(), Some(1));
        let stranger = NodeInfo {
            id: "n9".into(),
            ids: info.ids.clone(),
        };
        assert_eq!(stranger.index(), None);
        assert_eq!(stranger.peers().count(), 3);
    }
}
