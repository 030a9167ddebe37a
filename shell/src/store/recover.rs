//! Recovery of one log's directory: every segment's valid records in order, up to the
//! first damage; the damaged segment cut back to its valid prefix and every file after it
//! removed, each repair logged and returned. The repairs are durable before this returns.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};

use glomers_segment::{scan, Scan};

use super::disk::{self, parse_segment_name, sync_dir};
use super::error::io_err;
use super::log::{Log, Segment};
use super::recovered::{Action, Problem, RecoveredLog, Repair};
use super::StoreError;

/// One log as recovered.
pub(crate) struct LogRecovery {
    pub log: Log,
    pub records: RecoveredLog,
    pub repairs: Vec<Repair>,
}

/// The segments accepted so far.
struct Chain {
    records: Option<RecoveredLog>,
    sealed: BTreeMap<u64, Segment>,
    head: Option<(Segment, PathBuf)>,
}

impl Chain {
    fn expected(&self) -> Option<u64> {
        self.head.as_ref().map(|(s, _)| s.base + s.count)
    }

    fn accept(&mut self, scan: &Scan<'_>, path: PathBuf) {
        let base = scan.header.base;
        let records = self.records.get_or_insert_with(|| RecoveredLog::new(base));
        for r in &scan.records {
            records.push(r);
        }
        let seg = Segment {
            base,
            count: scan.records.len() as u64,
            len: scan.valid_end,
            index: scan.index.clone(),
        };
        if let Some((done, _)) = self.head.replace((seg, path)) {
            self.sealed.insert(done.base, done);
        }
    }
}

/// Whether `scan` of the file named for base `named` continues the chain ending at
/// `expected`.
fn misfit(named: u64, scan: &Scan<'_>, expected: Option<u64>) -> Option<Problem> {
    let header = scan.header.base;
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

fn remove(path: &Path, problem: Problem, bytes: &[u8]) -> Result<Repair, StoreError> {
    std::fs::remove_file(path).map_err(io_err("remove", path))?;
    let dropped_records = match problem {
        Problem::AfterDamage => scan(bytes).map_or(0, |s| s.records.len() as u64),
        _ => 0,
    };
    Ok(Repair {
        path: path.to_owned(),
        problem,
        action: Action::Removed,
        dropped_bytes: bytes.len() as u64,
        dropped_records,
    }
    .warn())
}

fn truncate(path: &Path, scan: &Scan<'_>, total: usize) -> Result<Option<Repair>, StoreError> {
    let Some(damage) = scan.damage else {
        return Ok(None);
    };
    OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|f| {
            f.set_len(scan.valid_end)?;
            f.sync_all()
        })
        .map_err(io_err("truncate", path))?;
    Ok(Some(
        Repair {
            path: path.to_owned(),
            problem: Problem::Damage {
                at: scan.valid_end,
                damage,
            },
            action: Action::Truncated(scan.valid_end),
            dropped_bytes: total as u64 - scan.valid_end,
            dropped_records: 0,
        }
        .warn(),
    ))
}

/// The segment files of `dir` by base, in order; other files are left alone, with a
/// warning.
fn segment_files(dir: &Path) -> Result<Vec<(u64, PathBuf)>, StoreError> {
    let mut files = Vec::new();
    for (name, path) in disk::list(dir)? {
        match parse_segment_name(&name) {
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
    let mut chain = Chain {
        records: None,
        sealed: BTreeMap::new(),
        head: None,
    };
    let mut repairs = Vec::new();
    let mut broken = false;
    for (named, path) in &files {
        let bytes = std::fs::read(path).map_err(io_err("read", path))?;
        if broken {
            repairs.push(remove(path, Problem::AfterDamage, &bytes)?);
            continue;
        }
        let found = scan(&bytes).map_err(Problem::Header);
        match found.and_then(|s| misfit(*named, &s, chain.expected()).map_or(Ok(s), Err)) {
            Ok(s) => {
                let cut = truncate(path, &s, bytes.len())?;
                broken = cut.is_some();
                repairs.extend(cut);
                chain.accept(&s, path.clone());
            }
            Err(problem) => {
                broken = true;
                repairs.push(remove(path, problem, &bytes)?);
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
    let records = chain
        .records
        .unwrap_or_else(|| RecoveredLog::new(log.first_index()));
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
    log.sync()?;
    Ok(log)
}
