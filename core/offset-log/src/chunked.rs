//! One key's growable log for [`crate::OffsetLog`], stored in chunks (feature `alloc`).
//!
//! A log that grows by doubling one `Vec` copies every entry again at each doubling and,
//! once large, maps and faults fresh pages for each copy. Here entries live in chunks of at
//! most `cap` entries: a full chunk is never moved or copied, the next append opens a new
//! one. A chunk whose offsets are consecutive (every offset appended here, the usual case)
//! stores only its messages, the offset of message `i` being `first + i`; the first
//! out-of-sequence offset gives the chunk an explicit offset per message. So a dense log
//! costs one `M` per entry and a sparse one (replicas, residue classes) an `M` and a `u64`.
//!
//! The chunk appends go to (the tail) is held inline in the key's log rather than at the
//! end of the vector of full ones, so an append reaches the messages' buffer straight from
//! the hash map's bucket: one dependent load fewer on the path every append takes.

use crate::offsets::Offsets;
use crate::prefetch;
use crate::{Error, InsertOutcome};
use alloc::vec::Vec;

/// Messages of consecutive or increasing offsets. Never empty while sealed; the tail chunk
/// is empty only while the whole log is.
#[derive(Debug)]
struct Chunk<M> {
    /// Offset of `msgs[0]`.
    first: u64,
    /// Empty while the chunk is dense (`msgs[i]` at `first + i`); otherwise `offsets[i]` is
    /// the offset of `msgs[i]`, strictly increasing, `offsets[0] == first`.
    offsets: Vec<u64>,
    msgs: Vec<M>,
}

impl<M> Chunk<M> {
    /// A chunk holding `msg` at `offset`, with room for `capacity` messages up front.
    fn new(offset: u64, msg: M, capacity: usize) -> Self {
        let mut msgs = Vec::with_capacity(capacity);
        msgs.push(msg);
        Chunk {
            first: offset,
            offsets: Vec::new(),
            msgs,
        }
    }

    #[inline]
    fn len(&self) -> usize {
        self.msgs.len()
    }

    #[inline]
    fn is_dense(&self) -> bool {
        self.offsets.is_empty()
    }

    /// Offset of message `i` (< len).
    #[inline]
    fn offset(&self, i: usize) -> u64 {
        if self.is_dense() {
            self.first + i as u64
        } else {
            self.offsets[i]
        }
    }

    #[inline]
    fn last(&self) -> u64 {
        self.offset(self.len() - 1)
    }

    /// Index of the first message at an offset `>= from` (`len` if none): O(1) dense,
    /// O(log len) sparse.
    #[inline]
    fn position(&self, from: u64) -> usize {
        if self.is_dense() {
            from.saturating_sub(self.first).min(self.len() as u64) as usize
        } else {
            self.offsets.partition_point(|&o| o < from)
        }
    }

    /// Gives the chunk an explicit offset per message.
    fn make_sparse(&mut self) {
        if self.is_dense() {
            let mut offsets = Vec::with_capacity(self.msgs.capacity());
            offsets.extend((0..self.len() as u64).map(|i| self.first + i));
            self.offsets = offsets;
        }
    }

    /// Stores `msg` at `offset`, which lies above every offset of the chunk, and prefetches
    /// the tail for the next appends (see the `prefetch` module).
    #[inline(always)]
    fn push(&mut self, offset: u64, msg: M) {
        if !(self.is_dense() && offset == self.first + self.len() as u64) {
            self.push_offset(offset);
        }
        self.msgs.push(msg);
        prefetch::ahead_of(self.msgs.as_ptr().wrapping_add(self.msgs.len()));
    }

    /// The offset half of [`Chunk::push`] for a chunk that is, or now becomes, sparse: off
    /// the path of appends to a dense log.
    #[inline(never)]
    fn push_offset(&mut self, offset: u64) {
        self.make_sparse();
        self.offsets.push(offset);
        prefetch::ahead_of(self.offsets.as_ptr().wrapping_add(self.offsets.len()));
    }

    /// Stores `msg` at `offset` as message `i`, where `offset` lies strictly between the
    /// offsets of messages `i - 1` and `i`.
    fn insert(&mut self, i: usize, offset: u64, msg: M) {
        if i == self.len() {
            return self.push(offset, msg);
        }
        self.make_sparse();
        self.offsets.insert(i, offset);
        self.msgs.insert(i, msg);
        self.first = self.offsets[0];
    }

    /// Moves messages `at..` (0 < at < len) into a new chunk.
    fn split_off(&mut self, at: usize, capacity: usize) -> Chunk<M> {
        let first = self.offset(at);
        let mut msgs = Vec::with_capacity(capacity);
        msgs.extend(self.msgs.drain(at..));
        let offsets = if self.is_dense() {
            Vec::new()
        } else {
            let mut offsets = Vec::with_capacity(capacity);
            offsets.extend(self.offsets.drain(at..));
            offsets
        };
        Chunk {
            first,
            offsets,
            msgs,
        }
    }

    /// Drops messages `..n` (0 < n < len).
    fn remove_front(&mut self, n: usize) {
        self.msgs.drain(..n);
        if self.is_dense() {
            self.first += n as u64;
        } else {
            self.offsets.drain(..n);
            self.first = self.offsets[0];
        }
    }
}

/// One key's log. Its chunks, in order, are `sealed` then `tail` (while the tail is not
/// empty; if it is, so is `sealed`). Invariants: chunks are at most `cap` long (the
/// capacity the caller passes, always the same for one log) and hold strictly increasing
/// offsets across the whole sequence; `len` is their total length; `offsets` holds every
/// stored offset below its `next` and above its floor.
#[derive(Debug)]
pub(crate) struct ChunkedLog<M> {
    tail: Chunk<M>,
    sealed: Vec<Chunk<M>>,
    len: usize,
    offsets: Offsets,
}

impl<M> Default for ChunkedLog<M> {
    fn default() -> Self {
        ChunkedLog {
            tail: Chunk {
                first: 0,
                offsets: Vec::new(),
                msgs: Vec::new(),
            },
            sealed: Vec::new(),
            len: 0,
            offsets: Offsets::default(),
        }
    }
}

impl<M> ChunkedLog<M> {
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The tail, if it counts as a chunk: only while it holds entries.
    #[inline]
    fn live_tail(&self) -> Option<&Chunk<M>> {
        (self.tail.len() > 0).then_some(&self.tail)
    }

    /// Chunk `ci` in order (the tail is the last), if there is one.
    #[inline]
    fn chunk(&self, ci: usize) -> Option<&Chunk<M>> {
        match self.sealed.get(ci) {
            Some(c) => Some(c),
            None if ci == self.sealed.len() => self.live_tail(),
            None => None,
        }
    }

    /// The chunks from `ci` on, as the full ones still to visit and the tail if it holds
    /// entries: what [`Entries`] walks.
    #[inline]
    fn chunks_from(&self, ci: usize) -> (&[Chunk<M>], Option<&Chunk<M>>) {
        (self.sealed.get(ci..).unwrap_or(&[]), self.live_tail())
    }

    /// The chunks in order (for the tests' view of the log's shape).
    #[cfg(test)]
    fn chunks(&self) -> impl Iterator<Item = &Chunk<M>> + '_ {
        let (sealed, tail) = self.chunks_from(0);
        sealed.iter().chain(tail)
    }

    /// Number of leading chunks satisfying `pred`, which holds for a prefix of them.
    #[inline]
    fn partition_point(&self, pred: impl Fn(&Chunk<M>) -> bool) -> usize {
        let p = self.sealed.partition_point(&pred);
        if p == self.sealed.len() && self.live_tail().is_some_and(&pred) {
            p + 1
        } else {
            p
        }
    }

    #[inline]
    pub(crate) fn next_offset(&self) -> u64 {
        self.offsets.next_offset()
    }

    #[inline]
    pub(crate) fn committed(&self) -> Option<u64> {
        self.offsets.committed()
    }

    /// Stores `msg` at `offset`, above every stored offset: into the tail while it has
    /// room, the one branch every append but one in `cap` takes.
    #[inline(always)]
    fn push_tail(&mut self, offset: u64, msg: M, cap: usize) {
        let n = self.tail.len();
        if n > 0 && n < cap {
            self.tail.push(offset, msg);
            self.len += 1;
        } else {
            self.open_tail(offset, msg, cap);
        }
    }

    /// Starts a new tail holding `msg` at `offset`, sealing the full one if there is one.
    /// The first chunk of a key grows from nothing (a key with three messages holds
    /// three); later chunks are allocated at full capacity once, since their key is
    /// evidently long.
    #[cold]
    #[inline(never)]
    fn open_tail(&mut self, offset: u64, msg: M, cap: usize) {
        if self.tail.len() == 0 {
            // An empty log (never filled, or truncated to nothing): a first chunk again.
            self.tail.first = offset;
            self.tail.offsets.clear();
            self.tail.push(offset, msg);
        } else {
            let full = core::mem::replace(&mut self.tail, Chunk::new(offset, msg, cap));
            self.sealed.push(full);
        }
        self.len += 1;
    }

    /// O(1) amortized: at most one allocation per `cap` appends, no copying.
    #[inline(always)]
    pub(crate) fn append(&mut self, msg: M, cap: usize) -> Result<u64, Error> {
        let offset = self.offsets.assignable()?;
        self.push_tail(offset, msg, cap);
        self.offsets.stored(offset);
        Ok(offset)
    }

    /// O(1) past the tail; else O(log chunks + log cap) to find the place and O(cap) to
    /// shift within one chunk (a full chunk is split in two first).
    pub(crate) fn insert_at(
        &mut self,
        offset: u64,
        msg: M,
        cap: usize,
    ) -> Result<InsertOutcome, Error>
    where
        M: PartialEq,
    {
        if let Some(outcome) = self.offsets.admit(offset)? {
            return Ok(outcome);
        }
        if self.tail.len() == 0 || self.tail.last() < offset {
            self.push_tail(offset, msg, cap);
            self.offsets.stored(offset);
            return Ok(InsertOutcome::Inserted);
        }
        // The last chunk starting at or below `offset`, or the first chunk (past the sealed
        // ones: the tail, which holds entries here).
        let mut ci = self
            .partition_point(|c| c.first <= offset)
            .saturating_sub(1);
        let chunk = self.sealed.get(ci).unwrap_or(&self.tail);
        let mut pos = chunk.position(offset);
        if pos < chunk.len() && chunk.offset(pos) == offset {
            return if chunk.msgs[pos] == msg {
                Ok(InsertOutcome::AlreadyPresent)
            } else {
                Err(Error::Conflict { offset })
            };
        }
        if chunk.len() >= cap {
            let half = chunk.len() / 2;
            if ci < self.sealed.len() {
                let upper = self.sealed[ci].split_off(half, cap);
                self.sealed.insert(ci + 1, upper);
            } else {
                // Splitting the tail: its lower half is sealed, the upper stays the tail.
                let upper = self.tail.split_off(half, cap);
                let lower = core::mem::replace(&mut self.tail, upper);
                self.sealed.push(lower);
            }
            if pos > half {
                ci += 1;
                pos -= half;
            }
        }
        match self.sealed.get_mut(ci) {
            Some(c) => c.insert(pos, offset, msg),
            None => self.tail.insert(pos, offset, msg),
        }
        self.len += 1;
        // `offset` is below a stored offset, so `next` is already above it.
        Ok(InsertOutcome::Inserted)
    }

    /// Index of the chunk holding the first offset `>= from`, and its position there.
    ///
    /// A log appended here is all dense chunks of `cap` entries after a first one of at
    /// most `cap`, so the chunk of `from` is `(from - first) / cap` or the one after: both
    /// are tried (O(1)) before a binary search over the chunks (O(log chunks)).
    #[inline]
    fn locate(&self, from: u64, cap: usize) -> Option<(usize, usize)> {
        let head = self.chunk(0)?;
        let guess =
            usize::try_from(from.saturating_sub(head.first) / cap as u64).unwrap_or(usize::MAX);
        // A chunk spanning `from` holds the first stored offset `>= from`.
        let holds = |ci: usize| {
            self.chunk(ci)
                .is_some_and(|c| c.first <= from && from <= c.last())
        };
        let ci = if holds(guess) {
            guess
        } else if holds(guess.saturating_add(1)) {
            guess + 1
        } else {
            self.partition_point(|c| c.last() < from)
        };
        let chunk = self.chunk(ci)?;
        Some((ci, chunk.position(from)))
    }

    /// At most `max` consecutive stored entries from the first offset `>= from`.
    /// O(1) to find the start in a log appended here, O(log chunks) at worst, then O(1)
    /// per entry.
    pub(crate) fn read(&self, from: u64, max: usize, cap: usize) -> Entries<'_, M> {
        let Some((ci, pos)) = self.locate(from, cap) else {
            return Entries::empty();
        };
        // Count what the view holds, walking chunks only until `max` is reached.
        let (sealed, tail) = self.chunks_from(ci);
        let mut remaining = 0usize;
        let mut skip = pos;
        for c in sealed.iter().chain(tail) {
            remaining += c.len() - skip;
            skip = 0;
            if remaining >= max {
                break;
            }
        }
        Entries::new(sealed, tail, pos, remaining.min(max))
    }

    /// The message stored at exactly `offset`.
    pub(crate) fn get(&self, offset: u64, cap: usize) -> Option<&M> {
        let (ci, pos) = self.locate(offset, cap)?;
        let c = self.chunk(ci)?;
        (c.offset(pos) == offset).then(|| &c.msgs[pos])
    }

    /// Every stored entry.
    pub(crate) fn entries(&self) -> Entries<'_, M> {
        let (sealed, tail) = self.chunks_from(0);
        Entries::new(sealed, tail, 0, self.len)
    }

    /// Raises the committed offset to `offset` if higher; returns the committed offset.
    #[inline]
    pub(crate) fn commit(&mut self, offset: u64) -> u64 {
        self.offsets.commit(offset)
    }

    /// Drops entries below `offset` and raises the floor; returns how many were dropped.
    /// Whole chunks go without touching their messages' neighbours; the boundary chunk
    /// shifts at most `cap` entries.
    pub(crate) fn truncate_before(&mut self, offset: u64) -> usize {
        self.offsets.raise_floor(offset);
        let whole = self.partition_point(|c| c.last() < offset);
        let whole_sealed = whole.min(self.sealed.len());
        let mut dropped: usize = self.sealed.drain(..whole_sealed).map(|c| c.len()).sum();
        if whole > whole_sealed {
            // Everything goes; the tail keeps its buffer for the next appends.
            dropped += self.tail.len();
            self.tail.msgs.clear();
            self.tail.offsets.clear();
        }
        let boundary = match self.sealed.first_mut() {
            Some(c) => Some(c),
            None => (self.tail.len() > 0).then_some(&mut self.tail),
        };
        if let Some(c) = boundary {
            let n = c.position(offset);
            if n > 0 {
                c.remove_front(n);
                dropped += n;
            }
        }
        self.len -= dropped;
        dropped
    }
}

/// Stored entries of one key in offset order, as `(offset, &message)`: what
/// [`crate::OffsetLog::read`] returns. Borrows the log; its length is exact.
#[derive(Debug)]
pub struct Entries<'a, M> {
    /// The current chunk's messages still to yield.
    msgs: &'a [M],
    /// Their offsets, or empty if the chunk is dense.
    offsets: &'a [u64],
    /// In a dense chunk, the offset of `msgs[0]`.
    dense_next: u64,
    /// The full chunks after the current one.
    rest: &'a [Chunk<M>],
    /// The tail chunk, after `rest`, until it is entered.
    tail: Option<&'a Chunk<M>>,
    /// Entries left to yield, `msgs` included.
    remaining: usize,
}

impl<M> Clone for Entries<'_, M> {
    fn clone(&self) -> Self {
        Entries { ..*self }
    }
}

impl<'a, M> Entries<'a, M> {
    /// A view of no entries.
    pub fn empty() -> Self {
        Entries {
            msgs: &[],
            offsets: &[],
            dense_next: 0,
            rest: &[],
            tail: None,
            remaining: 0,
        }
    }

    /// `remaining` entries of `sealed` then `tail`, from message `pos` of the first of them
    /// on (both in range).
    fn new(
        sealed: &'a [Chunk<M>],
        tail: Option<&'a Chunk<M>>,
        pos: usize,
        remaining: usize,
    ) -> Self {
        let mut e = Entries {
            rest: sealed,
            tail,
            remaining,
            ..Entries::empty()
        };
        e.enter_chunk(pos);
        e
    }

    /// Makes the next chunk (of `rest`, else the tail) current, from message `pos` on.
    #[inline]
    fn enter_chunk(&mut self, pos: usize) {
        let next = match self.rest.split_first() {
            Some((c, rest)) => {
                self.rest = rest;
                Some(c)
            }
            None => self.tail.take(),
        };
        if let Some(c) = next {
            self.msgs = &c.msgs[pos..];
            if c.is_dense() {
                self.offsets = &[];
                self.dense_next = c.first + pos as u64;
            } else {
                self.offsets = &c.offsets[pos..];
            }
        }
    }

    /// Whether the view holds no entry.
    pub fn is_empty(&self) -> bool {
        self.remaining == 0
    }

    /// Offset of the next entry, without consuming it.
    pub fn peek_offset(&self) -> Option<u64> {
        self.clone().next().map(|(offset, _)| offset)
    }
}

impl<'a, M> Iterator for Entries<'a, M> {
    type Item = (u64, &'a M);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        if self.msgs.is_empty() {
            self.enter_chunk(0);
        }
        let (msg, msgs) = self.msgs.split_first()?;
        self.msgs = msgs;
        let offset = match self.offsets.split_first() {
            Some((&offset, offsets)) => {
                self.offsets = offsets;
                offset
            }
            None => {
                self.dense_next += 1;
                self.dense_next - 1
            }
        };
        self.remaining -= 1;
        Some((offset, msg))
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }

    /// Skips whole chunks: O(chunks skipped).
    fn nth(&mut self, n: usize) -> Option<Self::Item> {
        if n >= self.remaining {
            self.remaining = 0;
            return None;
        }
        let mut n = n;
        while n >= self.msgs.len() {
            if self.rest.is_empty() && self.tail.is_none() {
                // Unreachable while `remaining` is exact; ends the view rather than loop.
                self.remaining = 0;
                return None;
            }
            n -= self.msgs.len();
            self.remaining -= self.msgs.len();
            self.msgs = &[];
            self.enter_chunk(0);
        }
        self.msgs = &self.msgs[n..];
        if self.offsets.is_empty() {
            self.dense_next += n as u64;
        } else {
            self.offsets = &self.offsets[n..];
        }
        self.remaining -= n;
        self.next()
    }
}

impl<M> ExactSizeIterator for Entries<'_, M> {}

impl<M> core::iter::FusedIterator for Entries<'_, M> {}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape<M>(log: &ChunkedLog<M>) -> Vec<(u64, usize, bool)> {
        log.chunks()
            .map(|c| (c.first, c.len(), c.is_dense()))
            .collect()
    }

    #[test]
    fn appends_fill_dense_chunks_without_offsets() {
        let mut log = ChunkedLog::default();
        for i in 0..10u32 {
            assert_eq!(log.append(i, 4), Ok(u64::from(i)));
        }
        assert_eq!(shape(&log), [(0, 4, true), (4, 4, true), (8, 2, true)]);
        // Later chunks are allocated whole; the first grew from nothing.
        assert!(log.chunk(1).is_some_and(|c| c.msgs.capacity() >= 4));
        assert!(log.chunks().all(|c| c.offsets.capacity() == 0));
    }

    #[test]
    fn a_gap_gives_only_its_chunk_offsets() {
        let mut log = ChunkedLog::default();
        for i in 0..6u32 {
            log.append(i, 4).unwrap();
        }
        assert_eq!(log.insert_at(9, 9, 4), Ok(InsertOutcome::Inserted));
        assert_eq!(shape(&log), [(0, 4, true), (4, 3, false)]);
        assert_eq!(log.chunk(1).map(|c| &c.offsets[..]), Some(&[4, 5, 9][..]));
        assert_eq!(log.append(10, 4), Ok(10));
        // Filling the gap into a full chunk splits it; offsets stay in order.
        assert_eq!(log.insert_at(7, 7, 4), Ok(InsertOutcome::Inserted));
        assert_eq!(log.insert_at(8, 8, 4), Ok(InsertOutcome::Inserted));
        let all: Vec<u64> = log.entries().map(|(o, _)| o).collect();
        assert_eq!(all, [0, 1, 2, 3, 4, 5, 7, 8, 9, 10]);
        assert!(log.chunks().all(|c| c.len() <= 4));
        assert_eq!(log.get(6, 4), None);
        assert_eq!(log.get(8, 4), Some(&8));
    }

    #[test]
    fn a_full_tail_split_by_an_insert_seals_its_lower_half() {
        let mut log = ChunkedLog::default();
        for o in [0u64, 2, 4, 6] {
            assert_eq!(log.insert_at(o, o as u32, 4), Ok(InsertOutcome::Inserted));
        }
        // One full (tail) chunk; 3 goes into its lower half, which is sealed.
        assert_eq!(log.insert_at(3, 3, 4), Ok(InsertOutcome::Inserted));
        assert_eq!(shape(&log), [(0, 3, false), (4, 2, false)]);
        assert_eq!(log.sealed.len(), 1);
        assert_eq!(log.tail.first, 4);
        // 5 lands in the tail, and appends continue there.
        assert_eq!(log.insert_at(5, 5, 4), Ok(InsertOutcome::Inserted));
        assert_eq!(log.append(7, 4), Ok(7));
        let all: Vec<u64> = log.entries().map(|(o, _)| o).collect();
        assert_eq!(all, [0, 2, 3, 4, 5, 6, 7]);
        assert_eq!(log.get(3, 4), Some(&3));
        assert_eq!(log.get(7, 4), Some(&7));
    }

    #[test]
    fn truncating_everything_keeps_offsets_and_restarts_the_tail() {
        let mut log = ChunkedLog::default();
        for i in 0..9u32 {
            log.append(i, 4).unwrap();
        }
        assert_eq!(log.truncate_before(9), 9);
        assert_eq!((log.len(), log.sealed.len(), log.tail.len()), (0, 0, 0));
        assert_eq!(log.entries().len(), 0);
        assert_eq!(log.read(0, 10, 4).len(), 0);
        // Offsets are never reused: the next append takes 9 and opens a dense chunk there.
        assert_eq!(log.append(9, 4), Ok(9));
        assert_eq!(shape(&log), [(9, 1, true)]);
        assert_eq!(log.read(0, 10, 4).collect::<Vec<_>>(), [(9, &9)]);
    }

    #[test]
    fn reads_cross_chunks_and_nth_skips_whole_chunks() {
        let mut log = ChunkedLog::default();
        for i in 0..20u32 {
            log.append(i, 3).unwrap();
        }
        let r = log.read(4, 7, 3);
        assert_eq!(r.len(), 7);
        assert_eq!(r.peek_offset(), Some(4));
        assert_eq!(
            r.map(|(o, _)| o).collect::<Vec<_>>(),
            [4, 5, 6, 7, 8, 9, 10]
        );
        let mut all = log.entries();
        assert_eq!(all.nth(13), Some((13, &13)));
        assert_eq!(all.len(), 6);
        assert_eq!(all.next(), Some((14, &14)));
        assert_eq!(log.read(20, 5, 3).len(), 0);
        assert_eq!(log.truncate_before(7), 7);
        assert_eq!(log.len(), 13);
        assert_eq!(log.entries().next(), Some((7, &7)));
    }
}
