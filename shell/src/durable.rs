//! What the nodes share for keeping state across a kill: records encoded as JSON, read
//! back without ever panicking on what the disk holds, and node-life numbers.
//!
//! A node persists through the node contract ([`glomers_node::persist`]): it queues writes
//! in its [`Outbox`] in the same call as the reply that depends on them, and the driver
//! makes them durable before that reply leaves. At start it reads back what earlier lives
//! kept from [`Recovered`]. A record that does not decode (a file damaged or written by
//! another version) is logged and skipped: recovery never stops on one.
//!
//! Life numbers ([`life`]) tell a node's lives apart, so that peers can tell a restarted
//! node (which may have lost what it held in memory) from a late message of its previous
//! life: each life's number is above every earlier life's.

use glomers_node::{Outbox, Recovered, Start, Write};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// The durable value holding the node's latest life number.
pub const LIFE: &str = "life";

/// Why a record could not be read back.
#[derive(Debug, thiserror::Error)]
#[error("record {index} of {name}: {source}")]
pub struct BadRecord {
    /// The log or value the record came from.
    pub name: String,
    /// Its index in the log (0 for a value).
    pub index: u64,
    /// What was wrong with it.
    #[source]
    pub source: serde_json::Error,
}

/// Encodes `record` as JSON. Every record type of the nodes serialises (plain data, string
/// keys); should one ever fail, the failure is logged and an empty record returned, which
/// reads back as nothing.
pub fn encode<T: Serialize + ?Sized>(record: &T) -> Vec<u8> {
    serde_json::to_vec(record).unwrap_or_else(|error| {
        tracing::error!(%error, "record did not serialise; nothing kept");
        Vec::new()
    })
}

/// Decodes one record.
pub fn decode<T: DeserializeOwned>(name: &str, index: u64, bytes: &[u8]) -> Result<T, BadRecord> {
    serde_json::from_slice(bytes).map_err(|source| BadRecord {
        name: name.to_owned(),
        index,
        source,
    })
}

/// The records of `log` that decode, in order, with their indexes; the others are logged
/// and skipped.
pub fn records<'a, T: DeserializeOwned + 'a>(
    recovered: &'a Recovered,
    log: &'a str,
) -> impl Iterator<Item = (u64, T)> + 'a {
    let (first, all) = recovered.log(log);
    all.iter()
        .zip(first..)
        .filter_map(move |(bytes, index)| match decode(log, index, bytes) {
            Ok(r) => Some((index, r)),
            Err(error) => {
                tracing::warn!(%error, "durable record skipped");
                None
            }
        })
}

/// The value `name`, decoded; `None` when absent or unreadable (logged).
pub fn value<T: DeserializeOwned>(recovered: &Recovered, name: &str) -> Option<T> {
    let bytes = recovered.value(name)?;
    decode(name, 0, bytes)
        .map_err(|error| tracing::warn!(%error, "durable value skipped"))
        .ok()
}

/// The index one past the last record of `log`.
pub fn log_end(recovered: &Recovered, log: &str) -> u64 {
    let (first, all) = recovered.log(log);
    first + all.len() as u64
}

/// This life's number: the wall clock at start (Unix milliseconds), and above the
/// previous life's when one was kept (so a clock that went back, or two lives within one
/// millisecond, still give a larger number when the node keeps its state). Without a
/// data directory two lives started within the same millisecond share a number.
pub fn life(start: &Start<'_>) -> u64 {
    let previous: Option<u64> = value(start.recovered, LIFE);
    previous.map_or(start.unix_ms, |p| start.unix_ms.max(p.saturating_add(1)))
}

/// A node's log of records on its way to the data directory: the writes it queued and
/// has not yet handed to its driver, and this life's number until it is written. For
/// nodes whose logic collects writes apart from the outbox (the replicating nodes hand
/// them over after each call, see [`crate::replica::ReplicaNode::take_writes`]).
///
/// A journal may be folded into a snapshot ([`Journal::compact`]): the snapshot value replaces
/// every record written so far, which the log then drops, so the log does not grow for ever.
#[derive(Debug, Default)]
pub struct Journal {
    log: &'static str,
    durable: bool,
    /// This life's number, until it is written.
    life: Option<u64>,
    pending: Vec<Write>,
    /// Index of the next record of the log.
    next: u64,
    /// Records in the log since the last snapshot (or kept by earlier lives).
    since_snapshot: u64,
    /// Records in the last snapshot written in this life.
    snapshot_len: u64,
}

impl Journal {
    /// The journal of log `log` for node life `life`, and the records earlier lives kept
    /// in it, in order (those that decode).
    pub fn recover<T: DeserializeOwned>(
        recovered: &Recovered,
        log: &'static str,
        life: u64,
    ) -> (Self, Vec<T>) {
        let records: Vec<T> = records::<T>(recovered, log).map(|(_, r)| r).collect();
        let journal = Self {
            log,
            durable: recovered.durable,
            life: recovered.durable.then_some(life),
            pending: Vec::new(),
            next: log_end(recovered, log),
            since_snapshot: records.len() as u64,
            snapshot_len: 0,
        };
        (journal, records)
    }

    /// Whether the log is due to be folded into a snapshot: writes are kept, and the log
    /// holds at least `after` records and twice as many as the last snapshot (so the cost of
    /// a snapshot is spread over the records it replaces).
    pub fn snapshot_due(&self, after: u64) -> bool {
        self.durable && self.since_snapshot >= after.max(2 * self.snapshot_len)
    }

    /// Records written to the log since the last snapshot.
    pub fn since_snapshot(&self) -> u64 {
        self.since_snapshot
    }

    /// Writes the records `snapshot` as the value `name`, standing for every record written
    /// so far, and drops those records from the log. A crash between the two leaves both,
    /// which a reader that applies records idempotently does not mind.
    pub fn compact<T: Serialize>(&mut self, name: &str, snapshot: &[T]) {
        if !self.durable {
            return;
        }
        self.snapshot_len = snapshot.len() as u64;
        self.pending.push(Write::Put {
            name: name.to_owned(),
            value: encode(snapshot),
        });
        self.pending.push(Write::Trim {
            log: self.log.to_owned(),
            before: self.next,
        });
        self.since_snapshot = 0;
    }

    /// Queues `record` (nothing without a data directory).
    pub fn keep<T: Serialize>(&mut self, record: &T) {
        if self.durable {
            self.pending.push(Write::Append {
                log: self.log.to_owned(),
                record: encode(record),
            });
            self.next += 1;
            self.since_snapshot += 1;
        }
    }

    /// Moves the queued writes, this life's number first, into `writes`.
    pub fn take(&mut self, writes: &mut Vec<Write>) {
        if let Some(life) = self.life.take() {
            writes.push(Write::Put {
                name: LIFE.to_owned(),
                value: encode(&life),
            });
        }
        writes.append(&mut self.pending);
    }
}

/// Queues `write` in `out` (for nodes that collect their writes apart from the outbox).
pub fn queue<O>(out: &mut Outbox<O>, write: Write) {
    match write {
        Write::Append { log, record } => out.append(log, record),
        Write::Put { name, value } => out.put(name, value),
        Write::Trim { log, before } => out.trim(log, before),
    }
}

/// Queues the write of this life's number (call it in the machine's first call, before any
/// message that carries the number leaves).
pub fn keep_life<O>(life: u64, out: &mut Outbox<O>) {
    out.put(LIFE, encode(&life));
}

#[cfg(test)]
mod tests {
    use super::*;
    use glomers_node::{NodeInfo, Time, Write};

    fn start<'a>(info: &'a NodeInfo, recovered: &'a Recovered, unix_ms: u64) -> Start<'a> {
        Start {
            info,
            now: Time::ZERO,
            unix_ms,
            seed: 1,
            recovered,
        }
    }

    #[test]
    fn records_read_back_in_order_and_bad_ones_are_skipped() {
        let mut r = Recovered::default();
        r.apply([
            Write::Append {
                log: "l".into(),
                record: encode(&vec![1u64, 2]),
            },
            Write::Append {
                log: "l".into(),
                record: b"{not json".to_vec(),
            },
            Write::Append {
                log: "l".into(),
                record: encode(&vec![3u64]),
            },
            Write::Trim {
                log: "l".into(),
                before: 0,
            },
        ]);
        let got: Vec<(u64, Vec<u64>)> = records(&r, "l").collect();
        assert_eq!(got, vec![(0, vec![1, 2]), (2, vec![3])]);
        assert_eq!(log_end(&r, "l"), 3);
        assert!(records::<Vec<u64>>(&r, "none").next().is_none());
        let e = decode::<u64>("v", 0, b"x").expect_err("not JSON");
        assert!(e.to_string().contains("record 0 of v"), "{e}");
    }

    #[test]
    fn a_journal_reads_back_its_records_and_writes_the_life_once() {
        let mut disk = Recovered {
            durable: true,
            ..Recovered::default()
        };
        let (mut journal, none) = Journal::recover::<u64>(&disk, "j", 77);
        assert!(none.is_empty());
        journal.keep(&5u64);
        journal.keep(&6u64);
        let mut writes = Vec::new();
        journal.take(&mut writes);
        assert_eq!(writes.len(), 3, "the life, then the two records");
        disk.apply(writes);
        let (_, back) = Journal::recover::<u64>(&disk, "j", 78);
        assert_eq!(back, vec![5, 6]);
        assert_eq!(value::<u64>(&disk, LIFE), Some(77));
        let mut again = Vec::new();
        journal.take(&mut again);
        assert!(again.is_empty(), "the life is written once");
        let (mut nowhere, _) = Journal::recover::<u64>(&Recovered::ephemeral(), "j", 1);
        nowhere.keep(&1u64);
        nowhere.take(&mut again);
        assert!(again.is_empty(), "nothing without a data directory");
    }

    #[test]
    fn a_life_number_is_above_the_kept_one_even_when_the_clock_went_back() {
        let info = NodeInfo {
            id: "n0".into(),
            ids: vec!["n0".into()],
        };
        let fresh = Recovered::default();
        assert_eq!(life(&start(&info, &fresh, 5_000)), 5_000);
        let mut kept = Recovered::default();
        let mut out: Outbox<()> = Outbox::new();
        keep_life(9_000, &mut out);
        kept.apply(out.drain_writes());
        assert_eq!(life(&start(&info, &kept, 5_000)), 9_001, "clock behind");
        assert_eq!(life(&start(&info, &kept, 12_000)), 12_000, "clock ahead");
        let mut junk = Recovered::default();
        junk.values.insert(LIFE.into(), b"junk".to_vec());
        assert_eq!(
            life(&start(&info, &junk, 7)),
            7,
            "an unreadable value is ignored"
        );
    }
}
