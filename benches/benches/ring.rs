//! The retry ring's hand-off queue, `MpRing`, against `crossbeam_queue::ArrayQueue` and
//! `std::sync::mpsc::sync_channel`, all of capacity 1024 and carrying `u64`s: push/pop pairs
//! on one thread (uncontended), and two producer threads feeding one consumer (the calling
//! thread). On a full or empty queue the lock-free ones yield the thread and retry; the
//! channel blocks, which is its own policy.
//!
//! Then the buffer handoff built on `MpRing` (`glomers_retry_ring::handoff`, the shell's
//! stdin thread feeding the machine thread): a producer thread takes an emptied 64 KiB
//! buffer, writes a sequence number into it and hands it over; the calling thread checks
//! the number and hands the buffer back. The baseline does the same over two
//! `sync_channel`s (filled and emptied). Both circulate the driver's pool of three buffers
//! through rings of four; a buffer is moved, never copied, so the figure is the cost of
//! one round trip of the mechanism, parking and waking included.

use std::hint::black_box;
use std::sync::mpsc::sync_channel;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use crossbeam_queue::ArrayQueue;
use glomers_retry_ring::handoff::{self, Recv};
use glomers_retry_ring::MpRing;

const CAP: usize = 1024;

/// Bytes of one handoff buffer (the shell's stdin read size).
const BUFFER: usize = 64 * 1024;
/// Buffers in circulation (the shell's pool).
const POOL: usize = 3;
/// Ring capacity of the handoff (the shell's).
const RING: usize = 4;

fn pool() -> impl Iterator<Item = Vec<u8>> {
    (0..POOL).map(|_| Vec::with_capacity(BUFFER))
}

/// Stamps buffer number `i` into `buf`, as a reader fills it.
fn fill(buf: &mut Vec<u8>, i: u64) {
    buf.clear();
    buf.extend_from_slice(&i.to_le_bytes());
}

/// Checks that `buf` is buffer number `expect`, in order and intact.
fn check(buf: &[u8], expect: u64) {
    let got = buf
        .get(..8)
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map(u64::from_le_bytes);
    assert_eq!(got, Some(expect), "buffer out of order or torn");
}

/// `iters` buffers through the handoff and back; the time until the consumer sees the end.
fn handoff_round_trips(iters: u64) -> Duration {
    let start = Instant::now();
    let (rx, producer) = handoff::spawn::<Vec<u8>, _, _, RING>(pool(), move |tx| {
        for i in 0..iters {
            let Some(mut buf) = tx.empty() else { return };
            fill(&mut buf, i);
            if tx.send(buf).is_err() {
                return;
            }
        }
    });
    let mut next = 0u64;
    loop {
        match rx.recv(None) {
            Recv::Item(buf) => {
                check(&buf, next);
                next += 1;
                if rx.recycle(buf).is_err() {
                    panic!("handoff ring overfull");
                }
            }
            Recv::Closed => break,
            Recv::Timeout => panic!("no deadline was given"),
        }
    }
    let elapsed = start.elapsed();
    assert_eq!(next, iters, "buffers lost");
    if producer.join().is_err() {
        panic!("producer thread panicked");
    }
    elapsed
}

/// The same round trips over two `sync_channel`s.
fn channel_round_trips(iters: u64) -> Duration {
    let start = Instant::now();
    let (filled_tx, filled_rx) = sync_channel::<Vec<u8>>(RING);
    let (emptied_tx, emptied_rx) = sync_channel::<Vec<u8>>(RING);
    for buf in pool() {
        if emptied_tx.send(buf).is_err() {
            panic!("emptied channel closed");
        }
    }
    let producer = std::thread::spawn(move || {
        for i in 0..iters {
            let Ok(mut buf) = emptied_rx.recv() else {
                return;
            };
            fill(&mut buf, i);
            if filled_tx.send(buf).is_err() {
                return;
            }
        }
    });
    let mut next = 0u64;
    while let Ok(buf) = filled_rx.recv() {
        check(&buf, next);
        next += 1;
        // The producer may have finished and dropped its receiver: nothing to return to.
        let _ = emptied_tx.send(buf);
    }
    let elapsed = start.elapsed();
    assert_eq!(next, iters, "buffers lost");
    if producer.join().is_err() {
        panic!("producer thread panicked");
    }
    elapsed
}

/// Two producers push `iters` values in total while this thread pops them all; the time to
/// drain everything.
fn two_producers(
    iters: u64,
    push: impl Fn(u64) -> bool + Sync,
    mut pop: impl FnMut() -> Option<u64>,
) -> Duration {
    let push = &push;
    let produce = move |n: u64| {
        for v in 0..n {
            while !push(v) {
                std::thread::yield_now();
            }
        }
    };
    let start = Instant::now();
    std::thread::scope(|s| {
        s.spawn(move || produce(iters / 2));
        s.spawn(move || produce(iters - iters / 2));
        let mut got = 0;
        while got < iters {
            match pop() {
                Some(v) => {
                    black_box(v);
                    got += 1;
                }
                None => std::thread::yield_now(),
            }
        }
    });
    start.elapsed()
}

fn ring(c: &mut Criterion) {
    let mut g = c.benchmark_group("ring");
    g.throughput(Throughput::Elements(1));

    let mp: Box<MpRing<u64, CAP>> = Box::new(MpRing::new());
    g.bench_function("mpring-1t", |b| {
        let mut v = 0u64;
        b.iter(|| {
            v = v.wrapping_add(1);
            let pushed = mp.push(black_box(v)).is_ok();
            black_box((pushed, mp.pop()))
        })
    });
    let aq: ArrayQueue<u64> = ArrayQueue::new(CAP);
    g.bench_function("arrayqueue-1t", |b| {
        let mut v = 0u64;
        b.iter(|| {
            v = v.wrapping_add(1);
            let pushed = aq.push(black_box(v)).is_ok();
            black_box((pushed, aq.pop()))
        })
    });
    let (tx, rx) = sync_channel::<u64>(CAP);
    g.bench_function("sync-channel-1t", |b| {
        let mut v = 0u64;
        b.iter(|| {
            v = v.wrapping_add(1);
            let pushed = tx.try_send(black_box(v)).is_ok();
            black_box((pushed, rx.try_recv().ok()))
        })
    });

    g.bench_function("mpring-2p", |b| {
        b.iter_custom(|iters| {
            let q: Box<MpRing<u64, CAP>> = Box::new(MpRing::new());
            two_producers(iters, |v| q.push(v).is_ok(), || q.pop())
        })
    });
    g.bench_function("arrayqueue-2p", |b| {
        b.iter_custom(|iters| {
            let q: ArrayQueue<u64> = ArrayQueue::new(CAP);
            two_producers(iters, |v| q.push(v).is_ok(), || q.pop())
        })
    });
    g.bench_function("sync-channel-2p", |b| {
        b.iter_custom(|iters| {
            let (tx, rx) = sync_channel::<u64>(CAP);
            let start = Instant::now();
            std::thread::scope(|s| {
                for n in [iters / 2, iters - iters / 2] {
                    let tx = tx.clone();
                    s.spawn(move || {
                        for v in 0..n {
                            if tx.send(v).is_err() {
                                return;
                            }
                        }
                    });
                }
                for _ in 0..iters {
                    match rx.recv() {
                        Ok(v) => {
                            black_box(v);
                        }
                        Err(_) => break,
                    }
                }
            });
            start.elapsed()
        })
    });
    g.bench_function("handoff-64k", |b| b.iter_custom(handoff_round_trips));
    g.bench_function("sync-channel-handoff-64k", |b| {
        b.iter_custom(channel_round_trips)
    });
    g.finish();
}

criterion_group!(benches, ring);
criterion_main!(benches);
