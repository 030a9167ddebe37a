//! What opening a store hands back: every log's records, every value, and every repair
//! recovery made.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use glomers_segment::{Damage, HeaderError, FRAME_HEADER_LEN};

/// Everything a store held when it was opened.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Recovered {
    /// Every log's valid records, by name.
    pub logs: BTreeMap<String, RecoveredLog>,
    /// Every value, by name.
    pub values: BTreeMap<String, Vec<u8>>,
    /// What recovery dropped, one entry per file it truncated or removed (each was also
    /// logged as a warning); empty after a clean shutdown or a crash between syncs that
    /// left nothing half-written.
    pub repairs: Vec<Repair>,
}

/// One log's records: the valid bytes of its segments, read into one buffer, and where
/// each record's frame starts in it (no record is copied). Record `start + i` is
/// [`RecoveredLog::get`]`(i)`. The whole log is in memory; its size is what retention
/// ([`super::FileStore::trim`], [`super::StoreOptions::retain_bytes`]) keeps it to.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RecoveredLog {
    /// The index of the first record kept (above 0 once the front was trimmed).
    pub start: u64,
    /// Segment bytes (headers and frames) whose frames were all checked.
    data: Vec<u8>,
    /// `frames[i]` is where record `start + i`'s frame starts in `data`.
    frames: Vec<usize>,
}

impl RecoveredLog {
    /// `data` holds checked frames starting at the positions `frames`.
    pub(crate) fn from_parts(start: u64, data: Vec<u8>, frames: Vec<usize>) -> RecoveredLog {
        RecoveredLog {
            start,
            data,
            frames,
        }
    }

    /// How many records.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// Whether there is no record.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// One past the index of the last record: the index the next append gets.
    pub fn next_index(&self) -> u64 {
        self.start + self.frames.len() as u64
    }

    /// The `i`-th record kept (index `start + i`).
    pub fn get(&self, i: usize) -> Option<&[u8]> {
        let pos = *self.frames.get(i)?;
        let len = self.data.get(pos..pos + 4)?;
        let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
        let from = pos + FRAME_HEADER_LEN;
        self.data.get(from..from + len)
    }

    /// The records in order.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        (0..self.len()).filter_map(|i| self.get(i))
    }

    /// The records as owned vectors.
    pub fn to_vecs(&self) -> Vec<Vec<u8>> {
        self.iter().map(<[u8]>::to_vec).collect()
    }
}

/// What recovery found wrong with a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// A segment's records end in damage at byte `at`.
    Damage {
        /// Where the valid prefix ends.
        at: u64,
        /// What follows it.
        damage: Damage,
    },
    /// A segment's header is unreadable (an empty file is a header cut short).
    Header(HeaderError),
    /// A segment's header names a different base index than its file name.
    BaseMismatch {
        /// The base its name says.
        named: u64,
        /// The base its header says.
        header: u64,
    },
    /// A segment does not start where the previous one ends: records are missing.
    Gap {
        /// The index the previous segment ends at.
        expected: u64,
        /// The base of this one.
        found: u64,
    },
    /// A segment file longer than any segment this store writes; cut at that length.
    TooLong {
        /// The bytes kept and checked.
        limit: u64,
    },
    /// A segment after a damaged one: a log is kept only up to its first damage.
    AfterDamage,
    /// A value's temporary file, left by a crash during a sync.
    StrayTemp,
    /// A value file that is not exactly one valid record.
    BadValue(String),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Damage { at, damage } => write!(f, "{damage} at byte {at}"),
            Problem::Header(e) => write!(f, "{e}"),
            Problem::BaseMismatch { named, header } => {
                write!(f, "header says base {header}, name says {named}")
            }
            Problem::Gap { expected, found } => {
                write!(
                    f,
                    "starts at record {found}, previous segment ends at {expected}"
                )
            }
            Problem::TooLong { limit } => write!(f, "longer than any segment ({limit} bytes)"),
            Problem::AfterDamage => write!(f, "follows a damaged segment"),
            Problem::StrayTemp => write!(f, "temporary file of an unfinished put"),
            Problem::BadValue(why) => write!(f, "bad value file: {why}"),
        }
    }
}

/// What recovery did to a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Cut to this many bytes.
    Truncated(u64),
    /// Deleted.
    Removed,
}

/// One file recovery changed, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repair {
    /// The file.
    pub path: PathBuf,
    /// What was wrong.
    pub problem: Problem,
    /// What was done.
    pub action: Action,
    /// Bytes dropped.
    pub dropped_bytes: u64,
    /// Records dropped that were whole and valid: those of segments after a damaged one, and
    /// those right after a whole frame that failed its checksum in the segment cut; the
    /// damaged bytes themselves are counted in `dropped_bytes` only.
    pub dropped_records: u64,
}

impl fmt::Display for Repair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let action = match self.action {
            Action::Truncated(len) => format!("truncated to {len} bytes"),
            Action::Removed => "removed".to_owned(),
        };
        write!(
            f,
            "{}: {}; {action}, {} bytes and {} valid records dropped",
            self.path.display(),
            self.problem,
            self.dropped_bytes,
            self.dropped_records
        )
    }
}

impl Repair {
    /// Logs the repair as a warning on stderr (through `tracing`) and returns it.
    pub(crate) fn warn(self) -> Repair {
        tracing::warn!(file = %self.path.display(), "store recovery: {self}");
        self
    }
}
