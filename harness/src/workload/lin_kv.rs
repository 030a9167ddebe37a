//! The lin-kv workload (reference 7.7): independent compare-and-set registers, one per
//! key, as Maelstrom runs Jepsen's `linearizable-register` test through
//! `jepsen.independent`.
//!
//! - [`LinKvGenerator`]: worker threads are split into groups of `2N` (N = node count);
//!   each group works on one key at a time. Threads `0..N` (absolute numbers, so only in
//!   the first group, as Jepsen's `reserve` codes it) only `read`; every other thread
//!   draws `write` (⅓) or `cas` (⅔) with values uniform in `0..=4`. A group moves to a
//!   fresh key (the next integer no group has used) once its threads would have used more
//!   than [`PROCESS_LIMIT`] distinct process numbers on the current key (a thread takes a
//!   new process number after each `info`, reference 2.7). Without indeterminate results a
//!   group stays on its key for the whole run, as in Maelstrom. No final phase.
//! - [`LinKvClient`]: one RPC per operation (`read`, `write`, `cas`), reusable; `read` is
//!   idempotent, so its timeouts and errors are `fail`; a `write` or `cas` timeout or an
//!   indefinite error code is `info`, a definite code (20 key-does-not-exist, 22
//!   precondition-failed, 11 temporarily-unavailable, ...) is `fail`. The RPC timeout is
//!   `max(10 × mean latency, 1 s)`.
//!
//! Flags: `--concurrency` must be a positive multiple of `2N` and `N` at most 10
//! ([`check_layout`]); Maelstrom's generator asserts the first and never produces an
//! operation beyond the second. `--key-count`, `--max-txn-length` and
//! `--max-writes-per-key` do not apply (Maelstrom ignores them for lin-kv too).
//!
//! History values (`crate::history`): `read` is `[k, null]` and completes `[k, v]`;
//! `write` is `[k, v]`; `cas` is `[k, [from, to]]`; both complete with the same value.

use std::collections::HashSet;
use std::time::Duration;

use glomers_node::Time;
use rand::rngs::StdRng;
use rand::Rng;
use serde_json::{json, Value};

use super::rpc::{complete, ErrorStyle, FieldKind};
use super::{Client, Generator, Next, OpSpec, Phase, Reply, Step};

/// Distinct process numbers a group may use on one key (Jepsen's `process-limit` 20).
pub const PROCESS_LIMIT: usize = 20;

/// Written and compared values are uniform in `0..VALUES` (Jepsen's `rand-int 5`).
pub const VALUES: u64 = 5;

/// Checks Maelstrom's constraints on the thread layout: `concurrency` a positive multiple
/// of `2 × nodes`, and a group (`2 × nodes` threads) no larger than [`PROCESS_LIMIT`].
pub fn check_layout(nodes: usize, concurrency: usize) -> Result<(), String> {
    let group = 2 * nodes;
    if group == 0 || concurrency == 0 || concurrency % group != 0 {
        return Err(format!(
            "lin-kv needs a positive multiple of 2 × node count ({group}) worker threads, \
             got {concurrency}; try --concurrency 2n"
        ));
    }
    if group > PROCESS_LIMIT {
        return Err(format!(
            "lin-kv runs at most {} nodes: a group of 2 × {nodes} threads exceeds the \
             {PROCESS_LIMIT}-process limit per key, so no key could ever be used",
            PROCESS_LIMIT / 2
        ));
    }
    Ok(())
}

/// One group of threads and the key it works on.
#[derive(Debug, Clone)]
struct Group {
    key: u64,
    /// Every process number seen in the group since `key` started.
    seen: HashSet<u64>,
}

/// The lin-kv operation stream.
///
/// Invariants: thread `t` belongs to group `t / (2N)`; every operation of a group names
/// the group's current key; a group never returns to a key and no two groups share one;
/// the processes a group has used on its current key never exceed [`PROCESS_LIMIT`];
/// values are in `0..VALUES`.
#[derive(Debug, Clone)]
pub struct LinKvGenerator {
    nodes: usize,
    concurrency: usize,
    groups: Vec<Group>,
    /// Indeterminate completions per thread so far: thread `t`'s process is
    /// `t + concurrency × infos[t]`.
    infos: Vec<u64>,
    next_key: u64,
}

impl LinKvGenerator {
    /// A generator for `nodes` nodes and `concurrency` threads. Threads beyond the last
    /// whole group (a layout [`check_layout`] refuses) get no operations.
    pub fn new(nodes: usize, concurrency: usize) -> Self {
        let nodes = nodes.max(1);
        let group_count = concurrency / (2 * nodes);
        let groups = (0..group_count as u64)
            .map(|key| Group {
                key,
                seen: HashSet::new(),
            })
            .collect();
        LinKvGenerator {
            nodes,
            concurrency,
            groups,
            infos: vec![0; concurrency],
            next_key: group_count as u64,
        }
    }

    /// The key group `g` works on now.
    pub fn key_of_group(&self, g: usize) -> Option<u64> {
        self.groups.get(g).map(|gr| gr.key)
    }

    fn process(&self, thread: usize) -> u64 {
        thread as u64 + self.concurrency as u64 * self.infos[thread]
    }

    /// The key thread `thread` is to use, rotating its group's key first when the group's
    /// processes would exceed the limit (Jepsen's `process-limit`, which counts every
    /// process of the group's threads, busy or free).
    fn key_for(&mut self, thread: usize) -> Option<u64> {
        let size = 2 * self.nodes;
        let g = thread / size;
        if g >= self.groups.len() {
            return None;
        }
        let current: Vec<u64> = (g * size..(g + 1) * size)
            .map(|t| self.process(t))
            .collect();
        let group = self.groups.get_mut(g)?;
        let mut seen = group.seen.clone();
        seen.extend(current.iter().copied());
        if seen.len() > PROCESS_LIMIT {
            group.key = self.next_key;
            self.next_key += 1;
            seen = current.into_iter().collect();
        }
        group.seen = seen;
        Some(group.key)
    }

    /// One operation for `thread` on key `key`.
    fn op(&self, thread: usize, key: u64, rng: &mut StdRng) -> OpSpec {
        if thread < self.nodes {
            return OpSpec {
                f: "read".into(),
                value: json!([key, null]),
            };
        }
        // Jepsen's `(gen/mix [w cas cas])`.
        if rng.random_range(0..3) == 0 {
            OpSpec {
                f: "write".into(),
                value: json!([key, rng.random_range(0..VALUES)]),
            }
        } else {
            let (from, to) = (rng.random_range(0..VALUES), rng.random_range(0..VALUES));
            OpSpec {
                f: "cas".into(),
                value: json!([key, [from, to]]),
            }
        }
    }
}

impl Generator for LinKvGenerator {
    fn next(&mut self, phase: Phase, thread: usize, _now: Time, rng: &mut StdRng) -> Next {
        if phase == Phase::Final || thread >= self.infos.len() {
            return Next::Done;
        }
        match self.key_for(thread) {
            Some(key) => Next::Op(self.op(thread, key, rng)),
            None => Next::Done,
        }
    }

    fn observe(&mut self, invoke: &crate::history::Op, completion: &crate::history::Op) {
        if completion.kind != crate::history::OpType::Info {
            return;
        }
        if let crate::history::Process::Client(p) = invoke.process {
            let thread = (p % self.concurrency.max(1) as u64) as usize;
            if let Some(n) = self.infos.get_mut(thread) {
                *n += 1;
            }
        }
    }

    fn has_final_phase(&self) -> bool {
        false
    }
}

/// The RPC timeout of Maelstrom's lin-kv client: `max(10 × mean latency, 1000 ms)`.
pub fn rpc_timeout(mean_latency_ms: u64) -> Duration {
    Duration::from_millis(mean_latency_ms.saturating_mul(10).max(1000))
}

/// The lin-kv client: one RPC per operation.
///
/// Invariants: an `ok` read completes with `[k, v]` where `v` is the reply's `value`
/// (`null` included); an `ok` write or cas completes with its invoke value; a malformed
/// reply (closed schemas, reference 2.3) completes `info` whatever the operation.
#[derive(Debug, Clone)]
pub struct LinKvClient {
    timeout: Duration,
    current: Option<OpSpec>,
}

impl LinKvClient {
    /// A client with this RPC timeout (see [`rpc_timeout`]).
    pub fn new(timeout: Duration) -> Self {
        LinKvClient {
            timeout,
            current: None,
        }
    }
}

/// The request body of a lin-kv operation, or why its value is not `[k, x]` of the
/// right shape.
fn request(op: &OpSpec) -> Result<Value, String> {
    let pair = op
        .value
        .as_array()
        .filter(|a| a.len() == 2)
        .ok_or_else(|| format!("not a [key, value] pair: {}", op.value))?;
    let (key, x) = (&pair[0], &pair[1]);
    match op.f.as_str() {
        "read" => Ok(json!({"type": "read", "key": key})),
        "write" => Ok(json!({"type": "write", "key": key, "value": x})),
        "cas" => match x.as_array().map(Vec::as_slice) {
            Some([from, to]) => Ok(json!({"type": "cas", "key": key, "from": from, "to": to})),
            _ => Err(format!("cas value is not [from, to]: {x}")),
        },
        f => Err(format!("unknown lin-kv function {f}")),
    }
}

impl Client for LinKvClient {
    fn start(&mut self, op: &OpSpec) -> Step {
        match request(op) {
            Ok(body) => {
                self.current = Some(op.clone());
                Step::Call {
                    body,
                    timeout: self.timeout,
                }
            }
            Err(why) => Step::Done(super::Completion::Fail(why)),
        }
    }

    fn on_reply(&mut self, reply: Reply) -> Step {
        let Some(op) = self.current.take() else {
            return Step::Done(super::Completion::Info(
                "indeterminate: reply with no operation in flight".into(),
            ));
        };
        let key = op.value.get(0).cloned().unwrap_or(Value::Null);
        let done = match op.f.as_str() {
            "read" => complete(
                ErrorStyle::Wrapped { idempotent: true },
                &reply,
                "read_ok",
                &[("value", FieldKind::Any)],
                |o| json!([key, o.get("value").cloned().unwrap_or(Value::Null)]),
            ),
            f => {
                let ok = if f == "write" { "write_ok" } else { "cas_ok" };
                complete(
                    ErrorStyle::Wrapped { idempotent: false },
                    &reply,
                    ok,
                    &[],
                    |_| op.value.clone(),
                )
            }
        };
        Step::Done(done)
    }

    fn reusable(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests;
