//! What a Raft node puts on the wire besides its clients' replies: the batch of Raft
//! messages for one peer, and a forwarded request.
//!
//! Raft messages between nodes travel as one Maelstrom message per peer per flush, body
//! `{"type": "raft", "msgs": [...]}`: each element one [`glomers_raft::Message`] in serde's
//! external tagging (`{"append": {...}}`, `{"vote_response": {...}}`), whose log entries
//! carry a batch of the service's commands (`{"command": [...]}` or `"noop"`); a
//! snapshot (`{"snapshot": {"term": .., "snapshot": {"index": .., "term": .., "data": ..},
//! "round": ..}}`) carries the service's whole state as its `data`.

use glomers_raft::Message;
use serde::{Deserialize, Serialize};

/// The command of one log entry: every client command the leader gathered in one round.
pub type Batch<C> = Vec<C>;

/// The Raft messages of one flush to one peer; `D` is the service's snapshot.
pub type Msgs<C, D> = Vec<Message<Batch<C>, D>>;

/// The Raft messages of one flush from one node to another, with what the sender hears.
///
/// A node that learns from `hears` that a peer does not hear it sends its batches for that
/// peer through a node the peer does hear (`to` set); that node passes the batch on, with
/// `from` set. So a leader keeps its majority when links fail one way only (a ring of
/// one-way cuts leaves every node able to reach every other in two hops).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeerBatch<C, D> {
    /// Raft messages, in the order they were produced.
    pub msgs: Msgs<C, D>,
    /// Bit `i`: the sender heard node `i` (by Raft id) recently, so the link from `i` to
    /// the sender works. Absent: not known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hears: Option<u32>,
    /// On a batch to pass on: the node it is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// On a batch passed on: the node it comes from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
}

/// A batch as a body (`type` `raft`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Peer<C, D> {
    /// Raft messages.
    Raft(PeerBatch<C, D>),
}

/// What a forwarded client request carries besides the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Forwarded {
    /// Milliseconds left to answer it.
    pub budget_ms: u64,
    /// How many nodes forwarded it so far.
    pub hops: u8,
}

/// Everything a Raft node sends: a reply to a client, a request forwarded to the leader on
/// its client's behalf, or a batch to a peer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum RaftOut<R, F, C, D> {
    /// A reply.
    Reply(R),
    /// A forwarded request (the client's body, with the time it has left).
    Forward(F),
    /// Raft messages to a peer.
    Peer(Peer<C, D>),
}

#[cfg(test)]
mod tests {
    use super::*;
    use glomers_raft::{Append, Entry, Payload, VoteResponse};
    use serde_json::json;

    #[test]
    fn a_batch_is_one_body_of_externally_tagged_messages() {
        let mut entries = heapless::Vec::new();
        let _ = entries.push(Entry {
            term: 2,
            index: 5,
            payload: Payload::Command(vec![7u8, 8]),
        });
        let body: RaftOut<(), (), u8, ()> = RaftOut::Peer(Peer::Raft(PeerBatch {
            msgs: vec![
                Message::Append(Append {
                    term: 2,
                    prev_index: 4,
                    prev_term: 1,
                    entries,
                    commit: 3,
                    round: 9,
                }),
                Message::VoteResponse(VoteResponse {
                    term: 2,
                    granted: true,
                }),
            ],
            hears: Some(0b101),
            to: Some("n2".into()),
            from: None,
        }));
        let v = serde_json::to_value(&body).expect("serializes");
        assert_eq!(
            v,
            json!({"type": "raft", "msgs": [
                {"append": {"term": 2, "prev_index": 4, "prev_term": 1, "commit": 3, "round": 9,
                            "entries": [{"term": 2, "index": 5, "payload": {"command": [7, 8]}}]}},
                {"vote_response": {"term": 2, "granted": true}}
            ], "hears": 5, "to": "n2"})
        );
        let RaftOut::Peer(sent) = body else {
            unreachable!("built above")
        };
        assert_eq!(serde_json::from_value::<Peer<u8, ()>>(v).ok(), Some(sent));
    }
}
