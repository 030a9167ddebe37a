//! A fixed-capacity single-key log with concurrent appenders (no allocation, lock-free).

use core::fmt;
use core::mem::MaybeUninit;
use glomers_sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use glomers_sync::UnsafeCell;

/// The log is full; the message is handed back unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full<M>(pub M);

impl<M> fmt::Display for Full<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("concurrent log is full")
    }
}

/// One key's log of at most `N` entries at offsets `0..N`, appended to concurrently.
///
/// Protocol (as in a multi-producer disruptor):
/// 1. an appender *reserves* slot `i` with one `fetch_add` on the reservation counter
///    (wait-free; each index is handed out once);
/// 2. it writes its message into slot `i` and sets `published[i]`;
/// 3. it advances the *watermark* past every contiguous published slot, helping
///    appenders that published ahead of it.
///
/// Readers load the watermark and read only slots below it. Invariant: every slot below
/// the watermark is published and never written again, so readers see a gap-free prefix,
/// never a torn or missing entry. Entries are write-once: no overwrite, no removal until
/// drop.
///
/// When full, `append` returns [`Full`] with the message. The reservation counter is
/// checked before the `fetch_add`, so once it reaches `N` it stops growing: it exceeds
/// `N` by at most the number of appenders racing at that moment and cannot wrap.
/// Every reservation below `N` is filled before `append` returns (the write cannot fail
/// or panic), so the watermark never waits on an abandoned slot; it can lag only while
/// a reserving appender is between steps 1 and 3.
///
/// All of it is `N` slots inline: for large `N` put the log in a `Box`/`Arc` (`new` builds
/// it on the stack first). Works unchanged under `--cfg loom` (atomics and cells come from
/// `glomers_sync`; `new` is not `const` because loom's atomics are not).
pub struct ConcurrentLog<M, const N: usize> {
    /// Next slot to hand out; only grows (saturating near `N`, see above).
    reserved: AtomicUsize,
    /// Every slot below it is published.
    watermark: AtomicUsize,
    /// `published[i]`: slot `i` holds an initialised message.
    published: [AtomicBool; N],
    slots: [UnsafeCell<MaybeUninit<M>>; N],
}

// SAFETY: the log owns its messages and hands out only `&M` to readers on any thread, so
// sharing it needs `M: Sync`; appenders move messages in from other threads and the log
// drops them on whichever thread drops it, so it needs `M: Send`. All slot accesses are
// synchronised by the publish protocol described on the type.
unsafe impl<M: Send + Sync, const N: usize> Sync for ConcurrentLog<M, N> {}
// SAFETY: moving the log moves ownership of its messages, which requires `M: Send`.
unsafe impl<M: Send, const N: usize> Send for ConcurrentLog<M, N> {}

impl<M, const N: usize> Default for ConcurrentLog<M, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<M, const N: usize> ConcurrentLog<M, N> {
    /// An empty log of capacity `N`.
    pub fn new() -> Self {
        ConcurrentLog {
            reserved: AtomicUsize::new(0),
            watermark: AtomicUsize::new(0),
            published: core::array::from_fn(|_| AtomicBool::new(false)),
            slots: core::array::from_fn(|_| UnsafeCell::new(MaybeUninit::uninit())),
        }
    }

    /// Appends `msg` and returns its offset (unique, `< N`). Lock-free; the entry becomes
    /// visible to readers once every lower offset is published too.
    /// Error: [`Full`] (with the message) when all `N` offsets are taken.
    pub fn append(&self, msg: M) -> Result<u64, Full<M>> {
        // Relaxed: the counter only hands out distinct indices; the slot contents are
        // ordered by the `published` flags, not by it.
        if self.reserved.load(Ordering::Relaxed) >= N {
            return Err(Full(msg));
        }
        let i = self.reserved.fetch_add(1, Ordering::Relaxed);
        if i >= N {
            return Err(Full(msg));
        }
        self.slots[i].with_mut(|p| {
            // SAFETY: index `i` was returned by exactly one `fetch_add`, so this thread is
            // the only writer of slot `i`; no reader dereferences it before
            // `published[i]` is set below (readers stay under the watermark, which only
            // passes published slots), and the slot was uninitialised, so nothing leaks.
            unsafe { (*p).write(msg) };
        });
        // Read-modify-writes on the flags (here and in `advance`), not plain stores and
        // loads: an appender sets its flag, then reads its predecessor's. With plain
        // accesses two appenders publishing adjacent slots could each miss the other's
        // flag (store buffering; even SeqCst is not modelled strongly enough by loom) and
        // leave the watermark stuck below a published slot. An RMW always reads the
        // latest value in the flag's modification order, and AcqRel chains them: if the
        // predecessor's flag read `false` here, its later `swap` synchronises with that
        // read, so its own `advance` sees this flag set.
        self.published[i].swap(true, Ordering::AcqRel);
        self.advance();
        Ok(i as u64)
    }

    /// Moves the watermark past all contiguous published slots. Terminates: every
    /// iteration strictly raises `w` (success or a newer value), and `w <= N`.
    fn advance(&self) {
        let mut w = self.watermark.load(Ordering::Acquire);
        // `fetch_or(false)`: an RMW read of the flag, see `append`.
        while w < N && self.published[w].fetch_or(false, Ordering::AcqRel) {
            match self
                .watermark
                .compare_exchange(w, w + 1, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => w += 1,
                Err(now) => w = now,
            }
        }
    }

    /// Number of entries visible to readers: every offset below it is published.
    /// Only grows, up to `N`.
    pub fn watermark(&self) -> u64 {
        self.watermark.load(Ordering::Acquire) as u64
    }

    /// Same as [`Self::watermark`]: the length of the published prefix.
    pub fn len(&self) -> usize {
        self.watermark.load(Ordering::Acquire)
    }

    /// Whether nothing is published yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The fixed capacity `N`.
    pub fn capacity(&self) -> usize {
        N
    }

    /// Calls `f(offset, &msg)` for at most `max` published entries from offset `from`
    /// upwards, in offset order, below the watermark loaded once at the start. Returns
    /// how many entries were visited.
    pub fn read(&self, from: u64, max: usize, mut f: impl FnMut(u64, &M)) -> usize {
        // Acquire pairs with the release half of the CAS that raised the watermark, whose
        // thread had acquired each slot's `published` flag: the slot writes happen-before
        // this read.
        let w = self.watermark.load(Ordering::Acquire);
        let start = usize::try_from(from).map_or(w, |s| s.min(w));
        let end = start.saturating_add(max).min(w);
        for i in start..end {
            self.slots[i].with(|p| {
                // SAFETY: `i < watermark`, so slot `i` is initialised and published, and
                // it is never written again while `&self` lives (write-once slots).
                f(i as u64, unsafe { (*p).assume_init_ref() })
            });
        }
        end - start
    }
}

impl<M, const N: usize> Drop for ConcurrentLog<M, N> {
    fn drop(&mut self) {
        for i in 0..N {
            // `&mut self`: no append or read is running, and whatever gave us exclusive
            // access (a join, an `Arc` drop) ordered their effects before this.
            if self.published[i].load(Ordering::Relaxed) {
                self.slots[i].with_mut(|p| {
                    // SAFETY: published implies initialised; dropped once, here, and the
                    // log is never used again.
                    unsafe { (*p).assume_init_drop() }
                });
            }
        }
    }
}

impl<M, const N: usize> fmt::Debug for ConcurrentLog<M, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConcurrentLog")
            .field("watermark", &self.watermark())
            .field("capacity", &N)
            .finish_non_exhaustive()
    }
}
