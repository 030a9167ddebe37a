//! [`Wires`]: the network model (`crate::sim::net`) driven by the world's timers, as
//! Maelstrom's one delivery thread per receiver drives it, with the network-level faults.
//!
//! Each receiver has at most one message *in flight*: the earliest-deadline message it
//! took from its queue (a message its receiver drops because of a partition at that moment
//! is lost and the next one is taken), waiting for its deadline. While it waits, later
//! messages wait behind it even when their deadlines are earlier: head-of-line blocking,
//! as in Maelstrom. At the deadline the message is handed over and the next one taken.
//!
//! Faults: a *held* receiver (a paused or dead node) gets nothing: its message in flight
//! waits past its deadline and its queue fills, until it is released (resume: the message
//! in flight is handed over at once) or reset (restart: the queue and the message in flight
//! are discarded, as Maelstrom's restart installs a fresh queue). While duplication is on,
//! a server-to-server message to or from one of its nodes is, with its fraction, sent a
//! second time: a copy with its own id, latency draw and extra delay.
//!
//! Every accepted message, and its fate, goes to the run's message log
//! (`crate::journal`, `messages.jsonl`).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::Duration;

use glomers_node::Time;
use rand::rngs::StdRng;
use rand::Rng;
use serde_json::Value;

use super::timers::{TimerKey, Timers};
use super::Timer;
use crate::journal::{MessageLog, Summary};
use crate::sim::draw::uniform_span;
use crate::sim::faults::DUPLICATE_EXTRA;
use crate::sim::is_client;
use crate::sim::nemesis::Grudge;
use crate::sim::net::{Cut, Message, NetError, NetStats, Network, Take};

/// A receiver's message in flight and its delivery timer (none while its receiver is
/// held past the deadline).
struct Flight {
    msg: Message,
    timer: Option<TimerKey>,
}

/// Which messages are sent twice.
struct Duplication {
    nodes: BTreeSet<String>,
    fraction: f64,
}

/// The network and its in-flight messages.
pub struct Wires {
    net: Network,
    rng: StdRng,
    in_flight: HashMap<String, Flight>,
    held: HashSet<String>,
    duplication: Option<Duplication>,
    log: MessageLog,
}

impl Wires {
    /// Wires over `net`, drawing latencies from `rng`, logging into `log`.
    pub fn new(net: Network, rng: StdRng, log: MessageLog) -> Self {
        Self {
            net,
            rng,
            in_flight: HashMap::new(),
            held: HashSet::new(),
            duplication: None,
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
    pub fn unregister(&mut self, id: &str, timers: &mut Timers<Timer>) {
        self.net.unregister(id);
        if let Some(Flight {
            timer: Some(key), ..
        }) = self.in_flight.remove(id)
        {
            timers.cancel(key);
        }
    }

    /// Sends `body` from `src` to `dest` at `now`; the receiver takes it at once if it has
    /// nothing in flight. While duplication is on, it may be sent twice.
    pub fn send(
        &mut self,
        now: Time,
        src: &str,
        dest: &str,
        body: Value,
        timers: &mut Timers<Timer>,
    ) -> Result<u64, NetError> {
        let copy = self.duplicates(src, dest).then(|| body.clone());
        let id = self.send_one(now, src, dest, body, Duration::ZERO, timers)?;
        if let Some(body) = copy {
            let extra = uniform_span(DUPLICATE_EXTRA, &mut self.rng);
            self.send_one(now, src, dest, body, extra, timers)?;
        }
        Ok(id)
    }

    fn send_one(
        &mut self,
        now: Time,
        src: &str,
        dest: &str,
        body: Value,
        extra: Duration,
        timers: &mut Timers<Timer>,
    ) -> Result<u64, NetError> {
        let prepared = self.log.prepare(src, dest, &body);
        let id = self
            .net
            .send_delayed(now, src, dest, body, extra, &mut self.rng)?;
        self.log.sent(id, now, prepared);
        if !self.in_flight.contains_key(dest) {
            self.take_next(dest, now, timers);
        }
        Ok(id)
    }

    /// Whether a message from `src` to `dest` is to be sent twice (a draw while
    /// duplication is on and the message is eligible).
    fn duplicates(&mut self, src: &str, dest: &str) -> bool {
        let Some(d) = &self.duplication else {
            return false;
        };
        let eligible = !is_client(src)
            && !is_client(dest)
            && (d.nodes.contains(src) || d.nodes.contains(dest));
        eligible && self.rng.random_bool(d.fraction)
    }

    /// `dest`'s delivery timer fired at `now` (its message's deadline): hands the message
    /// over and takes the next, unless `dest` is held (the message then waits).
    pub fn deliver(
        &mut self,
        dest: &str,
        now: Time,
        timers: &mut Timers<Timer>,
    ) -> Option<Message> {
        if self.held.contains(dest) {
            if let Some(f) = self.in_flight.get_mut(dest) {
                f.timer = None;
            }
            return None;
        }
        let Flight { msg, .. } = self.in_flight.remove(dest)?;
        self.net.delivered_at(&msg, now);
        self.log.delivered(msg.id, now);
        self.take_next(dest, now, timers);
        Some(msg)
    }

    /// Takes `dest`'s next deliverable message, dropping what a partition blocks now.
    fn take_next(&mut self, dest: &str, now: Time, timers: &mut Timers<Timer>) {
        loop {
            match self.net.take(dest, now) {
                Take::Empty => return,
                Take::Dropped(msg) => self.log.dropped(msg.id, now),
                Take::Deliver(msg) => {
                    let at = msg.deadline.max(now);
                    let key = timers.set(at, Timer::Deliver(dest.to_owned()));
                    let flight = Flight {
                        msg,
                        timer: Some(key),
                    };
                    self.in_flight.insert(dest.to_owned(), flight);
                    return;
                }
            }
        }
    }

    /// Holds `dest`: nothing is handed to it until [`Wires::release`] or [`Wires::reset`].
    pub fn hold(&mut self, dest: &str) {
        self.held.insert(dest.to_owned());
    }

    /// Releases a held `dest` at `now`: a message in flight whose deadline passed while it
    /// was held is handed over at once.
    pub fn release(&mut self, dest: &str, now: Time, timers: &mut Timers<Timer>) {
        self.held.remove(dest);
        if let Some(f) = self.in_flight.get_mut(dest) {
            if f.timer.is_none() {
                let at = f.msg.deadline.max(now);
                f.timer = Some(timers.set(at, Timer::Deliver(dest.to_owned())));
            }
        }
    }

    /// Gives `dest` a fresh queue (a restarted node): everything queued or in flight for it
    /// is discarded, and it is no longer held.
    pub fn reset(&mut self, dest: &str, timers: &mut Timers<Timer>) {
        self.unregister(dest, timers);
        self.held.remove(dest);
        self.net.register(dest);
    }

    /// Blocks `grudge`'s pairs in layer `cut` (adds to what that layer blocks).
    pub fn partition(&mut self, cut: Cut, grudge: &Grudge) {
        self.net.partition(cut, grudge);
    }

    /// Clears every blocked pair of layer `cut`.
    pub fn heal(&mut self, cut: Cut) {
        self.net.heal(cut);
    }

    /// Sends `fraction` of the server-to-server messages to or from `nodes` twice, until
    /// [`Wires::stop_duplicating`].
    pub fn duplicate(&mut self, nodes: BTreeSet<String>, fraction: f64) {
        self.duplication = Some(Duplication {
            nodes,
            fraction: fraction.clamp(0.0, 1.0),
        });
    }

    /// Sends every message once again.
    pub fn stop_duplicating(&mut self) {
        self.duplication = None;
    }

    /// Network counts with msgs-per-op over `op_count` client invocations.
    pub fn stats(&self, op_count: usize) -> NetStats {
        self.net.stats(op_count as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::latency::{Latency, LatencyDist};
    use rand::SeedableRng;
    use serde_json::json;

    fn wires(tag: &str, mean_ms: u64) -> (Wires, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("glomers-wires-{}-{tag}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join(crate::journal::FILE);
        let log = MessageLog::create(&path).expect("log");
        let lat = Latency::new(mean_ms, LatencyDist::Constant).expect("latency");
        let mut w = Wires::new(Network::new(lat), StdRng::seed_from_u64(1), log);
        for id in ["n0", "n1", "c0"] {
            w.register(id);
        }
        (w, path)
    }

    /// Runs every due timer up to `until`; the messages handed over, with their times.
    fn run(w: &mut Wires, timers: &mut Timers<Timer>, until: Time) -> Vec<(Time, u64)> {
        let mut out = Vec::new();
        while let Some((at, Timer::Deliver(dest))) = timers.pop_due(until) {
            if let Some(m) = w.deliver(&dest, at, timers) {
                out.push((at, m.id));
            }
        }
        out
    }

    #[test]
    fn a_held_receiver_gets_its_message_on_release_and_nothing_before() {
        let (mut w, _) = wires("hold", 10);
        let mut timers = Timers::default();
        let ms = Time::from_millis;
        w.send(ms(0), "n0", "n1", json!({"k": 1}), &mut timers)
            .expect("sent");
        w.hold("n1");
        assert!(run(&mut w, &mut timers, ms(50)).is_empty());
        assert!(
            timers.is_empty(),
            "a held receiver's message waits without a timer"
        );
        w.release("n1", ms(60), &mut timers);
        assert_eq!(run(&mut w, &mut timers, ms(60)), [(ms(60), 0)]);
    }

    #[test]
    fn a_reset_discards_what_waited_and_no_stale_timer_fires_early() {
        let (mut w, _) = wires("reset", 10);
        let mut timers = Timers::default();
        let ms = Time::from_millis;
        w.send(ms(0), "n0", "n1", json!({"old": 1}), &mut timers)
            .expect("sent");
        w.send(ms(0), "n0", "n1", json!({"old": 2}), &mut timers)
            .expect("sent");
        w.reset("n1", &mut timers);
        w.send(ms(5), "n0", "n1", json!({"new": 3}), &mut timers)
            .expect("sent");
        // The old message's timer (due at 10 ms) was cancelled: the new one (id 2) arrives
        // at its own deadline, 15 ms.
        assert_eq!(run(&mut w, &mut timers, ms(100)), [(ms(15), 2)]);
    }

    #[test]
    fn duplication_sends_eligible_messages_twice_and_logs_both() {
        let (mut w, path) = wires("dup", 0);
        let mut timers = Timers::default();
        let now = Time::ZERO;
        w.duplicate(BTreeSet::from(["n0".to_owned()]), 1.0);
        w.send(now, "n0", "n1", json!({"type": "gossip"}), &mut timers)
            .expect("sent");
        w.send(now, "c0", "n0", json!({"type": "read"}), &mut timers)
            .expect("sent");
        w.stop_duplicating();
        w.send(now, "n1", "n0", json!({"type": "gossip"}), &mut timers)
            .expect("sent");
        let handed = run(&mut w, &mut timers, Time::from_secs(1));
        assert_eq!(handed.len(), 4, "{handed:?}");
        w.finish_log().expect("log");
        let text = std::fs::read_to_string(path).expect("log written");
        let gossip_n0_n1 = text
            .lines()
            .filter(|l| l.contains("\"src\":\"n0\",\"dest\":\"n1\"") && l.contains("delivered"))
            .count();
        assert_eq!(gossip_n0_n1, 2, "{text}");
        let from_client = text
            .lines()
            .filter(|l| l.contains("\"src\":\"c0\""))
            .count();
        assert_eq!(from_client, 1, "client messages are never copied");
    }
}
