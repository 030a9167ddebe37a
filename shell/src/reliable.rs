//! Reliable sending for handler-style nodes: a message is resent with capped, jittered
//! exponential backoff until the recipient acknowledges it (any non-error reply), within
//! bounds.
//!
//! ```no_run
//! # async fn demo(node: glomers_shell::node::Node) {
//! use glomers_shell::reliable::{Reliable, RetryPolicy};
//! let reliable = Reliable::start(&node, RetryPolicy::default());
//! reliable
//!     .send("n2", &serde_json::json!({"type": "replicate", "value": 7}))
//!     .await
//!     .ok();
//! # }
//! ```
//!
//! Bounds and give-up policy:
//! - At most [`RetryPolicy::capacity`] messages (itself at most [`MAX_CAPACITY`]) are
//!   undelivered at once. [`Reliable::send`] waits while that many are pending
//!   (backpressure); [`Reliable::try_send`] refuses with [`ReliableError::Full`] instead.
//! - Each attempt waits [`RetryPolicy::attempt_timeout`] for the acknowledgement. After a
//!   failed attempt the next one comes after a backoff drawn uniformly between half and all
//!   of a ceiling that doubles from [`RetryPolicy::initial_backoff`] up to
//!   [`RetryPolicy::max_backoff`] ("equal jitter": never more than `max_backoff`).
//! - A message is given up (dropped with a warning and counted in
//!   [`ReliableStats::given_up`]) after [`RetryPolicy::max_attempts`] attempts, or at once
//!   when the recipient answers with a definite error (resending cannot help). Callers that
//!   must never lose data re-derive it from their own state (e.g. periodic anti-entropy);
//!   with the defaults a message is retried for about two minutes, longer than any partition
//!   in the challenge runs.
//! - Delivery is at least once: the recipient must tolerate duplicates.
//!
//! The bookkeeping is the core crate's: waiting deliveries sit in a
//! [`glomers_retry_ring::RetryRing`] as (destination, payload id), ordered by due time, and
//! [`glomers_retry_ring::Backoff`] decides every next due time and the give-up. The message
//! bodies stay here, in a store keyed by payload id. Times are milliseconds since the
//! delivery task started.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use glomers_retry_ring::{Backoff, Jitter, Pending, Rescheduled, RetryRing};
use rand::SeedableRng;
use serde::Serialize;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::node::Node;
use crate::rpc::{decode_reply, RpcError};

/// Largest [`RetryPolicy::capacity`] honoured: the slots of the fixed-capacity retry ring.
/// A larger capacity is clamped to it, so the ring can never be full when a delivery is
/// (re)queued.
pub const MAX_CAPACITY: usize = 4096;

/// Bounds and timing of a [`Reliable`] sender.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Most undelivered messages at once; values above [`MAX_CAPACITY`] act as it.
    pub capacity: usize,
    /// How long one attempt waits for the acknowledgement.
    pub attempt_timeout: Duration,
    /// Ceiling of the backoff after the first failed attempt (millisecond resolution).
    pub initial_backoff: Duration,
    /// Largest backoff between attempts (millisecond resolution).
    pub max_backoff: Duration,
    /// Attempts before a message is given up (the first send is always made).
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            capacity: MAX_CAPACITY,
            attempt_timeout: Duration::from_millis(500),
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
            max_attempts: 60,
        }
    }
}

/// Whole milliseconds of `d`, saturating at `u64::MAX`.
fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl RetryPolicy {
    /// The core retry policy this one stands for: backoff ceilings in whole milliseconds,
    /// [`Jitter::Equal`], and the same `max_attempts`.
    pub fn to_backoff(&self) -> Backoff {
        Backoff::new(
            millis(self.initial_backoff),
            millis(self.max_backoff),
            self.max_attempts,
            Jitter::Equal,
        )
    }

    /// The backoff ceiling after `failed` failed attempts (1-based), before jitter:
    /// `min(max_backoff, initial_backoff * 2^(failed - 1))` in whole milliseconds,
    /// non-decreasing in `failed`. The actual wait is drawn in `[ceiling / 2, ceiling]`.
    pub fn backoff(&self, failed: u32) -> Duration {
        Duration::from_millis(self.to_backoff().ceiling_ms(failed))
    }

    /// The capacity actually enforced: `capacity` clamped to [`MAX_CAPACITY`].
    pub fn effective_capacity(&self) -> usize {
        self.capacity.min(MAX_CAPACITY)
    }
}

/// Why a message was not accepted for delivery.
#[derive(Debug, thiserror::Error)]
pub enum ReliableError {
    /// `capacity` messages are already pending (only from [`Reliable::try_send`]).
    #[error("too many undelivered messages")]
    Full,
    /// The body does not serialize to JSON.
    #[error("body does not serialize: {0}")]
    Encode(#[source] serde_json::Error),
    /// The sender has stopped (runtime shutting down).
    #[error("reliable sender stopped")]
    Stopped,
}

/// Counters of a [`Reliable`] sender.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReliableStats {
    /// Messages acknowledged.
    pub delivered: u64,
    /// Messages given up.
    pub given_up: u64,
    /// Attempts sent, first sends included.
    pub attempts: u64,
}

#[derive(Debug, Default)]
struct Counters {
    delivered: AtomicU64,
    given_up: AtomicU64,
    attempts: AtomicU64,
}

struct Job {
    dest: Arc<str>,
    body: Value,
    /// Held until the delivery is finished: one unit of the sender's capacity.
    permit: tokio::sync::OwnedSemaphorePermit,
}

/// A message body in the payload store, with the capacity unit it holds.
struct Stored {
    body: Arc<Value>,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

/// A delivery: destination and payload id in the store.
type Delivery = Pending<Arc<str>, u64>;

/// Waiting deliveries, earliest due first. Boxed: `MAX_CAPACITY` inline slots.
type Ring = RetryRing<Arc<str>, u64, MAX_CAPACITY>;

enum Outcome {
    Acked,
    Retry,
    GiveUp(String),
}

/// A handle for sending messages reliably; cheap to clone.
#[derive(Clone, Debug)]
pub struct Reliable {
    tx: mpsc::UnboundedSender<Job>,
    room: Arc<tokio::sync::Semaphore>,
    counters: Arc<Counters>,
}

impl Reliable {
    /// Starts the delivery task for `node`.
    pub fn start(node: &Node, policy: RetryPolicy) -> Self {
        // Unbounded in type only: every job holds a permit of `room`, so at most
        // `effective_capacity()` jobs exist at once.
        let (tx, rx) = mpsc::unbounded_channel();
        let counters = Arc::new(Counters::default());
        let room = Arc::new(tokio::sync::Semaphore::new(policy.effective_capacity()));
        tokio::spawn(drive(node.clone(), policy, rx, Arc::clone(&counters)));
        Self { tx, room, counters }
    }

    fn enqueue(
        &self,
        dest: &str,
        body: Value,
        permit: tokio::sync::OwnedSemaphorePermit,
    ) -> Result<(), ReliableError> {
        self.tx
            .send(Job {
                dest: Arc::from(dest),
                body,
                permit,
            })
            .map_err(|_| ReliableError::Stopped)
    }

    /// Queues `body` for reliable delivery to `dest`, waiting while the sender is full.
    pub async fn send<B: Serialize>(&self, dest: &str, body: &B) -> Result<(), ReliableError> {
        let body = serde_json::to_value(body).map_err(ReliableError::Encode)?;
        let permit = Arc::clone(&self.room)
            .acquire_owned()
            .await
            .map_err(|_| ReliableError::Stopped)?;
        self.enqueue(dest, body, permit)
    }

    /// Queues `body` for reliable delivery to `dest`, or refuses when the sender is full.
    pub fn try_send<B: Serialize>(&self, dest: &str, body: &B) -> Result<(), ReliableError> {
        let body = serde_json::to_value(body).map_err(ReliableError::Encode)?;
        let permit = Arc::clone(&self.room)
            .try_acquire_owned()
            .map_err(|_| ReliableError::Full)?;
        self.enqueue(dest, body, permit)
    }

    /// Delivery counters so far.
    pub fn stats(&self) -> ReliableStats {
        ReliableStats {
            delivered: self.counters.delivered.load(Ordering::Relaxed),
            given_up: self.counters.given_up.load(Ordering::Relaxed),
            attempts: self.counters.attempts.load(Ordering::Relaxed),
        }
    }
}

/// The delivery task's state: the ring of waiting deliveries, the payload store (every
/// delivery waiting, in flight or still being queued has exactly one entry), and the clock.
struct Deliveries {
    ring: Box<Ring>,
    store: HashMap<u64, Stored>,
    next_id: u64,
    epoch: Instant,
    backoff: Backoff,
    counters: Arc<Counters>,
}

impl Deliveries {
    fn now_ms(&self) -> u64 {
        millis(self.epoch.elapsed())
    }

    /// Drops delivery `item`'s payload and counts it given up.
    fn give_up(&mut self, item: &Delivery, why: &str) {
        tracing::warn!(dest = %item.dest, attempts = item.attempt, %why, "reliable send given up");
        self.counters.given_up.fetch_add(1, Ordering::Relaxed);
        self.store.remove(&item.payload);
    }

    /// Queues `item` in the ring. The ring cannot be full (every delivery holds a permit
    /// and there are at most `MAX_CAPACITY`), but if it were, the delivery is given up
    /// rather than the ring grown.
    fn requeue(&mut self, item: Delivery) {
        if let Err(item) = self.ring.push(item) {
            self.give_up(&item, "retry ring full");
        }
    }

    /// Stores a new job's body and queues its first send, due now.
    fn admit(&mut self, job: Job) {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        self.store.insert(
            id,
            Stored {
                body: Arc::new(job.body),
                _permit: job.permit,
            },
        );
        let now = self.now_ms();
        self.requeue(Pending::new(job.dest, id, now));
    }

    /// Settles an attempt of `item` that ended with `outcome`.
    fn settle<R: rand::RngCore>(&mut self, item: Delivery, outcome: Outcome, rng: &mut R) {
        match outcome {
            Outcome::Acked => {
                self.counters.delivered.fetch_add(1, Ordering::Relaxed);
                self.store.remove(&item.payload);
            }
            Outcome::GiveUp(why) => self.give_up(&item, &format!("definite error: {why}")),
            Outcome::Retry => match self.backoff.reschedule(item, self.now_ms(), rng) {
                Rescheduled::Due(item) => self.requeue(item),
                Rescheduled::GaveUp(item) => self.give_up(&item, "no acknowledgement"),
            },
        }
    }
}

async fn drive(
    node: Node,
    policy: RetryPolicy,
    mut rx: mpsc::UnboundedReceiver<Job>,
    counters: Arc<Counters>,
) {
    let mut rng = rand::rngs::StdRng::from_os_rng();
    let mut d = Deliveries {
        ring: Box::default(),
        store: HashMap::new(),
        next_id: 0,
        epoch: Instant::now(),
        backoff: policy.to_backoff(),
        counters,
    };
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<(Delivery, Outcome)>();
    let mut open = true;
    loop {
        // Start every due attempt; an attempt in flight is out of the ring and comes back
        // through `done_rx`.
        let now = d.now_ms();
        while let Some(item) = d.ring.pop_due(now) {
            let Some(body) = d.store.get(&item.payload).map(|s| Arc::clone(&s.body)) else {
                // Every queued delivery has its payload stored; nothing to send otherwise.
                continue;
            };
            d.counters.attempts.fetch_add(1, Ordering::Relaxed);
            let done = done_tx.clone();
            let node = node.clone();
            let timeout = policy.attempt_timeout;
            tokio::spawn(async move {
                let reply = node.rpc_raw(&item.dest, &*body, timeout).await;
                let outcome = match reply.and_then(decode_reply::<Value>) {
                    Ok(_) => Outcome::Acked,
                    Err(RpcError::Remote(e)) if e.is_definite() => Outcome::GiveUp(e.to_string()),
                    Err(_) => Outcome::Retry,
                };
                // The receiver lives as long as the delivery task; if it has stopped
                // there is nobody left to settle the delivery.
                let _ = done.send((item, outcome));
            });
        }
        if !open && d.store.is_empty() {
            return;
        }
        // A due time beyond what `Instant` can hold is never reached: no timer.
        let wake = d
            .ring
            .next_due()
            .and_then(|ms| d.epoch.checked_add(Duration::from_millis(ms)));
        tokio::select! {
            job = rx.recv(), if open => match job {
                Some(job) => d.admit(job),
                None => open = false,
            },
            Some((item, outcome)) = done_rx.recv() => d.settle(item, outcome, &mut rng),
            _ = async {
                match wake {
                    Some(t) => tokio::time::sleep_until(t).await,
                    None => std::future::pending().await,
                }
            } => {},
            _ = node.stopped() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let p = RetryPolicy {
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(1000),
            ..RetryPolicy::default()
        };
        let got: Vec<u128> = (1..=7).map(|n| p.backoff(n).as_millis()).collect();
        assert_eq!(got, [100, 200, 400, 800, 1000, 1000, 1000]);
        assert_eq!(p.backoff(u32::MAX), Duration::from_millis(1000));
    }

    #[test]
    fn policy_maps_onto_core_backoff_and_clamps_capacity() {
        let p = RetryPolicy {
            capacity: MAX_CAPACITY + 1,
            ..RetryPolicy::default()
        };
        assert_eq!(p.to_backoff(), Backoff::new(100, 2000, 60, Jitter::Equal));
        assert_eq!(p.effective_capacity(), MAX_CAPACITY);
        let small = RetryPolicy {
            capacity: 3,
            ..RetryPolicy::default()
        };
        assert_eq!(small.effective_capacity(), 3);
    }

    fn permit() -> tokio::sync::OwnedSemaphorePermit {
        Arc::new(tokio::sync::Semaphore::new(1))
            .try_acquire_owned()
            .expect("a fresh semaphore has a permit")
    }

    fn deliveries(policy: &RetryPolicy) -> Deliveries {
        Deliveries {
            ring: Box::default(),
            store: HashMap::new(),
            next_id: 0,
            epoch: Instant::now(),
            backoff: policy.to_backoff(),
            counters: Arc::new(Counters::default()),
        }
    }

    fn job(dest: &str, value: u64) -> Job {
        Job {
            dest: Arc::from(dest),
            body: serde_json::json!({ "value": value }),
            permit: permit(),
        }
    }

    /// Unanswered attempts are rescheduled within `[now + c/2, now + c]` of the doubling,
    /// capped ceiling, and exactly `max_attempts` sends are made before the give-up, which
    /// drops the payload.
    #[tokio::test(start_paused = true)]
    async fn unanswered_attempts_back_off_then_give_up() {
        let policy = RetryPolicy {
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(40),
            max_attempts: 5,
            ..RetryPolicy::default()
        };
        let mut d = deliveries(&policy);
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        d.admit(job("n1", 1));
        assert_eq!(d.store.len(), 1);
        let mut sends = 0u32;
        while let Some(due) = d.ring.next_due() {
            tokio::time::advance(Duration::from_millis(due.saturating_sub(d.now_ms()))).await;
            let item = d.ring.pop_due(d.now_ms()).expect("due now");
            assert_eq!(item.attempt, sends);
            sends += 1;
            let before = d.now_ms();
            d.settle(item, Outcome::Retry, &mut rng);
            if let Some(next) = d.ring.next_due() {
                let c = policy.backoff(sends).as_millis() as u64;
                assert!(c <= 40);
                assert!(
                    (before + c / 2..=before + c).contains(&next),
                    "after send {sends}: due {next}, now {before}, ceiling {c}"
                );
            }
        }
        assert_eq!(sends, 5);
        assert!(d.store.is_empty(), "payload kept after the give-up");
        assert_eq!(d.counters.given_up.load(Ordering::Relaxed), 1);
        assert_eq!(d.counters.delivered.load(Ordering::Relaxed), 0);
    }

    /// An acknowledgement or a definite error ends the delivery at once and frees its
    /// payload; other deliveries stay queued.
    #[tokio::test(start_paused = true)]
    async fn ack_and_definite_error_end_only_their_delivery() {
        let mut d = deliveries(&RetryPolicy::default());
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        d.admit(job("n1", 1));
        d.admit(job("n2", 2));
        d.admit(job("n3", 3));
        let now = d.now_ms();
        let a = d.ring.pop_due(now).expect("first due");
        let b = d.ring.pop_due(now).expect("second due");
        assert_eq!(
            (&*a.dest, &*b.dest),
            ("n1", "n2"),
            "first queued, first sent"
        );
        d.settle(a, Outcome::Acked, &mut rng);
        d.settle(b, Outcome::GiveUp("abort".into()), &mut rng);
        assert_eq!(d.counters.delivered.load(Ordering::Relaxed), 1);
        assert_eq!(d.counters.given_up.load(Ordering::Relaxed), 1);
        assert_eq!(d.ring.len(), 1);
        assert_eq!(d.store.len(), 1);
        let left = d.ring.iter().next().expect("n3 still queued");
        assert_eq!(&*left.dest, "n3");
        assert!(d.store.contains_key(&left.payload));
    }

    proptest! {
        /// The ceiling never exceeds `max_backoff` and never decreases with the attempt.
        #[test]
        fn backoff_is_capped_and_monotone(
            initial in 0u64..10_000,
            max in 0u64..100_000,
            failed in 0u32..200,
        ) {
            let p = RetryPolicy {
                initial_backoff: Duration::from_millis(initial),
                max_backoff: Duration::from_millis(max),
                ..RetryPolicy::default()
            };
            prop_assert!(p.backoff(failed) <= p.max_backoff);
            prop_assert!(p.backoff(failed) <= p.backoff(failed + 1));
        }
    }
}
