//! The `txn-list-append` program's state machine: lists of integers per integer key, and
//! transactions of reads and appends, strict serializable.
//!
//! A transaction with an append is one command of the log: every node applies it, whole,
//! at its place in the log, and the leader answers with the reads its own application
//! made. A read-only transaction takes no log entry: the leader serves it from its state
//! once a ReadIndex round confirms it (see the crate's `docs/txn-list-append.md` for why
//! both are strict serializable).
//!
//! Wire form (Maelstrom's): `{"type": "txn", "txn": [["r", 1, null], ["append", 1, 6]]}`,
//! answered `{"type": "txn_ok", "txn": [["r", 1, [3, 4]], ["append", 1, 6]]}`; a key never
//! appended to reads `null`.

use std::collections::BTreeMap;

use glomers_node::ErrorBody;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::service::{Inbound, Request, Service};
use super::wire::{Forwarded, PeerBatch};

/// A list's key.
pub type ListKey = i64;
/// An element appended to a list.
pub type Element = i64;

/// One micro-operation: `["r", k, v]` or `["append", k, e]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MicroOp {
    /// Read the list of `key`; `value` is what was read (`None`: never appended to).
    Read {
        /// The key.
        key: ListKey,
        /// The list read.
        value: Option<Vec<Element>>,
    },
    /// Append `element` to the list of `key`.
    Append {
        /// The key.
        key: ListKey,
        /// The element.
        element: Element,
    },
}

impl Serialize for MicroOp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            MicroOp::Read { key, value } => ("r", key, value).serialize(s),
            MicroOp::Append { key, element } => ("append", key, element).serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for MicroOp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (f, key, v): (String, ListKey, Value) = Deserialize::deserialize(d)?;
        match f.as_str() {
            "r" => {
                let value = serde_json::from_value(v).map_err(D::Error::custom)?;
                Ok(MicroOp::Read { key, value })
            }
            "append" => match v.as_i64() {
                Some(element) => Ok(MicroOp::Append { key, element }),
                None => Err(D::Error::custom("an appended element is an integer")),
            },
            other => Err(D::Error::custom(format!("unknown micro-op {other:?}"))),
        }
    }
}

/// A transaction: micro-operations applied in order, as one atomic step.
pub type Txn = Vec<MicroOp>;

/// Every body a txn-list-append node accepts; also the body of a forwarded request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ListIn {
    /// A transaction: `txn_ok` with the reads filled in.
    Txn {
        /// The micro-operations.
        txn: Txn,
        /// Set on a forward.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        forwarded: Option<Forwarded>,
    },
    /// Raft messages from a peer.
    Raft(PeerBatch<Txn, ListSnapshot>),
}

/// A reply.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ListReply {
    /// The transaction happened: its micro-operations with what the reads saw.
    TxnOk {
        /// The completed micro-operations, in request order.
        txn: Txn,
    },
}

/// Every list with its key, in key order: what a snapshot holds. (Each transaction is
/// applied once, at its place in the log, and its answer comes from that application: the
/// lists are the whole state.) Pairs rather than a map: a JSON object's keys are strings,
/// which a body parsed through a `serde_json::Value` does not turn back into integers.
pub type ListSnapshot = Vec<(ListKey, Vec<Element>)>;

/// The replicated lists (see the module documentation).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListStore {
    lists: BTreeMap<ListKey, Vec<Element>>,
}

impl ListStore {
    /// The list of `key`, if it was ever appended to.
    pub fn get(&self, key: ListKey) -> Option<&[Element]> {
        self.lists.get(&key).map(Vec::as_slice)
    }

    /// Runs `txn` in order, appending as it goes; returns it with its reads filled in.
    fn run(&mut self, txn: &Txn) -> Txn {
        txn.iter()
            .map(|op| match op {
                MicroOp::Read { key, .. } => MicroOp::Read {
                    key: *key,
                    value: self.lists.get(key).cloned(),
                },
                MicroOp::Append { key, element } => {
                    self.lists.entry(*key).or_default().push(*element);
                    op.clone()
                }
            })
            .collect()
    }
}

impl Service for ListStore {
    type In = ListIn;
    type Read = Txn;
    type Command = Txn;
    type Reply = ListReply;
    type Forward = ListIn;
    type Snapshot = ListSnapshot;

    fn inbound(body: ListIn) -> Inbound<Txn, Txn, ListSnapshot> {
        match body {
            ListIn::Raft(batch) => Inbound::Peer(batch),
            ListIn::Txn { txn, forwarded } => {
                let read_only = txn.iter().all(|op| matches!(op, MicroOp::Read { .. }));
                let request = if read_only {
                    Request::Read(txn)
                } else {
                    Request::Command(txn)
                };
                Inbound::Client { request, forwarded }
            }
        }
    }

    fn forward(request: &Request<Txn, Txn>, forwarded: Forwarded) -> ListIn {
        let (Request::Read(txn) | Request::Command(txn)) = request;
        ListIn::Txn {
            txn: txn.clone(),
            forwarded: Some(forwarded),
        }
    }

    fn read(&self, txn: &Txn) -> Result<ListReply, ErrorBody> {
        let txn = txn
            .iter()
            .map(|op| match op {
                MicroOp::Read { key, .. } => MicroOp::Read {
                    key: *key,
                    value: self.lists.get(key).cloned(),
                },
                other => other.clone(),
            })
            .collect();
        Ok(ListReply::TxnOk { txn })
    }

    fn snapshot(&self) -> ListSnapshot {
        self.lists.iter().map(|(k, l)| (*k, l.clone())).collect()
    }

    fn restore(lists: ListSnapshot) -> Self {
        ListStore {
            lists: lists.into_iter().collect(),
        }
    }

    fn apply(&mut self, txn: &Txn) -> Result<ListReply, ErrorBody> {
        Ok(ListReply::TxnOk { txn: self.run(txn) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_transaction_reads_its_own_appends_and_leaves_them_for_the_next() {
        let body: ListIn = serde_json::from_value(json!({
            "type": "txn", "msg_id": 1,
            "txn": [["r", 1, null], ["append", 1, 5], ["r", 1, null], ["append", 2, 6]]
        }))
        .expect("parses");
        let Inbound::Client {
            request: Request::Command(txn),
            forwarded: None,
        } = ListStore::inbound(body)
        else {
            panic!("a transaction with appends is a command");
        };
        let mut lists = ListStore::default();
        let reply = serde_json::to_value(lists.apply(&txn).expect("applies")).expect("encodes");
        assert_eq!(
            reply,
            json!({"type": "txn_ok", "txn": [["r", 1, null], ["append", 1, 5], ["r", 1, [5]], ["append", 2, 6]]})
        );
        let reads = vec![
            MicroOp::Read {
                key: 1,
                value: None,
            },
            MicroOp::Read {
                key: 3,
                value: None,
            },
        ];
        let ListReply::TxnOk { txn } = lists.read(&reads).expect("reads");
        assert_eq!(
            txn,
            [
                MicroOp::Read {
                    key: 1,
                    value: Some(vec![5])
                },
                MicroOp::Read {
                    key: 3,
                    value: None
                }
            ]
        );
        assert_eq!(lists.get(2), Some(&[6][..]));
    }

    #[test]
    fn a_snapshot_crosses_the_wire_as_the_body_parser_reads_it() {
        let mut lists = ListStore::default();
        let txn = vec![
            MicroOp::Append { key: 3, element: 1 },
            MicroOp::Append {
                key: -2,
                element: 7,
            },
            MicroOp::Append { key: 3, element: 2 },
        ];
        lists.apply(&txn).expect("applies");
        let snapshot = glomers_raft::Snapshot {
            index: 9,
            term: 2,
            data: lists.snapshot(),
        };
        let batch = PeerBatch {
            msgs: vec![glomers_raft::Message::Snapshot(
                glomers_raft::InstallSnapshot {
                    term: 2,
                    snapshot,
                    round: 4,
                },
            )],
            hears: None,
            to: None,
            from: None,
        };
        // A body reaches the node as a JSON value first, then its type.
        let value = serde_json::to_value(ListIn::Raft(batch)).expect("encodes");
        let Ok(ListIn::Raft(back)) = serde_json::from_value::<ListIn>(value) else {
            panic!("a snapshot body parses back");
        };
        let Some(glomers_raft::Message::Snapshot(m)) = back.msgs.into_iter().next() else {
            panic!("the snapshot message");
        };
        assert_eq!(ListStore::restore(m.snapshot.data), lists);
        assert_eq!(lists.get(3), Some(&[1, 2][..]));
    }

    #[test]
    fn read_only_transactions_are_reads_and_bad_micro_ops_are_refused() {
        let body: ListIn = serde_json::from_value(json!({"type": "txn", "txn": [["r", 1, null]]}))
            .expect("parses");
        assert!(matches!(
            ListStore::inbound(body),
            Inbound::Client {
                request: Request::Read(_),
                ..
            }
        ));
        for bad in [
            json!({"type": "txn", "txn": [["w", 1, 2]]}),
            json!({"type": "txn", "txn": [["append", 1, null]]}),
            json!({"type": "txn", "txn": [["append", "k", 1]]}),
            json!({"type": "txn", "txn": [["r", 1]]}),
        ] {
            assert!(
                serde_json::from_value::<ListIn>(bad.clone()).is_err(),
                "{bad}"
            );
        }
        let forward = ListStore::forward(
            &Request::Read(vec![MicroOp::Read {
                key: 2,
                value: None,
            }]),
            Forwarded {
                budget_ms: 9,
                hops: 2,
            },
        );
        assert_eq!(
            serde_json::to_value(forward).expect("encodes"),
            json!({"type": "txn", "txn": [["r", 2, null]], "forwarded": {"budget_ms": 9, "hops": 2}})
        );
    }
}
