//! Deterministic lin-kv histories for the checker benchmarks: the harness's own lin-kv
//! generator drives a simulated correct register service.
//!
//! Operations are paced as `--rate` paces them (gaps uniform in `[0, 2/rate)`), each on
//! the worker thread free soonest. An operation takes 1–40 ms, or, with a small chance
//! (larger while a partition is on), times out after 1 s: a timed-out read fails (reads
//! are idempotent), a timed-out write or cas completes `info` (a new process for its
//! thread, which in time rotates its group's key) and takes effect at a random moment
//! within 2 s of its invocation, or never. Every other operation takes effect at a random
//! moment between its invocation and its completion, on a correct register per key: reads
//! return the value then (a missing key fails with code 20), a cas whose `from` does not
//! match fails with 22. Partitions start at once and flip with gaps uniform in
//! `[0, 2 × 10 s)`, as the nemesis does. The history is therefore linearizable.

use std::collections::HashMap;

use glomers_harness::history::{History, Op, OpType, Process};
use glomers_harness::workload::lin_kv::LinKvGenerator;
use glomers_harness::workload::{Generator, Next, Phase};
use glomers_node::Time;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

/// The shape of a generated run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shape {
    /// Nodes (thread groups are `2 ×` this).
    pub nodes: usize,
    /// Worker threads.
    pub concurrency: usize,
    /// Client operations.
    pub ops: usize,
    /// Operations per second.
    pub rate: f64,
    /// Chance that an operation times out while no partition is on.
    pub timeout_healed: f64,
    /// Chance that an operation times out during a partition.
    pub timeout_partitioned: f64,
}

impl Shape {
    /// The Raft guide's line: 3 nodes, `--concurrency 4n`, `--rate 30`, 60 s, partitions
    /// every 10 s on average.
    pub const RAFT_GUIDE: Shape = Shape {
        nodes: 3,
        concurrency: 12,
        ops: 1_800,
        rate: 30.0,
        timeout_healed: 0.002,
        timeout_partitioned: 0.03,
    };

    /// 100,000 operations: 5 nodes, 20 threads, 1,000 ops/s for 100 s, partitions.
    pub const LARGE: Shape = Shape {
        nodes: 5,
        concurrency: 20,
        ops: 100_000,
        rate: 1_000.0,
        timeout_healed: 0.002,
        timeout_partitioned: 0.03,
    };
}

const MS: u64 = 1_000_000;
const TIMEOUT: u64 = 1_000 * MS;

/// One planned operation.
struct Planned {
    thread: usize,
    process: u64,
    f: String,
    invoke_value: Value,
    invoke: u64,
    done: u64,
    timed_out: bool,
    /// When it takes effect, if it does.
    point: Option<u64>,
}

/// Partition flips (ns), starting with a partition at 0, until `end`.
fn flips(rng: &mut StdRng, end: u64) -> Vec<u64> {
    let mut t = 0;
    let mut out = vec![0];
    while t < end {
        t += rng.random_range(0..20_000 * MS);
        out.push(t);
    }
    out
}

fn partitioned(flips: &[u64], t: u64) -> bool {
    // An odd number of flips at or before t: the partition is on.
    flips.partition_point(|&f| f <= t) % 2 == 1
}

/// The operations, in invocation order, with their timing and whether they take effect.
fn plan(shape: &Shape, rng: &mut StdRng, flips: &[u64]) -> Vec<Planned> {
    let c = shape.concurrency;
    let mut gen = LinKvGenerator::new(shape.nodes, c);
    let mut free_at = vec![0u64; c];
    let mut process: Vec<u64> = (0..c as u64).collect();
    let mut infos: Vec<(u64, u64)> = Vec::new(); // (completion time, process)
    let mut out = Vec::with_capacity(shape.ops);
    let mut slot = 0u64;
    let gap = (2e9 / shape.rate) as u64;
    while out.len() < shape.ops {
        slot += rng.random_range(0..gap.max(1));
        let thread = (0..c).min_by_key(|&t| (free_at[t], t)).unwrap_or(0);
        if free_at[thread] == u64::MAX {
            break; // no thread has work (a layout the generator refuses)
        }
        let invoke = slot.max(free_at[thread]);
        // Indeterminate completions reach the generator when they happen.
        infos.retain(|&(at, p)| {
            if at > invoke {
                return true;
            }
            let op = |kind| Op {
                index: 0,
                time: Time::from_nanos(at),
                process: Process::Client(p),
                kind,
                f: "write".into(),
                value: Value::Null.into(),
                is_final: false,
                error: None,
                node: None,
            };
            gen.observe(&op(OpType::Invoke), &op(OpType::Info));
            false
        });
        let Next::Op(op) = gen.next(Phase::Main, thread, Time::from_nanos(invoke), rng) else {
            free_at[thread] = u64::MAX;
            continue;
        };
        let chance = if partitioned(flips, invoke) {
            shape.timeout_partitioned
        } else {
            shape.timeout_healed
        };
        let timed_out = rng.random_bool(chance);
        let done = invoke
            + if timed_out {
                TIMEOUT
            } else {
                rng.random_range(MS..40 * MS)
            };
        let point = match (timed_out, op.f.as_str()) {
            (false, _) => Some(rng.random_range(invoke..done)),
            (true, "read") => None,
            (true, _) => rng
                .random_bool(0.5)
                .then(|| invoke + rng.random_range(0..2 * TIMEOUT)),
        };
        if timed_out && op.f != "read" {
            infos.push((done, process[thread]));
        }
        out.push(Planned {
            thread,
            process: process[thread],
            f: op.f,
            invoke_value: op.value,
            invoke,
            done,
            timed_out,
            point,
        });
        if timed_out && out[out.len() - 1].f != "read" {
            process[thread] += c as u64;
        }
        free_at[thread] = done + 1;
    }
    out
}

/// Applies the operations that take effect to one register per key, in the order they
/// take effect; returns each operation's completion type and value.
fn outcomes(planned: &[Planned]) -> Vec<(OpType, Value)> {
    let mut order: Vec<usize> = (0..planned.len())
        .filter(|&i| planned[i].point.is_some())
        .collect();
    order.sort_by_key(|&i| (planned[i].point, i));
    let mut out: Vec<(OpType, Value)> = planned
        .iter()
        .map(|p| {
            let kind = match (p.timed_out, p.f.as_str()) {
                (true, "read") => OpType::Fail,
                (true, _) => OpType::Info,
                _ => OpType::Fail,
            };
            (kind, p.invoke_value.clone())
        })
        .collect();
    let mut registers: HashMap<String, Value> = HashMap::new();
    for i in order {
        let p = &planned[i];
        let key = p.invoke_value[0].clone();
        let current = registers.get(&key.to_string()).cloned();
        let x = &p.invoke_value[1];
        let ok = match p.f.as_str() {
            "read" => current.clone().map(|v| json!([key, v])),
            "write" => {
                registers.insert(key.to_string(), x.clone());
                Some(p.invoke_value.clone())
            }
            _ => (current.as_ref() == Some(&x[0])).then(|| {
                registers.insert(key.to_string(), x[1].clone());
                p.invoke_value.clone()
            }),
        };
        if let (Some(v), false) = (ok, p.timed_out) {
            out[i] = (OpType::Ok, v);
        }
    }
    out
}

/// A history entry at `time` ns (the plan's clock) since the start of the run.
fn entry(time: u64, process: Process, kind: OpType, f: &str, value: Value) -> Op {
    Op {
        index: 0,
        time: Time::from_nanos(time),
        process,
        kind,
        f: f.to_owned(),
        value: value.into(),
        is_final: false,
        error: None,
        node: None,
    }
}

/// A linearizable lin-kv history of `shape`, the same for the same seed.
pub fn generate(shape: &Shape, seed: u64) -> History {
    let mut rng = StdRng::seed_from_u64(seed);
    let end = (shape.ops as f64 / shape.rate * 1e9) as u64;
    let flips = flips(&mut rng, end);
    let planned = plan(shape, &mut rng, &flips);
    let done = outcomes(&planned);
    let mut events: Vec<(u64, usize, Op)> = Vec::with_capacity(planned.len() * 2);
    for (i, (p, (kind, value))) in planned.iter().zip(done).enumerate() {
        let proc_ = Process::Client(p.process);
        let mut inv = entry(
            p.invoke,
            proc_,
            OpType::Invoke,
            &p.f,
            p.invoke_value.clone(),
        );
        inv.node = Some(format!("n{}", p.thread % shape.nodes));
        let mut fin = entry(p.done, proc_, kind, &p.f, value);
        fin.node = inv.node.clone();
        if kind != OpType::Ok {
            fin.error = Some(
                if p.timed_out {
                    "net-timeout"
                } else {
                    "[precondition-failed]"
                }
                .into(),
            );
        }
        events.push((p.invoke, 2 * i, inv));
        events.push((p.done, 2 * i + 1, fin));
    }
    for (k, &t) in flips.iter().enumerate().filter(|(_, &t)| t < end) {
        let f = if k % 2 == 0 {
            "start-partition"
        } else {
            "stop-partition"
        };
        events.push((
            t,
            usize::MAX - k,
            entry(t, Process::Nemesis, OpType::Info, f, Value::Null),
        ));
    }
    events.sort_by_key(|(t, seq, _)| (*t, *seq));
    let mut h = History::default();
    for (_, _, op) in events {
        h.push(op);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use glomers_harness::checker::Validity;
    use glomers_harness::checkers::linearizable::{check, LinOpts};

    #[test]
    fn raft_shaped_histories_are_linearizable_and_deterministic() {
        let h = generate(&Shape::RAFT_GUIDE, 1);
        assert_eq!(h, generate(&Shape::RAFT_GUIDE, 1));
        assert_ne!(h, generate(&Shape::RAFT_GUIDE, 2));
        let invokes = h
            .ops
            .iter()
            .filter(|o| o.is_client() && o.kind == OpType::Invoke);
        assert_eq!(invokes.count(), Shape::RAFT_GUIDE.ops);
        let count = |k: OpType| {
            h.ops
                .iter()
                .filter(|o| o.is_client() && o.kind == k)
                .count()
        };
        assert!(count(OpType::Info) > 3, "{} info", count(OpType::Info));
        assert!(count(OpType::Ok) > 600 && count(OpType::Fail) > 100);
        let r = check(&h, &LinOpts::default());
        assert_eq!(r.valid, Validity::Valid, "{:?}", r.problems);
        assert!(r.details["key_count"].as_u64() > Some(1), "keys rotate");
    }

    #[test]
    fn a_corrupted_read_is_caught() {
        let mut h = generate(&Shape::RAFT_GUIDE, 3);
        let read = h
            .ops
            .iter()
            .rposition(|o| o.kind == OpType::Ok && o.f == "read")
            .expect("an ok read");
        // A value nobody writes (they are 0..=4).
        let mut value = h.ops[read].value.clone().into_json();
        value[1] = json!(99);
        h.ops[read].value = value.into();
        assert_eq!(check(&h, &LinOpts::default()).valid, Validity::Invalid);
    }
}
