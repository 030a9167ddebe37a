//! The multi-key growable log (feature `alloc`).

use crate::chunked::{ChunkedLog, Entries};
use crate::key::KeyEq;
use crate::{Error, InsertOutcome};
use alloc::borrow::ToOwned;
use alloc::vec::Vec;
use core::borrow::Borrow;
use core::hash::{BuildHasher, Hash};
use hashbrown::hash_map::RawEntryMut;
use hashbrown::{DefaultHashBuilder, HashMap};

/// Per-key logs of `(offset, msg)` plus committed offsets, over a hash map of keys
/// (`hashbrown` with its default `foldhash` hasher: no_std, and one probe per lookup) each
/// holding its entries in offset order in chunks of at most [`OffsetLog::chunk_capacity`]
/// entries (see the `chunked` module: a full chunk is never copied again, and a chunk of
/// consecutive offsets stores no offsets at all).
///
/// Complexity (n = entries of the key, c = chunk capacity): `append` one hash lookup + O(1)
/// (one allocation per c appends); `insert_at` one lookup + O(1) past the tail (the common
/// case: replicas arrive roughly in order), else O(log n) search + O(c) shift; `read` one
/// lookup + O(log(n / c)) to locate, then a borrowed view, O(1) per entry. Key lookups take
/// a borrowed form `Q` (`&str` for `String` or `CompactString` keys), hash it once, compare
/// by [`KeyEq`] (short strings inline, without a `memcmp` call), and make an owned key
/// (`K::from(q.to_owned())`) only when a key is first seen. `foldhash` is not
/// DoS-resistant; keys come from a test's clients, not from an adversary, and the map's
/// size is bounded by the keys they use.
#[derive(Debug)]
pub struct OffsetLog<K, M> {
    keys: HashMap<K, ChunkedLog<M>>,
    chunk: usize,
}

impl<K, M> Default for OffsetLog<K, M> {
    fn default() -> Self {
        Self::with_chunk_capacity(Self::DEFAULT_CHUNK)
    }
}

impl<K, M> OffsetLog<K, M> {
    /// Entries per chunk of [`OffsetLog::new`]: 512, a 4 KiB page of `u64` messages.
    pub const DEFAULT_CHUNK: usize = 512;

    /// An empty log whose keys store at most `capacity` entries per chunk (at least 2):
    /// larger chunks mean fewer allocations, smaller ones cheaper out-of-order inserts.
    pub fn with_chunk_capacity(capacity: usize) -> Self {
        OffsetLog {
            keys: HashMap::new(),
            chunk: capacity.max(2),
        }
    }

    /// Entries per chunk.
    pub fn chunk_capacity(&self) -> usize {
        self.chunk
    }
}

/// Decides how much of each key's log to keep; applied by [`OffsetLog::apply_retention`].
pub trait RetentionPolicy<K, M> {
    /// Given a key's stored entries (in offset order) and committed offset, returns the
    /// offset below which its entries may be dropped, or `None` to keep them all.
    fn retain_from(
        &mut self,
        key: &K,
        entries: Entries<'_, M>,
        committed: Option<u64>,
    ) -> Option<u64>;
}

/// Keeps the last `.0` stored entries of every key.
#[derive(Debug, Clone, Copy)]
pub struct KeepLast(pub usize);

impl<K, M> RetentionPolicy<K, M> for KeepLast {
    fn retain_from(
        &mut self,
        _key: &K,
        mut entries: Entries<'_, M>,
        _: Option<u64>,
    ) -> Option<u64> {
        let drop = entries.len().checked_sub(self.0)?;
        entries.nth(drop).map(|(offset, _)| offset)
    }
}

impl<K: Ord + Hash, M> OffsetLog<K, M> {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// `key`'s hash as the map computes it: equal for a key and its borrowed form.
    #[inline(always)]
    fn hash<Q: Hash + ?Sized>(&self, key: &Q) -> u64 {
        self.keys.hasher().hash_one(key)
    }

    /// `key`'s log, if it has one: one hash, one probe, compared by [`KeyEq`].
    fn find<Q>(&self, key: &Q) -> Option<&ChunkedLog<M>>
    where
        K: Borrow<Q>,
        Q: Hash + KeyEq + ?Sized,
    {
        let hash = self.hash(key);
        self.keys
            .raw_entry()
            .from_hash(hash, |k| k.borrow().key_eq(key))
            .map(|(_, l)| l)
    }

    /// `key`'s hash and its slot in the map, found as [`OffsetLog::find`] finds it.
    #[inline(always)]
    fn slot_mut<Q>(
        &mut self,
        key: &Q,
    ) -> (u64, RawEntryMut<'_, K, ChunkedLog<M>, DefaultHashBuilder>)
    where
        K: Borrow<Q>,
        Q: Hash + KeyEq + ?Sized,
    {
        let hash = self.hash(key);
        let slot = self
            .keys
            .raw_entry_mut()
            .from_hash(hash, |k| k.borrow().key_eq(key));
        (hash, slot)
    }

    /// `key`'s log, created empty on first sight of the key (the only time an owned key
    /// is made).
    #[inline(always)]
    fn key_mut<Q>(&mut self, key: &Q) -> &mut ChunkedLog<M>
    where
        K: Borrow<Q> + From<Q::Owned>,
        Q: Hash + KeyEq + ToOwned + ?Sized,
    {
        match self.slot_mut(key) {
            (_, RawEntryMut::Occupied(e)) => e.into_mut(),
            (hash, RawEntryMut::Vacant(e)) => {
                e.insert_hashed_nocheck(hash, K::from(key.to_owned()), ChunkedLog::default())
                    .1
            }
        }
    }

    /// Appends `msg` to `key`'s log at the next offset: one past the largest offset ever
    /// stored for the key (0 for a new key), so offsets strictly increase. Returns it.
    /// Error: [`Error::Exhausted`] if that offset would be `u64::MAX`.
    #[inline]
    pub fn append<Q>(&mut self, key: &Q, msg: M) -> Result<u64, Error>
    where
        K: Borrow<Q> + From<Q::Owned>,
        Q: Hash + KeyEq + ToOwned + ?Sized,
    {
        let chunk = self.chunk;
        self.key_mut(key).append(msg, chunk)
    }

    /// Stores a replicated entry at its given `offset`, keeping the key's log sorted.
    /// Idempotent: the same message again is [`InsertOutcome::AlreadyPresent`]; a
    /// different message at a taken offset is [`Error::Conflict`] and the stored one is
    /// kept. Below the retention floor: [`InsertOutcome::BelowRetention`], discarded.
    /// Afterwards `append` assigns past the largest offset held.
    pub fn insert_at<Q>(&mut self, key: &Q, offset: u64, msg: M) -> Result<InsertOutcome, Error>
    where
        K: Borrow<Q> + From<Q::Owned>,
        Q: Hash + KeyEq + ToOwned + ?Sized,
        M: PartialEq,
    {
        // Refused before the lookup, so a refused insert adds no empty key.
        if offset == u64::MAX {
            return Err(Error::Exhausted);
        }
        let chunk = self.chunk;
        self.key_mut(key).insert_at(offset, msg, chunk)
    }

    /// At most `max` stored entries of `key`, in offset order, starting at the first
    /// stored offset `>= from` and skipping none, as `(offset, &msg)`. Empty for unknown
    /// keys.
    pub fn read<Q>(&self, key: &Q, from: u64, max: usize) -> Entries<'_, M>
    where
        K: Borrow<Q>,
        Q: Hash + KeyEq + ?Sized,
    {
        self.find(key)
            .map_or_else(Entries::empty, |l| l.read(from, max, self.chunk))
    }

    /// The message stored for `key` at exactly `offset`, if any.
    pub fn get<Q>(&self, key: &Q, offset: u64) -> Option<&M>
    where
        K: Borrow<Q>,
        Q: Hash + KeyEq + ?Sized,
    {
        self.find(key).and_then(|l| l.get(offset, self.chunk))
    }

    /// Raises `key`'s committed offset to `offset`, never lowering it (a stale or
    /// reordered commit is a no-op). Returns the committed offset now in force.
    pub fn commit<Q>(&mut self, key: &Q, offset: u64) -> u64
    where
        K: Borrow<Q> + From<Q::Owned>,
        Q: Hash + KeyEq + ToOwned + ?Sized,
    {
        self.key_mut(key).commit(offset)
    }

    /// `key`'s committed offset, `None` if never committed.
    pub fn committed<Q>(&self, key: &Q) -> Option<u64>
    where
        K: Borrow<Q>,
        Q: Hash + KeyEq + ?Sized,
    {
        self.find(key).and_then(|l| l.committed())
    }

    /// The offset the next `append` to `key` assigns (0 for an unknown key).
    pub fn next_offset<Q>(&self, key: &Q) -> u64
    where
        K: Borrow<Q>,
        Q: Hash + KeyEq + ?Sized,
    {
        self.find(key).map_or(0, |l| l.next_offset())
    }

    /// Drops `key`'s entries below `offset` and raises its retention floor to it: reads
    /// from below start at the first retained entry, replicated entries below are
    /// discarded, offsets are never reused. Returns how many entries were dropped. A key
    /// the log does not know yet gets the floor all the same (the entries below it that
    /// arrive later are discarded), so a node that learns a floor before the entries does
    /// not store what its peers dropped.
    pub fn truncate_before<Q>(&mut self, key: &Q, offset: u64) -> usize
    where
        K: Borrow<Q> + From<Q::Owned>,
        Q: Hash + KeyEq + ToOwned + ?Sized,
    {
        self.key_mut(key).truncate_before(offset)
    }

    /// Runs `policy` over every key (in no particular order) and truncates as it says;
    /// returns entries dropped.
    pub fn apply_retention(&mut self, policy: &mut impl RetentionPolicy<K, M>) -> usize {
        let mut dropped = 0;
        for (k, l) in self.keys.iter_mut() {
            if let Some(off) = policy.retain_from(k, l.entries(), l.committed()) {
                dropped += l.truncate_before(off);
            }
        }
        dropped
    }

    /// The keys with a log or a commit, in key order (sorted on each call: O(k log k)).
    pub fn keys(&self) -> impl Iterator<Item = &K> + '_ {
        let mut keys: Vec<&K> = self.keys.keys().collect();
        keys.sort_unstable();
        keys.into_iter()
    }

    /// Number of stored entries of `key`.
    pub fn len<Q>(&self, key: &Q) -> usize
    where
        K: Borrow<Q>,
        Q: Hash + KeyEq + ?Sized,
    {
        self.find(key).map_or(0, |l| l.len())
    }
}
