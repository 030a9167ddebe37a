//! What a machine keeps across a crash: the writes it asks its driver to make durable
//! ([`Write`], queued through [`crate::Outbox`]), and what the driver recovered at start
//! ([`Recovered`], handed to the factory in [`crate::Start`]).
//!
//! A machine never does I/O. When it must not lose something (an acknowledged write, a
//! vote), it queues a [`Write`] in the same call that queues the reply; the driver makes
//! every write of a batch of input durable (one sync: group commit) before it releases any
//! message of that batch. So a reply is never seen before what it acknowledges is on disk.
//! Where there is nowhere to keep them (no data directory: a node under plain Maelstrom), the
//! driver drops the writes and the node runs from memory, as before.
//!
//! Storage is two kinds of named things: append-only logs of records (with their front
//! trimmed for retention), and small values replaced whole.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

/// One write a machine asks its driver to make durable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Write {
    /// Append `record` to the log named `log` (its next index; a log starts at 0).
    Append {
        /// The log (a plain name: letters, digits, `-`, `_`, `.`).
        log: String,
        /// The record.
        record: Vec<u8>,
    },
    /// Replace the value named `name` with `value`.
    Put {
        /// The value's name (a plain name, as for logs).
        name: String,
        /// The new value.
        value: Vec<u8>,
    },
    /// Drop the records of `log` below index `before` (they may be kept until a whole
    /// segment can go).
    Trim {
        /// The log.
        log: String,
        /// The first index to keep.
        before: u64,
    },
}

/// What a driver recovered for a machine at start. Empty for a node that starts afresh
/// (or that has nowhere to keep its state).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recovered {
    /// Whether writes are kept: a data directory exists. When `false` the driver drops
    /// every [`Write`], and a machine may skip preparing them.
    pub durable: bool,
    /// Each log's records still kept, in order, with the index of the first.
    pub logs: BTreeMap<String, (u64, Vec<Vec<u8>>)>,
    /// Each value.
    pub values: BTreeMap<String, Vec<u8>>,
}

impl Recovered {
    /// Recovered state that keeps nothing (no data directory).
    pub fn ephemeral() -> Self {
        Self::default()
    }

    /// The records of `log` (and the index of the first), empty when there are none.
    pub fn log(&self, log: &str) -> (u64, &[Vec<u8>]) {
        self.logs.get(log).map_or((0, &[][..]), |(first, records)| {
            (*first, records.as_slice())
        })
    }

    /// The value `name`, if any.
    pub fn value(&self, name: &str) -> Option<&[u8]> {
        self.values.get(name).map(Vec::as_slice)
    }

    /// Applies `writes` as a driver's storage would (an in-memory store: the simulator's).
    pub fn apply(&mut self, writes: impl IntoIterator<Item = Write>) {
        for w in writes {
            match w {
                Write::Append { log, record } => self.logs.entry(log).or_default().1.push(record),
                Write::Put { name, value } => {
                    self.values.insert(name, value);
                }
                Write::Trim { log, before } => {
                    if let Some((first, records)) = self.logs.get_mut(&log) {
                        let drop =
                            usize::try_from(before.saturating_sub(*first)).unwrap_or(usize::MAX);
                        let drop = drop.min(records.len());
                        records.drain(..drop);
                        *first += drop as u64;
                    }
                }
            }
        }
    }
}

/// Whether `name` may name a log or a value: a plain file name of letters, digits, `-`,
/// `_` and `.`, not empty, not starting with `.`, at most 64 bytes.
pub fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn applying_writes_appends_replaces_and_trims() {
        let mut r = Recovered::default();
        let app = |x: u8| Write::Append {
            log: "l".into(),
            record: vec![x],
        };
        r.apply([
            app(1),
            app(2),
            app(3),
            Write::Put {
                name: "v".into(),
                value: vec![9],
            },
        ]);
        r.apply([
            Write::Trim {
                log: "l".into(),
                before: 2,
            },
            app(4),
            Write::Put {
                name: "v".into(),
                value: vec![8],
            },
        ]);
        assert_eq!(r.log("l"), (2, &[vec![3], vec![4]][..]));
        assert_eq!(r.value("v"), Some(&[8][..]));
        r.apply([
            Write::Trim {
                log: "l".into(),
                before: 99,
            },
            Write::Trim {
                log: "none".into(),
                before: 1,
            },
        ]);
        assert_eq!(r.log("l"), (4, &[][..]));
        assert_eq!(r.log("none"), (0, &[][..]));
    }

    #[test]
    fn only_plain_names_are_names() {
        for ok in ["kafka-log", "commits", "v1.bin", "a_b"] {
            assert!(is_plain_name(ok), "{ok}");
        }
        for bad in ["", "..", ".hidden", "a/b", "a\0b", "é", &"x".repeat(65)] {
            assert!(!is_plain_name(bad), "{bad:?}");
        }
    }
}
