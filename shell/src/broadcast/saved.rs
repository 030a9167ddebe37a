//! What a broadcast node keeps across a kill: every value it knows.
//!
//! The values a call learned (from a client, a peer or a repair) go into one record of the
//! log [`LOG`], queued in the same call as the `broadcast_ok` that acknowledges any of
//! them, so an acknowledged value is on disk before its acknowledgement leaves (one write
//! per call, not per value). Values learned from peers are kept too: a restarted node then
//! answers reads with what it held, and anti-entropy only has to bring it what it missed
//! while it was down. Every [`COMPACT_AFTER`] records the whole set is written as one value
//! ([`SNAPSHOT`], as ranges: a node that knows nearly everything is a handful of them) and
//! the log is trimmed, so the log does not grow for ever; the set itself grows with the
//! values broadcast, as `read` must return them all.
//!
//! Without a data directory ([`glomers_node::Recovered::durable`] false) nothing is
//! prepared and a restarted node starts empty.

use glomers_node::{Outbox, Recovered};

use super::store::ValueStore;
use crate::durable;

/// The log of values learned, one record (a JSON array of values) per call that learned
/// any.
pub const LOG: &str = "broadcast-values";

/// The snapshot of every value known, as inclusive `[lo, hi]` ranges.
pub const SNAPSHOT: &str = "broadcast-snapshot";

/// Records after which the log is folded into the snapshot.
pub const COMPACT_AFTER: u64 = 1024;

/// The values learned since the last write, and where the log stands.
#[derive(Debug, Default)]
pub struct Saved {
    durable: bool,
    unsaved: Vec<u64>,
    /// Index of the next record of [`LOG`].
    next_index: u64,
    /// Records written since the snapshot.
    since_snapshot: u64,
}

impl Saved {
    /// Reads back what earlier lives kept: the bookkeeping, and every value.
    pub fn recover(recovered: &Recovered) -> (Self, Vec<u64>) {
        let mut values = Vec::new();
        if let Some(ranges) = durable::value::<Vec<(u64, u64)>>(recovered, SNAPSHOT) {
            for (lo, hi) in ranges.into_iter().filter(|(lo, hi)| lo <= hi) {
                values.extend(lo..=hi);
            }
        }
        let mut records = 0;
        for (_, batch) in durable::records::<Vec<u64>>(recovered, LOG) {
            values.extend(batch);
            records += 1;
        }
        let saved = Self {
            durable: recovered.durable,
            unsaved: Vec::new(),
            next_index: durable::log_end(recovered, LOG),
            since_snapshot: records,
        };
        (saved, values)
    }

    /// Notes a value learned in this call.
    pub fn learned(&mut self, v: u64) {
        if self.durable {
            self.unsaved.push(v);
        }
    }

    /// Queues the values learned in this call as one record, and folds the log into the
    /// snapshot when it is due.
    pub fn write<O>(&mut self, store: &ValueStore, out: &mut Outbox<O>) {
        if self.unsaved.is_empty() {
            return;
        }
        out.append(LOG, durable::encode(&self.unsaved));
        self.unsaved.clear();
        self.next_index += 1;
        self.since_snapshot += 1;
        if self.since_snapshot >= COMPACT_AFTER {
            let ranges = store.ranges_held(0, 0).into_wire();
            out.put(SNAPSHOT, durable::encode(&ranges));
            out.trim(LOG, self.next_index);
            self.since_snapshot = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn durable_disk() -> Recovered {
        Recovered {
            durable: true,
            ..Recovered::default()
        }
    }

    #[test]
    fn values_survive_a_restart_through_the_log_and_the_snapshot() {
        let mut disk = durable_disk();
        let (mut saved, none) = Saved::recover(&disk);
        assert!(none.is_empty());
        let mut store = ValueStore::new();
        let mut out: Outbox<()> = Outbox::new();
        for v in 0..(COMPACT_AFTER + 10) {
            store.insert(v, 0);
            saved.learned(v);
            saved.write(&store, &mut out);
        }
        saved.write(&store, &mut out);
        let writes: Vec<_> = out.drain_writes().collect();
        assert_eq!(
            writes.len() as u64,
            COMPACT_AFTER + 10 + 2,
            "one record per call, one snapshot and one trim"
        );
        disk.apply(writes);
        assert_eq!(disk.log(LOG).1.len(), 10, "the log was folded once");
        let (again, mut values) = Saved::recover(&disk);
        values.sort_unstable();
        assert_eq!(values, (0..COMPACT_AFTER + 10).collect::<Vec<_>>());
        assert_eq!(again.next_index, COMPACT_AFTER + 10);
        assert_eq!(again.since_snapshot, 10);
    }

    #[test]
    fn nothing_is_prepared_without_a_data_directory() {
        let (mut saved, _) = Saved::recover(&Recovered::ephemeral());
        let mut store = ValueStore::new();
        store.insert(1, 0);
        saved.learned(1);
        let mut out: Outbox<()> = Outbox::new();
        saved.write(&store, &mut out);
        assert!(out.writes().is_empty());
    }
}
