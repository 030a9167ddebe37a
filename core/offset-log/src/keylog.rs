//! The single-key log logic shared by [`crate::OffsetLog`] and [`crate::BoundedLog`],
//! written once over a small storage trait.

use crate::{Entry, Error, InsertOutcome};

/// Contiguous storage of entries (a `Vec` or a `heapless::Vec`).
pub(crate) trait EntryVec<M>: Default {
    fn as_slice(&self) -> &[Entry<M>];
    /// Appends; gives the entry back if the storage is full.
    fn push(&mut self, e: Entry<M>) -> Result<(), Entry<M>>;
    /// Inserts at `index` (<= len); gives the entry back if full.
    fn insert(&mut self, index: usize, e: Entry<M>) -> Result<(), Entry<M>>;
    /// Removes the first `n` (<= len) entries.
    fn remove_front(&mut self, n: usize);
}

#[cfg(feature = "alloc")]
impl<M> EntryVec<M> for alloc::vec::Vec<Entry<M>> {
    #[inline]
    fn as_slice(&self) -> &[Entry<M>] {
        self
    }
    #[inline]
    fn push(&mut self, e: Entry<M>) -> Result<(), Entry<M>> {
        alloc::vec::Vec::push(self, e);
        Ok(())
    }
    #[inline]
    fn insert(&mut self, index: usize, e: Entry<M>) -> Result<(), Entry<M>> {
        alloc::vec::Vec::insert(self, index, e);
        Ok(())
    }
    fn remove_front(&mut self, n: usize) {
        self.drain(..n);
    }
}

impl<M, const N: usize> EntryVec<M> for heapless::Vec<Entry<M>, N> {
    #[inline]
    fn as_slice(&self) -> &[Entry<M>] {
        self
    }
    #[inline]
    fn push(&mut self, e: Entry<M>) -> Result<(), Entry<M>> {
        heapless::Vec::push(self, e)
    }
    #[inline]
    fn insert(&mut self, index: usize, e: Entry<M>) -> Result<(), Entry<M>> {
        heapless::Vec::insert(self, index, e)
    }
    fn remove_front(&mut self, n: usize) {
        let keep = self.len() - n;
        self.rotate_left(n);
        self.truncate(keep);
    }
}

/// One key's log. Invariants: `entries` strictly increasing by offset; every stored
/// offset is in `floor..next`; `committed` never decreases.
#[derive(Debug)]
pub(crate) struct KeyLog<V, M> {
    entries: V,
    /// One past the largest offset ever stored: the next offset `append` assigns.
    next: u64,
    /// Offsets below were truncated by retention.
    floor: u64,
    committed: Option<u64>,
    _msg: core::marker::PhantomData<M>,
}

impl<V: EntryVec<M>, M> Default for KeyLog<V, M> {
    fn default() -> Self {
        KeyLog {
            entries: V::default(),
            next: 0,
            floor: 0,
            committed: None,
            _msg: core::marker::PhantomData,
        }
    }
}

impl<V: EntryVec<M>, M> KeyLog<V, M> {
    #[inline]
    pub(crate) fn entries(&self) -> &[Entry<M>] {
        self.entries.as_slice()
    }

    #[inline]
    pub(crate) fn next_offset(&self) -> u64 {
        self.next
    }

    #[inline]
    pub(crate) fn committed(&self) -> Option<u64> {
        self.committed
    }

    /// O(1) amortized.
    #[inline]
    pub(crate) fn append(&mut self, msg: M) -> Result<u64, Error> {
        let offset = self.next;
        if offset == u64::MAX {
            return Err(Error::Exhausted);
        }
        self.entries
            .push(Entry { offset, msg })
            .map_err(|_| Error::Full)?;
        self.next = offset + 1;
        Ok(offset)
    }

    /// O(1) past the tail, else O(log n) search plus an O(n - position) shift.
    pub(crate) fn insert_at(&mut self, offset: u64, msg: M) -> Result<InsertOutcome, Error>
    where
        M: PartialEq,
    {
        if offset == u64::MAX {
            return Err(Error::Exhausted);
        }
        if offset < self.floor {
            return Ok(InsertOutcome::BelowRetention);
        }
        let s = self.entries.as_slice();
        let pos = match s.last() {
            Some(last) if last.offset >= offset => {
                match s.binary_search_by_key(&offset, |e| e.offset) {
                    Ok(i) if s[i].msg == msg => return Ok(InsertOutcome::AlreadyPresent),
                    Ok(_) => return Err(Error::Conflict { offset }),
                    Err(i) => i,
                }
            }
            _ => s.len(),
        };
        let res = if pos == s.len() {
            self.entries.push(Entry { offset, msg })
        } else {
            self.entries.insert(pos, Entry { offset, msg })
        };
        res.map_err(|_| Error::Full)?;
        self.next = self.next.max(offset + 1);
        Ok(InsertOutcome::Inserted)
    }

    /// At most `max` consecutive stored entries from the first offset `>= from`.
    #[inline]
    pub(crate) fn read(&self, from: u64, max: usize) -> &[Entry<M>] {
        read_slice(self.entries.as_slice(), from, max)
    }

    /// Raises the committed offset to `offset` if higher; returns the committed offset.
    #[inline]
    pub(crate) fn commit(&mut self, offset: u64) -> u64 {
        let c = self.committed.map_or(offset, |c| c.max(offset));
        self.committed = Some(c);
        c
    }

    /// Drops entries below `offset` and raises the floor; returns how many were dropped.
    /// O(retained entries) for the shift.
    pub(crate) fn truncate_before(&mut self, offset: u64) -> usize {
        self.floor = self.floor.max(offset);
        let n = self
            .entries
            .as_slice()
            .partition_point(|e| e.offset < offset);
        if n > 0 {
            self.entries.remove_front(n);
        }
        n
    }
}

/// The read window of a sorted slice: binary search for the first offset `>= from`.
#[inline]
pub(crate) fn read_slice<M>(s: &[Entry<M>], from: u64, max: usize) -> &[Entry<M>] {
    let start = s.partition_point(|e| e.offset < from);
    let rest = &s[start..];
    &rest[..rest.len().min(max)]
}
