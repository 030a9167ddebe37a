//! What a Raft node puts on the wire besides its clients' replies: the batch of Raft
//! messages for one peer, and a forwarded request.
//!
//! Raft messages between nodes travel as one Maelstrom message per peer per flush, body
//! `{"type": "raft", "msgs": [...]}`: each element one [`glomers_raft::Message`] in serde's
//! external tagging (`{"append": {...}}`, `{"vote_response": {...}}`), whose log entries
//! carry a batch of the service's commands (`{"command": [...]}` or `"noop"`).

use glomers_raft::Message;
use serde::{Deserialize, Serialize};

/// The command of one log entry: every client command the leader gathered in one round.
pub type Batch<C> = Vec<C>;

/// The Raft messages of one flush to one peer.
pub type Msgs<C> = Vec<Message<Batch<C>>>;

/// A peer's batch of Raft messages, as a body (`type` `raft`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Peer<C> {
    /// Raft messages, in the order they were produced.
    Raft {
        /// The messages.
        msgs: Msgs<C>,
    },
}

/// Everything a Raft node sends: a reply to a client, a request forwarded to the leader on
/// its client's behalf, or a batch to a peer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum RaftOut<R, F, C> {
    /// A reply.
    Reply(R),
    /// A forwarded request (the client's body, with the time it has left).
    Forward(F),
    /// Raft messages to a peer.
    Peer(Peer<C>),
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
        let body: RaftOut<(), (), u8> = RaftOut::Peer(Peer::Raft {
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
        });
        let v = serde_json::to_value(&body).expect("serializes");
        assert_eq!(
            v,
            json!({"type": "raft", "msgs": [
                {"append": {"term": 2, "prev_index": 4, "prev_term": 1, "commit": 3, "round": 9,
                            "entries": [{"term": 2, "index": 5, "payload": {"command": [7, 8]}}]}},
                {"vote_response": {"term": 2, "granted": true}}
            ]})
        );
        let RaftOut::Peer(sent) = body else {
            unreachable!("built above")
        };
        assert_eq!(serde_json::from_value::<Peer<u8>>(v).ok(), Some(sent));
    }
}
