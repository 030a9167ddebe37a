//! [`Wires`]: the network model (`crate::sim::net`) driven by the world's timers, as
//! Maelstrom's one delivery thread per receiver drives it.
//!
//! Each receiver has at most one message *in flight*: the earliest-deadline message it
//! took from its queue (a message its receiver drops because of a partition at that moment
//! is lost and the next one is taken), waiting for its deadline. While it waits, later
//! messages wait behind it even when their deadlines are earlier: head-of-line blocking,
//! as in Maelstrom. At the deadline the message is handed over and the next one taken.
//!
//! Every accepted message, and its fate, goes to the run's message log
//! (`crate::journal`, `messages.jsonl`).

use std::collections::HashMap;

use glomers_node::Time;
use rand::rngs::StdRng;
use serde_json::Value;

use super::timers::Timers;
use super::Timer;
use crate::journal::{MessageLog, Summary};
use crate::sim::nemesis::Grudge;
use crate::sim::net::{Message, NetError, NetStats, Network, Take};

/// The network and its in-flight messages.
pub struct Wires {
    net: Network,
    rng: StdRng,
    in_flight: HashMap<String, Message>,
    log: MessageLog,
}

impl Wires {
    /// Wires over `net`, drawing latencies from `rng`, logging into `log`.
    pub fn new(net: Network, rng: StdRng, log: MessageLog) -> Self {
        Self {
            net,
            rng,
            in_flight: HashMap::new(),
            log,
        }
    }

    /// Finishes the message log (see [`MessageLog::finish`]).
    pub fn finish_log(&self) -> std::io::Result<Summary> {
        self.log.finish()
    }

    /// Registers a receiver.
    pub fn register(&mut self, id: &str) {
        self.net.register(id);
    }

    /// Unregisters a receiver (a closed client): what was queued or in flight for it is
    /// discarded.
    pub fn unregister(&mut self, id: &str) {
        self.net.unregister(id);
        self.in_flight.remove(id);
    }

    /// Sends `body` from `src` to `dest` at `now`; the receiver takes it at once if it has
    /// nothing in flight.
    pub fn send(
        &mut self,
        now: Time,
        src: &str,
        dest: &str,
        body: Value,
        timers: &mut Timers<Timer>,
    ) -> Result<u64, NetError> {
        let prepared = self.log.prepare(src, dest, &body);
        let id = self
            .net
            .send(now.as_nanos(), src, dest, body, &mut self.rng)?;
        self.log.sent(id, now.as_nanos(), prepared);
        if !self.in_flight.contains_key(dest) {
            self.take_next(dest, now, timers);
        }
        Ok(id)
    }

    /// Hands over `dest`'s message in flight at `now` (its deadline) and takes the next.
    pub fn deliver(
        &mut self,
        dest: &str,
        now: Time,
        timers: &mut Timers<Timer>,
    ) -> Option<Message> {
        let msg = self.in_flight.remove(dest)?;
        self.net.delivered_at(&msg, now.as_nanos());
        self.log.delivered(msg.id, now.as_nanos());
        self.take_next(dest, now, timers);
        Some(msg)
    }

    /// Takes `dest`'s next deliverable message, dropping what a partition blocks now.
    fn take_next(&mut self, dest: &str, now: Time, timers: &mut Timers<Timer>) {
        loop {
            match self.net.take(dest, now.as_nanos()) {
                Take::Empty => return,
                Take::Dropped(msg) => self.log.dropped(msg.id, now.as_nanos()),
                Take::Deliver(msg) => {
                    let at = Time::from_nanos(msg.deadline).max(now);
                    timers.set(at, Timer::Deliver(dest.to_owned()));
                    self.in_flight.insert(dest.to_owned(), msg);
                    return;
                }
            }
        }
    }

    /// Blocks `grudge`'s pairs (adds to what is blocked).
    pub fn partition(&mut self, grudge: &Grudge) {
        self.net.partition(grudge);
    }

    /// Clears every blocked pair.
    pub fn heal(&mut self) {
        self.net.heal();
    }

    /// Network counts with msgs-per-op over `op_count` client invocations.
    pub fn stats(&self, op_count: usize) -> NetStats {
        self.net.stats(op_count as u64)
    }
}
