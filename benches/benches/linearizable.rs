//! The lin-kv checker on generated linearizable histories (`lin_history`): one shaped like
//! the Raft guide's run (3 nodes, 12 threads, 30 ops/s for 60 s, partitions, some `info`
//! operations) and one of 100,000 operations. Throughput is client operations, so the
//! table's rate targets are "the whole history within 1 s" and "within 10 s".
//!
//! Baseline, measured in the same run: the same split per key and the same search without
//! memoization (every (set, state) pair is explored again each time the search reaches
//! it), without building the report. It isolates what the memo buys on Maelstrom-shaped
//! histories: little when keys rarely need backtracking, a great deal when many
//! indeterminate operations do. The other two candidates are not fair
//! here: the brute force tries every order (7 operations is already 5,040 orders, these
//! keys have hundreds), and a search without per-key partitioning would interleave
//! unrelated keys' indeterminate operations into one exponential space, so its time says
//! more about the history's size than about the checker.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use glomers_benches::lin_history::{generate, Shape};
use glomers_harness::checker::Validity;
use glomers_harness::checkers::linearizable::search::{search, SearchOpts, Verdict};
use glomers_harness::checkers::linearizable::split::split;
use glomers_harness::checkers::linearizable::{check, LinOpts};
use glomers_harness::history::History;

const SEED: u64 = 20_261_205;

/// The baseline: the history split per key, every key searched without memoization;
/// all must be linearizable. Returns the states explored.
fn check_without_memo(h: &History) -> u64 {
    let keys = match split(h) {
        Ok(k) => k,
        Err(e) => panic!("generated history does not split: {e}"),
    };
    let opts = SearchOpts {
        state_limit: u64::MAX,
        memoize: false,
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

fn bench_shape(c: &mut Criterion, name: &str, shape: &Shape, samples: usize) {
    let h = generate(shape, SEED);
    eprintln!(
        "linearizable/{name}: {} entries, {} states with memo, {} without",
        h.ops.len(),
        checked(&h),
        check_without_memo(&h)
    );
    let mut g = c.benchmark_group("linearizable");
    g.sample_size(samples);
    g.warm_up_time(Duration::from_millis(500));
    g.throughput(Throughput::Elements(shape.ops as u64));
    g.bench_function(name, |b| b.iter(|| black_box(checked(black_box(&h)))));
    g.bench_function(format!("{name}-no-memo-baseline"), |b| {
        b.iter(|| black_box(check_without_memo(black_box(&h))))
    });
    g.finish();
}

fn linearizable(c: &mut Criterion) {
    bench_shape(c, "raft-guide", &Shape::RAFT_GUIDE, 20);
    bench_shape(c, "ops-100k", &Shape::LARGE, 10);
}

criterion_group!(benches, linearizable);
criterion_main!(benches);
