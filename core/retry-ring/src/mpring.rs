//! [`MpRing`]: lock-free bounded MPMC queue with sequence-numbered slots.
//!
//! The algorithm is Dmitry Vyukov's bounded MPMC queue. Each slot carries a sequence
//! number `seq`; with `pos` a ticket counter (one for producers, one for consumers) and
//! `i = pos % N` its slot:
//!
//! * `seq == pos`: the slot is free for the producer holding ticket `pos`;
//! * `seq == pos + 1`: the slot holds the value of ticket `pos`, ready for its consumer;
//! * after consuming ticket `pos` the consumer sets `seq = pos + N`, freeing the slot for
//!   the producer of ticket `pos + N`.
//!
//! A thread claims a ticket with a compare-and-swap on the counter only after seeing the
//! slot in the right state, so each slot is written by exactly one producer and then read by
//! exactly one consumer; the `Release` store of `seq` after the write (or read), paired
//! with the `Acquire` load that observes it, orders the value access between them.

use core::mem::MaybeUninit;

use glomers_sync::atomic::{AtomicUsize, Ordering};
use glomers_sync::UnsafeCell;

/// Keeps the two ticket counters on separate cache lines, so producers and consumers do
/// not invalidate each other's line on every operation.
#[repr(align(64))]
struct Padded<T>(T);

struct Slot<T> {
    /// The slot's sequence number minus its index (so that every slot starts at 0 and the
    /// array can be built by a `const` repeat). Read and written only through
    /// [`MpRing::seq`] and [`MpRing::set_seq`].
    seq: AtomicUsize,
    value: UnsafeCell<MaybeUninit<T>>,
}

impl<T> Slot<T> {
    #[cfg(not(loom))]
    const fn new() -> Self {
        Slot {
            seq: AtomicUsize::new(0),
            value: UnsafeCell::new(MaybeUninit::uninit()),
        }
    }

    #[cfg(loom)]
    fn new() -> Self {
        Slot {
            seq: AtomicUsize::new(0),
            value: UnsafeCell::new(MaybeUninit::uninit()),
        }
    }
}

/// A lock-free bounded queue of at most `N` values, shared by reference between any number
/// of producers and consumers.
///
/// Invariants: every pushed value is popped at most once, and exactly once unless it is
/// still queued when the ring is dropped (then it is dropped with the ring); values pushed
/// by one thread are popped in that thread's push order (the queue is FIFO by ticket).
/// `N` must be a power of two and at least 2 (checked at compile time when
/// [`MpRing::new`] is instantiated).
///
/// **When full**, [`MpRing::push`] returns the value to the caller; it never blocks or
/// overwrites. "Full" may also be reported transiently while a consumer that has claimed
/// the oldest slot has not finished reading it.
pub struct MpRing<T, const N: usize> {
    slots: [Slot<T>; N],
    enqueue: Padded<AtomicUsize>,
    dequeue: Padded<AtomicUsize>,
}

// SAFETY: the ring only moves `T` values between threads (a value pushed on one thread is
// popped, by value, on another); it never hands out shared references to a `T`. So sending
// the ring, or sharing it by reference, is sound whenever `T: Send`. The slots' cells are
// accessed exclusively as argued in `push` and `pop`.
unsafe impl<T: Send, const N: usize> Send for MpRing<T, N> {}
// SAFETY: see the `Send` impl above: `&MpRing` only lets threads move `T`s in and out.
unsafe impl<T: Send, const N: usize> Sync for MpRing<T, N> {}

impl<T, const N: usize> MpRing<T, N> {
    const MASK: usize = N - 1;
    const VALID_N: () = assert!(
        N >= 2 && N.is_power_of_two(),
        "MpRing capacity N must be a power of two and at least 2"
    );

    /// An empty ring; `const`, so a ring can live in a `static` (not `const` under loom,
    /// whose atomics cannot be built at compile time).
    #[cfg(not(loom))]
    pub const fn new() -> Self {
        #[allow(clippy::let_unit_value)]
        let () = Self::VALID_N;
        MpRing {
            slots: [const { Slot::new() }; N],
            enqueue: Padded(AtomicUsize::new(0)),
            dequeue: Padded(AtomicUsize::new(0)),
        }
    }

    /// An empty ring (loom build: not `const`).
    #[cfg(loom)]
    pub fn new() -> Self {
        #[allow(clippy::let_unit_value)]
        let () = Self::VALID_N;
        MpRing {
            slots: core::array::from_fn(|_| Slot::new()),
            enqueue: Padded(AtomicUsize::new(0)),
            dequeue: Padded(AtomicUsize::new(0)),
        }
    }

    /// The fixed capacity `N`.
    pub const fn capacity(&self) -> usize {
        N
    }

    /// The sequence number of slot `i` (stored relative to `i`).
    #[inline]
    fn seq(&self, i: usize) -> usize {
        self.slots[i].seq.load(Ordering::Acquire).wrapping_add(i)
    }

    #[inline]
    fn set_seq(&self, i: usize, seq: usize) {
        self.slots[i]
            .seq
            .store(seq.wrapping_sub(i), Ordering::Release);
    }

    /// Enqueues `value`, or returns it as `Err(value)` when the ring is full.
    pub fn push(&self, value: T) -> Result<(), T> {
        let mut pos = self.enqueue.0.load(Ordering::Relaxed);
        loop {
            let i = pos & Self::MASK;
            let seq = self.seq(i);
            // Wrapping difference read as signed: the counters may wrap around `usize`.
            let diff = seq.wrapping_sub(pos) as isize;
            if diff == 0 {
                match self.enqueue.0.compare_exchange_weak(
                    pos,
                    pos.wrapping_add(1),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        self.slots[i].value.with_mut(|p| {
                            // SAFETY: we own ticket `pos` and saw `seq == pos` (Acquire), so
                            // the slot's previous value, if any, was fully read by its
                            // consumer, and no other thread touches the slot until we
                            // publish `seq = pos + 1` below. Writing a `MaybeUninit` never
                            // drops the old (already moved-out) contents.
                            unsafe { p.write(MaybeUninit::new(value)) }
                        });
                        self.set_seq(i, pos.wrapping_add(1));
                        return Ok(());
                    }
                    Err(current) => pos = current,
                }
            } else if diff < 0 {
                // The slot still holds the value of ticket `pos - N`: full.
                return Err(value);
            } else {
                // Another producer took ticket `pos` meanwhile; catch up.
                glomers_sync::spin_loop();
                pos = self.enqueue.0.load(Ordering::Relaxed);
            }
        }
    }

    /// Dequeues the oldest value, or `None` when the ring is empty (or its oldest value is
    /// still being written by a producer that has claimed it).
    pub fn pop(&self) -> Option<T> {
        let mut pos = self.dequeue.0.load(Ordering::Relaxed);
        loop {
            let i = pos & Self::MASK;
            let seq = self.seq(i);
            let diff = seq.wrapping_sub(pos.wrapping_add(1)) as isize;
            if diff == 0 {
                match self.dequeue.0.compare_exchange_weak(
                    pos,
                    pos.wrapping_add(1),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        let value = self.slots[i].value.with(|p| {
                            // SAFETY: we own ticket `pos` and saw `seq == pos + 1` (Acquire),
                            // so the producer of ticket `pos` fully initialised the slot and
                            // no other thread touches it until we publish `seq = pos + N`.
                            // The value is moved out exactly once; the slot is treated as
                            // uninitialised from then on.
                            unsafe { p.read().assume_init() }
                        });
                        self.set_seq(i, pos.wrapping_add(N));
                        return Some(value);
                    }
                    Err(current) => pos = current,
                }
            } else if diff < 0 {
                // The slot has not been filled for ticket `pos`: empty.
                return None;
            } else {
                // Another consumer took ticket `pos` meanwhile; catch up.
                glomers_sync::spin_loop();
                pos = self.dequeue.0.load(Ordering::Relaxed);
            }
        }
    }
}

impl<T, const N: usize> Default for MpRing<T, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T, const N: usize> core::fmt::Debug for MpRing<T, N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MpRing").field("capacity", &N).finish()
    }
}

impl<T, const N: usize> Drop for MpRing<T, N> {
    /// Drops the values still queued. With `&mut self` no other thread is mid-operation,
    /// so every slot is either empty or fully written and `pop` drains exactly the latter.
    fn drop(&mut self) {
        while self.pop().is_some() {}
    }
}
