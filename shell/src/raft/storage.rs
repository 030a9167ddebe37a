//! [`LogStore`]: Raft's persistent state in memory, every change also queued as a durable
//! write of the node contract, and rebuilt from what a driver recovered.
//!
//! Raft calls [`Storage`] during a call on the node; the store keeps the change in memory
//! (so reads see it at once) and queues it as a [`Write`]. The machine moves the queued
//! writes into its outbox in the same call, so the driver makes them durable before it
//! releases any message of that call: a vote, an acknowledgement or an applied entry never
//! leaves before what it rests on is on disk. Without a data directory
//! ([`Recovered::durable`] false) nothing is queued.
//!
//! On disk: the value [`HARD_STATE`] holds the term and vote (JSON), replaced whole; the
//! value [`SNAPSHOT`] the latest snapshot (the last index and term it covers, and the
//! service's whole state), replaced whole; the log [`LOG`] holds one JSON [`Record`] per
//! change after it, appended in order: an entry, or a truncation.
//!
//! A snapshot is written as the value, then a truncation just after its index, then the
//! entries kept after it again, and the records before that truncation are trimmed, so the
//! log holds about what Raft's log holds. Trimming keeps whole segments, and a crash may
//! keep records a trim dropped: recovery reads the snapshot, then replays every record kept
//! on top of it, skipping entries it covers. Replaying older records is harmless, since the
//! truncation written with the snapshot then drops whatever they left after its index.

use std::cell::RefCell;

use glomers_node::persist::{Recovered, Write};
use glomers_raft::{Entry, HardState, MemStorage, Snapshot, Storage};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The durable value holding the term and vote.
pub const HARD_STATE: &str = "raft-hard";
/// The durable log of [`Record`]s.
pub const LOG: &str = "raft-log";
/// The durable value holding the latest snapshot.
pub const SNAPSHOT: &str = "raft-snapshot";

/// One change of the log, as kept on disk.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Record<C> {
    /// An entry appended at its index (after the entries before it).
    Entry(Entry<C>),
    /// Every entry at this index or later dropped.
    Truncate(u64),
}

/// Why recovered state could not be read back. The node then refuses to take part (a node
/// that forgot its vote or its log could break Raft's safety).
#[derive(Debug, thiserror::Error)]
pub enum RecoverError {
    /// The hard state did not parse.
    #[error("hard state: {0}")]
    HardState(#[source] serde_json::Error),
    /// The snapshot did not parse.
    #[error("snapshot: {0}")]
    Snapshot(#[source] serde_json::Error),
    /// A log record did not parse.
    #[error("log record {index}: {source}")]
    Record {
        /// Its index in the durable log.
        index: u64,
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// A record's entry does not continue the log (a gap).
    #[error("log record {index}: entry {entry} after a log of {len} entries")]
    Gap {
        /// Its index in the durable log.
        index: u64,
        /// The entry's index.
        entry: u64,
        /// The log's length at that point.
        len: u64,
    },
}

/// A change could not be encoded for the disk.
#[derive(Debug, thiserror::Error)]
#[error("cannot encode a durable write: {0}")]
pub struct EncodeError(#[from] serde_json::Error);

/// Raft's [`Storage`]: the state in memory, each change queued as a durable write. `D` is
/// the service's snapshot.
#[derive(Clone, Debug)]
pub struct LogStore<C, D> {
    mem: MemStorage<C, D>,
    durable: bool,
    /// Index of the next record of [`LOG`].
    next: u64,
    /// Behind a cell so that the machine can take the writes through Raft's shared
    /// `storage()` borrow (Raft hands out no mutable one).
    queued: RefCell<Vec<Write>>,
}

impl<C, D> LogStore<C, D>
where
    C: Clone + Serialize + DeserializeOwned,
    D: Clone + Serialize + DeserializeOwned,
{
    /// The state `recovered` holds (empty on a first start): the snapshot, then the log's
    /// records on top of it; changes are queued as writes when `recovered.durable`.
    pub fn recover(recovered: &Recovered) -> Result<Self, RecoverError> {
        let mut mem = MemStorage::new();
        if let Some(bytes) = recovered.value(HARD_STATE) {
            let hard: HardState = serde_json::from_slice(bytes).map_err(RecoverError::HardState)?;
            let _ = mem.save_hard_state(hard);
        }
        if let Some(bytes) = recovered.value(SNAPSHOT) {
            let snapshot: Snapshot<D> =
                serde_json::from_slice(bytes).map_err(RecoverError::Snapshot)?;
            let _ = mem.install_snapshot(snapshot);
        }
        let (first, records) = recovered.log(LOG);
        for (offset, bytes) in records.iter().enumerate() {
            let index = first + offset as u64;
            let record: Record<C> = serde_json::from_slice(bytes)
                .map_err(|source| RecoverError::Record { index, source })?;
            replay(&mut mem, record, index)?;
        }
        Ok(LogStore {
            mem,
            durable: recovered.durable,
            next: first + records.len() as u64,
            queued: RefCell::new(Vec::new()),
        })
    }

    /// The writes queued since the last call, in order.
    pub fn take_writes(&self) -> Vec<Write> {
        self.queued.take()
    }

    /// The entries held, from `first_index()`.
    pub fn entries(&self) -> &[Entry<C>] {
        self.mem.entries()
    }

    fn queue_record(&mut self, record: &Record<C>) -> Result<(), EncodeError> {
        if self.durable {
            self.queued.get_mut().push(Write::Append {
                log: LOG.into(),
                record: serde_json::to_vec(record)?,
            });
            self.next += 1;
        }
        Ok(())
    }

    /// Queues `snapshot` as the value, then a truncation after it and the entries kept,
    /// and trims the records before (see the module documentation).
    fn queue_snapshot(&mut self, snapshot: &Snapshot<D>) -> Result<(), EncodeError> {
        if !self.durable {
            return Ok(());
        }
        self.queued.get_mut().push(Write::Put {
            name: SNAPSHOT.into(),
            value: serde_json::to_vec(snapshot)?,
        });
        let start = self.next;
        self.queue_record(&Record::Truncate(snapshot.index + 1))?;
        let kept: Vec<Entry<C>> = self.mem.entries().to_vec();
        for e in kept {
            self.queue_record(&Record::Entry(e))?;
        }
        self.queued.get_mut().push(Write::Trim {
            log: LOG.into(),
            before: start,
        });
        Ok(())
    }
}

/// Applies one recovered record to `mem`: an entry the snapshot covers is skipped.
fn replay<C: Clone, D: Clone>(
    mem: &mut MemStorage<C, D>,
    record: Record<C>,
    index: u64,
) -> Result<(), RecoverError> {
    match record {
        Record::Truncate(from) => {
            let _ = mem.truncate(from);
        }
        Record::Entry(entry) if entry.index < mem.first_index() => {}
        Record::Entry(entry) => {
            let len = mem.last_index();
            if entry.index > len + 1 {
                return Err(RecoverError::Gap {
                    index,
                    entry: entry.index,
                    len,
                });
            }
            let _ = mem.truncate(entry.index);
            let _ = mem.append(&[entry]);
        }
    }
    Ok(())
}

impl<C, D> Storage<C> for LogStore<C, D>
where
    C: Clone + Serialize + DeserializeOwned,
    D: Clone + Serialize + DeserializeOwned,
{
    type Error = EncodeError;
    type Snapshot = D;

    fn hard_state(&self) -> Result<HardState, Self::Error> {
        Ok(self.mem.hard_state().unwrap_or_default())
    }

    fn save_hard_state(&mut self, state: HardState) -> Result<(), Self::Error> {
        if self.durable {
            self.queued.get_mut().push(Write::Put {
                name: HARD_STATE.into(),
                value: serde_json::to_vec(&state)?,
            });
        }
        let _ = self.mem.save_hard_state(state);
        Ok(())
    }

    fn first_index(&self) -> u64 {
        self.mem.first_index()
    }

    fn last_index(&self) -> u64 {
        self.mem.last_index()
    }

    fn term(&self, index: u64) -> Result<Option<u64>, Self::Error> {
        Ok(self.mem.term(index).unwrap_or_default())
    }

    fn entry(&self, index: u64) -> Result<Option<Entry<C>>, Self::Error> {
        Ok(self.mem.entry(index).unwrap_or_default())
    }

    fn append(&mut self, entries: &[Entry<C>]) -> Result<(), Self::Error> {
        for e in entries {
            self.queue_record(&Record::Entry(e.clone()))?;
        }
        let _ = self.mem.append(entries);
        Ok(())
    }

    fn truncate(&mut self, from: u64) -> Result<(), Self::Error> {
        self.queue_record(&Record::Truncate(from))?;
        let _ = self.mem.truncate(from);
        Ok(())
    }

    fn snapshot(&self) -> Result<Option<Snapshot<D>>, Self::Error> {
        Ok(self.mem.snapshot().unwrap_or_default())
    }

    fn install_snapshot(&mut self, snapshot: Snapshot<D>) -> Result<(), Self::Error> {
        let _ = self.mem.install_snapshot(snapshot.clone());
        self.queue_snapshot(&snapshot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use glomers_raft::Payload;

    fn entry(index: u64, term: u64, cmd: &str) -> Entry<String> {
        Entry {
            term,
            index,
            payload: Payload::Command(cmd.into()),
        }
    }

    fn durable() -> Recovered {
        Recovered {
            durable: true,
            ..Recovered::default()
        }
    }

    #[test]
    fn what_the_writes_keep_rebuilds_the_same_state() {
        let mut disk = durable();
        let mut store: LogStore<String, u64> = LogStore::recover(&disk).expect("empty");
        let hard = HardState {
            term: 3,
            vote: Some(1),
        };
        store.save_hard_state(hard).expect("queued");
        store
            .append(&[entry(1, 1, "a"), entry(2, 1, "b"), entry(3, 2, "c")])
            .expect("queued");
        store.truncate(2).expect("queued");
        store.append(&[entry(2, 3, "d")]).expect("queued");
        disk.apply(store.take_writes());
        let again: LogStore<String, u64> = LogStore::recover(&disk).expect("recovers");
        assert_eq!(again.hard_state().ok(), Some(hard));
        assert_eq!(again.entries(), store.entries());
        assert_eq!(again.entries(), &[entry(1, 1, "a"), entry(2, 3, "d")]);
    }

    #[test]
    fn a_snapshot_replaces_the_records_behind_it_and_recovery_reads_it_then_the_log() {
        let mut disk = durable();
        let mut store: LogStore<String, u64> = LogStore::recover(&disk).expect("empty");
        store
            .append(&[entry(1, 1, "a"), entry(2, 1, "b"), entry(3, 2, "c")])
            .expect("queued");
        disk.apply(store.take_writes());
        let snapshot = Snapshot {
            index: 2,
            term: 1,
            data: 42,
        };
        store.install_snapshot(snapshot.clone()).expect("queued");
        store.append(&[entry(4, 2, "d")]).expect("queued");
        disk.apply(store.take_writes());
        let (first, records) = disk.log(LOG);
        assert_eq!(
            (first, records.len()),
            (3, 3),
            "truncation, entry 3, entry 4"
        );
        let again: LogStore<String, u64> = LogStore::recover(&disk).expect("recovers");
        assert_eq!(again.snapshot().ok().flatten(), Some(snapshot.clone()));
        assert_eq!(again.first_index(), 3);
        assert_eq!(again.term(2).ok().flatten(), Some(1));
        assert_eq!(again.entries(), &[entry(3, 2, "c"), entry(4, 2, "d")]);

        // A trim that kept the older records (whole segments, or a crash) changes nothing;
        // and a snapshot that drops a conflicting log leaves no stale entry behind it.
        let mut kept = durable();
        kept.apply([Write::Put {
            name: SNAPSHOT.into(),
            value: serde_json::to_vec(&snapshot).expect("encodes"),
        }]);
        let records = [
            Record::Entry(entry(1, 1, "a")),
            Record::Entry(entry(2, 1, "b")),
            Record::Entry(entry(3, 1, "x")),
            Record::Truncate(3),
        ];
        kept.apply(records.iter().map(|r| Write::Append {
            log: LOG.into(),
            record: serde_json::to_vec(r).expect("encodes"),
        }));
        let again: LogStore<String, u64> = LogStore::recover(&kept).expect("recovers");
        assert_eq!((again.first_index(), again.last_index()), (3, 2));
        assert!(again.entries().is_empty());
    }

    #[test]
    fn without_a_data_directory_nothing_is_queued() {
        let mut store: LogStore<String, u64> =
            LogStore::recover(&Recovered::ephemeral()).expect("empty");
        store.append(&[entry(1, 1, "a")]).expect("kept");
        store.save_hard_state(HardState::default()).expect("kept");
        assert!(store.take_writes().is_empty());
        assert_eq!(store.last_index(), 1, "the state is still kept in memory");
    }

    #[test]
    fn damaged_state_is_refused_not_guessed() {
        let mut disk = durable();
        disk.apply([Write::Put {
            name: HARD_STATE.into(),
            value: b"{\"term\":".to_vec(),
        }]);
        assert!(matches!(
            LogStore::<String, u64>::recover(&disk),
            Err(RecoverError::HardState(_))
        ));
        let mut disk = durable();
        let record = |r: &Record<String>| Write::Append {
            log: LOG.into(),
            record: serde_json::to_vec(r).expect("encodes"),
        };
        disk.apply([record(&Record::Entry(entry(1, 1, "a")))]);
        disk.apply([record(&Record::Entry(entry(3, 1, "c")))]);
        assert!(matches!(
            LogStore::<String, u64>::recover(&disk),
            Err(RecoverError::Gap {
                index: 1,
                entry: 3,
                len: 1
            })
        ));
        let mut disk = durable();
        disk.apply([Write::Put {
            name: SNAPSHOT.into(),
            value: b"{\"index\":3}".to_vec(),
        }]);
        assert!(matches!(
            LogStore::<String, u64>::recover(&disk),
            Err(RecoverError::Snapshot(_))
        ));
        let mut disk = durable();
        disk.apply([Write::Append {
            log: LOG.into(),
            record: b"[1,2".to_vec(),
        }]);
        assert!(matches!(
            LogStore::<String, u64>::recover(&disk),
            Err(RecoverError::Record { index: 0, .. })
        ));
    }
}
