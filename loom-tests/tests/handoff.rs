//! loom models of `glomers_retry_ring::handoff`: the producer thread handing buffers to
//! the consumer thread (the shell's stdin thread and the node's machine thread), with
//! emptied buffers going back for reuse.
//!
//! Invariant checked in every explored interleaving:
//! * no loss, no duplicate, in order: the consumer receives exactly the items sent, in
//!   send order, then `Closed`, even when the producer must wait for recycled buffers;
//! * no lost wake-up: neither side parks forever while the other has made something
//!   available or gone away (a lost wake-up leaves every thread parked, which loom
//!   reports as a deadlock);
//! * a consumer that leaves stops a producer waiting for buffers.
#![cfg(loom)]

use glomers_retry_ring::handoff::{self, Recv};
use glomers_retry_ring::MpRing;
use loom::sync::atomic::{AtomicBool, Ordering};
use loom::sync::Arc;
use loom::thread;
use loom_tests::explore;

/// Ring capacity of the modelled handoff; the pool holds fewer items than the producer
/// sends, so the producer must wait for recycled ones.
const N: usize = 2;

/// The real handoff: a pool of two buffers carries three items.
#[test]
fn items_cross_in_order_through_recycled_buffers() {
    let runs = explore(|| {
        let (rx, producer) = handoff::spawn::<u32, _, _, N>([100, 101], |tx| {
            for id in 0..3u32 {
                let Some(_buffer) = tx.empty() else {
                    return id;
                };
                assert!(tx.send(id).is_ok(), "a ring was full");
            }
            3
        });
        let mut got = Vec::new();
        loop {
            match rx.recv(None) {
                Recv::Item(id) => {
                    got.push(id);
                    assert!(rx.recycle(id).is_ok(), "a ring was full");
                }
                Recv::Closed => break,
                Recv::Timeout => panic!("no deadline was given"),
            }
        }
        assert_eq!(producer.join().expect("producer panicked"), 3);
        assert_eq!(got, [0, 1, 2]);
    });
    assert!(runs > 1, "loom explored a single interleaving");
}

/// A consumer that leaves after one item: the producer, waiting for a buffer that will
/// never come back, is woken and stops.
///
/// The producer's end unparks the consumer's thread when it is dropped. loom 0.7 cannot
/// model an unpark that reaches a thread blocked in `join` (it trips an assertion of its
/// own), so the consumer waits for the producer to be done on a flag, with yields, and
/// joins only then; the flag is set after the producer's end is dropped.
#[test]
fn a_leaving_consumer_stops_a_waiting_producer() {
    let runs = explore(|| {
        let finished = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&finished);
        let (rx, producer) = handoff::spawn::<u32, _, _, N>([7], move |tx| {
            let mut sent = 0;
            while let Some(buffer) = tx.empty() {
                if tx.send(buffer).is_err() {
                    break;
                }
                sent += 1;
            }
            drop(tx);
            flag.store(true, Ordering::Release);
            sent
        });
        assert_eq!(rx.recv(None), Recv::Item(7));
        drop(rx);
        while !finished.load(Ordering::Acquire) {
            thread::yield_now();
        }
        assert_eq!(producer.join().expect("producer panicked"), 1);
    });
    assert!(runs > 1, "loom explored a single interleaving");
}

/// TEST-ONLY MUTANT of the consumer's receive: when it sees the producer gone it reports
/// `Closed` without the second look at the ring, so an item sent between its failed `pop`
/// and its look at the flag is lost.
struct EarlyClose {
    filled: MpRing<u32, N>,
    done: AtomicBool,
}

impl EarlyClose {
    fn recv(&self) -> Option<u32> {
        loop {
            if let Some(item) = self.filled.pop() {
                return Some(item);
            }
            if self.done.load(Ordering::Acquire) {
                return None; // the bug: no final pop
            }
            thread::yield_now();
        }
    }
}

#[test]
#[should_panic(expected = "an item was lost")]
fn mutant_close_without_final_look_is_caught() {
    explore(|| {
        let shared = Arc::new(EarlyClose {
            filled: MpRing::new(),
            done: AtomicBool::new(false),
        });
        let tx = Arc::clone(&shared);
        let producer = thread::spawn(move || {
            assert!(tx.filled.push(1).is_ok());
            tx.done.store(true, Ordering::Release);
        });
        let got = shared.recv();
        producer.join().expect("producer panicked");
        assert_eq!(got, Some(1), "an item was lost");
    });
}
