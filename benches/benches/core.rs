//! Core structures against the designs of published solutions: flake ids, the offset log,
//! the G-counter merge and the transaction applier. Ids are those of `table::ROWS`.

use std::collections::HashMap;
use std::hint::black_box;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use glomers_benches::baseline::{decimal_id, merge_counter_map, LockedLog, LockedRegisters};
use glomers_benches::clock::{coarse_unix_ms, precise_unix_ms};
use glomers_flake::{Flake, NodeIndex};
use glomers_gcounter::{BoundedGCounter, MapGCounter};
use glomers_offset_log::OffsetLog;
// The kafka node's key type: what its log is keyed by in the product.
use glomers_shell::kafka::wire::Key;
use glomers_txn::{Isolation, LamportClock, MicroOp, RegisterMap};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn now_us() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros())
}

fn node() -> NodeIndex {
    match NodeIndex::new(3) {
        Ok(n) => n,
        Err(e) => panic!("node index 3: {e}"),
    }
}

/// `iters` ids from one `Flake`, reading `clock` for each.
fn mint_plain(iters: u64, clock: fn() -> u64) -> Duration {
    let mut f = Flake::with_max_lead(node(), u64::MAX);
    let start = Instant::now();
    for _ in 0..iters {
        match f.next_id(clock()) {
            Ok(id) => {
                black_box(id);
            }
            Err(e) => panic!("flake refused: {e}"),
        }
    }
    start.elapsed()
}

fn flake(c: &mut Criterion) {
    let mut g = c.benchmark_group("flake");
    g.throughput(Throughput::Elements(1));
    // Generators with an unbounded lead: one thread mints well above the 4096 ids per
    // millisecond the id format holds, so logical time runs ahead of the wall clock by
    // seconds within one warm-up, past the default 10 s bound, which would refuse ids.
    g.bench_function("flake-1t", |b| {
        b.iter_custom(|iters| mint_plain(iters, coarse_unix_ms))
    });
    g.bench_function("flake-1t-precise", |b| {
        b.iter_custom(|iters| mint_plain(iters, precise_unix_ms))
    });
    g.bench_function("uuid-v4-1t", |b| b.iter(|| black_box(uuid::Uuid::new_v4())));
    let decimal = || {
        let mut rng = rand::rng();
        black_box(decimal_id("3", rng.random::<u16>(), now_us()).ok())
    };
    g.bench_function("decimal-1t", |b| b.iter(decimal));
    g.finish();
}

const LOG_ENTRIES: usize = 1_000_000;
const LOG_KEYS: usize = 100;
const READ_MAX: usize = 10;

/// `count` appends spread over `LOG_KEYS` keys, as key indices, from a fixed seed.
fn key_sequence(count: usize) -> Vec<u8> {
    let mut rng = StdRng::seed_from_u64(7);
    (0..count)
        .map(|_| rng.random_range(0..LOG_KEYS) as u8)
        .collect()
}

/// Times `iters` appends, in chunks of at most `chunk` into a fresh log (built and dropped
/// outside the timing), so the log never holds more than `chunk` entries.
fn chunked_appends<L>(
    iters: u64,
    chunk: usize,
    fresh: impl Fn() -> L,
    mut append: impl FnMut(&mut L, usize),
) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let n = left.min(chunk as u64) as usize;
        let mut log = fresh();
        let start = Instant::now();
        for i in 0..n {
            append(&mut log, i);
        }
        total += start.elapsed();
        drop(black_box(log));
        left -= n as u64;
    }
    total
}

fn offset_log(c: &mut Criterion) {
    // Both logs are looked up by `&str`; each stores keys its own way: the baseline as
    // `String`, ours as the kafka node does (`Key`, short strings inline).
    let keys: Vec<String> = (0..LOG_KEYS).map(|k| k.to_string()).collect();
    let seq = key_sequence(LOG_ENTRIES);
    let mut g = c.benchmark_group("offset-log");
    g.throughput(Throughput::Elements(1));

    g.bench_function("append", |b| {
        b.iter_custom(|iters| {
            chunked_appends(iters, LOG_ENTRIES, OffsetLog::<Key, u64>::new, |log, i| {
                let r = log.append(keys[seq[i] as usize].as_str(), i as u64);
                black_box(r.ok());
            })
        })
    });
    g.bench_function("append-rwlock-baseline", |b| {
        b.iter_custom(|iters| {
            chunked_appends(iters, LOG_ENTRIES, LockedLog::new, |log, i| {
                black_box(log.append(&keys[seq[i] as usize], i as u64));
            })
        })
    });
    // Reads: both logs hold the same 1M entries; each read picks a key and one of its
    // stored entries at random and copies up to READ_MAX entries from there (a poll).
    let mut ours: OffsetLog<Key, u64> = OffsetLog::new();
    let theirs = LockedLog::new();
    for (i, &k) in seq.iter().enumerate() {
        if let Err(e) = ours.append(keys[k as usize].as_str(), i as u64) {
            panic!("prefill: {e}");
        }
        theirs.append(&keys[k as usize], i as u64);
    }
    let their_offsets: Vec<Vec<u64>> = keys.iter().map(|k| theirs.offsets_of(k)).collect();
    let mut rng = StdRng::seed_from_u64(11);
    // (key, our offset = position in the key's log, their offset at that position)
    let queries: Vec<(usize, u64, u64)> = (0..1 << 16)
        .map(|_| {
            let k = rng.random_range(0..LOG_KEYS);
            let pos = rng.random_range(0..their_offsets[k].len());
            (k, pos as u64, their_offsets[k][pos])
        })
        .collect();
    let mut out: Vec<(u64, u64)> = Vec::with_capacity(READ_MAX);
    let mut q = 0usize;
    g.bench_function("read", |b| {
        b.iter(|| {
            let (k, off, _) = queries[q & 0xffff];
            q = q.wrapping_add(1);
            out.clear();
            out.extend(
                ours.read(keys[k].as_str(), off, READ_MAX)
                    .map(|(offset, &msg)| (offset, msg)),
            );
            black_box(out.len())
        })
    });
    g.bench_function("read-rwlock-baseline", |b| {
        b.iter(|| {
            let (k, _, off) = queries[q & 0xffff];
            q = q.wrapping_add(1);
            theirs.read_into(&keys[k], off, READ_MAX, &mut out);
            black_box(out.len())
        })
    });
    g.finish();
}

const COUNTER_NODES: u32 = 25;

fn gcounter(c: &mut Criterion) {
    // `a` is behind `b` on the even nodes and ahead on the odd ones: a merge changes half
    // the slots, as a gossip round between two live nodes does.
    let count = |n: u32, ahead: bool| u64::from(n) * 10 + if ahead { 5 } else { 0 };
    let mut map_a = MapGCounter::new();
    let mut map_b = MapGCounter::new();
    let mut bnd_a = BoundedGCounter::<32>::new();
    let mut bnd_b = BoundedGCounter::<32>::new();
    let mut hm_a: HashMap<String, u64> = HashMap::new();
    let mut hm_b: HashMap<String, u64> = HashMap::new();
    for n in 0..COUNTER_NODES {
        let (ca, cb) = (count(n, n % 2 == 1) + 1, count(n, n % 2 == 0) + 1);
        let ok = map_a.increment(n, ca).and(map_b.increment(n, cb));
        let ok = ok.and(bnd_a.increment(n, ca)).and(bnd_b.increment(n, cb));
        if let Err(e) = ok {
            panic!("counter setup: {e}");
        }
        hm_a.insert(format!("n{n}"), ca);
        hm_b.insert(format!("n{n}"), cb);
    }
    let mut g = c.benchmark_group("gcounter");
    g.throughput(Throughput::Elements(1));
    g.bench_function("merge-map", |b| {
        b.iter_batched(
            || map_a.clone(),
            |mut x| {
                black_box(x.merge(&map_b).ok());
                x
            },
            BatchSize::SmallInput,
        )
    });
    g.bench_function("merge-bounded", |b| {
        b.iter_batched(
            || bnd_a.clone(),
            |mut x| {
                black_box(x.merge(&bnd_b).ok());
                x
            },
            BatchSize::SmallInput,
        )
    });
    g.bench_function("merge-hashmap-baseline", |b| {
        b.iter_batched(
            || hm_a.clone(),
            |mut x| {
                merge_counter_map(&mut x, &hm_b);
                x
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

const TXN_KEYS: i64 = 1000;

/// 4096 transactions of 1-4 micro-operations, half reads and half writes, over
/// `TXN_KEYS` keys, from a fixed seed.
fn transactions() -> Vec<Vec<MicroOp>> {
    let mut rng = StdRng::seed_from_u64(5);
    (0..4096)
        .map(|_| {
            (0..rng.random_range(1..=4))
                .map(|_| {
                    let key = rng.random_range(0..TXN_KEYS);
                    if rng.random_bool(0.5) {
                        MicroOp::read(key)
                    } else {
                        MicroOp::write(key, rng.random_range(0..1_000_000))
                    }
                })
                .collect()
        })
        .collect()
}

fn txn(c: &mut Criterion) {
    let txns = transactions();
    let mut g = c.benchmark_group("txn");
    g.throughput(Throughput::Elements(1));
    let mut store: RegisterMap = RegisterMap::new();
    let mut clock = LamportClock::new(0);
    let mut i = 0usize;
    g.bench_function("apply-commit", |b| {
        b.iter(|| {
            let t = &txns[i & 4095];
            i = i.wrapping_add(1);
            black_box(
                store
                    .apply(t, Isolation::ReadCommitted, clock.tick())
                    .commit(),
            )
        })
    });
    let mut store: RegisterMap = RegisterMap::new();
    let mut buf: Vec<MicroOp> = Vec::with_capacity(4);
    g.bench_function("execute-merge", |b| {
        b.iter(|| {
            let t = &txns[i & 4095];
            i = i.wrapping_add(1);
            buf.clear();
            buf.extend_from_slice(t);
            let set = store.execute(&mut buf, clock.tick());
            black_box(store.merge(&set));
            black_box(&buf);
        })
    });
    let base = LockedRegisters::new();
    g.bench_function("mutex-hashmap-baseline", |b| {
        b.iter(|| {
            let t = &txns[i & 4095];
            i = i.wrapping_add(1);
            black_box(base.apply(t))
        })
    });
    g.finish();
}

criterion_group!(benches, flake, offset_log, gcounter, txn);
criterion_main!(benches);
