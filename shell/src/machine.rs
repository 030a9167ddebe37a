//! The sans-IO state-machine style: a [`Machine`] owns all node state and is driven by one
//! task, so it needs no locks; it never does I/O, it only fills an [`Outbox`].
//!
//! ```
//! use glomers_shell::machine::{Machine, Outbox};
//! use glomers_shell::protocol::{Incoming, Origin};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Debug, Deserialize)]
//! #[serde(tag = "type", rename_all = "snake_case")]
//! enum In { Add { delta: u64 }, Read }
//!
//! #[derive(Debug, Serialize, PartialEq)]
//! #[serde(tag = "type", rename_all = "snake_case")]
//! enum Out { AddOk, ReadOk { value: u64 } }
//!
//! #[derive(Default)]
//! struct Counter { total: u64 }
//!
//! impl Machine for Counter {
//!     type In = In;
//!     type Out = Out;
//!     fn on_message(&mut self, _now_ms: u64, msg: Incoming<In>, out: &mut Outbox<Out>) {
//!         match msg.body {
//!             In::Add { delta } => {
//!                 self.total += delta;
//!                 out.reply(&msg.origin, Out::AddOk);
//!             }
//!             In::Read => out.reply(&msg.origin, Out::ReadOk { value: self.total }),
//!         }
//!     }
//! }
//!
//! // Driving it in a test, with no I/O at all:
//! let mut m = Counter::default();
//! let mut out = Outbox::new();
//! let client = Origin { src: "c1".into(), msg_id: Some(1) };
//! m.on_message(0, Incoming { origin: client.clone(), in_reply_to: None, body: In::Add { delta: 3 } }, &mut out);
//! m.on_message(1, Incoming { origin: client, in_reply_to: None, body: In::Read }, &mut out);
//! let sent: Vec<_> = out.drain().collect();
//! assert_eq!(sent[1].payload(), Some(&Out::ReadOk { value: 3 }));
//! assert_eq!(sent[1].in_reply_to, Some(1));
//!
//! // In a binary: glomers_shell::machine::run(|info, _now_ms| Counter::default()).await;
//! ```
//!
//! Contract of the driver ([`run`], [`run_io`]):
//! - It answers `init` itself, then builds the machine once with the factory (so a machine
//!   never exists without its node id). Messages that arrived before `init` are delivered
//!   right after, in order (see [`crate::inbox`]).
//! - Every message whose body decodes into `Machine::In` reaches `on_message`, replies
//!   (`in_reply_to` set) included: the machine matches its own acknowledgements. A body that
//!   does not decode gets error 10 (unknown type) or 12 (bad fields) when it has a `msg_id`,
//!   and is logged.
//! - `on_tick` runs every `tick_interval()` (if any), interleaved with messages, never
//!   concurrently with them. `now_ms` is milliseconds since the node started, monotonic.
//! - After each call the outbox is written out in order. Decoded messages wait in a channel of
//!   [`INPUT_CAPACITY`] events; when it is full the reader waits (backpressure on stdin).
//! - At end of input the remaining queued messages are processed, output is flushed, and the
//!   driver returns.

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use tokio::io::{AsyncBufRead, AsyncWrite};
use tokio::sync::mpsc;

use crate::error::{ErrorBody, TaggedError};
use crate::inbox::{reject, Event, Inbox, NodeInfo, Rejected};
use crate::io::{spawn_writer, Outlet, PushError};
use crate::protocol::{self, DecodeError, Frame, Incoming, Origin};

/// Decoded messages queued between the reader task and the machine.
pub const INPUT_CAPACITY: usize = 1024;

/// Shortest tick period the driver uses; shorter requests are raised to it.
pub const MIN_TICK: Duration = Duration::from_millis(1);

/// Node logic as a sans-IO state machine.
pub trait Machine {
    /// The internally tagged enum of every message type this node accepts (requests, peer
    /// messages, and the replies it expects, e.g. `#[serde(rename = "error")] Error(ErrorBody)`).
    type In: DeserializeOwned + Send + 'static;
    /// The internally tagged enum of every message type this node sends.
    type Out: Serialize;

    /// Handles one message at time `now_ms` (milliseconds since the node started).
    fn on_message(&mut self, now_ms: u64, msg: Incoming<Self::In>, out: &mut Outbox<Self::Out>);

    /// Periodic work (gossip, retries); called every [`Machine::tick_interval`].
    fn on_tick(&mut self, now_ms: u64, out: &mut Outbox<Self::Out>) {
        let _ = (now_ms, out);
    }

    /// How often `on_tick` runs; `None` (the default) for never. Read once, after the
    /// factory builds the machine.
    fn tick_interval(&self) -> Option<Duration> {
        None
    }
}

/// The body of an [`Outgoing`] message.
#[derive(Clone, Debug, PartialEq)]
pub enum OutBody<O> {
    /// A message of the machine's own type.
    Message(O),
    /// An error reply.
    Error(ErrorBody),
}

/// One message a machine asked to send.
#[derive(Clone, Debug, PartialEq)]
pub struct Outgoing<O> {
    /// Recipient id.
    pub dest: String,
    /// Set for [`Outbox::request`]s: the id the reply's `in_reply_to` will carry.
    pub msg_id: Option<u64>,
    /// Set for replies.
    pub in_reply_to: Option<u64>,
    /// What to send.
    pub body: OutBody<O>,
}

impl<O> Outgoing<O> {
    /// The payload when this is not an error reply.
    pub fn payload(&self) -> Option<&O> {
        match &self.body {
            OutBody::Message(o) => Some(o),
            OutBody::Error(_) => None,
        }
    }

    /// The error when this is an error reply.
    pub fn error(&self) -> Option<&ErrorBody> {
        match &self.body {
            OutBody::Error(e) => Some(e),
            OutBody::Message(_) => None,
        }
    }
}

impl<O: Serialize> Outgoing<O> {
    /// The output line the driver writes for this message, sent from `src`.
    pub fn encode(&self, src: &str) -> Result<String, serde_json::Error> {
        match &self.body {
            OutBody::Message(o) => {
                protocol::encode_line(src, &self.dest, self.msg_id, self.in_reply_to, o)
            }
            OutBody::Error(e) => protocol::encode_line(
                src,
                &self.dest,
                self.msg_id,
                self.in_reply_to,
                &TaggedError::Error(e),
            ),
        }
    }

    /// Appends the output line for this message, sent from `src`, to `out` (the bytes
    /// [`Outgoing::encode`] returns; `out` is unchanged on error).
    pub fn encode_into(&self, src: &str, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
        match &self.body {
            OutBody::Message(o) => {
                protocol::encode_line_into(out, src, &self.dest, self.msg_id, self.in_reply_to, o)
            }
            OutBody::Error(e) => protocol::encode_line_into(
                out,
                src,
                &self.dest,
                self.msg_id,
                self.in_reply_to,
                &TaggedError::Error(e),
            ),
        }
    }

    /// The body exactly as it appears on the wire.
    pub fn body_json(&self) -> Result<Value, serde_json::Error> {
        let line = self.encode("_")?;
        let mut v: Value = serde_json::from_str(&line)?;
        Ok(v["body"].take())
    }

    /// What the recipient's runtime would hand its machine, for in-process simulations: the
    /// body goes through the same JSON encoding and typed decoding as on a real network.
    pub fn deliver_as<I: DeserializeOwned>(&self, src: &str) -> Result<Incoming<I>, DecodeError> {
        let body = self.body_json().map_err(|source| DecodeError::Malformed {
            kind: "<unencodable>".into(),
            source,
        })?;
        Ok(Incoming {
            origin: Origin {
                src: src.to_owned(),
                msg_id: self.msg_id,
            },
            in_reply_to: self.in_reply_to,
            body: protocol::decode_body(&body)?,
        })
    }
}

/// Messages a machine wants sent, plus the node's `msg_id` counter.
///
/// The driver keeps one outbox for the machine's whole life and drains it after every call, so
/// `msg_id`s from [`Outbox::request`] are unique per node. The queue is not bounded by the
/// outbox itself: a machine adds a bounded number of messages per call (document yours).
#[derive(Debug)]
pub struct Outbox<O> {
    queue: Vec<Outgoing<O>>,
    next_msg_id: u64,
}

impl<O> Default for Outbox<O> {
    fn default() -> Self {
        Self::new()
    }
}

impl<O> Outbox<O> {
    /// An empty outbox whose first request gets `msg_id` 1.
    pub fn new() -> Self {
        Self {
            queue: Vec::new(),
            next_msg_id: 1,
        }
    }

    /// Replies `body` to `to`. A message without `msg_id` cannot be answered: nothing is
    /// queued (debug log).
    pub fn reply(&mut self, to: &Origin, body: O) {
        let Some(id) = to.msg_id else {
            tracing::debug!(dest = %to.src, "reply to a message without msg_id skipped");
            return;
        };
        self.queue.push(Outgoing {
            dest: to.src.clone(),
            msg_id: None,
            in_reply_to: Some(id),
            body: OutBody::Message(body),
        });
    }

    /// Replies an error to `to` (skipped when `to` has no `msg_id`).
    pub fn reply_error(&mut self, to: &Origin, error: ErrorBody) {
        let Some(id) = to.msg_id else {
            tracing::debug!(dest = %to.src, %error, "error to a message without msg_id skipped");
            return;
        };
        self.queue.push(Outgoing {
            dest: to.src.clone(),
            msg_id: None,
            in_reply_to: Some(id),
            body: OutBody::Error(error),
        });
    }

    /// Sends a one-way message (no `msg_id`: the recipient cannot reply).
    pub fn send(&mut self, dest: impl Into<String>, body: O) {
        self.queue.push(Outgoing {
            dest: dest.into(),
            msg_id: None,
            in_reply_to: None,
            body: OutBody::Message(body),
        });
    }

    /// Sends a request with a fresh `msg_id` and returns it; the reply will arrive as a
    /// message with `in_reply_to` equal to it.
    pub fn request(&mut self, dest: impl Into<String>, body: O) -> u64 {
        let id = self.next_msg_id;
        self.next_msg_id += 1;
        self.queue.push(Outgoing {
            dest: dest.into(),
            msg_id: Some(id),
            in_reply_to: None,
            body: OutBody::Message(body),
        });
        id
    }

    /// Number of queued messages.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// True when nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// The queued messages, in the order they were added, without removing them.
    pub fn queued(&self) -> &[Outgoing<O>] {
        &self.queue
    }

    /// Removes and yields every queued message, in order.
    pub fn drain(&mut self) -> std::vec::Drain<'_, Outgoing<O>> {
        self.queue.drain(..)
    }
}

/// What the reader keeps of one message.
enum Taken<I> {
    Message(Incoming<I>),
    Rejected { me: String, rejected: Rejected },
}

enum Input<I> {
    Init(NodeInfo),
    Message(Incoming<I>),
}

/// Runs a machine-style node on stdin/stdout until end of input.
pub async fn run<M, F>(make: F)
where
    M: Machine,
    F: FnOnce(&NodeInfo, u64) -> M,
{
    run_io(crate::stdio::stdin(), tokio::io::stdout(), make).await
}

/// Runs a machine-style node over the given input and output until end of input.
pub async fn run_io<R, W, M, F>(reader: R, writer: W, make: F)
where
    R: AsyncBufRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
    M: Machine,
    F: FnOnce(&NodeInfo, u64) -> M,
{
    let start = tokio::time::Instant::now();
    let now_ms = move || u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
    let (outlet, writer) = spawn_writer(writer);
    let (tx, mut rx) = mpsc::channel::<Input<M::In>>(INPUT_CAPACITY);
    let reader_task = tokio::spawn(read_into::<R, M::In>(reader, outlet.clone(), tx));

    let mut machine = None;
    let mut info = None;
    let mut out = Outbox::new();
    let mut ticker: Option<tokio::time::Interval> = None;
    let mut make = Some(make);
    loop {
        tokio::select! {
            input = rx.recv() => match input {
                None => break,
                Some(Input::Init(i)) => {
                    if let Some(f) = make.take() {
                        let m = f(&i, now_ms());
                        if let Some(period) = m.tick_interval() {
                            let period = period.max(MIN_TICK);
                            let mut t = tokio::time::interval_at(start + period, period);
                            t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                            ticker = Some(t);
                        }
                        machine = Some(m);
                        info = Some(i);
                    }
                }
                Some(Input::Message(msg)) => {
                    if let Some(m) = machine.as_mut() {
                        m.on_message(now_ms(), msg, &mut out);
                    }
                }
            },
            _ = async {
                match ticker.as_mut() {
                    Some(t) => {
                        t.tick().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            } => {
                if let Some(m) = machine.as_mut() {
                    m.on_tick(now_ms(), &mut out);
                }
            }
        }
        if let Some(i) = &info {
            flush(&outlet, &i.id, &mut out).await;
        }
    }
    let _ = reader_task.await;
    drop(outlet);
    writer.finish().await;
}

async fn flush<O: Serialize>(outlet: &Outlet, me: &str, out: &mut Outbox<O>) {
    for msg in out.drain() {
        match outlet.push_with(|buf| msg.encode_into(me, buf)).await {
            Ok(()) => {}
            Err(PushError::Closed(_)) => tracing::error!("output closed; message dropped"),
            Err(PushError::Encode(e)) => {
                tracing::error!(error = %e, dest = %msg.dest, "message did not serialize; dropped")
            }
        }
    }
}

async fn read_into<R, I>(reader: R, outlet: Outlet, tx: mpsc::Sender<Input<I>>)
where
    R: AsyncBufRead + Unpin,
    I: DeserializeOwned,
{
    let mut inbox = Inbox::new(reader, outlet.clone());
    let mut take = |info: &NodeInfo, frame: Frame<'_>| match frame.decode::<I>() {
        Ok(body) => Taken::Message(Incoming {
            in_reply_to: frame.in_reply_to,
            origin: frame.into_origin(),
            body,
        }),
        Err(e) => Taken::Rejected {
            me: info.id.clone(),
            rejected: Rejected::of(&frame, e),
        },
    };
    while let Some(event) = inbox.next_with(&mut take).await {
        let input = match event {
            Event::Init(info) => Input::Init(info),
            Event::Message(Taken::Message(msg)) => Input::Message(msg),
            Event::Message(Taken::Rejected { me, rejected }) => {
                reject(&outlet, &me, &rejected).await;
                continue;
            }
        };
        if tx.send(input).await.is_err() {
            return;
        }
    }
}
