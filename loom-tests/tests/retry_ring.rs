//! loom models of `glomers_retry_ring::MpRing`, the lock-free bounded MPMC queue
//! (sequence-numbered slots after Vyukov), at capacity 2 so that the ring wraps and fills.
//!
//! Invariant checked in every explored interleaving:
//! * no loss, no duplicate: the values popped (concurrently, then by a final drain) are
//!   exactly the values whose `push` returned `Ok`, each once, each intact;
//! * FIFO per producer: one producer's values come out in its push order, and one consumer
//!   sees one producer's values in that order too;
//! * capacity respected: without a consumer exactly `N` pushes succeed, and never more
//!   than `N` values are left queued;
//! * full hands the item back: a refused `push` returns the very value it was given;
//! * every value is dropped exactly once (by its consumer, by its refused producer, or by
//!   the ring's own drop when still queued).
#![cfg(loom)]

use std::mem::MaybeUninit;

use glomers_retry_ring::MpRing;
use glomers_sync::UnsafeCell;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;
use loom_tests::{explore, Ledger, Tracked};

/// Capacity of every modelled ring.
const N: usize = 2;

/// What a model needs of a bounded queue; implemented by the real ring and the mutant.
trait Queue: Send + Sync + 'static {
    fn push(&self, v: Tracked) -> Result<(), Tracked>;
    fn pop(&self) -> Option<Tracked>;
}

impl Queue for MpRing<Tracked, N> {
    fn push(&self, v: Tracked) -> Result<(), Tracked> {
        MpRing::push(self, v)
    }
    fn pop(&self) -> Option<Tracked> {
        MpRing::pop(self)
    }
}

/// Spawns producer `p` pushing the ids `ids[p]` in order; it returns the ids accepted.
fn spawn_producers<Ring: Queue>(
    ring: &Arc<Ring>,
    ledger: &std::sync::Arc<Ledger>,
    ids: &'static [&'static [u32]],
) -> Vec<thread::JoinHandle<Vec<u32>>> {
    ids.iter()
        .map(|&mine| {
            let ring = Arc::clone(ring);
            let ledger = std::sync::Arc::clone(ledger);
            thread::spawn(move || {
                let mut accepted = Vec::new();
                for &id in mine {
                    match ring.push(Tracked::new(id, &ledger)) {
                        Ok(()) => accepted.push(id),
                        Err(back) => {
                            assert_eq!(back.id, id, "full handed back another value");
                            assert!(back.is_intact(), "full handed back a torn value");
                        }
                    }
                }
                accepted
            })
        })
        .collect()
}

/// Spawns a consumer that tries `pops` times; it returns the ids it got, in order.
fn spawn_consumer<Ring: Queue>(ring: &Arc<Ring>, pops: usize) -> thread::JoinHandle<Vec<u32>> {
    let ring = Arc::clone(ring);
    thread::spawn(move || {
        (0..pops)
            .filter_map(|_| ring.pop())
            .map(|v| {
                assert!(v.is_intact(), "popped a torn value");
                v.id
            })
            .collect()
    })
}

/// Pops until empty (no other thread runs any more), checking the capacity bound.
fn drain<Ring: Queue>(ring: &Ring) -> Vec<u32> {
    let mut left = Vec::new();
    while let Some(v) = ring.pop() {
        assert!(v.is_intact(), "drained a torn value");
        left.push(v.id);
        assert!(left.len() <= N, "more than N values were queued");
    }
    left
}

/// Whether `seq` lists the ids of `order` that it contains in `order`'s order.
fn in_order(seq: &[u32], order: &[u32]) -> bool {
    let pos: Vec<usize> = seq
        .iter()
        .filter_map(|id| order.iter().position(|o| o == id))
        .collect();
    pos.windows(2).all(|w| w[0] < w[1])
}

/// After every thread is joined: the popped values (per consumer, then the drain) are
/// exactly the accepted ones, once each, FIFO per producer; the ring then still accepts
/// exactly `N` values; every value is dropped exactly once.
fn check_all<Ring: Queue>(
    ring: Arc<Ring>,
    ledger: &std::sync::Arc<Ledger>,
    ids: &[&[u32]],
    accepted: &[Vec<u32>],
    consumed: &[Vec<u32>],
) {
    let left = drain(&*ring);
    let mut out: Vec<u32> = consumed.iter().flatten().copied().collect();
    out.extend_from_slice(&left);
    let mut want: Vec<u32> = accepted.iter().flatten().copied().collect();
    for (p, mine) in ids.iter().enumerate() {
        assert!(
            in_order(&accepted[p], mine),
            "producer {p} accepted out of order"
        );
        for got in consumed.iter().chain(std::iter::once(&left)) {
            assert!(
                in_order(got, mine),
                "producer {p}'s values came out of order: {got:?}"
            );
        }
    }
    let n = out.len();
    out.sort_unstable();
    out.dedup();
    assert_eq!(out.len(), n, "a value was popped twice");
    want.sort_unstable();
    assert_eq!(out, want, "popped values differ from accepted ones (loss)");

    // The ring is empty and, after the wrap, still holds exactly N.
    assert!(ring.pop().is_none(), "a drained ring is not empty");
    let all: u64 = ids
        .iter()
        .flat_map(|m| m.iter())
        .fold(0, |m, &id| m | 1 << id);
    assert_eq!(
        ledger.dropped(),
        all,
        "a value dropped early, twice, or leaked"
    );
    for k in 0..N as u32 {
        assert!(ring.push(Tracked::new(60 + k, ledger)).is_ok());
    }
    let back = ring.push(Tracked::new(63, ledger));
    assert!(
        matches!(&back, Err(v) if v.id == 63),
        "a full ring took a value"
    );
    drop(back);
    drop(ring);
    let extra: u64 = (60..60 + N as u64).fold(1 << 63, |m, id| m | 1 << id);
    assert_eq!(
        ledger.dropped(),
        all | extra,
        "the ring's drop missed a value"
    );
}

/// Two producers (two values and one) and one consumer popping twice, concurrently.
fn two_producers_one_consumer_on<Ring: Queue>(make: fn() -> Ring) {
    const IDS: &[&[u32]] = &[&[0, 1], &[10]];
    let ledger = Ledger::new();
    let ring = Arc::new(make());
    let producers = spawn_producers(&ring, &ledger, IDS);
    let consumer = spawn_consumer(&ring, 2);
    let accepted: Vec<Vec<u32>> = producers
        .into_iter()
        .map(|h| h.join().expect("producer panicked"))
        .collect();
    let consumed = vec![consumer.join().expect("consumer panicked")];
    check_all(ring, &ledger, IDS, &accepted, &consumed);
}

/// The model of the module invariant on the real ring: two producers, one consumer.
#[test]
fn two_producers_one_consumer() {
    let runs = explore(|| two_producers_one_consumer_on(MpRing::<Tracked, N>::new));
    assert!(runs > 1, "loom explored a single interleaving");
}

/// One producer pushing three values into the ring of two while two consumers pop once
/// each.
#[test]
fn one_producer_two_consumers() {
    const IDS: &[&[u32]] = &[&[0, 1, 2]];
    let runs = explore(|| {
        let ledger = Ledger::new();
        let ring = Arc::new(MpRing::<Tracked, N>::new());
        let producers = spawn_producers(&ring, &ledger, IDS);
        let consumers = [spawn_consumer(&ring, 1), spawn_consumer(&ring, 1)];
        let accepted: Vec<Vec<u32>> = producers
            .into_iter()
            .map(|h| h.join().expect("producer panicked"))
            .collect();
        let consumed: Vec<Vec<u32>> = consumers
            .into_iter()
            .map(|h| h.join().expect("consumer panicked"))
            .collect();
        check_all(ring, &ledger, IDS, &accepted, &consumed);
    });
    assert!(runs > 1, "loom explored a single interleaving");
}

/// Two producers pushing two values each and no consumer: exactly `N` are accepted, the
/// others handed back; the accepted ones are dropped by the ring's own drop, once each.
#[test]
fn producers_only_capacity_respected() {
    const IDS: &[&[u32]] = &[&[0, 1], &[10, 11]];
    let runs = explore(|| {
        let ledger = Ledger::new();
        let ring = Arc::new(MpRing::<Tracked, N>::new());
        let producers = spawn_producers(&ring, &ledger, IDS);
        let accepted: Vec<u32> = producers
            .into_iter()
            .flat_map(|h| h.join().expect("producer panicked"))
            .collect();
        assert_eq!(
            accepted.len(),
            N,
            "not exactly N pushes accepted: {accepted:?}"
        );
        let all: u64 = IDS
            .iter()
            .flat_map(|m| m.iter())
            .fold(0, |m, &id| m | 1 << id);
        let queued: u64 = accepted.iter().fold(0, |m, &id| m | 1 << id);
        assert_eq!(ledger.dropped(), all & !queued, "a refused value was kept");
        drop(ring);
        assert_eq!(
            ledger.dropped(),
            all,
            "the ring's drop missed or repeated a value"
        );
    });
    assert!(runs > 1, "loom explored a single interleaving");
}

/// TEST-ONLY MUTANT: the same sequence-numbered ring, but a producer claims its ticket
/// with a load followed by a separate store of the enqueue counter instead of a
/// compare-and-swap. Two producers can then claim the same ticket and write the same slot:
/// one value is lost (or loom reports the racing writes to the slot's cell).
struct LoadStoreTicketRing {
    seq: [AtomicUsize; N],
    slots: [UnsafeCell<MaybeUninit<Tracked>>; N],
    enqueue: AtomicUsize,
    dequeue: AtomicUsize,
}

// SAFETY: only meant to be unsound in the way loom is asked to find; the values are
// `Send` and moved, never shared.
unsafe impl Sync for LoadStoreTicketRing {}

impl LoadStoreTicketRing {
    fn new() -> Self {
        LoadStoreTicketRing {
            seq: std::array::from_fn(AtomicUsize::new),
            slots: std::array::from_fn(|_| UnsafeCell::new(MaybeUninit::uninit())),
            enqueue: AtomicUsize::new(0),
            dequeue: AtomicUsize::new(0),
        }
    }
}

impl Queue for LoadStoreTicketRing {
    fn push(&self, v: Tracked) -> Result<(), Tracked> {
        let pos = self.enqueue.load(Ordering::Relaxed);
        let i = pos % N;
        if self.seq[i].load(Ordering::Acquire) != pos {
            return Err(v);
        }
        // The bug: another producer may claim the same `pos` between the load and here.
        self.enqueue.store(pos + 1, Ordering::Relaxed);
        // SAFETY: not safe in general: exactly what the model must catch.
        self.slots[i].with_mut(|p| unsafe { (*p).write(v) });
        self.seq[i].store(pos + 1, Ordering::Release);
        Ok(())
    }

    fn pop(&self) -> Option<Tracked> {
        let mut pos = self.dequeue.load(Ordering::Relaxed);
        loop {
            let i = pos % N;
            if self.seq[i].load(Ordering::Acquire) != pos + 1 {
                return None;
            }
            match self
                .dequeue
                .compare_exchange(pos, pos + 1, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => {
                    // SAFETY: slot published for ticket `pos` (Acquire above), ours alone.
                    let v = self.slots[i].with(|p| unsafe { p.read().assume_init() });
                    self.seq[i].store(pos + N, Ordering::Release);
                    return Some(v);
                }
                Err(now) => pos = now,
            }
        }
    }
}

impl Drop for LoadStoreTicketRing {
    fn drop(&mut self) {
        while self.pop().is_some() {}
    }
}

/// The two-producer model run against the load-then-store mutant must fail: loom reports
/// the two producers' unsynchronised writes to one slot's cell (the lost value's cause).
#[test]
#[should_panic(expected = "Causality violation")]
fn mutant_load_then_store_ticket_ring_is_caught() {
    explore(|| two_producers_one_consumer_on(LoadStoreTicketRing::new));
}
