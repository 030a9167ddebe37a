//! Message bodies of the kafka workload: the client RPCs of Maelstrom's `kafka` workload and
//! the node-to-node replication batch.
//!
//! Every type here maps one-to-one onto a JSON body. Reply schemas are closed on the
//! Maelstrom side, so replies carry exactly the documented fields (the runtime adds
//! `in_reply_to`); offsets are unsigned integers and never serialised as floats.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A log key. Maelstrom sends keys as short strings (`"0"`, `"1"`, ...): held inline, up
/// to 24 bytes, so decoding one allocates nothing and the log's key lookup compares the
/// bytes in its hash bucket instead of following a pointer to them.
pub type Key = compact_str::CompactString;

/// An offset inside one key's log. Offsets of one key are unique; they need not be dense.
pub type Offset = u64;

/// Every body a kafka node accepts, tagged by its `type` field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum KafkaRequest {
    /// Append `msg` to `key`; answered with [`KafkaReply::SendOk`].
    Send {
        /// The log to append to.
        key: Key,
        /// The message, any JSON value; stored and returned verbatim.
        msg: Value,
    },
    /// Read every key in `offsets` from the given offset on; answered with [`KafkaReply::PollOk`].
    Poll {
        /// Key to the first offset the client wants to see.
        offsets: BTreeMap<Key, Offset>,
    },
    /// Raise the committed offsets (max-merge); answered with [`KafkaReply::CommitOffsetsOk`].
    CommitOffsets {
        /// Key to the highest offset the client has processed.
        offsets: BTreeMap<Key, Offset>,
    },
    /// Read committed offsets; answered with [`KafkaReply::ListCommittedOffsetsOk`].
    ListCommittedOffsets {
        /// Keys asked about; unknown keys are left out of the answer.
        keys: Vec<Key>,
    },
    /// Node-to-node replication batch (never sent by clients, never answered directly).
    KafkaReplicate(ReplicateBatch),
}

/// Every reply body a kafka node produces, tagged by its `type` field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum KafkaReply {
    /// The offset assigned to a `send`.
    SendOk {
        /// Unique within the key; strictly greater than every offset this node assigned
        /// to the key before.
        offset: Offset,
    },
    /// The messages of a `poll`: per key, `[offset, msg]` pairs in increasing offset order,
    /// starting at the first existing offset at or above the requested one, without gaps
    /// in the final per-key order. Keys without messages are left out.
    PollOk {
        /// Key to `[offset, msg]` pairs.
        msgs: BTreeMap<Key, Vec<(Offset, Value)>>,
    },
    /// A `commit_offsets` took effect locally.
    CommitOffsetsOk,
    /// The committed offsets known to this node for the asked keys.
    ListCommittedOffsetsOk {
        /// Key to committed offset; keys without a committed offset are left out.
        offsets: BTreeMap<Key, Offset>,
    },
}

/// One replicated log entry: `[key, offset, msg]`, originally assigned by the sender.
pub type WireEntry = (Key, Offset, Value);

/// Per-key advertisement: `[key, watermark, committed offset or null, delivered, bound,
/// floor]`.
///
/// The watermark is the sender's promise "I will never assign an offset below this to
/// the key" (its next offset for the key). The last three are retention's (see
/// [`super::retention`]): every entry below `delivered` was returned by a completed poll,
/// the sender's clients need nothing below `bound`, and the sender dropped every entry
/// below `floor`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireMark(
    pub Key,
    pub Offset,
    pub Option<Offset>,
    pub Offset,
    pub Offset,
    pub Offset,
);

/// Watermarks and committed offsets that changed at the sender after version `since`,
/// up to and including version `version`.
///
/// Invariant (sender side): every entry the sender assigned with an offset below one of
/// these watermarks is among the sender's first `upto` origin entries, so a receiver that
/// holds those `upto` entries may rely on the watermarks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MarkBatch {
    /// Origin-log length the watermarks are valid for.
    pub upto: u64,
    /// Exclusive lower bound of the change versions carried.
    pub since: u64,
    /// Inclusive upper bound of the change versions carried (the sender's version counter).
    pub version: u64,
    /// The changed keys with their current watermark and committed offset.
    pub marks: Vec<WireMark>,
}

/// A replication batch from one node to one peer. Both directions of a pair of nodes
/// carry their acknowledgements in their own batches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplicateBatch {
    /// Index of `entries[0]` in the sender's origin log (the sequence of offsets it
    /// assigned itself, in assignment order).
    pub from: u64,
    /// Consecutive origin entries starting at `from`.
    pub entries: Vec<WireEntry>,
    /// Present only when `entries` reach the end of the sender's origin log at the time
    /// the batch was built.
    pub marks: Option<MarkBatch>,
    /// How many of the receiver's origin entries the sender holds (a contiguous prefix).
    pub ack_entries: u64,
    /// The receiver's change version up to which the sender has applied every mark.
    pub ack_version: u64,
    /// The sender's node life (see [`crate::replica::Replicator`]).
    #[serde(default)]
    pub life: u64,
    /// The receiver's life the acknowledgements refer to.
    #[serde(default)]
    pub ack_life: u64,
    /// The oldest index of its origin log the sender still keeps.
    #[serde(default)]
    pub base: u64,
    /// Positions in `entries`, in increasing order, of entries the sender no longer holds
    /// (below its retention floor): they carry no message and are not stored, only counted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gone: Vec<u32>,
}

impl ReplicateBatch {
    /// True when the batch carries data the receiver must acknowledge (entries or marks),
    /// false for a pure acknowledgement.
    pub fn carries_data(&self) -> bool {
        !self.entries.is_empty() || self.marks.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn requests_parse_from_maelstrom_bodies() {
        let send: KafkaRequest =
            serde_json::from_value(json!({"type":"send","key":"3","msg":7,"msg_id":4}))
                .expect("send parses");
        assert_eq!(
            send,
            KafkaRequest::Send {
                key: "3".into(),
                msg: json!(7)
            }
        );
        let poll: KafkaRequest =
            serde_json::from_value(json!({"type":"poll","offsets":{"3":10,"5":0}}))
                .expect("poll parses");
        let KafkaRequest::Poll { offsets } = poll else {
            panic!("not a poll: {poll:?}")
        };
        assert_eq!(offsets.get("3"), Some(&10));
        let list: KafkaRequest =
            serde_json::from_value(json!({"type":"list_committed_offsets","keys":["3"]}))
                .expect("list parses");
        assert_eq!(
            list,
            KafkaRequest::ListCommittedOffsets {
                keys: vec!["3".into()]
            }
        );
        assert!(
            serde_json::from_value::<KafkaRequest>(json!({"type":"poll","offsets":{"3":-1}}))
                .is_err()
        );
    }

    #[test]
    fn replies_have_the_closed_maelstrom_shape() {
        let mut msgs = BTreeMap::new();
        msgs.insert("3".into(), vec![(10, json!(6)), (11, json!(7))]);
        let poll_ok = serde_json::to_value(KafkaReply::PollOk { msgs }).expect("serialises");
        assert_eq!(
            poll_ok,
            json!({"type":"poll_ok","msgs":{"3":[[10,6],[11,7]]}})
        );
        assert_eq!(
            serde_json::to_value(KafkaReply::SendOk { offset: 12 }).expect("serialises"),
            json!({"type":"send_ok","offset":12})
        );
        assert_eq!(
            serde_json::to_value(KafkaReply::CommitOffsetsOk).expect("serialises"),
            json!({"type":"commit_offsets_ok"})
        );
    }

    #[test]
    fn replicate_batch_round_trips() {
        let batch = KafkaRequest::KafkaReplicate(ReplicateBatch {
            from: 3,
            entries: vec![("k".into(), 5, json!({"a":1}))],
            marks: Some(MarkBatch {
                upto: 4,
                since: 1,
                version: 2,
                marks: vec![WireMark("k".into(), 7, None, 0, 0, 0)],
            }),
            ack_entries: 9,
            ack_version: 2,
            life: 1_767_225_600_000,
            ack_life: 1_767_225_600_003,
            base: 1,
            gone: vec![0],
        });
        let text = serde_json::to_string(&batch).expect("serialises");
        let back: KafkaRequest = serde_json::from_str(&text).expect("parses");
        assert_eq!(back, batch);
    }
}
