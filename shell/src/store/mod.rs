//! The file store: a node's durable state in one directory, kept as Kafka keeps its log.
//!
//! A node's driver asks it to append records to named logs, to replace named values and to
//! trim a log's front; it makes all of that durable with one [`FileStore::sync`] per batch
//! of input (group commit) before it releases the batch's replies. [`FileStore::open`]
//! recovers everything at start.
//!
//! # Layout
//!
//! ```text
//! <dir>/logs/<log>/00000000000000000000.seg   segments of log <log>, named by base index
//! <dir>/logs/<log>/00000000000000131072.seg   ... the last one is the active one
//! <dir>/values/<name>                         one value: a segment holding one record
//! <dir>/values/.<name>.tmp                    a put not yet synced
//! ```
//!
//! Segments use the format of [`glomers_segment`]: a header with the base index, then
//! CRC-32-framed records. A log rolls to a new segment once its active segment holds
//! [`StoreOptions::segment_bytes`] (default 8 MiB). Names of logs and values are plain
//! file names ([`name::check`]); anything else is refused with [`StoreError::BadName`].
//!
//! # Durability
//!
//! Nothing is durable before [`FileStore::sync`] returns `Ok`. A sync writes every log's
//! buffer, fsyncs each segment file written since the last sync (`fdatasync`) and each log
//! directory whose entries changed, then fsyncs and renames each pending value's temporary
//! file and fsyncs the values directory once. A crash before the sync ends may keep any
//! part of the batch, but only whole records, in order, with no gap: recovery keeps each
//! log's longest valid prefix.
//!
//! A failed write, fsync, rename or removal *poisons* the store: it is unknown what reached
//! the disk (a failed fsync may have dropped dirty pages), so every later mutation returns
//! [`StoreError::Poisoned`] and the process should exit and recover by reopening.
//!
//! # Retention
//!
//! Retention drops whole segments at a log's front, never the active one:
//! [`FileStore::trim`] drops every segment whose records are all below a caller-given index
//! (Kafka's `deleteRecords`), and [`StoreOptions::retain_bytes`] keeps at most that many
//! bytes of each log (checked whenever a segment rolls; the active segment is kept even if
//! it alone is larger). Removals become durable at the next sync; a crash before it may
//! bring trimmed segments back, which [`RecoveredLog::start`] then shows.
//!
//! # Memory
//!
//! Each log buffers at most [`StoreOptions::buffer_bytes`] of appends (past that, the
//! buffer is written to the file, still without fsync), plus one sparse-index entry per
//! 64 records. Pending puts are written to their temporary files at once, so only the
//! open file of each name put since the last sync is held. Recovery hands back every
//! record kept ([`Recovered`]); retention bounds how many that is.

mod disk;
mod error;
mod log;
pub mod name;
mod recover;
mod recovered;
mod values;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use error::StoreError;
pub use recovered::{Action, Problem, Recovered, RecoveredLog, Repair};

use disk::{ensure_dir, sync_dir};
use log::Log;
use values::Values;

/// The largest [`StoreOptions::segment_bytes`] (1 GiB); larger settings are taken as this.
/// Recovery reads no more of a segment file than this plus one largest frame.
pub const MAX_SEGMENT_BYTES: u64 = 1 << 30;

/// Sizes and retention of a [`FileStore`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreOptions {
    /// A log rolls to a new segment once its active segment holds this many bytes
    /// (header and frames). Default 8 MiB, at most [`MAX_SEGMENT_BYTES`].
    pub segment_bytes: u64,
    /// Each log's append buffer is written to its file once it holds this many bytes.
    /// Default 256 KiB.
    pub buffer_bytes: usize,
    /// Size retention: keep at most this many bytes of each log, dropping whole front
    /// segments when a segment rolls. Default `None`: keep everything.
    pub retain_bytes: Option<u64>,
    /// Whether a sync ends with fsyncs (default `true`). With `false` a sync still writes
    /// every buffer to its file and swaps every pending value in, in the same order, but
    /// leaves the pages to the OS: what was synced survives the process's crash (a
    /// SIGKILL) but not the machine's. For runs whose faults are process crashes only.
    pub fsync: bool,
}

impl Default for StoreOptions {
    fn default() -> StoreOptions {
        StoreOptions {
            segment_bytes: 8 << 20,
            buffer_bytes: 256 << 10,
            retain_bytes: None,
            fsync: true,
        }
    }
}

/// A store's directory, open. See the [module](self) for layout, durability and retention.
#[derive(Debug)]
pub struct FileStore {
    dir: PathBuf,
    opts: StoreOptions,
    logs: BTreeMap<String, Log>,
    values: Values,
    /// `<dir>/logs` gained a log directory since its last fsync.
    logs_dir_dirty: bool,
    /// Why the store takes no more writes, once a write failed.
    poisoned: Option<String>,
}

impl FileStore {
    /// Opens (creating) the store in `dir` with the default options and recovers it.
    pub fn open(dir: &Path) -> Result<(FileStore, Recovered), StoreError> {
        FileStore::open_with(dir, StoreOptions::default())
    }

    /// Opens (creating) the store in `dir` and recovers it: every log's valid records in
    /// order (a torn or corrupt tail is truncated away, and every segment after it removed,
    /// each with a warning on stderr naming the file and what was dropped, and a
    /// [`Repair`] in the result), every value (a temporary file left by a crash is
    /// removed). The repairs are durable when this returns. Never panics on any content.
    pub fn open_with(dir: &Path, opts: StoreOptions) -> Result<(FileStore, Recovered), StoreError> {
        let (logs_dir, values_dir) = (dir.join("logs"), dir.join("values"));
        let mut created = ensure_dir(dir)?;
        created |= ensure_dir(&logs_dir)?;
        created |= ensure_dir(&values_dir)?;
        if created {
            sync_dir(dir)?;
        }
        let mut recovered = Recovered::default();
        let mut logs = BTreeMap::new();
        for (name, path) in disk::list(&logs_dir)? {
            if name::check(&name).is_err() || !path.is_dir() {
                tracing::warn!(file = %path.display(), "store recovery: not a log directory; left alone");
                continue;
            }
            let r = recover::recover_log(&path)?;
            recovered.repairs.extend(r.repairs);
            recovered.logs.insert(name.clone(), r.records);
            logs.insert(name, r.log);
        }
        let v = Values::recover(&values_dir)?;
        recovered.values = v.found;
        recovered.repairs.extend(v.repairs);
        let store = FileStore {
            dir: dir.to_owned(),
            opts: StoreOptions {
                segment_bytes: opts.segment_bytes.min(MAX_SEGMENT_BYTES),
                ..opts
            },
            logs,
            values: v.values,
            logs_dir_dirty: false,
            poisoned: None,
        };
        Ok((store, recovered))
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Appends `record` to log `log` (created on first use, at index 0) and returns its
    /// index. Buffered: durable after the next [`FileStore::sync`].
    pub fn append(&mut self, log: &str, record: &[u8]) -> Result<u64, StoreError> {
        self.check_poison()?;
        let opts = self.opts;
        if let Some(l) = self.logs.get_mut(log) {
            let result = l.append(record, &opts);
            return self.poison_on_io(result);
        }
        let result = self.new_log(log).and_then(|mut l| {
            let index = l.append(record, &opts)?;
            self.logs.insert(log.to_owned(), l);
            Ok(index)
        });
        self.poison_on_io(result)
    }

    /// Replaces value `name` by `value`; durable after the next [`FileStore::sync`], which
    /// swaps it in atomically (the old value or the new one survives a crash, never a mix).
    pub fn put(&mut self, name: &str, value: &[u8]) -> Result<(), StoreError> {
        self.check_poison()?;
        name::check(name)?;
        let result = self.values.put(name, value);
        self.poison_on_io(result)
    }

    /// Retention by index: drops every segment of `log` whose records all lie below
    /// `before` (whole segments only, so records below `before` in a segment that also
    /// holds later ones stay). A log that does not exist is left alone.
    pub fn trim(&mut self, log: &str, before: u64) -> Result<(), StoreError> {
        self.check_poison()?;
        name::check(log)?;
        let opts = self.opts;
        let result = match self.logs.get_mut(log) {
            Some(l) => l.trim(before, &opts),
            None => Ok(()),
        };
        self.poison_on_io(result)
    }

    /// Makes every append, put and trim since the last sync durable (see the module
    /// docs): one fsync per file written, one per directory changed (none at all without
    /// [`StoreOptions::fsync`]).
    pub fn sync(&mut self) -> Result<(), StoreError> {
        self.check_poison()?;
        let result = self.sync_all();
        self.poison_on_io(result)
    }

    /// Record `index` of `log`, read from disk through its segment's sparse index (the
    /// buffer is written first if the record is still in it); `None` if the log does not
    /// hold it (never appended, trimmed, or not yet appended).
    pub fn read(&mut self, log: &str, index: u64) -> Result<Option<Vec<u8>>, StoreError> {
        match self.logs.get_mut(log) {
            Some(l) => l.read(index),
            None => Ok(None),
        }
    }

    /// The index the next append to `log` gets (0 for a log never appended to).
    pub fn next_index(&self, log: &str) -> u64 {
        self.logs.get(log).map_or(0, Log::next_index)
    }

    /// The index of the first record `log` keeps (retention moves it forward).
    pub fn first_index(&self, log: &str) -> u64 {
        self.logs.get(log).map_or(0, Log::first_index)
    }

    /// Bytes `log` occupies on disk and in its buffer, segment headers included.
    pub fn log_bytes(&self, log: &str) -> u64 {
        self.logs.get(log).map_or(0, Log::bytes)
    }

    /// A log created by its first append: a new directory with an empty segment at 0,
    /// durable at the next sync.
    fn new_log(&mut self, log: &str) -> Result<Log, StoreError> {
        name::check(log)?;
        let dir = self.dir.join("logs").join(log);
        if ensure_dir(&dir)? {
            self.logs_dir_dirty = true;
            Log::create(&dir, 0)
        } else {
            // Made by someone else since the store was opened: take what it holds.
            let r = recover::recover_log(&dir)?;
            Ok(r.log)
        }
    }

    fn sync_all(&mut self) -> Result<(), StoreError> {
        let fsync = self.opts.fsync;
        for log in self.logs.values_mut() {
            log.sync(fsync)?;
        }
        if self.logs_dir_dirty && fsync {
            sync_dir(&self.dir.join("logs"))?;
            self.logs_dir_dirty = false;
        }
        self.values.sync(fsync)
    }

    fn check_poison(&self) -> Result<(), StoreError> {
        match &self.poisoned {
            Some(why) => Err(StoreError::Poisoned(why.clone())),
            None => Ok(()),
        }
    }

    /// Passes `result` on; an I/O error also poisons the store.
    fn poison_on_io<T>(&mut self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        if let Err(e @ StoreError::Io { .. }) = &result {
            self.poisoned = Some(e.to_string());
        }
        result
    }
}

#[cfg(test)]
mod tests;
