//! The lin-kv checker on generated linearizable histories (`lin_history`): one shaped like
//! the Raft guide's run (3 nodes, 12 threads, 30 ops/s for 60 s, partitions, some `info`
//! operations) and one of 100,000 operations. Throughput is client operations, so the
//! table's rate targets are "the whole history within 1 s" and "within 10 s".
//!
//! Baselines, measured in the same run, with the same split per key and the same search:
//!
//! - Raft-guide shape: **memoization off** (every (set, state) pair is explored again each
//!   time the search reaches it). It shows what the memo costs where keys rarely need
//!   backtracking.
//! - 100,000 operations: **porcupine's memo policy**, every pair entered is remembered
//!   (ours remembers only the pairs it backtracked from, which prunes the same). The memo-off
//!   search is not feasible here: it is exponential in the indeterminate operations that
//!   must be tried, and on this history it ran for over eight minutes without finishing (on
//!   another seed: 11 s, 600 million states, against 0.1 s with the memo).
//!
//! The other candidates are not fair: the brute force tries every order (7 operations is
//! already 5,040 orders, these keys have hundreds), and a search without per-key
//! partitioning would interleave unrelated keys' indeterminate operations into one
//! exponential space, so its time would say more about the history than the checker.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use glomers_benches::lin_history::{generate, Shape};
use glomers_harness::checker::Validity;
use glomers_harness::checkers::linearizable::search::{search, MemoPolicy, SearchOpts, Verdict};
use glomers_harness::checkers::linearizable::split::split;
use glomers_harness::checkers::linearizable::{check, LinOpts};
use glomers_harness::history::History;

const SEED: u64 = 20_261_205;

/// The baseline: the history split per key, every key searched with `memo`; all must be
/// linearizable. Returns the states explored.
fn check_with(h: &History, memo: MemoPolicy) -> u64 {
    let keys = match split(h) {
        Ok(k) => k,
        Err(e) => panic!("generated history does not split: {e}"),
    };
    let opts = SearchOpts {
        state_limit: u64::MAX,
        memo,
        record_best: false,
    };
    let mut states = 0;
    for k in &keys {
        let out = search(&k.ops, &opts);
        if !matches!(out.verdict, Verdict::Linearizable(_)) {
            panic!("baseline: key {} not linearizable", k.key);
        }
        states += out.states;
    }
    states
}

fn checked(h: &History) -> u64 {
    let r = check(h, &LinOpts::default());
    if r.valid != Validity::Valid {
        panic!("generated history not valid: {:?}", r.problems);
    }
    r.details["states_explored"].as_u64().unwrap_or(0)
}

fn bench_shape(c: &mut Criterion, name: &str, shape: &Shape, baseline: MemoPolicy, id: &str) {
    let h = generate(shape, SEED);
    eprintln!(
        "linearizable/{name}: {} entries, {} states; baseline {baseline:?}: {} states",
        h.ops.len(),
        checked(&h),
        check_with(&h, baseline)
    );
    let mut g = c.benchmark_group("linearizable");
    g.sample_size(10);
    g.warm_up_time(Duration::from_millis(500));
    g.throughput(Throughput::Elements(shape.ops as u64));
    g.bench_function(name, |b| b.iter(|| black_box(checked(black_box(&h)))));
    g.bench_function(format!("{name}-{id}"), |b| {
        b.iter(|| black_box(check_with(black_box(&h), baseline)))
    });
    g.finish();
}

fn linearizable(c: &mut Criterion) {
    let raft = Shape::RAFT_GUIDE;
    bench_shape(c, "raft-guide", &raft, MemoPolicy::Off, "no-memo-baseline");
    let large = Shape::LARGE;
    bench_shape(
        c,
        "ops-100k",
        &large,
        MemoPolicy::Entered,
        "porcupine-memo-baseline",
    );
}

criterion_group!(benches, linearizable);
criterion_main!(benches);
