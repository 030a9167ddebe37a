//! [`KafkaGenerator`]: the kafka operation stream, main phase and final phase.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use glomers_node::Time;
use rand::rngs::StdRng;
use rand::Rng;
use serde_json::{json, Value};

use super::{
    KafkaOpts, ASSIGN_PROBABILITY, CRASH_INTERVAL, FINAL_PHASE_LIMIT, FINAL_POLL_SPACING,
    UNPOLLED_EXTENSION_PROBABILITY,
};
use crate::history::{Op, OpType, Process};
use crate::sim::draw::uniform_span;
use crate::workload::txn::KeyPool;
use crate::workload::{Generator, Next, OpSpec, Phase};

/// A drawn `poll` or `send` not yet issued (an `assign` of its key may go first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    Poll { key: u64 },
    Send { key: u64, msg: u64 },
}

impl Pending {
    fn key(self) -> u64 {
        match self {
            Pending::Poll { key } | Pending::Send { key, .. } => key,
        }
    }

    fn op(self) -> OpSpec {
        match self {
            Pending::Poll { .. } => OpSpec {
                f: "poll".to_string(),
                value: json!([["poll"]]),
            },
            Pending::Send { key, msg } => OpSpec {
                f: "send".to_string(),
                value: json!([["send", key.to_string(), msg]]),
            },
        }
    }
}

/// What one thread does next in the final phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Crash,
    Assign,
    Poll,
}

#[derive(Debug, Clone)]
struct ThreadFinal {
    stage: Stage,
    /// Keys this thread has not yet polled up to their target offset.
    remaining: BTreeMap<u64, i64>,
    next_poll_at: Time,
}

#[derive(Debug, Clone)]
struct FinalState {
    started: Time,
    /// Highest offset seen per key when the final phase started.
    targets: BTreeMap<u64, i64>,
    threads: HashMap<usize, ThreadFinal>,
}

fn crash_op() -> OpSpec {
    OpSpec {
        f: "crash".to_string(),
        value: Value::Null,
    }
}

fn assign_op(keys: impl IntoIterator<Item = u64>, seek_to_beginning: bool) -> OpSpec {
    let keys: Vec<String> = keys.into_iter().map(|k| k.to_string()).collect();
    OpSpec {
        f: "assign".to_string(),
        value: json!({"keys": keys, "seek_to_beginning": seek_to_beginning}),
    }
}

/// The highest offset per (integer-named) key in a completed `send` or `poll` value;
/// anything else contributes nothing.
fn max_offsets(f: &str, value: &Value) -> BTreeMap<u64, i64> {
    let mut out = BTreeMap::new();
    let mut note = |key: &Value, offset: Option<i64>| {
        if let (Some(k), Some(o)) = (key.as_str().and_then(|k| k.parse::<u64>().ok()), offset) {
            let e = out.entry(k).or_insert(o);
            *e = (*e).max(o);
        }
    };
    for mop in value.as_array().into_iter().flatten() {
        let Some(mop) = mop.as_array() else { continue };
        match (f, mop.first().and_then(Value::as_str)) {
            ("send", Some("send")) if mop.len() == 3 => {
                note(&mop[1], mop[2].get(0).and_then(Value::as_i64));
            }
            ("poll", Some("poll")) if mop.len() == 2 => {
                for (k, pairs) in mop[1].as_object().into_iter().flatten() {
                    let key = Value::String(k.clone());
                    for pair in pairs.as_array().into_iter().flatten() {
                        note(&key, pair.get(0).and_then(Value::as_i64));
                    }
                }
            }
            _ => {}
        }
    }
    out
}

fn merge_max(into: &mut BTreeMap<u64, i64>, from: &BTreeMap<u64, i64>) {
    for (&k, &o) in from {
        let e = into.entry(k).or_insert(o);
        *e = (*e).max(o);
    }
}

/// The kafka operation stream.
///
/// Invariants: in the main phase every operation is a `poll`, a `send` of a message that
/// no other send to that key carries (messages per key are `1..=max_writes_per_key`), an
/// `assign` without seek (its keys are the next operation's key, sometimes plus keys with
/// unpolled acknowledged sends), or a `crash`. In the final phase each thread issues
/// `crash`, `assign` of every key seen with `seek_to_beginning`, then `poll`s until it has
/// polled every such key up to the highest offset seen for it before the final phase, and
/// nothing after [`FINAL_PHASE_LIMIT`].
#[derive(Debug, Clone)]
pub struct KafkaGenerator {
    opts: KafkaOpts,
    pool: KeyPool,
    pending: Option<Pending>,
    next_crash_at: Option<Time>,
    /// Highest acknowledged send offset per key not yet caught up by an `ok` poll.
    sent: BTreeMap<u64, i64>,
    /// Highest polled offset per key among the keys in `sent`.
    polled: BTreeMap<u64, i64>,
    /// Highest offset seen per key in any `ok` send or poll.
    seen: BTreeMap<u64, i64>,
    final_state: Option<FinalState>,
}

impl KafkaGenerator {
    /// A generator with these options.
    pub fn new(opts: KafkaOpts) -> Self {
        let opts = KafkaOpts {
            concurrency: opts.concurrency.max(1),
            ..opts
        };
        KafkaGenerator {
            pool: KeyPool::new(opts.key_count, opts.max_writes_per_key),
            opts,
            pending: None,
            next_crash_at: None,
            sent: BTreeMap::new(),
            polled: BTreeMap::new(),
            seen: BTreeMap::new(),
            final_state: None,
        }
    }

    /// Keys with an acknowledged send at an offset no `ok` poll has reached yet.
    pub fn unpolled_keys(&self) -> Vec<u64> {
        self.sent.keys().copied().collect()
    }

    /// The highest offset seen per key so far in `ok` sends and polls.
    pub fn highest_offsets(&self) -> &BTreeMap<u64, i64> {
        &self.seen
    }

    /// Twice the mean spacing between crashes, at least a nanosecond (crashes are staggered
    /// uniformly in `[0, 2 × mean)`, as Jepsen's `stagger` does).
    fn crash_window(&self) -> Duration {
        let threads = u32::try_from(self.opts.concurrency).unwrap_or(u32::MAX);
        (2 * CRASH_INTERVAL / threads).max(Duration::from_nanos(1))
    }

    fn draw(&mut self, rng: &mut StdRng) -> Pending {
        let key = self.pool.pick(rng);
        if rng.random_bool(0.5) {
            return Pending::Poll { key };
        }
        match self.pool.write(key) {
            Some(msg) => Pending::Send { key, msg },
            // `pick` returns active keys only, which always take a message.
            None => Pending::Poll { key },
        }
    }

    fn next_main(&mut self, now: Time, rng: &mut StdRng) -> Next {
        let window = self.crash_window();
        let crash_at = *self
            .next_crash_at
            .get_or_insert_with(|| now + uniform_span(window, rng));
        if now >= crash_at {
            self.next_crash_at = Some(now + uniform_span(window, rng));
            return Next::Op(crash_op());
        }
        let pending = match self.pending.take() {
            Some(p) => p,
            None => self.draw(rng),
        };
        if rng.random_bool(ASSIGN_PROBABILITY) {
            let mut keys = vec![pending.key()];
            if rng.random_bool(UNPOLLED_EXTENSION_PROBABILITY) {
                keys.extend(self.sent.keys().filter(|&&k| k != pending.key()));
            }
            self.pending = Some(pending);
            return Next::Op(assign_op(keys, false));
        }
        Next::Op(pending.op())
    }

    fn next_final(&mut self, thread: usize, now: Time, rng: &mut StdRng) -> Next {
        let seen = &self.seen;
        let FinalState {
            started,
            targets,
            threads,
        } = self.final_state.get_or_insert_with(|| FinalState {
            started: now,
            targets: seen.clone(),
            threads: HashMap::new(),
        });
        let deadline = *started + FINAL_PHASE_LIMIT;
        if now >= deadline {
            return Next::Done;
        }
        let t = threads.entry(thread).or_insert_with(|| ThreadFinal {
            stage: Stage::Crash,
            remaining: targets.clone(),
            next_poll_at: Time::ZERO,
        });
        if t.remaining.is_empty() {
            return Next::Done;
        }
        match t.stage {
            Stage::Crash => {
                t.stage = Stage::Assign;
                Next::Op(crash_op())
            }
            Stage::Assign => {
                t.stage = Stage::Poll;
                t.next_poll_at = now;
                Next::Op(assign_op(targets.keys().copied(), true))
            }
            Stage::Poll if now < t.next_poll_at => {
                Next::Wait(t.next_poll_at.min(deadline).saturating_since(now))
            }
            Stage::Poll => {
                t.next_poll_at = now + uniform_span(FINAL_POLL_SPACING, rng);
                Next::Op(Pending::Poll { key: 0 }.op())
            }
        }
    }
}

impl Generator for KafkaGenerator {
    fn next(&mut self, phase: Phase, thread: usize, now: Time, rng: &mut StdRng) -> Next {
        match phase {
            Phase::Main => self.next_main(now, rng),
            Phase::Final => self.next_final(thread, now, rng),
        }
    }

    fn observe(&mut self, _invoke: &Op, completion: &Op) {
        if completion.kind != OpType::Ok || !matches!(completion.f.as_str(), "send" | "poll") {
            return;
        }
        let offsets = max_offsets(&completion.f, &completion.value.json());
        merge_max(&mut self.seen, &offsets);
        if completion.f == "send" {
            merge_max(&mut self.sent, &offsets);
        } else {
            merge_max(&mut self.polled, &offsets);
            if let (Some(fs), Process::Client(p)) = (&mut self.final_state, completion.process) {
                let thread = (p % self.opts.concurrency as u64) as usize;
                if let Some(t) = fs.threads.get_mut(&thread) {
                    t.remaining
                        .retain(|k, target| offsets.get(k).is_none_or(|o| o < target));
                }
            }
        }
        // Forget keys whose polls have caught up with their sends.
        // (A key only ever polled is forgotten too, as in Jepsen's `poll-unseen`.)
        let polled = &self.polled;
        self.sent
            .retain(|k, s| polled.get(k).is_none_or(|o| *o < *s));
        let sent = &self.sent;
        self.polled.retain(|k, _| sent.contains_key(k));
    }

    fn has_final_phase(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests;
