//! loom models of `glomers_flake::SharedFlake`, the lock-free id generator shared by
//! threads (a wait-free `fetch_add` while the packed `(ms, seq)` counter is ahead of the
//! clock reading, a compare-and-swap loop to move it up to the reading otherwise), and of
//! its per-thread `Lease`s, which claim blocks of counter values the same way.
//!
//! Invariant checked in every explored interleaving: the ids returned by all threads are
//! pairwise distinct, each thread's ids strictly increase, every id carries the node and a
//! logical millisecond no earlier than the clock reading it was minted at, and a refused
//! call (`ClockBehind`) consumes nothing. The clock is an argument, so the models make it
//! stand still, go backwards, and disagree between threads.
#![cfg(loom)]

use glomers_flake::{FlakeError, FlakeId, NodeIndex, SharedFlake, EPOCH_UNIX_MS};
use loom::sync::atomic::{AtomicU64, Ordering};
use loom::sync::Arc;
use loom::thread;
use loom_tests::explore;

/// A clock reading well inside the id range.
const T: u64 = EPOCH_UNIX_MS + 1_000;
/// The node index every model stamps.
const NODE: u16 = 7;

/// Splits a raw id into `(ms since the epoch, node, seq)`.
fn fields(id: u64) -> (u64, u16, u16) {
    let parts = FlakeId::try_from(id)
        .expect("generated ids have the sign bit clear")
        .parts();
    (parts.unix_ms - EPOCH_UNIX_MS, parts.node.get(), parts.seq)
}

/// The checks shared by every model and mutant: `per_thread[t]` are thread `t`'s ids in
/// call order, minted at the readings `clocks[t]`. Panics with "duplicate id" or "not
/// strictly increasing" when the invariant is broken.
fn check_ids(per_thread: &[Vec<u64>], clocks: &[&[u64]]) {
    let mut all: Vec<u64> = Vec::new();
    for (t, ids) in per_thread.iter().enumerate() {
        for w in ids.windows(2) {
            assert!(
                w[0] < w[1],
                "thread {t}: ids not strictly increasing: {ids:?}"
            );
        }
        for (k, &id) in ids.iter().enumerate() {
            let (ms, node, _) = fields(id);
            assert_eq!(node, NODE, "id {id} carries the wrong node");
            assert!(
                ms >= clocks[t][k] - EPOCH_UNIX_MS,
                "id {id} is earlier than the reading it was minted at"
            );
        }
        all.extend_from_slice(ids);
    }
    let n = all.len();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), n, "duplicate id among {per_thread:?}");
}

/// Spawns one thread per entry of `clocks`; thread `t` calls `mint` once per reading in
/// `clocks[t]` and returns the ids (panicking on any error).
fn run_threads<G, F>(gen: &Arc<G>, clocks: &'static [&'static [u64]], mint: F) -> Vec<Vec<u64>>
where
    G: Send + Sync + 'static,
    F: Fn(&G, u64) -> u64 + Copy + Send + 'static,
{
    let handles: Vec<_> = clocks
        .iter()
        .map(|readings| {
            let gen = Arc::clone(gen);
            thread::spawn(move || readings.iter().map(|&now| mint(&gen, now)).collect())
        })
        .collect();
    handles
        .into_iter()
        .map(|h| h.join().expect("minting thread panicked"))
        .collect()
}

fn mint_shared(gen: &SharedFlake, now: u64) -> u64 {
    gen.next_id(now)
        .expect("the lead bound is not reached")
        .get()
}

/// Three threads take two ids each with the clock standing still at `T`.
///
/// Invariant: the six ids are distinct and increase per thread; since the clock does not
/// move, the generator is a plain counter, so they are exactly sequence numbers `0..6` of
/// millisecond `T` (no id skipped, none issued twice).
#[test]
fn three_threads_clock_standing_still() {
    const CLOCKS: &[&[u64]] = &[&[T, T], &[T, T], &[T, T]];
    let runs = explore(|| {
        let gen = Arc::new(SharedFlake::new(NodeIndex::new(NODE).expect("valid index")));
        let ids = run_threads(&gen, CLOCKS, mint_shared);
        check_ids(&ids, CLOCKS);
        let mut seqs: Vec<(u64, u16)> = ids
            .iter()
            .flatten()
            .map(|&id| {
                let (ms, _, seq) = fields(id);
                (ms, seq)
            })
            .collect();
        seqs.sort_unstable();
        let expected: Vec<(u64, u16)> = (0..6).map(|s| (T - EPOCH_UNIX_MS, s)).collect();
        assert_eq!(seqs, expected, "ids are not the first six of millisecond T");
    });
    assert!(runs > 1, "loom explored a single interleaving");
}

/// Two threads take three ids each while their clocks go backwards between calls and
/// disagree with each other.
///
/// Invariant: ids distinct, strictly increasing per thread, never earlier than the
/// reading; logical time never goes back (an id minted after both threads finished, with an
/// older reading, is above all of them); and no id is later than the latest reading given
/// (no sequence overflow here, so the generator borrows no time).
#[test]
fn two_threads_clock_going_backwards() {
    const CLOCKS: &[&[u64]] = &[&[T + 2, T + 2, T], &[T, T + 5, T + 1]];
    let runs = explore(|| {
        let gen = Arc::new(SharedFlake::new(NodeIndex::new(NODE).expect("valid index")));
        let ids = run_threads(&gen, CLOCKS, mint_shared);
        check_ids(&ids, CLOCKS);
        let max = ids.iter().flatten().copied().max().expect("six ids");
        assert!(
            fields(max).0 <= 5 + T - EPOCH_UNIX_MS,
            "id ahead of every reading"
        );
        let after = mint_shared(&gen, T);
        assert_eq!(
            after,
            max + 1,
            "logical time went back or skipped after a join"
        );
    });
    assert!(runs > 1, "loom explored a single interleaving");
}

/// A generator allowed to lead the clock by 1 ms; one thread reads `T + 5`, the other
/// first `T` (refused with `ClockBehind { lead_ms: 5 }` if the first thread went first)
/// and then `T + 5`.
///
/// Invariant: a refusal is exactly that error and consumes nothing: the successful ids are
/// distinct and per-thread increasing, and the next id after the join is the successor of
/// the largest one.
#[test]
fn refused_call_consumes_nothing() {
    let runs = explore(|| {
        let node = NodeIndex::new(NODE).expect("valid index");
        let gen = Arc::new(SharedFlake::with_max_lead(node, 1));
        let g = Arc::clone(&gen);
        let ahead = thread::spawn(move || g.next_id(T + 5));
        let g = Arc::clone(&gen);
        let behind = thread::spawn(move || (g.next_id(T), g.next_id(T + 5)));
        let a = ahead.join().expect("thread panicked");
        let (b0, b1) = behind.join().expect("thread panicked");
        let a = a
            .expect("a reading equal to the logical time is never refused")
            .get();
        let b1 = b1
            .expect("a reading equal to the logical time is never refused")
            .get();
        let mut ok = vec![a, b1];
        let mut behind_ids = vec![b1];
        match b0 {
            Ok(id) => {
                ok.push(id.get());
                behind_ids.insert(0, id.get());
            }
            Err(e) => assert_eq!(e, FlakeError::ClockBehind { lead_ms: 5 }),
        }
        let clocks: &[&[u64]] = &[&[T + 5], &[T, T + 5][2 - behind_ids.len()..]];
        check_ids(&[vec![a], behind_ids], clocks);
        let max = ok.iter().copied().max().expect("at least two ids");
        let after = gen.next_id(T + 5).expect("not ahead of the clock").get();
        assert_eq!(after, max + 1, "a refused call consumed an id");
    });
    assert!(runs > 1, "loom explored a single interleaving");
}

/// Two threads mint three ids each through their own `Lease` of blocks of 2, with the
/// clock standing still at `T` for one and stepping forward for the other, so blocks run
/// out and go stale while the other thread claims.
///
/// Invariant: ids distinct, strictly increasing per lease, never earlier than the
/// reading; an id minted directly after both threads finished is above all of them (the
/// claimed blocks were all accounted for in the shared counter).
#[test]
fn two_leases_claim_disjoint_blocks() {
    const CLOCKS: &[&[u64]] = &[&[T, T, T], &[T, T + 1, T + 1]];
    let runs = explore(|| {
        let gen = Arc::new(SharedFlake::new(NodeIndex::new(NODE).expect("valid index")));
        let handles: Vec<_> = CLOCKS
            .iter()
            .map(|readings| {
                let gen = Arc::clone(&gen);
                thread::spawn(move || {
                    let mut lease = gen.lease(2);
                    readings
                        .iter()
                        .map(|&now| {
                            lease
                                .next_id(now)
                                .expect("the lead bound is not reached")
                                .get()
                        })
                        .collect::<Vec<u64>>()
                })
            })
            .collect();
        let ids: Vec<Vec<u64>> = handles
            .into_iter()
            .map(|h| h.join().expect("minting thread panicked"))
            .collect();
        check_ids(&ids, CLOCKS);
        let max = ids.iter().flatten().copied().max().expect("six ids");
        assert!(
            mint_shared(&gen, T) > max,
            "a claimed block was not accounted for"
        );
    });
    assert!(runs > 1, "loom explored a single interleaving");
}

/// TEST-ONLY MUTANT: the shared generator with its compare-and-swap replaced by a load
/// followed by a separate store (the classic lost update). Same minting rule as
/// `SharedFlake` with an unbounded lead: issue `max(next, (wall_ms, 0))`, store that plus
/// one. Two threads can load the same `next` and issue the same id.
struct RacyLoadStoreFlake {
    next: AtomicU64,
}

impl RacyLoadStoreFlake {
    fn next_id(&self, now_unix_ms: u64) -> u64 {
        let wall = (now_unix_ms - EPOCH_UNIX_MS) << glomers_flake::SEQ_BITS;
        let cur = self.next.load(Ordering::Relaxed);
        let issue = cur.max(wall);
        // The bug: another thread may have stored between the load and this store.
        self.next.store(issue + 1, Ordering::Relaxed);
        let ms = issue >> glomers_flake::SEQ_BITS;
        let seq = issue & ((1 << glomers_flake::SEQ_BITS) - 1);
        (ms << (glomers_flake::NODE_BITS + glomers_flake::SEQ_BITS))
            | (u64::from(NODE) << glomers_flake::SEQ_BITS)
            | seq
    }
}

/// The standing-still model run against the load-then-store mutant must fail with a
/// duplicate id: proof that loom explores the interleaving the CAS exists to prevent.
#[test]
#[should_panic(expected = "duplicate id")]
fn mutant_load_then_store_flake_is_caught() {
    const CLOCKS: &[&[u64]] = &[&[T, T], &[T, T]];
    explore(|| {
        let gen = Arc::new(RacyLoadStoreFlake {
            next: AtomicU64::new(0),
        });
        let ids = run_threads(&gen, CLOCKS, |g: &RacyLoadStoreFlake, now| g.next_id(now));
        check_ids(&ids, CLOCKS);
    });
}
