//! Drives the pure network model (`crate::sim::net`) from tokio tasks.
//!
//! The model lives behind one mutex together with the latency RNG and one [`Notify`] per
//! registered receiver; every critical section is a few map operations (no I/O, no await
//! while locked). Each receiver has one delivery task ([`Net::deliveries`]) that loops as
//! Maelstrom's delivery thread does: take the earliest-deadline message, which the model
//! drops if a partition blocks it at that moment, otherwise sleep until its deadline and
//! hand it over. While it sleeps, later messages wait behind it (head-of-line blocking).
//!
//! With a [`MessageLog`], every accepted message is logged at send and its fate at
//! delivery or drop (see `crate::journal`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rand::rngs::StdRng;
use serde_json::Value;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::journal::MessageLog;
use crate::sim::nemesis::Grudge;
use crate::sim::net::{Message, NetError, NetStats, Network, Take};

/// State under the network lock.
struct Inner {
    net: Network,
    rng: StdRng,
    wake: HashMap<String, Arc<Notify>>,
}

/// The shared network of one run. Invariant: a receiver has a [`Notify`] exactly while it
/// is registered in the model, and every accepted send notifies its destination.
pub struct Net {
    inner: Mutex<Inner>,
    start: Instant,
    stopping: Notify,
    stopped: std::sync::atomic::AtomicBool,
    log: Option<MessageLog>,
}

impl Net {
    /// A network over `net`, with time measured from `start` and latency draws from `rng`;
    /// messages are logged into `log` when there is one.
    pub fn new(net: Network, rng: StdRng, start: Instant, log: Option<MessageLog>) -> Arc<Net> {
        Arc::new(Net {
            inner: Mutex::new(Inner {
                net,
                rng,
                wake: HashMap::new(),
            }),
            start,
            stopping: Notify::new(),
            stopped: std::sync::atomic::AtomicBool::new(false),
            log,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A poisoned lock only means another task panicked mid-update; the model's maps
        // are still usable for shutting down, so carry on with them.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Nanoseconds since the start of the run.
    pub fn now(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// The instant `ns` nanoseconds after the start of the run.
    pub fn instant(&self, ns: u64) -> Instant {
        self.start + Duration::from_nanos(ns)
    }

    /// Registers `id` as a receiver.
    pub fn register(&self, id: &str) {
        let mut g = self.lock();
        g.net.register(id);
        g.wake.insert(id.to_owned(), Arc::new(Notify::new()));
    }

    /// Removes `id`; its delivery task ends at its next wake-up.
    pub fn unregister(&self, id: &str) {
        let waker = {
            let mut g = self.lock();
            g.net.unregister(id);
            g.wake.remove(id)
        };
        if let Some(w) = waker {
            w.notify_one();
        }
    }

    /// Sends `body` from `src` to `dest` now. Errors when either is not registered.
    pub fn send(&self, src: &str, dest: &str, body: Value) -> Result<u64, NetError> {
        let now = self.now();
        let logged = self.log.as_ref().map(|l| (l, l.prepare(src, dest, &body)));
        let (id, waker) = {
            let mut g = self.lock();
            let Inner { net, rng, wake } = &mut *g;
            let id = net.send(now, src, dest, body, rng)?;
            if let Some((log, prepared)) = logged {
                log.sent(id, now, prepared);
            }
            (id, wake.get(dest).cloned())
        };
        if let Some(w) = waker {
            w.notify_one();
        }
        Ok(id)
    }

    /// Blocks `grudge`'s pairs (adds to what is blocked).
    pub fn partition(&self, grudge: &Grudge) {
        self.lock().net.partition(grudge);
    }

    /// Clears every blocked pair.
    pub fn heal(&self) {
        self.lock().net.heal();
    }

    /// Network counts with msgs-per-op over `op_count` client invocations.
    pub fn stats(&self, op_count: usize) -> NetStats {
        self.lock().net.stats(op_count as u64)
    }

    /// Tells every delivery task to finish.
    pub fn stop(&self) {
        self.stopped
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.stopping.notify_waiters();
        let wakers: Vec<Arc<Notify>> = self.lock().wake.values().cloned().collect();
        for w in wakers {
            w.notify_one();
        }
    }

    /// Resolves once [`Net::stop`] has been called.
    pub async fn until_stopped(&self) {
        loop {
            let notified = self.stopping.notified();
            if self.is_stopped() {
                return;
            }
            tokio::select! {
                _ = notified => {}
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }

    /// Finishes the message log (see [`MessageLog::finish`]); `None` without one.
    pub fn finish_log(&self) -> Option<std::io::Result<crate::journal::Summary>> {
        self.log.as_ref().map(MessageLog::finish)
    }

    /// Whether [`Net::stop`] was called.
    pub fn is_stopped(&self) -> bool {
        self.stopped.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The next message for `me`, after sleeping until its deadline; `None` once `me` is
    /// unregistered or the network stopped. Dropped (partitioned) messages are skipped.
    pub async fn next_delivery(&self, me: &str) -> Option<Message> {
        loop {
            if self.is_stopped() {
                return None;
            }
            let (take, waker) = {
                let mut g = self.lock();
                let waker = g.wake.get(me).cloned()?;
                let now = self.now();
                (g.net.take(me, now), waker)
            };
            match take {
                Take::Empty => {
                    tokio::select! {
                        _ = waker.notified() => {}
                        _ = self.stopping.notified() => {}
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                }
                Take::Dropped(msg) => {
                    if let Some(log) = &self.log {
                        log.dropped(msg.id, self.now());
                    }
                }
                Take::Deliver(msg) => {
                    tokio::time::sleep_until(self.instant(msg.deadline)).await;
                    self.lock().net.delivered(&msg);
                    if let Some(log) = &self.log {
                        log.delivered(msg.id, self.now());
                    }
                    return Some(msg);
                }
            }
        }
    }
}
