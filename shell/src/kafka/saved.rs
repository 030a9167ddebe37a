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
//! - [`Record::Floor`]: retention dropped the key's entries below a floor
//!   ([`super::retention`]); a restarted node neither restores nor serves them again.
//!
//! Peers' entries and watermarks are not kept: a restarted node starts a new life, and its
//! peers, seeing it, send it everything they hold of their own again (see
//! [`crate::replica::Replicator`]); its own recovered entries go out again the same way.
//!
//! Each record is one small JSON object, one write per event, made durable by the driver
//! with one sync per batch of input. The log does not grow for ever: once it holds
//! [`COMPACT_AFTER`] records (or twice what a snapshot would, if more) the node writes
//! [`SNAPSHOT`], the records that still matter (its own entries above the floors, and per
//! key the next own offset, the commit and the floor), and the log drops everything before
//! it. With retention on, what still matters is what clients have not read yet.

use std::collections::BTreeMap;

use glomers_node::Recovered;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::durable::{self, Journal};

use super::wire::{Key, Offset};

/// The log of a kafka node's records.
pub const LOG: &str = "kafka";

/// The snapshot the log is folded into: the records that still matter, as one value.
pub const SNAPSHOT: &str = "kafka-snapshot";

/// Records in the log after which it is folded into the snapshot (or twice the snapshot's
/// records, if more: the cost of a snapshot is spread over the records it replaces).
pub const COMPACT_AFTER: u64 = 4096;

/// Reads back what earlier lives kept: the snapshot's records, then the log's.
pub fn recover(recovered: &Recovered, life: u64) -> (Journal, Vec<Record>) {
    let (journal, logged) = Journal::recover::<Record>(recovered, LOG, life);
    let mut records = durable::value::<Vec<Record>>(recovered, SNAPSHOT).unwrap_or_default();
    records.extend(logged);
    (journal, records)
}

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
    /// Retention dropped the key's entries below `floor`.
    Floor {
        /// The key.
        key: Key,
        /// The lowest offset still kept.
        floor: Offset,
    },
}

/// The highest floor of each key among `records`.
pub fn floors(records: &[Record]) -> BTreeMap<Key, Offset> {
    let mut floors = BTreeMap::new();
    for record in records {
        if let Record::Floor { key, floor } = record {
            let slot = floors.entry(key.clone()).or_insert(*floor);
            *slot = (*slot).max(*floor);
        }
    }
    floors
}

#[cfg(test)]
mod tests {
    use super::*;
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
