//! The kafka workload (reference 7.8): replicated append-only logs keyed by strings.
//!
//! - [`KafkaGenerator`]: Jepsen's kafka generator as Maelstrom configures it (single
//!   micro-op ops, `assign` subscriptions, client crashes): ½ `poll`, ½ `send` over a
//!   [`KeyPool`], occasional `assign`s (some extended with keys that have acknowledged but
//!   not yet polled sends), `crash`es at a mean spacing of 30 s per client, and a final
//!   phase in which every thread re-reads every key from the beginning until it has seen
//!   the highest offset known for each, for at most 10 s.
//! - [`KafkaClient`]: Maelstrom's kafka client: a local map of next offsets per assigned
//!   key, `poll` followed by `commit_offsets`, `assign` through `list_committed_offsets`,
//!   and errors mapped as Maelstrom's `with-errors` maps them (`assign` is idempotent).

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::Rng;
use serde_json::{json, Map, Value};

use super::txn::{expect_reply, KeyPool, ReplyError, DEFAULT_RPC_TIMEOUT};
use super::{Client, Completion, Generator, Next, OpSpec, Phase, Reply, Step};
use crate::history::{Op, OpType, Process};

/// Probability that an `assign` is emitted before an operation (the operation follows
/// later).
pub const ASSIGN_PROBABILITY: f64 = 1.0 / 64.0;

/// Probability that an `assign` is extended with the keys that have acknowledged but not
/// yet polled sends.
pub const UNPOLLED_EXTENSION_PROBABILITY: f64 = 1.0 / 3.0;

/// Mean time between two crashes of one client; the whole test crashes a client every
/// `CRASH_INTERVAL / concurrency` on average.
pub const CRASH_INTERVAL: Duration = Duration::from_secs(30);

/// Final-phase polls of one thread are spaced uniformly in `[0, FINAL_POLL_SPACING)`.
pub const FINAL_POLL_SPACING: Duration = Duration::from_millis(400);

/// The final phase issues no operation later than this after it started.
pub const FINAL_PHASE_LIMIT: Duration = Duration::from_secs(10);

/// Options of the kafka generator (Maelstrom's `--key-count`, `--max-writes-per-key`,
/// `--concurrency`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KafkaOpts {
    /// Active keys at any time (default 10).
    pub key_count: usize,
    /// Messages sent to one key before it is retired (default 16).
    pub max_writes_per_key: u64,
    /// Worker threads: must be the runner's concurrency, since a completion's thread is
    /// its process number modulo the concurrency (default 1; 0 is treated as 1).
    pub concurrency: usize,
}

impl Default for KafkaOpts {
    fn default() -> Self {
        KafkaOpts {
            key_count: 10,
            max_writes_per_key: 16,
            concurrency: 1,
        }
    }
}

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
    next_poll_at: u64,
}

#[derive(Debug, Clone)]
struct FinalState {
    started: u64,
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

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
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
    next_crash_at: Option<u64>,
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

    /// Twice the mean spacing between crashes, in nanoseconds (crashes are staggered
    /// uniformly in `[0, 2 × mean)`, as Jepsen's `stagger` does).
    fn crash_window(&self) -> u64 {
        (2 * nanos(CRASH_INTERVAL) / self.opts.concurrency as u64).max(1)
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

    fn next_main(&mut self, now: u64, rng: &mut StdRng) -> Next {
        let window = self.crash_window();
        let crash_at = *self
            .next_crash_at
            .get_or_insert_with(|| now.saturating_add(rng.random_range(0..window)));
        if now >= crash_at {
            self.next_crash_at = Some(now.saturating_add(rng.random_range(0..window)));
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

    fn next_final(&mut self, thread: usize, now: u64, rng: &mut StdRng) -> Next {
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
        let deadline = started.saturating_add(nanos(FINAL_PHASE_LIMIT));
        if now >= deadline {
            return Next::Done;
        }
        let t = threads.entry(thread).or_insert_with(|| ThreadFinal {
            stage: Stage::Crash,
            remaining: targets.clone(),
            next_poll_at: 0,
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
                Next::Wait(Duration::from_nanos(t.next_poll_at.min(deadline) - now))
            }
            Stage::Poll => {
                t.next_poll_at = now + rng.random_range(0..nanos(FINAL_POLL_SPACING));
                Next::Op(Pending::Poll { key: 0 }.op())
            }
        }
    }
}

impl Generator for KafkaGenerator {
    fn next(&mut self, phase: Phase, thread: usize, now: u64, rng: &mut StdRng) -> Next {
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

/// The RPC a [`KafkaClient`] is waiting on.
#[derive(Debug, Clone, PartialEq)]
enum InFlight {
    Idle,
    Assign { keys: Vec<String>, value: Value },
    Poll,
    Commit { msgs: Value },
    Send { key: String, msg: Value },
}

/// A malformed reply error for `expected`.
fn malformed(expected: &'static str, why: String) -> ReplyError {
    ReplyError::Malformed { expected, why }
}

/// An `offsets` map: string keys to integer offsets.
fn parse_offsets(
    expected: &'static str,
    value: &Value,
) -> Result<BTreeMap<String, i64>, ReplyError> {
    let obj = value
        .as_object()
        .ok_or_else(|| malformed(expected, format!("offsets is not an object: {value}")))?;
    obj.iter()
        .map(|(k, o)| {
            o.as_i64().map(|o| (k.clone(), o)).ok_or_else(|| {
                malformed(expected, format!("offset of {k:?} is not an integer: {o}"))
            })
        })
        .collect()
}

/// A `msgs` map: string keys to arrays of `[offset, msg]` pairs; returns the highest
/// offset per key (`None` for a key with no messages).
fn parse_msgs(value: &Value) -> Result<BTreeMap<String, Option<i64>>, ReplyError> {
    let bad = |why: String| malformed("poll_ok", why);
    let obj = value
        .as_object()
        .ok_or_else(|| bad(format!("msgs is not an object: {value}")))?;
    let mut out = BTreeMap::new();
    for (k, pairs) in obj {
        let pairs = pairs
            .as_array()
            .ok_or_else(|| bad(format!("msgs of {k:?} is not an array: {pairs}")))?;
        let mut highest = None;
        for pair in pairs {
            let offset = pair
                .as_array()
                .filter(|p| p.len() == 2)
                .and_then(|p| p[0].as_i64())
                .ok_or_else(|| bad(format!("{k:?} has a bad [offset, msg] pair: {pair}")))?;
            highest = highest.max(Some(offset));
        }
        out.insert(k.clone(), highest);
    }
    Ok(out)
}

/// Maelstrom's kafka client for one worker thread (not reusable: a crash or an `info`
/// completion replaces it, and with it its offsets).
///
/// Invariants: the local offsets only ever hold keys of the last `assign` plus keys some
/// poll returned; after an `ok` poll every key it returned messages for is at least one
/// past the highest offset returned; an operation sends at most two RPCs (`poll` then
/// `commit_offsets`), one at a time.
#[derive(Debug, Clone)]
pub struct KafkaClient {
    timeout: Duration,
    offsets: BTreeMap<String, i64>,
    in_flight: InFlight,
}

impl Default for KafkaClient {
    fn default() -> Self {
        Self::new()
    }
}

impl KafkaClient {
    /// A fresh client (no offsets) with the default 5 s RPC timeout.
    pub fn new() -> Self {
        Self::with_timeout(DEFAULT_RPC_TIMEOUT)
    }

    /// A fresh client with this RPC timeout.
    pub fn with_timeout(timeout: Duration) -> Self {
        KafkaClient {
            timeout,
            offsets: BTreeMap::new(),
            in_flight: InFlight::Idle,
        }
    }

    /// The next offset to poll per key.
    pub fn offsets(&self) -> &BTreeMap<String, i64> {
        &self.offsets
    }

    fn call(&mut self, in_flight: InFlight, body: Value) -> Step {
        self.in_flight = in_flight;
        Step::Call {
            body,
            timeout: self.timeout,
        }
    }

    fn offsets_json(offsets: &BTreeMap<String, i64>) -> Value {
        Value::Object(
            offsets
                .iter()
                .map(|(k, o)| (k.clone(), json!(o)))
                .collect::<Map<_, _>>(),
        )
    }

    fn start_assign(&mut self, value: &Value) -> Step {
        let keys: Option<Vec<String>> = value
            .get("keys")
            .and_then(Value::as_array)
            .and_then(|ks| ks.iter().map(|k| k.as_str().map(str::to_string)).collect());
        let seek = value.get("seek_to_beginning").and_then(Value::as_bool);
        let (Some(keys), Some(seek)) = (keys, seek) else {
            return Step::Done(Completion::Fail(format!("not an assign value: {value}")));
        };
        if seek {
            self.offsets = keys.into_iter().map(|k| (k, 0)).collect();
            return Step::Done(Completion::Ok(value.clone()));
        }
        let body = json!({"type": "list_committed_offsets", "keys": keys});
        self.call(
            InFlight::Assign {
                keys,
                value: value.clone(),
            },
            body,
        )
    }

    fn start_send(&mut self, value: &Value) -> Step {
        let mop = value
            .as_array()
            .filter(|v| v.len() == 1)
            .and_then(|v| v[0].as_array())
            .filter(|m| m.len() == 3 && m[0] == "send");
        let Some((key, msg)) = mop.and_then(|m| Some((m[1].as_str()?.to_string(), m[2].clone())))
        else {
            return Step::Done(Completion::Fail(format!("not a send value: {value}")));
        };
        let body = json!({"type": "send", "key": key, "msg": msg});
        self.call(InFlight::Send { key, msg }, body)
    }

    fn on_assign(
        &mut self,
        reply: &Reply,
        keys: Vec<String>,
        value: Value,
    ) -> Result<Step, ReplyError> {
        let obj = expect_reply(reply, "list_committed_offsets_ok", &["offsets"])?;
        let committed = parse_offsets("list_committed_offsets_ok", &obj["offsets"])?;
        self.offsets = keys
            .into_iter()
            .map(|k| {
                let o = self
                    .offsets
                    .get(&k)
                    .or_else(|| committed.get(&k))
                    .copied()
                    .unwrap_or(0);
                (k, o)
            })
            .collect();
        Ok(Step::Done(Completion::Ok(value)))
    }

    fn on_poll(&mut self, reply: &Reply) -> Result<Step, ReplyError> {
        let obj = expect_reply(reply, "poll_ok", &["msgs"])?;
        let msgs = obj["msgs"].clone();
        let highest = parse_msgs(&msgs)?;
        let mut commit = BTreeMap::new();
        for (k, h) in highest {
            let next = h.map_or(0, |h| h.saturating_add(1));
            let e = self.offsets.entry(k.clone()).or_insert(next);
            *e = (*e).max(next);
            if let Some(h) = h {
                commit.insert(k, h);
            }
        }
        if commit.is_empty() {
            return Ok(Step::Done(Completion::Ok(json!([["poll", msgs]]))));
        }
        let body = json!({"type": "commit_offsets", "offsets": Self::offsets_json(&commit)});
        Ok(self.call(InFlight::Commit { msgs }, body))
    }
}

impl Client for KafkaClient {
    fn start(&mut self, op: &OpSpec) -> Step {
        self.in_flight = InFlight::Idle;
        match op.f.as_str() {
            "assign" => self.start_assign(&op.value),
            "poll" => {
                let body = json!({"type": "poll", "offsets": Self::offsets_json(&self.offsets)});
                self.call(InFlight::Poll, body)
            }
            "send" => self.start_send(&op.value),
            "crash" => Step::Done(Completion::Info("crash".to_string())),
            other => Step::Done(Completion::Fail(format!("unknown kafka op {other:?}"))),
        }
    }

    fn on_reply(&mut self, reply: Reply) -> Step {
        let in_flight = std::mem::replace(&mut self.in_flight, InFlight::Idle);
        let idempotent = matches!(in_flight, InFlight::Assign { .. });
        let result = match in_flight {
            InFlight::Idle => {
                return Step::Done(Completion::Info(
                    "indeterminate: reply with no request in flight".to_string(),
                ))
            }
            InFlight::Assign { keys, value } => self.on_assign(&reply, keys, value),
            InFlight::Poll => self.on_poll(&reply),
            InFlight::Commit { msgs } => expect_reply(&reply, "commit_offsets_ok", &[])
                .map(|_| Step::Done(Completion::Ok(json!([["poll", msgs]])))),
            InFlight::Send { key, msg } => expect_reply(&reply, "send_ok", &["offset"])
                .and_then(|obj| {
                    obj["offset"].as_i64().ok_or_else(|| {
                        malformed(
                            "send_ok",
                            format!("offset is not an integer: {}", obj["offset"]),
                        )
                    })
                })
                .map(|offset| Step::Done(Completion::Ok(json!([["send", key, [offset, msg]]])))),
        };
        result.unwrap_or_else(|e| Step::Done(e.completion(idempotent)))
    }

    fn reusable(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::Strategy;
    use rand::SeedableRng;

    fn rng() -> StdRng {
        StdRng::seed_from_u64(11)
    }

    fn op(process: u64, kind: OpType, f: &str, value: Value, time: u64) -> Op {
        Op {
            index: 0,
            time,
            process: Process::Client(process),
            kind,
            f: f.to_string(),
            value: value.into(),
            is_final: false,
            error: None,
            node: None,
        }
    }

    fn observe_ok(gen: &mut KafkaGenerator, process: u64, f: &str, value: Value) {
        let inv = op(process, OpType::Invoke, f, Value::Null, 0);
        gen.observe(&inv, &op(process, OpType::Ok, f, value, 0));
    }

    fn expect_op(next: Next) -> OpSpec {
        match next {
            Next::Op(op) => op,
            other => panic!("expected an op, got {other:?}"),
        }
    }

    const SEC: u64 = 1_000_000_000;

    #[test]
    fn main_phase_mix_and_unique_messages() {
        let mut gen = KafkaGenerator::new(KafkaOpts {
            concurrency: 5,
            ..KafkaOpts::default()
        });
        let mut rng = rng();
        let mut counts: HashMap<String, u32> = HashMap::new();
        let mut msgs: HashMap<String, Vec<u64>> = HashMap::new();
        let mut last_key = None;
        // 64 000 ops at 10 ops/s: 6 400 s, a crash every 6 s on average.
        for i in 0..64_000u64 {
            let op = expect_op(gen.next(Phase::Main, (i % 5) as usize, i * SEC / 10, &mut rng));
            *counts.entry(op.f.clone()).or_insert(0) += 1;
            match op.f.as_str() {
                "send" => {
                    let m = op.value[0].as_array().expect("mop");
                    assert_eq!(m[0], "send");
                    let k = m[1].as_str().expect("string key").to_string();
                    let v = m[2].as_u64().expect("integer msg");
                    if let Some(assigned) = last_key.take() {
                        assert_eq!(assigned, k, "an assign is of the next op's key");
                    }
                    msgs.entry(k).or_default().push(v);
                }
                "poll" => {
                    assert_eq!(op.value, json!([["poll"]]));
                    last_key = None;
                }
                "assign" => {
                    assert_eq!(op.value["seek_to_beginning"], false);
                    let keys = op.value["keys"].as_array().expect("keys");
                    assert_eq!(keys.len(), 1, "nothing acknowledged, so no extension");
                    last_key = keys[0].as_str().map(str::to_string);
                }
                "crash" => assert_eq!(op.value, Value::Null),
                other => panic!("unexpected f {other}"),
            }
        }
        let (send, poll) = (counts["send"], counts["poll"]);
        let share = f64::from(send) / f64::from(send + poll);
        assert!((0.47..0.53).contains(&share), "send share {share}");
        assert!(
            (800..1200).contains(&counts["assign"]),
            "assigns {}",
            counts["assign"]
        );
        assert!(
            (900..1250).contains(&counts["crash"]),
            "crashes {}",
            counts["crash"]
        );
        for (k, vs) in &msgs {
            let want: Vec<u64> = (1..=vs.len() as u64).collect();
            assert_eq!(vs, &want, "messages of key {k} are 1, 2, ... once each");
            assert!(vs.len() <= 16);
        }
        assert!(
            msgs.values().filter(|vs| vs.len() == 16).count() > 10,
            "keys retired"
        );
    }

    #[test]
    fn crash_spacing_follows_concurrency() {
        for (concurrency, want) in [(1usize, 100u32), (10, 1000)] {
            let mut gen = KafkaGenerator::new(KafkaOpts {
                concurrency,
                ..KafkaOpts::default()
            });
            let mut rng = rng();
            let mut crashes = 0;
            // 3 000 s at 10 ops/s.
            for i in 0..30_000u64 {
                let op = expect_op(gen.next(Phase::Main, 0, i * SEC / 10, &mut rng));
                crashes += u32::from(op.f == "crash");
            }
            let lo = want * 8 / 10;
            let hi = want * 12 / 10;
            assert!(
                (lo..hi).contains(&crashes),
                "concurrency {concurrency}: {crashes}"
            );
        }
    }

    #[test]
    fn assigns_extend_with_unpolled_keys() {
        let mut gen = KafkaGenerator::new(KafkaOpts::default());
        let mut rng = rng();
        observe_ok(&mut gen, 0, "send", json!([["send", "1000000", [3, 1]]]));
        observe_ok(&mut gen, 0, "send", json!([["send", "1000001", [0, 1]]]));
        assert_eq!(gen.unpolled_keys(), vec![1_000_000, 1_000_001]);
        // A poll up to offset 3 of key 1000000 catches it up; 1000001 stays unpolled.
        observe_ok(
            &mut gen,
            1,
            "poll",
            json!([["poll", {"1000000": [[2, 9], [3, 1]]}]]),
        );
        assert_eq!(gen.unpolled_keys(), vec![1_000_001]);
        let (mut assigns, mut extended) = (0u32, 0u32);
        for _ in 0..64_000 {
            let op = expect_op(gen.next(Phase::Main, 0, 0, &mut rng));
            if op.f == "assign" {
                assigns += 1;
                let keys = op.value["keys"].as_array().expect("keys");
                if keys.contains(&json!("1000001")) {
                    extended += 1;
                }
                assert!(!keys.contains(&json!("1000000")));
            }
        }
        let share = f64::from(extended) / f64::from(assigns);
        assert!((0.25..0.42).contains(&share), "extended share {share}");
        // Offsets seen include both sends and polls.
        assert_eq!(gen.highest_offsets().get(&1_000_000), Some(&3));
        assert_eq!(gen.highest_offsets().get(&1_000_001), Some(&0));
    }

    #[test]
    fn final_phase_stops_once_every_key_is_polled_to_its_highest_offset() {
        let mut gen = KafkaGenerator::new(KafkaOpts {
            concurrency: 2,
            ..KafkaOpts::default()
        });
        let mut rng = rng();
        observe_ok(&mut gen, 0, "send", json!([["send", "1", [4, 2]]]));
        observe_ok(&mut gen, 1, "poll", json!([["poll", {"2": [[7, 1]]}]]));
        let t0 = 100 * SEC;
        let crash = expect_op(gen.next(Phase::Final, 0, t0, &mut rng));
        assert_eq!(crash.f, "crash");
        let assign = expect_op(gen.next(Phase::Final, 0, t0, &mut rng));
        assert_eq!(
            assign.value,
            json!({"keys": ["1", "2"], "seek_to_beginning": true})
        );
        let poll = expect_op(gen.next(Phase::Final, 0, t0, &mut rng));
        assert_eq!(poll.f, "poll");
        // Polls are spaced below 0.4 s.
        let mut now = t0;
        let mut polls = 1;
        while polls < 20 {
            match gen.next(Phase::Final, 0, now, &mut rng) {
                Next::Wait(d) => {
                    assert!(d < FINAL_POLL_SPACING, "{d:?}");
                    now += nanos(d);
                }
                Next::Op(op) => {
                    assert_eq!(op.f, "poll");
                    polls += 1;
                }
                Next::Done => panic!("not done before polling"),
            }
        }
        // Process 2 is thread 0 (after an info). Reaching key 1 only is not enough.
        observe_ok(
            &mut gen,
            2,
            "poll",
            json!([["poll", {"1": [[0, 1], [4, 2]]}]]),
        );
        // Another thread's poll does not count for thread 0.
        observe_ok(&mut gen, 1, "poll", json!([["poll", {"2": [[7, 1]]}]]));
        assert_ne!(gen.next(Phase::Final, 0, now + SEC, &mut rng), Next::Done);
        observe_ok(
            &mut gen,
            0,
            "poll",
            json!([["poll", {"2": [[6, 5], [7, 1]]}]]),
        );
        assert_eq!(gen.next(Phase::Final, 0, now + SEC, &mut rng), Next::Done);
        // Thread 1 has only been credited with key 2: it still has to start.
        assert_eq!(
            expect_op(gen.next(Phase::Final, 1, now + SEC, &mut rng)).f,
            "crash"
        );
    }

    #[test]
    fn final_phase_is_cut_off_after_ten_seconds() {
        let mut gen = KafkaGenerator::new(KafkaOpts::default());
        let mut rng = rng();
        observe_ok(&mut gen, 0, "send", json!([["send", "1", [4, 2]]]));
        let t0 = 5 * SEC;
        let mut now = t0;
        let mut ops = 0;
        loop {
            match gen.next(Phase::Final, 0, now, &mut rng) {
                Next::Op(_) => ops += 1,
                Next::Wait(d) => {
                    assert!(now + nanos(d) <= t0 + nanos(FINAL_PHASE_LIMIT));
                    now += nanos(d);
                }
                Next::Done => break,
            }
            now += 1_000_000;
        }
        assert!(
            now >= t0 + nanos(FINAL_PHASE_LIMIT),
            "stopped early at {now}"
        );
        assert!(ops > 20, "polled until the cutoff: {ops}");
        assert_eq!(gen.next(Phase::Final, 1, now, &mut rng), Next::Done);
    }

    #[test]
    fn final_phase_with_nothing_seen_is_empty() {
        let mut gen = KafkaGenerator::new(KafkaOpts::default());
        assert_eq!(gen.next(Phase::Final, 0, 0, &mut rng()), Next::Done);
        assert!(gen.has_final_phase());
    }

    fn call_body(step: Step) -> Value {
        match step {
            Step::Call { body, timeout } => {
                assert_eq!(timeout, DEFAULT_RPC_TIMEOUT);
                body
            }
            other => panic!("expected a call, got {other:?}"),
        }
    }

    fn spec(f: &str, value: Value) -> OpSpec {
        OpSpec {
            f: f.to_string(),
            value,
        }
    }

    #[test]
    fn assign_then_poll_sends_the_right_offsets_and_commits() {
        let mut c = KafkaClient::new();
        assert!(!c.reusable());
        // A fresh client polls with no offsets.
        let body = call_body(c.start(&spec("poll", json!([["poll"]]))));
        assert_eq!(body, json!({"type": "poll", "offsets": {}}));
        assert_eq!(
            c.on_reply(Reply::Body(
                json!({"type": "poll_ok", "in_reply_to": 1, "msgs": {}})
            )),
            Step::Done(Completion::Ok(json!([["poll", {}]])))
        );
        // Assign 1, 2, 3: committed 1 -> 5, 2 absent.
        let assign = json!({"keys": ["1", "2"], "seek_to_beginning": false});
        let body = call_body(c.start(&spec("assign", assign.clone())));
        assert_eq!(
            body,
            json!({"type": "list_committed_offsets", "keys": ["1", "2"]})
        );
        let step = c.on_reply(Reply::Body(
            json!({"type": "list_committed_offsets_ok", "offsets": {"1": 5, "9": 3}, "in_reply_to": 2}),
        ));
        assert_eq!(step, Step::Done(Completion::Ok(assign)));
        let body = call_body(c.start(&spec("poll", json!([["poll"]]))));
        assert_eq!(body, json!({"type": "poll", "offsets": {"1": 5, "2": 0}}));
        let msgs = json!({"1": [[5, 10], [7, 11]], "2": []});
        let body = call_body(c.on_reply(Reply::Body(
            json!({"type": "poll_ok", "in_reply_to": 1, "msgs": msgs}),
        )));
        assert_eq!(body, json!({"type": "commit_offsets", "offsets": {"1": 7}}));
        assert_eq!(
            c.on_reply(Reply::Body(
                json!({"type": "commit_offsets_ok", "in_reply_to": 1})
            )),
            Step::Done(Completion::Ok(json!([["poll", msgs]])))
        );
        assert_eq!(c.offsets().get("1"), Some(&8));
        assert_eq!(c.offsets().get("2"), Some(&0));
        // Re-assigning keeps local offsets over committed ones and drops unassigned keys.
        call_body(c.start(&spec(
            "assign",
            json!({"keys": ["1", "3"], "seek_to_beginning": false}),
        )));
        c.on_reply(Reply::Body(
            json!({"type": "list_committed_offsets_ok", "in_reply_to": 1, "offsets": {"1": 2, "3": 4}}),
        ));
        assert_eq!(
            c.offsets().clone(),
            BTreeMap::from([("1".to_string(), 8), ("3".to_string(), 4)])
        );
        // Seek to beginning: no RPC, exactly these keys at 0.
        let seek = json!({"keys": ["3", "4"], "seek_to_beginning": true});
        assert_eq!(
            c.start(&spec("assign", seek.clone())),
            Step::Done(Completion::Ok(seek))
        );
        assert_eq!(
            c.offsets().clone(),
            BTreeMap::from([("3".to_string(), 0), ("4".to_string(), 0)])
        );
    }

    #[test]
    fn send_records_offset_and_message() {
        let mut c = KafkaClient::new();
        let body = call_body(c.start(&spec("send", json!([["send", "3", 7]]))));
        assert_eq!(body, json!({"type": "send", "key": "3", "msg": 7}));
        assert_eq!(
            c.on_reply(Reply::Body(
                json!({"type": "send_ok", "in_reply_to": 1, "offset": 12, "msg_id": 1})
            )),
            Step::Done(Completion::Ok(json!([["send", "3", [12, 7]]])))
        );
        assert_eq!(
            c.start(&spec("crash", Value::Null)),
            Step::Done(Completion::Info("crash".into()))
        );
    }

    /// Runs `f` to the first call and answers it with `reply`.
    fn answer(f: &str, value: Value, reply: Reply) -> Step {
        let mut c = KafkaClient::new();
        call_body(c.start(&spec(f, value)));
        c.on_reply(reply)
    }

    #[test]
    fn error_mapping() {
        let send = || json!([["send", "3", 7]]);
        let assign = || json!({"keys": ["1"], "seek_to_beginning": false});
        let poll = || json!([["poll"]]);
        let err = |code: i64| Reply::Body(json!({"type": "error", "code": code, "text": "t"}));
        let cases: Vec<(&str, Value, Reply, Completion)> = vec![
            (
                "send",
                send(),
                Reply::Timeout,
                Completion::Info("net-timeout".into()),
            ),
            (
                "poll",
                poll(),
                Reply::Timeout,
                Completion::Info("net-timeout".into()),
            ),
            (
                "assign",
                assign(),
                Reply::Timeout,
                Completion::Fail("net-timeout".into()),
            ),
            (
                "send",
                send(),
                err(11),
                Completion::Fail("[temporarily-unavailable \"t\"]".into()),
            ),
            (
                "send",
                send(),
                err(13),
                Completion::Info("[crash \"t\"]".into()),
            ),
            (
                "poll",
                poll(),
                err(14),
                Completion::Fail("[abort \"t\"]".into()),
            ),
            (
                "poll",
                poll(),
                err(0),
                Completion::Info("[timeout \"t\"]".into()),
            ),
            (
                "assign",
                assign(),
                err(13),
                Completion::Fail("[crash \"t\"]".into()),
            ),
            (
                "assign",
                assign(),
                err(5000),
                Completion::Fail("[unknown \"t\"]".into()),
            ),
            (
                "send",
                send(),
                err(5000),
                Completion::Info("[unknown \"t\"]".into()),
            ),
        ];
        for (f, value, reply, want) in cases {
            assert_eq!(
                answer(f, value, reply.clone()),
                Step::Done(want),
                "{f} {reply:?}"
            );
        }
    }

    #[test]
    fn commit_failure_fails_the_poll() {
        for (reply, info) in [
            (Reply::Timeout, true),
            (Reply::Body(json!({"type": "error", "code": 11})), false),
        ] {
            let mut c = KafkaClient::new();
            call_body(c.start(&spec("poll", json!([["poll"]]))));
            call_body(c.on_reply(Reply::Body(
                json!({"type": "poll_ok", "in_reply_to": 1, "msgs": {"1": [[0, 1]]}}),
            )));
            match c.on_reply(reply) {
                Step::Done(Completion::Info(_)) => assert!(info),
                Step::Done(Completion::Fail(_)) => assert!(!info),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn malformed_replies_are_info() {
        let cases: Vec<(&str, Value, Value)> = vec![
            (
                "send",
                json!([["send", "3", 7]]),
                json!({"type": "send_ok", "in_reply_to": 1, "offset": 1.0}),
            ),
            (
                "send",
                json!([["send", "3", 7]]),
                json!({"type": "send_ok", "in_reply_to": 1, "offset": 1, "extra": 2}),
            ),
            (
                "send",
                json!([["send", "3", 7]]),
                json!({"type": "send_ok", "in_reply_to": 1}),
            ),
            (
                "send",
                json!([["send", "3", 7]]),
                json!({"type": "poll_ok", "in_reply_to": 1, "offset": 1}),
            ),
            (
                "poll",
                json!([["poll"]]),
                json!({"type": "poll_ok", "in_reply_to": 1, "msgs": {"1": [[0.5, 1]]}}),
            ),
            (
                "poll",
                json!([["poll"]]),
                json!({"type": "poll_ok", "in_reply_to": 1, "msgs": {"1": [[0, 1, 2]]}}),
            ),
            (
                "poll",
                json!([["poll"]]),
                json!({"type": "poll_ok", "in_reply_to": 1, "msgs": {"1": [0, 1]}}),
            ),
            (
                "poll",
                json!([["poll"]]),
                json!({"type": "poll_ok", "in_reply_to": 1, "msgs": [[0, 1]]}),
            ),
            (
                "poll",
                json!([["poll"]]),
                json!({"type": "poll_ok", "in_reply_to": 1, "msgs": {}, "offsets": {}}),
            ),
            (
                "assign",
                json!({"keys": ["1"], "seek_to_beginning": false}),
                json!({"type": "list_committed_offsets_ok", "in_reply_to": 1, "offsets": {"1": "3"}}),
            ),
            (
                "assign",
                json!({"keys": ["1"], "seek_to_beginning": false}),
                json!({"type": "list_committed_offsets_ok", "in_reply_to": 1}),
            ),
        ];
        for (f, value, reply) in cases {
            match answer(f, value, Reply::Body(reply.clone())) {
                Step::Done(Completion::Info(e)) => {
                    assert!(e.contains("malformed"), "{reply}: {e}")
                }
                other => panic!("{reply}: expected info, got {other:?}"),
            }
        }
        // A malformed commit reply makes the poll indeterminate too.
        let mut c = KafkaClient::new();
        call_body(c.start(&spec("poll", json!([["poll"]]))));
        call_body(c.on_reply(Reply::Body(
            json!({"type": "poll_ok", "in_reply_to": 1, "msgs": {"1": [[0, 1]]}}),
        )));
        assert!(matches!(
            c.on_reply(Reply::Body(
                json!({"type": "commit_offsets_ok", "in_reply_to": 1, "offsets": {}})
            )),
            Step::Done(Completion::Info(_))
        ));
    }

    #[test]
    fn bad_op_values_fail_without_rpc() {
        let mut c = KafkaClient::new();
        for (f, value) in [
            ("send", json!([["send", 3, 7]])),
            ("assign", json!({"keys": [1]})),
            ("frobnicate", Value::Null),
        ] {
            assert!(matches!(
                c.start(&spec(f, value)),
                Step::Done(Completion::Fail(_))
            ));
        }
    }

    proptest::proptest! {
        /// After any well-formed poll reply, every returned key's local offset is past the
        /// highest offset returned, offsets never go down, and the commit names exactly
        /// the keys with messages at their highest offset.
        #[test]
        fn poll_advances_offsets_and_commits_highest(
            start in proptest::collection::btree_map(0u8..4, 0i64..50, 0..4),
            msgs in proptest::collection::btree_map(
                0u8..6,
                proptest::collection::vec((0i64..100, 0u64..9), 0..5),
                0..5,
            ),
        ) {
            let mut c = KafkaClient::new();
            let keys: Vec<String> = start.keys().map(|k| k.to_string()).collect();
            call_body(c.start(&spec("assign", json!({"keys": keys, "seek_to_beginning": false}))));
            let committed: Map<String, Value> =
                start.iter().map(|(k, o)| (k.to_string(), json!(o))).collect();
            c.on_reply(Reply::Body(json!({
                "type": "list_committed_offsets_ok", "in_reply_to": 1, "offsets": committed
            })));
            let before = c.offsets().clone();
            call_body(c.start(&spec("poll", json!([["poll"]]))));
            let body: Map<String, Value> = msgs
                .iter()
                .map(|(k, pairs)| (k.to_string(), json!(pairs)))
                .collect();
            let step = c.on_reply(Reply::Body(json!({
                "type": "poll_ok", "in_reply_to": 2, "msgs": body.clone()
            })));
            let mut want_commit = Map::new();
            for (k, pairs) in &msgs {
                let k = k.to_string();
                if let Some(h) = pairs.iter().map(|p| p.0).max() {
                    proptest::prop_assert!(c.offsets()[&k] > h);
                    want_commit.insert(k, json!(h));
                }
            }
            for (k, o) in &before {
                proptest::prop_assert!(c.offsets()[k] >= *o);
            }
            if want_commit.is_empty() {
                proptest::prop_assert_eq!(step, Step::Done(Completion::Ok(json!([["poll", body]]))));
            } else {
                proptest::prop_assert_eq!(
                    call_body(step),
                    json!({"type": "commit_offsets", "offsets": want_commit})
                );
            }
        }

        /// No reply body, whatever its shape, panics a client in any state; it always
        /// ends the operation or asks for the commit.
        #[test]
        fn any_reply_is_handled(
            f in 0usize..3,
            reply in proptest::prop_oneof![
                proptest::strategy::Just(json!(null)),
                (0i64..40).prop_map(|c| json!({"type": "error", "code": c})),
                proptest::strategy::Just(json!({"type": "poll_ok", "in_reply_to": 1, "msgs": {"1": [[0, 1]]}})),
                proptest::strategy::Just(json!({"type": "send_ok", "in_reply_to": 1, "offset": -1})),
                "[a-z_]{0,12}".prop_map(|t| json!({"type": t, "in_reply_to": 1})),
                proptest::collection::vec(0i64..5, 0..3).prop_map(|v| json!({"type": "poll_ok", "in_reply_to": 1, "msgs": {"1": [v]}})),
            ],
        ) {
            let (name, value) = [
                ("send", json!([["send", "1", 1]])),
                ("poll", json!([["poll"]])),
                ("assign", json!({"keys": ["1"], "seek_to_beginning": false})),
            ][f].clone();
            let mut c = KafkaClient::new();
            call_body(c.start(&spec(name, value)));
            match c.on_reply(Reply::Body(reply)) {
                Step::Done(_) => {}
                Step::Call { body, .. } => proptest::prop_assert_eq!(&body["type"], "commit_offsets"),
            }
        }
    }
}
