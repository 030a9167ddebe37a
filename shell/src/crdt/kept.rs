//! [`Kept`]: what a CRDT node keeps in its data directory, so that nothing it acknowledged
//! is lost by a kill, and the counter slot it counts in.
//!
//! - Value [`SLOT`]: the name of the node's own counter slot (see [`super::slots`]),
//!   written with the first update of a life that did not recover one. A node that
//!   recovers it goes on counting in it.
//! - Log [`LOG`]: one record per local update, the part of the state the update made (a
//!   counter's own slot, a set's new element), in the wire form, appended in the call that
//!   acknowledges the update, so the driver makes it durable before the `add_ok` leaves.
//! - Value [`SNAPSHOT`]: every [`SNAPSHOT_EVERY`] records the whole state is written and
//!   the log trimmed behind it, so the log never grows beyond that many records.
//!
//! At start the node joins the snapshot and every record into its state. Joins are
//! idempotent, so a record the snapshot already holds does no harm. What the node learnt
//! only from gossip is not written: its owner keeps it.

use glomers_node::{Outbox, Recovered};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::slots::node_of;
use crate::durable;

/// The value naming the own counter slot.
pub const SLOT: &str = "crdt-slot";
/// The log of local updates.
pub const LOG: &str = "crdt";
/// The value holding the whole state as of the last trim of [`LOG`].
pub const SNAPSHOT: &str = "crdt-snapshot";
/// Records between two snapshots.
pub const SNAPSHOT_EVERY: u64 = 256;

/// A node's writes of its CRDT state.
#[derive(Debug)]
pub struct Kept {
    /// Whether writes are kept at all.
    durable: bool,
    /// The own slot's name is on disk.
    slot_written: bool,
    /// The index of the next record of [`LOG`].
    end: u64,
    /// Records since the last snapshot.
    since_snapshot: u64,
}

/// What an earlier life kept: the own slot's name, and the state's parts in wire form
/// (the snapshot, then the records).
pub struct Recovery<W> {
    /// The own slot's name, when one was kept for node `me`.
    pub slot: Option<String>,
    /// The parts to join into the state.
    pub parts: Vec<W>,
}

impl Kept {
    /// The writer for node `me`, and what earlier lives kept.
    pub fn recover<W: DeserializeOwned>(recovered: &Recovered, me: &str) -> (Self, Recovery<W>) {
        let slot =
            durable::value::<String>(recovered, SLOT).filter(|name| node_of(name) == Some(me));
        let snapshot = durable::value::<W>(recovered, SNAPSHOT);
        let records = durable::records::<W>(recovered, LOG).map(|(_, r)| r);
        let parts: Vec<W> = snapshot.into_iter().chain(records).collect();
        let end = durable::log_end(recovered, LOG);
        let kept = Self {
            durable: recovered.durable,
            slot_written: slot.is_some(),
            end,
            since_snapshot: parts.len() as u64,
        };
        (kept, Recovery { slot, parts })
    }

    /// Whether writes are kept (a node may skip preparing them otherwise).
    pub fn durable(&self) -> bool {
        self.durable
    }

    /// Queues the record of an update, `part`, in `out`; the own slot's name `slot` with
    /// the first; the snapshot `whole()` and a trim when one is due. Nothing without a data
    /// directory.
    pub fn keep<O, W: Serialize>(
        &mut self,
        out: &mut Outbox<O>,
        slot: &str,
        part: &W,
        whole: impl FnOnce() -> W,
    ) {
        if !self.durable {
            return;
        }
        if !self.slot_written {
            out.put(SLOT, durable::encode(&slot));
            self.slot_written = true;
        }
        out.append(LOG, durable::encode(part));
        self.end += 1;
        self.since_snapshot += 1;
        if self.since_snapshot >= SNAPSHOT_EVERY {
            out.put(SNAPSHOT, durable::encode(&whole()));
            out.trim(LOG, self.end);
            self.since_snapshot = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_come_back_and_the_log_is_trimmed_behind_each_snapshot() {
        let mut disk = Recovered {
            durable: true,
            ..Recovered::default()
        };
        let (mut kept, none) = Kept::recover::<Vec<u64>>(&disk, "n1");
        assert!(none.slot.is_none() && none.parts.is_empty());
        let mut out: Outbox<()> = Outbox::new();
        let mut all = Vec::new();
        for x in 0..SNAPSHOT_EVERY + 3 {
            all.push(x);
            let whole = all.clone();
            kept.keep(&mut out, "n1.5", &vec![x], move || whole);
        }
        disk.apply(out.drain_writes());
        let (_, back) = Kept::recover::<Vec<u64>>(&disk, "n1");
        assert_eq!(back.slot.as_deref(), Some("n1.5"));
        assert_eq!(
            back.parts.len(),
            4,
            "the snapshot and the three records after it"
        );
        let joined: Vec<u64> = back.parts.concat();
        assert_eq!(joined.len(), all.len());
        assert_eq!(disk.log(LOG).1.len(), 3, "trimmed");
        let (_, other) = Kept::recover::<Vec<u64>>(&disk, "n2");
        assert_eq!(other.slot, None, "another node's slot is not ours");
        let (mut nowhere, _) = Kept::recover::<Vec<u64>>(&Recovered::ephemeral(), "n1");
        nowhere.keep(&mut out, "n1.5", &vec![1], Vec::new);
        assert!(out.writes().is_empty(), "nothing without a data directory");
    }
}
