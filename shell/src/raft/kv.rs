//! The `lin-kv` program's state machine: a map of keys to values with Maelstrom's `read`,
//! `write` and `cas` and its error codes (20 key-does-not-exist, 22 precondition-failed).
//!
//! Writes and compare-and-sets are commands of the log; reads are served from the
//! leader's map at a ReadIndex point, without a log entry. Keys and values are any JSON
//! (the workload sends integers); a key is kept under its JSON text.

use std::collections::BTreeMap;

use glomers_node::{ErrorBody, ErrorCode};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::service::{Inbound, Request, Service};
use super::wire::{Forwarded, PeerBatch};

/// Every body a lin-kv node accepts; also the body of a forwarded request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum KvIn {
    /// Read `key`: `read_ok` with its value, or error 20.
    Read {
        /// The key.
        key: Value,
        /// Set on a forward.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        forwarded: Option<Forwarded>,
    },
    /// Write `value` under `key`: `write_ok`.
    Write {
        /// The key.
        key: Value,
        /// The value.
        value: Value,
        /// Set on a forward.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        forwarded: Option<Forwarded>,
    },
    /// Set `key` to `to` if it holds `from`: `cas_ok`, or error 22 (20 if it is missing and
    /// `create_if_not_exists` is not set).
    Cas {
        /// The key.
        key: Value,
        /// The expected value.
        from: Value,
        /// The new value.
        to: Value,
        /// Create a missing key with `to`.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        create_if_not_exists: bool,
        /// Set on a forward.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        forwarded: Option<Forwarded>,
    },
    /// Raft messages from a peer.
    Raft(PeerBatch<KvCommand, KvSnapshot>),
}

/// A command of the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum KvCommand {
    /// Write `value` under `key`.
    Write {
        /// The key.
        key: Value,
        /// The value.
        value: Value,
    },
    /// Compare-and-set.
    Cas {
        /// The key.
        key: Value,
        /// The expected value.
        from: Value,
        /// The new value.
        to: Value,
        /// Create a missing key with `to`.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        create_if_not_exists: bool,
    },
}

/// A reply.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum KvReply {
    /// The value read.
    ReadOk {
        /// The value.
        value: Value,
    },
    /// The write happened.
    WriteOk,
    /// The compare-and-set happened.
    CasOk,
}

/// The whole map, keys as their JSON text: what a snapshot holds.
pub type KvSnapshot = BTreeMap<String, Value>;

/// The replicated map (see the module documentation).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KvStore {
    map: KvSnapshot,
}

impl KvStore {
    /// The value of `key`, if any.
    pub fn get(&self, key: &Value) -> Option<&Value> {
        self.map.get(&key.to_string())
    }
}

impl Service for KvStore {
    type In = KvIn;
    type Read = Value;
    type Command = KvCommand;
    type Reply = KvReply;
    type Forward = KvIn;
    type Snapshot = KvSnapshot;

    fn inbound(body: KvIn) -> Inbound<Value, KvCommand, KvSnapshot> {
        let (request, forwarded) = match body {
            KvIn::Raft(batch) => return Inbound::Peer(batch),
            KvIn::Read { key, forwarded } => (Request::Read(key), forwarded),
            KvIn::Write {
                key,
                value,
                forwarded,
            } => (Request::Command(KvCommand::Write { key, value }), forwarded),
            KvIn::Cas {
                key,
                from,
                to,
                create_if_not_exists,
                forwarded,
            } => {
                let cas = KvCommand::Cas {
                    key,
                    from,
                    to,
                    create_if_not_exists,
                };
                (Request::Command(cas), forwarded)
            }
        };
        Inbound::Client { request, forwarded }
    }

    fn forward(request: &Request<Value, KvCommand>, forwarded: Forwarded) -> KvIn {
        let forwarded = Some(forwarded);
        match request.clone() {
            Request::Read(key) => KvIn::Read { key, forwarded },
            Request::Command(KvCommand::Write { key, value }) => KvIn::Write {
                key,
                value,
                forwarded,
            },
            Request::Command(KvCommand::Cas {
                key,
                from,
                to,
                create_if_not_exists,
            }) => KvIn::Cas {
                key,
                from,
                to,
                create_if_not_exists,
                forwarded,
            },
        }
    }

    fn read(&self, key: &Value) -> Result<KvReply, ErrorBody> {
        match self.get(key) {
            Some(value) => Ok(KvReply::ReadOk {
                value: value.clone(),
            }),
            None => Err(missing()),
        }
    }

    fn snapshot(&self) -> KvSnapshot {
        self.map.clone()
    }

    fn restore(map: KvSnapshot) -> Self {
        KvStore { map }
    }

    fn apply(&mut self, command: &KvCommand) -> Result<KvReply, ErrorBody> {
        match command {
            KvCommand::Write { key, value } => {
                self.map.insert(key.to_string(), value.clone());
                Ok(KvReply::WriteOk)
            }
            KvCommand::Cas {
                key,
                from,
                to,
                create_if_not_exists,
            } => {
                let slot = self.map.get_mut(&key.to_string());
                match slot {
                    Some(v) if v == from => *v = to.clone(),
                    Some(v) => {
                        let text = format!("expected {from}, found {v}");
                        return Err(ErrorBody::new(ErrorCode::PreconditionFailed, text));
                    }
                    None if *create_if_not_exists => {
                        self.map.insert(key.to_string(), to.clone());
                    }
                    None => return Err(missing()),
                }
                Ok(KvReply::CasOk)
            }
        }
    }
}

fn missing() -> ErrorBody {
    ErrorBody::new(ErrorCode::KeyDoesNotExist, "no such key")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cas(key: u64, from: u64, to: u64) -> KvCommand {
        KvCommand::Cas {
            key: json!(key),
            from: json!(from),
            to: json!(to),
            create_if_not_exists: false,
        }
    }

    fn code(r: Result<KvReply, ErrorBody>) -> Option<u64> {
        r.err().map(|e| e.code.code())
    }

    #[test]
    fn reads_writes_and_cas_answer_with_maelstrom_codes() {
        let mut kv = KvStore::default();
        assert_eq!(code(kv.read(&json!(1))), Some(20), "missing key");
        assert_eq!(
            code(kv.apply(&cas(1, 0, 1))),
            Some(20),
            "cas on a missing key"
        );
        let write = KvCommand::Write {
            key: json!(1),
            value: json!(3),
        };
        assert_eq!(kv.apply(&write), Ok(KvReply::WriteOk));
        assert_eq!(code(kv.apply(&cas(1, 4, 0))), Some(22), "wrong from");
        assert_eq!(kv.apply(&cas(1, 3, 4)), Ok(KvReply::CasOk));
        assert_eq!(kv.read(&json!(1)), Ok(KvReply::ReadOk { value: json!(4) }));
        let create = KvCommand::Cas {
            key: json!("k"),
            from: json!(0),
            to: json!(9),
            create_if_not_exists: true,
        };
        assert_eq!(kv.apply(&create), Ok(KvReply::CasOk));
        assert_eq!(kv.get(&json!("k")), Some(&json!(9)));
        assert_eq!(kv.get(&json!(2)), None, "keys are told apart by their JSON");
    }

    #[test]
    fn a_forward_is_the_request_again_with_its_budget() {
        let body: KvIn = serde_json::from_value(
            json!({"type": "cas", "msg_id": 4, "key": 1, "from": 2, "to": 3}),
        )
        .expect("a client's cas parses");
        let Inbound::Client { request, forwarded } = KvStore::inbound(body) else {
            panic!("a client request");
        };
        assert_eq!(
            (request.clone(), forwarded),
            (Request::Command(cas(1, 2, 3)), None)
        );
        let hop = Forwarded {
            budget_ms: 250,
            hops: 1,
        };
        let forward = serde_json::to_value(KvStore::forward(&request, hop)).expect("encodes");
        assert_eq!(
            forward,
            json!({"type": "cas", "key": 1, "from": 2, "to": 3, "forwarded": {"budget_ms": 250, "hops": 1}})
        );
        let again: KvIn = serde_json::from_value(forward).expect("parses");
        assert_eq!(
            KvStore::inbound(again),
            Inbound::Client {
                request,
                forwarded: Some(hop)
            }
        );
        let reply = serde_json::to_value(KvReply::ReadOk { value: json!(3) }).expect("encodes");
        assert_eq!(reply, json!({"type": "read_ok", "value": 3}));
    }
}
