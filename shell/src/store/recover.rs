//! Recovery of one log's directory: every segment's valid records in order, up to the
//! first damage; the damaged segment cut back to its valid prefix and every file after it
//! removed, each repair logged and returned. The repairs are durable before this returns.
//!
//! Each segment file is read straight into the recovered log's buffer and checked there,
//! so a record is read once and never copied.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Read;
use std::path::{Path, PathBuf};

use glomers_segment::{scan_each, valid_after_damage, Walk, FRAME_HEADER_LEN, MAX_RECORD};

use super::disk::{self, parse_segment_name, sync_dir};
use super::error::io_err;
use super::log::{Log, Segment};
use super::recovered::{Action, Problem, RecoveredLog, Repair};
use super::{StoreError, MAX_SEGMENT_BYTES};

/// The most of one segment file recovery reads: the largest segment a store writes
/// ([`MAX_SEGMENT_BYTES`] before it rolls, plus one frame of the largest record). Bytes
/// past it are not a record of this store's making; the file is cut there.
const READ_LIMIT: u64 = MAX_SEGMENT_BYTES + (FRAME_HEADER_LEN + MAX_RECORD) as u64;

/// One log as recovered.
pub(crate) struct LogRecovery {
    pub log: Log,
    pub records: RecoveredLog,
    pub repairs: Vec<Repair>,
}

/// The segments accepted so far, and their bytes.
#[derive(Default)]
struct Chain {
    /// The first accepted segment's base.
    start: Option<u64>,
    /// The accepted segments' valid bytes, one after the other.
    data: Vec<u8>,
    /// Where each accepted record's frame starts in `data`.
    frames: Vec<usize>,
    sealed: BTreeMap<u64, Segment>,
    head: Option<(Segment, PathBuf)>,
}

/// What checking one segment file against the chain gave.
enum Verdict {
    /// Accepted whole.
    Clean,
    /// Accepted up to its damage: the file must be cut there, and the log ends with it.
    Cut(Walk, Problem, u64, u64),
    /// Refused: the file must go, and the log ends before it.
    Refused(Problem, u64),
}

impl Chain {
    fn expected(&self) -> Option<u64> {
        self.head.as_ref().map(|(s, _)| s.base + s.count)
    }

    /// Reads the segment file named for `named` onto the end of `data`, checks it, and
    /// keeps its valid part if it continues the chain.
    fn take(&mut self, named: u64, path: &Path) -> Result<Verdict, StoreError> {
        let at = self.data.len();
        let total = read_onto(path, &mut self.data)?;
        let read = (self.data.len() - at) as u64;
        let frames = &mut self.frames;
        let frames_before = frames.len();
        let walked = scan_each(&self.data[at..], |r| frames.push(at + r.pos as usize));
        let problem = match walked {
            Err(e) => Problem::Header(e),
            Ok(w) => match misfit(named, &w, self.expected()) {
                Some(p) => p,
                None => {
                    let end = at + w.valid_end as usize;
                    let lost = valid_after_damage(self.data.get(end..).unwrap_or_default());
                    self.data.truncate(end);
                    return Ok(self.accept(w, path, read, total, lost));
                }
            },
        };
        self.data.truncate(at);
        self.frames.truncate(frames_before);
        Ok(Verdict::Refused(problem, total))
    }

    /// Keeps `w`, the walk over the first `read` of the file's `total` bytes, after which
    /// `lost` valid records follow the damage.
    fn accept(&mut self, w: Walk, path: &Path, read: u64, total: u64, lost: u64) -> Verdict {
        self.start.get_or_insert(w.header.base);
        let seg = Segment {
            base: w.header.base,
            count: w.count,
            len: w.valid_end,
            index: w.index.clone(),
        };
        if let Some((done, _)) = self.head.replace((seg, path.to_owned())) {
            self.sealed.insert(done.base, done);
        }
        let at = w.valid_end;
        match w.damage {
            Some(damage) => Verdict::Cut(w, Problem::Damage { at, damage }, total, lost),
            None if read < total => Verdict::Cut(w, Problem::TooLong { limit: read }, total, 0),
            None => Verdict::Clean,
        }
    }
}

/// Appends the file at `path`, up to [`READ_LIMIT`] bytes of it, to `data`; the file's
/// whole length. Running out of memory is an error, never an abort.
fn read_onto(path: &Path, data: &mut Vec<u8>) -> Result<u64, StoreError> {
    let file = File::open(path).map_err(io_err("open", path))?;
    let len = file.metadata().map_err(io_err("stat", path))?.len();
    file.take(READ_LIMIT)
        .read_to_end(data)
        .map_err(io_err("read", path))?;
    Ok(len)
}

/// Whether segment `w`, in the file named for base `named`, fails to continue the chain
/// ending at `expected`.
fn misfit(named: u64, w: &Walk, expected: Option<u64>) -> Option<Problem> {
    let header = w.header.base;
    if header != named {
        return Some(Problem::BaseMismatch { named, header });
    }
    match expected {
        Some(expected) if expected != header => Some(Problem::Gap {
            expected,
            found: header,
        }),
        _ => None,
    }
}

fn remove(path: &Path, problem: Problem, bytes: u64, records: u64) -> Result<Repair, StoreError> {
    std::fs::remove_file(path).map_err(io_err("remove", path))?;
    Ok(Repair {
        path: path.to_owned(),
        problem,
        action: Action::Removed,
        dropped_bytes: bytes,
        dropped_records: records,
    }
    .warn())
}

/// Removes a segment that follows the end of the log, counting the valid records it held.
fn remove_after(path: &Path) -> Result<Repair, StoreError> {
    let bytes = std::fs::read(path).map_err(io_err("read", path))?;
    let records = scan_each(&bytes, |_| {}).map_or(0, |w| w.count);
    remove(path, Problem::AfterDamage, bytes.len() as u64, records)
}

/// Cuts the file at the end of `w`'s valid prefix; `lost` valid records followed the damage.
fn truncate(
    path: &Path,
    w: &Walk,
    problem: Problem,
    total: u64,
    lost: u64,
) -> Result<Repair, StoreError> {
    OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|f| {
            f.set_len(w.valid_end)?;
            f.sync_all()
        })
        .map_err(io_err("truncate", path))?;
    Ok(Repair {
        path: path.to_owned(),
        problem,
        action: Action::Truncated(w.valid_end),
        dropped_bytes: total.saturating_sub(w.valid_end),
        dropped_records: lost,
    }
    .warn())
}

/// The segment files of `dir` by base, in order; other files are left alone, with a
/// warning.
fn segment_files(dir: &Path) -> Result<Vec<(u64, PathBuf)>, StoreError> {
    let mut files = Vec::new();
    for (name, path) in disk::list(dir)? {
        match parse_segment_name(&name).filter(|_| path.is_file()) {
            Some(base) => files.push((base, path)),
            None => {
                tracing::warn!(file = %path.display(), "store recovery: not a segment file; left alone")
            }
        }
    }
    files.sort_unstable_by_key(|(base, _)| *base);
    Ok(files)
}

/// Recovers the log whose segments are in `dir`.
pub(crate) fn recover_log(dir: &Path) -> Result<LogRecovery, StoreError> {
    let files = segment_files(dir)?;
    // One allocation for the whole log, the sum of its files' sizes, when it can be had.
    let total: u64 = files
        .iter()
        .filter_map(|(_, p)| p.metadata().ok())
        .map(|m| m.len().min(READ_LIMIT))
        .sum();
    let mut chain = Chain::default();
    let _ = chain
        .data
        .try_reserve_exact(usize::try_from(total).unwrap_or(0));
    let mut repairs = Vec::new();
    let mut ended = false;
    for (named, path) in &files {
        if ended {
            repairs.push(remove_after(path)?);
            continue;
        }
        match chain.take(*named, path)? {
            Verdict::Clean => {}
            Verdict::Cut(w, problem, total, lost) => {
                ended = true;
                repairs.push(truncate(path, &w, problem, total, lost)?);
            }
            Verdict::Refused(problem, total) => {
                ended = true;
                repairs.push(remove(path, problem, total, 0)?);
            }
        }
    }
    let log = match chain.head {
        Some((head, path)) => {
            let active = OpenOptions::new()
                .read(true)
                .append(true)
                .open(&path)
                .map_err(io_err("open", &path))?;
            Log::recovered(dir, chain.sealed, head, active)
        }
        None => fresh(dir, files.first().map_or(0, |(base, _)| *base))?,
    };
    if !repairs.is_empty() {
        sync_dir(dir)?;
    }
    let start = chain.start.unwrap_or_else(|| log.first_index());
    let records = RecoveredLog::from_parts(start, chain.data, chain.frames);
    Ok(LogRecovery {
        log,
        records,
        repairs,
    })
}

/// A log with no readable segment starts again, empty, at the base its first file was
/// named for (the only trace of where it stood), made durable now.
fn fresh(dir: &Path, base: u64) -> Result<Log, StoreError> {
    let mut log = Log::create(dir, base)?;
    log.sync(true)?;
    Ok(log)
}
