//! What a kafka node keeps across a kill, and why that is enough.
//!
//! The log [`LOG`] holds one record per event that an acknowledgement or a promise rests
//! on, queued in the call that makes it, so it is on disk before the reply or the batch
//! that depends on it leaves:
//! - [`Record::Own`]: a message this node assigned an offset to (before its `send_ok`);
//! - [`Record::Commit`]: a committed offset raised by a client (before its
//!   `commit_offsets_ok`);
//! - [`Record::Bump`]: the key's next own offset raised past a peer's entry. The next own
//!   offset is the watermark the node promises its peers ("I will never assign below it");
//!   it is otherwise derived from the own entries, so a restarted node never assigns an
//!   offset below a watermark it advertised.
//!
//! Peers' entries and watermarks are not kept: a restarted node starts a new life, and its
//! peers, seeing it, send it everything they hold of their own again (see
//! [`crate::replica::Replicator`]); its own recovered entries go out again the same way.
//!
//! Retention: none of the messages. The workload's final phase assigns every key with
//! seek-to-beginning and polls it from offset 0 up to the highest offset seen, so a node
//! that dropped a prefix of a key (even one below its committed offset: the final
//! consumers do not resume from it) would make every dropped, acknowledged message look
//! lost to the checker. The log therefore grows with the acknowledged messages, as the
//! in-memory [`glomers_offset_log::OffsetLog`] does; a deployment that may forget consumed
//! messages can plug a policy into the offset log's retention hook
//! ([`glomers_offset_log::RetentionPolicy`], e.g. below each key's committed offset) and
//! trim this log behind it. Each record is one small JSON object, one write per event,
//! made durable by the driver with one sync per batch of input.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::wire::{Key, Offset};

/// The log of a kafka node's records.
pub const LOG: &str = "kafka";

/// One event a kafka node keeps.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum Record {
    /// A message this node assigned `offset` to.
    Own {
        /// The key.
        key: Key,
        /// The offset.
        offset: Offset,
        /// The message.
        msg: Value,
    },
    /// The key's next own offset was raised to `next`.
    Bump {
        /// The key.
        key: Key,
        /// The new next own offset.
        next: Offset,
    },
    /// A client committed `offset` for `key`.
    Commit {
        /// The key.
        key: Key,
        /// The committed offset.
        offset: Offset,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::durable::Journal;
    use glomers_node::Recovered;
    use serde_json::json;

    #[test]
    fn records_read_back_in_order() {
        let mut disk = Recovered {
            durable: true,
            ..Recovered::default()
        };
        let (mut journal, none) = Journal::recover::<Record>(&disk, LOG, 1);
        assert!(none.is_empty());
        let records = [
            Record::Own {
                key: Key::from("k"),
                offset: 4,
                msg: json!({"any": [1, "json"]}),
            },
            Record::Bump {
                key: Key::from("k"),
                next: 8,
            },
            Record::Commit {
                key: Key::from("k"),
                offset: 4,
            },
        ];
        for r in &records {
            journal.keep(r);
        }
        let mut writes = Vec::new();
        journal.take(&mut writes);
        disk.apply(writes);
        let (_, back) = Journal::recover::<Record>(&disk, LOG, 2);
        assert_eq!(back, records);
    }
}
