//! [`Machine`]: node logic as a sans-IO state machine.
//!
//! A machine owns all of its node's state and is driven by one caller at a time, so it
//! needs no locks. It never reads a clock, sleeps or does I/O: the driver passes `now`,
//! hands it decoded messages, collects what it put in the [`Outbox`], and wakes it at the
//! deadline it asks for, as quinn-proto's `poll_timeout` / `handle_timeout` do.
//!
//! ```
//! use core::time::Duration;
//! use glomers_node::{Incoming, Machine, Origin, Outbox, Time};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Debug, Deserialize)]
//! #[serde(tag = "type", rename_all = "snake_case")]
//! enum In { Add { delta: u64 }, Read }
//!
//! #[derive(Debug, Serialize, PartialEq)]
//! #[serde(tag = "type", rename_all = "snake_case")]
//! enum Out { AddOk, ReadOk { value: u64 }, Tick }
//!
//! #[derive(Default)]
//! struct Counter { total: u64, next_tick: Option<Time> }
//!
//! impl Machine for Counter {
//!     type In = In;
//!     type Out = Out;
//!     fn on_message(&mut self, now: Time, msg: Incoming<In>, out: &mut Outbox<Out>) {
//!         match msg.body {
//!             In::Add { delta } => {
//!                 self.total += delta;
//!                 out.reply(&msg.origin, Out::AddOk);
//!                 // Tell the driver when to wake us next.
//!                 self.next_tick = Some(now + Duration::from_millis(100));
//!             }
//!             In::Read => out.reply(&msg.origin, Out::ReadOk { value: self.total }),
//!         }
//!     }
//!     fn on_timeout(&mut self, now: Time, out: &mut Outbox<Out>) {
//!         if self.next_tick.is_some_and(|t| now >= t) {
//!             self.next_tick = None;
//!             out.send("n1", Out::Tick);
//!         }
//!     }
//!     fn poll_timeout(&self) -> Option<Time> {
//!         self.next_tick
//!     }
//! }
//!
//! // Driving it in a test, with no I/O at all:
//! let mut m = Counter::default();
//! let mut out = Outbox::new();
//! let client = Origin { src: "c1".into(), msg_id: Some(1) };
//! let at = Time::from_millis(5);
//! m.on_message(at, Incoming { origin: client.clone(), in_reply_to: None, body: In::Add { delta: 3 } }, &mut out);
//! m.on_message(at, Incoming { origin: client, in_reply_to: None, body: In::Read }, &mut out);
//! let sent: Vec<_> = out.drain().collect();
//! assert_eq!(sent[1].payload(), Some(&Out::ReadOk { value: 3 }));
//! assert_eq!(m.poll_timeout(), Some(Time::from_millis(105)));
//! ```
//!
//! Contract between a driver and its machine:
//! - The machine is built once per node life by a factory given a [`Start`] (so it never
//!   exists without its node id); messages that arrived before `init` are delivered right
//!   after, in order.
//! - Every message whose body decodes into `Machine::In` reaches `on_message`, replies
//!   (`in_reply_to` set) included: the machine matches its own replies (see
//!   [`crate::Calls`]). A body that does not decode never reaches the machine: a request
//!   gets error 10 (unknown type) or 12 (bad fields) and the message is logged.
//! - After every call the driver sends what the outbox holds, in order, and reads
//!   `poll_timeout`. When its clock reaches that deadline it calls `on_timeout` with a `now`
//!   at or after it. `on_timeout` may be called early or more than once (it must check
//!   what is due), and a deadline in the past is honoured at once, but never more than once
//!   per millisecond (so a machine that forgets to move its deadline costs a wake-up per
//!   millisecond, not a busy loop).
//! - `now` never goes backwards within one node life, except under the simulator's clock
//!   fault, which exists to test exactly that.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::message::{Incoming, NodeInfo};
use crate::outbox::Outbox;
use crate::persist::Recovered;
use crate::time::Time;

/// What a machine is built from when `init` arrives.
#[derive(Clone, Copy, Debug)]
pub struct Start<'a> {
    /// The node's identity.
    pub info: &'a NodeInfo,
    /// The driver's clock at start.
    pub now: Time,
    /// Wall-clock time at `now`, in Unix milliseconds (virtual in the simulator).
    pub unix_ms: u64,
    /// Randomness for this node life: from the OS in a process, from the run's seed in the
    /// simulator (so a simulated run replays exactly).
    pub seed: u64,
    /// What the driver recovered of earlier lives' writes (empty on a first start, or
    /// without a data directory).
    pub recovered: &'a Recovered,
}

impl Start<'_> {
    /// The wall-clock Unix milliseconds at `now` on this node's clock, given that the
    /// clock read `self.now` at `self.unix_ms`.
    pub fn unix_ms_at(&self, now: Time) -> u64 {
        let elapsed = now.as_millis().saturating_sub(self.now.as_millis());
        self.unix_ms.saturating_add(elapsed)
    }

    /// Unix milliseconds at this clock's epoch (`unix_ms - now`): add a later `now` in
    /// milliseconds to it to read the wall clock.
    pub fn epoch_unix_ms(&self) -> u64 {
        self.unix_ms.saturating_sub(self.now.as_millis())
    }
}

/// Node logic as a sans-IO state machine (see the module documentation for the contract).
pub trait Machine {
    /// The internally tagged enum (`#[serde(tag = "type")]`) of every message type this
    /// node accepts: requests, peer messages, and the replies it expects (e.g.
    /// `#[serde(rename = "error")] Error(ErrorBody)`).
    type In: DeserializeOwned;
    /// The internally tagged enum of every message type this node sends.
    type Out: Serialize;

    /// Handles one message at `now`.
    fn on_message(&mut self, now: Time, msg: Incoming<Self::In>, out: &mut Outbox<Self::Out>);

    /// Does what is due at `now` (called once the clock reaches [`Machine::poll_timeout`]).
    fn on_timeout(&mut self, now: Time, out: &mut Outbox<Self::Out>) {
        let _ = (now, out);
    }

    /// When the machine next wants [`Machine::on_timeout`]; `None` (the default) for never.
    /// Read after every call.
    fn poll_timeout(&self) -> Option<Time> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn start_maps_later_clock_readings_to_the_wall_clock() {
        let info = NodeInfo {
            id: "n0".into(),
            ids: vec!["n0".into()],
        };
        let recovered = Recovered::default();
        let start = Start {
            info: &info,
            now: Time::from_millis(40),
            unix_ms: 1_000_040,
            seed: 7,
            recovered: &recovered,
        };
        assert_eq!(start.epoch_unix_ms(), 1_000_000);
        assert_eq!(start.unix_ms_at(Time::from_millis(140)), 1_000_140);
        assert_eq!(
            start.unix_ms_at(Time::ZERO),
            1_000_040,
            "never before the start"
        );
    }
}
