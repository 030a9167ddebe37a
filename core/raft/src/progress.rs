//! The leader's view of one follower: how far its log matches, what is in flight (see the
//! crate docs, section *Flow control*).
//!
//! While probing, `next` moves only on answers and one append is in flight; while
//! replicating, `next` advances past each append sent and up to `window` are in flight.

use core::time::Duration;

use glomers_node::Time;
use heapless::Deque;

use crate::config::MAX_WINDOW;

/// One in-flight append: the last index it carried and when it left.
#[derive(Clone, Copy, Debug)]
struct Inflight {
    last: u64,
    sent: Time,
}

/// Replication state of one follower (leader side).
#[derive(Clone, Debug)]
pub(crate) struct Progress {
    /// Next index to send.
    pub next: u64,
    /// Highest index known to match the leader's log.
    pub matched: u64,
    /// Whether the match point is known (pipelining allowed).
    pub replicating: bool,
    /// Highest heartbeat round the follower answered in this term.
    pub acked_round: u64,
    /// When the follower last answered in this term.
    pub last_heard: Option<Time>,
    inflight: Deque<Inflight, MAX_WINDOW>,
}

impl Progress {
    /// A follower of a new leader whose last index is `last`.
    pub fn new(last: u64) -> Self {
        Progress {
            next: last + 1,
            matched: 0,
            replicating: false,
            acked_round: 0,
            last_heard: None,
            inflight: Deque::new(),
        }
    }

    /// Whether another append may leave under the window `window`.
    pub fn can_send(&self, window: usize) -> bool {
        let limit = if self.replicating { window } else { 1 };
        self.inflight.len() < limit.min(MAX_WINDOW)
    }

    /// Records an append carrying entries up to `last`, sent at `now`.
    pub fn sent(&mut self, last: u64, now: Time) {
        if self
            .inflight
            .push_back(Inflight { last, sent: now })
            .is_err()
        {
            // `can_send` is checked first; a full window only ever drops bookkeeping.
            self.inflight.pop_front();
        }
        if self.replicating {
            self.next = last + 1;
        }
    }

    /// The follower holds the leader's log up to `index`. If that reaches the probe point
    /// (`next - 1`), the follower is replicating; replication continues after whatever is
    /// still in flight (a probe's entries are not sent twice). A heartbeat's acceptance at
    /// an older match point resolves no probe.
    pub fn accepted(&mut self, index: u64) {
        if index + 1 >= self.next {
            self.replicating = true;
        }
        self.matched = self.matched.max(index);
        while self
            .inflight
            .front()
            .is_some_and(|f| f.last <= self.matched)
        {
            self.inflight.pop_front();
        }
        if self.replicating {
            let in_flight = self.inflight.back().map_or(0, |f| f.last);
            self.next = self.next.max(self.matched.max(in_flight) + 1);
        }
    }

    /// Restarts probing at `next` (clamped above the match point).
    pub fn probe_from(&mut self, next: u64) {
        self.next = next.max(self.matched + 1);
        self.replicating = false;
        self.inflight.clear();
    }

    /// If the oldest in-flight append has been out `timeout` or longer at `now`, forgets the
    /// window and probes again from the match point (or, while probing, from the same
    /// place). True if so.
    pub fn expire(&mut self, now: Time, timeout: Duration) -> bool {
        match self.inflight.front() {
            Some(f) if now.saturating_since(f.sent) >= timeout => {
                let next = if self.replicating {
                    self.matched + 1
                } else {
                    self.next
                };
                self.probe_from(next);
                true
            }
            _ => false,
        }
    }
}
