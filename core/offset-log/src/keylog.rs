//! The flat single-key log of [`crate::BoundedLog`]: one sorted slice of entries, written
//! over a small storage trait. ([`crate::OffsetLog`] keeps its keys in chunks instead, see
//! the `chunked` module.)

use crate::offsets::Offsets;
use crate::{Entry, Error, InsertOutcome};

/// Contiguous storage of entries (a `heapless::Vec`).
pub(crate) trait EntryVec<M>: Default {
    fn as_slice(&self) -> &[Entry<M>];
    /// Appends; gives the entry back if the storage is full.
    fn push(&mut self, e: Entry<M>) -> Result<(), Entry<M>>;
    /// Inserts at `index` (<= len); gives the entry back if full.
    fn insert(&mut self, index: usize, e: Entry<M>) -> Result<(), Entry<M>>;
    /// Removes the first `n` (<= len) entries.
    fn remove_front(&mut self, n: usize);
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

/// One key's log. Invariants: `entries` strictly increasing by offset; `offsets` holds
/// every stored offset below its `next` and above its floor.
#[derive(Debug)]
pub(crate) struct KeyLog<V, M> {
    entries: V,
    offsets: Offsets,
    _msg: core::marker::PhantomData<M>,
}

impl<V: EntryVec<M>, M> Default for KeyLog<V, M> {
    fn default() -> Self {
        KeyLog {
            entries: V::default(),
            offsets: Offsets::default(),
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
        self.offsets.next_offset()
    }

    #[inline]
    pub(crate) fn committed(&self) -> Option<u64> {
        self.offsets.committed()
    }

    /// O(1) amortized.
    #[inline]
    pub(crate) fn append(&mut self, msg: M) -> Result<u64, Error> {
        let offset = self.offsets.assignable()?;
        self.entries
            .push(Entry { offset, msg })
            .map_err(|_| Error::Full)?;
        self.offsets.stored(offset);
        Ok(offset)
    }

    /// O(1) past the tail, else O(log n) search plus an O(n - position) shift.
    pub(crate) fn insert_at(&mut self, offset: u64, msg: M) -> Result<InsertOutcome, Error>
    where
        M: PartialEq,
    {
        if let Some(outcome) = self.offsets.admit(offset)? {
            return Ok(outcome);
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
        self.offsets.stored(offset);
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
        self.offsets.commit(offset)
    }

    /// Drops entries below `offset` and raises the floor; returns how many were dropped.
    /// O(retained entries) for the shift.
    pub(crate) fn truncate_before(&mut self, offset: u64) -> usize {
        self.offsets.raise_floor(offset);
        let n = first_at_or_after(self.entries.as_slice(), offset);
        if n > 0 {
            self.entries.remove_front(n);
        }
        n
    }
}

/// The read window of a sorted slice: the first offset `>= from`, then at most `max`.
#[inline]
pub(crate) fn read_slice<M>(s: &[Entry<M>], from: u64, max: usize) -> &[Entry<M>] {
    let start = first_at_or_after(s, from);
    let rest = &s[start..];
    &rest[..rest.len().min(max)]
}

/// Index of the first entry with offset `>= from` in a slice of strictly increasing
/// offsets.
///
/// Strictly increasing offsets put entry `i` at an offset in
/// `first + i ..= last - (len - 1 - i)`, so the answer lies in a window of `gap + 1`
/// indices, where `gap` is the number of offsets missing between `first` and `last`. For a
/// dense log (every offset appended here, none replicated out of order) the window is one
/// index and the lookup is O(1); otherwise it is a binary search of the window, O(log gap).
#[inline]
pub(crate) fn first_at_or_after<M>(s: &[Entry<M>], from: u64) -> usize {
    let (Some(first), Some(last)) = (s.first(), s.last()) else {
        return 0;
    };
    if from <= first.offset {
        return 0;
    }
    if from > last.offset {
        return s.len();
    }
    // first.offset < from <= last.offset, so both differences are in range.
    let len = s.len() as u64;
    let hi = (from - first.offset).min(len - 1);
    let lo = (len - 1).saturating_sub(last.offset - from);
    // The answer is in lo..=hi (lo <= hi because offsets strictly increase).
    let (lo, hi) = (lo as usize, hi as usize);
    if lo >= hi {
        return hi;
    }
    lo + s[lo..=hi].partition_point(|e| e.offset < from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;
    use proptest::prelude::*;

    fn entries(gaps: &[u8], start: u64) -> Vec<Entry<()>> {
        let mut offset = start;
        gaps.iter()
            .map(|&g| {
                offset += u64::from(g);
                let e = Entry { offset, msg: () };
                offset += 1;
                e
            })
            .collect()
    }

    proptest! {
        /// The windowed search agrees with a plain binary search on every slice of strictly
        /// increasing offsets (dense, sparse, or mixed) and every target around them.
        #[test]
        fn windowed_search_is_a_binary_search(
            gaps in proptest::collection::vec(prop_oneof![Just(0u8), any::<u8>()], 0..64),
            start in 0u64..1000,
            from in 0u64..20_000,
        ) {
            let s = entries(&gaps, start);
            prop_assert_eq!(first_at_or_after(&s, from), s.partition_point(|e| e.offset < from));
        }
    }

    #[test]
    fn dense_and_sparse_lookups() {
        let dense = entries(&[0; 10], 5); // offsets 5..=14
        assert_eq!(first_at_or_after(&dense, 0), 0);
        assert_eq!(first_at_or_after(&dense, 9), 4);
        assert_eq!(first_at_or_after(&dense, 14), 9);
        assert_eq!(first_at_or_after(&dense, 15), 10);
        let sparse = entries(&[0, 9, 0, 90], 0); // offsets 0, 10, 11, 102
        assert_eq!(first_at_or_after(&sparse, 1), 1);
        assert_eq!(first_at_or_after(&sparse, 11), 2);
        assert_eq!(first_at_or_after(&sparse, 12), 3);
        assert_eq!(first_at_or_after(&sparse, 103), 4);
        assert_eq!(first_at_or_after::<()>(&[], 3), 0);
    }
}
