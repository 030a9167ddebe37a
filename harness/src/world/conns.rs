//! [`Conns`]: Maelstrom's client connections: an id `cN` each (numbered in the order they
//! open), a `msg_id` counter from 1, and at most one request awaiting its reply.

use std::collections::HashMap;
use std::time::Duration;

use glomers_node::Time;
use serde_json::{json, Value};

use super::timers::{TimerKey, Timers};
use super::wires::Wires;
use super::Timer;
use crate::sim::net::Message;
use crate::workload::Reply;

/// Who gets a connection's replies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// The setup call to node `i` (`init`, `topology`).
    Setup(usize),
    /// The `init` of node `i` started again by the nemesis.
    Restart(usize),
    /// Worker thread `i`.
    Worker(usize),
}

#[derive(Debug)]
struct Conn {
    owner: Owner,
    next_msg_id: u64,
    /// The request awaiting its reply: its `msg_id` and timeout.
    awaiting: Option<(u64, TimerKey)>,
}

/// The open client connections.
#[derive(Debug, Default)]
pub struct Conns {
    conns: HashMap<String, Conn>,
    next_client: u64,
}

impl Conns {
    /// Opens the next connection for `owner` and returns its id.
    pub fn open(&mut self, owner: Owner, wires: &mut Wires) -> String {
        let id = format!("c{}", self.next_client);
        self.next_client += 1;
        wires.register(&id);
        self.conns.insert(
            id.clone(),
            Conn {
                owner,
                next_msg_id: 1,
                awaiting: None,
            },
        );
        id
    }

    /// Closes connection `id`: what was on its way to it is discarded.
    pub fn close(&mut self, id: &str, wires: &mut Wires, timers: &mut Timers<Timer>) {
        if let Some(c) = self.conns.remove(id) {
            if let Some((_, key)) = c.awaiting {
                timers.cancel(key);
            }
            wires.unregister(id, timers);
        }
    }

    /// Sends `body` (with the connection's next `msg_id`) from `id` to `dest` and awaits the
    /// reply until `now + timeout`. A refused send (unknown destination) times out.
    #[allow(clippy::too_many_arguments)]
    pub fn call(
        &mut self,
        id: &str,
        dest: &str,
        mut body: Value,
        timeout: Duration,
        now: Time,
        wires: &mut Wires,
        timers: &mut Timers<Timer>,
    ) {
        let Some(conn) = self.conns.get_mut(id) else {
            return;
        };
        let msg_id = conn.next_msg_id;
        conn.next_msg_id += 1;
        if let Value::Object(o) = &mut body {
            o.insert("msg_id".into(), json!(msg_id));
        }
        let key = timers.set(
            now + timeout,
            Timer::CallTimeout {
                conn: id.to_owned(),
                msg_id,
            },
        );
        conn.awaiting = Some((msg_id, key));
        // A refused send leaves the call to its timeout, as a lost request would.
        let _ = wires.send(now, id, dest, body, timers);
    }

    /// A message delivered to connection `msg.dest`: the awaited reply goes to its owner;
    /// anything else (a late or foreign reply) is dropped.
    pub fn delivered(
        &mut self,
        msg: Message,
        timers: &mut Timers<Timer>,
    ) -> Option<(Owner, Reply)> {
        let conn = self.conns.get_mut(&msg.dest)?;
        let (awaited, key) = conn.awaiting?;
        if msg.body.get("in_reply_to").and_then(Value::as_u64) != Some(awaited) {
            return None;
        }
        timers.cancel(key);
        conn.awaiting = None;
        Some((conn.owner, Reply::Body(msg.body)))
    }

    /// The timeout of call `msg_id` on `conn`: its owner, when the call still awaits.
    pub fn timed_out(&mut self, conn: &str, msg_id: u64) -> Option<Owner> {
        let c = self.conns.get_mut(conn)?;
        match c.awaiting {
            Some((awaited, _)) if awaited == msg_id => {
                c.awaiting = None;
                Some(c.owner)
            }
            _ => None,
        }
    }

    /// Whether `id` is an open connection.
    pub fn is_open(&self, id: &str) -> bool {
        self.conns.contains_key(id)
    }
}
