//! One append-only log on disk: its segment files, the active one's write buffer, rolling,
//! retention and reads by index.
//!
//! The last segment is the *active* one: appends go to its write buffer, which is written
//! to the file when it reaches [`StoreOptions::buffer_bytes`] and at every sync. When the
//! active segment has reached [`StoreOptions::segment_bytes`], the next append first
//! *rolls*: the finished segment is written and fsynced, and a new segment file named by
//! the next index is created.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use glomers_segment::{find, frame_header, Header, SparseIndex, FRAME_HEADER_LEN, HEADER_LEN};

use super::disk::{segment_name, sync_dir};
use super::error::io_err;
use super::{StoreError, StoreOptions};

/// What the store keeps in memory of one segment.
#[derive(Debug)]
pub(crate) struct Segment {
    /// Index of its first record.
    pub base: u64,
    /// Records it holds.
    pub count: u64,
    /// Its length in bytes, header included (written and buffered).
    pub len: u64,
    /// Positions of every `INDEX_INTERVAL`-th record.
    pub index: SparseIndex,
}

impl Segment {
    fn end(&self) -> u64 {
        self.base + self.count
    }
}

/// One log. Invariant: its segments, `sealed` then `head`, are contiguous (`base + count`
/// of one is the `base` of the next).
#[derive(Debug)]
pub(crate) struct Log {
    dir: PathBuf,
    /// The finished segments, by base.
    sealed: BTreeMap<u64, Segment>,
    /// The active segment.
    head: Segment,
    /// The active segment's file.
    active: File,
    /// Bytes of the active segment written to its file.
    flushed: u64,
    /// Bytes of the active segment after `flushed`, not yet written.
    buf: Vec<u8>,
    /// The active file was written since its last fsync.
    file_dirty: bool,
    /// Entries of `dir` changed since its last fsync.
    dir_dirty: bool,
}

fn open_segment(path: &Path, create: bool) -> Result<File, StoreError> {
    OpenOptions::new()
        .read(true)
        .append(true)
        .create_new(create)
        .open(path)
        .map_err(io_err(if create { "create" } else { "open" }, path))
}

impl Log {
    /// A log whose first segment is created now, empty, at `base`.
    pub fn create(dir: &Path, base: u64) -> Result<Log, StoreError> {
        let active = open_segment(&dir.join(segment_name(base)), true)?;
        Ok(Log {
            dir: dir.to_owned(),
            sealed: BTreeMap::new(),
            head: empty_segment(base),
            active,
            flushed: 0,
            buf: Header { base }.encode().to_vec(),
            file_dirty: true,
            dir_dirty: true,
        })
    }

    /// A recovered log: the `sealed` segments and the active `head` as found on disk
    /// (contiguous), `active` the head's file, whole on disk.
    pub fn recovered(
        dir: &Path,
        sealed: BTreeMap<u64, Segment>,
        head: Segment,
        active: File,
    ) -> Log {
        Log {
            dir: dir.to_owned(),
            sealed,
            flushed: head.len,
            head,
            active,
            buf: Vec::new(),
            file_dirty: false,
            dir_dirty: false,
        }
    }

    /// The index the next append gets.
    pub fn next_index(&self) -> u64 {
        self.head.end()
    }

    /// The index of the first record kept.
    pub fn first_index(&self) -> u64 {
        self.sealed.keys().next().copied().unwrap_or(self.head.base)
    }

    /// Bytes of all segments, headers included.
    pub fn bytes(&self) -> u64 {
        self.sealed.values().map(|s| s.len).sum::<u64>() + self.head.len
    }

    /// Appends `record` to the buffer (rolling first if the active segment is full);
    /// returns its index.
    pub fn append(&mut self, record: &[u8], opts: &StoreOptions) -> Result<u64, StoreError> {
        let head = frame_header(record).map_err(|source| StoreError::TooLarge {
            name: self.name(),
            source,
        })?;
        if self.head.count > 0 && self.head.len >= opts.segment_bytes {
            self.roll(opts)?;
        }
        let seg = &mut self.head;
        let index = seg.end();
        seg.index.note(index, seg.len);
        seg.len += (FRAME_HEADER_LEN + record.len()) as u64;
        seg.count += 1;
        self.buf.extend_from_slice(&head);
        self.buf.extend_from_slice(record);
        if self.buf.len() >= opts.buffer_bytes {
            self.flush()?;
        }
        Ok(index)
    }

    fn name(&self) -> String {
        self.dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    fn active_path(&self) -> PathBuf {
        self.dir.join(segment_name(self.head.base))
    }

    /// Writes the buffer to the active file (no fsync).
    pub fn flush(&mut self) -> Result<(), StoreError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let path = self.active_path();
        self.active
            .write_all(&self.buf)
            .map_err(io_err("write", path))?;
        self.flushed += self.buf.len() as u64;
        self.buf.clear();
        self.file_dirty = true;
        Ok(())
    }

    /// Writes the buffer and makes everything written durable: one fsync of the active
    /// file if it was written, one of the directory if its entries changed (with `fsync`
    /// false, only the write: durable against a process crash, not a machine crash).
    pub fn sync(&mut self, fsync: bool) -> Result<(), StoreError> {
        self.flush()?;
        if !fsync {
            return Ok(());
        }
        if self.file_dirty {
            let path = self.active_path();
            self.active.sync_data().map_err(io_err("fsync", path))?;
            self.file_dirty = false;
        }
        if self.dir_dirty {
            sync_dir(&self.dir)?;
            self.dir_dirty = false;
        }
        Ok(())
    }

    /// Finishes the active segment (written and fsynced), starts a new one at the next
    /// index, then applies size retention.
    fn roll(&mut self, opts: &StoreOptions) -> Result<(), StoreError> {
        self.flush()?;
        if self.file_dirty && opts.fsync {
            let path = self.active_path();
            self.active.sync_data().map_err(io_err("fsync", path))?;
        }
        let base = self.next_index();
        self.active = open_segment(&self.dir.join(segment_name(base)), true)?;
        let done = std::mem::replace(&mut self.head, empty_segment(base));
        self.sealed.insert(done.base, done);
        self.flushed = 0;
        self.buf.extend_from_slice(&Header { base }.encode());
        self.file_dirty = true;
        self.dir_dirty = true;
        if let Some(max) = opts.retain_bytes {
            self.retain_bytes(max)?;
        }
        Ok(())
    }

    /// Size retention: drops whole front segments while the log holds more than `max`
    /// bytes, never the active one.
    pub fn retain_bytes(&mut self, max: u64) -> Result<(), StoreError> {
        let mut total = self.bytes();
        let mut doomed = Vec::new();
        for seg in self.sealed.values() {
            if total <= max {
                break;
            }
            total -= seg.len;
            doomed.push(seg.base);
        }
        self.remove_front(&doomed)
    }

    /// Index retention: drops every segment whose records all lie below `before` (capped
    /// at the next index). When that includes the active segment, a new empty one is
    /// started at the next index and made durable first, so that the log's position
    /// survives a crash even with every record dropped.
    pub fn trim(&mut self, before: u64, opts: &StoreOptions) -> Result<(), StoreError> {
        let before = before.min(self.next_index());
        if self.head.count > 0 && self.head.end() <= before {
            self.roll(opts)?;
            self.sync(opts.fsync)?;
        }
        let doomed: Vec<u64> = self
            .sealed
            .values()
            .take_while(|s| s.end() <= before)
            .map(|s| s.base)
            .collect();
        self.remove_front(&doomed)
    }

    /// Removes the given front segments, first to last (a crash part-way leaves the log
    /// contiguous); their removal is durable after the next sync.
    fn remove_front(&mut self, bases: &[u64]) -> Result<(), StoreError> {
        for base in bases {
            let path = self.dir.join(segment_name(*base));
            std::fs::remove_file(&path).map_err(io_err("remove", &path))?;
            self.sealed.remove(base);
            self.dir_dirty = true;
        }
        Ok(())
    }

    /// Record `index`, read through its segment's sparse index (at most
    /// `INDEX_INTERVAL` frames are read); `None` if the log does not hold it.
    pub fn read(&mut self, index: u64) -> Result<Option<Vec<u8>>, StoreError> {
        let seg = match self.sealed.range(..=index).next_back() {
            Some((_, s)) if index < s.end() => s,
            _ => &self.head,
        };
        let Some(span) = seg.index.span(index, seg.len).filter(|_| index < seg.end()) else {
            return Ok(None);
        };
        let (base, active) = (seg.base, seg.base == self.head.base);
        if active && span.end > self.flushed {
            self.flush()?;
        }
        let path = self.dir.join(segment_name(base));
        let len = usize::try_from(span.end - span.start).unwrap_or(usize::MAX);
        let mut bytes = vec![0u8; len];
        let read = if active {
            self.active.read_exact_at(&mut bytes, span.start)
        } else {
            File::open(&path).and_then(|f| f.read_exact_at(&mut bytes, span.start))
        };
        read.map_err(io_err("read", &path))?;
        let corrupt = |what: String| StoreError::Corrupt {
            path: path.clone(),
            index,
            what,
        };
        match find(&bytes, span, index) {
            Ok(Some(payload)) => Ok(Some(payload.to_vec())),
            Ok(None) => Err(corrupt("not in its indexed span".to_owned())),
            Err(damage) => Err(corrupt(damage.to_string())),
        }
    }
}

fn empty_segment(base: u64) -> Segment {
    Segment {
        base,
        count: 0,
        len: HEADER_LEN as u64,
        index: SparseIndex::new(base),
    }
}
