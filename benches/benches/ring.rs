//! The retry ring's hand-off queue, `MpRing`, against `crossbeam_queue::ArrayQueue` and
//! `std::sync::mpsc::sync_channel`, all of capacity 1024 and carrying `u64`s: push/pop pairs
//! on one thread (uncontended), and two producer threads feeding one consumer (the calling
//! thread). On a full or empty queue the lock-free ones yield the thread and retry; the
//! channel blocks, which is its own policy.

use std::hint::black_box;
use std::sync::mpsc::sync_channel;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use crossbeam_queue::ArrayQueue;
use glomers_retry_ring::MpRing;

const CAP: usize = 1024;

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
    g.finish();
}

criterion_group!(benches, ring);
criterion_main!(benches);
