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
//! - At most [`RetryPolicy::capacity`] messages are undelivered at once. [`Reliable::send`]
//!   waits while that many are pending (backpressure); [`Reliable::try_send`] refuses with
//!   [`ReliableError::Full`] instead.
//! - Each attempt waits [`RetryPolicy::attempt_timeout`] for the acknowledgement. After a
//!   failed attempt the next one comes after a backoff that doubles from
//!   [`RetryPolicy::initial_backoff`] up to [`RetryPolicy::max_backoff`], with up to 50%
//!   random jitter.
//! - A message is given up (dropped with a warning and counted in
//!   [`ReliableStats::given_up`]) after [`RetryPolicy::max_attempts`] attempts, or at once
//!   when the recipient answers with a definite error (resending cannot help). Callers that
//!   must never lose data re-derive it from their own state (e.g. periodic anti-entropy);
//!   with the defaults a message is retried for about two minutes, longer than any partition
//!   in the challenge runs.
//! - Delivery is at least once: the recipient must tolerate duplicates.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rand::{Rng, SeedableRng};
use serde::Serialize;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::node::Node;
use crate::rpc::{decode_reply, RpcError};

/// Bounds and timing of a [`Reliable`] sender.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Most undelivered messages at once.
    pub capacity: usize,
    /// How long one attempt waits for the acknowledgement.
    pub attempt_timeout: Duration,
    /// Backoff after the first failed attempt.
    pub initial_backoff: Duration,
    /// Largest backoff between attempts.
    pub max_backoff: Duration,
    /// Attempts before a message is given up.
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            capacity: 4096,
            attempt_timeout: Duration::from_millis(500),
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
            max_attempts: 60,
        }
    }
}

impl RetryPolicy {
    /// The backoff after `failed` failed attempts (1-based), before jitter.
    pub fn backoff(&self, failed: u32) -> Duration {
        let shift = failed.saturating_sub(1).min(20);
        self.initial_backoff
            .saturating_mul(1u32 << shift)
            .min(self.max_backoff)
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
    body: Arc<Value>,
    /// Held until the entry is dropped: one unit of the sender's capacity.
    _permit: tokio::sync::OwnedSemaphorePermit,
}

struct Entry {
    job: Job,
    failed: u32,
    due: Instant,
    in_flight: bool,
}

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
        let (tx, rx) = mpsc::unbounded_channel();
        let counters = Arc::new(Counters::default());
        let room = Arc::new(tokio::sync::Semaphore::new(policy.capacity));
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
                body: Arc::new(body),
                _permit: permit,
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

async fn drive(
    node: Node,
    policy: RetryPolicy,
    mut rx: mpsc::UnboundedReceiver<Job>,
    counters: Arc<Counters>,
) {
    let mut rng = rand::rngs::StdRng::from_os_rng();
    let mut entries: HashMap<u64, Entry> = HashMap::new();
    let mut next_key = 0u64;
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<(u64, Outcome)>();
    let mut open = true;
    loop {
        let now = Instant::now();
        // Start every due attempt.
        for (key, e) in entries.iter_mut() {
            if e.in_flight || e.due > now {
                continue;
            }
            e.in_flight = true;
            counters.attempts.fetch_add(1, Ordering::Relaxed);
            let done = done_tx.clone();
            let key = *key;
            let node = node.clone();
            let dest = Arc::clone(&e.job.dest);
            let body = Arc::clone(&e.job.body);
            let timeout = policy.attempt_timeout;
            tokio::spawn(async move {
                let reply = node.rpc_raw(&dest, &*body, timeout).await;
                let outcome = match reply.and_then(decode_reply::<Value>) {
                    Ok(_) => Outcome::Acked,
                    Err(RpcError::Remote(e)) if e.is_definite() => Outcome::GiveUp(e.to_string()),
                    Err(_) => Outcome::Retry,
                };
                let _ = done.send((key, outcome));
            });
        }
        let next_due = entries
            .values()
            .filter(|e| !e.in_flight)
            .map(|e| e.due)
            .min();
        if !open && entries.is_empty() {
            return;
        }
        tokio::select! {
            job = rx.recv(), if open => match job {
                Some(job) => {
                    next_key += 1;
                    entries.insert(next_key, Entry { job, failed: 0, due: Instant::now(), in_flight: false });
                }
                None => open = false,
            },
            Some((key, outcome)) = done_rx.recv() => {
                let Some(e) = entries.get_mut(&key) else { continue };
                e.in_flight = false;
                match outcome {
                    Outcome::Acked => {
                        counters.delivered.fetch_add(1, Ordering::Relaxed);
                        entries.remove(&key);
                    }
                    Outcome::GiveUp(why) => {
                        tracing::warn!(dest = %e.job.dest, %why, "reliable send given up: definite error");
                        counters.given_up.fetch_add(1, Ordering::Relaxed);
                        entries.remove(&key);
                    }
                    Outcome::Retry => {
                        e.failed += 1;
                        if e.failed >= policy.max_attempts {
                            tracing::warn!(dest = %e.job.dest, attempts = e.failed, "reliable send given up: no acknowledgement");
                            counters.given_up.fetch_add(1, Ordering::Relaxed);
                            entries.remove(&key);
                        } else {
                            let base = policy.backoff(e.failed);
                            let jitter = base.mul_f64(rng.random_range(0.0..0.5));
                            e.due = Instant::now() + base + jitter;
                        }
                    }
                }
            },
            _ = async {
                match next_due {
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
}
