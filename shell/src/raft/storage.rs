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
//! log [`LOG`] holds one JSON [`Record`] per change, appended in order: an entry, or a
//! truncation. Replaying the records in order rebuilds the log exactly. The log of records
//! only grows (Raft here keeps no snapshots, so the whole log is state).

use std::cell::RefCell;

use glomers_node::persist::{Recovered, Write};
use glomers_raft::{Entry, HardState, MemStorage, Storage};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The durable value holding the term and vote.
pub const HARD_STATE: &str = "raft-hard";
/// The durable log of [`Record`]s.
pub const LOG: &str = "raft-log";

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

/// Raft's [`Storage`]: the state in memory, each change queued as a durable write.
#[derive(Clone, Debug)]
pub struct LogStore<C> {
    mem: MemStorage<C>,
    durable: bool,
    /// Behind a cell so that the machine can take the writes through Raft's shared
    /// `storage()` borrow (Raft hands out no mutable one).
    queued: RefCell<Vec<Write>>,
}

impl<C: Clone + Serialize + DeserializeOwned> LogStore<C> {
    /// The state `recovered` holds (empty on a first start); changes are queued as
    /// writes when `recovered.durable`.
    pub fn recover(recovered: &Recovered) -> Result<Self, RecoverError> {
        let mut mem = MemStorage::new();
        if let Some(bytes) = recovered.value(HARD_STATE) {
            let hard: HardState = serde_json::from_slice(bytes).map_err(RecoverError::HardState)?;
            let _ = mem.save_hard_state(hard);
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
            queued: RefCell::new(Vec::new()),
        })
    }

    /// The writes queued since the last call, in order.
    pub fn take_writes(&self) -> Vec<Write> {
        self.queued.take()
    }

    /// The entries, from index 1.
    pub fn entries(&self) -> &[Entry<C>] {
        self.mem.entries()
    }

    fn queue_record(&mut self, record: &Record<C>) -> Result<(), EncodeError> {
        if self.durable {
            self.queued.get_mut().push(Write::Append {
                log: LOG.into(),
                record: serde_json::to_vec(record)?,
            });
        }
        Ok(())
    }
}

/// Applies one recovered record to `mem`.
fn replay<C: Clone>(
    mem: &mut MemStorage<C>,
    record: Record<C>,
    index: u64,
) -> Result<(), RecoverError> {
    match record {
        Record::Truncate(from) => {
            let _ = mem.truncate(from);
        }
        Record::Entry(entry) => {
            let len = mem.last_index();
            if entry.index == 0 || entry.index > len + 1 {
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

impl<C: Clone + Serialize + DeserializeOwned> Storage<C> for LogStore<C> {
    type Error = EncodeError;

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
        let mut store: LogStore<String> = LogStore::recover(&disk).expect("empty");
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
        let again: LogStore<String> = LogStore::recover(&disk).expect("recovers");
        assert_eq!(again.hard_state().ok(), Some(hard));
        assert_eq!(again.entries(), store.entries());
        assert_eq!(again.entries(), &[entry(1, 1, "a"), entry(2, 3, "d")]);
    }

    #[test]
    fn without_a_data_directory_nothing_is_queued() {
        let mut store: LogStore<String> =
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
            LogStore::<String>::recover(&disk),
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
            LogStore::<String>::recover(&disk),
            Err(RecoverError::Gap {
                index: 1,
                entry: 3,
                len: 1
            })
        ));
        let mut disk = durable();
        disk.apply([Write::Append {
            log: LOG.into(),
            record: b"[1,2".to_vec(),
        }]);
        assert!(matches!(
            LogStore::<String>::recover(&disk),
            Err(RecoverError::Record { index: 0, .. })
        ));
    }
}
