//! History checkers against a same-run baseline: the list-append checker of
//! `glomers-harness` against `adya`, a JVM-free implementation of Elle's analyses, on one
//! strict serializable history of 20,000 transactions (Maelstrom's generator over 10 client
//! threads). Both check for strict-serializable, the default of both; each starts from its
//! own parsed history, built outside the timing. Ids are those of `table::ROWS`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use glomers_harness::checker::Validity;
use glomers_harness::checkers::list_append;
use glomers_harness::checkers::txn::Model;
use glomers_harness::history::{History, Op, OpType, Process};
use glomers_harness::workload::txn::{TxnGenerator, TxnOpts};
use glomers_harness::workload::{Generator, Next, Phase};
use glomers_node::Time;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::collections::HashMap;

/// Transactions in the benchmark history.
const TXNS: u64 = 20_000;
/// Client threads.
const THREADS: u64 = 10;

fn push(h: &mut History, process: u64, kind: OpType, value: Value) {
    // 0.1 ms per entry.
    let time = Time::from_micros(h.ops.len() as u64 * 100);
    h.push(Op {
        index: 0,
        time,
        process: Process::Client(process),
        kind,
        f: "txn".into(),
        value: value.into(),
        is_final: false,
        error: (kind != OpType::Ok && kind != OpType::Invoke).then(|| "err".into()),
        node: Some("n0".into()),
    });
}

/// A store that applies each txn atomically when it completes: 96% `ok`, 2% `fail` (not
/// applied), 2% `info` (applied or not; the thread then takes a new process number).
fn history(seed: u64) -> History {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut gen = TxnGenerator::appending(TxnOpts::default());
    let mut h = History::default();
    let mut store: HashMap<i64, Vec<i64>> = HashMap::new();
    let mut process: Vec<u64> = (0..THREADS).collect();
    let mut inflight: Vec<Option<Value>> = vec![None; THREADS as usize];
    let mut invoked = 0;
    while invoked < TXNS || inflight.iter().any(Option::is_some) {
        let t = rng.random_range(0..THREADS) as usize;
        let Some(req) = inflight[t].take() else {
            if invoked < TXNS {
                if let Next::Op(op) = gen.next(Phase::Main, t, Time::ZERO, &mut rng) {
                    push(&mut h, process[t], OpType::Invoke, op.value.clone());
                    inflight[t] = Some(op.value);
                    invoked += 1;
                }
            }
            continue;
        };
        let roll = rng.random_range(0..100);
        let apply = roll >= 2 && !(roll < 4 && rng.random_bool(0.5));
        let mut done = Vec::new();
        let mut next = store.clone();
        for m in req.as_array().into_iter().flatten() {
            let k = m[1].as_i64().unwrap_or(0);
            if m[0] == "r" {
                done.push(json!(["r", k, next.get(&k)]));
            } else {
                next.entry(k).or_default().push(m[2].as_i64().unwrap_or(0));
                done.push(m.clone());
            }
        }
        if apply {
            store = next;
        }
        match roll {
            0..2 => push(&mut h, process[t], OpType::Fail, req),
            2..4 => {
                push(&mut h, process[t], OpType::Info, req);
                process[t] += THREADS;
            }
            _ => push(&mut h, process[t], OpType::Ok, Value::Array(done)),
        }
    }
    h
}

/// The same history as adya reads it.
fn for_adya(h: &History) -> adya::History {
    match adya::History::from_json(&h.client_jsonl()) {
        Ok(h) => h,
        Err(e) => panic!("adya cannot read the history: {e}"),
    }
}

fn checkers(c: &mut Criterion) {
    let h = history(7);
    let ah = for_adya(&h);
    let models = [Model::StrictSerializable];
    let opts = adya::Opts::default();
    // Both must find the history valid, or the timings compare different work.
    let ours = list_append::check(&h, &models);
    assert_eq!(ours.valid, Validity::Valid, "{:?}", ours.problems);
    let theirs = adya::check(&ah, adya::Workload::ListAppend, &opts);
    assert_eq!(
        theirs.valid,
        adya::Valid::True,
        "{:?}",
        theirs.anomaly_types
    );

    let mut g = c.benchmark_group("list-append");
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .throughput(Throughput::Elements(TXNS));
    g.bench_function("check-20k", |b| {
        b.iter(|| black_box(list_append::check(black_box(&h), &models)))
    });
    g.bench_function("adya-20k", |b| {
        b.iter(|| {
            black_box(adya::check(
                black_box(&ah),
                adya::Workload::ListAppend,
                &opts,
            ))
        })
    });
    g.finish();
}

criterion_group!(benches, checkers);
criterion_main!(benches);
