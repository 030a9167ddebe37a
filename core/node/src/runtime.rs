//! [`Runtime`]: a machine as the wire sees it, lines in and lines out; the one runtime of
//! glomers' nodes, sans-IO.
//!
//! The shell's process driver feeds it stdin's lines and writes its output to stdout; the
//! harness's simulator feeds it lines off its simulated network on virtual time. Both use
//! the same code from the first byte of a line to the last byte of a reply, so a node
//! behaves the same in a process and in the simulator.
//!
//! Reading: once the machine runs, a line is first read in one pass
//! ([`codec::decode_line`]); what that does not take (`init`, anything malformed) is read
//! again by [`codec::read_envelope`], which tells what it is, so the policy below is
//! decided on the full read.
//!
//! Policy:
//! - A line that is not UTF-8, not JSON, or not an envelope with an object body is logged
//!   at `warn` (with the start of the line) and skipped.
//! - `init` is answered with `init_ok` as soon as it is read, before any other output, and
//!   the machine is built then. An `init` with missing or mistyped fields gets error 12 and
//!   the node stays uninitialised. A second `init` is answered `init_ok` again (logged) and
//!   changes nothing.
//! - Up to [`EARLY_CAPACITY`] messages arriving before `init` are kept, in order, and
//!   delivered right after it. Beyond that, further early messages are dropped with a
//!   warning; a dropped request is answered with error 11 (temporarily-unavailable: it was
//!   not processed).
//! - A body that does not decode into the machine's type is logged; a request gets error
//!   10 (unknown `type`) or 12 (known `type`, bad fields).
//! - Every reply, error and `init_ok` is written by this one writer into [`Runtime::output`],
//!   whole lines in order. The driver drains it after each call: the buffer holds what one
//!   call produced (one line read, or one timeout).
//! - Every write the machine queued goes to [`Runtime::writes`]; the driver makes them
//!   durable (one sync for a whole batch of input) before it releases the output that came
//!   with them, or drops them when it has nowhere to keep them (see [`crate::persist`]).
//! - No late replies after a stop. A client that timed out is closed, and in Maelstrom a
//!   reply to a closed client stops the reading of the node's stdout for the rest of the
//!   run (reference 2.8). A stopped node (SIGSTOP, the nemesis's `pause`) finds on resuming
//!   the requests that waited for it, possibly older than the clients' 5 s timeout, so the
//!   runtime wakes at least every [`HEARTBEAT`] (the machine is not called for it), and
//!   when it was not called for [`SHED_AFTER`] or more it drops, unanswered and unseen by
//!   the machine, the client requests that come within [`SHED_WINDOW`] of waking (logged):
//!   the clients time out as they would have anyway. Peers' messages and services'
//!   replies are handled as ever.

use core::any::Any;
use std::collections::VecDeque;
use std::format;
use std::string::String;
use std::vec::Vec;

use serde::Deserialize;
use serde::Serialize;

use crate::codec::{self, Envelope};
use crate::error::{ErrorBody, ErrorCode, TaggedError};
use crate::machine::{Machine, Start};
use crate::message::{NodeId, NodeInfo, Origin};
use crate::outbox::Outbox;
use crate::persist::{Recovered, Write};
use crate::time::Time;

/// Messages kept while waiting for `init`.
pub const EARLY_CAPACITY: usize = 1024;

/// Longest excerpt of a bad line that goes to the log.
const LOG_EXCERPT: usize = 2048;

/// The longest the runtime sleeps, so that it notices having been stopped.
pub const HEARTBEAT: core::time::Duration = core::time::Duration::from_millis(500);

/// A gap between two calls from which the node counts as having been stopped: requests
/// that waited through it may be older than a client's 5 s timeout.
pub const SHED_AFTER: core::time::Duration = core::time::Duration::from_secs(3);

/// How long after such a gap client requests are dropped unanswered: the ones that
/// waited during the stop arrive at once.
pub const SHED_WINDOW: core::time::Duration = core::time::Duration::from_millis(100);

/// A node seen from outside: lines in, lines out, and a wake-up deadline. Object-safe, so
/// a host can keep nodes of different machine types side by side.
pub trait LineMachine {
    /// Handles one input line (without its newline) read at `now`.
    fn handle_line(&mut self, now: Time, line: &[u8]);
    /// Runs what is due at `now` (see [`LineMachine::poll_timeout`]); a call before the
    /// deadline does nothing.
    fn handle_timeout(&mut self, now: Time);
    /// When [`LineMachine::handle_timeout`] should next be called.
    fn poll_timeout(&self) -> Option<Time>;
    /// The output lines written so far, each ending in `\n`; the caller drains it.
    fn output(&mut self) -> &mut Vec<u8>;
    /// The writes queued so far (see [`crate::persist`]): durable before the output that
    /// came with them is released; the caller drains them.
    fn writes(&mut self) -> &mut Vec<Write>;
    /// The machine behind the wire, once initialised, to be looked into by a host that
    /// knows its type (a simulator's invariant checks downcast it); `None` before `init`.
    fn as_any(&self) -> Option<&dyn Any>;
}

/// The `init` request body.
#[derive(Deserialize)]
struct InitBody {
    node_id: String,
    node_ids: Vec<String>,
}

/// The `init_ok` reply body.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum InitOk {
    InitOk,
}

enum Phase<M, F> {
    /// Before `init`: the factory, and the lines that arrived early.
    Waiting { make: F, early: VecDeque<Vec<u8>> },
    /// Between taking the factory and installing the machine (never observed outside
    /// `handle_init`).
    Starting,
    /// After `init`.
    Running {
        me: NodeId,
        info: NodeInfo,
        machine: M,
    },
}

/// What a driver tells a [`Runtime`] about the node life it starts.
#[derive(Clone, Debug, Default)]
pub struct Boot {
    /// The wall clock (Unix milliseconds) at the driver's [`Time::ZERO`].
    pub epoch_unix_ms: u64,
    /// This node life's randomness, handed to the factory.
    pub seed: u64,
    /// What the driver recovered of earlier lives' writes.
    pub recovered: Recovered,
}

/// A [`Machine`] behind the wire format (see the module documentation).
pub struct Runtime<M: Machine, F> {
    phase: Phase<M, F>,
    outbox: Outbox<M::Out>,
    output: Vec<u8>,
    writes: Vec<Write>,
    boot: Boot,
    /// When `handle_timeout` last ran the machine's `on_timeout`.
    last_timeout: Option<Time>,
    /// When the runtime was last called (after `init`).
    last_call: Option<Time>,
    /// Until when client requests are dropped (after a stop).
    shed_until: Option<Time>,
}

impl<M, F> Runtime<M, F>
where
    M: Machine,
    F: FnOnce(Start<'_>) -> M,
{
    /// A node that builds its machine with `make` when `init` arrives, with what `boot`
    /// holds.
    pub fn new(make: F, boot: Boot) -> Self {
        Self {
            phase: Phase::Waiting {
                make,
                early: VecDeque::new(),
            },
            outbox: Outbox::new(),
            output: Vec::with_capacity(64 * 1024),
            writes: Vec::new(),
            boot,
            last_timeout: None,
            last_call: None,
            shed_until: None,
        }
    }

    /// Notes a call at `now`; after a gap of [`SHED_AFTER`] starts a shedding window.
    fn note_call(&mut self, now: Time) {
        if let Some(last) = self.last_call {
            if now >= last + SHED_AFTER {
                tracing::warn!(
                    stopped_ms = (now - last).as_millis(),
                    "not run for a while (stopped?); client requests that waited are dropped"
                );
                self.shed_until = Some(now + SHED_WINDOW);
            }
        }
        self.last_call = Some(self.last_call.map_or(now, |l| l.max(now)));
    }

    /// Notes a call at `now` with a message from `src` (a request when it has a `msg_id`
    /// and no `in_reply_to`), and tells whether it is dropped: a client request in the
    /// window after a stop (see [`SHED_AFTER`]). Logged when dropped.
    fn sheds(&mut self, now: Time, src: &str, request: bool) -> bool {
        let Phase::Running { info, .. } = &self.phase else {
            return false;
        };
        let client = !info.ids.iter().any(|id| id == src);
        self.note_call(now);
        let drop = request && client && self.shed_until.is_some_and(|until| now < until);
        if drop {
            tracing::warn!(%src, "request dropped unanswered after a stop");
        }
        drop
    }

    /// The node identity, once initialised.
    pub fn info(&self) -> Option<&NodeInfo> {
        match &self.phase {
            Phase::Running { info, .. } => Some(info),
            _ => None,
        }
    }

    /// The machine, once initialised.
    pub fn machine(&self) -> Option<&M> {
        match &self.phase {
            Phase::Running { machine, .. } => Some(machine),
            _ => None,
        }
    }

    /// Handles one input line (without its newline) read at `now`.
    pub fn handle_line(&mut self, now: Time, line: &[u8]) {
        // A clock that went back (the simulator's clock fault) must not keep the next
        // timeout waiting until it reads the old time again.
        if self.last_timeout.is_some_and(|last| last > now) {
            self.last_timeout = Some(now);
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        let Ok(text) = std::str::from_utf8(line) else {
            tracing::warn!(line = %excerpt(line), "input line is not UTF-8; skipped");
            return;
        };
        // A well-formed message for the machine, read in one pass; everything else takes
        // the full read below, which tells what is wrong with it.
        if matches!(self.phase, Phase::Running { .. }) {
            if let Some(msg) = codec::decode_line::<M::In>(text) {
                let request = msg.origin.msg_id.is_some() && msg.in_reply_to.is_none();
                if self.sheds(now, &msg.origin.src, request) {
                    return;
                }
                if let Phase::Running { me, machine, .. } = &mut self.phase {
                    machine.on_message(now, msg, &mut self.outbox);
                    flush(&mut self.output, &mut self.writes, me, &mut self.outbox);
                }
                return;
            }
        }
        let env = match codec::read_envelope(text) {
            Ok(env) => env,
            Err(error) => {
                tracing::warn!(%error, line = %excerpt(line), "bad input line; skipped");
                return;
            }
        };
        if env.kind() == Some("init") {
            self.handle_init(now, &env);
            return;
        }
        let request = env.head.in_reply_to.is_none() && env.head.msg_id.is_some();
        if self.sheds(now, &env.src, request) {
            return;
        }
        match &mut self.phase {
            Phase::Running { me, machine, .. } => {
                match env.decode::<M::In>() {
                    Ok(msg) => machine.on_message(now, msg, &mut self.outbox),
                    Err(error) => {
                        tracing::warn!(%error, src = %env.src, body = env.body.get(), "message rejected");
                        let origin = env.origin();
                        if origin.msg_id.is_some() {
                            write_error(&mut self.output, me, &origin, &error.to_error_body());
                        }
                    }
                }
                flush(&mut self.output, &mut self.writes, me, &mut self.outbox);
            }
            Phase::Waiting { early, .. } => {
                if early.len() < EARLY_CAPACITY {
                    tracing::debug!(src = %env.src, "message before init held");
                    early.push_back(line.to_vec());
                } else {
                    tracing::warn!(src = %env.src, "message before init dropped: early buffer full");
                    let origin = env.origin();
                    if origin.msg_id.is_some() {
                        let err = ErrorBody::new(
                            ErrorCode::TemporarilyUnavailable,
                            "node not initialised",
                        );
                        write_error(&mut self.output, &env.dest, &origin, &err);
                    }
                }
            }
            Phase::Starting => {}
        }
    }

    fn handle_init(&mut self, now: Time, env: &Envelope<'_>) {
        let origin = env.origin();
        let init: InitBody = match env.decode_as() {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(error = %e, "malformed init");
                let err = ErrorBody::new(ErrorCode::MalformedRequest, format!("bad init: {e}"));
                let me = match &self.phase {
                    Phase::Running { me, .. } => me.as_str(),
                    _ => env.dest.as_ref(),
                };
                write_error(&mut self.output, me, &origin, &err);
                return;
            }
        };
        if let Phase::Running { me, .. } = &self.phase {
            tracing::warn!(node = %me, "second init ignored");
            write_init_ok(&mut self.output, me, &origin);
            return;
        }
        let Phase::Waiting { make, early } = std::mem::replace(&mut self.phase, Phase::Starting)
        else {
            return;
        };
        let info = NodeInfo {
            id: init.node_id,
            ids: init.node_ids,
        };
        let me = NodeId::from(info.id.as_str());
        write_init_ok(&mut self.output, &me, &origin);
        let machine = make(Start {
            info: &info,
            now,
            unix_ms: self.boot.epoch_unix_ms.saturating_add(now.as_millis()),
            seed: self.boot.seed,
            recovered: &self.boot.recovered,
        });
        // What was recovered is the machine's now; keep no second copy.
        self.boot.recovered = Recovered::default();
        self.last_call = Some(now);
        tracing::info!(node = %me, nodes = info.ids.len(), early = early.len(), "initialised");
        self.phase = Phase::Running { me, info, machine };
        for line in early {
            self.handle_line(now, &line);
        }
    }

    /// Runs the machine's `on_timeout` when its deadline has come.
    pub fn handle_timeout(&mut self, now: Time) {
        if matches!(self.phase, Phase::Running { .. }) {
            self.note_call(now);
        }
        if self.machine_due().is_none_or(|due| due > now) {
            return;
        }
        if let Phase::Running { me, machine, .. } = &mut self.phase {
            self.last_timeout = Some(now);
            machine.on_timeout(now, &mut self.outbox);
            flush(&mut self.output, &mut self.writes, me, &mut self.outbox);
        }
    }

    /// When [`Runtime::handle_timeout`] should next be called: the machine's deadline
    /// (never within a millisecond of the last time it ran, as of the clock's latest
    /// reading: a line read at an earlier time than that run, after the clock went back,
    /// moves the mark back with it), and at the latest a [`HEARTBEAT`] after the last call.
    pub fn poll_timeout(&self) -> Option<Time> {
        let heartbeat = self.last_call.map(|last| last + HEARTBEAT);
        [self.machine_due(), heartbeat].into_iter().flatten().min()
    }

    /// The machine's deadline, never within a millisecond of the last time it ran.
    fn machine_due(&self) -> Option<Time> {
        let Phase::Running { machine, .. } = &self.phase else {
            return None;
        };
        let due = machine.poll_timeout()?;
        Some(match self.last_timeout {
            Some(last) => due.max(last.plus_millis(1)),
            None => due,
        })
    }

    /// The output lines written so far, each ending in `\n`; the caller drains it.
    pub fn output(&mut self) -> &mut Vec<u8> {
        &mut self.output
    }

    /// The writes queued so far, in order; the caller makes them durable before it
    /// releases the output, and drains them.
    pub fn writes(&mut self) -> &mut Vec<Write> {
        &mut self.writes
    }
}

impl<M, F> LineMachine for Runtime<M, F>
where
    M: Machine + 'static,
    F: FnOnce(Start<'_>) -> M,
{
    fn handle_line(&mut self, now: Time, line: &[u8]) {
        Runtime::handle_line(self, now, line);
    }

    fn handle_timeout(&mut self, now: Time) {
        Runtime::handle_timeout(self, now);
    }

    fn poll_timeout(&self) -> Option<Time> {
        Runtime::poll_timeout(self)
    }

    fn output(&mut self) -> &mut Vec<u8> {
        Runtime::output(self)
    }

    fn writes(&mut self) -> &mut Vec<Write> {
        Runtime::writes(self)
    }

    fn as_any(&self) -> Option<&dyn Any> {
        self.machine().map(|m| m as &dyn Any)
    }
}

/// Encodes every queued message into `output`, as node `me`, and moves every queued write
/// to `writes`. A message that does not serialize is logged and dropped.
fn flush<O: Serialize>(
    output: &mut Vec<u8>,
    writes: &mut Vec<Write>,
    me: &str,
    outbox: &mut Outbox<O>,
) {
    writes.extend(outbox.drain_writes());
    for msg in outbox.drain() {
        match codec::encode_outgoing_into(output, me, &msg) {
            Ok(()) => output.push(b'\n'),
            Err(error) => {
                tracing::error!(%error, dest = %msg.dest, "message did not serialize; dropped")
            }
        }
    }
}

fn write_error(output: &mut Vec<u8>, me: &str, to: &Origin, error: &ErrorBody) {
    match codec::encode_line_into(
        output,
        me,
        &to.src,
        None,
        to.msg_id,
        &TaggedError::Error(error),
    ) {
        Ok(()) => output.push(b'\n'),
        Err(e) => tracing::error!(error = %e, "could not encode an error reply"),
    }
}

fn write_init_ok(output: &mut Vec<u8>, me: &str, to: &Origin) {
    match codec::encode_line_into(output, me, &to.src, None, to.msg_id, &InitOk::InitOk) {
        Ok(()) => output.push(b'\n'),
        Err(e) => tracing::error!(error = %e, "could not encode init_ok"),
    }
}

fn excerpt(line: &[u8]) -> String {
    let end = line.len().min(LOG_EXCERPT);
    String::from_utf8_lossy(&line[..end]).into_owned()
}
